package store

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestPrunePlan(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	// scan: 5 versions, 0..4 days old; sbom: 1 version, 10 days old; an
	// entry written after the prune started; regctl's without a time.
	e := func(key string, age time.Duration, n int) Entry {
		return Entry{Key: key, Digest: fmt.Sprintf("sha256:%s%d", key, n), Created: start.Add(-age)}
	}
	all := []Entry{
		e("scan", -time.Second, 9), // created after the start
		e("scan", time.Hour, 0), e("scan", day, 1), e("scan", 2*day, 2), e("scan", 3*day, 3), e("scan", 4*day, 4),
		e("sbom", 10*day, 0),
		{Key: "tool", Digest: "sha256:tool1"}, {Key: "tool", Digest: "sha256:tool0"},
	}
	digests := func(es []Entry) []string {
		var out []string
		for _, x := range es {
			out = append(out, x.Digest)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		rule PruneRule
		want []string
	}{
		{"no rule", PruneRule{}, nil},
		{"keep 2", PruneRule{Keep: 2}, []string{"sha256:scan1", "sha256:scan2", "sha256:scan3", "sha256:scan4"}},
		{"keep 1", PruneRule{Keep: 1}, []string{"sha256:scan0", "sha256:scan1", "sha256:scan2", "sha256:scan3", "sha256:scan4", "sha256:tool0"}},
		{"keep 1 of scan", PruneRule{Keep: 1, Keys: []string{"scan"}}, []string{"sha256:scan0", "sha256:scan1", "sha256:scan2", "sha256:scan3", "sha256:scan4"}},
		{"keep 1 of sbom", PruneRule{Keep: 1, Keys: []string{"sbom"}}, nil},
		{"older than 2.5 days", PruneRule{OlderThan: 60 * time.Hour}, []string{"sha256:scan3", "sha256:scan4", "sha256:tool0"}},
		{"older than a year: the newest stays", PruneRule{OlderThan: 9 * day, Keys: []string{"sbom"}}, nil},
		{"keep 4 and older than 1.5 days", PruneRule{Keep: 4, OlderThan: 36 * time.Hour}, []string{"sha256:scan3", "sha256:scan4"}},
		{"keep 1 and older than 3.5 days", PruneRule{Keep: 1, OlderThan: 84 * time.Hour}, []string{"sha256:scan4", "sha256:tool0"}},
	} {
		tc.rule.Started = start
		remove, keep := tc.rule.Plan(all)
		if got := digests(remove); !slices.Equal(got, tc.want) {
			t.Errorf("%s: removes %v, want %v", tc.name, got, tc.want)
		}
		if len(remove)+len(keep) != len(all) {
			t.Errorf("%s: %d removed + %d kept != %d", tc.name, len(remove), len(keep), len(all))
		}
		for _, x := range remove {
			if x.Digest == "sha256:scan9" || x.Digest == "sha256:sbom0" || x.Digest == "sha256:tool1" {
				t.Errorf("%s: removes %s", tc.name, x.Digest)
			}
		}
	}
}
