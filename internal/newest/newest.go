// Package newest defines the one order of entry versions: newest first,
// by created time, ties broken by the larger digest so that every reader
// (the store's listing, each trust backend's verified set) agrees on which
// version is "the newest".
package newest

import "time"

// Compare orders (created, digest) pairs newest first, for slices.SortFunc:
// negative when a comes before b.
func Compare(aCreated time.Time, aDigest string, bCreated time.Time, bDigest string) int {
	if c := bCreated.Compare(aCreated); c != 0 {
		return c
	}
	switch {
	case aDigest > bDigest:
		return -1
	case aDigest < bDigest:
		return 1
	}
	return 0
}
