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
	"testing"
)

// parseGitHubFile reads a $GITHUB_OUTPUT file the way the runner does on
// Linux (actions/runner, FileCommandManager.cs, EnvFileKeyValuePairs): lines
// end at "\n"; empty lines are skipped; a line whose first "=" comes before
// any "<<" is name=value; otherwise name<<DELIMITER starts a value that runs
// up to the first following line equal to DELIMITER, without the line break
// before that line. It also returns the delimiters seen.
func parseGitHubFile(text string) (outs []Output, delims []string, err error) {
	index := 0
	readLine := func() (line string, ok, newline bool) {
		if index >= len(text) {
			return "", false, false
		}
		start := index
		lf := strings.IndexByte(text[index:], '\n')
		if lf < 0 {
			index = len(text)
			return text[start:], true, false
		}
		index += lf + 1
		return text[start : index-1], true, true
	}
	for {
		line, ok, _ := readLine()
		if !ok {
			return outs, delims, nil
		}
		if line == "" {
			continue
		}
		eq := strings.Index(line, "=")
		heredoc := strings.Index(line, "<<")
		switch {
		case eq >= 0 && (heredoc < 0 || eq < heredoc):
			name, value, _ := strings.Cut(line, "=")
			if name == "" {
				return nil, nil, fmt.Errorf("invalid format %q: empty name", line)
			}
			outs = append(outs, Output{name, value})
		case heredoc >= 0 && (eq < 0 || heredoc < eq):
			name, delim, _ := strings.Cut(line, "<<")
			if name == "" || delim == "" {
				return nil, nil, fmt.Errorf("invalid format %q", line)
			}
			start, end := index, index
			for {
				l, ok, newline := readLine()
				if !ok {
					return nil, nil, fmt.Errorf("matching delimiter %q not found", delim)
				}
				if l == delim {
					break
				}
				if !newline {
					return nil, nil, errors.New("EOF marker missing new line")
				}
				end = index - 1
			}
			outs = append(outs, Output{name, text[start:end]})
			delims = append(delims, delim)
		default:
			return nil, nil, fmt.Errorf("invalid format %q", line)
		}
	}
}

var delimPattern = regexp.MustCompile(`^ghadelimiter_[0-9a-f]{32}$`)

func TestGitHubOutput(t *testing.T) {
	t.Parallel()
	fake := "ghadelimiter_" + strings.Repeat("0", 32)
	tests := []struct {
		name string
		outs []Output
	}{
		{"none", nil},
		{"simple", []Output{{"digest", digestA}, {"found", "true"}}},
		{"empty value", []Output{{"value", ""}}},
		{"only newlines", []Output{{"a", "\n"}, {"b", "\n\n"}, {"c", "\nx"}}},
		{"trailing newline", []Output{{"value", "1.2.3\n"}}},
		{"multi-line", []Output{{"value", "line one\nline two\n\nline four"}}},
		{"CRLF", []Output{{"value", "a\r\nb\r\n"}, {"cr", "\r"}, {"lone", "x\ry"}}},
		{"looks like heredoc syntax", []Output{{"value", "EOF\nname<<EOF\nx=y\nEOF\n"}, {"eof", "EOF"}}},
		{"looks like a delimiter", []Output{{"value", fake + "\n" + fake}, {"other", "ghadelimiter_\nghadelimiter_zz"}}},
		{"unicode", []Output{{"value", "héllo wörld ✓ 🙂"}}},
		{"name shapes", []Output{{"_x", "1"}, {"sbom-get_digest", "2"}, {"A9", "3"}}},
		{"repeated name", []Output{{"x", "1"}, {"x", "2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			buf.WriteString("earlier=kept\n") // GitHubOutput appends
			if err := GitHubOutput(&buf, tt.outs); err != nil {
				t.Fatalf("GitHubOutput: %v", err)
			}
			got, delims, err := parseGitHubFile(buf.String())
			if err != nil {
				t.Fatalf("runner rejects %q: %v", buf.String(), err)
			}
			want := append([]Output{{"earlier", "kept"}}, tt.outs...)
			if !slices.Equal(got, want) {
				t.Errorf("read back %q,\nwant %q\nfrom %q", got, want, buf.String())
			}
			if len(delims) != len(tt.outs) {
				t.Errorf("%d heredocs for %d outputs", len(delims), len(tt.outs))
			}
			seen := map[string]bool{}
			for i, d := range delims {
				if !delimPattern.MatchString(d) {
					t.Errorf("delimiter %q does not look like ghadelimiter_<32 hex>", d)
				}
				if seen[d] {
					t.Errorf("delimiter %q used twice", d)
				}
				seen[d] = true
				if strings.Contains(tt.outs[i].Value, d) {
					t.Errorf("delimiter %q occurs in the value", d)
				}
			}
		})
	}
}

// scriptedReader returns the given chunks, one per Read, then fails.
type scriptedReader struct{ chunks [][]byte }

func (r *scriptedReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, errors.New("entropy exhausted")
	}
	n := copy(p, r.chunks[0])
	r.chunks = r.chunks[1:]
	return n, nil
}

