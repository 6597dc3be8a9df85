//go:build unix

package outputs

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dotenvShellCorpus are outputs a registry writer, a stored value or a
// file name can put in front of Dotenv, the hostile ones from issue 10.
func dotenvShellCorpus() [][]Output {
	hostile := []string{
		"$(touch x) `touch y`;touch z",
		"application/x$(touch${IFS}p)",
		"a;touch z", "a&&touch z", "a|touch z", "a>z", "a<z", "`touch y`", "$(touch x)",
		"'$(touch x)'", `"$(touch x)"`, `\$(touch x)`, "a #$(touch x)", "${IFS}", "$HOME", "$$",
		"~", "~/x", "*", "[a]", "{a,b}", "a\nb", "a\rb", "a\x00b", "x y", " lead", "trail ",
		"a\ttouch z", "!", "é", "\xff", "a=b c=d", "export X=1", "A=1 touch z",
		strings.Repeat("$(touch x)", 50),
	}
	var corpus [][]Output
	for _, v := range hostile {
		corpus = append(corpus, []Output{{"value", v}, {"media_type", v}, {"found", "true"}})
	}
	corpus = append(corpus,
		StepOutputs(getResult()),
		[]Output{{"digest", "sha256:" + strings.Repeat("ab", 32)}, {"keys", "a,b.c,d-e,f_g"}, {"empty", ""},
			{"signer", "https://github.com/o/r/.github/workflows/ci.yml@refs/heads/main"}, {"eq", "=x="},
			{"all", "AZaz09._:/@+=,-"}, {"created", "2025-03-04T05:08:09.123456789Z"}, {"media_type", "application/spdx+json"}},
	)
	return corpus
}

// TestDotenvSourcedByShells: sourcing the file Dotenv writes with sh and
// bash (`set -a; . ./manifesto.env`, the way Drone and Woodpecker users read
// it) runs nothing (no file appears, nothing is printed) and sets exactly
// the variables Dotenv reports, with exactly the values GitLab reads.
func TestDotenvSourcedByShells(t *testing.T) {
	t.Parallel()
	var shells []string
	seen := map[string]bool{}
	for _, sh := range []string{"sh", "bash", "dash"} {
		p, err := exec.LookPath(sh)
		if err != nil {
			continue
		}
		if real, err := filepath.EvalSymlinks(p); err == nil && !seen[real] {
			seen[real] = true
			shells = append(shells, p)
		}
	}
	if len(shells) == 0 {
		t.Skip("no shell")
	}
	for i, outs := range dotenvShellCorpus() {
		var buf bytes.Buffer
		if _, err := Dotenv(&buf, outs); err != nil {
			t.Fatal(err)
		}
		want, err := parseGitLabDotenv(buf.Bytes())
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		for _, sh := range shells {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "manifesto.env"), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			before := shellEnv(t, sh, dir, "")
			after := shellEnv(t, sh, dir, "set -a; . ./manifesto.env; ")
			got := map[string]string{}
			for k, v := range after {
				if bv, ok := before[k]; !ok || bv != v {
					got[k] = v
				}
			}
			for k := range before {
				if _, ok := after[k]; !ok {
					t.Errorf("case %d, %s: sourcing unset %s", i, sh, k)
				}
			}
			if !maps.Equal(got, want) {
				t.Errorf("case %d, %s: sourcing set %q,\nwant %q\nfile %q", i, sh, got, want, buf.String())
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("case %d, %s: sourcing created files: %q\nfile %q", i, sh, names, buf.String())
			}
		}
	}
}

// shellEnv runs `<prefix>exec env -0` with sh in dir and an almost empty
// environment, and returns the environment env printed. Anything on stderr
// or stdout besides env's output fails the test.
func shellEnv(t *testing.T, sh, dir, prefix string) map[string]string {
	t.Helper()
	envPath, err := exec.LookPath("env")
	if err != nil {
		t.Skip("no env")
	}
	cmd := exec.Command(sh, "-c", prefix+"exec "+envPath+" -0")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("%s -c %q: %v\n%s", sh, prefix, err, stderr.String())
	}
	vars := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(stdout.String(), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	return vars
}
