package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

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

// fallbackRead is one raw read of the fallback bookkeeping: the index and
// the trace tag listing, fetched at once (two requests in parallel, one
// round trip on the critical path).
type fallbackRead struct {
	index   *referrerIndex
	aliased bool
	tags    []string
}

// readFallback reads the index and lists the trace tags in parallel.
func (m *remoteBackend) readFallback(ctx context.Context, subject v1.Hash) (*fallbackRead, error) {
	var (
		rd           fallbackRead
		idxErr, tErr error
		wg           sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		rd.index, rd.aliased, idxErr = m.fallbackIndex(ctx, subject)
	}()
	rd.tags, tErr = m.r.tagsAfter(ctx, fallbackTag(subject)+traceInfix)
	wg.Wait()
	if idxErr != nil {
		return nil, idxErr
	}
	if tErr != nil {
		return nil, fmt.Errorf("list entry traces: %w", tErr)
	}
	return &rd, nil
}

// viewOptions say how much a view checks.
type viewOptions struct {
	// verify: index entries of ours with no trace are checked to still
	// exist (a HEAD each, in parallel), so that an entry deleted while a
	// stale writer re-listed it is dropped from the index. repair verifies,
	// and a writer whose index the registry refused for naming a manifest
	// that is gone; plain reads and writes do not (issue 14: their cost must
	// not grow with untraced entries): a reader judges an entry by what it
	// fetches — get skips a listed entry whose manifest is gone
	// (WarnEntryGone).
	verify bool
	// checkAll extends verify to untraced descriptors of other tools,
	// needed after a registry (CNCF Distribution does) refused an index
	// listing a manifest that no longer exists.
	checkAll bool
	// known are descriptors the caller has already (the entry it is
	// adding): their traces need no fetch.
	known []v1.Descriptor
}

// parallelFetches bounds the requests a view sends at once.
const parallelFetches = 8

// fallbackView reads the index and the trace tags and builds the view.
func (m *remoteBackend) fallbackView(ctx context.Context, subject v1.Hash, o viewOptions) (*fallbackState, error) {
	rd, err := m.readFallback(ctx, subject)
	if err != nil {
		return nil, err
	}
	return m.buildView(ctx, subject, rd, o)
}

// fallbackViewWith is fallbackView with the trace tags (those starting
// with prefix) listed by traces: search lists a repository's tags once for
// every image. checkAll verifies every untraced descriptor (viewOptions);
// without it nothing is verified, as on every read.
func (m *remoteBackend) fallbackViewWith(ctx context.Context, subject v1.Hash, checkAll bool, known []v1.Descriptor, traces func(prefix string) ([]string, error)) (*fallbackState, error) {
	idx, aliased, err := m.fallbackIndex(ctx, subject)
	if err != nil {
		return nil, err
	}
	tags, err := traces(fallbackTag(subject) + traceInfix)
	if err != nil {
		return nil, fmt.Errorf("list entry traces: %w", err)
	}
	return m.buildView(ctx, subject, &fallbackRead{index: idx, aliased: aliased, tags: tags},
		viewOptions{verify: checkAll, checkAll: checkAll, known: known})
}

