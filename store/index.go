package store

import (
	"encoding/json"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// referrerIndex is the referrers list of one subject as the fallback tag
// schema stores it: an OCI image index whose manifests are the referrers'
// descriptors (artifactType and annotations included). The methods keep its
// invariants: no digest twice, order of first insertion kept.
type referrerIndex struct {
	manifests []v1.Descriptor
}

// parseReferrerIndex parses an index document. It accepts only an OCI image
// index (media type in the document, if given, must say so) whose
// descriptors have valid digests and non-negative sizes.
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
	idx := &referrerIndex{}
	for _, d := range raw.Manifests {
		if d.Digest.Algorithm == "" || d.Size < 0 || d.Size > manifestLimit {
			// A descriptor nobody can fetch: skip it rather than fail the
			// whole listing, so one bad writer cannot hide every entry.
			continue
		}
		idx.Add(d)
	}
	return idx, nil
}

// Contains reports whether the index lists digest h.
func (x *referrerIndex) Contains(h v1.Hash) bool {
	for _, d := range x.manifests {
		if d.Digest == h {
			return true
		}
	}
	return false
}

// Add appends d unless its digest is listed already. It reports whether the
// index changed.
func (x *referrerIndex) Add(d v1.Descriptor) bool {
	if x.Contains(d.Digest) {
		return false
	}
	x.manifests = append(x.manifests, d)
	return true
}

// Remove drops every descriptor whose digest is in gone. It reports whether
// the index changed.
func (x *referrerIndex) Remove(gone map[v1.Hash]bool) bool {
	kept := x.manifests[:0]
	for _, d := range x.manifests {
		if !gone[d.Digest] {
			kept = append(kept, d)
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
