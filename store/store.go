// Package store keeps metadata entries next to images: in a registry
// (referrers API, or the fallback tag schema made safe for concurrent
// writers) or in an OCI image layout directory. A Target is one image; its
// methods put, list, read and delete the entries attached to that image's
// digest.
package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// backend is what a storage location must provide. Both implementations
// (registry, OCI layout) keep their own referrers bookkeeping.
type backend interface {
	// resolve returns the descriptor the location's reference names.
	resolve(ctx context.Context) (v1.Descriptor, error)
	// manifest returns the bytes of manifest h, digest-checked.
	manifest(ctx context.Context, h v1.Hash) ([]byte, error)
	hasBlob(ctx context.Context, h v1.Hash) (bool, error)
	pushBlob(ctx context.Context, d v1.Descriptor, open func() (io.ReadCloser, error)) error
	// pushBlobStream uploads size bytes from open, hashing them on the
	// way, and returns their digest.
	pushBlobStream(ctx context.Context, size int64, open func() (io.ReadCloser, error)) (v1.Hash, error)
	blob(ctx context.Context, d v1.Descriptor) (io.ReadCloser, error)
	// attach stores a manifest that refers to subject (an entry, or a
	// signature of one) and makes it discoverable as a referrer.
	attach(ctx context.Context, subject v1.Descriptor, b []byte, d v1.Descriptor) (warnings []Warning, err error)
	// referrers lists subject's referrers.
	referrers(ctx context.Context, subject v1.Descriptor) ([]v1.Descriptor, error)
	// removeEntries deletes entries and forgets them.
	removeEntries(ctx context.Context, subject v1.Descriptor, ds []v1.Descriptor) error
	// repair rebuilds the referrers bookkeeping and returns what it lists.
	repair(ctx context.Context, subject v1.Descriptor) ([]v1.Descriptor, error)
	// prefetch starts reading, in parallel with the caller's uploads, what
	// attach to subject will need; wait waits for it to end.
	prefetch(ctx context.Context, subject v1.Descriptor) (wait func())
}

// Target is one image in a registry or an OCI layout.
type Target struct {
	loc     Location
	o       *options
	b       backend
	subject *v1.Descriptor
	// Warnings collects what the user should know that did not fail the
	// operation (Messages renders them).
	Warnings []Warning
	// attached are the artifacts Copy attached (copy.go).
	attached []attachedRef
}

// Open parses image and connects to where it lives. Errors: ErrUsage for a
// malformed reference, ErrUnauthorized, or a connection error.
func Open(ctx context.Context, image string, opts ...Option) (*Target, error) {
	o := makeOptions(opts)
	loc, err := ParseImage(image, o.plainHTTP)
	if err != nil {
		return nil, err
	}
	t := &Target{loc: loc, o: o}
	if loc.IsLayout() {
		t.b, err = openLayout(loc, o)
	} else {
		t.b, err = openRemote(ctx, loc.Ref, o)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Location returns the parsed image location.
func (t *Target) Location() Location { return t.loc }

// Subject resolves the image to the descriptor its metadata belongs to,
// once: a tag is looked up a single time per Target.
func (t *Target) Subject(ctx context.Context) (v1.Descriptor, error) {
	if t.subject != nil {
		return *t.subject, nil
	}
	d, err := t.b.resolve(ctx)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("resolve %s: %w", t.loc, err)
	}
	if t.o.platform != "" {
		if d, err = t.pickPlatform(ctx, d); err != nil {
			return v1.Descriptor{}, fmt.Errorf("resolve %s for %s: %w", t.loc, t.o.platform, err)
		}
	}
	t.subject = &d
	return d, nil
}

func (t *Target) pickPlatform(ctx context.Context, d v1.Descriptor) (v1.Descriptor, error) {
	want, err := v1.ParsePlatform(t.o.platform)
	if err != nil {
		return v1.Descriptor{}, errdef.Usagef("platform %q: %v", t.o.platform, err)
	}
	b, err := t.b.manifest(ctx, d.Digest)
	if err != nil {
		return v1.Descriptor{}, err
	}
	switch d.MediaType {
	case types.OCIImageIndex, types.DockerManifestList:
		var idx v1.IndexManifest
		if err := json.Unmarshal(b, &idx); err != nil {
			return v1.Descriptor{}, invalidf("image index %s: %v", d.Digest, err)
		}
		for _, m := range idx.Manifests {
			if m.Platform != nil && m.Platform.Satisfies(*want) {
				return v1.Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: m.Size}, nil
			}
		}
		return v1.Descriptor{}, errdef.NotFoundf("image index %s has no manifest for platform %s", d.Digest, t.o.platform)
	}
	// A single-platform image: accept it if its config says it is for the
	// asked platform, so one --platform works across single- and
	// multi-platform images.
	var m v1.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return v1.Descriptor{}, invalidf("manifest %s: %v", d.Digest, err)
	}
	cfg, err := t.readSmallBlob(ctx, m.Config)
	if err != nil {
		return v1.Descriptor{}, err
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(cfg, &cf); err != nil || cf.Platform() == nil {
		return v1.Descriptor{}, errdef.NotFoundf("image %s names no platform; drop --platform", d.Digest)
	}
	if !cf.Platform().Satisfies(*want) {
		return v1.Descriptor{}, errdef.NotFoundf("image %s is for %s, not %s", d.Digest, cf.Platform(), t.o.platform)
	}
	return d, nil
}

