package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// PruneRule says which versions prune removes.
type PruneRule struct {
	// Keep > 0 keeps the newest Keep versions of each key.
	Keep int
	// OlderThan > 0 keeps every version created less than OlderThan before
	// Started.
	OlderThan time.Duration
	// Keys limits pruning to these keys; empty means every key.
	Keys []string
	// Started is when the prune started: no entry created at or after it
	// is removed, whatever the rule says, so a put racing the prune
	// survives.
	Started time.Time
}

// Plan splits entries (newest first, as List returns them) into those the
// rule removes and those it keeps. The newest version of every key is
// always kept. With both Keep and OlderThan, a version is removed only when
// both allow it: it is beyond the newest Keep of its key and older than
// OlderThan. A rule with neither removes nothing.
func (r PruneRule) Plan(entries []Entry) (remove, keep []Entry) {
	rank := map[string]int{}
	cutoff := r.Started.Add(-r.OlderThan)
	for _, e := range entries {
		n := rank[e.Key]
		rank[e.Key] = n + 1
		in := len(r.Keys) == 0 || slices.Contains(r.Keys, e.Key)
		beyond := r.Keep <= 0 || n >= r.Keep
		// An entry without a creation time is judged by the time the
		// listing order gives it (undatedOrder), the rule every reader
		// orders it by.
		t := e.orderTime()
		old := r.OlderThan <= 0 || t.Before(cutoff)
		ruled := r.Keep > 0 || r.OlderThan > 0
		if in && ruled && n > 0 && beyond && old && t.Before(r.Started) {
			remove = append(remove, e)
		} else {
			keep = append(keep, e)
		}
	}
	return remove, keep
}

// Prune removes entries (versions of this image) with their signature
// bundles: each bundle manifest, its trace tag and fallback-index
// descriptor, then the entries the same way (Delete). kept are the
// entries the caller keeps: on a registry with the referrers API, Prune
// then checks that the registry still lists them, since some (olareg
// v0.2.2) lose a referrer whose addition raced a deletion, and PUTs again
// any that are stored but no longer listed. It returns how many bundles it
// removed.
func (t *Target) Prune(ctx context.Context, entries, kept []Entry) (int, error) {
	n := 0
	for _, e := range entries {
		d, err := t.EntryDescriptor(ctx, e)
		if errors.Is(err, errdef.ErrNotFound) {
			continue // gone already (another prune or a delete)
		}
		if err != nil {
			return n, err
		}
		sigs, err := t.signatures(ctx, d)
		if err != nil {
			return n, fmt.Errorf("signatures of %s: %w", e.Digest, err)
		}
		if len(sigs) > 0 {
			if err := t.remove(ctx, d, sigs); err != nil {
				return n, fmt.Errorf("remove signatures of %s: %w", e.Digest, err)
			}
			n += len(sigs)
		}
		t.dropFallbackTag(ctx, d.Digest)
	}
	subject, err := t.Subject(ctx)
	if err != nil {
		return n, err
	}
	ds := make([]v1.Descriptor, 0, len(entries))
	for _, e := range entries {
		h, err := v1.NewHash(e.Digest)
		if err != nil {
			return n, invalidf("entry digest %q: %v", e.Digest, err)
		}
		ds = append(ds, v1.Descriptor{Digest: h})
	}
	if err := t.remove(ctx, subject, ds); err != nil {
		return n, fmt.Errorf("delete from %s: %w", subject.Digest, err)
	}
	return n, t.relist(ctx, kept)
}

