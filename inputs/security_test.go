//go:build unix

package inputs

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 10 item 1: every file name with a control character is a usage error,
// on the command line and in a step, before any file or network is touched.
func TestControlCharacterPathsRefused(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	for _, name := range []string{"out\n::error::x", "a\rb", "tab\there", "esc\x1b[2J", "ne\u0085l", "ls\u2028x"} {
		for _, args := range [][]string{
			{"get", stepImg, "k", "-o", filepath.Join(ws.dir, name)},
			{"put", stepImg, "k", filepath.Join(ws.dir, name)},
		} {
			_, err := FromArgs(args, func(string) string { return "" }, nil, io.Discard)
			checkUsage(t, err, "control character")
		}
		base := env(drEnv, map[string]string{"DRONE_WORKSPACE": ws.dir})
		for _, m := range []map[string]string{
			{"PLUGIN_OPERATION": "get", "PLUGIN_IMAGE": stepImg, "PLUGIN_KEY": "k", "PLUGIN_FILE": name},
			{"PLUGIN_OPERATION": "put", "PLUGIN_IMAGE": stepImg, "PLUGIN_KEY": "k", "PLUGIN_FILE": name},
			{"PLUGIN_OPERATION": "list", "PLUGIN_IMAGE": stepImg, "PLUGIN_OUTPUTS_FILE": name},
			{"PLUGIN_OPERATION": "list", "PLUGIN_IMAGE": stepImg, "PLUGIN_OUTPUTS_FORMAT": "jsonl", "PLUGIN_OUTPUTS_FILE": name},
			{"PLUGIN_STEPS_FILE": name},
		} {
			_, err := ws.fromStep(env(base, m))
			checkUsage(t, err, "control character")
		}
	}
	steps := filepath.Join(ws.dir, "steps.yml")
	writeFile(t, steps, "image: "+stepImg+"\nsteps:\n  - {id: g, operation: get, key: k1, file: \"v\\n::add-mask::sha256\\n::error title=pwned::fake failure\"}\n")
	_, err := ws.fromStep(env(drEnv, map[string]string{"DRONE_WORKSPACE": ws.dir, "PLUGIN_STEPS_FILE": "steps.yml"}))
	checkUsage(t, err, "control character", `step "g"`)
	entries, _ := os.ReadDir(ws.dir)
	for _, e := range entries {
		if strings.ContainsAny(e.Name(), "\n\r") {
			t.Errorf("created %q", e.Name())
		}
	}
}

// Issue 10 item 8: an outputs file in the workspace is confined as get's
// file is: no symbolic link may lead it out of the workspace, at FromStep and
// when it is opened; a path outside the workspace given as such is the CI
// system's own and stays allowed.
func TestOutputsFileConfined(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	target := filepath.Join(ws.outside, "target")
	writeFile(t, target, "untouched\n")
	if err := os.Symlink(target, ws.abs("out.jsonl")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(ws.outside, ws.abs("outdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, ws.abs(DefaultOutputsFile)); err != nil {
		t.Fatal(err)
	}
	writeFile(t, ws.abs("reports/inside.jsonl"), "")
	if err := os.Symlink("reports/inside.jsonl", ws.abs("inside-link.jsonl")); err != nil {
		t.Fatal(err)
	}
	base := env(drEnv, map[string]string{"DRONE_WORKSPACE": ws.dir, "PLUGIN_OPERATION": "list", "PLUGIN_IMAGE": stepImg})
	for _, tt := range []struct{ format, file string }{
		{"jsonl", "out.jsonl"},
		{"jsonl", "outdir/new.jsonl"},
		{"jsonl", ""}, // the default manifesto.env
		{"dotenv", "out.jsonl"},
		{"dotenv", ""},
	} {
		m := env(base, map[string]string{"PLUGIN_OUTPUTS_FORMAT": tt.format})
		if tt.file != "" {
			m["PLUGIN_OUTPUTS_FILE"] = tt.file
		}
		_, err := ws.fromStep(m)
		checkUsage(t, err, `"outputs_file"`, "symbolic link outside the workspace")
	}

	// A link that stays inside is followed; an absolute file outside the
	// workspace (GitLab Functions' output_file) is used as given.
	for _, file := range []string{"inside-link.jsonl", filepath.Join(ws.outside, "ci-output.jsonl")} {
		st, err := ws.fromStep(env(base, map[string]string{"PLUGIN_OUTPUTS_FORMAT": "jsonl", "PLUGIN_OUTPUTS_FILE": file}))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		f, err := st.OpenOutputsFile()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		f.WriteString("{}\n")
		f.Close()
	}
	if b, err := os.ReadFile(ws.abs("reports/inside.jsonl")); err != nil || string(b) != "{}\n" {
		t.Errorf("inside.jsonl: %q, %v", b, err)
	}

	// A link swapped in after FromStep checked the name is not followed
	// out of the workspace.
	st, err := ws.fromStep(env(base, map[string]string{"PLUGIN_OUTPUTS_FORMAT": "jsonl", "PLUGIN_OUTPUTS_FILE": "later.jsonl"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, ws.abs("later.jsonl")); err != nil {
		t.Fatal(err)
	}
	if f, err := st.OpenOutputsFile(); err == nil {
		f.WriteString("leaked\n")
		f.Close()
		t.Errorf("opened %s through a link to %s", st.OutputsFile, target)
	}
	if b, _ := os.ReadFile(target); string(b) != "untouched\n" {
		t.Errorf("the file outside the workspace now holds %q", b)
	}
}
