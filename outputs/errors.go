package outputs

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/manifesto-dev/manifesto/internal/oneline"
	"github.com/manifesto-dev/manifesto/internal/secret"
	"github.com/manifesto-dev/manifesto/steps"
)

// MaxMessageLen is the longest error or warning message written, in
// characters (runes); longer messages are cut and end with "…".
const MaxMessageLen = 1000

// Error writes err as exactly one line, "manifesto: <message>\n". Every
// secret of secrets (nil: none) is redacted, newlines, carriage returns and
// other control characters in the message are collapsed to single spaces, the
// message is trimmed, and one longer than MaxMessageLen characters is cut to
// that length ending with "…". A nil err writes nothing. Write errors are
// ignored: there is nowhere left to report them.
func Error(w io.Writer, err error, secrets *secret.Set) {
	if err == nil {
		return
	}
	msg := redactedLine(secrets, errorText(err), MaxMessageLen)
	if msg == "" {
		msg = "unknown error"
	}
	io.WriteString(w, "manifesto: "+msg+"\n")
}

// Warnings writes each of r.Warnings as its own line with Warning. Write
// errors are ignored.
func Warnings(w io.Writer, r steps.Result, secrets *secret.Set) {
	for _, warning := range r.Warnings {
		Warning(w, warning, secrets)
	}
}

// Warning writes msg as one line, "manifesto: warning: <text>\n", redacted and
// made one line the same way Error does. An empty msg writes nothing. Write
// errors are ignored.
func Warning(w io.Writer, msg string, secrets *secret.Set) {
	if msg = redactedLine(secrets, msg, MaxMessageLen); msg != "" {
		io.WriteString(w, "manifesto: warning: "+msg+"\n")
	}
}

// Info writes msg as one line, "manifesto: <text>\n", redacted and made one
// line the same way Error does: the CI log line of a step's operation. An
// empty msg writes nothing. Write errors are ignored.
func Info(w io.Writer, msg string, secrets *secret.Set) {
	if msg = redactedLine(secrets, msg, MaxMessageLen); msg != "" {
		io.WriteString(w, "manifesto: "+msg+"\n")
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

// redactedLine is the one way text from outside the program (an input, a
// file name, a key, a media type, an annotation, a registry's error body, an
// error message) is put into human-readable output, by every writer of this
// package that prints for people (Error, Warning, Info, progress labels, the
// step summary): s without the secrets of secrets (as given, and once s is on
// one line), on one line (oneline.Line: no control character, carriage
// return, newline or Unicode line separator survives), cut to at most max
// runes, and quoted as noCommand says, so that it cannot read as a GitHub
// workflow command wherever it begins a line.
func redactedLine(secrets *secret.Set, s string, max int) string {
	return noCommand(oneline.Cut(secrets.Redact(oneline.Line(secrets.Redact(s))), max))
}

// labelLine is redactedLine(secrets, label, max) made safe to begin a printed
// line whatever follows it (progress prints "LABEL: 60 B / 100 B"): it is
// also Go-quoted when it starts with ":" (a label ":" followed by ": …"
// starts a workflow command). Every writer that begins a line with outside
// text and goes on with its own uses it.
func labelLine(secrets *secret.Set, label string, max int) string {
	l := redactedLine(secrets, label, max)
	if strings.HasPrefix(l, ":") {
		return strconv.Quote(l)
	}
	return l
}

// noCommand is line, Go-quoted (strconv.Quote) when it starts with "::"
// (a GitHub workflow command; the runner trims leading white space first,
// as oneline.Line does) or with `"::` (which would read as such a quoted
// command): a printed line that starts with `"::` is always a quoted
// command, never the text itself. Apply it to a whole line built from
// outside text too: a label ":" followed by ": …" starts one.
func noCommand(line string) string {
	if strings.HasPrefix(line, workflowCommandStart) || strings.HasPrefix(line, `"`+workflowCommandStart) {
		return strconv.Quote(line)
	}
	return line
}

// workflowCommandStart begins a GitHub workflow command.
const workflowCommandStart = "::"
