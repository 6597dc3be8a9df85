//go:build linux

package e2e

// A Woodpecker pipeline (testdata/runners/woodpecker/pipeline.yml) run by
// woodpecker-cli 1.0.5's `exec` with its docker backend through podman's
// Docker API (scripts/install-woodpecker-cli.sh; see runners_test.go): the
// image is a plugin configured with `settings:` (PLUGIN_*), put then get,
// then a shell step reads manifesto.env and .manifesto/<key>. exec mounts
// the pipeline file's directory as the workspace (/woodpecker/src), so what
// the steps write is there afterwards.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/testbin"
)

const envWoodpeckerBin = "MANIFESTO_WOODPECKER_BIN"

func TestRunnerWoodpeckerPlugin(t *testing.T) {
	p := podmanSetup(t)
	wp := testbin.Find(t, envWoodpeckerBin, "woodpecker-cli", "scripts/install-woodpecker-cli.sh")
	dockerHost := p.service(t)
	imageRef, subject := runnerRegistry(t)

	ws := runnerWorkspace(t, map[string]string{
		".woodpecker.yml": "testdata/runners/woodpecker/pipeline.yml",
		"verdict.json":    "testdata/runners/woodpecker/verdict.json",
	})
	verdict := readFile(t, filepath.Join(ws, "verdict.json"))
	env := append(p.env, "DOCKER_HOST="+dockerHost, "HOME="+t.TempDir())
	r := runBoundedTool(t, runnerTimeout, ws, env, wp, "exec",
		"--backend-engine", "docker",
		"--timeout", runnerTimeout.String(),
		// Unique per test: the names of the containers and volume exec
		// makes start with it.
		"--prefix", "manifesto-e2e-"+randomSuffix(t),
		"--env", "MANIFESTO_TEST_RUNNER_IMAGE="+p.image,
		"--env", "MANIFESTO_TEST_BASE_IMAGE="+runnerBaseImage,
		"--env", "MANIFESTO_TEST_IMAGE="+imageRef,
		"--env", "MANIFESTO_TEST_SUBJECT="+subject,
		filepath.Join(ws, ".woodpecker.yml"))
	t.Logf("woodpecker-cli exec: exit %d", r.code)
	if r.code != 0 {
		t.Fatalf("woodpecker-cli exec: exit %d\n%s", r.code, runnerLog(r))
	}
	equalFile(t, filepath.Join(ws, "out", "read-ok"), "outputs as expected\n")

	entry, value := registryEntry(t, imageRef, "test-verdict")
	if value != verdict {
		t.Errorf("registry value = %q, want %q", value, verdict)
	}
	equalFile(t, filepath.Join(ws, ".manifesto", "test-verdict"), verdict)

	// The outputs as the reading step's shell got them from the dotenv
	// files, every MANIFESTO_OUT_* variable.
	for file, want := range map[string]map[string]string{
		"put": {"DIGEST": entry.Digest, "SUBJECT": subject, "KEY": "test-verdict", "FOUND": "true",
			"MEDIA_TYPE": "application/json", "CREATED": entry.Created},
		"get": {"DIGEST": entry.Digest, "SUBJECT": subject, "KEY": "test-verdict", "FOUND": "true",
			"MEDIA_TYPE": "application/json", "CREATED": entry.Created, "VERIFIED": "false",
			// No VALUE: a JSON document is not a plain value, and dotenv
			// outputs hold plain values only (README, Security).
			"PATH": ".manifesto/test-verdict"},
	} {
		equalOutputs(t, file+" step", envLines(t, filepath.Join(ws, "out", file, "env"), "MANIFESTO_OUT_"), want)
	}
}

// envLines reads `env` output (NAME=value lines, sorted) from path and
// returns the variables whose names start with prefix, without it.
func envLines(t *testing.T, path, prefix string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vars := nameValues(t, path+" (every name starting "+prefix+")", string(b), func(name string) bool { return strings.HasPrefix(name, prefix) })
	m := make(map[string]string, len(vars))
	for name, v := range vars {
		m[strings.TrimPrefix(name, prefix)] = v
	}
	return m
}

// hasOutputs fails the test unless got (name -> value; prefix is what the
// names lack, for the messages) holds every output of want with its value.
func hasOutputs(t *testing.T, what, prefix string, got, want map[string]string) {
	t.Helper()
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s: %s%s = %q (present %v), want %q", what, prefix, name, g, ok, v)
		}
	}
}

// equalOutputs fails the test unless got (output name -> value, without the
// MANIFESTO_OUT_ prefix) is exactly want: the same names, the same bytes.
func equalOutputs(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	hasOutputs(t, what, "MANIFESTO_OUT_", got, want)
	for name, v := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: unexpected output MANIFESTO_OUT_%s=%q", what, name, v)
		}
	}
}
