package outputs

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/manifesto-dev/manifesto/internal/secret"
)

// githubDelimiterPrefix starts every heredoc delimiter GitHubOutput writes;
// it is the prefix GitHub's own toolkit uses.
const githubDelimiterPrefix = "ghadelimiter_"

// GitHubOutput appends outs to w in the format of the file named by
// $GITHUB_OUTPUT. Every output uses the heredoc form
//
//	name<<DELIMITER
//	value
//	DELIMITER
//
// which the runner reads back byte for byte: empty values, values with
// newlines (trailing ones included) and carriage returns all survive. Each
// output gets its own delimiter, "ghadelimiter_" and 32 random hex digits
// from crypto/rand, drawn again if it occurs anywhere in the value (a
// stronger rule than "not as a line", which also covers runners that split
// lines at CR LF).
//
// Names must match [A-Za-z_][A-Za-z0-9_-]*; otherwise nothing is written and
// the error names the output. All outputs are written with one Write call,
// so a validation error writes nothing. Values are written as given: the
// runner reads the file as UTF-8, so invalid UTF-8 would arrive altered.
func GitHubOutput(w io.Writer, outs []Output) error {
	return githubOutput(w, outs, rand.Reader)
}

// githubOutput is GitHubOutput with the delimiters' randomness from rnd.
func githubOutput(w io.Writer, outs []Output, rnd io.Reader) error {
	var buf bytes.Buffer
	for _, o := range outs {
		if !outputName.MatchString(o.Name) {
			return fmt.Errorf("outputs: invalid GitHub output name %q", o.Name)
		}
		delim, err := githubDelimiter(o.Value, rnd)
		if err != nil {
			return fmt.Errorf("outputs: GitHub output %s: %w", o.Name, err)
		}
		buf.WriteString(o.Name)
		buf.WriteString("<<")
		buf.WriteString(delim)
		buf.WriteByte('\n')
		buf.WriteString(o.Value)
		buf.WriteByte('\n')
		buf.WriteString(delim)
		buf.WriteByte('\n')
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// githubDelimiter draws delimiters from rnd until one does not occur in value.
func githubDelimiter(value string, rnd io.Reader) (string, error) {
	var b [16]byte
	for range 100 {
		if _, err := io.ReadFull(rnd, b[:]); err != nil {
			return "", fmt.Errorf("random delimiter: %w", err)
		}
		delim := githubDelimiterPrefix + hex.EncodeToString(b[:])
		if !strings.Contains(value, delim) {
			return delim, nil
		}
	}
	// Only a broken random source gets here: 128 random bits do not collide
	// a hundred times in a row.
	return "", errors.New("no delimiter found that does not occur in the value")
}

// githubCommandName and githubPropertyName bound what GitHubCommand writes
// before the message: a command name such as "add-mask", a property name such
// as "endLine". Neither may contain the ' ', ',', '=' or ':' of the syntax.
var (
	githubCommandName  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
	githubPropertyName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
)

// GitHubCommand writes one workflow command line for the runner, which reads
// them on the step's stdout:
//
//	::cmd::msg
//	::cmd name=value,name=value::msg
//
// for example GitHubCommand(w, "error", map[string]string{"title": "put"},
// "denied"), GitHubCommand(w, "add-mask", nil, secret), GitHubCommand(w,
// "group", nil, "get sbom") and GitHubCommand(w, "endgroup", nil, "").
// Properties are written sorted by name. msg is escaped as GitHub's toolkit
// does ('%' as %25, CR as %0D, LF as %0A), property values also ':' as %3A and
// ',' as %2C, so no text can end the line or start another command. cmd must
// match [A-Za-z][A-Za-z0-9_-]* and property names [A-Za-z][A-Za-z0-9_]*;
// otherwise nothing is written. The runner masks text line by line, so a
// multi-line secret should be masked one line at a time.
func GitHubCommand(w io.Writer, cmd string, props map[string]string, msg string) error {
	if !githubCommandName.MatchString(cmd) {
		return fmt.Errorf("outputs: invalid workflow command name %q", cmd)
	}
	names := make([]string, 0, len(props))
	for name := range props {
		if !githubPropertyName.MatchString(name) {
			return fmt.Errorf("outputs: invalid workflow command property name %q", name)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("::")
	b.WriteString(cmd)
	for i, name := range names {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(githubPropertyEscaper.Replace(props[name]))
	}
	b.WriteString("::")
	b.WriteString(githubDataEscaper.Replace(msg))
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// The escapes of GitHub's toolkit (actions/toolkit, core/src/command.ts).
// strings.Replacer replaces in one pass, so '%' is never escaped twice.
var (
	githubDataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	githubPropertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// GitHubAnnotation writes a workflow command that annotates the run: kind
// "error", "warning" or "notice", with the title property when title is not
// empty. msg is text from outside the program (an error, a store warning): it
// is redacted, made one line and cut as Error does before GitHubCommand
// escapes it.
func GitHubAnnotation(w io.Writer, kind, title, msg string, secrets *secret.Set) error {
	var props map[string]string
	if title != "" {
		props = map[string]string{"title": title}
	}
	return GitHubCommand(w, kind, props, redactedLine(secrets, msg, MaxMessageLen))
}

// GitHubMasks writes one ::add-mask:: command for each mask of secrets
// (each secret and its derived forms, a line at a time: the runner masks
// line by line), so that the runner hides them in every later log line.
func GitHubMasks(w io.Writer, secrets *secret.Set) error {
	return (&GitHubMasker{W: w, Secrets: secrets}).Flush()
}

// GitHubMasker writes the ::add-mask:: commands of a Set that grows while
// the step runs: the secret inputs first, then the secrets learned at run
// time (a bearer token a registry handed out), each once.
type GitHubMasker struct {
	W       io.Writer
	Secrets *secret.Set
	done    int // masks already written
}

// Flush writes the masks added since the last Flush.
func (m *GitHubMasker) Flush() error {
	masks := m.Secrets.Masks()
	for ; m.done < len(masks); m.done++ {
		if err := GitHubCommand(m.W, "add-mask", nil, masks[m.done]); err != nil {
			return err
		}
	}
	return nil
}
