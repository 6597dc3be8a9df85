package outputs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// GitLab's limits on a dotenv report (Ci::ParseDotenvArtifactService and the
// Ci::JobVariable key validation).
const (
	// DotenvPrefix starts every variable Dotenv writes.
	DotenvPrefix = "MANIFESTO_"
	// MaxDotenvSize is the largest dotenv file Dotenv writes, in bytes.
	// GitLab rejects a file unless its size is below the limit (5 KB,
	// 5120 bytes, by default), so 5119 is the most that is accepted.
	MaxDotenvSize = 5*1024 - 1
	// MaxDotenvVariables is the default limit on variables in one file on
	// self-managed GitLab (gitlab.com allows more).
	MaxDotenvVariables = 20
	// maxDotenvKey is the longest variable name GitLab accepts.
	maxDotenvKey = 255
)

// Dotenv writes outs as a GitLab dotenv report (artifacts: reports: dotenv),
// one line MANIFESTO_<NAME>=value per output, NAME being the output's name
// upper-cased with '-' turned into '_'. GitLab reads such a file with simple
// rules: the key is the text before the first '=', the value the rest of the
// line, both with surrounding white space stripped, no quotes or escapes;
// keys may hold only ASCII letters, digits and '_', at most 255 of them; the
// file must be below 5 KB and hold at most 20 variables, or the whole report
// is rejected. So an output is left out when:
//
//   - its variable name would not be valid (a character other than ASCII
//     letters, digits, '-' and '_'; too long) or repeats an earlier one;
//   - its value would not come back as written: it contains a line break
//     (LF or CR) or NUL, is not valid UTF-8, or starts or ends with white
//     space, which GitLab strips;
//   - writing it would make the file MaxDotenvSize bytes or more, or the
//     variables more than MaxDotenvVariables.
//
// Outputs are taken in the given order, so earlier ones win the space.
// Nothing but variable lines is written: no comments, no empty lines. The
// names left out are returned, in order, for the caller to warn about and to
// point at another way to the value (the file get wrote). Note that GitLab
// expands $VARIABLE references in dotenv values when a later job uses them.
func Dotenv(w io.Writer, outs []Output) (skipped []string, err error) {
	var buf bytes.Buffer
	seen := make(map[string]bool)
	for _, o := range outs {
		key, ok := dotenvKey(o.Name)
		if !ok || seen[key] || !dotenvValue(o.Value) ||
			len(seen) == MaxDotenvVariables ||
			buf.Len()+len(key)+1+len(o.Value)+1 > MaxDotenvSize {
			skipped = append(skipped, o.Name)
			continue
		}
		seen[key] = true
		buf.WriteString(key)
		buf.WriteByte('=')
		buf.WriteString(o.Value)
		buf.WriteByte('\n')
	}
	_, err = w.Write(buf.Bytes())
	return skipped, err
}

// dotenvKey is the variable name of the output called name.
func dotenvKey(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	var b strings.Builder
	b.WriteString(DotenvPrefix)
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_':
			b.WriteByte(c)
		case c == '-':
			b.WriteByte('_')
		default:
			return "", false
		}
	}
	return b.String(), b.Len() <= maxDotenvKey
}

// dotenvValue reports whether GitLab reads v back unchanged from KEY=v.
func dotenvValue(v string) bool {
	if strings.ContainsAny(v, "\n\r\x00") || !utf8.ValidString(v) {
		return false
	}
	// Ruby's String#strip removes these at both ends.
	const stripped = " \t\n\v\f\r\x00"
	return v == "" || (strings.IndexByte(stripped, v[0]) < 0 && strings.IndexByte(stripped, v[len(v)-1]) < 0)
}

// jsonLine is one line of JSONLines.
type jsonLine struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// JSONLines writes outs as GitLab CI/CD Functions outputs, the JSON Lines
// appended to the file a step gets as ${{ output_file }}: one object
// {"name": string, "value": string} per output and line. Values are JSON
// strings, so the step's spec should declare the outputs as strings (found
// is "true"/"false", not a boolean). Names must match
// [A-Za-z_][A-Za-z0-9_-]*; otherwise nothing is written. Invalid UTF-8 in a
// value is written as U+FFFD. All lines are written with one Write call.
func JSONLines(w io.Writer, outs []Output) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, o := range outs {
		if !outputName.MatchString(o.Name) {
			return fmt.Errorf("outputs: invalid output name %q", o.Name)
		}
		if err := enc.Encode(jsonLine(o)); err != nil {
			return err
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}
