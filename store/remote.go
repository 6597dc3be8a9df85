package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// How entries stay discoverable on registries without the referrers API
// (README "Concurrent writers"):
//
//  1. Every entry manifest is also pushed under its own trace tag,
//     "<alg>-<subject hex>.mf-<first 40 hex of the entry digest>". Tags are
//     the one thing a registry lets a client enumerate, and a tag no other
//     writer ever touches cannot be lost to a race. Readers take the union
//     of the fallback index and the trace tags, so an entry is found from
//     the moment its put returns, whatever other writers did.
//  2. The fallback index ("<alg>-<subject hex>") is still kept complete for
//     other tools (oras discover, regctl): writers re-read it, merge their
//     entry and every traced entry it lacks, write it back, and loop with
//     jitter until a fresh read shows everything they want in it. A writer
//     that overwrote another's entry with a stale index finds that entry's
//     trace on its next read and puts it back, so the index converges once
//     writers stop.
//
// Registries with the referrers API need none of this: the entry manifest
// is pushed by digest and the registry lists it.
const traceInfix = ".mf-"

// traceTag is the durable per-entry trace of entry on subject.
func traceTag(subject, entry v1.Hash) string {
	return fallbackTag(subject) + traceInfix + entry.Hex[:40]
}

// Fallback index update bounds.
const (
	mergeAttempts = 16
	mergeDeadline = 60 * time.Second
)

// referrersSupport caches, per registry host, whether the referrers API is
// there: probed once per registry per run.
var referrersSupport sync.Map // registry string → bool

