package store

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/testimage"
)

// TestPruneRelistsDroppedKept: olareg v0.2.2 can drop a referrer from its
// listing when a deletion races that referrer's addition. Prune then sends
// the kept entry again by digest and confirms it is listed, with one
// listing read for the check and one for the confirmation (not a further
// round spent reading a listing nothing was sent to yet).
func TestPruneRelistsDroppedKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var (
		mu         sync.Mutex
		drop       string // digest the listing leaves out, once a DELETE came
		deleted    bool
		reads      int // referrers reads after the DELETE
		resends    int // PUTs of the dropped entry by digest
		keptDigest string
	)
	image := losingReferrersImage(t, func(r *http.Request) string {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodDelete && strings.Contains(r.URL.Path, "/manifests/sha256:"):
			deleted, drop = true, keptDigest
		case r.Method == http.MethodPut && keptDigest != "" && strings.HasSuffix(r.URL.Path, "/manifests/"+keptDigest):
			resends++
			drop = "" // listed again
		case deleted && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/referrers/"):
			reads++
		}
		return drop
	})
	w := open(t, image, WithAccess(Delete))
	for _, v := range []string{"old", "new"} {
		if _, err := w.Put(ctx, "scan", Value{Path: testimage.WriteValue(t, v+".txt", v)}); err != nil {
			t.Fatal(err)
		}
	}
	hist, err := w.History(ctx, "scan")
	if err != nil || len(hist) != 2 {
		t.Fatalf("history = %v, %v", hist, err)
	}
	mu.Lock()
	keptDigest = hist[0].Digest
	mu.Unlock()

	n, err := w.Prune(ctx, hist[1:], hist[:1])
	if err != nil || n != 0 {
		t.Fatalf("prune = %d, %v", n, err)
	}
	mu.Lock()
	gotReads, gotResends, stillDropped := reads, resends, drop != ""
	mu.Unlock()
	if stillDropped || gotResends != 1 {
		t.Fatalf("prune sent the dropped kept entry %d times (dropped still: %v), want once", gotResends, stillDropped)
	}
	if gotReads != 2 {
		t.Errorf("prune read the listing %d times after its deletion, want 2 (check, then confirm)", gotReads)
	}
	es, err := open(t, image).History(ctx, "scan")
	if err != nil || len(es) != 1 || es[0].Digest != hist[0].Digest {
		t.Errorf("history after prune = %v, %v; want only %s", es, err, hist[0].Digest)
	}
}
