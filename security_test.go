//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/manifesto-dev/manifesto/internal/testimage"
)

// stepRun runs a GitHub step in-process with env (GITHUB_* set up around ws).
func stepRun(t *testing.T, ws string, env map[string]string) (code int, stdout, stderr string) {
	t.Helper()
	all := map[string]string{
		"GITHUB_ACTIONS":   "true",
		"GITHUB_WORKSPACE": ws,
		"GITHUB_OUTPUT":    filepath.Join(t.TempDir(), "output"),
		"INPUT_SUMMARY":    "false",
	}
	for k, v := range env {
		all[k] = v
	}
	var out, errb bytes.Buffer
	code = run(context.Background(), nil, func(k string) string { return all[k] }, nil, &out, &errb)
	return code, out.String(), errb.String()
}

// workflowCommands are the lines of out the GitHub runner would execute.
func workflowCommands(out string) []string {
	var cmds []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " \t"), "::") {
			cmds = append(cmds, l)
		}
	}
	return cmds
}

// noNewlineNames fails if a name in dir has a control character.
func noNewlineNames(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if strings.ContainsAny(p, "\n\r") {
			t.Errorf("created %q", p)
		}
		return nil
	})
}

// Issue 10 item 1: a file name with newlines, from a steps file, a step input
// or -o, is a usage error before any network call; nothing it holds reaches
// stdout as a workflow command, and no such file is created.
func TestInjectedFileNamesRefused(t *testing.T) {
	image := testimage.Image(t, testimage.Layout)
	const evil = "v\n::add-mask::sha256\n::error title=pwned::fake failure\n::stop-commands::abc"

	t.Run("steps file", func(t *testing.T) {
		ws := t.TempDir()
		os.WriteFile(filepath.Join(ws, "v.txt"), []byte("value\n"), 0o644)
		steps := "image: " + image + "\nsteps:\n" +
			"  - {id: p, operation: put, key: k1, file: v.txt}\n" +
			"  - {id: g, operation: get, key: k1, file: " + strings.ReplaceAll(`"`+strings.ReplaceAll(evil, "\n", `\n`)+`"`, "\t", `\t`) + "}\n"
		os.WriteFile(filepath.Join(ws, "steps.yml"), []byte(steps), 0o644)
		code, out, errOut := stepRun(t, ws, map[string]string{"INPUT_STEPS_FILE": "steps.yml"})
		if code != 2 {
			t.Errorf("exit %d, want 2 (usage); stdout %q stderr %q", code, out, errOut)
		}
		if cmds := workflowCommands(out); len(cmds) != 1 || !strings.HasPrefix(cmds[0], "::error title=manifesto::") {
			t.Errorf("workflow commands on stdout: %q", cmds)
		}
		if !strings.Contains(errOut, "control character") {
			t.Errorf("stderr %q does not say why", errOut)
		}
		noNewlineNames(t, ws)
	})

	t.Run("INPUT_FILE", func(t *testing.T) {
		ws := t.TempDir()
		code, out, errOut := stepRun(t, ws, map[string]string{"INPUT_OPERATION": "get", "INPUT_IMAGE": image, "INPUT_KEY": "k1", "INPUT_FILE": "out\n::error::x"})
		if code != 2 {
			t.Errorf("exit %d, want 2; stdout %q stderr %q", code, out, errOut)
		}
		if cmds := workflowCommands(out); len(cmds) != 1 || !strings.HasPrefix(cmds[0], "::error title=manifesto::") {
			t.Errorf("workflow commands on stdout: %q", cmds)
		}
		noNewlineNames(t, ws)
	})

	t.Run("cli", func(t *testing.T) {
		dir := t.TempDir()
		value := filepath.Join(dir, "v.txt")
		os.WriteFile(value, []byte("value\n"), 0o644)
		for _, args := range [][]string{
			{"get", image, "k1", "-o", filepath.Join(dir, "out\n::error::x")},
			{"put", image, "k1", filepath.Join(dir, "v\r::error::x")},
		} {
			var out, errb bytes.Buffer
			code := run(context.Background(), args, func(string) string { return "" }, nil, &out, &errb)
			if code != 2 || workflowCommands(out.String()) != nil || strings.Count(errb.String(), "\n") != 1 {
				t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out.String(), errb.String())
			}
		}
		noNewlineNames(t, dir)
	})
}

