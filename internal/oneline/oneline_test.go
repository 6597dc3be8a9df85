package oneline

import "testing"

func TestLine(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                    "",
		"a":                   "a",
		" a\r\n b \n":         "a  b",
		"a\n\n\tb":            "a b",
		"a\u2028b\u2029c":     "a b c",
		"a\x1b[31mb":          "a [31mb",
		"bad\xffbyte":         "bad\uFFFDbyte",
		"\n\r\t":              "",
		"tab\tand\nnewline\r": "tab and newline",
	} {
		if got := Line(in); got != want {
			t.Errorf("Line(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCut(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"one two three", 8, "one two…"}, {"one two three", 5, "one…"},
		{"ééééé", 3, "éé…"},
	} {
		if got := Cut(tt.in, tt.max); got != tt.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
