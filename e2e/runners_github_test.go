//go:build linux

package e2e

// GitHub Actions workflows (testdata/runners/github/) run by nektos/act
// (scripts/install-act.sh) through podman's Docker API; see runners_test.go.
//
// The workflows use the repository's own container action (`uses: ./`).
// GitHub, and act by default, build its Dockerfile when the job starts. Here
// act is given the image scripts/build-image.sh already built (the one
// .ci/run measures and the container tests run) under the name act gives a
// local Dockerfile action ("act-dockeraction:latest" for `uses: ./`), and
// --rebuild=false: a build through podman would compile the binary a second
// time without the build caches (minutes on two cores) and would need the
// Dockerfile's bases (golang, alpine) that cannot be pulled here. What act
// itself does with the action is all real: it reads action.yml, hands the
// inputs over as INPUT_* (defaults included), runs the image's entrypoint in
// a container with the workspace and file-command directories mounted, and
// parses $GITHUB_OUTPUT into steps.<id>.outputs.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/testbin"
)

const (
	envActBin = "MANIFESTO_ACT_BIN"
	// actActionImage is the image act runs for `uses: ./` (a local
	// Dockerfile action; pkg/runner/action.go of act v0.2.82), as podman's
	// Docker API names it.
	actActionImage = "docker.io/library/act-dockeraction:latest"
)

