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
