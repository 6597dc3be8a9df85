package steps

import (
	"context"
	"fmt"
	"time"

	"github.com/manifesto-dev/manifesto/store"
)

// PruneOptions are prune's settings; package inputs requires Keep or
// OlderThan.
type PruneOptions struct {
	// Keep > 0 keeps the newest Keep versions of each key.
	Keep int
	// OlderThan > 0 removes only versions older than this.
	OlderThan time.Duration
	// Keys limits pruning to these keys; empty means every key.
	Keys []string
	// DryRun reports what would be removed and removes nothing.
	DryRun bool
}

// PruneResult is what prune removed (or, on a dry run, would remove) and
// kept, newest first.
type PruneResult struct {
	// Started is when the prune started; no entry created at or after it
	// was removed.
	Started time.Time     `json:"started"`
	DryRun  bool          `json:"dryRun"`
	Removed []store.Entry `json:"removed"`
	Kept    []store.Entry `json:"kept"`
	// Signatures counts the signature bundles removed with the entries.
	Signatures int `json:"signatures"`
}

// prune removes the versions the rule selects (store.PruneRule.Plan), with
// their signature bundles, trace tags and fallback-index descriptors, and
// with Notary their targets. The start time is taken before the listing,
// so an entry put while prune runs is never removed.
func prune(ctx context.Context, t *store.Target, tb trustBackend, repo string, req Request, env Env, res *Result) error {
	now := time.Now
	if env.Now != nil {
		now = env.Now
	}
	rule := store.PruneRule{Keep: req.Prune.Keep, OlderThan: req.Prune.OlderThan, Keys: req.Prune.Keys, Started: now()}
	out := &PruneResult{DryRun: req.Prune.DryRun, Started: rule.Started.UTC()}
	res.Prune = out
	all, err := t.List(ctx)
	if err != nil {
		return err
	}
	out.Removed, out.Kept = rule.Plan(all)
	res.Found = len(all) > 0
	if out.DryRun || len(out.Removed) == 0 {
		return nil
	}
	if tb != nil && req.Trust.Backend == TrustNotary {
		seen := map[string]bool{}
		for _, e := range out.Removed {
			if !seen[e.Key] {
				seen[e.Key] = true
				if err := preflight(ctx, tb, repo, res.Subject, e.Key); err != nil {
					return err
				}
			}
		}
	}
	if out.Signatures, err = t.Prune(ctx, out.Removed, out.Kept); err != nil {
		return err
	}
	if tb != nil && req.Trust.Backend == TrustNotary {
		if err := tb.Forget(ctx, repo, forgetBindings(repo, res.Subject, out.Removed)); err != nil {
			return fmt.Errorf("entries removed, but their Notary targets could not be withdrawn: %w", err)
		}
	}
	return nil
}