func TestGitHubOutputRedrawsCollidingDelimiter(t *testing.T) {
	t.Parallel()
	first := bytes.Repeat([]byte{0xab}, 16)
	second := bytes.Repeat([]byte{0xcd}, 16)
	colliding := "ghadelimiter_" + hex.EncodeToString(first)
	value := "before\n" + colliding + "\nafter"

	var buf bytes.Buffer
	rnd := &scriptedReader{chunks: [][]byte{first, second}}
	if err := githubOutput(&buf, []Output{{"value", value}}, rnd); err != nil {
		t.Fatal(err)
	}
	got, delims, err := parseGitHubFile(buf.String())
	if err != nil {
		t.Fatal(err)
	}
	if want := "ghadelimiter_" + hex.EncodeToString(second); len(delims) != 1 || delims[0] != want {
		t.Errorf("delimiters = %q, want [%q]", delims, want)
	}
	if len(got) != 1 || got[0].Value != value {
		t.Errorf("read back %q", got)
	}

	// A source that never gives anything else is an error, not a loop.
	stuck := &scriptedReader{}
	for range 200 {
		stuck.chunks = append(stuck.chunks, first)
	}
	buf.Reset()
	if err := githubOutput(&buf, []Output{{"value", value}}, stuck); err == nil || buf.Len() != 0 {
		t.Errorf("stuck source: err %v, wrote %q", err, buf.String())
	}
	// A failing source is an error.
	if err := githubOutput(&buf, []Output{{"value", "x"}}, &scriptedReader{}); err == nil || buf.Len() != 0 {
		t.Errorf("failing source: err %v, wrote %q", err, buf.String())
	}
	// The real source works with a value full of delimiter-like lines.
	if err := githubOutput(&buf, []Output{{"value", value}}, rand.Reader); err != nil {
		t.Error(err)
	}
}

func TestGitHubOutputErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		w    io.Writer
		outs []Output
	}{
		{"empty name", &bytes.Buffer{}, []Output{{"ok", "1"}, {"", "x"}}},
		{"leading digit", &bytes.Buffer{}, []Output{{"1a", "x"}}},
		{"space", &bytes.Buffer{}, []Output{{"a b", "x"}}},
		{"equals", &bytes.Buffer{}, []Output{{"a=b", "x"}}},
		{"heredoc marker", &bytes.Buffer{}, []Output{{"a<<b", "x"}}},
		{"newline", &bytes.Buffer{}, []Output{{"a\nb", "x"}}},
		{"non-ASCII", &bytes.Buffer{}, []Output{{"é", "x"}}},
		{"write fails", failWriter{}, []Output{{"ok", "1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := GitHubOutput(tt.w, tt.outs); err == nil {
				t.Fatal("GitHubOutput succeeded; want an error")
			}
			if b, ok := tt.w.(*bytes.Buffer); ok && b.Len() != 0 {
				t.Errorf("wrote %q on error", b.String())
			}
		})
	}
}

