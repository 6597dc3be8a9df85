package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/testimage"
)

func open(t *testing.T, image string, opts ...Option) *Target {
	t.Helper()
	tg, err := Open(context.Background(), image, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// eachKind runs body, in parallel, on a fresh image in every kind of
// storage.
func eachKind(t *testing.T, body func(t *testing.T, image string)) {
	t.Parallel()
	for _, kind := range testimage.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			body(t, testimage.Image(t, kind))
		})
	}
}

func TestPutGetListHistoryDelete(t *testing.T) {
	eachKind(t, func(t *testing.T, image string) {
		ctx := context.Background()
		clock := testimage.Clock()
		tg := open(t, image, WithAccess(Delete), WithClock(clock))

		put := func(key, file, content string) Entry {
			t.Helper()
			e, err := tg.Put(ctx, key, Value{Path: testimage.WriteValue(t, file, content)})
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

func keysOf(es []Entry) string {
	var ks []string
	for _, e := range es {
		ks = append(ks, e.Key)
	}
	return strings.Join(ks, ",")
}

// TestConcurrentWriters: many writers at once on one image; none is lost.
func TestConcurrentWriters(t *testing.T) {
	eachKind(t, func(t *testing.T, image string) {
		ctx := context.Background()
		const keys, versions = 16, 8
		// Every writer at once: no limit on the group.
		var g errgroup.Group
		for i := 0; i < keys+versions; i++ {
			key := fmt.Sprintf("key-%02d", i)
			if i >= keys {
				key = "shared"
			}
			path := testimage.WriteValue(t, "v.txt", fmt.Sprintf("value %d", i))
			g.Go(func() error {
				tg, err := Open(ctx, image, WithAccess(Write))
				if err == nil {
					_, err = tg.Put(ctx, key, Value{Path: path})
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
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

// TestStreamedUpload: values at or over the stream threshold are hashed
// while they upload (POST, PATCH, PUT ?digest=) and read back the same.
func TestStreamedUpload(t *testing.T) {
	eachKind(t, func(t *testing.T, image string) {
		ctx := context.Background()
		content := strings.Repeat("streamed value ", 10000)
		e, err := open(t, image, WithAccess(Write), WithStreamThreshold(1)).Put(ctx, "big", Value{Path: testimage.WriteValue(t, "big.txt", content)})
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

// TestReferrersCapability: what a registry does about the referrers API is
// discovered by the Target that talks to it, kept there, and learned by no
// other Target.
func TestReferrersCapability(t *testing.T) {
	t.Parallel()
	for kind, want := range map[string]referrersCapability{testimage.Referrers: referrersSupported, testimage.Fallback: referrersUnsupported} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			image := testimage.Image(t, kind)
			tg := open(t, image)
			if _, err := tg.List(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := tg.b.(*remoteBackend).known(); got != want {
				t.Errorf("after a listing the Target knows %d, want %d", got, want)
			}
			if got := open(t, image).b.(*remoteBackend).known(); got != referrersUnknown {
				t.Errorf("a new Target knows %d, want unknown", got)
			}
		})
	}
}
