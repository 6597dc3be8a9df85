//go:build unix

package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The umask is process-wide: these tests do not run in parallel.

func TestCreateHonoursUmask(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	dir := t.TempDir()
	seen := map[string]bool{}
	for range 20 {
		f, err := Create(dir, ".x-")
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		f.Abort()
		if got := fi.Mode().Perm(); got != 0o640 {
			t.Errorf("mode %o, want 0640 (0666 less umask 027)", got)
		}
		if !strings.HasPrefix(fi.Name(), ".x-") || seen[fi.Name()] {
			t.Errorf("name %q repeated or without its prefix", fi.Name())
		}
		seen[fi.Name()] = true
	}
	if _, err := Create(dir+"/missing", "x"); !os.IsNotExist(err) {
		t.Errorf("missing dir: err = %v", err)
	}
}

func TestWrite(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	boom := errors.New("boom")
	tests := []struct {
		name    string
		before  string // "" = no file before
		write   func(io.Writer) error
		want    string // content after
		wantErr error
	}{
		{"new file", "", func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, "new", nil},
		{"replaces", "old", func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }, "new", nil},
		{"failed write keeps the old file", "old", func(w io.Writer) error { io.WriteString(w, "half"); return boom }, "old", boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out")
			if tt.before != "" {
				if err := os.WriteFile(path, []byte(tt.before), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := Write(path, tt.write)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			b, rerr := os.ReadFile(path)
			if rerr != nil || string(b) != tt.want {
				t.Errorf("content %q (%v), want %q", b, rerr, tt.want)
			}
			if err == nil {
				if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
					t.Errorf("mode %o, want 0644", fi.Mode().Perm())
				}
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				t.Errorf("%d entries in the directory, want only the destination", len(ents))
			}
		})
	}
}

func TestCommitAbort(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(dir, ".t-")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "value")
	// Read back before committing, as get does.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(f); string(b) != "value" {
		t.Fatalf("read back %q", b)
	}
	dst := filepath.Join(dir, "dst")
	if err := f.Commit(dst); err != nil {
		t.Fatal(err)
	}
	f.Abort() // after Commit: nothing happens
	if b, _ := os.ReadFile(dst); string(b) != "value" {
		t.Errorf("dst = %q", b)
	}
	if err := f.Commit(dst); err == nil {
		t.Error("a second Commit succeeded")
	}

	g, _ := Create(dir, ".t-")
	g.Abort()
	if _, err := os.Stat(g.Name()); !os.IsNotExist(err) {
		t.Errorf("aborted temp file still there: %v", err)
	}
	// A failed rename (destination is a non-empty directory) removes the
	// temporary file.
	h, _ := Create(dir, ".t-")
	sub := filepath.Join(dir, "sub")
	os.MkdirAll(filepath.Join(sub, "x"), 0o755)
	if err := h.Commit(sub); err == nil {
		t.Fatal("rename over a directory succeeded")
	}
	if _, err := os.Stat(h.Name()); !os.IsNotExist(err) {
		t.Errorf("temp file left after a failed commit: %v", err)
	}
}
