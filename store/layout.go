package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/manifesto-dev/manifesto/internal/atomicfile"
	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// An OCI image layout keeps entries the way oras and regclient keep
// referrers in one: each entry manifest is a blob, listed in index.json with
// its artifactType and annotations. Discovery reads index.json and each
// listed entry manifest (local reads) to match the subject. Writers take an
// exclusive lock on index.json.lock around every read-modify-write of
// index.json and replace it atomically, so concurrent processes lose
// nothing; blobs are written to a temporary file, verified, and renamed.

const refNameAnnotation = "org.opencontainers.image.ref.name"

type layoutBackend struct {
	dir string
	loc Location
}

func openLayout(loc Location, _ *options) (*layoutBackend, error) {
	if _, err := os.Stat(filepath.Join(loc.Layout, "oci-layout")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errdef.NotFoundf("%s is not an OCI image layout (no oci-layout file)", loc.Layout)
		}
		return nil, fmt.Errorf("open layout %s: %w", loc.Layout, err)
	}
	return &layoutBackend{dir: loc.Layout, loc: loc}, nil
}

func (l *layoutBackend) blobPath(h v1.Hash) string {
	return filepath.Join(l.dir, "blobs", h.Algorithm, h.Hex)
}

func (l *layoutBackend) readIndex() (*v1.IndexManifest, error) {
	b, err := os.ReadFile(filepath.Join(l.dir, "index.json"))
	if errors.Is(err, os.ErrNotExist) {
		return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, nil
	}
	if err != nil {
		return nil, err
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, invalidf("%s/index.json: %v", l.dir, err)
	}
	return &idx, nil
}

// writeIndex replaces index.json atomically. Callers hold the lock.
func (l *layoutBackend) writeIndex(idx *v1.IndexManifest) error {
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(l.dir, "index.json"), b)
}

// updateIndex runs fn on index.json under the layout lock and writes the
// result back if fn reports a change.
func (l *layoutBackend) updateIndex(fn func(*v1.IndexManifest) bool) error {
	unlock, err := lockFile(filepath.Join(l.dir, "index.json.lock"))
	if err != nil {
		return fmt.Errorf("lock %s: %w", l.dir, err)
	}
	defer unlock()
	idx, err := l.readIndex()
	if err != nil {
		return err
	}
	if !fn(idx) {
		return nil
	}
	return l.writeIndex(idx)
}

func (l *layoutBackend) resolve(context.Context) (v1.Descriptor, error) {
	idx, err := l.readIndex()
	if err != nil {
		return v1.Descriptor{}, err
	}
	switch {
	case l.loc.LayoutDigest != "":
		h, _ := v1.NewHash(l.loc.LayoutDigest)
		for _, d := range idx.Manifests {
			if d.Digest == h {
				return v1.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}, nil
			}
		}
		// Not top-level (a platform manifest inside an index, say): read it.
		b, err := l.manifest(context.Background(), h)
		if err != nil {
			return v1.Descriptor{}, err
		}
		return v1.Descriptor{MediaType: documentMediaType(b), Digest: h, Size: int64(len(b))}, nil
	case l.loc.LayoutTag != "":
		for _, d := range idx.Manifests {
			if d.Annotations[refNameAnnotation] == l.loc.LayoutTag {
				return v1.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}, nil
			}
		}
		return v1.Descriptor{}, errdef.NotFoundf("layout %s has no image tagged %q", l.dir, l.loc.LayoutTag)
	}
	var images []v1.Descriptor
	for _, d := range idx.Manifests {
		// Some writers (go-containerregistry's layout) record an image's
		// config media type as its artifactType: anything not ours is an
		// image candidate.
		if !managed(d.ArtifactType) {
			images = append(images, d)
		}
	}
	switch len(images) {
	case 1:
		d := images[0]
		return v1.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}, nil
	case 0:
		return v1.Descriptor{}, errdef.NotFoundf("layout %s holds no image", l.dir)
	}
	return v1.Descriptor{}, errdef.Usagef("layout %s holds %d images; name one as oci:%s:TAG or oci:%s@DIGEST", l.dir, len(images), l.dir, l.dir)
}

