//go:build unix

package steps

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/testimage"
	"github.com/manifesto-dev/manifesto/store"
	"github.com/manifesto-dev/manifesto/trust"
)

// TestPutAndGetFiles sets the process's umask: not parallel.
func TestPutAndGetFiles(t *testing.T) {
	ctx := context.Background()
	image := testimage.Image(t, testimage.Layout)
	var out bytes.Buffer
	env := Env{Stdin: strings.NewReader("from stdin\n"), Stdout: &out}

	// put from stdin: spooled, no title, octet-stream unless told.
	res, err := Run(ctx, Request{Operation: OpPut, Image: image, Key: "note", File: "-"}, env)
	if err != nil || res.Entry == nil || res.Entry.MediaType != "application/octet-stream" || res.Entry.Title != "" {
		t.Fatalf("put from stdin: %+v, %v", res.Entry, err)
	}

	// get -o: the file appears with the umask's permissions, whole.
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	dir := t.TempDir()
	dst := filepath.Join(dir, "note.txt")
	res, err = Run(ctx, Request{Operation: OpGet, Image: image, Key: "note", File: dst}, env)
	if err != nil || res.Path != dst || string(res.Value) != "from stdin\n" {
		t.Fatalf("get -o: %+v, %v", res, err)
	}
	fi, err := os.Stat(dst)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("value file mode = %v, %v; want 0640 under umask 027", fi.Mode(), err)
	}

	// get to stdout.
	if _, err := Run(ctx, Request{Operation: OpGet, Image: image, Key: "note"}, env); err != nil || out.String() != "from stdin\n" {
		t.Errorf("get to stdout: %q, %v", out.String(), err)
	}

	// A failed get leaves nothing behind, not even a temporary file.
	_, err = Run(ctx, Request{Operation: OpGet, Image: image, Key: "absent", File: filepath.Join(dir, "absent.txt")}, env)
	if !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("get absent: %v", err)
	}
	if names, _ := os.ReadDir(dir); len(names) != 1 {
		t.Errorf("dir holds %d files after a failed get, want 1 (note.txt)", len(names))
	}
}

func TestUnknownOperationAndTrustWithoutBackend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := Run(ctx, Request{Operation: "frob", Image: "oci:/x"}, Env{}); !errors.Is(err, errdef.ErrUsage) {
		t.Errorf("unknown operation: %v", err)
	}
	// A trust backend asked for in a build without one fails, before any
	// read: nothing unverified is returned.
	image := testimage.Image(t, testimage.Layout)
	_, err := Run(ctx, Request{Operation: OpList, Image: image, Trust: TrustOptions{Backend: TrustNotary, Verify: true}}, Env{})
	if err == nil {
		t.Error("verified list without a backend succeeded")
	}
}

// fakeTrust vouches for a fixed set of entries.
type fakeTrust struct{ vs []trust.Verified }

func (f fakeTrust) Sign(context.Context, trust.Binding) (trust.Signed, error) {
	return trust.Signed{Signer: "fake"}, nil
}
func (f fakeTrust) Verify(context.Context, trust.Query) ([]trust.Verified, error) { return f.vs, nil }
func (f fakeTrust) Init(context.Context, string) (string, bool, error)            { return "", false, nil }
func (f fakeTrust) Forget(context.Context, string, []trust.Binding) error         { return nil }

// TestVerifiedUsesSignedData: the order and keys of verified entries come
// from the signed data, not from the registry's listing (which could
// re-date an old entry to make it "newest").
func TestVerifiedUsesSignedData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	image := testimage.Image(t, testimage.Layout)
	var digests []string
	for _, v := range []string{"old", "new"} {
		res, err := Run(ctx, Request{Operation: OpPut, Image: image, Key: "approval", File: testimage.WriteValue(t, "v.txt", v)}, Env{})
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, res.Entry.Digest)
	}
	// The signer says "old" is the newer one (the listing says otherwise).
	now := time.Now()
	ft := fakeTrust{vs: []trust.Verified{
		{Key: "approval", Digest: digests[0], Created: now, Signer: "fake"},
		{Key: "approval", Digest: digests[1], Created: now.Add(-time.Hour), Signer: "fake"},
	}}
	env := Env{OpenTrust: func(TrustOptions, *store.Target) (TrustBackend, error) { return ft, nil }}
	tr := TrustOptions{Backend: TrustSigstore, Verify: true}
	res, err := Run(ctx, Request{Operation: OpHistory, Image: image, Key: "approval", Trust: tr}, env)
	if err != nil || len(res.Entries) != 2 || res.Entries[0].Digest != digests[0] || !res.Verified {
		t.Fatalf("verified history = %+v, %v; want %s first", res.Entries, err, digests[0])
	}
	var out bytes.Buffer
	env.Stdout = &out
	res, err = Run(ctx, Request{Operation: OpGet, Image: image, Key: "approval", Trust: tr}, env)
	if err != nil || out.String() != "old" || res.Signer != "fake" {
		t.Errorf("verified get = %q, %+v, %v", out.String(), res, err)
	}
}