// buildView turns a raw read into the view: traced entries the index lacks
// are fetched (one manifest each, in parallel) to learn their annotations;
// with o.verify, untraced index entries are checked (viewOptions).
func (m *remoteBackend) buildView(ctx context.Context, subject v1.Hash, rd *fallbackRead, o viewOptions) (*fallbackState, error) {
	idx := rd.index
	st := &fallbackState{index: idx, aliased: rd.aliased, ghosts: map[v1.Hash]bool{}}
	traced, tracedHex, err := m.tracedUnlisted(ctx, subject, idx.Descriptors(), rd.tags, o.known)
	if err != nil {
		return nil, err
	}
	st.traced = traced
	if !o.verify {
		return st, nil
	}
	var check []v1.Hash
	for _, d := range idx.Descriptors() {
		if (!managed(d.ArtifactType) && !o.checkAll) || len(d.Digest.Hex) < 40 || tracedHex[d.Digest.Hex[:40]] {
			continue
		}
		check = append(check, d.Digest)
	}
	gone := make([]bool, len(check))
	err = parallelEach(ctx, len(check), func(ctx context.Context, i int) error {
		// Ours but untraced: attached by another tool, or deleted.
		_, err := m.r.headManifest(ctx, check[i].String())
		if errors.Is(err, errdef.ErrNotFound) {
			gone[i] = true
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	for i, g := range gone {
		if g {
			st.ghosts[check[i]] = true
		}
	}
	return st, nil
}

// tracedUnlisted returns the entries whose trace tags (tags, of subject)
// name none of listed (an index or a referrers listing): from known when
// the caller has them, else fetched (one manifest each, in parallel). The
// one rule by which traces bring back entries a listing lost; tracedHex
// holds every traced digest prefix.
func (m *remoteBackend) tracedUnlisted(ctx context.Context, subject v1.Hash, listed []v1.Descriptor, tags []string, known []v1.Descriptor) (traced []v1.Descriptor, tracedHex map[string]bool, err error) {
	prefix := fallbackTag(subject) + traceInfix
	inListing := map[string]bool{}
	for _, d := range listed {
		if len(d.Digest.Hex) >= 40 {
			inListing[d.Digest.Hex[:40]] = true
		}
	}
	tracedHex = map[string]bool{}
	var fetch []string
	for _, tag := range tags {
		short := strings.TrimPrefix(tag, prefix)
		tracedHex[short] = true
		if inListing[short] {
			continue
		}
		if d, ok := knownByPrefix(known, short); ok {
			traced = append(traced, d)
			continue
		}
		fetch = append(fetch, tag)
	}
	found := make([]*v1.Descriptor, len(fetch))
	err = parallelEach(ctx, len(fetch), func(ctx context.Context, i int) error {
		d, err := m.tracedDescriptor(ctx, subject, fetch[i])
		if errors.Is(err, errdef.ErrNotFound) {
			return nil // deleted between the listing and now
		}
		found[i] = d
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	for _, d := range found {
		if d != nil {
			traced = append(traced, *d)
		}
	}
	return traced, tracedHex, nil
}

// parallelEach runs f for 0..n-1, parallelFetches at a time, and returns the
// first error (the others are cancelled).
func parallelEach(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelFetches)
	for i := range n {
		g.Go(func() error { return f(gctx, i) })
	}
	return g.Wait()
}

// missingChild reports whether a refused index PUT names a listed manifest
// the registry does not have (CNCF Distribution: 400 MANIFEST_BLOB_UNKNOWN),
// the one 4xx the merge loop cures by dropping what is gone.
func missingChild(terr *transport.Error) bool {
	if terr.StatusCode != http.StatusBadRequest {
		return false
	}
	for _, d := range terr.Errors {
		if d.Code == transport.ManifestBlobUnknownErrorCode || d.Code == transport.ManifestUnknownErrorCode {
			return true
		}
	}
	return false
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
	// Entries of other tools that repair adopted may carry no artifact
	// type of ours, only the key annotation.
	if jsonErr := json.Unmarshal(b, &mf); jsonErr != nil || mf.Subject == nil || mf.Subject.Digest != subject ||
		(!managed(mf.ArtifactType) && mf.Annotations[AnnotationKey] == "") || !strings.HasSuffix(tag, d.Digest.Hex[:40]) {
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

// Index size: CNCF Distribution refuses a manifest over 4 MiB
// (maxIndexBytes), which caps the entries one image can have on a registry
// without the referrers API (README "How many entries an image holds").
// A put warns once the index passes half of that (WarnIndexLarge).
const (
	maxIndexBytes  = 4 << 20
	warnIndexBytes = maxIndexBytes / 2
)

// IndexCeiling is about how many entries (manifesto's own, today's
// annotations) one image's fallback index holds on CNCF Distribution v3
// before the registry refuses it as too large, as measured by
// bench/ceiling_test.go (10459 with 12-character keys, 401 bytes each).
const IndexCeiling = 10400

// mergeFallback brings the fallback index to contain add and every traced
// entry, and none of remove, looping until a fresh read confirms it. When
// it cannot, it returns a warning (WarnIndexAliased or
// WarnIndexUnconfirmed) and no error; an index past warnIndexBytes gives a
// WarnIndexLarge warning. pre, when not nil, is a read made before the
// caller's own writes (in parallel with its uploads): the first attempt
// merges into it instead of reading again, the confirmation read follows
// the write as always.
//
// verify checks every untraced entry of ours the index lists (repair does);
// otherwise that check waits for the registry to refuse an index naming a
// manifest that is gone (CNCF Distribution does), so that a put costs the
// same whatever other tools wrote (issue 14).
func (m *remoteBackend) mergeFallback(ctx context.Context, subject v1.Descriptor, add []v1.Descriptor, remove map[v1.Hash]bool) (*Warning, error) {
	return m.mergeFallbackFrom(ctx, subject, add, remove, nil, false)
}

// mergeFallbackFrom is mergeFallback starting from pre and, with verify,
// checking every untraced entry of ours (see mergeFallback's doc above).
func (m *remoteBackend) mergeFallbackFrom(ctx context.Context, subject v1.Descriptor, add []v1.Descriptor, remove map[v1.Hash]bool, pre *fallbackRead, verify bool) (*Warning, error) {
	tag := fallbackTag(subject.Digest)
	deadline := time.Now().Add(mergeDeadline)
	checkAll := false
	var large *Warning
	for attempt := 0; attempt < mergeAttempts && time.Now().Before(deadline); attempt++ {
		if attempt > 1 {
			// A write did not stick: let the writers we race land before
			// reading again. The first confirmation read goes at once;
			// correctness never rests on the pause, only contention does.
			if err := contentionPause(ctx, attempt); err != nil {
				return nil, err
			}
		}
		o := viewOptions{verify: verify || checkAll, checkAll: checkAll, known: add}
		var st *fallbackState
		var err error
		if pre != nil {
			st, err = m.buildView(ctx, subject.Digest, pre, o)
			pre = nil
		} else {
			st, err = m.fallbackView(ctx, subject.Digest, o)
		}
		if err != nil {
			return nil, err
		}
		if st.aliased {
			return &Warning{Kind: WarnIndexAliased,
				Msg: fmt.Sprintf("the registry resolves tag %s to something that is not a referrers index; entries stay findable by manifesto through their trace tags, but tools reading only that tag will not see them", tag)}, nil
		}
		idx := st.index
		// A stored index that parsing had to trim (oversized annotations,
		// unusable descriptors) is rewritten trimmed: that is what repairs
		// an index another writer poisoned.
		changed := idx.Remove(st.ghosts) || idx.trimmed
		for _, d := range append(st.traced, add...) {
			if !remove[d.Digest] && idx.Add(d) {
				changed = true
			}
		}
		if idx.Remove(remove) {
			changed = true
		}
		if !changed {
			return large, nil
		}
		b, err := idx.Marshal()
		if err != nil {
			return nil, err
		}
		if len(b) > warnIndexBytes && large == nil && len(add) > 0 {
			large = &Warning{Kind: WarnIndexLarge,
				Msg: fmt.Sprintf("the fallback index %s lists %d entries (%d KiB), past half of what CNCF Distribution accepts (%d MiB, about %d entries); remove old versions with `manifesto prune` before puts start failing", tag, len(idx.Descriptors()), len(b)>>10, maxIndexBytes>>20, IndexCeiling)}
		}
		if _, err := m.r.putManifest(ctx, tag, types.OCIImageIndex, b); err != nil {
			var terr *transport.Error
			switch {
			case errors.As(err, &terr) && terr.StatusCode == http.StatusConflict:
				// Another writer's update landed under ours: read again.
				continue
			case errors.As(err, &terr) && missingChild(terr):
				// CNCF Distribution refuses an index listing a manifest
				// that is gone: an entry deleted since our read, or a
				// stale descriptor of another tool. Check them all on the
				// next read and drop what is missing.
				checkAll = true
				continue
			}
			// Any other refusal (a 4xx such as "manifest invalid: request
			// body too large") will not change on a new attempt: stop and
			// say why (the registry's reason is in err).
			return nil, fmt.Errorf("write fallback index %s (%d bytes): %w", tag, len(b), err)
		}
	}
	return &Warning{Kind: WarnIndexUnconfirmed,
		Msg: fmt.Sprintf("could not confirm the fallback index %s after %d attempts (heavy contention?); entries stay findable by manifesto through their trace tags; run `manifesto repair` later for other tools", tag, mergeAttempts)}, nil
}
