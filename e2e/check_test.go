package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

// junitReport is a JUnit XML report as test runners write it.
const junitReport = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="5" failures="0" errors="0" time="3.2">
  <testsuite name="unit" tests="3" failures="0" errors="0" skipped="1" time="1.2">
    <testcase name="a"/><testcase name="b"/><testcase name="c"><skipped/></testcase>
  </testsuite>
  <testsuite name="e2e" tests="2" failures="0" errors="0" time="2.0">
    <testcase name="d"/><testcase name="e"/>
  </testsuite>
</testsuites>
`

// checkJSON is check's --json document.
type checkJSON struct {
	Passed       bool `json:"passed"`
	Requirements []struct {
		Key, Expr, Reason, Digest, Created, Signer string
		Passed, Verified                           bool
	} `json:"requirements"`
}

func parseCheck(t *testing.T, r result) checkJSON {
	t.Helper()
	var doc checkJSON
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("check --json printed %q (exit %d, %s): %v", r.stdout, r.code, r.stderr, err)
	}
	return doc
}

// TestCheckGate: the gate on a real registry. A pass, each kind of failure
// with its exit code and reason, JUnit and YAML values, max_age.
func TestCheckGate(t *testing.T) {
	reg := testregistry.Start(t)
	image := reg.Ref("team/app:1.0")
	pushImage(t, image)
	ok(t, "put", image, "junit", writeFile(t, "junit.xml", junitReport))
	ok(t, "put", image, "test-results", writeFile(t, "results.json", `{"failed": 0, "passed": 5}`))
	ok(t, "put", image, "approval", writeFile(t, "approval.yaml", "approved: true\nby: alice\n"))
	ok(t, "put", image, "seccomp", writeFile(t, "seccomp.json", `{"defaultAction": "SCMP_ACT_ERRNO"}`))
	gate := writeFile(t, "gate.yaml", `require:
  - key: junit
    expr: value.failures == 0 && value.errors == 0 && value.tests > 0 && value.suites.size() == 2
  - key: test-results
    expr: value.failed == 0 && value.passed > 0
    max_age: 1h
  - key: approval
    expr: value.approved && value.by != ""
  - seccomp
