package outputs

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// terminationMessage is the message Tekton's entrypoint would write for the
// results found in dir (each file a result, as the entrypoint reads them),
// plus its own StartedAt entry: a JSON array of {"key","value","type"}.
func terminationMessage(t *testing.T, dir string) ([]byte, map[string]string) {
	t.Helper()
	type runResult struct {
		Key   string `json:"key"`
		Value string `json:"value"`
		Type  int    `json:"type,omitempty"`
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]string{}
	msg := []runResult{{Key: "StartedAt", Value: "2025-03-04T05:06:07.123456789Z", Type: 3}}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		results[f.Name()] = string(b)
		msg = append(msg, runResult{Key: f.Name(), Value: string(b), Type: 1})
	}
	b, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return b, results
}

func TestTektonResults(t *testing.T) {
	t.Parallel()
	kb := func(n int, c string) string { return strings.Repeat(c, n*1024) }
	tests := []struct {
		name    string
		outs    []Output
		skipped []string
	}{
		{"none", nil, nil},
		{"standard", StepOutputs(getResult()), nil},
		{"awkward values", []Output{{"empty", ""}, {"lines", "a\nb\n"}, {"html", "<&>\"\\"}, {"unicode", "✓"}}, nil},
		{"names", []Output{{"a", "1"}, {"sbom-get_digest", "2"}, {"x.y", "3"}, {"9", "4"}}, nil},
		{"budget", []Output{{"first", kb(3, "a")}, {"second", kb(1, "b")}, {"third", "small"}, {"fourth", kb(2, "c")}}, []string{"second", "fourth"}},
		// 500 '<' are 3000 bytes in JSON ("\u003c"): raw sizes would fit, the message does not.
		{"escaping counts", []Output{{"first", strings.Repeat("<", 500)}, {"second", strings.Repeat("x", 3000)}}, []string{"second"}},
		{"4 KB value alone", []Output{{"value", kb(4, "v")}, {"found", "true"}}, []string{"value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			skipped, err := TektonResults(dir, tt.outs)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(skipped, tt.skipped) {
				t.Errorf("skipped %q, want %q", skipped, tt.skipped)
			}
			msg, got := terminationMessage(t, dir)
			if len(msg) > 4096 {
				t.Errorf("termination message is %d bytes", len(msg))
			}
			want := map[string]string{}
			for _, o := range tt.outs {
				if !slices.Contains(tt.skipped, o.Name) {
					want[o.Name] = o.Value
				}
			}
			if len(got) != len(want) {
				t.Errorf("files %q, want %q", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
			}
			for name, v := range want {
				if got[name] != v {
					t.Errorf("%s = %.40q, want %.40q", name, got[name], v)
				}
				fi, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode() != 0o644 {
					t.Errorf("%s mode %v, want 0644", name, fi.Mode())
				}
			}
		})
	}
}

func TestTektonResultsReplaces(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "digest"), []byte("old value, longer"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := TektonResults(dir, []Output{{"digest", "new"}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "digest"))
	if err != nil || string(b) != "new" {
		t.Errorf("digest = %q, %v", b, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "digest")); fi.Mode() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
	if files, _ := os.ReadDir(dir); len(files) != 1 {
		t.Errorf("temporary files left: %v", files)
	}
}

func TestTektonResultsErrors(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "_x", "x_", "-x", "a/b", "..", ".x", "a b", "é"} {
		dir := t.TempDir()
		if _, err := TektonResults(dir, []Output{{"ok", "1"}, {name, "2"}}); err == nil {
			t.Errorf("name %q accepted", name)
		}
		if files, _ := os.ReadDir(dir); len(files) != 0 {
			t.Errorf("name %q: wrote %v", name, files)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing")
	if _, err := TektonResults(missing, []Output{{"ok", "1"}}); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}