func (l *layoutBackend) manifest(_ context.Context, h v1.Hash) ([]byte, error) {
	f, err := os.Open(l.blobPath(h))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errdef.NotFoundf("manifest %s not found in layout %s", h, l.dir)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := readCapped(f, manifestLimit, "manifest "+h.String())
	if err != nil {
		return nil, err
	}
	return b, checkDigest(b, h)
}

func (l *layoutBackend) hasBlob(_ context.Context, h v1.Hash) (bool, error) {
	_, err := os.Stat(l.blobPath(h))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// pushBlob writes a blob to a temporary file, verifies it and renames it
// into place: a crash never leaves a blob that looks valid but is not.
func (l *layoutBackend) pushBlob(_ context.Context, d v1.Descriptor, open func() (io.ReadCloser, error)) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	dir := filepath.Dir(l.blobPath(d.Digest))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := atomicfile.Create(dir, ".tmp-"+d.Digest.Hex[:12]+"-")
	if err != nil {
		return err
	}
	defer tmp.Abort()
	hw := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, hw), rc)
	if err != nil {
		return err
	}
	if n != d.Size || hexSum(hw) != d.Digest.Hex {
		return fmt.Errorf("blob %s changed while it was written (got %d bytes, sha256:%s)", d.Digest, n, hexSum(hw))
	}
	return tmp.Commit(l.blobPath(d.Digest))
}

// pushBlobStream writes the blob to a temporary file, hashing it, and
// renames it to its digest.
func (l *layoutBackend) pushBlobStream(_ context.Context, size int64, open func() (io.ReadCloser, error)) (v1.Hash, error) {
	rc, err := open()
	if err != nil {
		return v1.Hash{}, err
	}
	defer rc.Close()
	dir := filepath.Join(l.dir, "blobs", "sha256")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return v1.Hash{}, err
	}
	tmp, err := atomicfile.Create(dir, ".tmp-stream-")
	if err != nil {
		return v1.Hash{}, err
	}
	defer tmp.Abort()
	hw := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, hw), rc)
	if err != nil {
		return v1.Hash{}, err
	}
	if n != size {
		return v1.Hash{}, fmt.Errorf("value changed while it was written: %d bytes, expected %d", n, size)
	}
	h := v1.Hash{Algorithm: "sha256", Hex: hexSum(hw)}
	return h, tmp.Commit(l.blobPath(h))
}

func (l *layoutBackend) blob(_ context.Context, d v1.Descriptor) (io.ReadCloser, error) {
	h := d.Digest
	f, err := os.Open(l.blobPath(h))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errdef.NotFoundf("blob %s not found in layout %s", h, l.dir)
	}
	return f, err
}

func (l *layoutBackend) attach(ctx context.Context, _ v1.Descriptor, b []byte, d v1.Descriptor) ([]Warning, error) {
	err := l.pushBlob(ctx, d, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		return nil, err
	}
	return nil, l.updateIndex(func(idx *v1.IndexManifest) bool {
		for _, m := range idx.Manifests {
			if m.Digest == d.Digest {
				return false
			}
		}
		idx.Manifests = append(idx.Manifests, d)
		return true
	})
}

