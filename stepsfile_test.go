package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/testimage"
)

// readGitHubOutputs reads a $GITHUB_OUTPUT file of "name<<DELIM" blocks, as
// outputs.GitHubOutput writes it, into names in order and their values.
func readGitHubOutputs(t *testing.T, path string) ([]string, map[string]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var names []string
	vals := map[string]string{}
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			t.Fatalf("line %q is not name<<DELIM", lines[i])
		}
		var v []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			v = append(v, lines[i])
		}
		names = append(names, name)
		vals[name] = strings.Join(v, "\n")
	}
	return names, vals
}

// TestStepsFileOptionalIDs: ids are optional in a steps file of several
// steps, as GitHub's own step ids are (issue 15). An entry with an id exports
// <id>_<name>; one without exports nothing of its own, so two of them cannot
// overwrite each other; the last entry, id or not, also exports the plain
// names, except json, which carries every entry (outputs.StepsJSON).
func TestStepsFileOptionalIDs(t *testing.T) {
	image := testimage.Image(t, testimage.Layout)
	ws, files := t.TempDir(), t.TempDir()
	for name, content := range map[string]string{"a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n"} {
		if err := os.WriteFile(filepath.Join(ws, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stepsFile := "steps:\n" +
		"  - {operation: put, key: first, file: a.txt}\n" +
		"  - {id: second, operation: put, key: second, file: b.txt}\n" +
		"  - {operation: put, key: third, file: c.txt}\n" +
		"  - {operation: list}\n"
	if err := os.WriteFile(filepath.Join(ws, "steps.yml"), []byte(stepsFile), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws, "GITHUB_OUTPUT": filepath.Join(files, "output"),
		"INPUT_STEPS_FILE": "steps.yml", "INPUT_IMAGE": image, "INPUT_SUMMARY": "false",
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), nil, func(k string) string { return env[k] }, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	names, vals := readGitHubOutputs(t, env["GITHUB_OUTPUT"])
	for _, n := range names {
		if !strings.HasPrefix(n, "second_") && strings.Contains(strings.TrimSuffix(n, "media_type"), "_") {
			t.Errorf("output %q: only the entry with an id exports prefixed outputs", n)
		}
	}
	if vals["second_key"] != "second" || !strings.HasPrefix(vals["second_digest"], "sha256:") {
		t.Errorf("the entry with an id: outputs %v", vals)
	}
	// The plain names are the last entry's: the list of all three keys.
	if vals["keys"] != "first,second,third" || vals["found"] != "true" || !slices.Contains(names, "json") {
		t.Errorf("the last entry's outputs: %v", vals)
	}
	// The plain json carries every entry, the ones without an id
	// included; second_json is that entry's own document.
	var all []struct {
		Step      int             `json:"step"`
		ID        string          `json:"id"`
		Operation string          `json:"operation"`
		Result    json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal([]byte(vals["json"]), &all); err != nil {
		t.Fatalf("json output %q: %v", vals["json"], err)
	}
	if len(all) != 4 {
		t.Fatalf("json output has %d entries, want 4: %s", len(all), vals["json"])
	}
	for i, want := range []struct{ id, op, key string }{{"", "put", "first"}, {"second", "put", "second"}, {"", "put", "third"}, {"", "list", ""}} {
		e := all[i]
		if e.Step != i+1 || e.ID != want.id || e.Operation != want.op {
			t.Errorf("json entry %d: step %d id %q operation %q, want %d %q %q", i, e.Step, e.ID, e.Operation, i+1, want.id, want.op)
		}
		var doc struct {
			Key string `json:"key"`
		}
		if want.key != "" && (json.Unmarshal(e.Result, &doc) != nil || doc.Key != want.key) {
			t.Errorf("json entry %d: result %s, want key %q", i, e.Result, want.key)
		}
	}
	if string(all[1].Result) != vals["second_json"] {
		t.Errorf("second_json %q differs from its entry in json %q", vals["second_json"], all[1].Result)
	}
	for _, want := range []string{"manifesto: put first: stored ", "manifesto: second: put second: stored ", "manifesto: put third: stored ", "manifesto: list: 3 keys on "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, out.String())
		}
	}
}
