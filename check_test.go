package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/testimage"
)

// TestCheckCLI: manifesto check's exit codes, table and JSON.
func TestCheckCLI(t *testing.T) {
	image := testimage.Image(t, testimage.Layout)
	noEnv := func(string) string { return "" }
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(context.Background(), args, noEnv, nil, &out, &errb)
		return code, out.String(), errb.String()
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if code, _, errs := cli("put", image, "test-results", write("results.json", `{"failed": 3, "passed": 9}`)); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := cli("put", image, "seccomp", write("profile.json", `{}`)); code != 0 {
		t.Fatal(errs)
	}
	gate := write("gate.yaml", "require:\n  - key: test-results\n    expr: value.failed == 0\n  - key: seccomp\n")

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{name: "met", args: []string{"check", image, "--require", "seccomp", "--require", "test-results: value.passed > 0"}, code: 0,
			stdout: []string{"REQUIREMENT", "seccomp ", "✓", "test-results: value.passed > 0"}},
		{name: "not met", args: []string{"check", image, "--policy", gate}, code: 5,
			stdout: []string{"test-results: value.failed == 0  ✗   value.failed == 0 was false (value.failed = 3)", "seccomp                          ✓"},
			stderr: "manifesto: check: policy not met on sha256:"},
		{name: "missing key", args: []string{"check", image, "--policy-file", gate, "--require", "approval"}, code: 5,
			stdout: []string{"approval", "✗   no version"}, stderr: "2 of 3 requirements failed (test-results, approval)"},
		{name: "no requirements", args: []string{"check", image}, code: 2, stderr: "check needs requirements"},
		{name: "compile error before any network call", args: []string{"check", "127.0.0.1:1/none:v1", "--require", "a: value.failed =="}, code: 2,
			stderr: `--require #1: expression "value.failed ==" does not compile: <input>:1:16: Syntax error`},
		{name: "bad policy file", args: []string{"check", image, "--policy", write("bad.yaml", "require:\n  - key: a\n    when: x\n")}, code: 2,
			stderr: `line 3: unknown field "when"`},
		{name: "missing policy file", args: []string{"check", image, "--policy", filepath.Join(dir, "nope.yaml")}, code: 2, stderr: "does not exist"},
		{name: "registry failure", args: []string{"check", "127.0.0.1:1/none:v1", "--require", "a"}, code: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := cli(tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d, %q", code, errs, tt.code, tt.stderr)
			}
			for _, want := range tt.stdout {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			if strings.Count(errs, "\n") > 1 {
				t.Errorf("stderr has more than one line: %q", errs)
			}
		})
	}

	// --json: the contract of the issue.
	code, out, _ := cli("check", image, "--json", "--policy", gate)
	var doc struct {
		Passed       bool `json:"passed"`
		Requirements []struct {
			Key, Expr, Reason, Digest, Created, Signer string
			Passed, Verified                           bool
		} `json:"requirements"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 5 || doc.Passed || len(doc.Requirements) != 2 {
		t.Fatalf("json: exit %d, %v: %s", code, err, out)
	}
	r := doc.Requirements[0]
	if r.Key != "test-results" || r.Expr != "value.failed == 0" || r.Passed || r.Reason == "" || !strings.HasPrefix(r.Digest, "sha256:") || r.Created == "" || r.Verified {
		t.Errorf("json requirement = %+v", r)
	}
	for _, field := range []string{`"key"`, `"expr"`, `"passed"`, `"reason"`, `"digest"`, `"created"`, `"verified"`, `"signer"`} {
		if !strings.Contains(out, field) {
			t.Errorf("json lacks %s: %s", field, out)
		}
	}
}
