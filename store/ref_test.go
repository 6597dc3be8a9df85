package store

import (
	"regexp"
	"strings"
	"testing"
)

// TestValidTag checks the written-out tag rule against the distribution
// spec's own pattern.
func TestValidTag(t *testing.T) {
	t.Parallel()
	spec := regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	for _, tag := range []string{
		"", "v1", "V1.2-rc_3", "_x", ".x", "-x", "a.", "a-", "a b", "a/b", "a:b", "é", "a\x00",
		strings.Repeat("a", 127), strings.Repeat("a", 128), strings.Repeat("a", 129), "sha256-" + strings.Repeat("f", 64),
	} {
		if got, want := validTag(tag), spec.MatchString(tag); got != want {
			t.Errorf("validTag(%q) = %v, the spec's pattern says %v", tag, got, want)
		}
	}
}
