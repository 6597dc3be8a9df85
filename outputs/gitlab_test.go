package outputs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/steps"
)

// GitLab's defaults for dotenv reports.
const (
	gitlabDotenvSize      = 5 * 1024
	gitlabDotenvVariables = 20
)

var (
	gitlabLine = regexp.MustCompile(`(?m)^(.*?)=(.*)$`)
	gitlabKey  = regexp.MustCompile(`^[a-zA-Z0-9_]+$`)
)

// parseGitLabDotenv reads a dotenv report the way GitLab does
// (Ci::ParseDotenvArtifactService, Ci::HasVariable): the file must be smaller
// than 5 KB; a leading BOM is dropped; each line must match ^(.*?)=(.*)$ (so
// no empty lines), key and value are stripped of surrounding white space as
// Ruby's String#strip does; keys must match [a-zA-Z0-9_]+ and be at most 255
// long; a later line with the same key wins; at most 20 variables. Any
// violation rejects the whole report.
func parseGitLabDotenv(b []byte) (map[string]string, error) {
	if len(b) >= gitlabDotenvSize {
		return nil, fmt.Errorf("dotenv artifact too big: %d bytes", len(b))
	}
	text := strings.TrimPrefix(string(bytes.ToValidUTF8(b, []byte("\uFFFD"))), "\uFEFF")
	vars := map[string]string{}
	for _, line := range strings.SplitAfter(text, "\n") {
		if line == "" { // after the final "\n"
			continue
		}
		m := gitlabLine.FindAllStringSubmatch(line, -1)
		if m == nil {
			return nil, fmt.Errorf("invalid format: %q", line)
		}
		last := m[len(m)-1]
		key, value := rubyStrip(last[1]), rubyStrip(last[2])
		if !gitlabKey.MatchString(key) || len(key) > 255 {
			return nil, fmt.Errorf("invalid key %q", key)
		}
		vars[key] = value
	}
	if len(vars) > gitlabDotenvVariables {
		return nil, fmt.Errorf("%d variables", len(vars))
	}
	return vars, nil
}

// rubyStrip is Ruby's String#strip.
func rubyStrip(s string) string { return strings.Trim(s, " \t\n\v\f\r\x00") }

