// Package testbin finds the helper binaries tests run (registry,
// notary-server, oras, cosign, ...) and holds the small process helpers the
// packages that start them share.
//
// A helper binary is found, in order, at an explicit environment variable,
// in CacheDir (where scripts/install-*.sh put it) and on PATH; without one
// the test is skipped, or fails when CI is set (see IsCI).
package testbin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// cacheDirDoc is CacheDir's definition as the install scripts spell it, for
// messages.
const cacheDirDoc = "${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}/bin"

// CacheDir is ${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}/bin,
// where scripts/install-*.sh put binaries. It is "" when none of the three
// variables is set (or all are empty).
func CacheDir() string {
	cache := os.Getenv("MANIFESTO_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home := os.Getenv("HOME")
			if home == "" {
				return ""
			}
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "manifesto")
	}
	return filepath.Join(cache, "bin")
}

// IsCI reports whether the environment variable CI is "true", "1" or "yes"
// (in any case): there a missing helper binary fails the test instead of
// skipping it.
func IsCI() bool {
	switch strings.ToLower(os.Getenv("CI")) {
	case "true", "1", "yes":
		return true
	}
	return false
}

// Executable checks that p (after symbolic links) is a regular file with an
// execute bit set, and says what is wrong otherwise.
func Executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	switch {
	case fi.IsDir():
		return errors.New("is a directory")
	case !fi.Mode().IsRegular():
		return errors.New("not a regular file")
	case fi.Mode().Perm()&0o111 == 0:
		return errors.New("not executable")
	}
	return nil
}

// Find returns the path of the helper binary name: $envVar when set (it must
// be executable, else the test fails), else CacheDir()/name when executable,
// else name on PATH. When there is none it fails the test under CI (IsCI)
// and skips it otherwise, with a hint naming installScript (e.g.
// "scripts/install-oras.sh") and envVar.
func Find(t testing.TB, envVar, name, installScript string) string {
	t.Helper()
	if envVar != "" {
		if p := os.Getenv(envVar); p != "" {
			if err := Executable(p); err != nil {
				t.Fatalf("%s=%q: %v", envVar, p, err)
				return ""
			}
			return p
		}
	}
	if dir := CacheDir(); dir != "" {
		if p := filepath.Join(dir, name); Executable(p) == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	hint := fmt.Sprintf("run %s (installs %s into %s)", installScript, name, cacheDirDoc)
	if envVar != "" {
		hint += ", or set " + envVar
	}
	if IsCI() {
		t.Fatalf("%s not installed (CI=true, so this is an error): %s", name, hint)
		return ""
	}
	t.Skipf("%s not installed: %s", name, hint)
	return ""
}

// FreePort asks the kernel for a free loopback (127.0.0.1) TCP port.
// Another process may take it before the caller binds it; callers retry.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	ta, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("pick a free port: not a TCP address")
	}
	return ta.Port, nil
}

// RandomHex returns n random bytes (crypto/rand) as 2n hex digits.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// Tail returns s without trailing newlines, cut to its last max bytes and
// prefixed with "..." when longer; "(no output)" when that leaves nothing.
// It is for quoting a process's output in failure messages.
func Tail(s string, max int) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "(no output)"
	}
	if len(s) > max {
		s = "..." + s[len(s)-max:]
	}
	return s
}

// Buffer is a goroutine-safe io.Writer keeping the last max bytes written
// (max as given to NewBuffer), e.g. a process's combined stdout and stderr.
// The zero Buffer keeps everything.
type Buffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

// NewBuffer returns a Buffer keeping the last max bytes; max <= 0 means no
// limit.
func NewBuffer(max int) *Buffer { return &Buffer{max: max} }

// Write appends p, dropping the oldest bytes beyond the limit. It never
// fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; b.max > 0 && over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// String returns the bytes kept so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
