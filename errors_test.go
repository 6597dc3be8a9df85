package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/testimage"
)

// TestErrorPrefixOnce: an error names its operation and key once, in step
// mode (the ::error annotation, the stderr line, the step summary) and in
// CLI mode alike (issue 15: "get seccomp: get seccomp: key ...").
func TestErrorPrefixOnce(t *testing.T) {
	image := testimage.Image(t, testimage.Layout)
	value := testimage.WriteValue(t, "v.txt", "x")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"put", image, "present", value}, func(string) string { return "" }, nil, &out, &errb); code != 0 {
		t.Fatalf("put: exit %d: %s", code, errb.String())
	}
	// The message, with the subject's digest as a pattern.
	const subject = `sha256:[0-9a-f]{64}`
	msg := func(prefix string) *regexp.Regexp {
		return regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + subject + "\n$")
	}

	cli := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, func(string) string { return "" }, nil, &out, &errb)
		return code, errb.String()
	}
	cliCases := []struct {
		args []string
		want string
	}{
		{[]string{"get", image, "seccomp"}, `manifesto: get seccomp: key "seccomp" not found on `},
		{[]string{"history", image, "seccomp"}, `manifesto: history seccomp: key "seccomp" not found on `},
		{[]string{"delete", image, "seccomp"}, `manifesto: delete seccomp: key "seccomp" not found on `},
		{[]string{"get", image, "present", "--digest", "sha256:" + string(bytes.Repeat([]byte("ab"), 32))},
			`manifesto: get present: key "present" has no version sha256:` + string(bytes.Repeat([]byte("ab"), 32)) + ` on `},
	}
	for _, tc := range cliCases {
		if code, stderr := cli(tc.args...); code != 3 || !msg(tc.want).MatchString(stderr) {
			t.Errorf("CLI %v: exit %d, stderr %q, want %q + subject", tc.args[:3], code, stderr, tc.want)
		}
	}
	// An error before the operation's own work (here: no such layout) is
	// named by the operation too, once.
	if code, stderr := cli("list", "oci:/nonexistent-layout"); code != 3 ||
		!regexp.MustCompile(`^manifesto: list: [^:]*/nonexistent-layout[^\n]*not an OCI image layout[^\n]*\n$`).MatchString(stderr) {
		t.Errorf("CLI list of no layout: exit %d, stderr %q", code, stderr)
	}

	// Step mode on GitHub: one step, then a steps file entry with an id.
	ws := t.TempDir()
	files := t.TempDir()
	step := func(env map[string]string) (int, string, string, string) {
		base := map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws, "GITHUB_OUTPUT": filepath.Join(files, "output"),
			"GITHUB_STEP_SUMMARY": filepath.Join(files, "summary"), "INPUT_SUMMARY": "true", "INPUT_FAIL_ON_MISSING": "true",
		}
		for k, v := range env {
			base[k] = v
		}
		os.Remove(filepath.Join(files, "summary"))
		var out, errb bytes.Buffer
		code := run(context.Background(), nil, func(k string) string { return base[k] }, nil, &out, &errb)
		summary, _ := os.ReadFile(filepath.Join(files, "summary"))
		return code, out.String(), errb.String(), string(summary)
	}
	code, stdout, stderr, summary := step(map[string]string{"INPUT_OPERATION": "get", "INPUT_IMAGE": image, "INPUT_KEY": "seccomp"})
	if want := `::error title=manifesto::get seccomp: key "seccomp" not found on `; code != 3 || !msg(want).MatchString(stdout) {
		t.Errorf("step get: exit %d, stdout %q, want %q + subject", code, stdout, want)
	}
	if want := `manifesto: get seccomp: key "seccomp" not found on `; !msg(want).MatchString(stderr) {
		t.Errorf("step get: stderr %q, want %q + subject", stderr, want)
	}
	if want := regexp.MustCompile("\n- `" + regexp.QuoteMeta(image) + "`: " + regexp.QuoteMeta(`get seccomp\: key \"seccomp\" not found on sha256\:`) + "[0-9a-f]{64}\n"); !want.MatchString(summary) {
		t.Errorf("step get: summary\n%s\nwant a failure line matching %s", summary, want)
	}

	stepsFile := filepath.Join(ws, "steps.yml")
	if err := os.WriteFile(stepsFile, []byte("steps:\n  - id: profile\n    operation: get\n    key: seccomp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _, _ = step(map[string]string{"INPUT_STEPS_FILE": "steps.yml", "INPUT_IMAGE": image})
	if want := `::error title=manifesto::profile: get seccomp: key "seccomp" not found on `; code != 3 || !msg(want).MatchString(stdout) {
		t.Errorf("steps file get: exit %d, stdout %q, want %q + subject", code, stdout, want)
	}
}

// TestInputErrorSummary: on GitHub, a step whose inputs are wrong writes a
// step summary saying what was wrong (the message of the ::error
// annotation), unless input summary is false (issue 15).
func TestInputErrorSummary(t *testing.T) {
	image := testimage.Image(t, testimage.Layout)
	const password = "s3cret-pw-4711"
	unescape := regexp.MustCompile(`\\([[:punct:]])`)
	cases := []struct {
		name string
		env  map[string]string
		msg  string // part of the message
	}{
		{"bad key", map[string]string{"INPUT_OPERATION": "get", "INPUT_IMAGE": image, "INPUT_KEY": "Bad_Key"}, `"Bad_Key"`},
		{"bad image", map[string]string{"INPUT_OPERATION": "list", "INPUT_IMAGE": "UPPER/Case:tag:x"}, "UPPER/Case:tag:x"},
		{"file out of the workspace", map[string]string{"INPUT_OPERATION": "get", "INPUT_IMAGE": image, "INPUT_KEY": "k", "INPUT_FILE": "../x"}, "../x"},
		{"bad summary input", map[string]string{"INPUT_OPERATION": "list", "INPUT_IMAGE": image, "INPUT_SUMMARY": "maybe"}, `"maybe"`},
		// The password in a bad input is redacted, in the summary too.
		{"secret in a bad input", map[string]string{"INPUT_OPERATION": "list", "INPUT_IMAGE": "reg.example/" + password + "!",
			"INPUT_USERNAME": "u", "INPUT_PASSWORD": password}, "reg.example/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws, files := t.TempDir(), t.TempDir()
			summaryFile := filepath.Join(files, "summary")
			env := map[string]string{
				"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws, "GITHUB_OUTPUT": filepath.Join(files, "output"),
				"GITHUB_STEP_SUMMARY": summaryFile, "INPUT_FAIL_ON_MISSING": "true",
			}
			for k, v := range tc.env {
				env[k] = v
			}
			var out, errb bytes.Buffer
			code := run(context.Background(), nil, func(k string) string { return env[k] }, nil, &out, &errb)
			msg, ok := bytes.CutPrefix(errb.Bytes(), []byte("manifesto: "))
			if code != 2 || !ok || !bytes.Contains(msg, []byte(tc.msg)) {
				t.Fatalf("exit %d, stderr %q, want exit 2 and a message with %q", code, errb.String(), tc.msg)
			}
			b, err := os.ReadFile(summaryFile)
			if err != nil {
				t.Fatalf("no step summary: %v", err)
			}
			if bytes.Contains(b, []byte(password)) || bytes.Contains(errb.Bytes(), []byte(password)) {
				t.Errorf("the password is in the summary or on stderr:\n%s\n%s", b, errb.String())
			}
			want := "## Manifesto\n\nNothing was run: the step's inputs are not valid.\n\n**Failures**\n\n- " + string(msg)
			if got := unescape.ReplaceAllString(string(b), "$1"); got != want {
				t.Errorf("summary (unescaped)\n%q\nwant\n%q", got, want)
			}

			// summary: false writes none.
			os.Remove(summaryFile)
			env["INPUT_SUMMARY"] = "false"
			run(context.Background(), nil, func(k string) string { return env[k] }, nil, &out, &errb)
			if _, err := os.Stat(summaryFile); err == nil && tc.name != "bad summary input" {
				t.Errorf("summary written with input summary false")
			}
		})
	}
}