// Issue 10 item 3: get -o never replaces a file that is not a regular file:
// the verified value is written through it.
func TestGetThroughSpecialFiles(t *testing.T) {
	image := testimage.Image(t, testimage.Layout)
	dir := t.TempDir()
	value := filepath.Join(dir, "v.txt")
	os.WriteFile(value, []byte("the value\n"), 0o644)
	cli := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, func(string) string { return "" }, nil, &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, _, errOut := cli("put", image, "k1", value); code != 0 {
		t.Fatalf("put: exit %d: %s", code, errOut)
	}

	t.Run("dev null", func(t *testing.T) {
		// As root, a get that renamed over its -o would destroy the
		// machine's /dev/null: root tests a private null device made
		// with mknod (the "fakenull") instead. Anyone else tests
		// /dev/null itself, which they cannot replace.
		null := os.DevNull
		if os.Geteuid() == 0 {
			null = filepath.Join(t.TempDir(), "fakenull")
			if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
				t.Skip(err)
			}
		}
		if code, _, errOut := cli("get", image, "k1", "-o", null); code != 0 {
			t.Errorf("exit %d: %s", code, errOut)
		}
		fi, err := os.Lstat(null)
		if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("%s is now %v (%v)", null, fi.Mode(), err)
		}
	})

	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(t.TempDir(), "fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skip(err)
		}
		// The reader reads through a second name of the FIFO, so that a
		// get replacing "fifo" cannot leave it blocked for ever.
		keep := fifo + ".keep"
		if err := os.Link(fifo, keep); err != nil {
			t.Skip(err)
		}
		got := make(chan string, 1)
		go func() {
			b, _ := os.ReadFile(keep) // blocks until a writer opens it
			got <- string(b)
		}()
		code, _, errOut := cli("get", image, "k1", "-o", fifo)
		select {
		case s := <-got:
			if s != "the value\n" {
				t.Errorf("read %q through the FIFO", s)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("nothing was written through the FIFO")
			if f, err := os.OpenFile(keep, os.O_WRONLY, 0); err == nil {
				f.Close() // lets the reader go
			}
		}
		if code != 0 {
			t.Errorf("exit %d: %s", code, errOut)
		}
		if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("the FIFO is now %v (%v)", fi.Mode(), err)
		}
	})

	t.Run("symlink to a device", func(t *testing.T) {
		link := filepath.Join(t.TempDir(), "fakenull")
		if err := os.Symlink(os.DevNull, link); err != nil {
			t.Fatal(err)
		}
		if code, _, errOut := cli("get", image, "k1", "-o", link); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link is now %v (%v)", fi.Mode(), err)
		}
	})

	t.Run("symlink to a regular file", func(t *testing.T) {
		d := t.TempDir()
		target, link := filepath.Join(d, "target"), filepath.Join(d, "link")
		os.WriteFile(target, []byte("an older, longer content\n"), 0o644)
		os.Symlink(target, link)
		if code, _, errOut := cli("get", image, "k1", "-o", link); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if b, _ := os.ReadFile(target); string(b) != "the value\n" {
			t.Errorf("target holds %q", b)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link is now %v (%v)", fi.Mode(), err)
		}
	})

	t.Run("step mode refuses", func(t *testing.T) {
		ws := t.TempDir()
		fifo := filepath.Join(ws, "fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skip(err)
		}
		code, out, errOut := stepRun(t, ws, map[string]string{"INPUT_OPERATION": "get", "INPUT_IMAGE": image, "INPUT_KEY": "k1", "INPUT_FILE": "fifo"})
		if code != 2 || !strings.Contains(errOut, "not a regular file") {
			t.Errorf("exit %d; stdout %q stderr %q", code, out, errOut)
		}
		if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("the FIFO is now %v (%v)", fi.Mode(), err)
		}
	})
}

// Issue 10 item 8: a jsonl outputs file that is a symbolic link in the
// workspace leading out of it is refused; nothing is appended outside.
func TestOutputsFileLinkOutsideRefused(t *testing.T) {
	image := testimage.Image(t, testimage.Layout)
	ws, outside := t.TempDir(), t.TempDir()
	target := filepath.Join(outside, "target")
	os.WriteFile(target, []byte("untouched\n"), 0o644)
	if err := os.Symlink(target, filepath.Join(ws, "out.jsonl")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(ws) // outputs_file is relative to the working directory
	code, out, errOut := stepRun(t, ws, map[string]string{"INPUT_OPERATION": "list", "INPUT_IMAGE": image,
		"INPUT_OUTPUTS_FORMAT": "jsonl", "INPUT_OUTPUTS_FILE": "out.jsonl"})
	if code != 2 || !strings.Contains(errOut, "symbolic link outside the workspace") {
		t.Errorf("exit %d; stdout %q stderr %q", code, out, errOut)
	}
	if b, _ := os.ReadFile(target); string(b) != "untouched\n" {
		t.Errorf("the file outside the workspace now holds %q", b)
	}
}
