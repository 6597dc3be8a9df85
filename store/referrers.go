package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// The registry backend: entries are referrers of the image, found through
// the OCI referrers API where the registry has it, else through the
// fallback index and trace tags (fallback.go).

// referrersCapability is what the registry is known to do about the
// referrers API.
type referrersCapability int32

// The capabilities: unknown until the API is probed or a push is answered
// with OCI-Subject, then known for the rest of the Target's life.
const (
	referrersUnknown referrersCapability = iota
	referrersSupported
	referrersUnsupported
)

// remoteBackend is the registry backend of one Target.
type remoteBackend struct {
	r   *registryClient
	ref name.Reference
	// capability holds a referrersCapability, discovered once.
	capability atomic.Int32
}

func openRemote(ctx context.Context, ref name.Reference, o *options) (*remoteBackend, error) {
	scope := transport.PullScope
	switch o.access {
	case Write:
		scope = transport.PushScope
	case Delete:
		scope = transport.DeleteScope
	}
	r, err := newRegistry(ctx, ref, o, scope)
	if err != nil {
		return nil, err
	}
	return &remoteBackend{r: r, ref: ref}, nil
}

// known returns what is known of the registry's referrers API.
func (m *remoteBackend) known() referrersCapability {
	return referrersCapability(m.capability.Load())
}

// learn records what the registry does about the referrers API.
func (m *remoteBackend) learn(supported bool) {
	c := referrersUnsupported
	if supported {
		c = referrersSupported
	}
	m.capability.Store(int32(c))
}

func (m *remoteBackend) resolve(ctx context.Context) (v1.Descriptor, error) {
	id := m.ref.Identifier()
	d, err := m.r.headManifest(ctx, id)
	if errors.Is(err, errdef.ErrNotFound) {
		return v1.Descriptor{}, errdef.WithClass(fmt.Errorf("image %s not found", m.ref.Name()), errdef.ErrNotFound)
	}
	if err != nil {
		return v1.Descriptor{}, err
	}
	want, byDigest := m.ref.(name.Digest)
	switch {
	case byDigest && d.Digest.Algorithm != "" && d.Digest.String() != want.DigestStr():
		return v1.Descriptor{}, invalidf("registry answered %s for %s", d.Digest, want.DigestStr())
	case d.Digest.Algorithm == "" || d.MediaType == "" || d.Size <= 0:
		// The HEAD answer is incomplete: read the manifest itself.
		_, d, err = m.r.getManifest(ctx, id, manifestAccept, manifestLimit)
		if err != nil {
			return v1.Descriptor{}, err
		}
	}
	if byDigest {
		d.Digest, _ = v1.NewHash(want.DigestStr())
	}
	return d, nil
}

func (m *remoteBackend) manifest(ctx context.Context, h v1.Hash) ([]byte, error) {
	b, _, err := m.r.getManifest(ctx, h.String(), manifestAccept, manifestLimit)
	return b, err
}

func (m *remoteBackend) hasBlob(ctx context.Context, h v1.Hash) (bool, error) {
	return m.r.hasBlob(ctx, h)
}

func (m *remoteBackend) pushBlob(ctx context.Context, d v1.Descriptor, open func() (io.ReadCloser, error)) error {
	return m.r.pushBlob(ctx, d, open)
}

func (m *remoteBackend) pushBlobStream(ctx context.Context, size int64, open func() (io.ReadCloser, error)) (v1.Hash, error) {
	return m.r.pushBlobStream(ctx, size, open)
}

func (m *remoteBackend) blob(ctx context.Context, d v1.Descriptor) (io.ReadCloser, error) {
	return m.r.openBlob(ctx, d.Digest, d.Size)
}

