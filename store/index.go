package store

import (
	"encoding/json"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// referrerIndex is the referrers list of one subject as the fallback tag
// schema stores it: an OCI image index whose manifests are the referrers'
// descriptors (artifactType and annotations included). The methods keep its
// invariants: no digest twice (checked in O(1) through seen, so that merging
// n descriptors costs O(n)), order of first insertion kept, and every
// descriptor trimmed to what readers need (indexDescriptor).
type referrerIndex struct {
	manifests []v1.Descriptor
	seen      map[v1.Hash]struct{}
	// trimmed: parsing dropped or trimmed something, so the stored
	// document differs from what Marshal writes and is worth rewriting.
	trimmed bool
}

// Descriptor trimming (issue 10, item 6): every descriptor that enters an
// index — read from a listing, found through a trace, or added by a writer —
// keeps only what readers use (digest, size, media type, artifact type and
// the annotations entryFromDescriptor reads: key, created, media type,
// size), and any other annotation only while it is short. One entry whose
// manifest carries megabytes of annotations then costs the shared fallback
// index a few hundred bytes, instead of making the index too large for the
// registry to accept (Distribution refuses manifests over 4 MiB) and so
// poisoning every later write on the image. The full annotations stay on the
// entry's own manifest.
const (
	// maxAnnotationValue caps one annotation value copied into an index.
	maxAnnotationValue = 1 << 10
	// maxAnnotationName caps one annotation name.
	maxAnnotationName = 256
	// maxOtherAnnotations caps how many annotations beyond the ones
	// readers need are copied (other tools' small markers).
	maxOtherAnnotations = 16
	// maxArtifactType caps an artifact type (RFC 6838 media types are at
	// most 255 characters); a longer one is junk and the descriptor is
	// dropped.
	maxArtifactType = 255
)

// readerAnnotations are the annotations readers take from a listing's
// descriptors (entryFromDescriptor).
var readerAnnotations = []string{AnnotationKey, AnnotationCreated, AnnotationMediaType, AnnotationSize}

// indexDescriptor is d as an index may list it: the fields of a referrers
// descriptor and annotations trimmed as described above. ok is false for a
// descriptor nobody can fetch or use (no digest, absurd size, junk artifact
// type). trimmed reports whether anything of d was left out.
func indexDescriptor(d v1.Descriptor) (out v1.Descriptor, trimmed, ok bool) {
	if d.Digest.Algorithm == "" || d.Size < 0 || d.Size > manifestLimit || len(d.ArtifactType) > maxArtifactType || len(d.MediaType) > maxArtifactType {
		return v1.Descriptor{}, true, false
	}
	out = v1.Descriptor{MediaType: d.MediaType, ArtifactType: d.ArtifactType, Digest: d.Digest, Size: d.Size}
	trimmed = len(d.URLs) > 0 || d.Platform != nil || len(d.Data) > 0
	if len(d.Annotations) == 0 {
		return out, trimmed, true
	}
	out.Annotations = make(map[string]string, min(len(d.Annotations), len(readerAnnotations)+maxOtherAnnotations))
	for _, k := range readerAnnotations {
		if v, ok := d.Annotations[k]; ok && len(v) <= maxAnnotationValue {
			out.Annotations[k] = v
		}
	}
	var others []string
	for k, v := range d.Annotations {
		if len(k) <= maxAnnotationName && len(v) <= maxAnnotationValue && !isReaderAnnotation(k) {
			others = append(others, k)
		}
	}
	if len(others) > maxOtherAnnotations {
		// Keep the same ones whoever trims: the first names in order.
		slices.Sort(others)
		others = others[:maxOtherAnnotations]
	}
	for _, k := range others {
		out.Annotations[k] = d.Annotations[k]
	}
	return out, trimmed || len(out.Annotations) != len(d.Annotations), true
}

func isReaderAnnotation(k string) bool { return slices.Contains(readerAnnotations, k) }

// parseReferrerIndex parses an index document. It accepts only an OCI image
// index (media type in the document, if given, must say so); descriptors
// nobody can use are skipped and the others trimmed (indexDescriptor).
func parseReferrerIndex(b []byte) (*referrerIndex, error) {
	var raw struct {
		SchemaVersion int64           `json:"schemaVersion"`
		MediaType     types.MediaType `json:"mediaType"`
		Manifests     []v1.Descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, invalidf("referrers index is not valid JSON: %v", err)
	}
	if raw.SchemaVersion != 2 {
		return nil, invalidf("referrers index has schemaVersion %d, want 2", raw.SchemaVersion)
	}
	if raw.MediaType != "" && raw.MediaType != types.OCIImageIndex {
		return nil, invalidf("referrers index has media type %q, want %q", raw.MediaType, types.OCIImageIndex)
	}
	// Filtered in place: Add never writes past the descriptor being read.
	idx := &referrerIndex{manifests: raw.Manifests[:0], seen: make(map[v1.Hash]struct{}, len(raw.Manifests))}
	for _, d := range raw.Manifests {
		// A descriptor nobody can fetch is skipped rather than failing
		// the whole listing, so one bad writer cannot hide every entry.
		if !idx.Add(d) {
			idx.trimmed = true
		}
	}
	return idx, nil
}

// Contains reports whether the index lists digest h.
func (x *referrerIndex) Contains(h v1.Hash) bool {
	_, ok := x.seen[h]
	return ok
}

// Add appends d, trimmed (indexDescriptor), unless its digest is listed
// already or d is unusable. It reports whether the index changed.
func (x *referrerIndex) Add(d v1.Descriptor) bool {
	if x.Contains(d.Digest) {
		return false
	}
	d, trimmed, ok := indexDescriptor(d)
	if !ok {
		return false
	}
	if x.seen == nil {
		x.seen = map[v1.Hash]struct{}{}
	}
	x.seen[d.Digest] = struct{}{}
	x.manifests = append(x.manifests, d)
	x.trimmed = x.trimmed || trimmed
	return true
}

// Remove drops every descriptor whose digest is in gone. It reports whether
// the index changed.
func (x *referrerIndex) Remove(gone map[v1.Hash]bool) bool {
	kept := x.manifests[:0]
	for _, d := range x.manifests {
		if !gone[d.Digest] {
			kept = append(kept, d)
		} else {
			delete(x.seen, d.Digest)
		}
	}
	changed := len(kept) != len(x.manifests)
	x.manifests = kept
	return changed
}

// Descriptors returns the listed descriptors.
func (x *referrerIndex) Descriptors() []v1.Descriptor { return x.manifests }

// Marshal renders the index as an OCI image index document.
func (x *referrerIndex) Marshal() ([]byte, error) {
	m := x.manifests
	if m == nil {
		m = []v1.Descriptor{}
	}
	return json.Marshal(struct {
		SchemaVersion int64           `json:"schemaVersion"`
		MediaType     types.MediaType `json:"mediaType"`
		Manifests     []v1.Descriptor `json:"manifests"`
	}{2, types.OCIImageIndex, m})
}