// TestWarningsReachTheResult: what the store warns about (here: a registry
// that answers the fallback tag with the image itself, as GitLab does) is in
// the Result the caller prints.
func TestWarningsReachTheResult(t *testing.T) {
	t.Parallel()
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var subject string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subject != "" && strings.HasSuffix(r.URL.Path, "/manifests/"+strings.Replace(subject, ":", "-", 1)) {
			r2 := r.Clone(r.Context())
			r2.URL.Path = strings.TrimSuffix(r.URL.Path, strings.Replace(subject, ":", "-", 1)) + subject
			inner.ServeHTTP(w, r2)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()
	image := strings.TrimPrefix(srv.URL, "http://") + "/team/app:1"
	img, _ := random.Image(64, 1)
	ref, _ := name.ParseReference(image)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	subject = d.String()
	res, err := Run(context.Background(), Request{Operation: OpPut, Image: image, Key: "k", File: testimage.WriteValue(t, "v.txt", "v")}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "not a referrers index") {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

// preflightTrust is a backend whose Preflight fails with err; it records
// what it was asked and whether Sign or Forget ran.
type preflightTrust struct {
	fakeTrust
	err     error
	asked   []trust.Binding
	wrote   bool
	removed bool
}

func (p *preflightTrust) Preflight(_ context.Context, b trust.Binding) error {
	p.asked = append(p.asked, b)
	return p.err
}
func (p *preflightTrust) Sign(ctx context.Context, b trust.Binding) (trust.Signed, error) {
	p.wrote = true
	return p.fakeTrust.Sign(ctx, b)
}
func (p *preflightTrust) Forget(context.Context, string, []trust.Binding) error {
	p.removed = true
	return nil
}

// TestPreflightBeforeWriting: a backend that cannot sign fails put and
// delete before the registry is touched, with its error's class.
func TestPreflightBeforeWriting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	image := testimage.Image(t, testimage.Layout)
	pt := &preflightTrust{err: errdef.Usagef("no pin")}
	env := Env{OpenTrust: func(TrustOptions, *store.Target) (TrustBackend, error) { return pt, nil }}
	tr := TrustOptions{Backend: TrustSigstore}
	put := Request{Operation: OpPut, Image: image, Key: "approval", File: testimage.WriteValue(t, "v.txt", "v"), Trust: tr}

	res, err := Run(ctx, put, env)
	if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "nothing was written") || res.Entry != nil || pt.wrote {
		t.Fatalf("put with a failing preflight: %+v, %v (signed %v)", res.Entry, err, pt.wrote)
	}
	if len(pt.asked) != 1 || pt.asked[0].Key != "approval" || pt.asked[0].Subject != res.Subject || pt.asked[0].Repository == "" {
		t.Errorf("preflight asked %+v (subject %s)", pt.asked, res.Subject)
	}
	if res, err := Run(ctx, Request{Operation: OpList, Image: image}, Env{}); err != nil || len(res.Entries) != 0 {
		t.Errorf("after the failed put the image has %+v, %v", res.Entries, err)
	}

	// With a preflight that passes, put stores and signs; a delete whose
	// preflight fails deletes nothing.
	pt.err = nil
	if res, err := Run(ctx, put, env); err != nil || res.Signer != "fake" {
		t.Fatalf("put: %+v, %v", res, err)
	}
	pt.err = errors.New("notary server unreachable")
	_, err = Run(ctx, Request{Operation: OpDelete, Image: image, Key: "approval", Trust: tr}, env)
	if err == nil || errors.Is(err, errdef.ErrUsage) || pt.removed {
		t.Errorf("delete with a failing preflight: %v (forgot %v)", err, pt.removed)
	}
	if res, err := Run(ctx, Request{Operation: OpList, Image: image}, Env{}); err != nil || len(res.Entries) != 1 {
		t.Errorf("after the failed delete the image has %+v, %v", res.Entries, err)
	}
}

// TestTimeout (issue 10, item 4): --timeout bounds the whole operation, and
// the error says so and what was under way.
func TestTimeout(t *testing.T) {
	t.Parallel()
	// A registry that never answers.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	image := strings.TrimPrefix(srv.URL, "http://") + "/team/app:v1"
	start := time.Now()
	_, err := Run(context.Background(), Request{Operation: OpList, Image: image, Timeout: 300 * time.Millisecond}, Env{})
	if err == nil || !strings.HasPrefix(err.Error(), "list: ") || strings.Count(err.Error(), "timed out after 300ms (--timeout)") != 1 || !strings.Contains(err.Error(), "connect to") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestErrorsNameOperationOnce: Run's errors begin with the operation and
// key, exactly once, whatever part of the operation failed (issue 15).
func TestErrorsNameOperationOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	image := testimage.Image(t, testimage.Layout)
	dir := t.TempDir()
	cases := []struct {
		req  Request
		want string
	}{
		{Request{Operation: OpGet, Image: image, Key: "absent"}, `get absent: key "absent" not found on sha256:`},
		{Request{Operation: OpGet, Image: image, Key: "absent", File: dir}, `get absent: "` + dir + `" is a directory`},
		{Request{Operation: OpHistory, Image: image, Key: "absent"}, `history absent: key "absent" not found on sha256:`},
		{Request{Operation: OpDelete, Image: image, Key: "absent"}, `delete absent: key "absent" not found on sha256:`},
		{Request{Operation: OpPut, Image: image, Key: "k", File: filepath.Join(dir, "nope")}, "put k: "},
		{Request{Operation: OpList, Image: "oci:" + filepath.Join(dir, "nolayout")}, "list: "},
	}
	for _, tc := range cases {
		_, err := Run(ctx, tc.req, Env{})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) ||
			strings.Count(err.Error(), tc.req.Operation+" ") > strings.Count(tc.want, tc.req.Operation+" ") {
			t.Errorf("%s %q: error %q, want it to begin with %q, once", tc.req.Operation, tc.req.Key, err, tc.want)
		}
	}
}
