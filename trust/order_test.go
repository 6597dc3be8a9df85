package trust

import (
	"testing"
	"time"
)

func TestSortNewest(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	vs := []Verified{
		{Key: "a", Digest: "sha256:1", Created: t0},
		{Key: "b", Digest: "sha256:3", Created: t0.Add(time.Hour)},
		{Key: "c", Digest: "sha256:2", Created: t0.Add(time.Minute)},
		{Key: "d", Digest: "sha256:4", Created: t0.Add(time.Hour).In(time.FixedZone("x", 3600))},
		{Key: "e", Digest: "sha256:1", Created: t0},
	}
	SortNewest(vs)
	var got string
	for _, v := range vs {
		got += v.Key
	}
	// d and b share an instant (in other zones): the larger digest first.
	// a and e are equal: the sort is stable.
	if want := "dbcae"; got != want {
		t.Errorf("order %s, want %s", got, want)
	}
	SortNewest(nil)
}
