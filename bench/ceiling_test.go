package bench

// # What BenchmarkIndexCeiling measures (issue 11, the ceiling)
//
// On a registry without the referrers API every entry of an image is one
// descriptor in the image's fallback index, and registries cap a manifest's
// size: CNCF Distribution refuses one over 4 MiB. The benchmark finds, on
// the real Distribution v3.1.2 process, the largest index of manifesto
// descriptors (today's annotations: key "test-results", created with
// nanoseconds, media type, size — what store writes) the registry accepts:
// it PUTs indexes of n descriptors, bisecting on n, and tells "too large"
// (the size cap) from any other refusal (the descriptors name manifests the
// registry does not have, which it checks only after the size).
// README "How many entries an image holds" quotes the result;
// store.IndexCeiling is that figure, rounded down.

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/manifesto-dev/manifesto/internal/testregistry"
	"github.com/manifesto-dev/manifesto/store"
)

// ceilingIndex renders an index of n descriptors as store writes them.
func ceilingIndex(n int) []byte {
	ds := make([]v1.Descriptor, n)
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 123456789, time.UTC)
	for i := range ds {
		h, _ := v1.NewHash(fmt.Sprintf("sha256:%064x", i+1))
		ds[i] = v1.Descriptor{MediaType: types.OCIManifestSchema1, ArtifactType: store.ArtifactType, Digest: h, Size: 812,
			Annotations: map[string]string{
				store.AnnotationKey:       "test-results",
				store.AnnotationCreated:   t0.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano),
				store.AnnotationMediaType: "application/json",
				store.AnnotationSize:      "1234",
			}}
	}
	b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": types.OCIImageIndex, "manifests": ds})
	return b
}

// BenchmarkIndexCeiling: the most manifesto descriptors one fallback index
// holds on CNCF Distribution.
func BenchmarkIndexCeiling(b *testing.B) {
	reg := testregistry.Start(b)
	tooLarge := func(n int) bool {
		err := putDoc(reg.URL+"/v2/ceiling/app/manifests/sha256-"+strings.Repeat("ab", 32), string(types.OCIImageIndex), ceilingIndex(n))
		if err == nil {
			return false
		}
		msg := strings.ToLower(err.Error())
		return strings.Contains(msg, "too large") || strings.Contains(msg, "413")
	}
	lo, hi := 1000, 40000 // lo accepted, hi refused
	if tooLarge(lo) || !tooLarge(hi) {
		b.Fatalf("the bisection bounds do not hold: %d refused or %d accepted", lo, hi)
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if tooLarge(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	size := len(ceilingIndex(lo))
	per := float64(size) / float64(lo)
	b.ReportMetric(float64(lo), "descriptors")
	b.ReportMetric(per, "bytes/descriptor")
	text := fmt.Sprintf("CNCF Distribution %s accepts a fallback index of at most **%d** manifesto descriptors "+
		"(%d bytes, %.0f bytes per descriptor with today's annotations); %d are refused as too large. "+
		"store.IndexCeiling = %d; put warns (WarnIndexLarge) past half of 4 MiB.\n", testregistry.Version, lo, size, per, lo+1, store.IndexCeiling)
	(&peerEnv{outDir: os.Getenv("MANIFESTO_BENCH_OUT")}).emit(b, "ceiling.md", text)
}
