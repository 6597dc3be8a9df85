package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/testimage"
)

// liar wraps a real in-memory registry (without the referrers API) and lets
// a test rewrite chosen responses.
type liar struct {
	inner http.Handler
	// tamper, when set, may answer a request itself (returning true).
	tamper atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]
}

func (l *liar) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f := l.tamper.Load(); f != nil && (*f)(w, r) {
		return
	}
	l.inner.ServeHTTP(w, r)
}

func (l *liar) set(f func(w http.ResponseWriter, r *http.Request) bool) { l.tamper.Store(&f) }

// newLiar returns a registry with one image and one entry "k" on it.
func newLiar(t *testing.T) (*liar, string, Entry) {
	t.Helper()
	l := &liar{inner: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	image := strings.TrimPrefix(srv.URL, "http://") + "/team/app:v1"
	img, _ := random.Image(64, 1)
	ref, err := name.ParseReference(image)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	// Not embedded in the manifest: the value's blob is what these tests
	// attack (TestInlineValue covers the embedded form).
	e, err := open(t, image, WithAccess(Write), withInlineMax(-1)).Put(context.Background(), "k", Value{Path: testimage.WriteValue(t, "v.txt", "true value")})
	if err != nil {
		t.Fatal(err)
	}
	return l, image, e
}

func TestHostileRegistry(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// image rewrites the image reference (default: the tag).
		image  func(image, subject string) string
		tamper func(e Entry) func(w http.ResponseWriter, r *http.Request) bool
		// op runs against the target; the error must be of class want.
		op   func(tg *Target) error
		want error
	}{
		{
			name: "entry manifest with other bytes",
			tamper: func(e Entry) func(w http.ResponseWriter, r *http.Request) bool {
				return func(w http.ResponseWriter, r *http.Request) bool {
					if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/manifests/"+e.Digest) {
						w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
						fmt.Fprint(w, `{"schemaVersion":2}`)
						return true
					}
					return false
				}
			},
			op:   readK,
			want: errdef.ErrInvalidResponse,
		},
		{
			name: "value blob with other bytes",
			tamper: func(Entry) func(w http.ResponseWriter, r *http.Request) bool {
				return func(w http.ResponseWriter, r *http.Request) bool {
					if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
						fmt.Fprint(w, "evil value")
						return true
					}
					return false
				}
			},
			op:   readK,
			want: errdef.ErrInvalidResponse,
		},
		{
			name: "oversized fallback index",
			tamper: func(Entry) func(w http.ResponseWriter, r *http.Request) bool {
				return func(w http.ResponseWriter, r *http.Request) bool {
					if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/sha256-") && !strings.Contains(r.URL.Path, traceInfix) {
						w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
						w.Write([]byte(`{"schemaVersion":2,"manifests":[`))
						chunk := bytes.Repeat([]byte(" "), 1<<20)
						for i := 0; i < 64; i++ { // 64 MiB, far past any cap
							if _, err := w.Write(chunk); err != nil {
								break
							}
						}
						return true
					}
					return false
				}
			},
			op:   func(tg *Target) error { _, err := tg.List(context.Background()); return err },
			want: errdef.ErrInvalidResponse,
		},
		{
			// A tag can point anywhere, but a digest pins content: a
			// registry naming another digest for it is lying.
			name:  "image digest answered with another digest",
			image: func(image string, subject string) string { return strings.TrimSuffix(image, ":v1") + "@" + subject },
			tamper: func(Entry) func(w http.ResponseWriter, r *http.Request) bool {
				return func(w http.ResponseWriter, r *http.Request) bool {
					if strings.Contains(r.URL.Path, "/manifests/sha256:") {
						w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("0", 64))
						w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
						fmt.Fprint(w, `{"schemaVersion":2}`)
						return true
					}
					return false
				}
			},
			op:   func(tg *Target) error { _, err := tg.List(context.Background()); return err },
			want: errdef.ErrInvalidResponse,
		},
		{
			name: "unauthorized",
			tamper: func(Entry) func(w http.ResponseWriter, r *http.Request) bool {
				return func(w http.ResponseWriter, r *http.Request) bool {
					if r.URL.Path != "/v2/" {
						w.WriteHeader(http.StatusForbidden)
						fmt.Fprint(w, `{"errors":[{"code":"DENIED","message":"no"}]}`)
						return true
					}
					return false
				}
			},
			op:   readK,
			want: errdef.ErrUnauthorized,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, image, e := newLiar(t)
			if tc.image != nil {
				s, err := open(t, image).Subject(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				image = tc.image(image, s.Digest.String())
			}
			tg := open(t, image)
			l.set(tc.tamper(e))
			err := tc.op(tg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want class %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func readK(tg *Target) error {
	var buf bytes.Buffer
	_, err := tg.Read(context.Background(), "k", "", &buf)
	return err
}

// TestFallbackTagAliasedToImage: GitLab answers the fallback tag with the
// image itself. Readers must not take it for an index, and entries stay
// findable through their traces.
func TestFallbackTagAliasedToImage(t *testing.T) {
	t.Parallel()
	l, image, e := newLiar(t)
	tg := open(t, image)
	subject, err := tg.Subject(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l.set(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/manifests/"+fallbackTag(subject.Digest)) {
			r2 := r.Clone(r.Context())
			r2.URL.Path = strings.TrimSuffix(r.URL.Path, fallbackTag(subject.Digest)) + subject.Digest.String()
			l.inner.ServeHTTP(w, r2)
			return true
		}
		return false
	})
	hist, err := open(t, image).History(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Digest != e.Digest {
		t.Fatalf("history = %+v, want the traced entry %s", hist, e.Digest)
	}
	w := open(t, image, WithAccess(Write))
	if _, err := w.Put(context.Background(), "k", Value{Path: testimage.WriteValue(t, "v.txt", "second")}); err != nil {
		t.Fatal(err)
	}
	if len(w.Warnings) != 1 || !strings.Contains(w.Warnings[0].Msg, "not a referrers index") || w.Warnings[0].Kind != WarnIndexAliased {
		t.Errorf("warnings = %q", w.Warnings)
	}
	if hist, _ = open(t, image).History(context.Background(), "k"); len(hist) != 2 {
		t.Errorf("after a second put, history has %d entries, want 2", len(hist))
	}
}

// TestHostileListings: a registry that paginates forever, redirects in a
// loop, or lists descriptors of absurd sizes costs bounded time and memory
// and ends in a clear error (or the absurd descriptor is ignored).
func TestHostileListings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("endless referrers pages", func(t *testing.T) {
		t.Parallel()
		l, image, _ := newLiar(t)
		var pages atomic.Int64
		l.set(func(w http.ResponseWriter, r *http.Request) bool {
			if strings.Contains(r.URL.Path, "/referrers/") {
				n := pages.Add(1)
				w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
				w.Header().Set("Link", fmt.Sprintf(`<%s?page=%d>; rel="next"`, r.URL.Path, n))
				fmt.Fprint(w, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
				return true
			}
			return false
		})
		_, err := open(t, image).List(ctx)
		if !errors.Is(err, errdef.ErrInvalidResponse) || pages.Load() > maxPages+1 || pages.Load() < maxPages {
			t.Fatalf("err = %v after %d pages", err, pages.Load())
		}
	})
	t.Run("endless tag pages", func(t *testing.T) {
		t.Parallel()
		l, image, _ := newLiar(t)
		var pages atomic.Int64
		l.set(func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, "/tags/list") {
				n := pages.Add(1)
				w.Header().Set("Link", fmt.Sprintf(`</v2/team/app/tags/list?last=a%d>; rel="next"`, n))
				fmt.Fprint(w, `{"name":"team/app","tags":[]}`)
				return true
			}
			return false
		})
		_, err := open(t, image).List(ctx)
		if !errors.Is(err, errdef.ErrInvalidResponse) || pages.Load() > maxPages+1 || pages.Load() < maxPages {
			t.Fatalf("err = %v after %d pages", err, pages.Load())
		}
	})
	// A Link loop of large pages: each page is within the page cap, but
	// one listing must stop at the caps across pages (bytes, descriptors)
	// long before maxPages.
	for _, tc := range []struct {
		name      string
		page      []byte
		wantPages int64
	}{
		{"pages of 20k descriptors", referrersPage(20_000, 0), maxListingItems/20_000 + 1},
		{"pages of 7 MiB", referrersPage(1, 7<<20), maxListingBytes/(7<<20) + 1},
	} {
		t.Run("link loop of "+tc.name, func(t *testing.T) {
			t.Parallel()
			l, image, _ := newLiar(t)
			var pages atomic.Int64
			l.set(func(w http.ResponseWriter, r *http.Request) bool {
				if strings.Contains(r.URL.Path, "/referrers/") {
					pages.Add(1)
					w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
					w.Header().Set("Link", fmt.Sprintf(`<%s?page=%d>; rel="next"`, r.URL.Path, pages.Load()))
					w.Write(tc.page)
					return true
				}
				return false
			})
			_, err := open(t, image).List(ctx)
			if !errors.Is(err, errdef.ErrInvalidResponse) || !strings.Contains(err.Error(), "across its pages") || pages.Load() != tc.wantPages {
				t.Fatalf("err = %v after %d pages, want the cap after %d", err, pages.Load(), tc.wantPages)
			}
		})
	}
	t.Run("redirect loop on the value", func(t *testing.T) {
		t.Parallel()
		l, image, _ := newLiar(t)
		var hops atomic.Int64
		l.set(func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				hops.Add(1)
				http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
				return true
			}
			return false
		})
		err := readK(open(t, image))
		if err == nil || strings.Contains(err.Error(), "\n") || hops.Load() > 100 || hops.Load() < 2 {
			t.Fatalf("err = %v after %d redirects", err, hops.Load())
		}
	})
	t.Run("absurd descriptor sizes", func(t *testing.T) {
		t.Parallel()
		l, image, e := newLiar(t)
		subject, _ := open(t, image).Subject(ctx)
		l.set(func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/manifests/"+fallbackTag(subject.Digest)) {
				w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
				fmt.Fprintf(w, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
{"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":%q,"digest":"sha256:%s","size":4611686018427387904,"annotations":{"dev.manifesto.key":"huge"}},
{"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":%q,"digest":"sha256:%s","size":-5,"annotations":{"dev.manifesto.key":"negative"}}]}`,
					ArtifactType, strings.Repeat("a", 64), ArtifactType, strings.Repeat("b", 64))
				return true
			}
			return false
		})
		all, err := open(t, image).List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// The real entry is still found through its trace; the absurd
		// descriptors are dropped.
		if got := keysOf(Latest(all)); got != "k" || all[0].Digest != e.Digest {
			t.Errorf("keys = %q", got)
		}
	})
}

// TestHTTPSOnly: plain HTTP goes only to loopback registries, unless asked
// for; the refusal happens before any connection.
func TestHTTPSOnly(t *testing.T) {
	t.Parallel()
	dialed := false
	inner := roundTripFunc(func(*http.Request) (*http.Response, error) {
		dialed = true
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
	})
	cases := []struct {
		url       string
		allowHTTP bool
		ok        bool
	}{
		{"http://10.1.2.3:5000/v2/", false, false},
		{"http://192.168.1.10/v2/", false, false},
		{"http://registry.internal/v2/", false, false},
		{"http://10.1.2.3:5000/v2/", true, true},
		{"http://127.0.0.1:5000/v2/", false, true},
		{"http://localhost:5000/v2/", false, true},
		{"http://[::1]:5000/v2/", false, true},
		{"https://10.1.2.3/v2/", false, true},
	}
	for _, tc := range cases {
		dialed = false
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		_, err := (&httpsOnly{inner: inner, allowHTTP: tc.allowHTTP}).RoundTrip(req)
		if (err == nil) != tc.ok || dialed != tc.ok {
			t.Errorf("%s (plain-http %v): err = %v, reached the network %v", tc.url, tc.allowHTTP, err, dialed)
		}
		if err != nil && !errors.Is(err, errdef.ErrUsage) {
			t.Errorf("%s: error is not a usage error: %v", tc.url, err)
		}
	}
}

// referrersPage renders a referrers index of n distinct entry descriptors,
// each with an annotation of pad bytes.
func referrersPage(n, pad int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`)
	padding := strings.Repeat("x", pad)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":%q,"digest":"sha256:%064x","size":512,"annotations":{%q:"k%d",%q:"2024-01-01T00:00:00Z","pad":%q}}`,
			ArtifactType, i, AnnotationKey, i, AnnotationCreated, padding)
	}
	b.WriteString("]}")
	return b.Bytes()
}
