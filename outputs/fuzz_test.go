package outputs

// Native fuzz targets for the CI writers and the error line: each output is
// read back by a parser that follows the consumer's rules (the GitHub runner,
// GitLab's dotenv report, JSON Lines, the runner's workflow commands).
// Seed corpora live under testdata/fuzz/<FuzzName>/ and run as ordinary
// tests; scripts/fuzz.sh runs each target for a while.

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// fuzzOutputs builds the outputs of a fuzz case: the three given, then
// copies%32 more rounds of them named <name>_<round>, to reach the limits
// on the number and size of outputs.
func fuzzOutputs(n1, v1, n2, v2, n3, v3 string, copies uint8) []Output {
	base := []Output{{n1, v1}, {n2, v2}, {n3, v3}}
	outs := slices.Clone(base)
	for round := 1; round <= int(copies%32); round++ {
		for _, o := range base {
			outs = append(outs, Output{o.Name + "_" + strconv.Itoa(round), o.Value})
		}
	}
	return outs
}

// addOutputSeeds adds the seeds shared by the output writers.
func addOutputSeeds(f *testing.F) {
	long := strings.Repeat("x", 2000)
	fake := githubDelimiterPrefix + strings.Repeat("0", 32)
	for _, s := range []struct {
		n1, v1, n2, v2, n3, v3 string
		copies                 uint8
	}{
		{"digest", digestA, "found", "true", "json", `{"key":"sbom","size":-1}`, 0},
		{"value", "line one\nline two\n", "empty", "", "crlf", "a\r\nb\r", 0},
		{"value", "EOF\nname<<EOF\nx=y\nEOF\n", "eof", "EOF", "delim", fake + "\n" + fake, 0},
		{"sbom-get_digest", "1", "_x", "2", "A9", "3", 0},
		{"", "x", "1a", "y", "a=b", "z", 0},
		{"a b", "x", "é", "y", "a<<b", "z", 0},
		{"x", "1", "x", "2", "X", "3", 0},
		{"a-b", "1", "a_b", "2", "A_B", "3", 0},
		{"lead", " x", "trail", "x\t", "nul", "a\x00b", 0},
		{"utf8", "a\xffb", "bom", "\ufeffv", "ls", "a\u2028b\u0085c", 0},
		{"v", "x", "w", "y", "z", "", 7},
		{"big", long, "bigger", long + long, "small", "s", 2},
		{"value", `a=b #c 'q' "d" \n $X ${Y}`, "inner", "a  b\tc", "unicode", "héllo ✓ 🙂", 0},
		{strings.Repeat("n", 245), "1", strings.Repeat("n", 246), "2", "ok", "3", 0},
		{"value", "\v\f", "v2", "\x1b[31mred", "v3", "%0A%25::", 1},
	} {
		f.Add(s.n1, s.v1, s.n2, s.v2, s.n3, s.v3, s.copies)
	}
}

// nameOK is the output name rule, [A-Za-z_][A-Za-z0-9_-]*, without regular
// expressions.
func nameOK(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c == '_'
		if !letter && (i == 0 || !(('0' <= c && c <= '9') || c == '-')) {
			return false
		}
	}
	return true
}

// FuzzGitHubOutput: GitHubOutput either refuses (an invalid name; nothing
// written) or appends text from which the runner's parser reads back exactly
// the outputs given, in order, each in a heredoc with its own delimiter that
// does not occur in the value.
func FuzzGitHubOutput(f *testing.F) {
	addOutputSeeds(f)
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2, n3, v3 string, copies uint8) {
		outs := fuzzOutputs(n1, v1, n2, v2, n3, v3, copies)
		valid := true
		for _, o := range outs {
			valid = valid && nameOK(o.Name)
		}
		const earlier = "earlier=kept\n"
		var buf bytes.Buffer
		buf.WriteString(earlier)
		err := GitHubOutput(&buf, outs)
		if err != nil {
			if valid {
				t.Fatalf("GitHubOutput(%q): %v", outs, err)
			}
			if buf.String() != earlier {
				t.Fatalf("wrote %q on error", buf.String()[len(earlier):])
			}
			return
		}
		if !valid {
			t.Fatalf("GitHubOutput accepted %q", outs)
		}
		got, delims, err := parseGitHubFile(buf.String())
		if err != nil {
			t.Fatalf("the runner rejects %q: %v", buf.String(), err)
		}
		if want := append([]Output{{"earlier", "kept"}}, outs...); !slices.Equal(got, want) {
			t.Fatalf("the runner reads %q,\nwant %q", got, want)
		}
		if len(delims) != len(outs) {
			t.Fatalf("%d heredocs for %d outputs", len(delims), len(outs))
		}
		for i, d := range delims {
			if !delimPattern.MatchString(d) || strings.Contains(outs[i].Value, d) {
				t.Fatalf("delimiter %q for value %q", d, outs[i].Value)
			}
		}
	})
}

