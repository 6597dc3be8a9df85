package outputs

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/secret"
	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/store"
)

const summaryHeader = "| operation | image | key | result | digest |"

// splitGFMRow splits a table row into cells as cmark-gfm does: a '|' is a
// cell boundary unless the byte before it is a backslash (the cell scanner
// takes the longest match, so "\|" always stays in the cell); the leading and
// trailing pipes are dropped, cells are trimmed, and the backslash before
// each kept '|' is removed.
func splitGFMRow(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	if strings.HasSuffix(row, "|") && !strings.HasSuffix(row, `\|`) {
		row = row[:len(row)-1]
	}
	var cells []string
	start := 0
	for i := 0; i < len(row); i++ {
		if row[i] == '|' && (i == 0 || row[i-1] != '\\') {
			cells = append(cells, row[start:i])
			start = i + 1
		}
	}
	cells = append(cells, row[start:])
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(strings.TrimSpace(c), `\|`, "|")
	}
	return cells
}

const asciiPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// decodeInline renders CommonMark inline text made only of backslash escapes,
// code spans and plain characters, failing on any character that would start
// other markup (emphasis, links, HTML, entities) unescaped.
func decodeInline(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && strings.IndexByte(asciiPunct, s[i+1]) >= 0:
			b.WriteByte(s[i+1])
			i += 2
		case c == '`':
			n := 0
			for i+n < len(s) && s[i+n] == '`' {
				n++
			}
			fence := s[i : i+n]
			rest := s[i+n:]
			end := -1
			for j := 0; j < len(rest); {
				k := strings.Index(rest[j:], fence)
				if k < 0 {
					break
				}
				k += j
				m := 0
				for k+m < len(rest) && rest[k+m] == '`' {
					m++
				}
				if m == n {
					end = k
					break
				}
				j = k + m
			}
			if end < 0 {
				return "", fmt.Errorf("unclosed code span in %q", s)
			}
			content := rest[:end]
			if len(content) >= 2 && content[0] == ' ' && content[len(content)-1] == ' ' && strings.Trim(content, " ") != "" {
				content = content[1 : len(content)-1]
			}
			b.WriteString(content)
			i += n + end + n
		case strings.IndexByte("*_[]<>!&\\|", c) >= 0:
			return "", fmt.Errorf("unescaped %q at %d in %q", c, i, s)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// parsedSummary is what a reader of the summary sees.
type parsedSummary struct {
	rows     [][]string // decoded cells
	failures []string   // decoded failure lines, without "- "
	text     []string   // other non-empty lines, raw
}

func parseSummary(t *testing.T, s string) parsedSummary {
	t.Helper()
	if !strings.HasPrefix(s, "## Manifesto\n\n") || !strings.HasSuffix(s, "\n") {
		t.Fatalf("summary does not start with the heading or end with a newline: %q", s)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")[2:]
	var p parsedSummary
	i := 0
	if len(lines) > 1 && lines[0] == summaryHeader {
		if lines[1] != "| --- | --- | --- | --- | --- |" {
			t.Fatalf("delimiter row %q", lines[1])
		}
		// The table runs to the first empty line.
		for i = 2; i < len(lines) && lines[i] != ""; i++ {
			cells := splitGFMRow(lines[i])
			if len(cells) != 5 {
				t.Fatalf("row %q has %d cells: %q", lines[i], len(cells), cells)
			}
			for j, c := range cells {
				d, err := decodeInline(c)
				if err != nil {
					t.Fatalf("row %q: %v", lines[i], err)
				}
				cells[j] = d
			}
			p.rows = append(p.rows, cells)
		}
	}
	for ; i < len(lines); i++ {
		switch l := lines[i]; {
		case l == "":
		case strings.HasPrefix(l, "- "):
			d, err := decodeInline(l[2:])
			if err != nil {
				t.Fatalf("failure line: %v", err)
			}
			p.failures = append(p.failures, d)
		case strings.HasPrefix(l, "|"):
			t.Fatalf("table line outside the table: %q", l)
		default:
			p.text = append(p.text, l)
		}
	}
	return p
}

func TestGitHubSummary(t *testing.T) {
	t.Parallel()
	// Errors as steps.Run returns them: they name the operation and key.
	hostileErr := errors.New("put ``k`: registry said: a|b `c` <script>x</script> *bold* [l](u)\nsecond line\r\n| --- |")
	hostileImage := "reg.example/a|b:`v`"
	rows := []SummaryRow{
		{Result: steps.Result{Operation: steps.OpPut, Image: "ghcr.io/o/app:1", Key: "sbom", Found: true, Entry: &entryA}},
		{Result: steps.Result{Operation: steps.OpGet, Image: "ghcr.io/o/app:1", Key: "scan", Found: true, Entry: &entryB, Path: "x"}},
		{Result: steps.Result{Operation: steps.OpGet, Image: "ghcr.io/o/app:1", Key: "nope"},
			Err: fmt.Errorf("get nope: %w", errdef.NotFoundf("key %q not found on %s", "nope", subject))},
		{Result: steps.Result{Operation: steps.OpList, Image: "oci:./layout", Entries: []store.Entry{entryA, entryB, entryC}}},
		{Result: steps.Result{Operation: steps.OpList, Image: "oci:./layout", Entries: []store.Entry{entryA}}},
		{Result: steps.Result{Operation: steps.OpHistory, Image: "i", Key: "scan", Found: true, Entries: []store.Entry{entryB, entryC}}},
		{Result: steps.Result{Operation: steps.OpDelete, Image: "i", Key: "scan", Found: true, Entries: []store.Entry{entryB, entryC}}},
		{Result: steps.Result{Operation: steps.OpRepair, Image: "i", Entries: []store.Entry{entryA}}},
		{Result: steps.Result{Operation: steps.OpPut, Image: hostileImage, Key: "``k`"}, Err: hostileErr},
		{Result: steps.Result{Operation: steps.OpPut, Image: " `x "}, Err: fmt.Errorf("put: %w", errdef.ErrUnauthorized)},
	}
	var buf bytes.Buffer
	if err := GitHubSummary(&buf, rows, nil); err != nil {
		t.Fatal(err)
	}
	p := parseSummary(t, buf.String())
	want := [][]string{
		{"put", "ghcr.io/o/app:1", "sbom", "stored", digestA},
		{"get", "ghcr.io/o/app:1", "scan", "found", digestB},
		{"get", "ghcr.io/o/app:1", "nope", "not found", ""},
		{"list", "oci:./layout", "", "3 keys", ""},
		{"list", "oci:./layout", "", "1 key", ""},
		{"history", "i", "scan", "2 versions", digestB},
		{"delete", "i", "scan", "deleted 2", ""},
		{"repair", "i", "", "re-indexed 1", ""},
		{"put", hostileImage, "``k`", "failed", ""},
		{"put", "`x", "", "failed", ""},
	}
	if !slices.EqualFunc(p.rows, want, slices.Equal) {
		t.Errorf("table reads\n%q\nwant\n%q\n%s", p.rows, want, buf.String())
	}
	wantFailures := []string{
		// The image, then the error: the operation and key once.
		`ghcr.io/o/app:1: get nope: key "nope" not found on ` + subject,
		hostileImage + ": put ``k`: registry said: a|b `c` <script>x</script> *bold* [l](u) second line | --- |",
		"`x: put: unauthorized",
	}
	if !slices.Equal(p.failures, wantFailures) {
		t.Errorf("failures read\n%q\nwant\n%q\n%s", p.failures, wantFailures, buf.String())
	}
	if !slices.Equal(p.text, []string{"**Failures**"}) {
		t.Errorf("other text %q", p.text)
	}
}

func TestGitHubSummaryEmpty(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := GitHubSummary(&buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	p := parseSummary(t, buf.String())
	if len(p.rows) != 0 || len(p.failures) != 0 || !slices.Equal(p.text, []string{"No operations."}) {
		t.Errorf("empty summary %q", buf.String())
	}
}

func TestGitHubSummaryLimit(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é|`", 600) // far over the cell and message limits
	ok := SummaryRow{Result: steps.Result{Operation: steps.OpPut, Image: long, Key: "sbom", Found: true, Entry: &entryA}}
	bad := SummaryRow{Result: steps.Result{Operation: steps.OpGet, Image: long, Key: "sbom"}, Err: errors.New(long)}
	tests := []struct {
		name                 string
		rows                 []SummaryRow
		limit                int
		wantRows, wantFailed int
		cut                  bool // something must be left out
	}{
		{"fits", []SummaryRow{ok, bad}, MaxSummary, 2, 1, false},
		{"rows cut, failures kept", []SummaryRow{ok, ok, ok, ok, bad}, 4000, -1, 1, true},
		{"everything cut", slices.Repeat([]SummaryRow{ok, bad}, 5), 700, 0, 0, true},
		{"real limit", slices.Repeat([]SummaryRow{bad, ok}, 600), MaxSummary, -1, -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := githubSummary(tt.rows, tt.limit, nil)
			if len(s) > tt.limit {
				t.Fatalf("summary is %d bytes, limit %d", len(s), tt.limit)
			}
			p := parseSummary(t, s)
			nFailed := 0
			for _, r := range tt.rows {
				if r.Err != nil {
					nFailed++
				}
			}
			if tt.wantRows >= 0 && len(p.rows) != tt.wantRows {
				t.Errorf("%d rows, want %d", len(p.rows), tt.wantRows)
			}
			if tt.wantFailed >= 0 && len(p.failures) != tt.wantFailed {
				t.Errorf("%d failures, want %d", len(p.failures), tt.wantFailed)
			}
			if len(p.rows) < len(tt.rows) != strings.Contains(s, "more operation") {
				t.Errorf("%d of %d rows shown, note: %v", len(p.rows), len(tt.rows), strings.Contains(s, "more operation"))
			}
			if len(p.failures) < nFailed != strings.Contains(s, "more failure") {
				t.Errorf("%d of %d failures shown, note: %v", len(p.failures), nFailed, strings.Contains(s, "more failure"))
			}
			if cut := len(p.rows) < len(tt.rows) || len(p.failures) < nFailed; cut != tt.cut {
				t.Errorf("cut = %v, want %v", cut, tt.cut)
			}
			for _, r := range p.rows {
				if n := len([]rune(r[1])); n > 300 {
					t.Errorf("image cell has %d characters", n)
				}
			}
		})
	}
}

func TestGitHubSummaryWriteError(t *testing.T) {
	t.Parallel()
	if err := GitHubSummary(failWriter{}, nil, nil); err == nil {
		t.Error("GitHubSummary succeeded on a failing writer")
	}
}

func TestSummaryResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		row  SummaryRow
		want string
	}{
		{SummaryRow{Result: steps.Result{Operation: steps.OpGet}}, "not found"},
		{SummaryRow{Result: steps.Result{Operation: steps.OpHistory}}, "not found"},
		{SummaryRow{Result: steps.Result{Operation: steps.OpHistory, Found: true, Entries: []store.Entry{entryB}}}, "1 version"},
		{SummaryRow{Result: steps.Result{Operation: steps.OpList}}, "0 keys"},
		{SummaryRow{Result: steps.Result{Operation: steps.OpDelete}}, "deleted 0"},
		{SummaryRow{Result: steps.Result{Operation: "frob"}}, "done"},
		{SummaryRow{Result: steps.Result{Operation: steps.OpPut}, Err: errors.New("x")}, "failed"},
		{SummaryRow{Result: steps.Result{Operation: steps.OpHistory}, Err: fmt.Errorf("history: %w", errdef.ErrNotFound)}, "not found"},
	}
	for _, tt := range tests {
		if got := summaryResult(tt.row); got != tt.want {
			t.Errorf("summaryResult(%+v) = %q, want %q", tt.row, got, tt.want)
		}
	}
	// A failure with nothing but an empty error still makes a readable line.
	if got := summaryFailure(SummaryRow{Err: errors.New(" \n ")}, nil); got != "- unknown error\n" {
		t.Errorf("bare failure line = %q", got)
	}
}

func TestGitHubInputsSummary(t *testing.T) {
	t.Parallel()
	secrets := secret.New()
	secrets.Add("pw-0123456789")
	var buf bytes.Buffer
	err := errdef.Usagef("input %q (INPUT_IMAGE): %q is not a valid image: a|b *x*\nline", "image", "reg/pw-0123456789")
	if err := GitHubInputsSummary(&buf, err, secrets); err != nil {
		t.Fatal(err)
	}
	p := parseSummary(t, buf.String())
	want := `input "image" (INPUT_IMAGE): "reg/[redacted]" is not a valid image: a|b *x* line`
	if len(p.rows) != 0 || !slices.Equal(p.failures, []string{want}) ||
		!slices.Equal(p.text, []string{"Nothing was run: the step's inputs are not valid.", "**Failures**"}) {
		t.Errorf("summary reads %+v, want the failure %q\n%s", p, want, buf.String())
	}
}