func (l *layoutBackend) referrers(ctx context.Context, subject v1.Descriptor) ([]v1.Descriptor, error) {
	idx, err := l.readIndex()
	if err != nil {
		return nil, err
	}
	var out []v1.Descriptor
	for _, d := range idx.Manifests {
		if !managed(d.ArtifactType) {
			continue
		}
		b, err := l.manifest(ctx, d.Digest)
		if errors.Is(err, errdef.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var m v1.Manifest
		if json.Unmarshal(b, &m) != nil || m.Subject == nil || m.Subject.Digest != subject.Digest {
			continue
		}
		d.Annotations = m.Annotations
		out = append(out, d)
	}
	return out, nil
}

func (l *layoutBackend) removeEntries(ctx context.Context, _ v1.Descriptor, ds []v1.Descriptor) error {
	gone := map[v1.Hash]bool{}
	var blobs []v1.Hash
	for _, d := range ds {
		gone[d.Digest] = true
		blobs = append(blobs, d.Digest)
		if b, err := l.manifest(ctx, d.Digest); err == nil {
			var m v1.Manifest
			if json.Unmarshal(b, &m) == nil {
				for _, layer := range m.Layers {
					blobs = append(blobs, layer.Digest)
				}
			}
		}
	}
	var kept []v1.Descriptor
	err := l.updateIndex(func(idx *v1.IndexManifest) bool {
		n := len(idx.Manifests)
		idx.Manifests = filterDescriptors(idx.Manifests, func(d v1.Descriptor) bool { return !gone[d.Digest] })
		kept = idx.Manifests
		return len(idx.Manifests) != n
	})
	if err != nil {
		return err
	}
	// Remove the deleted manifests and their values unless something still
	// listed refers to the same blob.
	inUse, err := l.referencedBlobs(ctx, kept)
	if err != nil {
		return err
	}
	for _, h := range blobs {
		if !inUse[h] {
			if err := os.Remove(l.blobPath(h)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// referencedBlobs walks the manifests and indexes listed in ds and returns
// every blob they reach.
func (l *layoutBackend) referencedBlobs(ctx context.Context, ds []v1.Descriptor) (map[v1.Hash]bool, error) {
	seen := map[v1.Hash]bool{}
	var walk func(d v1.Descriptor, depth int) error
	walk = func(d v1.Descriptor, depth int) error {
		if seen[d.Digest] || depth > 8 {
			return nil
		}
		seen[d.Digest] = true
		if !isManifestType(d.MediaType) {
			return nil
		}
		b, err := l.manifest(ctx, d.Digest)
		if errors.Is(err, errdef.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		var doc struct {
			Config    *v1.Descriptor  `json:"config"`
			Layers    []v1.Descriptor `json:"layers"`
			Manifests []v1.Descriptor `json:"manifests"`
		}
		if json.Unmarshal(b, &doc) != nil {
			return nil
		}
		children := append(doc.Layers, doc.Manifests...)
		if doc.Config != nil {
			children = append(children, *doc.Config)
		}
		for _, c := range children {
			if err := walk(c, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, d := range ds {
		if err := walk(d, 0); err != nil {
			return nil, err
		}
	}
	return seen, nil
}

func isManifestType(mt types.MediaType) bool {
	switch mt {
	case types.OCIManifestSchema1, types.OCIImageIndex, types.DockerManifestSchema2, types.DockerManifestList:
		return true
	}
	return false
}

func (l *layoutBackend) repair(ctx context.Context, subject v1.Descriptor) ([]v1.Descriptor, error) {
	// index.json is updated under a lock and atomically, so there is
	// nothing to rebuild; drop listed entries whose manifest is missing.
	err := l.updateIndex(func(idx *v1.IndexManifest) bool {
		n := len(idx.Manifests)
		idx.Manifests = filterDescriptors(idx.Manifests, func(d v1.Descriptor) bool {
			ok, _ := l.hasBlob(ctx, d.Digest)
			return ok || !managed(d.ArtifactType)
		})
		return len(idx.Manifests) != n
	})
	if err != nil {
		return nil, err
	}
	return l.referrers(ctx, subject)
}

func filterDescriptors(ds []v1.Descriptor, keep func(v1.Descriptor) bool) []v1.Descriptor {
	var out []v1.Descriptor
	for _, d := range ds {
		if keep(d) {
			out = append(out, d)
		}
	}
	return out
}

// prefetch has nothing to read ahead in a layout.
func (l *layoutBackend) prefetch(context.Context, v1.Descriptor) (wait func()) { return func() {} }