func (t *Target) readSmallBlob(ctx context.Context, d v1.Descriptor) ([]byte, error) {
	if d.Size < 0 || d.Size > manifestLimit {
		return nil, invalidf("blob %s has size %d", d.Digest, d.Size)
	}
	rc, err := t.b.blob(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := readCapped(rc, manifestLimit, "blob "+d.Digest.String())
	if err != nil {
		return nil, err
	}
	return b, checkDigest(b, d.Digest)
}

// Value is the content of a new entry: a regular file.
type Value struct {
	// Path is the file to store. It is read twice (hash, then upload), so
	// it must be a regular file; callers spool streams to a temporary file.
	Path string
	// MediaType of the value; empty infers it from Title or Path.
	MediaType string
	// Title is recorded as the value's file name; empty uses Path's base
	// name, "-" records none.
	Title string
}

// Put stores a new version of key on the image and returns it.
func (t *Target) Put(ctx context.Context, key string, v Value) (Entry, error) {
	if err := CheckKey(key); err != nil {
		return Entry{}, err
	}
	// Beside the resolve, the read-only part of the uploads: hash the
	// value and ask whether the registry has it and the empty config
	// (issue 14: one round trip less on the critical path). Nothing is
	// written before the image is known to exist.
	value, valueErr := describeValue(v)
	small := valueErr == nil && value.Size < t.o.streamThreshold
	var haveValue, haveConfig bool
	var checkErr error
	checks := make(chan struct{})
	go func() {
		defer close(checks)
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() (err error) {
			haveConfig, err = t.b.hasBlob(gctx, emptyConfig().Digest)
			return err
		})
		if small {
			g.Go(func() (err error) {
				if value.Size <= t.o.inlineMax {
					// Read once: embedded in the manifest and uploaded
					// from the same bytes.
					value.Data, err = readValueFile(v.Path, value.Size)
					if err == nil {
						value.Digest, _, err = v1.SHA256(bytes.NewReader(value.Data))
					}
				} else {
					value.Digest, err = hashFile(v.Path)
				}
				if err != nil {
					return err
				}
				haveValue, err = t.b.hasBlob(gctx, value.Digest)
				return err
			})
		}
		checkErr = g.Wait()
	}()
	subject, err := t.Subject(ctx)
	<-checks
	if err != nil {
		return Entry{}, err
	}
	if valueErr != nil {
		return Entry{}, valueErr
	}
	if checkErr != nil {
		return Entry{}, fmt.Errorf("upload value of %s: %w", key, checkErr)
	}
	// What attach reads goes out while the blobs upload (prefetch starts
	// now; the deferred call waits for it).
	defer t.b.prefetch(ctx, subject)()
	// The value and the empty config go up at once.
	g, gctx := errgroup.WithContext(ctx)
	if !haveConfig {
		g.Go(func() error {
			if err := t.b.pushBlob(gctx, emptyConfig(), func() (io.ReadCloser, error) {
				return io.NopCloser(strings.NewReader(emptyJSON)), nil
			}); err != nil {
				return fmt.Errorf("upload config of %s: %w", key, err)
			}
			return nil
		})
	}
	g.Go(func() (err error) {
		switch {
		case !small:
			// Large: hash while uploading (one read of the file) instead
			// of hashing first to skip a blob the registry might have.
			if value.Digest, err = t.streamBlob(gctx, v.Path, value.Size, "put "+key); err != nil {
				return fmt.Errorf("upload value of %s: %w", key, err)
			}
		case !haveValue:
			open := t.openValue(v.Path, value.Size, "put "+key)
			if value.Data != nil {
				open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(value.Data)), nil }
			}
			if err := t.b.pushBlob(gctx, value, open); err != nil {
				return fmt.Errorf("upload value of %s: %w", key, err)
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return Entry{}, err
	}
	created := t.o.now()
	b, d, err := entryManifest(subject, key, value, created)
	if err != nil {
		return Entry{}, err
	}
	warn, err := t.b.attach(ctx, subject, b, d)
	t.Warnings = append(t.Warnings, warn...)
	if err != nil {
		return Entry{}, fmt.Errorf("store entry %s: %w", key, err)
	}
	return Entry{
		Key: key, Digest: d.Digest.String(), MediaType: string(value.MediaType),
		Size: value.Size, Created: created.UTC(), Title: value.Annotations[AnnotationTitle],
		ManifestSize: d.Size,
	}, nil
}

// describeValue checks the value file and builds its layer descriptor
// without the digest.
func describeValue(v Value) (v1.Descriptor, error) {
	fi, err := os.Stat(v.Path)
	if err != nil {
		return v1.Descriptor{}, errdef.WithClass(fmt.Errorf("value file: %w", err), errdef.ErrUsage)
	}
	if !fi.Mode().IsRegular() {
		return v1.Descriptor{}, errdef.Usagef("value file %s is not a regular file", v.Path)
	}
	title := v.Title
	if title == "" {
		title = filepath.Base(v.Path)
	}
	if title == "-" {
		title = ""
	}
	mt := v.MediaType
	if mt == "" {
		mt = MediaTypeFor(title)
	}
	d := v1.Descriptor{MediaType: types.MediaType(mt), Size: fi.Size()}
	if title != "" {
		d.Annotations = map[string]string{AnnotationTitle: title}
	}
	return d, nil
}

// readValueFile reads the whole value file, which describeValue found to be
// size bytes; a file that changed size since is a usage error, not a value
// whose digest and size disagree.
func readValueFile(path string, size int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errdef.WithClass(fmt.Errorf("value file: %w", err), errdef.ErrUsage)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, size+1))
	if err != nil {
		return nil, fmt.Errorf("read value file %s: %w", path, err)
	}
	if int64(len(b)) != size {
		return nil, errdef.Usagef("value file %s changed size while it was read (%d bytes, then %d)", path, size, len(b))
	}
	return b, nil
}