// parseGitHubCommand reads one workflow command line the way the runner does
// (actions/runner, ActionCommand.TryParseV2): "::" then the command up to the
// next "::", split at the first space into name and properties; properties
// split at ',' and each at its first '='; the rest of the line is the data.
// Values are unescaped as the runner does, "%25" last.
func parseGitHubCommand(line string) (cmd string, props map[string]string, data string, err error) {
	if !strings.HasPrefix(line, "::") {
		return "", nil, "", errors.New("not a command")
	}
	end := strings.Index(line[2:], "::")
	if end < 0 {
		return "", nil, "", errors.New("no end of command")
	}
	section := line[2 : 2+end]
	data = line[2+end+2:]
	cmd, propText, hasProps := strings.Cut(section, " ")
	props = map[string]string{}
	if hasProps && propText != "" {
		for _, p := range strings.Split(propText, ",") {
			k, v, ok := strings.Cut(p, "=")
			if !ok || k == "" {
				return "", nil, "", fmt.Errorf("bad property %q", p)
			}
			props[k] = unescapeRunner(v, "%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",")
		}
	}
	data = unescapeRunner(data, "%0D", "\r", "%0A", "\n")
	return cmd, props, data, nil
}

// unescapeRunner replaces each escape by its text, in order, then "%25".
func unescapeRunner(s string, pairs ...string) string {
	for i := 0; i < len(pairs); i += 2 {
		s = strings.ReplaceAll(s, pairs[i], pairs[i+1])
	}
	return strings.ReplaceAll(s, "%25", "%")
}

func TestGitHubCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cmd   string
		props map[string]string
		msg   string
		want  string // exact line, when not ""
	}{
		{"error", "error", map[string]string{"title": "put sbom"}, "denied", "::error title=put sbom::denied\n"},
		{"mask", "add-mask", nil, "s3cr3t", "::add-mask::s3cr3t\n"},
		{"group", "group", nil, "get sbom", "::group::get sbom\n"},
		{"endgroup", "endgroup", nil, "", "::endgroup::\n"},
		{"sorted properties", "warning", map[string]string{"title": "t", "file": "f", "line": "3"}, "m", "::warning file=f,line=3,title=t::m\n"},
		{"message escapes", "error", nil, "100% done\r\nnext::line %0A", "::error::100%25 done%0D%0Anext::line %250A\n"},
		{"property escapes", "error", map[string]string{"title": "a:b,c=d%\n"}, "x", "::error title=a%3Ab%2Cc=d%25%0A::x\n"},
		{"injection attempt", "notice", map[string]string{"title": "x::warning::y"}, "\n::add-mask::z\n::error::boom", ""},
		{"empty property", "error", map[string]string{"title": ""}, "m", "::error title=::m\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := GitHubCommand(&buf, tt.cmd, tt.props, tt.msg); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if tt.want != "" && out != tt.want {
				t.Errorf("line = %q, want %q", out, tt.want)
			}
			if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") || strings.Contains(out, "\r") {
				t.Fatalf("not exactly one line: %q", out)
			}
			cmd, props, data, err := parseGitHubCommand(strings.TrimSuffix(out, "\n"))
			if err != nil {
				t.Fatalf("runner cannot parse %q: %v", out, err)
			}
			if cmd != tt.cmd || data != tt.msg {
				t.Errorf("parsed %q %q, want %q %q", cmd, data, tt.cmd, tt.msg)
			}
			want := tt.props
			if want == nil {
				want = map[string]string{}
			}
			if fmt.Sprint(props) != fmt.Sprint(want) {
				t.Errorf("properties = %q, want %q", props, want)
			}
		})
	}
}

func TestGitHubCommandErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		w     io.Writer
		cmd   string
		props map[string]string
	}{
		{"empty command", &bytes.Buffer{}, "", nil},
		{"command with space", &bytes.Buffer{}, "add mask", nil},
		{"command with colons", &bytes.Buffer{}, "error::x", nil},
		{"property with comma", &bytes.Buffer{}, "error", map[string]string{"a,b": "x"}},
		{"property with equals", &bytes.Buffer{}, "error", map[string]string{"a=b": "x"}},
		{"empty property name", &bytes.Buffer{}, "error", map[string]string{"": "x"}},
		{"write fails", failWriter{}, "error", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := GitHubCommand(tt.w, tt.cmd, tt.props, "m"); err == nil {
				t.Fatal("GitHubCommand succeeded; want an error")
			}
			if b, ok := tt.w.(*bytes.Buffer); ok && b.Len() != 0 {
				t.Errorf("wrote %q on error", b.String())
			}
		})
	}
}

// The parser itself must behave like the runner, or the round trips above
// prove nothing.
func TestParseGitHubFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text    string
		want    []Output
		wantErr bool
	}{
		{"a=b\n\nc=d=e\n", []Output{{"a", "b"}, {"c", "d=e"}}, false},
		{"a<<EOF\nx\nEOF\n", []Output{{"a", "x"}}, false},
		{"a<<EOF\nEOF\n", []Output{{"a", ""}}, false},
		{"a<<EOF\n\nEOF\n", []Output{{"a", ""}}, false},
		{"a<<EOF\n\n\nEOF\n", []Output{{"a", "\n"}}, false},
		{"a<<EOF\nx\r\nEOF\n", []Output{{"a", "x\r"}}, false},
		{"a<<EOF\nx\nEOF", []Output{{"a", "x"}}, false},
		{"a<<EOF\nx\n", nil, true},
		{"a<<EOF\nEOF\nx\nEOF\n", nil, true}, // a fixed delimiter in the value breaks the file
		{"justtext\n", nil, true},
		{"=x\n", nil, true},
	}
	for _, tt := range tests {
		got, _, err := parseGitHubFile(tt.text)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("parse %q = %q, %v; want %q, error %v", tt.text, got, err, tt.want, tt.wantErr)
		}
	}
}
