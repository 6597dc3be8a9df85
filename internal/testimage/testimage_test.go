package testimage

import (
	"strings"
	"testing"
)

func TestKinds(t *testing.T) {
	t.Parallel()
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			r := NewRepo(t, kind)
			a, b := r.Push("v1"), r.Push("v2")
			if a == b || !strings.HasSuffix(a, ":v1") || !strings.HasSuffix(b, ":v2") {
				t.Errorf("Push returned %q and %q", a, b)
			}
			if (kind == Layout) != strings.HasPrefix(a, "oci:") {
				t.Errorf("%s image %q", kind, a)
			}
		})
	}
	c := Clock()
	if t1, t2 := c(), c(); !t2.After(t1) {
		t.Errorf("clock did not advance: %v then %v", t1, t2)
	}
}
