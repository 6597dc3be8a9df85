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

// TestParseImageRepositoryLimit: a Docker Hub short name under the
// repository limit can pass it once "library/" is added; it is refused as
// given, not accepted and then unparseable (found by FuzzParseImage).
func TestParseImageRepositoryLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		image string
		ok    bool
	}{
		{strings.Repeat("a", 247), true},  // library/ + 247 = 255
		{strings.Repeat("a", 248), false}, // 256
		{"ghcr.io/" + strings.Repeat("a", 255), true},
	} {
		_, err := ParseImage(tc.image, false)
		if (err == nil) != tc.ok {
			t.Errorf("ParseImage(%d characters) err = %v, want ok %v", len(tc.image), err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "over the limit of 255") {
			t.Errorf("err = %v, want it to name the limit", err)
		}
	}
}