func TestDotenv(t *testing.T) {
	t.Parallel()
	many := make([]Output, 25)
	for i := range many {
		many[i] = Output{fmt.Sprintf("v%d", i), "x"}
	}
	manyNames := make([]string, 0, 5)
	for i := 20; i < 25; i++ {
		manyNames = append(manyNames, fmt.Sprintf("v%d", i))
	}
	big := strings.Repeat("b", 6*1024)
	// boundary: two variables that make the file exactly 5119 bytes.
	first := Output{"a", strings.Repeat("x", 4000)}                                // "MANIFESTO_OUT_A=" + 4000 + "\n" = 4017
	exact := Output{"b", strings.Repeat("y", 5119-4017-len("MANIFESTO_OUT_B=\n"))} // to 5119
	const p = DotenvPrefix
	tests := []struct {
		name    string
		outs    []Output
		want    map[string]string
		skipped []string
	}{
		{"none", nil, map[string]string{}, nil},
		{"standard", StepOutputs(getResult()), nil, []string{"value", "json"}}, // "{\n}\n"; quotes
		{"safe values", []Output{{"digest", "sha256:0123abc"}, {"empty", ""}, {"all", "AZaz09._:/@+=,-"}, {"eq", "=a=b="},
			{"url", "https://github.com/o/r/.github/workflows/ci.yml@refs/heads/main"}},
			nil, nil},
		{"values a reader would change", []Output{{"sub", "$(touch x)"}, {"bq", "`touch y`"}, {"semi", "a;touch z"},
			{"var", "$HOME"}, {"hash", "a#b"}, {"spc", "a #b"}, {"sq", "'q'"}, {"dq", `"q"`}, {"bs", `a\b`},
			{"tilde", "~/x"}, {"glob", "*"}, {"amp", "a&b"}, {"pipe", "a|b"}, {"lt", "a<b"}, {"paren", "(a)"},
			{"brace", "{a,b}"}, {"bang", "a!b"}, {"caret", "a^b"}, {"pct", "%a%"}, {"tab", "a\tb"}, {"space", "x y"},
			{"utf8", "é"}, {"bad utf8", "a\xffb"}, {"ok", "ok"}},
			map[string]string{p + "OK": "ok"},
			[]string{"sub", "bq", "semi", "var", "hash", "spc", "sq", "dq", "bs", "tilde", "glob", "amp", "pipe", "lt", "paren",
				"brace", "bang", "caret", "pct", "tab", "space", "utf8", "bad utf8"}},
		{"names", []Output{{"sbom-get_digest", "1"}, {"Mixed", "2"}, {"_x", "3"}, {"9", "4"}},
			map[string]string{p + "SBOM_GET_DIGEST": "1", p + "MIXED": "2", p + "_X": "3", p + "9": "4"}, nil},
		{"invalid names", []Output{{"a.b", "1"}, {"é", "2"}, {"", "3"}, {"a b", "4"}, {"a=b", "5"}, {strings.Repeat("n", 242), "6"}, {"ok", "7"}},
			map[string]string{p + "OK": "7"}, []string{"a.b", "é", "", "a b", "a=b", strings.Repeat("n", 242)}},
		{"longest name", []Output{{strings.Repeat("n", 241), "1"}},
			map[string]string{p + strings.Repeat("N", 241): "1"}, nil},
		{"names that collide", []Output{{"a-b", "1"}, {"a_b", "2"}, {"A_B", "3"}},
			map[string]string{p + "A_B": "1"}, []string{"a_b", "A_B"}},
		{"multi-line and stripped values", []Output{{"lf", "a\nb"}, {"trailing", "1.2.3\n"}, {"cr", "a\rb"}, {"crlf", "a\r\n"},
			{"lead", " x"}, {"trail", "x\t"}, {"nul", "a\x00b"}, {"ok", "x"}},
			map[string]string{p + "OK": "x"}, []string{"lf", "trailing", "cr", "crlf", "lead", "trail", "nul"}},
		{"6 KB value", []Output{{"before", "1"}, {"value", big}, {"after", "2"}},
			map[string]string{p + "BEFORE": "1", p + "AFTER": "2"}, []string{"value"}},
		{"size boundary fits", []Output{first, exact},
			map[string]string{p + "A": first.Value, p + "B": exact.Value}, nil},
		{"size boundary one byte over", []Output{first, {"b", exact.Value + "y"}, {"c", ""}},
			map[string]string{p + "A": first.Value, p + "C": ""}, []string{"b"}},
		{"21st variable", many, nil, manyNames},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			skipped, err := Dotenv(&buf, tt.outs)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(skipped, tt.skipped) {
				t.Errorf("skipped %q, want %q", skipped, tt.skipped)
			}
			if buf.Len() >= gitlabDotenvSize || buf.Len() > MaxDotenvSize {
				t.Errorf("file is %d bytes", buf.Len())
			}
			got, err := parseGitLabDotenv(buf.Bytes())
			if err != nil {
				t.Fatalf("GitLab rejects the report: %v\n%q", err, buf.String())
			}
			want := tt.want
			if want == nil { // every output not skipped, as written
				want = map[string]string{}
				for _, o := range tt.outs {
					if !slices.Contains(tt.skipped, o.Name) {
						want[p+strings.ToUpper(o.Name)] = o.Value
					}
				}
			}
			if !maps.Equal(got, want) {
				t.Errorf("GitLab reads %q,\nwant %q", got, want)
			}
			if npm := parseNPMDotenv(buf.Bytes()); !maps.Equal(npm, want) {
				t.Errorf("gitlab-ci-local reads %q,\nwant %q", npm, want)
			}
			// Exactly one line per variable: no comments, no empty lines.
			if n := strings.Count(buf.String(), "\n"); n != len(got) || (n > 0 && !strings.HasSuffix(buf.String(), "\n")) {
				t.Errorf("%d lines for %d variables: %q", n, len(got), buf.String())
			}
		})
	}
}

// TestDotenvOutputs: json never goes to a dotenv file (its quotes), the
// rest keeps its importance order.
func TestDotenvOutputs(t *testing.T) {
	t.Parallel()
	outs := []Output{{"json", "{}"}, {"p_json", "{}"}, {"created", "c"}, {"p_digest", "d"}, {"digest", "d"}, {"jsonx", "x"}}
	got := outputNames(DotenvOutputs(outs))
	if want := []string{"p_digest", "digest", "created", "jsonx"}; !slices.Equal(got, want) {
		t.Errorf("DotenvOutputs names = %q, want %q", got, want)
	}
}

// npmDotenvLine is the line rule of the npm dotenv package (lib/main.js),
// which gitlab-ci-local uses for dotenv reports.
var npmDotenvLine = regexp.MustCompile("(?m)(?:^|^)\\s*(?:export\\s+)?([\\w.-]+)(?:\\s*=\\s*?|:\\s+?)(\\s*'(?:\\\\'|[^'])*'|\\s*\"(?:\\\\\"|[^\"])*\"|\\s*`(?:\\\\`|[^`])*`|[^#\\r\\n]+)?\\s*(?:#.*)?(?:$|$)")

// npmExpand is what gitlab-ci-local expands in a dotenv value.
var npmExpand = regexp.MustCompile(`\$\$|\$\{?(\w+)\}?`)

