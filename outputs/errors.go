package outputs

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/manifesto-dev/manifesto/steps"
)

// MaxMessageLen is the longest error or warning message written, in
// characters (runes); longer messages are cut and end with "…".
const MaxMessageLen = 1000

// Error writes err as exactly one line, "manifesto: <message>\n". Newlines,
// carriage returns and other control characters in the message are collapsed
// to single spaces, the message is trimmed, and one longer than MaxMessageLen
// characters is cut to that length ending with "…". A nil err writes nothing.
// Write errors are ignored: there is nowhere left to report them.
func Error(w io.Writer, err error) {
	if err == nil {
		return
	}
	msg := oneLine(errorText(err), MaxMessageLen)
	if msg == "" {
		msg = "unknown error"
	}
	io.WriteString(w, "manifesto: "+msg+"\n")
}

// Warnings writes each of r.Warnings as its own line,
// "manifesto: warning: <text>\n", made one line the same way Error does.
// Empty warnings are skipped. Write errors are ignored.
func Warnings(w io.Writer, r steps.Result) {
	for _, warning := range r.Warnings {
		if msg := oneLine(warning, MaxMessageLen); msg != "" {
			io.WriteString(w, "manifesto: warning: "+msg+"\n")
		}
	}
}

// errorText is err.Error(), surviving an Error method that panics (a typed nil
// pointer in a non-nil interface, say): the error line is the last thing a
// failing run prints and must not turn into a crash.
func errorText(err error) (s string) {
	defer func() {
		if recover() != nil {
			s = fmt.Sprintf("unprintable error (%T)", err)
		}
	}()
	return err.Error()
}

// oneLine collapses each run of control characters (newline, carriage return,
// tab, escape, ...) and Unicode line or paragraph separators in s to one
// space, trims surrounding white space, and cuts the result to at most max
// runes, the last being "…" when cut. Invalid UTF-8 becomes U+FFFD.
func oneLine(s string, max int) string {
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
	out := strings.TrimSpace(b.String())
	if utf8.RuneCountInString(out) <= max {
		return out
	}
	r := []rune(out)
	return strings.TrimRightFunc(string(r[:max-1]), unicode.IsSpace) + "…"
}
