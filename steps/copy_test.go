package steps

import (
	"slices"
	"testing"

	"github.com/manifesto-dev/manifesto/store"
)

func TestSelectEntries(t *testing.T) {
	t.Parallel()
	// Newest first, as List returns them.
	all := []store.Entry{{Key: "a", Digest: "a2"}, {Key: "b", Digest: "b1"}, {Key: "a", Digest: "a1"}, {Key: "c", Digest: "c1"}}
	for _, tc := range []struct {
		name string
		o    CopyOptions
		want []string
	}{
		{"all", CopyOptions{}, []string{"a2", "b1", "a1", "c1"}},
		{"latest", CopyOptions{Latest: true}, []string{"a2", "b1", "c1"}},
		{"keys", CopyOptions{Keys: []string{"a", "c"}}, []string{"a2", "a1", "c1"}},
		{"keys latest", CopyOptions{Keys: []string{"a"}, Latest: true}, []string{"a2"}},
		{"unknown key", CopyOptions{Keys: []string{"z"}}, nil},
	} {
		var got []string
		for _, e := range selectEntries(all, tc.o) {
			got = append(got, e.Digest)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
