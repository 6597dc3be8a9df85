//go:build unix

package tempfile

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

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
		f.Close()
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
