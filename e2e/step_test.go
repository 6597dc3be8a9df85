package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

// step runs the binary with no arguments in dir, as a CI system runs a
// container entrypoint.
func step(t *testing.T, dir string, env ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// parseGitHubOutput reads a $GITHUB_OUTPUT file the way the runner does:
// "name=value" lines, or "name<<DELIM", value lines, "DELIM".
func readGitHubOutputFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(name, "=") {
			var val []string
			closed := false
			for sc.Scan() {
				if sc.Text() == delim {
					closed = true
					break
				}
				val = append(val, sc.Text())
			}
			if !closed {
				t.Fatalf("output %s: delimiter %s never closes", name, delim)
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("bad output line %q", line)
		}
		out[name] = val
	}
	return out
}

// readDotenvFile reads the dotenv file at path (parseDotenv).
func readDotenvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseDotenv(t, string(b))
}

// parseDotenv reads a GitLab dotenv report: KEY=VALUE lines, nothing else,
// within GitLab's limits (under 5 KB, at most 20 variables).
func parseDotenv(t *testing.T, s string) map[string]string {
	t.Helper()
	if len(s) >= 5120 {
		t.Errorf("dotenv is %d bytes; GitLab takes under 5 KB", len(s))
	}
	out := nameValues(t, "dotenv (GitLab's rules)", s, func(k string) bool {
		return strings.Trim(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == ""
	})
	if len(out) > 20 {
		t.Errorf("%d variables; GitLab takes 20", len(out))
	}
	return out
}

// nameValues reads NAME=value lines, every line one whose name valid
// accepts, into a map: the one reader of dotenv files and `env` dumps in
// these tests (parseDotenv, envLines).
func nameValues(t *testing.T, what, s string, valid func(name string) bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range lines(s) {
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || !valid(k) {
			t.Fatalf("%s: line %q is not NAME=value with a valid name; file:\n%s", what, line, s)
		}
		out[k] = v
	}
	return out
}

func TestStepGitHubActions(t *testing.T) {
	reg := testregistry.Start(t)
	image := reg.Ref("team/app:1.0")
	subject := pushImage(t, image)
	ws := t.TempDir()
	os.MkdirAll(filepath.Join(ws, "reports"), 0o755)
	os.WriteFile(filepath.Join(ws, "reports", "unit.json"), []byte("{\"passed\":42}\n"), 0o644)
	files := t.TempDir()
	github := func(extra ...string) (result, map[string]string) {
		out := filepath.Join(files, "output")
		os.Remove(out)
		env := append([]string{
			"GITHUB_ACTIONS=true", "GITHUB_WORKSPACE=" + ws, "GITHUB_OUTPUT=" + out,
			"GITHUB_STEP_SUMMARY=" + filepath.Join(files, "summary"),
			// Inputs the runner exports with their action.yml defaults.
			"INPUT_FAIL_ON_MISSING=true", "INPUT_SUMMARY=true", "INPUT_USERNAME=", "INPUT_PASSWORD=",
		}, extra...)
		r := step(t, ws, env...)
		if r.code != 0 {
			return r, nil
		}
		return r, readGitHubOutputFile(t, out)
	}

	r, outs := github("INPUT_OPERATION=put", "INPUT_IMAGE="+image, "INPUT_KEY=test-results", "INPUT_FILE=reports/unit.json",
		"INPUT_USERNAME=ci", "INPUT_PASSWORD=hunter2-secret")
	if r.code != 0 {
		t.Fatalf("put step: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "::add-mask::hunter2-secret\n") {
		t.Errorf("the password is not masked before anything else: %q", r.stdout)
	}
	if strings.Count(r.stdout+r.stderr, "hunter2-secret") != 1 {
		t.Errorf("the password appears outside its mask command: %q %q", r.stdout, r.stderr)
	}
	if !strings.HasPrefix(outs["digest"], "sha256:") || outs["subject"] != subject.String() || outs["key"] != "test-results" ||
		outs["found"] != "true" || outs["media_type"] != "application/json" {
		t.Errorf("put outputs = %v", outs)
	}
	digest := outs["digest"]

	r, outs = github("INPUT_OPERATION=get", "INPUT_IMAGE="+image, "INPUT_KEY=test-results")
	if r.code != 0 {
		t.Fatalf("get step: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	want := filepath.Join(ws, ".manifesto", "test-results")
	if outs["path"] != ".manifesto/test-results" || outs["value"] != "{\"passed\":42}\n" || outs["digest"] != digest {
		t.Errorf("get outputs = %v", outs)
	}
	if b, _ := os.ReadFile(want); string(b) != "{\"passed\":42}\n" {
		t.Errorf("value file = %q", b)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(outs["json"]), &doc); err != nil || doc["digest"] != digest {
		t.Errorf("json output = %q (%v)", outs["json"], err)
	}
	if s, _ := os.ReadFile(filepath.Join(files, "summary")); !strings.Contains(string(s), "test-results") {
		t.Errorf("step summary = %q", s)
	}

	// A missing key: fails by default with an ::error:: annotation first...
	r, _ = github("INPUT_OPERATION=get", "INPUT_IMAGE="+image, "INPUT_KEY=seccomp")
	if r.code != 3 || !strings.HasPrefix(r.stdout, "::error") || len(lines(r.stderr)) != 1 {
		t.Errorf("missing key: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// ...naming the operation and key once (issue 15).
	msg := `get seccomp: key "seccomp" not found on ` + subject.String()
	if r.stdout != "::error title=manifesto::"+msg+"\n" || r.stderr != "manifesto: "+msg+"\n" {
		t.Errorf("missing key: stdout %q, stderr %q, want the message %q", r.stdout, r.stderr, msg)
	}
	// ...and with fail_on_missing false it is found=false.
	r, outs = github("INPUT_OPERATION=get", "INPUT_IMAGE="+image, "INPUT_KEY=seccomp", "INPUT_FAIL_ON_MISSING=false")
	if r.code != 0 || outs["found"] != "false" {
		t.Errorf("fail_on_missing=false: exit %d, outputs %v, stderr %q", r.code, outs, r.stderr)
	}
	// The runner does not enforce required inputs: we do.
	r, _ = github("INPUT_OPERATION=get", "INPUT_KEY=seccomp")
	if r.code != 2 || !strings.Contains(r.stderr, "image") {
		t.Errorf("missing image: exit %d, stderr %q", r.code, r.stderr)
	}
	// get never writes outside the workspace.
	r, _ = github("INPUT_OPERATION=get", "INPUT_IMAGE="+image, "INPUT_KEY=test-results", "INPUT_FILE=../escape.json")
	if r.code != 2 {
		t.Errorf("escape: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(ws), "escape.json")); err == nil {
		t.Error("get wrote outside the workspace")
	}
}

func TestStepsFile(t *testing.T) {
	reg := testregistry.Start(t)
	image := reg.Ref("team/app:1.0")
	pushImage(t, image)
	ws := t.TempDir()
	copyTestdata(t, ws, "values/unit.json", "values/e2e.json", "steps/verdicts.yml", "steps/unknown-field.yml")
	r := step(t, ws, "GITLAB_CI=true", "MANIFESTO_IMAGE="+image, "MANIFESTO_STEPS_FILE=verdicts.yml")
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	env := readDotenvFile(t, filepath.Join(ws, "manifesto.env"))
	if !strings.HasPrefix(env["MANIFESTO_OUT_UNIT_DIGEST"], "sha256:") || !strings.HasPrefix(env["MANIFESTO_OUT_E2E_DIGEST"], "sha256:") ||
		env["MANIFESTO_OUT_PROFILE_FOUND"] != "false" || env["MANIFESTO_OUT_KEYS_KEYS"] != "e2e-tests,unit-tests" ||
		env["MANIFESTO_OUT_KEYS"] != "e2e-tests,unit-tests" {
		t.Errorf("dotenv = %v", env)
	}

	// Unknown fields are errors with a line number.
	r = step(t, ws, "GITLAB_CI=true", "MANIFESTO_IMAGE="+image, "MANIFESTO_STEPS_FILE=unknown-field.yml")
	if r.code != 2 || !strings.Contains(r.stderr, "line 4") {
		t.Errorf("bad steps file: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestStepSystems: each CI system's input names and output convention.
func TestStepSystems(t *testing.T) {
	reg := testregistry.Start(t)
	image := reg.Ref("team/app:1.0")
	pushImage(t, image)
	ok(t, "put", image, "seccomp", writeFile(t, "seccomp.json", `{"defaultAction":"SCMP_ACT_ERRNO"}`))

	t.Run("drone", func(t *testing.T) {
		ws := t.TempDir()
		r := step(t, ws, "DRONE=true", "DRONE_WORKSPACE="+ws, "PLUGIN_OPERATION=get", "PLUGIN_IMAGE="+image, "PLUGIN_KEY=seccomp",
			"PLUGIN_FAIL-ON-MISSING=true")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		env := readDotenvFile(t, filepath.Join(ws, "manifesto.env"))
		if env["MANIFESTO_OUT_FOUND"] != "true" || env["MANIFESTO_OUT_PATH"] != ".manifesto/seccomp" {
			t.Errorf("dotenv = %v", env)
		}
	})
	t.Run("woodpecker", func(t *testing.T) {
		ws := t.TempDir()
		r := step(t, ws, "CI=woodpecker", "CI_WORKSPACE="+ws, "PLUGIN_OPERATION=list", "PLUGIN_IMAGE="+image)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if env := readDotenvFile(t, filepath.Join(ws, "manifesto.env")); env["MANIFESTO_OUT_KEYS"] != "seccomp" {
			t.Errorf("dotenv = %v", env)
		}
	})
	t.Run("gitlab functions", func(t *testing.T) {
		ws := t.TempDir()
		out := filepath.Join(t.TempDir(), "outputs.jsonl")
		r := step(t, ws, "GITLAB_CI=true", "CI_PROJECT_DIR="+ws, "MANIFESTO_OPERATION=get", "MANIFESTO_IMAGE="+image,
			"MANIFESTO_KEY=seccomp", "MANIFESTO_OUTPUTS_FORMAT=jsonl", "MANIFESTO_OUTPUTS_FILE="+out)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		b, _ := os.ReadFile(out)
		got := map[string]string{}
		for _, l := range lines(string(b)) {
			var kv struct{ Name, Value string }
			if err := json.Unmarshal([]byte(l), &kv); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			got[kv.Name] = kv.Value
		}
		if got["value"] != `{"defaultAction":"SCMP_ACT_ERRNO"}` || got["found"] != "true" {
			t.Errorf("outputs = %v", got)
		}
	})
	t.Run("tekton", func(t *testing.T) {
		ws, results := t.TempDir(), t.TempDir()
		r := step(t, ws, "MANIFESTO_OPERATION=history", "MANIFESTO_IMAGE="+image, "MANIFESTO_KEY=seccomp",
			"MANIFESTO_OUTPUTS_FORMAT=tekton", "MANIFESTO_RESULTS_DIR="+results)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if b, _ := os.ReadFile(filepath.Join(results, "found")); string(b) != "true" {
			t.Errorf("found result = %q", b)
		}
		if b, _ := os.ReadFile(filepath.Join(results, "digests")); !strings.HasPrefix(string(b), "sha256:") {
			t.Errorf("digests result = %q", b)
		}
	})
}