func hashFile(path string) (v1.Hash, error) {
	f, err := os.Open(path)
	if err != nil {
		return v1.Hash{}, errdef.WithClass(fmt.Errorf("value file: %w", err), errdef.ErrUsage)
	}
	defer f.Close()
	h, _, err := v1.SHA256(f)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("read value file %s: %w", path, err)
	}
	return h, nil
}

// streamBlob uploads the file at path (size bytes) and returns its digest,
// computed on the way.
func (t *Target) streamBlob(ctx context.Context, path string, size int64, label string) (v1.Hash, error) {
	return t.b.pushBlobStream(ctx, size, func() (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		if t.o.progress == nil {
			return f, nil
		}
		return &progressReader{r: f, w: t.o.progress(label, size), c: f}, nil
	})
}

// ensureBlob uploads d unless the store has it. path is the file holding
// it; "" means the empty config. label names the transfer for progress.
func (t *Target) ensureBlob(ctx context.Context, d v1.Descriptor, path, label string) error {
	if path == "" {
		return t.ensureBlobFrom(ctx, d, func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(emptyJSON)), nil
		})
	}
	return t.ensureBlobFrom(ctx, d, t.openValue(path, d.Size, label))
}

// openValue opens the file at path (size bytes) for an upload, reporting
// progress under label when asked to.
func (t *Target) openValue(path string, size int64, label string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		if t.o.progress == nil {
			return f, nil
		}
		return &progressReader{r: f, w: t.o.progress(label, size), c: f}, nil
	}
}

