package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/manifesto-dev/manifesto/internal/testimage"
)

// TestUndatedOrder: entries without a creation time are ordered by their
// place in the listing (issue 11): later is newer, and an undated entry
// listed after a dated one is newer than it.
func TestUndatedOrder(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	desc := func(name string, created time.Time) v1.Descriptor {
		// The digest's hex is the name, left-padded with zeros.
		h, _ := v1.NewHash("sha256:" + strings.Repeat("0", 64-len(name)) + name)
		ann := map[string]string{AnnotationKey: "k"}
		if !created.IsZero() {
			ann[AnnotationCreated] = created.Format(time.RFC3339Nano)
		}
		return v1.Descriptor{MediaType: types.OCIManifestSchema1, ArtifactType: ArtifactType, Digest: h, Size: 1, Annotations: ann}
	}
	tests := []struct {
		name    string
		listing []v1.Descriptor // in listing order
		want    []string        // names, newest first
	}{
		{"all undated: later listed is newer",
			[]v1.Descriptor{desc("a", time.Time{}), desc("b", time.Time{}), desc("c", time.Time{})},
			[]string{"c", "b", "a"}},
		{"undated after dated is newer",
			[]v1.Descriptor{desc("a", t0), desc("b", time.Time{})},
			[]string{"b", "a"}},
		{"dated after undated keeps its time",
			[]v1.Descriptor{desc("a", time.Time{}), desc("b", t0)},
			[]string{"b", "a"}},
		{"dated entries by time, an undated one after all it follows",
			[]v1.Descriptor{desc("a", t0.Add(time.Hour)), desc("b", t0), desc("c", time.Time{})},
			[]string{"c", "a", "b"}},
		{"undated before dated ones stays older",
			[]v1.Descriptor{desc("a", time.Time{}), desc("b", t0.Add(time.Hour)), desc("c", t0)},
			[]string{"b", "c", "a"}},
		{"an undated entry sits right after the one listed before it",
			[]v1.Descriptor{desc("a", t0), desc("b", time.Time{}), desc("c", t0.Add(time.Hour))},
			[]string{"c", "b", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names := map[string]string{}
			for _, d := range tt.listing {
				names[d.Digest.String()] = strings.TrimLeft(d.Digest.Hex, "0")
			}
			var got []string
			for _, e := range entriesOf(tt.listing) {
				got = append(got, names[e.Digest])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("order = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestIndexLargeWarning: a put whose fallback index passes half of what
// CNCF Distribution accepts warns once, naming prune; a small index gives
// no warning.
func TestIndexLargeWarning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		others int // descriptors of another tool already in the index
		want   int // WarnIndexLarge warnings
	}{
		{"small index", 10, 0},
		{"past half the ceiling", warnIndexBytes/380 + 100, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			image := testimage.Image(t, testimage.Fallback)
			subject, err := open(t, image).Subject(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Another tool's descriptors of a media type that is neither
			// manifest nor index (the registry does not check them), not
			// ours (a put does not either), about 380 bytes each.
			ds := make([]v1.Descriptor, tt.others)
			for i := range ds {
				h, _ := v1.NewHash(fmt.Sprintf("sha256:%064x", i+1))
				ds[i] = v1.Descriptor{MediaType: "application/vnd.example.scan+json", ArtifactType: "application/vnd.example.scan", Digest: h, Size: 700,
					Annotations: map[string]string{"org.example.note": strings.Repeat("n", 180)}}
			}
			b, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: ds})
			registry, repo, _ := strings.Cut(strings.TrimSuffix(image, ":"+strings.Split(image, ":")[len(strings.Split(image, ":"))-1]), "/")
			rawPut(t, "http://"+registry+"/v2/"+repo+"/manifests/"+fallbackTag(subject.Digest), b, types.OCIImageIndex)

			w := open(t, image, WithAccess(Write))
			if _, err := w.Put(ctx, "k", Value{Path: testimage.WriteValue(t, "v.txt", "value")}); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, warn := range w.Warnings {
				if warn.Kind == WarnIndexLarge {
					n++
					if !strings.Contains(warn.Msg, "manifesto prune") {
						t.Errorf("warning does not name prune: %q", warn.Msg)
					}
				}
			}
			if n != tt.want {
				t.Errorf("%d WarnIndexLarge warnings, want %d: %q", n, tt.want, Messages(w.Warnings))
			}
		})
	}
}
