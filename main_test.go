package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDemo runs the README's first command in-process: the tour checks
// every step's output itself and fails on any surprise.
func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"demo"}, func(string) string { return "" }, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("demo exited %d: %s\n%s", code, errb.String(), out.String())
	}
	for _, want := range []string{"$ manifesto put ", "$ manifesto history ", "$ manifesto delete ", "# Done."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
}

func TestVersionAndUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string
		err  string
	}{
		{[]string{"version"}, 0, "manifesto ", ""},
		{[]string{"--help"}, 0, "Usage:", ""},
		{[]string{"put"}, 2, "", "manifesto: "},
		{[]string{"list", "oci:/nonexistent-layout"}, 3, "", "not an OCI image layout"},
	}
	for _, tc := range cases {
		var out, errb bytes.Buffer
		code := run(context.Background(), tc.args, func(string) string { return "" }, nil, &out, &errb)
		if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.err) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tc.args, code, out.String(), errb.String())
		}
	}
}
