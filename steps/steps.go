package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"unicode/utf8"

	"github.com/manifesto-dev/manifesto/internal/atomicfile"
	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/store"
	"github.com/manifesto-dev/manifesto/trust"
)

// Run performs one request. The result carries the store's warnings
// (hence the named results: the deferred append must reach the caller).
func Run(ctx context.Context, req Request, env Env) (res Result, err error) {
	res = Result{Operation: req.Operation, Image: req.Image, Key: req.Key}
	// Registry answers echo what they like, the credentials sent included
	// (the store registers the tokens it sends into env.Secrets): no error
	// or warning leaves with a secret in it. Deferred first, so it runs
	// last, after every other deferred addition to the result.
	defer func() {
		err = env.Secrets.Error(err)
		for i, w := range res.Warnings {
			res.Warnings[i] = env.Secrets.Redact(w)
		}
		// check's reasons quote values read from the registry.
		if res.Check != nil {
			for i := range res.Check.Requirements {
				res.Check.Requirements[i].Reason = env.Secrets.Redact(res.Check.Requirements[i].Reason)
			}
		}
	}()
	// After the store's warnings: nothing from the registry reaches the
	// caller unchecked.
	defer checkRegistryData(&res)
	// The whole operation is bounded (--timeout); what it was doing when
	// time ran out is in the error it ended with.
	if req.Timeout <= 0 {
		req.Timeout = DefaultTimeout
	}
	timedOut := fmt.Errorf("timed out after %v (--timeout)", req.Timeout)
	ctx, cancel := context.WithTimeoutCause(ctx, req.Timeout, timedOut)
	defer cancel()
	access := store.Read
	switch req.Operation {
	case OpTrustInit:
		return trustInit(ctx, req, env)
	case OpPut, OpRepair, OpMigrate:
		access = store.Write
	case OpDelete, OpPrune:
		access = store.Delete
	case OpCopy:
	case OpGet, OpList, OpHistory, OpCheck, OpSearch:
	default:
		return res, errdef.Usagef("unknown operation %q", req.Operation)
	}
	// Every error names the operation and its key, here and only here:
	// what runs below does not repeat them, and callers add only what
	// they know beyond the request (a step's id).
	defer func() {
		if err != nil {
			err = fmt.Errorf("%s: %w", Label(req), err)
		}
	}()
	// Inside that prefix: "get k: timed out after 10m0s (--timeout): what
	// was under way". An error that carries the deadline already says so
	// where it happened ("read value of k: timed out after …").
	defer func() {
		if err != nil && !errors.Is(err, timedOut) && errors.Is(context.Cause(ctx), timedOut) {
			err = fmt.Errorf("%w: %v", timedOut, err)
		}
	}()
	switch req.Operation {
	case OpSearch, OpMigrate:
		err = onRepository(ctx, req, env, access, &res)
		return res, err
	case OpCopy:
		// Two locations, each with its own trust backend: copy.go.
		err = runCopy(ctx, req, env, &res)
		return res, err
	}
	t, err := store.Open(ctx, req.Image, openOptions(req, env, access)...)
	if err != nil {
		return res, err
	}
	defer func() { res.Warnings = append(res.Warnings, store.Messages(t.Warnings)...) }()

	// Trust is set up before the image is resolved, so that a bad trust
	// configuration fails before any registry work beyond the connection.
	var tb trustBackend
	var repo string
	if req.Trust.Backend != TrustNone {
		if repo, err = repository(t, req.Trust.Backend); err != nil {
			return res, err
		}
		if tb, err = openTrust(req.Trust, env, t); err != nil {
			return res, err
		}
	}
	verify := tb != nil && req.Trust.Verify

	// A put without trust leaves the resolve to the store, which checks
	// the value's blobs beside it (one round trip less, issue 14).
	if req.Operation != OpPut || tb != nil {
		subject, err := t.Subject(ctx)
		if err != nil {
			return res, err
		}
		res.Subject = subject.Digest.String()
	}

	// Everything signing needs is checked before the first write.
	if tb != nil && (req.Operation == OpPut || req.Operation == OpDelete) {
		if err = preflight(ctx, tb, repo, res.Subject, req.Key); err != nil {
			return res, err
		}
	}

	switch req.Operation {
	case OpPut:
		err = put(ctx, t, req, env, &res)
		if err == nil && res.Subject == "" {
			// The put resolved it; the store keeps it (no request).
			subject, serr := t.Subject(ctx)
			if serr != nil {
				return res, serr
			}
			res.Subject = subject.Digest.String()
		}
		if err == nil && tb != nil {
			res.Signer, err = sign(ctx, tb, repo, res.Subject, *res.Entry)
		}
	case OpGet:
		if verify {
			err = getVerified(ctx, t, tb, repo, req, env, &res)
		} else {
			err = get(ctx, t, req, env, &res)
		}
	case OpList:
		var all []store.Entry
		if verify {
			all, _, err = verified(ctx, tb, t, repo, "", &res)
			res.Verified = err == nil
		} else {
			all, err = t.List(ctx)
		}
		if err == nil {
			res.Entries = store.Latest(all)
			res.Found = len(res.Entries) > 0
		}
	case OpHistory:
		if verify {
			res.Entries, _, err = verified(ctx, tb, t, repo, req.Key, &res)
			res.Verified = err == nil
		} else {
			res.Entries, err = t.History(ctx, req.Key)
		}
		if err == nil {
			res.Found = len(res.Entries) > 0
			if !res.Found {
				err = errdef.NotFoundf("key %q not found on %s%s", req.Key, res.Subject, signedHint(verify))
			}
		}
	case OpDelete:
		err = del(ctx, t, tb, repo, req, &res)
	case OpRepair:
		res.Entries, err = t.Repair(ctx)
	case OpCheck:
		err = check(ctx, t, tb, repo, verify, req, env, &res)
	case OpPrune:
		err = prune(ctx, t, tb, repo, req, env, &res)
	}
	return res, err
}

