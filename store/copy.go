package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/manifesto-dev/manifesto/internal/atomicfile"
	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// Copying between two locations (manifesto copy). The image is copied
// manifest by manifest and blob by blob through the two backends, so that
// every location pair works the same way (registry → registry, registry ↔
// OCI layout) with the store's own retries, size caps and digest checks.
// Entries and their signature bundles keep their exact bytes, and so their
// digests: a signature binds the entry digest (and the image digest), never
// the repository, so it verifies at the destination as it did at the
// source. They are attached at the destination through the backend's
// attach, the very path of put: referrers API, or fallback index plus trace
// tag, so two copies into one destination lose nothing.

// maxImageDepth bounds how deep image indexes may nest.
const maxImageDepth = 4

// CopyResult is what Copy did.
type CopyResult struct {
	// ImageCopied is true when the destination lacked the image and Copy
	// copied it.
	ImageCopied bool
	// Copied are the entries the destination lacked, now copied.
	Copied []Entry
	// Skipped are the entries the destination had already.
	Skipped []Entry
	// Signatures counts the signature bundles copied.
	Signatures int
}

// CreateLayout makes dir an empty OCI image layout unless it is one
// already (an oci-layout file), so that copy can export to a new
// directory. The parent directory must exist.
func CreateLayout(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err == nil {
		return nil
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return errdef.WithClass(fmt.Errorf("create layout: %w", err), errdef.ErrUsage)
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return fmt.Errorf("create layout %s: %w", dir, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return fmt.Errorf("create layout %s: %w", dir, err)
	}
	return nil
}

// Copy copies src's image to t when t lacks it (withImage; otherwise t must
// have it), then the given entries of src that t lacks, each with its
// signature bundles; an entry t has already gets only the bundles it
// lacks. entries come from src.List (the caller selects them). t's subject
// becomes src's.
func (t *Target) Copy(ctx context.Context, src *Target, entries []Entry, withImage bool) (CopyResult, error) {
	var res CopyResult
	subject, err := src.Subject(ctx)
	if err != nil {
		return res, err
	}
	top, err := src.b.resolve(ctx)
	if err != nil {
		return res, fmt.Errorf("resolve %s: %w", src.loc, err)
	}
	if err := t.checkDestinationDigest(top.Digest); err != nil {
		return res, err
	}
	has, err := t.hasManifest(ctx, subject.Digest)
	if err != nil {
		return res, fmt.Errorf("look for image %s at %s: %w", subject.Digest, t.loc, err)
	}
	if !has && !withImage {
		return res, errdef.NotFoundf("%s lacks image %s; copy it too (drop --metadata-only)", t.loc, subject.Digest)
	}
	if withImage {
		if res.ImageCopied, err = t.copyManifest(ctx, src, top, 0); err != nil {
			return res, fmt.Errorf("copy image %s: %w", top.Digest, err)
		}
		if err := t.name(ctx, src, top); err != nil {
			return res, fmt.Errorf("tag image %s: %w", top.Digest, err)
		}
	}
	t.subject = &subject

	present, err := t.List(ctx)
	if err != nil {
		return res, err
	}
	have := map[string]bool{}
	for _, e := range present {
		have[e.Digest] = true
	}
	for _, e := range entries {
		d, err := src.EntryDescriptor(ctx, e)
		if err != nil {
			return res, fmt.Errorf("copy entry %s: %w", e.Digest, err)
		}
		if have[e.Digest] {
			res.Skipped = append(res.Skipped, e)
		} else {
			if err := t.copyReferrer(ctx, src, subject, d); err != nil {
				return res, fmt.Errorf("copy entry %s of %s: %w", e.Digest, e.Key, err)
			}
			res.Copied = append(res.Copied, e)
			have[e.Digest] = true
		}
		n, err := t.copySignatures(ctx, src, d)
		if err != nil {
			return res, fmt.Errorf("copy signatures of entry %s of %s: %w", e.Digest, e.Key, err)
		}
		res.Signatures += n
	}
	return res, t.confirmListed(ctx)
}

// checkDestinationDigest refuses a destination named by a digest other than
// the image's.
func (t *Target) checkDestinationDigest(top v1.Hash) error {
	want := t.loc.LayoutDigest
	if d, ok := t.loc.Ref.(name.Digest); ok && !t.loc.IsLayout() {
		want = d.DigestStr()
	}
	if want != "" && want != top.String() {
		return errdef.Usagef("destination %s names digest %s, but the image is %s", t.loc, want, top)
	}
	return nil
}

// hasManifest reports whether the location holds manifest h.
func (t *Target) hasManifest(ctx context.Context, h v1.Hash) (bool, error) {
	switch b := t.b.(type) {
	case *remoteBackend:
		_, err := b.r.headManifest(ctx, h.String())
		if errors.Is(err, errdef.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	case *layoutBackend:
		return b.hasBlob(ctx, h)
	}
	return false, fmt.Errorf("copy: unknown store %T", t.b)
}

// putManifest stores manifest bytes b (descriptor d) by digest, without
// any referrers bookkeeping (image manifests and indexes).
func (t *Target) putManifest(ctx context.Context, d v1.Descriptor, b []byte) error {
	switch be := t.b.(type) {
	case *remoteBackend:
		_, err := be.r.putManifest(ctx, d.Digest.String(), d.MediaType, b)
		return err
	case *layoutBackend:
		return be.pushBlob(ctx, d, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	}
	return fmt.Errorf("copy: unknown store %T", t.b)
}

// imageDoc is what copy reads of a manifest or index: the descriptors it
// refers to.
type imageDoc struct {
	MediaType types.MediaType `json:"mediaType"`
	Config    *v1.Descriptor  `json:"config"`
	Layers    []v1.Descriptor `json:"layers"`
	Manifests []v1.Descriptor `json:"manifests"`
}

// copyManifest copies manifest d of src, and everything it refers to, to t
// unless t has it. It reports whether it copied.
func (t *Target) copyManifest(ctx context.Context, src *Target, d v1.Descriptor, depth int) (bool, error) {
	if depth > maxImageDepth {
		return false, invalidf("image indexes nest deeper than %d", maxImageDepth)
	}
	has, err := t.hasManifest(ctx, d.Digest)
	if err != nil || has {
		return false, err
	}
	b, err := src.b.manifest(ctx, d.Digest)
	if err != nil {
		return false, err
	}
	var doc imageDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return false, invalidf("manifest %s: %v", d.Digest, err)
	}
	if d.MediaType == "" {
		d.MediaType = doc.MediaType
	}
	d.Size = int64(len(b))
	for _, m := range doc.Manifests {
		if _, err := t.copyManifest(ctx, src, m, depth+1); err != nil {
			return false, err
		}
	}
	blobs := doc.Layers
	if doc.Config != nil {
		blobs = append([]v1.Descriptor{*doc.Config}, blobs...)
	}
	for _, l := range blobs {
		if len(l.URLs) > 0 {
			continue // a foreign layer: the registry holds only its URL
		}
		if err := t.copyBlob(ctx, src, l); err != nil {
			return false, err
		}
	}
	return true, t.putManifest(ctx, d, b)
}

// copyBlob copies blob d of src to t unless t has it, streaming it (with
// progress for large ones) and letting the destination check its digest.
func (t *Target) copyBlob(ctx context.Context, src *Target, d v1.Descriptor) error {
	if d.Size < 0 {
		return invalidf("blob %s has size %d", d.Digest, d.Size)
	}
	return t.ensureBlobFrom(ctx, d, func() (io.ReadCloser, error) {
		rc, err := src.b.blob(ctx, d)
		if err != nil {
			return nil, err
		}
		if t.o.progress == nil {
			return rc, nil
		}
		return &progressReader{r: rc, w: t.o.progress("copy "+d.Digest.String()[:19], d.Size), c: rc}, nil
	})
}

// name makes t's reference point at the copied image: the registry tag the
// destination names, or in a layout its tag (else the source's tag, if it
// was named by one).
func (t *Target) name(ctx context.Context, src *Target, top v1.Descriptor) error {
	switch be := t.b.(type) {
	case *remoteBackend:
		tag, ok := t.loc.Ref.(name.Tag)
		if !ok {
			return nil
		}
		cur, err := be.r.headManifest(ctx, tag.TagStr())
		if err == nil && cur.Digest == top.Digest {
			return nil
		}
		if err != nil && !errors.Is(err, errdef.ErrNotFound) {
			return err
		}
		b, err := src.b.manifest(ctx, top.Digest)
		if err != nil {
			return err
		}
		_, err = be.r.putManifest(ctx, tag.TagStr(), top.MediaType, b)
		return err
	case *layoutBackend:
		tag := t.loc.LayoutTag
		if tag == "" && !src.loc.IsLayout() {
			if st, ok := src.loc.Ref.(name.Tag); ok {
				tag = st.TagStr()
			}
		}
		if tag == "" && src.loc.IsLayout() {
			tag = src.loc.LayoutTag
		}
		return be.updateIndex(func(idx *v1.IndexManifest) bool {
			for i, m := range idx.Manifests {
				if managed(m.ArtifactType) {
					continue
				}
				if tag != "" && m.Annotations[refNameAnnotation] == tag {
					if m.Digest == top.Digest {
						return false
					}
					// The tag moves to the copied image, as a registry tag
					// would.
					idx.Manifests = append(idx.Manifests[:i:i], idx.Manifests[i+1:]...)
					break
				}
				if tag == "" && m.Digest == top.Digest {
					return false
				}
			}
			d := v1.Descriptor{MediaType: top.MediaType, Digest: top.Digest, Size: top.Size}
			if tag != "" {
				d.Annotations = map[string]string{refNameAnnotation: tag}
			}
			idx.Manifests = append(idx.Manifests, d)
			return true
		})
	}
	return fmt.Errorf("copy: unknown store %T", t.b)
}

// copyReferrer copies artifact manifest d of src (an entry, or a signature
// bundle) with its blobs to t and attaches it to subject there, the way put
// does. The manifest's bytes, and so its digest, are unchanged.
func (t *Target) copyReferrer(ctx context.Context, src *Target, subject, d v1.Descriptor) error {
	b, err := src.b.manifest(ctx, d.Digest)
	if err != nil {
		return err
	}
	var m v1.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return invalidf("artifact %s is not a manifest: %v", d.Digest, err)
	}
	if m.Subject == nil || m.Subject.Digest != subject.Digest {
		return invalidf("artifact %s does not refer to %s", d.Digest, subject.Digest)
	}
	for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if err := t.copyBlob(ctx, src, l); err != nil {
			return err
		}
	}
	at := m.ArtifactType
	if at == "" {
		at = string(m.Config.MediaType)
	}
	desc := v1.Descriptor{MediaType: types.OCIManifestSchema1, ArtifactType: at, Digest: d.Digest,
		Size: int64(len(b)), Annotations: m.Annotations}
	warn, err := t.b.attach(ctx, subject, b, desc)
	t.Warnings = append(t.Warnings, warn...)
	if err == nil {
		t.attached = append(t.attached, attachedRef{subject: subject, d: desc, b: b})
	}
	return err
}

