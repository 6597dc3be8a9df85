//go:build linux

package e2e

// GitLab pipelines (testdata/runners/gitlab/) run by gitlab-ci-local
// (scripts/install-gitlab-ci-local.sh; no GitLab runner can be installed
// here). It runs the jobs with its shell executor, in a copy of the project
// per job (--shell-isolation), hands dotenv reports to later jobs and to
// those that `needs:` them as GitLab documents, and copies artifacts back
// into the project directory. `image:` is not used by the shell executor:
// `manifesto` is the binary this package built, first on PATH. What is real
// here is GitLab's side of the contract: the pipeline syntax, the
// component's `spec: inputs:` and its job, the dotenv report's parsing and
// precedence, needs:. The image itself under a GitLab-like run is
// container_test.go's TestContainerGitLabComponent.
//
// Unlike the act and Woodpecker tests, these do not need podman or the image.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/testbin"
)

const envGitLabCILocalBin = "MANIFESTO_GITLAB_CI_LOCAL_BIN"

// gitlabRun runs pipeline (a file in testdata/runners/gitlab/) as the
// .gitlab-ci.yml of a fresh git repository holding extra (workspace path ->
// repository path), with the variables vars, and returns the result and the
// project directory.
func gitlabRun(t *testing.T, pipeline string, extra, vars map[string]string) (result, string) {
	t.Helper()
	gcl := testbin.Find(t, envGitLabCILocalBin, "gitlab-ci-local", "scripts/install-gitlab-ci-local.sh")
	files := map[string]string{".gitlab-ci.yml": "testdata/runners/gitlab/" + pipeline}
	for k, v := range extra {
		files[k] = v
	}
	ws := runnerWorkspace(t, files)
	gitCommitAll(t, ws)

	var env []string
	for _, kv := range cleanEnv() {
		if strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "CI=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+t.TempDir())
	args := []string{"--shell-isolation", "--force-shell-executor", "--no-color"}
	for k, v := range vars {
		args = append(args, "--variable", k+"="+v)
	}
	r := runBoundedTool(t, runnerTimeout, ws, env, gcl, args...)
	t.Logf("gitlab-ci-local %s: exit %d", pipeline, r.code)
	return r, ws
}

func TestRunnerGitLabVerdictDeploy(t *testing.T) {
	imageRef, subject := runnerRegistry(t)
	r, ws := gitlabRun(t, "verdict-deploy.gitlab-ci.yml",
		map[string]string{"verdict.json": "testdata/runners/gitlab/verdict.json"},
		map[string]string{"MANIFESTO_TEST_IMAGE": imageRef, "MANIFESTO_TEST_SUBJECT": subject})
	if r.code != 0 {
		t.Fatalf("gitlab-ci-local: exit %d\n%s", r.code, runnerLog(r))
	}
	equalFile(t, filepath.Join(ws, "out", "deploy-ok"), "deploy saw the verdict\n")
	entry, _ := registryEntry(t, imageRef, "test-verdict")

	// The test job's dotenv report, as the deploy job got it.
	equalOutputs(t, "deploy job", envLines(t, filepath.Join(ws, "out", "from-test.env"), "MANIFESTO_OUT_"), map[string]string{
		"DIGEST": entry.Digest, "SUBJECT": subject, "KEY": "test-verdict", "FOUND": "true",
		"MEDIA_TYPE": "application/json", "CREATED": entry.Created,
	})
	// The deploy job's own get.
	hasOutputs(t, "deploy job's report", "", readDotenvFile(t, filepath.Join(ws, "out", "deploy.env")), map[string]string{
		"MANIFESTO_OUT_DIGEST": entry.Digest, "MANIFESTO_OUT_PATH": ".manifesto/test-verdict", "MANIFESTO_OUT_FOUND": "true",
	})
}

func TestRunnerGitLabComponent(t *testing.T) {
	imageRef, subject := runnerRegistry(t)
	r, ws := gitlabRun(t, "component.gitlab-ci.yml", map[string]string{
		"templates/manifesto.yml": "templates/manifesto.yml",
		"verdict.json":            "testdata/runners/gitlab/verdict.json",
	}, map[string]string{"MANIFESTO_TEST_IMAGE": imageRef, "MANIFESTO_TEST_SUBJECT": subject})
	if r.code != 0 {
		t.Fatalf("gitlab-ci-local: exit %d\n%s", r.code, runnerLog(r))
	}
	equalFile(t, filepath.Join(ws, "out", "report-ok"), "report saw both jobs\n")
	entry, value := registryEntry(t, imageRef, "test-verdict")
	if value != readFile(t, "../testdata/runners/gitlab/verdict.json") {
		t.Errorf("registry value = %q, want verdict.json", value)
	}
	hasOutputs(t, "report job", "MANIFESTO_OUT_", envLines(t, filepath.Join(ws, "out", "report.env"), "MANIFESTO_OUT_"), map[string]string{
		"PUT_DIGEST": entry.Digest, "PUT_KEY": "test-verdict", "PUT_SUBJECT": subject,
		"GET_DIGEST": entry.Digest, "GET_KEY": "test-verdict", "GET_FOUND": "true",
		"GET_PATH": ".manifesto/test-verdict",
	})
}

func TestRunnerGitLabTwoJobs(t *testing.T) {
	imageRef, _ := runnerRegistry(t)
	r, ws := gitlabRun(t, "two-jobs.gitlab-ci.yml", map[string]string{
		"templates/manifesto.yml": "templates/manifesto.yml",
		"unit.json":               "testdata/values/unit.json",
		"e2e.json":                "testdata/values/e2e.json",
	}, map[string]string{"MANIFESTO_TEST_IMAGE": imageRef})
	if r.code != 0 {
		t.Fatalf("gitlab-ci-local: exit %d\n%s", r.code, runnerLog(r))
	}
	equalFile(t, filepath.Join(ws, "out", "deploy-ok"), "deploy told the two apart\n")
	unit, _ := registryEntry(t, imageRef, "unit-tests")
	e2e, _ := registryEntry(t, imageRef, "e2e-tests")
	got := envLines(t, filepath.Join(ws, "out", "deploy.env"), "MANIFESTO_OUT_")
	hasOutputs(t, "deploy job", "MANIFESTO_OUT_", got, map[string]string{
		"UNIT_DIGEST": unit.Digest, "UNIT_KEY": "unit-tests",
		"E2E_DIGEST": e2e.Digest, "E2E_KEY": "e2e-tests",
	})
	// The unprefixed names are one of the two reports, whole: never a mix.
	if d := got["DIGEST"]; d != unit.Digest && d != e2e.Digest {
		t.Errorf("deploy job: MANIFESTO_OUT_DIGEST = %q, want one of the two puts' digests", d)
	} else if (d == unit.Digest) != (got["KEY"] == "unit-tests") {
		t.Errorf("deploy job: MANIFESTO_OUT_DIGEST %q and MANIFESTO_OUT_KEY %q come from different reports", d, got["KEY"])
	}
}