// Label names the request's operation and key ("get sbom", "list"): the
// words every error of Run begins with.
func Label(req Request) string {
	if req.Key == "" {
		return req.Operation
	}
	return req.Operation + " " + req.Key
}

func signedHint(verify bool) string {
	if verify {
		return " (no signed version)"
	}
	return ""
}

func openOptions(req Request, env Env, access store.Access) []store.Option {
	opts := []store.Option{
		store.WithAccess(access),
		store.WithPlainHTTP(req.Registry.PlainHTTP),
		store.WithInsecure(req.Registry.Insecure),
		store.WithPlatform(req.Platform),
		store.WithProgress(env.Progress),
		store.WithUserAgent(env.UserAgent),
		store.WithClock(env.Now),
		store.WithSecrets(env.Secrets),
	}
	if req.Registry.Username != "" || req.Registry.Password != "" {
		opts = append(opts, store.WithAuth(req.Registry.Username, req.Registry.Password))
	}
	return opts
}

func put(ctx context.Context, t *store.Target, req Request, env Env, res *Result) error {
	v := store.Value{Path: req.File, MediaType: req.MediaType}
	if req.File == "-" {
		// The store reads a value twice (hash, then upload) and never
		// holds it in memory, so a stream is spooled to a temporary file.
		path, cleanup, err := spool(env.Stdin)
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		defer cleanup()
		v.Path, v.Title = path, "-"
	}
	e, err := t.Put(ctx, req.Key, v)
	if err != nil {
		return err
	}
	res.Entry, res.Found = &e, true
	return nil
}

func spool(r io.Reader) (string, func(), error) {
	if r == nil {
		return "", nil, errdef.Usagef("no standard input to read the value from")
	}
	f, err := os.CreateTemp("", "manifesto-value-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.Remove(f.Name()) }
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return "", nil, err
	}
	return f.Name(), cleanup, nil
}

// get writes the newest value of the key (or the version req.Digest).
func get(ctx context.Context, t *store.Target, req Request, env Env, res *Result) error {
	return readTo(ctx, t, req.Key, req.Digest, req, env, res)
}

// getVerified writes the newest value the trusted signer vouches for (or
// the version req.Digest, if it is signed). The registry's listing only
// hints; the entry is then fetched by its signed digest, which checks every
// byte, and its manifest must name this image and key.
func getVerified(ctx context.Context, t *store.Target, tb trustBackend, repo string, req Request, env Env, res *Result) error {
	entries, signers, err := verified(ctx, tb, t, repo, req.Key, res)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if req.Digest != "" && e.Digest != req.Digest {
			continue
		}
		if err := readTo(ctx, t, req.Key, e.Digest, req, env, res); err != nil {
			return err
		}
		res.Verified, res.Signer = true, signers[e.Digest]
		return nil
	}
	if req.Digest != "" {
		return errdef.NotFoundf("version %s is not signed by the trusted signer", req.Digest)
	}
	return errdef.NotFoundf("no signed version of key %q on %s", req.Key, res.Subject)
}