// FuzzDotenv: Dotenv writes a report GitLab accepts (below 5120 bytes, at
// most 20 variables, one KEY=VALUE line each) from which GitLab and
// gitlab-ci-local read every output not skipped with exactly its value; and
// it skips exactly the outputs the rules force it to, computed here from
// those rules and a naive spelling of the safe characters (a value a shell
// sourcing the file could take differently, or run, is never written;
// TestDotenvSourcedByShells runs real shells on such files).
func FuzzDotenv(f *testing.F) {
	addOutputSeeds(f)
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2, n3, v3 string, copies uint8) {
		outs := fuzzOutputs(n1, v1, n2, v2, n3, v3, copies)
		var buf bytes.Buffer
		skipped, err := Dotenv(&buf, outs)
		if err != nil {
			t.Fatal(err)
		}
		if buf.Len() >= gitlabDotenvSize || buf.Len() > MaxDotenvSize {
			t.Fatalf("the report is %d bytes", buf.Len())
		}
		got, err := parseGitLabDotenv(buf.Bytes())
		if err != nil {
			t.Fatalf("GitLab rejects the report: %v\n%q", err, buf.String())
		}

		// GitLab's rules, applied in order.
		want := map[string]string{}
		var wantSkipped []string
		size := 0
		for _, o := range outs {
			key := "MANIFESTO_OUT_" + strings.ToUpper(strings.ReplaceAll(o.Name, "-", "_"))
			nameValid := o.Name != "" && len(key) <= 255
			for _, c := range []byte(o.Name) {
				nameValid = nameValid && (c == '_' || c == '-' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z'))
			}
			_, dup := want[key]
			line := len(key) + 1 + len(o.Value) + 1
			readBack := strings.Trim(o.Value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/@+=,-") == ""
			if !nameValid || dup || !readBack || len(want) == gitlabDotenvVariables || size+line >= gitlabDotenvSize {
				wantSkipped = append(wantSkipped, o.Name)
				continue
			}
			want[key] = o.Value
			size += line
		}
		if !maps.Equal(got, want) {
			t.Fatalf("GitLab reads %q,\nwant %q", got, want)
		}
		if npm := parseNPMDotenv(buf.Bytes()); !maps.Equal(npm, want) {
			t.Fatalf("gitlab-ci-local reads %q,\nwant %q", npm, want)
		}
		if !slices.Equal(skipped, wantSkipped) {
			t.Fatalf("skipped %q, want %q", skipped, wantSkipped)
		}
		if buf.Len() != size {
			t.Fatalf("report of %d bytes, want %d", buf.Len(), size)
		}
		if n := strings.Count(buf.String(), "\n"); n != len(got) || (n > 0 && !strings.HasSuffix(buf.String(), "\n")) {
			t.Fatalf("%d lines for %d variables: %q", n, len(got), buf.String())
		}
	})
}

// FuzzJSONLines: JSONLines either refuses (an invalid name; nothing written)
// or writes one line per output, each exactly {"name","value"} with string
// values that decode to the output (invalid UTF-8 bytes as U+FFFD each).
func FuzzJSONLines(f *testing.F) {
	addOutputSeeds(f)
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2, n3, v3 string, copies uint8) {
		outs := fuzzOutputs(n1, v1, n2, v2, n3, v3, copies)
		valid := true
		for _, o := range outs {
			valid = valid && nameOK(o.Name)
		}
		var buf bytes.Buffer
		err := JSONLines(&buf, outs)
		if err != nil {
			if valid || buf.Len() != 0 {
				t.Fatalf("JSONLines(%q): %v, wrote %q", outs, err, buf.String())
			}
			return
		}
		if !valid {
			t.Fatalf("JSONLines accepted %q", outs)
		}
		if strings.Contains(buf.String(), "\r") || strings.Count(buf.String(), "\n") != len(outs) ||
			(len(outs) > 0 && !strings.HasSuffix(buf.String(), "\n")) {
			t.Fatalf("not one line per output: %q", buf.String())
		}
		got := parseJSONLines(t, &buf)
		want := make([]Output, len(outs))
		for i, o := range outs {
			want[i] = Output{o.Name, string([]rune(o.Value))} // each invalid byte becomes U+FFFD
		}
		if !slices.Equal(got, want) {
			t.Fatalf("read back %q, want %q", got, want)
		}
	})
}

