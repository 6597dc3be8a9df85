package outputs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// GitLab's limits on a dotenv report (Ci::ParseDotenvArtifactService and the
// Ci::JobVariable key validation).
const (
	// DotenvPrefix starts every variable Dotenv writes. It is not the
	// MANIFESTO_ of inputs: GitLab gives a job the dotenv variables of the
	// jobs it needs over its own variables, and a Drone or Woodpecker
	// step that sources the file exports them, so an output named like an
	// input would come back as that input (a test checks that no input
	// variable of any system starts with it).
	DotenvPrefix = "MANIFESTO_OUT_"
	// MaxDotenvSize is the largest dotenv file Dotenv writes, in bytes.
	// GitLab rejects a file unless its size is below the limit (5 KB,
	// 5120 bytes, by default), so 5119 is the most that is accepted.
	MaxDotenvSize = 5*1024 - 1
	// MaxDotenvVariables is the default limit on variables in one file on
	// self-managed GitLab (gitlab.com allows more).
	MaxDotenvVariables = 20
	// maxDotenvKey is the longest variable name GitLab accepts.
	maxDotenvKey = 255
	// DotenvValueChars are the only bytes of a value Dotenv writes.
	DotenvValueChars = "A-Z a-z 0-9 . _ : / @ + = , -"
)

// Dotenv writes outs as a dotenv file, one line MANIFESTO_OUT_<NAME>=value
// per output, NAME being the output's name upper-cased with '-' turned into
// '_'. The one file has three readers that must all get the same variables
// with the same values, and must never run anything:
//
//   - sh and bash sourcing it (`set -a; . ./manifesto.env`, the way to use
//     it on Drone and Woodpecker): an unquoted value is subject to quote
//     removal, $ and backquote substitution, word splitting, and ; & | < >
//     end the assignment; inside quotes, other rules;
//   - GitLab's dotenv report (artifacts: reports: dotenv): the key is the
//     text before the first '=', the value the rest of the line, both
//     stripped of white space; quotes are kept as they are; $VAR is
//     expanded when a later job uses the variable; keys only ASCII letters,
//     digits and '_', at most 255; the file below 5 KB, at most 20
//     variables, or the whole report is rejected;
//   - gitlab-ci-local (the npm dotenv parser): strips surrounding quotes,
//     cuts a value at '#', expands $VAR.
//
// No quoting reads the same in all three (GitLab keeps quotes that the
// others remove), so values are written unquoted, and only a value made
// entirely of DotenvValueChars (or empty) is written: none of those bytes
// means anything to any of the readers. An output is left out when:
//
//   - its variable name would not be valid (a character other than ASCII
//     letters, digits, '-' and '_'; too long) or repeats an earlier one;
//   - its value has any other byte: white space, line breaks, quotes, $,
//     backquote, #, ;, &, |, (, ), <, >, \, ~, *, ?, [, non-ASCII, ...;
//   - writing it would make the file MaxDotenvSize bytes or more, or the
//     variables more than MaxDotenvVariables.
//
// Outputs are taken in the given order, so earlier ones win the space.
// Nothing but variable lines is written: no comments, no empty lines. The
// names left out are returned, in order, for the caller to warn about and to
// point at another way to the value (the file get wrote).
func Dotenv(w io.Writer, outs []Output) (skipped []string, err error) {
	var buf bytes.Buffer
	seen := make(map[string]bool)
	for _, o := range outs {
		key, ok := DotenvName(o.Name)
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

// DotenvOutputs is the part of outs a dotenv file can carry, most important
// first (ByImportance): every output but json (and <id>_json), a JSON
// document needing the quotes the readers of the file disagree on. It is
// left out by design, without a warning.
func DotenvOutputs(outs []Output) []Output {
	var keep []Output
	for _, o := range outs {
		if o.Name != "json" && !strings.HasSuffix(o.Name, "_json") {
			keep = append(keep, o)
		}
	}
	return ByImportance(keep)
}

// DotenvName is the variable Dotenv writes the output called name to, and
// whether it can (GitLab's rules for keys).
func DotenvName(name string) (string, bool) {
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

// dotenvValue reports whether v is made only of DotenvValueChars, which sh,
// bash, GitLab and gitlab-ci-local all read back unchanged from KEY=v.
func dotenvValue(v string) bool {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("._:/@+=,-", c) >= 0:
		default:
			return false
		}
	}
	return true
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