// readTo writes the value: to a temporary file first, checked against its
// digest, so a failed read leaves no file and writes no unverified byte.
// Then:
//
//   - no File: the verified bytes are copied to Stdout;
//   - File does not exist, or is a regular file: the temporary file (made in
//     File's directory) is renamed over it, atomically;
//   - File is anything else (a character device such as /dev/null, a FIFO,
//     a symbolic link such as /dev/stdout, whatever it leads to): it is never
//     replaced; the verified bytes are written through it (writeThrough),
//     and the temporary file is made in os.TempDir(), not next to it (/dev);
//   - File is a directory: refused.
//
// Step mode (package inputs) refuses, before any network call, a File that
// leads out of the workspace or to anything but a regular file; what passes
// there and is a symbolic link (to a regular file in the workspace) is
// written through here, like any other link.
func readTo(ctx context.Context, t *store.Target, key, digest string, req Request, env Env, res *Result) error {
	dir, through := os.TempDir(), false
	if req.File != "" {
		fi, err := os.Lstat(req.File)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			dir = filepath.Dir(req.File)
		case err != nil:
			return err
		case fi.IsDir():
			return errdef.Usagef("%q is a directory; give a file name", req.File)
		case fi.Mode().IsRegular():
			dir = filepath.Dir(req.File)
		default:
			through = true
		}
	}
	tmp, err := atomicfile.Create(dir, ".manifesto-get-")
	if err != nil {
		return err
	}
	defer tmp.Abort()
	e, err := t.Read(ctx, key, digest, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if err != nil {
		return err
	}
	res.Entry, res.Found = &e, true
	if e.Size <= MaxTextValue {
		if b, err := os.ReadFile(tmp.Name()); err == nil && utf8.Valid(b) {
			res.Value = b
		}
	}
	switch {
	case req.File == "":
		return copyToStdout(tmp.Name(), env.Stdout)
	case through:
		if err := writeThrough(tmp.Name(), req.File); err != nil {
			return err
		}
	default:
		if err := tmp.Commit(req.File); err != nil {
			return err
		}
	}
	res.Path = req.File
	return nil
}

// writeThrough copies the verified file src into dst, an existing name that
// is not a regular file, without replacing it: dst is opened for writing as
// it is (following a symbolic link, never creating a file) and written the
// way a shell's "> dst" would. A symbolic link that leads to a regular file
// has that file truncated first; a socket, or a link leading nowhere, is
// refused.
func writeThrough(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errdef.Usagef("%q is a symbolic link that leads nowhere; give a file name", dst)
		}
		if errors.Is(err, syscall.ENXIO) {
			return errdef.Usagef("%q is a socket (or a device with nothing behind it); it cannot be written to", dst)
		}
		return err
	}
	fi, err := out.Stat()
	if err == nil && fi.Mode().IsRegular() {
		err = out.Truncate(0)
	}
	if err == nil {
		_, err = io.Copy(out, in)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func copyToStdout(path string, w io.Writer) error {
	if w == nil {
		return errors.New("no standard output to write the value to")
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

func del(ctx context.Context, t *store.Target, tb trustBackend, repo string, req Request, res *Result) error {
	history, err := t.History(ctx, req.Key)
	if err != nil {
		return err
	}
	var gone []store.Entry
	for _, e := range history {
		if req.Digest == "" || e.Digest == req.Digest {
			gone = append(gone, e)
		}
	}
	if len(gone) == 0 {
		if req.Digest != "" {
			return errdef.NotFoundf("key %q has no version %s on %s", req.Key, req.Digest, res.Subject)
		}
		return errdef.NotFoundf("key %q not found on %s", req.Key, res.Subject)
	}
	if err := t.Delete(ctx, gone); err != nil {
		return err
	}
	res.Entries, res.Found = gone, true
	if tb != nil {
		// The entries are gone from the registry; withdraw their
		// signatures too, so trust data does not keep vouching for them.
		var bs []trust.Binding
		for _, e := range gone {
			bs = append(bs, trust.Binding{Repository: repo, Subject: res.Subject, Key: e.Key, Entry: e.Digest, Size: e.ManifestSize})
		}
		if err := tb.Forget(ctx, repo, bs); err != nil {
			return fmt.Errorf("entries deleted, but their signatures could not be withdrawn: %w", err)
		}
	}
	return nil
}