// githubNameOK is the documented rule for command names (dash true),
// [A-Za-z][A-Za-z0-9_-]*, and for property names, [A-Za-z][A-Za-z0-9_]*.
func githubNameOK(name string, dash bool) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		other := ('0' <= c && c <= '9') || c == '_' || (dash && c == '-')
		if !letter && (i == 0 || !other) {
			return false
		}
	}
	return true
}

// FuzzGitHubCommand: GitHubCommand either refuses (an invalid command or
// property name; nothing written) or writes exactly one line, without CR,
// from which the runner's parser reads back the command, every property and
// the message unchanged.
//
// props bit 0 adds property k1=v1, bit 1 k2=v2; bit 2 passes a nil map when
// no property is added.
func FuzzGitHubCommand(f *testing.F) {
	for _, s := range []struct {
		cmd, k1, v1, k2, v2, msg string
		props                    uint8
	}{
		{"error", "title", "put sbom", "", "", "denied", 1},
		{"add-mask", "", "", "", "", "s3cr3t", 4},
		{"group", "", "", "", "", "get sbom", 0},
		{"endgroup", "", "", "", "", "", 4},
		{"warning", "file", "a.yml", "line", "3", "m", 3},
		{"error", "", "", "", "", "100% done\r\nnext::line %0A", 0},
		{"error", "title", "a:b,c=d%\n", "col", "%3A%2C%25", "x", 3},
		{"notice", "title", "x::warning::y", "", "", "\n::add-mask::z\n::error::boom", 1},
		{"error", "title", "", "title", "", "m", 3},
		{"add mask", "", "", "", "", "m", 0},
		{"error::x", "", "", "", "", "m", 0},
		{"error", "a,b", "x", "a=b", "y", "m", 3},
		{"error", "", "x", "9", "y", "m", 1},
		{"x-y_z", "p_1", "\u2028\u0085", "Q", "\xff", "\x00\x1b[0m", 3},
		{"", "", "", "", "", "", 0},
	} {
		f.Add(s.cmd, s.k1, s.v1, s.k2, s.v2, s.msg, s.props)
	}
	f.Fuzz(func(t *testing.T, cmd, k1, v1, k2, v2, msg string, which uint8) {
		var props map[string]string
		if which&3 != 0 || which&4 == 0 {
			props = map[string]string{}
		}
		if which&1 != 0 {
			props[k1] = v1
		}
		if which&2 != 0 {
			props[k2] = v2
		}
		valid := githubNameOK(cmd, true)
		for name := range props {
			valid = valid && githubNameOK(name, false)
		}
		var buf bytes.Buffer
		err := GitHubCommand(&buf, cmd, props, msg)
		if err != nil {
			if valid || buf.Len() != 0 {
				t.Fatalf("GitHubCommand(%q, %q, %q): %v, wrote %q", cmd, props, msg, err, buf.String())
			}
			return
		}
		if !valid {
			t.Fatalf("GitHubCommand accepted command %q with properties %q", cmd, props)
		}
		out := buf.String()
		if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") || strings.Contains(out, "\r") {
			t.Fatalf("not exactly one line: %q", out)
		}
		gotCmd, gotProps, data, err := parseGitHubCommand(strings.TrimSuffix(out, "\n"))
		if err != nil {
			t.Fatalf("the runner cannot parse %q: %v", out, err)
		}
		want := props
		if want == nil {
			want = map[string]string{}
		}
		if gotCmd != cmd || data != msg || !maps.Equal(gotProps, want) {
			t.Fatalf("the runner reads %q %q %q from %q, want %q %q %q", gotCmd, gotProps, data, out, cmd, want, msg)
		}
	})
}