// parseNPMDotenv reads a dotenv file the way gitlab-ci-local does: the npm
// dotenv package's parse (values trimmed, surrounding quotes removed,
// \n and \r expanded inside double quotes) and then gitlab-ci-local's own
// expansion of $VAR and ${VAR} (unknown variables are empty, $$ is $).
func parseNPMDotenv(b []byte) map[string]string {
	text := strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\r", "\n")
	vars := map[string]string{}
	for _, m := range npmDotenvLine.FindAllStringSubmatch(text, -1) {
		v := strings.TrimSpace(m[2])
		if len(v) >= 2 && strings.ContainsRune("'\"`", rune(v[0])) && v[len(v)-1] == v[0] {
			q := v[0]
			v = v[1 : len(v)-1]
			if q == '"' {
				v = strings.NewReplacer(`\n`, "\n", `\r`, "\r").Replace(v)
			}
		}
		vars[m[1]] = v
	}
	for k, v := range vars {
		vars[k] = npmExpand.ReplaceAllStringFunc(v, func(s string) string {
			if s == "$$" {
				return "$"
			}
			return ""
		})
	}
	return vars
}

func TestDotenvWriteError(t *testing.T) {
	t.Parallel()
	if _, err := Dotenv(failWriter{}, []Output{{"a", "b"}}); err == nil {
		t.Error("Dotenv succeeded on a failing writer")
	}
}

// The parser must reject what GitLab rejects.
func TestParseGitLabDotenv(t *testing.T) {
	t.Parallel()
	bad := []string{
		"A=1\n\nB=2\n",
		"# comment\n",
		"A-B=1\n",
		"=1\n",
		strings.Repeat("x", 5120),
		func() string {
			var b strings.Builder
			for i := range 21 {
				fmt.Fprintf(&b, "V%d=x\n", i)
			}
			return b.String()
		}(),
	}
	for _, s := range bad {
		if _, err := parseGitLabDotenv([]byte(s)); err == nil {
			t.Errorf("parser accepts %.40q", s)
		}
	}
	got, err := parseGitLabDotenv([]byte("A = 1 \nB=\"q\"\nC=x=y\nA=2"))
	want := map[string]string{"A": "2", "B": `"q"`, "C": "x=y"}
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("parse = %q, %v; want %q", got, err, want)
	}
}

// getResult is a get result with a multi-line value and a path.
func getResult() steps.Result {
	return steps.Result{Operation: steps.OpGet, Subject: subject, Key: "sbom", Found: true, Entry: &entryA, Path: "out/sbom.json", Value: []byte("{\n}\n")}
}

func TestJSONLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		outs []Output
	}{
		{"none", nil},
		{"standard", StepOutputs(getResult())},
		{"awkward values", []Output{{"a", ""}, {"b", "line\nline\r\n"}, {"c", `"quoted" \ <html> & 'x'`}, {"d", "ünïcode ✓\u2028"}, {"e", "\x00\x1f"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := JSONLines(&buf, tt.outs); err != nil {
				t.Fatal(err)
			}
			if tt.outs == nil && buf.Len() != 0 {
				t.Fatalf("wrote %q for no outputs", buf.String())
			}
			got := parseJSONLines(t, &buf)
			if !slices.Equal(got, tt.outs) {
				t.Errorf("read back %q, want %q", got, tt.outs)
			}
		})
	}
}

func TestJSONLinesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		w    io.Writer
		outs []Output
	}{
		{"empty name", &bytes.Buffer{}, []Output{{"ok", "1"}, {"", "x"}}},
		{"bad name", &bytes.Buffer{}, []Output{{"a.b", "x"}}},
		{"write fails", failWriter{}, []Output{{"ok", "1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := JSONLines(tt.w, tt.outs)
			if err == nil {
				t.Fatal("JSONLines succeeded; want an error")
			}
			if b, ok := tt.w.(*bytes.Buffer); ok && b.Len() != 0 {
				t.Errorf("wrote %q on error", b.String())
			}
		})
	}
}

// parseJSONLines reads GitLab CI/CD Functions outputs back: one JSON object
// per line with exactly the string fields name and value.
func parseJSONLines(t *testing.T, r io.Reader) []Output {
	t.Helper()
	var got []Output
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if keys := slices.Sorted(maps.Keys(obj)); !slices.Equal(keys, []string{"name", "value"}) {
			t.Fatalf("line %q has fields %q", sc.Text(), keys)
		}
		var o Output
		if json.Unmarshal(obj["name"], &o.Name) != nil || json.Unmarshal(obj["value"], &o.Value) != nil {
			t.Fatalf("line %q: name and value are not strings", sc.Text())
		}
		got = append(got, o)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}