// actRun runs workflow (a file in testdata/runners/github/) with act in a
// fresh git repository holding action.yml, the Dockerfile and extra (workspace
// path -> repository path), with the variables env, and returns act's result
// and the workspace (bind-mounted into the job, so what the steps write is
// there afterwards).
func actRun(t *testing.T, workflow string, extra map[string]string, env map[string]string) (result, string) {
	t.Helper()
	p := podmanSetup(t)
	act := testbin.Find(t, envActBin, "act", "scripts/install-act.sh")
	dockerHost := p.service(t)
	p.tag(t, actActionImage)

	files := map[string]string{
		"action.yml":                    "action.yml",
		"Dockerfile":                    "Dockerfile",
		".github/workflows/" + workflow: "testdata/runners/github/" + workflow,
	}
	for k, v := range extra {
		files[k] = v
	}
	ws := runnerWorkspace(t, files)
	gitCommitAll(t, ws)

	home := t.TempDir()
	// act reads its defaults from ~/.actrc; an empty one, so that nothing
	// of the machine's applies and act never asks which image to use.
	if err := os.WriteFile(filepath.Join(home, ".actrc"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	procEnv := append(p.env, "DOCKER_HOST="+dockerHost, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"))
	args := []string{"push",
		"-W", ".github/workflows/" + workflow,
		"-P", "ubuntu-latest=" + runnerBaseImage,
		"--pull=false", "--rebuild=false",
		"--network", "host",
		"--container-daemon-socket", "-",
		"--action-offline-mode",
		"--bind",
		// A failed job's container and volume are otherwise left running.
		"--rm",
	}
	for k, v := range env {
		args = append(args, "--env", k+"="+v)
	}
	// act names a job's container act-<workflow name>-<job>-<hash of the
	// two>, the same on every run: one an earlier, killed run left behind
	// is removed first; one this run leaves behind fails the test.
	prefix := "act-" + strings.TrimSuffix(workflow, ".yml") + "-"
	if left := actContainers(t, p, prefix); len(left) > 0 {
		t.Logf("removing containers an earlier run left behind: %v", left)
	}
	r := runBoundedTool(t, runnerTimeout, ws, procEnv, act, args...)
	t.Logf("act %s: exit %d", workflow, r.code)
	if left := actContainers(t, p, prefix); len(left) > 0 {
		t.Errorf("act left containers behind: %v", left)
	}
	return r, ws
}

// actContainers removes the containers (and their anonymous volumes) whose
// names start with prefix, and returns their names.
func actContainers(t *testing.T, p *podman, prefix string) []string {
	t.Helper()
	r := p.run(t, "ps", "-a", "--filter", "name=^"+prefix, "--format", "{{.Names}}")
	if r.code != 0 {
		t.Fatalf("podman ps: exit %d: %s", r.code, r.stderr)
	}
	names := lines(r.stdout)
	if len(names) > 0 {
		if rm := p.run(t, append([]string{"rm", "-f", "-v"}, names...)...); rm.code != 0 {
			t.Errorf("podman rm %v: exit %d: %s", names, rm.code, rm.stderr)
		}
	}
	return names
}

// registryEntry reads key's newest entry on imageRef with the host's CLI.
func registryEntry(t *testing.T, imageRef, key string) (entryJSON, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "value")
	r := cli(t, nil, nil, "get", imageRef, key, "-o", out, "--json")
	if r.code != 0 {
		t.Fatalf("manifesto get %s %s: exit %d: %s", imageRef, key, r.code, r.stderr)
	}
	var v entryJSON
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("manifesto get --json: %v: %q", err, r.stdout)
	}
	return v, readFile(t, out)
}

// entryJSON is the part of `get --json` these tests compare.
type entryJSON struct {
	Key       string `json:"key"`
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Created   string `json:"created"`
	Subject   string `json:"subject"`
}

func TestRunnerActPutGet(t *testing.T) {
	imageRef, subject := runnerRegistry(t)
	verdict := readFile(t, "../testdata/runners/github/verdict.json")
	r, ws := actRun(t, "put-get.yml",
		map[string]string{"verdict.json": "testdata/runners/github/verdict.json"},
		map[string]string{"MANIFESTO_TEST_IMAGE": imageRef, "MANIFESTO_TEST_SUBJECT": subject})
	if r.code != 0 {
		t.Fatalf("act put-get.yml: exit %d\n%s", r.code, runnerLog(r))
	}
	if !strings.Contains(r.stdout, "all outputs as expected") {
		t.Errorf("the checking step did not report success\n%s", runnerLog(r))
	}

	// What the registry holds is what the put step reported.
	entry, value := registryEntry(t, imageRef, "test-verdict")
	if value != verdict {
		t.Errorf("registry value = %q, want %q", value, verdict)
	}
	if entry.Subject != subject {
		t.Errorf("registry entry subject = %q, want %q", entry.Subject, subject)
	}

	out := filepath.Join(ws, "out")
	// Every output of every step, byte for byte, as the next step saw it.
	want := map[string]map[string]string{
		"PUT": {"DIGEST": entry.Digest, "SUBJECT": subject, "KEY": "test-verdict", "FOUND": "true",
			"MEDIA_TYPE": "application/json", "CREATED": entry.Created, "PATH": "", "VALUE": "", "VERIFIED": "",
			"SIGNER": "", "KEYS": "", "DIGESTS": "", "PASSED": "", "FAILED": ""},
		"GET": {"DIGEST": entry.Digest, "SUBJECT": subject, "KEY": "test-verdict", "FOUND": "true",
			"MEDIA_TYPE": "application/json", "CREATED": entry.Created, "PATH": ".manifesto/test-verdict",
			"VALUE": verdict, "VERIFIED": "false", "SIGNER": "", "KEYS": "", "DIGESTS": "", "PASSED": "", "FAILED": ""},
		"MISSING": {"DIGEST": "", "SUBJECT": subject, "KEY": "seccomp", "FOUND": "false", "MEDIA_TYPE": "",
			"CREATED": "", "PATH": "", "VALUE": "", "VERIFIED": "false", "SIGNER": "", "KEYS": "", "DIGESTS": "",
			"PASSED": "", "FAILED": ""},
	}
	// An output action.yml declares that the test does not name must be
	// empty for these operations (a new output must be added to the
	// workflow's list: its file is missing otherwise).
	for name := range loadAction(t).Outputs {
		name = strings.ToUpper(name)
		for _, outs := range want {
			if _, ok := outs[name]; !ok && name != "JSON" {
				outs[name] = ""
			}
		}
	}
	for step, outs := range want {
		for name, v := range outs {
			equalFile(t, filepath.Join(out, step, name), v)
		}
	}
	// json: the whole result, as `manifesto put|get --json` prints it. A
	// missing key (fail_on_missing false) has none.
	putJSON := fmt.Sprintf(`{"key":"test-verdict","digest":%q,"mediaType":"application/json","size":%d,"created":%q,"subject":%q}`,
		entry.Digest, len(verdict), entry.Created, subject)
	equalFile(t, filepath.Join(out, "PUT", "JSON"), putJSON)
	equalFile(t, filepath.Join(out, "GET", "JSON"), strings.TrimSuffix(putJSON, "}")+`,"path":".manifesto/test-verdict"}`)
	equalFile(t, filepath.Join(out, "MISSING", "JSON"), "")
	equalFile(t, filepath.Join(ws, ".manifesto", "test-verdict"), verdict)
	if fileExists(filepath.Join(ws, ".manifesto", "seccomp")) {
		t.Errorf("the get of a missing key wrote .manifesto/seccomp")
	}
}

func TestRunnerActGetFailsJob(t *testing.T) {
	imageRef, _ := runnerRegistry(t)
	r, ws := actRun(t, "get-fails.yml", nil, map[string]string{"MANIFESTO_TEST_IMAGE": imageRef})
	if r.code == 0 {
		t.Fatalf("act get-fails.yml: exit 0, want the job to fail\n%s", runnerLog(r))
	}
	if fileExists(filepath.Join(ws, "after-get")) {
		t.Errorf("the step after the failed get ran\n%s", runnerLog(r))
	}
	// The job went on to its failure() steps: the get step failed, act
	// did not stop for some other reason.
	equalFile(t, filepath.Join(ws, "failure-seen"), "failure\n")
	if !strings.Contains(r.stdout, `::error title=manifesto::`) && !strings.Contains(r.stdout, `key "seccomp" not found`) {
		t.Errorf("act's log does not show manifesto's error\n%s", runnerLog(r))
	}
}

func TestRunnerActStepsFile(t *testing.T) {
	imageRef, subject := runnerRegistry(t)
	r, ws := actRun(t, "steps-file.yml", map[string]string{
		"verdicts.yml": "testdata/steps/verdicts.yml",
		"unit.json":    "testdata/values/unit.json",
		"e2e.json":     "testdata/values/e2e.json",
	}, map[string]string{"MANIFESTO_TEST_IMAGE": imageRef, "MANIFESTO_TEST_SUBJECT": subject})
	if r.code != 0 {
		t.Fatalf("act steps-file.yml: exit %d\n%s", r.code, runnerLog(r))
	}
	unit, unitValue := registryEntry(t, imageRef, "unit-tests")
	e2e, e2eValue := registryEntry(t, imageRef, "e2e-tests")
	if unitValue != readFile(t, "../testdata/values/unit.json") || e2eValue != readFile(t, "../testdata/values/e2e.json") {
		t.Errorf("registry values: unit-tests %q, e2e-tests %q; want the files put", unitValue, e2eValue)
	}
	raw := readFile(t, filepath.Join(ws, "out", "outputs.json"))
	var outs map[string]string
	if err := json.Unmarshal([]byte(raw), &outs); err != nil {
		t.Fatalf("steps.multi.outputs: %v: %q", err, raw)
	}
	for name, v := range map[string]string{
		"unit_digest": unit.Digest, "unit_key": "unit-tests", "unit_subject": subject,
		"e2e_digest": e2e.Digest, "e2e_key": "e2e-tests", "e2e_subject": subject,
		"profile_found": "false", "profile_key": "seccomp",
		"keys_keys": "e2e-tests,unit-tests", "keys_found": "true",
		// The last entry's outputs also under the plain names.
		"keys": "e2e-tests,unit-tests", "subject": subject,
	} {
		if got, ok := outs[name]; !ok || got != v {
			t.Errorf("steps.multi.outputs.%s = %q (present %v), want %q", name, got, ok, v)
		}
	}
	if _, ok := outs["profile_path"]; ok {
		t.Errorf("steps.multi.outputs.profile_path is set for a missing key: %q", outs["profile_path"])
	}
}

func TestRunnerActCheck(t *testing.T) {
	imageRef, _ := runnerRegistry(t)
	r, ws := actRun(t, "check.yml",
		map[string]string{"verdict.json": "testdata/runners/github/verdict.json"},
		map[string]string{"MANIFESTO_TEST_IMAGE": imageRef})
	// The last gate is unmet with fail_on_unmet true: the job fails there,
	// after the checking step passed.
	if r.code == 0 {
		t.Fatalf("act check.yml: exit 0, want the last gate to fail the job\n%s", runnerLog(r))
	}
	if !strings.Contains(r.stdout, "gate outputs as expected") {
		t.Errorf("the checking step did not report success\n%s", runnerLog(r))
	}
	out := filepath.Join(ws, "out")
	for name, v := range map[string]string{
		"MET_PASSED": "true", "MET_FAILED": "",
		"UNMET_PASSED": "false", "UNMET_FAILED": "test-verdict,seccomp",
	} {
		equalFile(t, filepath.Join(out, name), v)
	}
	if fileExists(filepath.Join(ws, "after-gate")) {
		t.Errorf("the step after the failed gate ran\n%s", runnerLog(r))
	}
}