// attachedRef is an artifact copy attached, to confirm (confirmListed).
type attachedRef struct {
	subject, d v1.Descriptor
	b          []byte
}

// confirmSettle is the pause before confirmListed's first read; its rounds
// and pauses are a put's (confirmRounds, referrers.go).
const confirmSettle = 250 * time.Millisecond

// confirmListed makes sure that a registry with the referrers API lists
// every artifact this copy attached, the way the fallback index is
// confirmed on the others: some registries (olareg v0.2.2) acknowledge a
// manifest PUT with a subject and then drop it from the listing when
// pushes race (two copies into one destination). A missing one is PUT
// again within confirmRounds' bounds; then it is an error naming the
// registry's behaviour.
func (t *Target) confirmListed(ctx context.Context) error {
	m, ok := t.b.(*remoteBackend)
	if !ok || m.known() != referrersSupported || len(t.attached) == 0 {
		return nil
	}
	// A racing writer's stale update lands within its request: let those
	// in flight at our last PUT finish before reading.
	if err := sleep(ctx, confirmSettle); err != nil {
		return err
	}
	pending := t.attached
	var missing []attachedRef
	reads := 0
	read := func(last bool) (bool, error) {
		reads++
		bySubject := map[v1.Hash][]attachedRef{}
		var order []v1.Hash
		for _, a := range pending {
			if _, seen := bySubject[a.subject.Digest]; !seen {
				order = append(order, a.subject.Digest)
			}
			bySubject[a.subject.Digest] = append(bySubject[a.subject.Digest], a)
		}
		missing = nil
		for _, h := range order {
			ds, _, err := m.r.referrersAPI(ctx, h)
			if err != nil {
				return false, fmt.Errorf("confirm the copies are listed: %w", err)
			}
			listed := digestSet(ds)
			for _, a := range bySubject[h] {
				if !listed[a.d.Digest] {
					missing = append(missing, a)
				}
			}
		}
		if len(missing) > 0 && last {
			return false, errdef.WithClass(fmt.Errorf("the registry does not list %d of the copied artifacts (first: %s on %s) although it accepted them %d times; run the copy again later: %w",
				len(missing), missing[0].d.Digest, missing[0].subject.Digest, reads, errNotListed), errdef.ErrInvalidResponse)
		}
		return len(missing) == 0, nil
	}
	resend := func() error {
		for _, a := range missing {
			if _, err := m.r.putManifest(ctx, a.d.Digest.String(), types.OCIManifestSchema1, a.b); err != nil {
				return fmt.Errorf("copy %s again: %w", a.d.Digest, err)
			}
		}
		pending = missing
		return nil
	}
	return confirmRounds(ctx, read, resend)
}