type remoteBackend struct {
	r   *registryClient
	ref name.Reference
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

func (m *remoteBackend) registryKey() string { return m.r.repo.RegistryStr() }

func (m *remoteBackend) attach(ctx context.Context, subject v1.Descriptor, b []byte, d v1.Descriptor) ([]string, error) {
	ack, err := m.r.putManifest(ctx, d.Digest.String(), types.OCIManifestSchema1, b)
	if err != nil {
		return nil, err
	}
	if ack {
		referrersSupport.Store(m.registryKey(), true)
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
		return []string{fmt.Sprintf("entry %s is stored, but the fallback index %s was not updated (%v); manifesto finds the entry through its trace tag; run `manifesto repair` later for other tools", d.Digest, fallbackTag(subject.Digest), err)}, nil
	}
	return warn, err
}

func (m *remoteBackend) putTrace(ctx context.Context, subject, entry v1.Hash, b []byte) error {
	if _, err := m.r.putManifest(ctx, traceTag(subject, entry), types.OCIManifestSchema1, b); err != nil {
		return fmt.Errorf("tag entry %s: %w", entry, err)
	}
	return nil
}

// hasReferrersAPI probes the referrers endpoint once per registry per run;
// the listing it fetched is returned so the probe costs nothing extra.
func (m *remoteBackend) hasReferrersAPI(ctx context.Context, subject v1.Hash) (bool, []v1.Descriptor, error) {
	if v, ok := referrersSupport.Load(m.registryKey()); ok && !v.(bool) {
		return false, nil, nil
	}
	ds, ok, err := m.r.referrersAPI(ctx, subject)
	if err != nil {
		return false, nil, err
	}
	referrersSupport.Store(m.registryKey(), ok)
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

// fallbackState is one read of the fallback bookkeeping: the index under
// the fallback tag and the entries found through trace tags.
type fallbackState struct {
	index   *referrerIndex
	aliased bool            // the registry resolves the fallback tag to something that is not an index
	traced  []v1.Descriptor // entries found through trace tags
	ghosts  map[v1.Hash]bool
}

// all is the union readers use: index ∪ traced, minus ghosts.
func (s *fallbackState) all() []v1.Descriptor {
	u := &referrerIndex{}
	for _, d := range s.index.Descriptors() {
		if !s.ghosts[d.Digest] {
			u.Add(d)
		}
	}
	for _, d := range s.traced {
		u.Add(d)
	}
	return u.Descriptors()
}

// fallbackIndex reads the index under the fallback tag. A registry that
// answers that tag with the image itself (GitLab does) or anything else that
// is not an image index yields aliased=true and an empty index.
func (m *remoteBackend) fallbackIndex(ctx context.Context, subject v1.Hash) (*referrerIndex, bool, error) {
	b, d, err := m.r.getManifest(ctx, fallbackTag(subject), string(types.OCIImageIndex), referrersLimit)
	if errors.Is(err, errdef.ErrNotFound) {
		return &referrerIndex{}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read fallback index: %w", err)
	}
	if d.Digest == subject || d.MediaType != types.OCIImageIndex {
		return &referrerIndex{}, true, nil
	}
	idx, err := parseReferrerIndex(b)
	if err != nil {
		return nil, false, fmt.Errorf("fallback index %s: %w", fallbackTag(subject), err)
	}
	return idx, false, nil
}

// fallbackView reads the index and the trace tags. Traced entries the index
// lacks are fetched (one manifest each) to learn their annotations; index
// entries of ours with no trace are checked to still exist (a HEAD each),
// so that an entry deleted while a stale writer re-listed it is not shown.
//
// checkAll extends the existence check to untraced descriptors of other
// tools, needed after a registry (CNCF Distribution does) refused an index
// listing a manifest that no longer exists.
//
// known are descriptors the caller has already (the entry it is adding):
// their traces need no fetch.
func (m *remoteBackend) fallbackView(ctx context.Context, subject v1.Hash, checkAll bool, known []v1.Descriptor) (*fallbackState, error) {
	idx, aliased, err := m.fallbackIndex(ctx, subject)
	if err != nil {
		return nil, err
	}
	st := &fallbackState{index: idx, aliased: aliased, ghosts: map[v1.Hash]bool{}}
	prefix := fallbackTag(subject) + traceInfix
	tags, err := m.r.tagsAfter(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list entry traces: %w", err)
	}
	indexed := map[string]bool{}
	for _, d := range idx.Descriptors() {
		if len(d.Digest.Hex) >= 40 {
			indexed[d.Digest.Hex[:40]] = true
		}
	}
	tracedHex := map[string]bool{}
	for _, tag := range tags {
		short := strings.TrimPrefix(tag, prefix)
		tracedHex[short] = true
		if indexed[short] {
			continue
		}
		if d, ok := knownByPrefix(known, short); ok {
			st.traced = append(st.traced, d)
			continue
		}
		d, err := m.tracedDescriptor(ctx, subject, tag)
		if errors.Is(err, errdef.ErrNotFound) {
			continue // deleted between the listing and now
		}
		if err != nil {
			return nil, err
		}
		if d != nil {
			st.traced = append(st.traced, *d)
		}
	}
	for _, d := range idx.Descriptors() {
		if (!managed(d.ArtifactType) && !checkAll) || len(d.Digest.Hex) < 40 || tracedHex[d.Digest.Hex[:40]] {
			continue
		}
		// Ours but untraced: attached by another tool, or deleted. Check.
		if _, err := m.r.headManifest(ctx, d.Digest.String()); errors.Is(err, errdef.ErrNotFound) {
			st.ghosts[d.Digest] = true
		} else if err != nil {
			return nil, err
		}
	}
	return st, nil
}

func knownByPrefix(known []v1.Descriptor, short string) (v1.Descriptor, bool) {
	for _, d := range known {
		if strings.HasPrefix(d.Digest.Hex, short) {
			return d, true
		}
	}
	return v1.Descriptor{}, false
}

// tracedDescriptor fetches the manifest under a trace tag and returns its
// referrers descriptor, or nil when it is not an entry of subject (someone
// else's tag that happens to match the pattern).
func (m *remoteBackend) tracedDescriptor(ctx context.Context, subject v1.Hash, tag string) (*v1.Descriptor, error) {
	b, d, err := m.r.getManifest(ctx, tag, string(types.OCIManifestSchema1), manifestLimit)
	if err != nil {
		return nil, err
	}
	var mf v1.Manifest
	if jsonErr := json.Unmarshal(b, &mf); jsonErr != nil || mf.Subject == nil || mf.Subject.Digest != subject ||
		!managed(mf.ArtifactType) || !strings.HasSuffix(tag, d.Digest.Hex[:40]) {
		return nil, nil
	}
	return &v1.Descriptor{
		MediaType:    types.OCIManifestSchema1,
		ArtifactType: mf.ArtifactType,
		Digest:       d.Digest,
		Size:         d.Size,
		Annotations:  mf.Annotations,
	}, nil
}

// mergeFallback brings the fallback index to contain add and every traced
// entry, and none of remove, looping until a fresh read confirms it.
func (m *remoteBackend) mergeFallback(ctx context.Context, subject v1.Descriptor, add []v1.Descriptor, remove map[v1.Hash]bool) ([]string, error) {
	tag := fallbackTag(subject.Digest)
	deadline := time.Now().Add(mergeDeadline)
	checkAll := false
	for attempt := 0; attempt < mergeAttempts && time.Now().Before(deadline); attempt++ {
		if attempt > 1 {
			// A write did not stick: let the writers we race land before
			// reading again. The first confirmation read goes at once;
			// correctness never rests on the pause, only contention does.
			if err := sleep(ctx, time.Duration(10+rand.N(40*attempt))*time.Millisecond); err != nil {
				return nil, err
			}
		}
		st, err := m.fallbackView(ctx, subject.Digest, checkAll, add)
		if err != nil {
			return nil, err
		}
		if st.aliased {
			return []string{fmt.Sprintf("the registry resolves tag %s to something that is not a referrers index; entries stay findable by manifesto through their trace tags, but tools reading only that tag will not see them", tag)}, nil
		}
		idx := st.index
		changed := idx.Remove(st.ghosts)
		for _, d := range append(st.traced, add...) {
			if !remove[d.Digest] && idx.Add(d) {
				changed = true
			}
		}
		if idx.Remove(remove) {
			changed = true
		}
		if !changed {
			return nil, nil
		}
		b, err := idx.Marshal()
		if err != nil {
			return nil, err
		}
		if _, err := m.r.putManifest(ctx, tag, types.OCIImageIndex, b); err != nil {
			var terr *transport.Error
			if errors.As(err, &terr) && terr.StatusCode == http.StatusBadRequest {
				// CNCF Distribution refuses an index listing a manifest
				// that is gone: an entry deleted since our read, or a
				// stale descriptor of another tool. Check them all on the
				// next read and drop what is missing.
				checkAll = true
				continue
			}
			return nil, fmt.Errorf("write fallback index %s: %w", tag, err)
		}
	}
	return []string{fmt.Sprintf("could not confirm the fallback index %s after %d attempts (heavy contention?); entries stay findable by manifesto through their trace tags; run `manifesto repair` later for other tools", tag, mergeAttempts)}, nil
}

func (m *remoteBackend) removeEntries(ctx context.Context, subject v1.Descriptor, ds []v1.Descriptor) error {
	remove := map[v1.Hash]bool{}
	for _, d := range ds {
		remove[d.Digest] = true
	}
	fallback := true
	if v, _ := referrersSupport.Load(m.registryKey()); v == true {
		fallback = false
	}
	if fallback {
		// The index forgets the entries first, so that whatever fails
		// later, it never lists a manifest that is gone; entries whose
		// delete then fails stay found through their traces.
		warn, err := m.mergeFallback(ctx, subject, nil, remove)
		if err != nil {
			return err
		}
		if len(warn) > 0 && !strings.Contains(warn[0], "not a referrers index") {
			return errors.New(warn[0])
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
	} else if len(warn) > 0 {
		return nil, errors.New(warn[0])
	}
	st, err := m.fallbackView(ctx, subject.Digest, false, nil)
	if err != nil {
		return nil, err
	}
	return st.all(), nil
}
