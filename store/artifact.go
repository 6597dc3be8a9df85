package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Artifact is a small OCI 1.1 artifact to attach to a manifest, such as a
// signature bundle on an entry. Its layers are held in memory.
type Artifact struct {
	ArtifactType string
	Layers       []Layer
	// Annotations go on the manifest, and so on its referrers descriptor.
	Annotations map[string]string
}

// Layer is one blob of an Artifact.
type Layer struct {
	MediaType   string
	Data        []byte
	Annotations map[string]string
}

// Attach stores a as a referrer of to (a manifest of this repository, such
// as an entry), through the same machinery as entries: the referrers API,
// or the fallback index with a durable trace tag, so concurrent writers lose
// nothing. It returns the artifact manifest's descriptor.
func (t *Target) Attach(ctx context.Context, to v1.Descriptor, a Artifact) (v1.Descriptor, error) {
	// What attach reads goes out while the layers upload.
	defer t.b.prefetch(ctx, to)()
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  a.ArtifactType,
		Config:        emptyConfig(),
		Subject:       &v1.Descriptor{MediaType: to.MediaType, Digest: to.Digest, Size: to.Size},
		Annotations:   a.Annotations,
	}
	for _, l := range a.Layers {
		h, n, err := v1.SHA256(bytes.NewReader(l.Data))
		if err != nil {
			return v1.Descriptor{}, err
		}
		d := v1.Descriptor{MediaType: types.MediaType(l.MediaType), Digest: h, Size: n, Annotations: l.Annotations}
		data := l.Data
		if err := t.ensureBlobFrom(ctx, d, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }); err != nil {
			return v1.Descriptor{}, fmt.Errorf("attach %s: %w", a.ArtifactType, err)
		}
		m.Layers = append(m.Layers, d)
	}
	if err := t.ensureBlob(ctx, emptyConfig(), "", ""); err != nil {
		return v1.Descriptor{}, fmt.Errorf("attach %s: %w", a.ArtifactType, err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return v1.Descriptor{}, err
	}
	h, n, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return v1.Descriptor{}, err
	}
	d := v1.Descriptor{MediaType: types.OCIManifestSchema1, ArtifactType: a.ArtifactType, Digest: h, Size: n, Annotations: a.Annotations}
	warn, err := t.b.attach(ctx, to, b, d)
	t.Warnings = append(t.Warnings, warn...)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("attach %s to %s: %w", a.ArtifactType, to.Digest, err)
	}
	return d, nil
}

// ReferrersOf lists the referrers of manifest of whose artifactType is
// artifactType ("" for all).
func (t *Target) ReferrersOf(ctx context.Context, of v1.Descriptor, artifactType string) ([]v1.Descriptor, error) {
	ds, err := t.b.referrers(ctx, of)
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", of.Digest, err)
	}
	var out []v1.Descriptor
	for _, d := range ds {
		if artifactType == "" || d.ArtifactType == artifactType {
			out = append(out, d)
		}
	}
	return out, nil
}

// FetchArtifact returns manifest d and the bytes of each of its layers, all
// digest-checked and size-capped (4 MiB each): for small artifacts such as
// signature bundles, never for values.
func (t *Target) FetchArtifact(ctx context.Context, d v1.Descriptor) (v1.Manifest, [][]byte, error) {
	b, err := t.b.manifest(ctx, d.Digest)
	if err != nil {
		return v1.Manifest{}, nil, err
	}
	var m v1.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return v1.Manifest{}, nil, invalidf("artifact %s is not a manifest: %v", d.Digest, err)
	}
	var layers [][]byte
	for _, l := range m.Layers {
		data, err := t.readSmallBlob(ctx, l)
		if err != nil {
			return v1.Manifest{}, nil, fmt.Errorf("artifact %s: %w", d.Digest, err)
		}
		layers = append(layers, data)
	}
	return m, layers, nil
}

// EntryDescriptor is the manifest descriptor of an entry, the subject its
// signatures refer to. The size is the manifest's, which the listing knows;
// when it does not, the manifest is read.
func (t *Target) EntryDescriptor(ctx context.Context, e Entry) (v1.Descriptor, error) {
	h, err := v1.NewHash(e.Digest)
	if err != nil {
		return v1.Descriptor{}, invalidf("entry digest %q: %v", e.Digest, err)
	}
	size := e.ManifestSize
	if size <= 0 {
		b, err := t.b.manifest(ctx, h)
		if err != nil {
			return v1.Descriptor{}, err
		}
		size = int64(len(b))
	}
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: size}, nil
}
