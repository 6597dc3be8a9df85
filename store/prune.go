package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

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
		old := r.OlderThan <= 0 || e.Created.Before(cutoff)
		ruled := r.Keep > 0 || r.OlderThan > 0
		if in && ruled && n > 0 && beyond && old && e.Created.Before(r.Started) {
			remove = append(remove, e)
		} else {
			keep = append(keep, e)
		}
	}
	return remove, keep
}

// Prune removes entries (versions of this image) with their signature
// bundles: each bundle manifest, its trace tag and fallback-index
// descriptor, then the entries the same way (Delete). It returns how many
// bundles it removed.
func (t *Target) Prune(ctx context.Context, entries []Entry) (int, error) {
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
			if err := t.b.removeEntries(ctx, d, sigs); err != nil {
				return n, fmt.Errorf("remove signatures of %s: %w", e.Digest, err)
			}
			n += len(sigs)
		}
		t.dropFallbackTag(ctx, d.Digest)
	}
	return n, t.Delete(ctx, entries)
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
