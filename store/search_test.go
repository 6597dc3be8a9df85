package store

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/testimage"
)

// countingTransport counts requests by method and path kind.
type countingTransport struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	kind := req.Method + " other"
	for _, k := range []string{"/tags/list", "/referrers/", "/manifests/", "/blobs/"} {
		if strings.Contains(req.URL.Path, k) {
			kind = req.Method + " " + k
		}
	}
	c.mu.Lock()
	c.n[kind]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (c *countingTransport) count(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[kind]
}

// TestSearch: on both kinds of registry, every image with metadata with its
// tags and newest keys, sorted by digest; without the referrers API, one
// tag listing and no per-image tag listing.
func TestSearch(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{testimage.Referrers, testimage.Fallback} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			repo := testimage.NewRepo(t, kind)
			clock := testimage.Clock()
			put := func(image, key, content string) Entry {
				t.Helper()
				tg := open(t, image, WithAccess(Write), WithClock(clock))
				e, err := tg.Put(ctx, key, Value{Path: testimage.WriteValue(t, "v.json", content)})
				if err != nil {
					t.Fatal(err)
				}
				return e
			}
			a := repo.Push("v1")
			put(a, "qa", `{"ok":1}`)
			newest := put(a, "qa", `{"ok":2}`)
			put(a, "deployed", `true`)
			b := repo.Push("v2")
			put(b, "qa", `{"ok":3}`)
			repo.Push("v3") // no metadata
			da, db := subjectOf(t, a), subjectOf(t, b)

			ct := &countingTransport{n: map[string]int{}}
			r, err := OpenRepository(ctx, repo.Path, WithTransport(ct))
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			last := 0
			got, err := r.Search(ctx, SearchOptions{Jobs: 3, Progress: func(done, total int) {
				mu.Lock()
				defer mu.Unlock()
				if done != last+1 || done > total {
					t.Errorf("progress %d/%d after %d", done, total, last)
				}
				last = done
			}})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{da: "v1 deployed,qa", db: "v2 qa"}
			if len(got) != 2 || got[0].Digest > got[1].Digest {
				t.Fatalf("search = %+v", got)
			}
			for _, im := range got {
				var keys []string
				for _, e := range im.Keys {
					keys = append(keys, e.Key)
				}
				if s := strings.Join(im.Tags, ",") + " " + strings.Join(keys, ","); want[im.Digest] != s {
					t.Errorf("%s: %q, want %q", im.Digest, s, want[im.Digest])
				}
			}
			// The newest version of qa on a.
			for _, im := range got {
				if im.Digest == da && im.Keys[1].Digest != newest.Digest {
					t.Errorf("qa on a is not the newest version: %+v", im.Keys)
				}
			}
			if n := ct.count("GET /tags/list"); n != 1 {
				t.Errorf("%d tag listings, want 1", n)
			}
			if kind == testimage.Fallback && ct.count("GET /referrers/") != 1 {
				t.Errorf("%d referrers requests, want the one probe", ct.count("GET /referrers/"))
			}
		})
	}
}

func subjectOf(t *testing.T, image string) string {
	t.Helper()
	d, err := open(t, image).Subject(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d.Digest.String()
}

func TestParseRepository(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string // "" = usage error
	}{
		{"registry.example.com/team/app", "registry.example.com/team/app"},
		{"127.0.0.1:5000/app", "127.0.0.1:5000/app"},
		{"alpine", "index.docker.io/library/alpine"},
		{"registry.example.com/team/app:v1", ""},
		{"registry.example.com/team/app@sha256:" + strings.Repeat("a", 64), ""},
		{"oci:./layout", ""},
		{"", ""},
		{"Upper/Case", ""},
	} {
		r, err := ParseRepository(tc.in, false)
		switch {
		case tc.want == "" && !errors.Is(err, errdef.ErrUsage):
			t.Errorf("%q: %v, %v; want a usage error", tc.in, r, err)
		case tc.want != "" && (err != nil || r.Name() != tc.want):
			t.Errorf("%q: %v, %v; want %s", tc.in, r, err, tc.want)
		}
	}
}

func TestForEach(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	running, most, done := 0, 0, 0
	err := forEach(ctx, 3, 50, func(int) error {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	}, func() { mu.Lock(); done++; mu.Unlock() })
	if err != nil || done != 50 || most > 3 {
		t.Errorf("err %v, done %d, at most %d at once", err, done, most)
	}
	boom := errdef.NotFoundf("boom")
	var calls atomic.Int32
	err = forEach(ctx, 1, 50, func(i int) error {
		calls.Add(1)
		if i == 2 {
			return boom
		}
		return nil
	}, func() {})
	if err != boom || calls.Load() > 4 {
		t.Errorf("err %v after %d calls, want boom within 4", err, calls.Load())
	}
}

// TestSearchNothing: images without metadata give nothing; a repository
// that does not exist is not found.
func TestSearchNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, kind := range []string{testimage.Referrers, testimage.Fallback} {
		repo := testimage.NewRepo(t, kind)
		repo.Push("v1")
		repo.Push("v2")
		r, err := OpenRepository(ctx, repo.Path)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.Search(ctx, SearchOptions{}); err != nil || len(got) != 0 {
			t.Errorf("%s: %+v, %v", kind, got, err)
		}
		r, err = OpenRepository(ctx, strings.TrimSuffix(repo.Path, "/app")+"/none")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Search(ctx, SearchOptions{}); !errors.Is(err, errdef.ErrNotFound) {
			t.Errorf("%s: missing repository: %v", kind, err)
		}
	}
}