`)

	r := cli(t, nil, nil, "check", image, "--policy", gate)
	if r.code != 0 || strings.Count(r.stdout, "✓") != 4 || r.stderr != "" {
		t.Fatalf("pass: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	doc := parseCheck(t, cli(t, nil, nil, "check", image, "--policy", gate, "--json"))
	if !doc.Passed || len(doc.Requirements) != 4 || !strings.HasPrefix(doc.Requirements[0].Digest, "sha256:") || doc.Requirements[0].Created == "" {
		t.Fatalf("pass --json: %+v", doc)
	}

	// A newer failing verdict fails the gate: exit 5, the values named.
	ok(t, "put", image, "test-results", writeFile(t, "results.json", `{"failed": 3, "passed": 2}`))
	r = cli(t, nil, nil, "check", image, "--policy", gate)
	if r.code != 5 || !strings.Contains(r.stdout, "✗   value.failed == 0 && value.passed > 0 was false (value.failed = 3, value.passed = 2)") ||
		!strings.Contains(r.stderr, "1 of 4 requirements failed (test-results)") {
		t.Fatalf("newer failing verdict: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	ok(t, "put", image, "test-results", writeFile(t, "results.json", `{"failed": 0, "passed": 5}`))

	tests := []struct {
		name    string
		args    []string
		code    int
		reasons []string // in --json, per requirement
		stderr  string
	}{
		{name: "missing key is unmet, not 3", args: []string{"--require", "sbom"}, code: 5, reasons: []string{"no version"}},
		{name: "missing field", args: []string{"--require", "test-results: value.coverage > 80"}, code: 5,
			reasons: []string{"value.coverage > 80 failed: no such key: coverage"}},
		{name: "not a condition at run time", args: []string{"--require", "approval: value.by"}, code: 5,
			reasons: []string{`value.by is "alice", not true or false`}},
		{name: "entry and image", args: []string{"--require", `approval: entry.media_type == "application/yaml" && !entry.verified && image.reference == "` + image + `"`}, code: 0,
			reasons: []string{""}},
		{name: "junit failing", args: []string{"--require", "junit: value.skipped == 0"}, code: 5,
			reasons: []string{"value.skipped == 0 was false (value.skipped = 1)"}},
		{name: "compile error", args: []string{"--require", "junit: value.tests >"}, code: 2,
			stderr: `--require #1: expression "value.tests >" does not compile: <input>:1:14: Syntax error`},
		{name: "unknown policy field", args: []string{"--policy", writeFile(t, "bad.yaml", "require:\n  - key: junit\n    max-age: 1h\n")}, code: 2,
			stderr: `line 3: unknown field "max-age"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, nil, nil, append([]string{"check", image, "--json"}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d, %q", r.code, r.stderr, tt.code, tt.stderr)
			}
			if tt.reasons == nil {
				return
			}
			doc := parseCheck(t, r)
			for i, want := range tt.reasons {
				if got := doc.Requirements[i].Reason; got != want {
					t.Errorf("reason %d = %q, want %q", i, got, want)
				}
			}
		})
	}

	// max_age: the verdict grows older than allowed.
	time.Sleep(2100 * time.Millisecond)
	doc = parseCheck(t, cli(t, nil, nil, "check", image, "--json", "--policy", writeFile(t, "fresh.yaml", "require: [{key: seccomp, max_age: 2s}]")))
	if doc.Passed || !strings.HasPrefix(doc.Requirements[0].Reason, "newest version is ") || !strings.HasSuffix(doc.Requirements[0].Reason, "s old, max_age 2s") {
		t.Errorf("max_age: %+v", doc)
	}

	// A registry that is not there: exit 1, no verdicts.
	if r := cli(t, nil, nil, "check", "127.0.0.1:1/none:1", "--require", "seccomp", "--timeout", "20s"); r.code != 1 || r.stdout != "" {
		t.Errorf("registry failure: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}

// TestCheckUnauthorized: credentials the registry refuses exit 4.
func TestCheckUnauthorized(t *testing.T) {
	reg := testregistry.Start(t, testregistry.WithHtpasswd(map[string]string{"ci": "ci-pw-0123456"}))
	r := cli(t, nil, []string{"MANIFESTO_USERNAME=ci", "MANIFESTO_PASSWORD=wrong-pw"}, "check", reg.Ref("team/app:1.0"), "--require", "seccomp")
	if r.code != 4 || strings.Contains(r.stderr, "wrong-pw") {
		t.Errorf("exit %d, %q", r.code, r.stderr)
	}
}

// TestCheckHostileValues: values crafted to blow up parsing or evaluation
// fail their requirement with a reason; the other requirements are judged
// and the process exits 5, quickly.
func TestCheckHostileValues(t *testing.T) {
	reg := testregistry.Start(t)
	image := reg.Ref("team/app:1.0")
	pushImage(t, image)
	ok(t, "put", image, "deep", writeFile(t, "deep.json", strings.Repeat("[", 200_000)+strings.Repeat("]", 200_000)))
	ok(t, "put", image, "wide", writeFile(t, "wide.json", "["+strings.Repeat("1,", 400_000)+"1]"))
	var bomb strings.Builder
	bomb.WriteString("a: &a [x, x, x, x, x, x, x, x, x, x]\n")
	for c := 'b'; c <= 'j'; c++ {
		p := string(c - 1)
		fmt.Fprintf(&bomb, "%c: &%c [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n", c, c, p, p, p, p, p, p, p, p, p, p)
	}
	ok(t, "put", image, "laughs", writeFile(t, "laughs.yaml", bomb.String()))
	ok(t, "put", image, "list", writeFile(t, "list.json", `{"l": [`+strings.Repeat("1,", 5000)+`1], "s": "`+strings.Repeat("a", 100_000)+`"}`))
	ok(t, "put", image, "big", writeFile(t, "big.json", `{"pad": "`+strings.Repeat("x", 2<<20)+`"}`))
	ok(t, "put", image, "seccomp", writeFile(t, "seccomp.json", `{}`))

	start := time.Now()
	r := cli(t, nil, nil, "check", image, "--json",
		"--require", "deep: value.size() > 0",
		"--require", "wide: value.size() > 0",
		"--require", "laughs: value.size() > 0",
		"--require", `list: value.l.all(x, value.l.all(y, !value.s.contains("zz")))`,
		"--require", "list: value.l.all(x, value.l.all(y, value.l.all(z, true)))",
		"--require", "big: value.pad != ''",
		"--require", "seccomp")
	if r.code != 5 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("check took %v", d)
	}
	doc := parseCheck(t, r)
	want := []string{
		"nested deeper than 64 levels",
		"more than 100000 elements",
		"more than 100000 elements",
		"evaluation stopped: over the cost limit",
		"evaluation stopped",
		"over the 1024 KiB limit for policy evaluation",
	}
	for i, w := range want {
		if rq := doc.Requirements[i]; rq.Passed || !strings.Contains(rq.Reason, w) {
			t.Errorf("requirement %d (%s): %+v, want a failure containing %q", i, rq.Key, rq, w)
		}
	}
	if !doc.Requirements[6].Passed {
		t.Errorf("seccomp: %+v", doc.Requirements[6])
	}
}

// TestCheckTrust: with --trust only verified versions count. An unsigned
// newer failing verdict does not change a verified pass; a signed newer
// failing verdict does.
func TestCheckTrust(t *testing.T) {
	reg := testregistry.Start(t)
	image := reg.Ref("team/app:1.0")
	pushImage(t, image)
	dir := t.TempDir()
	key, pub := cosignKeyPair(t, dir, "s3cret-pass")
	pass := []string{"COSIGN_PASSWORD=s3cret-pass"}
	signed := func(k, file, content string) {
		t.Helper()
		if r := cli(t, nil, pass, "put", image, k, writeFile(t, file, content), "--trust", "sigstore", "--sigstore-key", key); r.code != 0 {
			t.Fatalf("signed put: exit %d: %s", r.code, r.stderr)
		}
	}
	check := func(trusted bool, args ...string) result {
		t.Helper()
		args = append([]string{"check", image, "--json"}, args...)
		if trusted {
			args = append(args, "--trust", "sigstore", "--public-key", pub)
		}
		return cli(t, nil, nil, args...)
	}
	verdict := "test-results: value.failed == 0"
	approval := `approval: value.approved && entry.verified && entry.signer != ""`

	signed("test-results", "results.json", `{"failed": 0}`)
	signed("approval", "approval.json", `{"approved": true}`)
	r := check(true, "--require", verdict, "--require", approval)
	doc := parseCheck(t, r)
	if r.code != 0 || !doc.Passed || !doc.Requirements[1].Verified || !strings.HasPrefix(doc.Requirements[1].Signer, "sha256:") {
		t.Fatalf("verified pass: exit %d %+v %s", r.code, doc, r.stderr)
	}
	// Without trust, entry.signer is empty: the approval requirement fails.
	if r = check(false, "--require", approval); r.code != 5 {
		t.Errorf("unverified approval: exit %d", r.code)
	}

	// An unsigned newer failing verdict: unverified checks see it,
	// verified checks do not.
	ok(t, "put", image, "test-results", writeFile(t, "results.json", `{"failed": 7}`))
	if r = check(false, "--require", verdict); r.code != 5 {
		t.Errorf("unverified check of the newer failing verdict: exit %d", r.code)
	}
	if r = check(true, "--require", verdict); r.code != 0 {
		t.Errorf("verified check with an unsigned newer failing verdict: exit %d %s %s", r.code, r.stdout, r.stderr)
	}

	// A signed newer failing verdict fails the verified gate.
	signed("test-results", "results.json", `{"failed": 2}`)
	r = check(true, "--require", verdict)
	if doc = parseCheck(t, r); r.code != 5 || doc.Requirements[0].Reason != "value.failed == 0 was false (value.failed = 2)" || !doc.Requirements[0].Verified {
		t.Errorf("signed newer failing verdict: exit %d %+v", r.code, doc)
	}

	// A key with unsigned versions only has no verified version.
	ok(t, "put", image, "seccomp", writeFile(t, "seccomp.json", `{}`))
	r = check(true, "--require", "seccomp")
	if doc = parseCheck(t, r); r.code != 5 || doc.Requirements[0].Reason != "no verified version" {
		t.Errorf("unsigned key: exit %d %+v", r.code, doc)
	}
}

// TestStepCheck: check as a pipeline step on GitHub (outputs, summary
// table, an ::error annotation per failed requirement, fail_on_unmet),
// GitLab (dotenv MANIFESTO_OUT_PASSED) and Tekton (the passed result).
func TestStepCheck(t *testing.T) {
	reg := testregistry.Start(t)
	image := reg.Ref("team/app:1.0")
	pushImage(t, image)
	ok(t, "put", image, "test-results", writeFile(t, "results.json", `{"failed": 2, "passed": 7}`))
	ok(t, "put", image, "seccomp", writeFile(t, "seccomp.json", `{}`))
	ws, files := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(ws, "gate.yaml"), []byte("require:\n  - key: seccomp\n"), 0o644)
	require := "test-results: value.failed == 0\napproval"

	github := func(extra ...string) (result, map[string]string, string) {
		t.Helper()
		out, summary := filepath.Join(files, "output"), filepath.Join(files, "summary")
		os.Remove(out)
		os.Remove(summary)
		env := append([]string{"GITHUB_ACTIONS=true", "GITHUB_WORKSPACE=" + ws, "GITHUB_OUTPUT=" + out,
			"GITHUB_STEP_SUMMARY=" + summary, "INPUT_SUMMARY=true", "INPUT_FAIL_ON_UNMET=true",
			"INPUT_OPERATION=check", "INPUT_IMAGE=" + image}, extra...)
		r := step(t, ws, env...)
		s, _ := os.ReadFile(summary)
		if _, err := os.Stat(out); err != nil {
			return r, nil, string(s) // failed before any output
		}
		return r, readGitHubOutputFile(t, out), string(s)
	}

	r, outs, summary := github("INPUT_POLICY_FILE=gate.yaml", "INPUT_REQUIRE="+require)
	if r.code != 5 || outs["passed"] != "false" || outs["failed"] != "test-results,approval" {
		t.Fatalf("unmet: exit %d, outputs %v\n%s%s", r.code, outs, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "::error title=manifesto check::requirement test-results: value.failed == 0 not met: value.failed == 0 was false (value.failed = 2)") ||
		!strings.Contains(r.stdout, "::error title=manifesto check::requirement approval not met: no version") {
		t.Errorf("annotations:\n%s", r.stdout)
	}
	var doc checkJSON
	if err := json.Unmarshal([]byte(outs["json"]), &doc); err != nil || doc.Passed || len(doc.Requirements) != 3 {
		t.Errorf("json output %q: %v", outs["json"], err)
	}
	if !strings.Contains(summary, "| seccomp | ✓ |") || !strings.Contains(summary, "| approval | ✗ | no version |") {
		t.Errorf("summary:\n%s", summary)
	}

	// fail_on_unmet false: passed=false and exit 0, for pipelines that branch.
	r, outs, _ = github("INPUT_REQUIRE="+require, "INPUT_FAIL_ON_UNMET=false")
	if r.code != 0 || outs["passed"] != "false" || !strings.Contains(r.stdout, "::warning title=manifesto check::") {
		t.Errorf("fail_on_unmet=false: exit %d, outputs %v\n%s%s", r.code, outs, r.stdout, r.stderr)
	}
	// Inline policy, met.
	r, outs, _ = github("INPUT_POLICY=require: [seccomp, {key: test-results, expr: value.passed > 0}]")
	if r.code != 0 || outs["passed"] != "true" || outs["failed"] != "" {
		t.Errorf("met: exit %d, outputs %v\n%s", r.code, outs, r.stderr)
	}
	// A bad policy is a usage error before any network call.
	if r, _, _ = github("INPUT_REQUIRE=test-results: value.failed =="); r.code != 2 {
		t.Errorf("bad require: exit %d %s", r.code, r.stderr)
	}

	t.Run("gitlab", func(t *testing.T) {
		ws := t.TempDir()
		r := step(t, ws, "GITLAB_CI=true", "CI_PROJECT_DIR="+ws, "MANIFESTO_OPERATION=check", "MANIFESTO_IMAGE="+image,
			"MANIFESTO_REQUIRE="+require, "MANIFESTO_FAIL_ON_UNMET=false")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		env := readDotenvFile(t, filepath.Join(ws, "manifesto.env"))
		if env["MANIFESTO_OUT_PASSED"] != "false" || env["MANIFESTO_OUT_FAILED"] != "test-results,approval" {
			t.Errorf("dotenv = %v", env)
		}
	})
	t.Run("tekton", func(t *testing.T) {
		ws, results := t.TempDir(), t.TempDir()
		r := step(t, ws, "MANIFESTO_OPERATION=check", "MANIFESTO_IMAGE="+image, "MANIFESTO_REQUIRE=seccomp",
			"MANIFESTO_OUTPUTS_FORMAT=tekton", "MANIFESTO_RESULTS_DIR="+results)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if b, _ := os.ReadFile(filepath.Join(results, "passed")); string(b) != "true" {
			t.Errorf("passed result = %q", b)
		}
	})
}
