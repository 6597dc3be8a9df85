package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/newest"
)

// Read caps. Real manifests and indexes are a few KiB; the OCI distribution
// spec asks registries to accept manifests up to 4 MiB. Anything larger is a
// broken or hostile registry.
const (
	manifestLimit  = 4 << 20
	referrersLimit = 8 << 20
)

// emptyJSON is the content of the OCI 1.1 empty blob.
const emptyJSON = "{}"

// emptyConfig is the OCI 1.1 empty descriptor used as every entry's config.
func emptyConfig() v1.Descriptor {
	return v1.Descriptor{
		MediaType: types.OCIEmptyJSON,
		Digest:    v1.Hash{Algorithm: "sha256", Hex: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
		Size:      int64(len(emptyJSON)),
		Data:      []byte(emptyJSON),
	}
}

// InlineMax is the largest value (bytes) a put also embeds in the entry
// manifest, as the `data` of its layer descriptor (OCI image-spec 1.1
// descriptors): get then has the value with the manifest, one round trip
// less (issue 14), and verifies it against the layer's digest and size as it
// would the blob. The blob is uploaded all the same: other tools read it, and
// registries check that a manifest's layers exist. 16 KiB covers verdicts,
// approvals and most seccomp and AppArmor profiles, and keeps an entry
// manifest far below the registries' manifest limits (4 MiB on CNCF
// Distribution).
const InlineMax = 16 << 10

// inlineValid reports whether d embeds its content (d.Data) and that content
// matches d's size and sha256 digest (checkDigest).
func inlineValid(d v1.Descriptor) bool {
	return len(d.Data) > 0 && int64(len(d.Data)) == d.Size && checkDigest(d.Data, d.Digest) == nil
}

// entryManifest builds the manifest of a new entry. The layout of the JSON is
// the storage format documented in README.md.
func entryManifest(subject v1.Descriptor, key string, value v1.Descriptor, created time.Time) ([]byte, v1.Descriptor, error) {
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  ArtifactType,
		Config:        emptyConfig(),
		Layers:        []v1.Descriptor{value},
		Subject: &v1.Descriptor{
			MediaType: subject.MediaType,
			Digest:    subject.Digest,
			Size:      subject.Size,
		},
		Annotations: map[string]string{
			AnnotationKey:       key,
			AnnotationCreated:   created.UTC().Format(time.RFC3339Nano),
			AnnotationMediaType: string(value.MediaType),
			AnnotationSize:      strconv.FormatInt(value.Size, 10),
		},
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	h, n, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	return b, v1.Descriptor{
		MediaType:    types.OCIManifestSchema1,
		ArtifactType: ArtifactType,
		Digest:       h,
		Size:         n,
		Annotations:  m.Annotations,
	}, nil
}

// entryFromDescriptor turns a referrers descriptor into an Entry. ok is false
// for descriptors that are not entries (other artifact types, no key).
func entryFromDescriptor(d v1.Descriptor) (Entry, bool) {
	// Some registries (go-containerregistry's pkg/registry among them)
	// report the config media type as artifactType even when the manifest
	// sets artifactType; the key annotation still marks an entry, and a
	// read checks the manifest itself.
	if d.ArtifactType != ArtifactType && d.ArtifactType != string(types.OCIEmptyJSON) {
		return Entry{}, false
	}
	key := d.Annotations[AnnotationKey]
	if CheckKey(key) != nil {
		return Entry{}, false
	}
	created, _ := newest.Parse(d.Annotations[AnnotationCreated]) // zero when absent or not RFC 3339
	e := Entry{Key: key, Digest: d.Digest.String(), Size: -1, Created: created,
		MediaType: d.Annotations[AnnotationMediaType], ManifestSize: d.Size}
	if n, err := strconv.ParseInt(d.Annotations[AnnotationSize], 10, 64); err == nil && n >= 0 {
		e.Size = n
	}
	return e, true
}

// parsedEntry is an entry manifest that passed every check.
type parsedEntry struct {
	manifest v1.Manifest
	value    v1.Descriptor
	entry    Entry
}

// parseEntry checks that b, fetched as entry digest want, is an entry of key
// on subject, and returns its value descriptor. Every failed check is an
// ErrInvalidResponse-class error: the bytes are not what the index promised.
func parseEntry(b []byte, want v1.Hash, subject v1.Hash, key string) (parsedEntry, error) {
	if err := checkDigest(b, want); err != nil {
		return parsedEntry{}, err
	}
	var m v1.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return parsedEntry{}, invalidf("entry %s is not a manifest: %v", want, err)
	}
	switch {
	case m.MediaType != "" && m.MediaType != types.OCIManifestSchema1:
		return parsedEntry{}, invalidf("entry %s has media type %q, want an OCI image manifest", want, m.MediaType)
	case m.ArtifactType != ArtifactType && m.Config.MediaType != types.MediaType(ArtifactType):
		return parsedEntry{}, invalidf("entry %s has artifact type %q, want %q", want, m.ArtifactType, ArtifactType)
	case m.Subject == nil || m.Subject.Digest != subject:
		return parsedEntry{}, invalidf("entry %s does not refer to image %s", want, subject)
	case m.Annotations[AnnotationKey] != key:
		return parsedEntry{}, invalidf("entry %s is for key %q, not %q", want, m.Annotations[AnnotationKey], key)
	case len(m.Layers) != 1:
		return parsedEntry{}, invalidf("entry %s has %d layers, want exactly 1", want, len(m.Layers))
	case m.Layers[0].Size < 0:
		return parsedEntry{}, invalidf("entry %s has a value of negative size", want)
	}
	created, _ := newest.Parse(m.Annotations[AnnotationCreated])
	v := m.Layers[0]
	return parsedEntry{
		manifest: m,
		value:    v,
		entry: Entry{
			Key:          key,
			Digest:       want.String(),
			MediaType:    string(v.MediaType),
			Size:         v.Size,
			Created:      created,
			Title:        v.Annotations[AnnotationTitle],
			ManifestSize: int64(len(b)),
		},
	}, nil
}

// checkDigest verifies that b hashes to want.
func checkDigest(b []byte, want v1.Hash) error {
	if want.Algorithm != "sha256" {
		return invalidf("unsupported digest algorithm %q", want.Algorithm)
	}
	got, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if got != want {
		return invalidf("registry returned content with digest %s for %s", got, want)
	}
	return nil
}

func invalidf(format string, args ...any) error {
	return errdef.WithClass(fmt.Errorf(format, args...), errdef.ErrInvalidResponse)
}