// ensureBlobFrom uploads d from open unless the store has it.
func (t *Target) ensureBlobFrom(ctx context.Context, d v1.Descriptor, open func() (io.ReadCloser, error)) error {
	ok, err := t.b.hasBlob(ctx, d.Digest)
	if err != nil || ok {
		return err
	}
	return t.b.pushBlob(ctx, d, open)
}

// List returns every entry on the image, newest first.
func (t *Target) List(ctx context.Context) ([]Entry, error) {
	subject, err := t.Subject(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := t.b.referrers(ctx, subject)
	if err != nil {
		return nil, fmt.Errorf("list entries of %s: %w", subject.Digest, err)
	}
	return entriesOf(ds), nil
}

func entriesOf(ds []v1.Descriptor) []Entry {
	var out []Entry
	for _, d := range ds {
		if e, ok := entryFromDescriptor(d); ok {
			out = append(out, e)
		}
	}
	undatedOrder(out)
	sort.SliceStable(out, func(i, j int) bool { return Newer(out[i], out[j]) })
	return out
}

// History returns every version of key, newest first.
func (t *Target) History(ctx context.Context, key string) ([]Entry, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	all, err := t.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range all {
		if e.Key == key {
			out = append(out, e)
		}
	}
	return out, nil
}

// Latest collapses a newest-first list to the newest entry of each key,
// sorted by key.
func Latest(entries []Entry) []Entry {
	seen := map[string]bool{}
	var out []Entry
	for _, e := range entries {
		if !seen[e.Key] {
			seen[e.Key] = true
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Read writes the value of key to w and returns its entry: the entry with
// digest when given, else the newest readable version (a version whose
// manifest is gone from the registry is skipped). The value is verified
// against its digest and size as it streams; on a mismatch an error is
// returned after w has received bytes, so callers write to a temporary
// file and only publish it on success.
func (t *Target) Read(ctx context.Context, key, digest string, w io.Writer) (Entry, error) {
	if digest != "" {
		return t.readDigest(ctx, key, digest, w)
	}
	history, err := t.History(ctx, key)
	if err != nil {
		return Entry{}, err
	}
	subject, _ := t.Subject(ctx)
	for _, e := range history {
		h, err := v1.NewHash(e.Digest)
		if err != nil {
			return Entry{}, invalidf("entry digest %q: %v", e.Digest, err)
		}
		b, err := t.b.manifest(ctx, h)
		if errors.Is(err, errdef.ErrNotFound) {
			// Listed but deleted (a delete raced a writer that re-listed
			// it): the previous version is now the newest.
			t.Warnings = append(t.Warnings, Warning{Kind: WarnEntryGone,
				Msg: fmt.Sprintf("entry %s of %s is listed but gone; read the version before it", e.Digest, key)})
			continue
		}
		if err != nil {
			return Entry{}, fmt.Errorf("read entry %s: %w", e.Digest, err)
		}
		return t.readValue(ctx, subject, h, b, e.Key, w)
	}
	return Entry{}, errdef.NotFoundf("key %q not found on %s", key, subject.Digest)
}

// readDigest reads one exact version without listing: the manifest itself
// proves (subject, key) in parseEntry.
func (t *Target) readDigest(ctx context.Context, key, digest string, w io.Writer) (Entry, error) {
	if err := CheckKey(key); err != nil {
		return Entry{}, err
	}
	subject, err := t.Subject(ctx)
	if err != nil {
		return Entry{}, err
	}
	h, err := v1.NewHash(digest)
	if err != nil {
		return Entry{}, errdef.Usagef("digest %q: %v", digest, err)
	}
	b, err := t.b.manifest(ctx, h)
	if errors.Is(err, errdef.ErrNotFound) {
		return Entry{}, errdef.NotFoundf("key %q has no version %s on %s", key, digest, subject.Digest)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("read entry %s: %w", digest, err)
	}
	// The bytes are digest-checked: if they belong to another key or image,
	// the user named a digest that is not a version of this key.
	var probe v1.Manifest
	if json.Unmarshal(b, &probe) == nil && (probe.Annotations[AnnotationKey] != key || probe.Subject == nil || probe.Subject.Digest != subject.Digest) {
		return Entry{}, errdef.NotFoundf("%s is not a version of key %q on %s", digest, key, subject.Digest)
	}
	return t.readValue(ctx, subject, h, b, key, w)
}

// readValue checks an entry manifest and streams its value to w.
func (t *Target) readValue(ctx context.Context, subject v1.Descriptor, h v1.Hash, b []byte, key string, w io.Writer) (Entry, error) {
	p, err := parseEntry(b, h, subject.Digest, key)
	if err != nil {
		return Entry{}, err
	}
	var rc io.ReadCloser
	if inlineValid(p.value) {
		rc = io.NopCloser(bytes.NewReader(p.value.Data))
	} else {
		// No embedded value, or one that does not match its digest
		// (another writer's mistake): the blob is the value.
		if rc, err = t.b.blob(ctx, p.value); err != nil {
			return Entry{}, fmt.Errorf("read value of %s: %w", key, err)
		}
	}
	defer rc.Close()
	if err := copyVerified(w, rc, p.value, t.o.progress, "get "+key); err != nil {
		return Entry{}, fmt.Errorf("read value of %s: %w", key, err)
	}
	return p.entry, nil
}

// copyVerified streams r to w, checking size and sha256 digest on the way.
func copyVerified(w io.Writer, r io.Reader, d v1.Descriptor, progress Progress, label string) error {
	if d.Digest.Algorithm != "sha256" {
		return invalidf("value digest algorithm %q is not supported", d.Digest.Algorithm)
	}
	hw := sha256.New()
	dst := io.MultiWriter(w, hw)
	if progress != nil {
		pw := progress(label, d.Size)
		defer pw.Close()
		dst = io.MultiWriter(w, hw, pw)
	}
	n, err := io.Copy(dst, io.LimitReader(r, d.Size+1))
	if err != nil {
		return err
	}
	if n != d.Size {
		return invalidf("value %s is %d bytes, the entry says %d", d.Digest, n, d.Size)
	}
	if got := hexSum(hw); got != d.Digest.Hex {
		return invalidf("value hashes to sha256:%s, the entry says %s", got, d.Digest)
	}
	return nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// Delete removes the given entries (versions) of the image.
func (t *Target) Delete(ctx context.Context, entries []Entry) error {
	subject, err := t.Subject(ctx)
	if err != nil {
		return err
	}
	ds := make([]v1.Descriptor, 0, len(entries))
	for _, e := range entries {
		h, err := v1.NewHash(e.Digest)
		if err != nil {
			return invalidf("entry digest %q: %v", e.Digest, err)
		}
		ds = append(ds, v1.Descriptor{Digest: h})
	}
	if err := t.b.removeEntries(ctx, subject, ds); err != nil {
		return fmt.Errorf("delete from %s: %w", subject.Digest, err)
	}
	return nil
}

// Repair rebuilds the image's referrers bookkeeping (the fallback index on
// registries without the referrers API) from the durable per-entry traces,
// dropping entries whose manifests are gone, and returns the entries it
// lists.
func (t *Target) Repair(ctx context.Context) ([]Entry, error) {
	subject, err := t.Subject(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := t.b.repair(ctx, subject)
	if err != nil {
		return nil, fmt.Errorf("repair %s: %w", subject.Digest, err)
	}
	return entriesOf(ds), nil
}

// progressReader feeds a progress writer while reading.
type progressReader struct {
	r io.Reader
	w io.WriteCloser
	c io.Closer
}

// Read reads and reports what it read.
func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		_, _ = p.w.Write(b[:n])
	}
	return n, err
}

// Close ends the report and closes the source.
func (p *progressReader) Close() error {
	p.w.Close()
	return p.c.Close()
}
