package trust

import (
	"slices"

	"github.com/manifesto-dev/manifesto/internal/newest"
)

// SortNewest orders vs newest first, the order Verifier.Verify returns:
// latest Created first, ties broken by the larger digest (internal/newest,
// the order the store lists entries in). The sort is stable.
func SortNewest(vs []Verified) {
	slices.SortStableFunc(vs, func(a, b Verified) int {
		return newest.Compare(a.Created, a.Digest, b.Created, b.Digest)
	})
}
