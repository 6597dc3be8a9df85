package mediatype

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// reference is the rule as the regular expression Valid replaced.
var reference = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$`)

func TestValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mt   string
		want bool
	}{
		{"application/json", true},
		{"application/vnd.oci.image.manifest.v1+json", true},
		{"text/plain", true},
		{"a/b", true},
		{strings.Repeat("a", 127) + "/b", true},
		{strings.Repeat("a", 128) + "/b", false},
		{"a/" + strings.Repeat("b", 128), false},
		{"text/plain; charset=utf-8", false},
		{"text/plain\n", false},
		{"/json", false},
		{"application/", false},
		{"application", false},
		{"-app/json", false},
		{"app/.json", false},
		{"a/b/c", false},
		{"", false},
		{"tëxt/plain", false},
	}
	for _, tt := range tests {
		if got := Valid(tt.mt); got != tt.want {
			t.Errorf("Valid(%q) = %v, want %v", tt.mt, got, tt.want)
		}
		if ref := reference.MatchString(tt.mt); ref != tt.want {
			t.Errorf("the reference rule says %v for %q; the table is wrong", ref, tt.mt)
		}
	}
}

// TestValidMatchesReference: random strings over the interesting alphabet
// get the same verdict as the regular expression.
func TestValidMatchesReference(t *testing.T) {
	t.Parallel()
	const alphabet = "aZ09!#$&^_.+-/ ;é\n"
	r := rand.New(rand.NewPCG(1, 2))
	runes := []rune(alphabet)
	for range 20000 {
		var b strings.Builder
		n := r.IntN(12)
		if r.IntN(50) == 0 {
			n = 120 + r.IntN(20)
		}
		for range n {
			b.WriteRune(runes[r.IntN(len(runes))])
		}
		s := b.String()
		if Valid(s) != reference.MatchString(s) {
			t.Fatalf("Valid(%q) = %v, the reference says %v", s, Valid(s), !Valid(s))
		}
	}
}
