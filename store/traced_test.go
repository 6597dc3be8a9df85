package store

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/manifesto-dev/manifesto/internal/testimage"
)

// TestReferrersListingLosesEntry: on a registry with the referrers API, an
// entry the listing lost (olareg v0.2.2 drops referrers under concurrent
// writers) is still found through its trace tag, by list and get; an
// entry that is deleted stays gone; repair sends a lost one again so that
// the listing shows it.
func TestReferrersListingLosesEntry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var drop atomic.Pointer[string] // digest the referrers listing leaves out
	image := losingReferrersImage(t, func(r *http.Request) string {
		d := drop.Load()
		if d != nil && r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/"+*d) {
			// Sent again by digest (repair): listed from now on.
			drop.Store(nil)
			d = nil
		}
		if d == nil {
			return ""
		}
		return *d
	})
	w := open(t, image, WithAccess(Delete))
	put := func(key, value string) Entry {
		e, err := w.Put(ctx, key, Value{Path: testimage.WriteValue(t, key+".txt", value)})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	put("kept", "one")
	lost := put("lost", "two")
	drop.Store(&lost.Digest)

	keys := func() []string {
		es, err := open(t, image).List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, e := range es {
			ks = append(ks, e.Key)
		}
		slices.Sort(ks)
		return ks
	}
	if got := keys(); !slices.Equal(got, []string{"kept", "lost"}) {
		t.Fatalf("list = %q with the listing missing %s, want both keys (through its trace)", got, lost.Digest)
	}
	var buf bytes.Buffer
	if _, err := open(t, image).Read(ctx, "lost", "", &buf); err != nil || buf.String() != "two" {
		t.Fatalf("get lost = %q, %v", buf.String(), err)
	}
	// repair sends it again, so that the listing itself (what other
	// tools read) shows it.
	fixed, err := w.Repair(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if drop.Load() != nil || !slices.ContainsFunc(fixed, func(e Entry) bool { return e.Digest == lost.Digest }) {
		t.Fatalf("repair returned %v and did not send %s again", fixed, lost.Digest)
	}
	if err := w.Delete(ctx, []Entry{lost}); err != nil {
		t.Fatal(err)
	}
	if got := keys(); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("list after deleting %s = %q, want only kept", lost.Digest, got)
	}
}

// losingReferrersImage starts a registry with the referrers API behind a
// proxy whose referrers listings leave out the digest lost returns for
// each request ("" for none), as olareg v0.2.2 loses referrers under racing
// writers; lost sees every request first, so a test can change what is
// lost as requests arrive. It pushes an image and returns its reference.
func losingReferrersImage(t *testing.T, lost func(*http.Request) string) string {
	t.Helper()
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := lost(r)
		if d == "" || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/referrers/") {
			inner.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		var idx v1.IndexManifest
		if err := json.Unmarshal(rec.Body.Bytes(), &idx); err != nil {
			t.Errorf("referrers answer: %v", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		idx.Manifests = slices.DeleteFunc(idx.Manifests, func(m v1.Descriptor) bool { return m.Digest.String() == d })
		w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
		json.NewEncoder(w).Encode(idx)
	}))
	t.Cleanup(srv.Close)
	image := strings.TrimPrefix(srv.URL, "http://") + "/team/app:v1"
	ref, err := name.ParseReference(image)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	return image
}
