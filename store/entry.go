package store

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/manifesto-dev/manifesto/internal/newest"
)

// The storage format. It is a public contract (README "Storage format"):
// changing any of these breaks every registry that holds entries.
const (
	// ArtifactType marks an entry manifest.
	ArtifactType = "application/vnd.manifesto.metadata.v1"
	// AnnotationKey holds the entry's KEY on the manifest (and so on its
	// referrers descriptor).
	AnnotationKey = "dev.manifesto.key"
	// AnnotationCreated holds the write time, RFC 3339 UTC with nanoseconds.
	AnnotationCreated = "org.opencontainers.image.created"
	// AnnotationTitle names the value's file on the layer.
	AnnotationTitle = "org.opencontainers.image.title"
	// AnnotationMediaType and AnnotationSize repeat the value's media type
	// and size on the manifest, so that listings (whose descriptors carry
	// the manifest's annotations) describe values without a manifest fetch.
	AnnotationMediaType = "dev.manifesto.media-type"
	AnnotationSize      = "dev.manifesto.size"
)

// SignatureArtifactType marks a Sigstore bundle attached to an entry, as
// cosign v3 stores signatures.
const SignatureArtifactType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// managed reports whether the store writes and keeps artifacts of this type
// (entries and their signatures): those get trace tags and are checked for
// existence when their index descriptor has no trace.
func managed(artifactType string) bool {
	return artifactType == ArtifactType || artifactType == SignatureArtifactType
}

// Entry is one immutable version of one key on one subject.
type Entry struct {
	Key string `json:"key"`
	// Digest is the entry manifest's digest: the version's identity.
	Digest string `json:"digest"`
	// MediaType is the value's media type (the layer's), when known without
	// fetching the manifest; empty otherwise.
	MediaType string `json:"mediaType,omitempty"`
	// Size is the value's size in bytes when known, else -1.
	Size int64 `json:"size"`
	// Created is the write time recorded in the entry.
	Created time.Time `json:"created"`
	// Title is the value's file name, if the writer recorded one.
	Title string `json:"title,omitempty"`
	// ManifestSize is the size of the entry manifest (what a signature
	// binds together with Digest), when known.
	ManifestSize int64 `json:"-"`
	// listedAt orders an entry without a creation time (Created zero):
	// see undatedOrder.
	listedAt time.Time
}

// Newer reports whether a sorts before b in "newest first" order, the rule
// of package newest (later Created first, then the larger digest), so that
// every reader picks the same winner. An entry without a creation time
// (regctl writes none) is ordered by its place in the listing
// (undatedOrder).
func Newer(a, b Entry) bool {
	return newest.Compare(a.orderTime(), a.Digest, b.orderTime(), b.Digest) < 0
}

func (e Entry) orderTime() time.Time {
	if e.Created.IsZero() {
		return e.listedAt
	}
	return e.Created
}

// undatedOrder places the entries without a creation time, given in listing
// order (the referrers listing's, or the fallback index's, which is the
// order entries were added), by their position: such an entry counts as
// one nanosecond newer than the newest entry listed before it (the zero
// time when none is). So an undated entry is newer than everything listed
// before it, undated entries among themselves keep their listing order
// (later is newer), and dated entries keep their own times. README
// "Entries without a creation time".
func undatedOrder(es []Entry) {
	var newestSoFar time.Time
	for i := range es {
		if es[i].Created.IsZero() {
			es[i].listedAt = newestSoFar.Add(time.Nanosecond)
		}
		if t := es[i].orderTime(); t.After(newestSoFar) {
			newestSoFar = t
		}
	}
}

// MediaTypeFor infers a value's media type from its file name; the fallback is
// application/octet-stream.
func MediaTypeFor(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return "application/json"
	case ".yaml", ".yml":
		return "application/yaml"
	case ".xml":
		return "application/xml"
	case ".sarif":
		return "application/sarif+json"
	case ".txt":
		return "text/plain"
	default:
		return "application/octet-stream"
	}
}
