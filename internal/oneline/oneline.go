// Package oneline is manifesto's one way of putting text on one line: the
// messages of usage errors (inputs), the forms of a secret that redaction
// looks for (internal/secret), and every error and warning line written
// (outputs).
package oneline

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line collapses each run of control characters (newline, carriage return,
// tab, escape, ...) and Unicode line or paragraph separators in s to one
// space and trims surrounding white space. Invalid UTF-8 becomes U+FFFD.
func Line(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r) // an invalid byte arrives as utf8.RuneError
	}
	return strings.TrimSpace(b.String())
}

// Cut shortens s to at most max runes (max > 0), the last being "…" when
// it was cut.
func Cut(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:max-1]), unicode.IsSpace) + "…"
}