// FuzzError: Error writes nothing for a nil error and otherwise exactly one
// line "manifesto: <message>\n": the message is valid UTF-8 without control
// characters, trimmed, not empty, at most MaxMessageLen characters, and it
// is the error's text with each run of control characters turned into one
// space (cut, and ending with "…", only when that is longer than the limit).
//
// kind picks how msg is wrapped: 0 errors.New, 1 fmt.Errorf %w, 2
// errdef.Usagef, 3 errdef.WithClass, 4 a typed nil whose Error panics, 5 nil.
func FuzzError(f *testing.F) {
	for _, s := range []string{
		"get sbom: not found", "registry said:\n  denied\r\nretry later\n", "a\rb", "a\x1b[31mb\tc\x00d",
		" \n\t padded \r\n ", "", "\n\r\n", strings.Repeat("x", MaxMessageLen), strings.Repeat("x", MaxMessageLen+1),
		strings.Repeat("é", 1500), strings.Repeat("x", MaxMessageLen-2) + "\n\nyyyy", "bad \xff byte",
		"a\u2028b\u2029c\u0085d", "\x01 lead", "trail \x01", "%s %v %!", strings.Repeat("ab \x01", 400),
		"::", "::error::x", " \n::add-mask::x", "::" + strings.Repeat("\"", MaxMessageLen),
	} {
		for kind := uint8(0); kind < 4; kind++ {
			f.Add(s, kind)
		}
	}
	f.Add("", uint8(4))
	f.Add("", uint8(5))
	f.Fuzz(func(t *testing.T, msg string, kind uint8) {
		var err error
		switch kind % 6 {
		case 0:
			err = errors.New(msg)
		case 1:
			err = fmt.Errorf("put sbom: %w", errors.New(msg))
		case 2:
			err = errdef.Usagef("%s", msg)
		case 3:
			err = errdef.WithClass(errors.New(msg), errdef.ErrNotFound)
		case 4:
			var p *panicky
			err = p
		}
		var buf bytes.Buffer
		Error(&buf, err, nil)
		out := buf.String()
		if err == nil {
			if out != "" {
				t.Fatalf("wrote %q for a nil error", out)
			}
			return
		}
		if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") || strings.Contains(out, "\r") {
			t.Fatalf("not exactly one line: %q", out)
		}
		line, ok := strings.CutPrefix(strings.TrimSuffix(out, "\n"), "manifesto: ")
		if !ok {
			t.Fatalf("no prefix: %q", out)
		}
		if !utf8.ValidString(line) || strings.ContainsFunc(line, unicode.IsControl) {
			t.Fatalf("message %q is not valid UTF-8 free of control characters", line)
		}
		// The documented rule for a message that would start with "::" (a
		// GitHub workflow command) or `"::` (which would read as a quoted
		// one): it is printed Go-quoted. What the quotes hold is checked
		// like any other message.
		if strings.HasPrefix(line, `"::`) || strings.HasPrefix(line, `"\"::`) {
			unq, err := strconv.Unquote(line)
			if err != nil || !(strings.HasPrefix(unq, "::") || strings.HasPrefix(unq, `"::`)) {
				t.Fatalf("message %q starts like a quoted command but is not one", line)
			}
			line = unq
		} else if strings.HasPrefix(line, "::") {
			t.Fatalf("message %q starts with a workflow command", line)
		}
		if line == "" || strings.TrimSpace(line) != line {
			t.Fatalf("message %q is empty or not trimmed", line)
		}
		if n := utf8.RuneCountInString(line); n > MaxMessageLen {
			t.Fatalf("message of %d characters", n)
		}

		text := "unprintable error (*outputs.panicky)"
		if kind%6 != 4 {
			text = err.Error()
		}
		want := collapseControls(text)
		switch {
		case want == "":
			if line != "unknown error" {
				t.Fatalf("message %q for the blank text %q", line, text)
			}
		case utf8.RuneCountInString(want) <= MaxMessageLen:
			if line != want {
				t.Fatalf("message %q for text %q, want %q", line, text, want)
			}
		default:
			cut, ok := strings.CutSuffix(line, "…")
			if !ok || !strings.HasPrefix(want, cut) {
				t.Fatalf("message %q is not a cut of %q", line, want)
			}
			if w := []rune(want); utf8.RuneCountInString(cut) < len([]rune(strings.TrimRightFunc(string(w[:MaxMessageLen-1]), unicode.IsSpace))) {
				t.Fatalf("message %q cut shorter than needed from %q", line, want)
			}
		}
	})
}

// collapseControls is the documented message text: invalid UTF-8 as U+FFFD,
// each run of control characters (and Unicode line or paragraph
// separators) one space, surrounding white space trimmed. A naive
// reference: rune by rune through a regular expression.
func collapseControls(s string) string {
	return strings.TrimSpace(controlRuns.ReplaceAllString(string([]rune(s)), " "))
}

var controlRuns = regexp.MustCompile("[\\p{Cc}\u2028\u2029]+")
