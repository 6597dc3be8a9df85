package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// backendKinds are the storage locations every behaviour is checked on.
var backendKinds = []string{"referrers", "fallback", "layout"}

// newImage starts a store of the given kind holding one random image and
// returns the IMAGE reference to it.
func newImage(t *testing.T, kind string) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if kind == "layout" {
		dir := t.TempDir()
		p, err := layout.Write(dir, empty.Index)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{refNameAnnotation: "v1"})); err != nil {
			t.Fatal(err)
		}
		return "oci:" + dir + ":v1"
	}
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(kind == "referrers"), registry.Logger(discardLogger())))
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/team/app:v1"
	if err := remote.Write(mustRef(t, ref), img); err != nil {
		t.Fatal(err)
	}
	return ref
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func writeValue(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tick returns a clock that advances one millisecond per call, so created
// times are distinct and ordered.
func tick() func() time.Time {
	var mu sync.Mutex
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
}

func open(t *testing.T, image string, opts ...Option) *Target {
	t.Helper()
	tg, err := Open(context.Background(), image, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestPutGetListHistoryDelete(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			image := newImage(t, kind)
			clock := tick()
			tg := open(t, image, WithAccess(Delete), WithClock(clock))

			put := func(key, file, content string) Entry {
				t.Helper()
				e, err := tg.Put(ctx, key, Value{Path: writeValue(t, file, content)})
				if err != nil {
					t.Fatalf("put %s: %v", key, err)
				}
				return e
			}
			v1e := put("test-results", "results.json", `{"pass":true}`)
			v2e := put("test-results", "results.json", `{"pass":false}`)
			put("seccomp", "profile.yaml", "defaultAction: SCMP_ACT_ERRNO\n")

			if v1e.MediaType != "application/json" || v1e.Title != "results.json" || v1e.Size != 13 {
				t.Errorf("put entry = %+v", v1e)
			}

			// A fresh Target sees what the first wrote.
			rd := open(t, image)
			all, err := rd.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := keysOf(Latest(all)); got != "seccomp,test-results" {
				t.Errorf("latest keys = %s", got)
			}
			hist, err := rd.History(ctx, "test-results")
			if err != nil {
				t.Fatal(err)
			}
			if len(hist) != 2 || hist[0].Digest != v2e.Digest || hist[1].Digest != v1e.Digest {
				t.Fatalf("history = %+v, want [%s %s]", hist, v2e.Digest, v1e.Digest)
			}
			if hist[0].MediaType != "application/json" || hist[0].Size != 14 {
				t.Errorf("listing does not describe the value: %+v", hist[0])
			}

			var buf bytes.Buffer
			got, err := rd.Read(ctx, "test-results", "", &buf)
			if err != nil {
				t.Fatal(err)
			}
			if buf.String() != `{"pass":false}` || got.Digest != v2e.Digest {
				t.Errorf("read newest = %q %s", buf.String(), got.Digest)
			}
			buf.Reset()
			if _, err := rd.Read(ctx, "test-results", v1e.Digest, &buf); err != nil || buf.String() != `{"pass":true}` {
				t.Errorf("read by digest = %q, %v", buf.String(), err)
			}
			if _, err := rd.Read(ctx, "seccomp", v1e.Digest, &buf); !errors.Is(err, errdef.ErrNotFound) {
				t.Errorf("read another key's digest: err = %v, want not found", err)
			}
			if _, err := rd.Read(ctx, "absent", "", &buf); !errors.Is(err, errdef.ErrNotFound) {
				t.Errorf("read absent key: err = %v, want not found", err)
			}

			// Delete one version, then the key.
			if err := tg.Delete(ctx, []Entry{v2e}); err != nil {
				t.Fatal(err)
			}
			hist, _ = open(t, image).History(ctx, "test-results")
			if len(hist) != 1 || hist[0].Digest != v1e.Digest {
				t.Fatalf("after deleting one version: %+v", hist)
			}
			if err := tg.Delete(ctx, hist); err != nil {
				t.Fatal(err)
			}
			all, _ = open(t, image).List(ctx)
			if got := keysOf(Latest(all)); got != "seccomp" {
				t.Errorf("after delete, keys = %q", got)
			}
		})
	}
}

func keysOf(es []Entry) string {
	var ks []string
	for _, e := range es {
		ks = append(ks, e.Key)
	}
	return strings.Join(ks, ",")
}

// TestConcurrentWriters: many writers at once on one image; none is lost.
func TestConcurrentWriters(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			image := newImage(t, kind)
			const keys, versions = 16, 8
			var wg sync.WaitGroup
			errs := make(chan error, keys+versions)
			for i := 0; i < keys+versions; i++ {
				key := fmt.Sprintf("key-%02d", i)
				if i >= keys {
					key = "shared"
				}
				path := writeValue(t, "v.txt", fmt.Sprintf("value %d", i))
				wg.Add(1)
				go func() {
					defer wg.Done()
					tg, err := Open(ctx, image, WithAccess(Write))
					if err == nil {
						_, err = tg.Put(ctx, key, Value{Path: path})
					}
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			all, err := open(t, image).List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(Latest(all)); n != keys+1 {
				t.Errorf("%d keys listed, want %d", n, keys+1)
			}
			hist, _ := open(t, image).History(ctx, "shared")
			if len(hist) != versions {
				t.Errorf("%d versions of shared, want %d", len(hist), versions)
			}
		})
	}
}

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }

// TestStreamedUpload: values at or over streamThreshold are hashed while
// they upload (POST, PATCH, PUT ?digest=) and read back the same.
func TestStreamedUpload(t *testing.T) {
	defer func(old int64) { streamThreshold = old }(streamThreshold)
	streamThreshold = 1
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			image := newImage(t, kind)
			content := strings.Repeat("streamed value ", 10000)
			e, err := open(t, image, WithAccess(Write)).Put(ctx, "big", Value{Path: writeValue(t, "big.txt", content)})
			if err != nil {
				t.Fatal(err)
			}
			if e.Size != int64(len(content)) || e.MediaType != "text/plain" {
				t.Errorf("entry = %+v", e)
			}
			var buf bytes.Buffer
			got, err := open(t, image).Read(ctx, "big", "", &buf)
			if err != nil || buf.String() != content || got.Digest != e.Digest {
				t.Fatalf("read back %d bytes, %v", buf.Len(), err)
			}
		})
	}
}