// signatures lists the signature bundles attached to entry manifest d
// (by artifact type, as listed; registries that list the config media type
// instead have the manifest checked).
func (t *Target) signatures(ctx context.Context, d v1.Descriptor) ([]v1.Descriptor, error) {
	ds, err := t.ReferrersOf(ctx, d, "")
	if err != nil {
		return nil, err
	}
	var out []v1.Descriptor
	for _, r := range ds {
		switch r.ArtifactType {
		case SignatureArtifactType:
			out = append(out, r)
		case "", string(types.OCIEmptyJSON):
			b, err := t.b.manifest(ctx, r.Digest)
			if errors.Is(err, errdef.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			var m v1.Manifest
			if json.Unmarshal(b, &m) == nil && m.ArtifactType == SignatureArtifactType {
				r.ArtifactType = SignatureArtifactType
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// copySignatures copies the signature bundles of entry d that t lacks and
// returns how many it copied.
func (t *Target) copySignatures(ctx context.Context, src *Target, d v1.Descriptor) (int, error) {
	sigs, err := src.signatures(ctx, d)
	if err != nil || len(sigs) == 0 {
		return 0, err
	}
	have, err := t.ReferrersOf(ctx, d, "")
	if err != nil {
		return 0, err
	}
	there := map[v1.Hash]bool{}
	for _, h := range have {
		there[h.Digest] = true
	}
	n := 0
	for _, s := range sigs {
		if there[s.Digest] {
			continue
		}
		if err := t.copyReferrer(ctx, src, d, s); err != nil {
			return n, fmt.Errorf("signature %s: %w", s.Digest, err)
		}
		n++
	}
	return n, nil
}