// remove deletes the referrers ds of subject. On a registry without the
// referrers API it deletes the manifests first, and their trace tags, and
// only then takes them out of the fallback index: Delete's order (index
// first) cannot be confirmed while writers run, because each writer puts
// back every entry that still has a trace tag; once manifest and trace
// are gone nothing brings the entry back, readers skip the index's stale
// descriptor (an untraced entry is checked to exist), and the index is
// cleaned by this merge or the next writer's. A merge that cannot be
// confirmed under contention is then a warning, not a failure.
func (t *Target) remove(ctx context.Context, subject v1.Descriptor, ds []v1.Descriptor) error {
	m, ok := t.b.(*remoteBackend)
	if ok && m.known() == referrersUnknown {
		if _, _, err := m.hasReferrersAPI(ctx, subject.Digest); err != nil {
			return err
		}
	}
	if !ok || m.known() == referrersSupported {
		return t.b.removeEntries(ctx, subject, ds)
	}
	gone := map[v1.Hash]bool{}
	for _, d := range ds {
		if err := m.r.deleteManifest(ctx, d.Digest.String()); err != nil {
			return fmt.Errorf("delete %s: %w", d.Digest, err)
		}
		// Distribution drops a manifest's tags with it; others keep the
		// trace tag until it is deleted by name.
		tag := traceTag(subject.Digest, d.Digest)
		if _, err := m.r.headManifest(ctx, tag); err == nil {
			if err := m.r.deleteManifest(ctx, tag); err != nil {
				return fmt.Errorf("delete trace tag %s: %w", tag, err)
			}
		} else if !errors.Is(err, errdef.ErrNotFound) {
			return err
		}
		gone[d.Digest] = true
	}
	warn, err := m.mergeFallback(ctx, subject, nil, gone)
	if err != nil {
		return err
	}
	if warn != nil {
		t.Warnings = append(t.Warnings, *warn)
	}
	return nil
}

// relist makes a registry with the referrers API list the kept entries
// again, if the deletions made it drop some: it sends each dropped one
// again by digest and confirms as a copy does (confirmListed).
func (t *Target) relist(ctx context.Context, kept []Entry) error {
	m, ok := t.b.(*remoteBackend)
	if !ok || m.known() != referrersSupported || len(kept) == 0 {
		return nil
	}
	subject, err := t.Subject(ctx)
	if err != nil {
		return err
	}
	// Let a racing writer's update in flight at our last deletion land.
	if err := sleep(ctx, confirmSettle); err != nil {
		return err
	}
	ds, _, err := m.r.referrersAPI(ctx, subject.Digest)
	if err != nil {
		return fmt.Errorf("check the kept entries are listed: %w", err)
	}
	listed := map[v1.Hash]bool{}
	for _, d := range ds {
		listed[d.Digest] = true
	}
	t.attached = t.attached[:0]
	for _, e := range kept {
		h, err := v1.NewHash(e.Digest)
		if err != nil || listed[h] {
			continue
		}
		b, err := m.manifest(ctx, h)
		if errors.Is(err, errdef.ErrNotFound) {
			continue // deleted by someone else meanwhile
		}
		if err != nil {
			return err
		}
		// Send it again now, so that confirmListed's first read (after its
		// own settle, which then follows our last PUT) can already see it.
		if _, err := m.r.putManifest(ctx, h.String(), types.OCIManifestSchema1, b); err != nil {
			return fmt.Errorf("list kept entry %s again: %w", h, err)
		}
		t.attached = append(t.attached, attachedRef{subject: subject, d: v1.Descriptor{Digest: h, Size: int64(len(b))}, b: b})
	}
	return t.confirmListed(ctx)
}

// dropFallbackTag deletes the (now empty) fallback index of a pruned entry
// by its tag name, on a registry without the referrers API. Best effort:
// registries that cannot delete a tag keep an empty index, which lists
// nothing. Never by digest: every empty index has the same one.
func (t *Target) dropFallbackTag(ctx context.Context, entry v1.Hash) {
	m, ok := t.b.(*remoteBackend)
	if !ok || m.known() == referrersSupported {
		return
	}
	tag := fallbackTag(entry)
	if _, err := m.r.headManifest(ctx, tag); err != nil {
		return
	}
	_ = m.r.deleteManifest(ctx, tag)
}