func (m *remoteBackend) attach(ctx context.Context, subject v1.Descriptor, b []byte, d v1.Descriptor) ([]Warning, error) {
	ack, err := m.r.putManifest(ctx, d.Digest.String(), types.OCIManifestSchema1, b)
	if err != nil {
		return nil, err
	}
	if ack {
		m.learn(true)
		return nil, nil
	}
	if err := m.putTrace(ctx, subject.Digest, d.Digest, b); err != nil {
		return nil, err
	}
	// From here the entry is stored and found by every manifesto reader:
	// the index is a cache for other tools, so failing to update it is a
	// warning, not a failed put.
	warn, err := m.mergeFallback(ctx, subject, []v1.Descriptor{d}, nil)
	if err != nil && ctx.Err() == nil {
		return []Warning{{Kind: WarnIndexNotUpdated, Err: err,
			Msg: fmt.Sprintf("entry %s is stored, but the fallback index %s was not updated (%v); manifesto finds the entry through its trace tag; run `manifesto repair` later for other tools", d.Digest, fallbackTag(subject.Digest), err)}}, nil
	}
	if err != nil {
		return nil, err
	}
	if warn != nil {
		return []Warning{*warn}, nil
	}
	return nil, nil
}

func (m *remoteBackend) putTrace(ctx context.Context, subject, entry v1.Hash, b []byte) error {
	if _, err := m.r.putManifest(ctx, traceTag(subject, entry), types.OCIManifestSchema1, b); err != nil {
		return fmt.Errorf("tag entry %s: %w", entry, err)
	}
	return nil
}

// hasReferrersAPI probes the referrers endpoint unless the registry is
// known not to have it; the listing it fetched is returned so the probe
// costs nothing extra.
func (m *remoteBackend) hasReferrersAPI(ctx context.Context, subject v1.Hash) (bool, []v1.Descriptor, error) {
	if m.known() == referrersUnsupported {
		return false, nil, nil
	}
	ds, ok, err := m.r.referrersAPI(ctx, subject)
	if err != nil {
		return false, nil, err
	}
	m.learn(ok)
	return ok, ds, nil
}

func (m *remoteBackend) referrers(ctx context.Context, subject v1.Descriptor) ([]v1.Descriptor, error) {
	ok, ds, err := m.hasReferrersAPI(ctx, subject.Digest)
	if err != nil || ok {
		return ds, err
	}
	view, err := m.fallbackView(ctx, subject.Digest, false, nil)
	if err != nil {
		return nil, err
	}
	return view.all(), nil
}

func (m *remoteBackend) removeEntries(ctx context.Context, subject v1.Descriptor, ds []v1.Descriptor) error {
	remove := map[v1.Hash]bool{}
	for _, d := range ds {
		remove[d.Digest] = true
	}
	fallback := m.known() != referrersSupported
	if fallback {
		// The index forgets the entries first, so that whatever fails
		// later, it never lists a manifest that is gone; entries whose
		// delete then fails stay found through their traces.
		warn, err := m.mergeFallback(ctx, subject, nil, remove)
		if err != nil {
			return err
		}
		if warn != nil && warn.Kind != WarnIndexAliased {
			return *warn
		}
	}
	for _, d := range ds {
		if err := m.r.deleteManifest(ctx, d.Digest.String()); err != nil {
			return fmt.Errorf("delete entry %s: %w", d.Digest, err)
		}
	}
	if !fallback {
		return nil
	}
	for _, d := range ds {
		// Distribution drops a manifest's tags with it; registries that
		// keep them get the trace tag deleted by name (OCI 1.1), so no
		// trace brings the entry back.
		tag := traceTag(subject.Digest, d.Digest)
		if _, err := m.r.headManifest(ctx, tag); errors.Is(err, errdef.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if err := m.r.deleteManifest(ctx, tag); err != nil {
			return fmt.Errorf("delete trace tag %s of entry %s: %w", tag, d.Digest, err)
		}
	}
	return nil
}

func (m *remoteBackend) repair(ctx context.Context, subject v1.Descriptor) ([]v1.Descriptor, error) {
	ok, ds, err := m.hasReferrersAPI(ctx, subject.Digest)
	if err != nil || ok {
		return ds, err
	}
	if warn, err := m.mergeFallback(ctx, subject, nil, nil); err != nil {
		return nil, err
	} else if warn != nil {
		return nil, *warn
	}
	st, err := m.fallbackView(ctx, subject.Digest, false, nil)
	if err != nil {
		return nil, err
	}
	return st.all(), nil
}
