package testbin

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestCacheDir(t *testing.T) {
	for _, tc := range []struct {
		name                string
		home, xdg, manifest string
		want                string
	}{
		{name: "HOME only", home: "/home/u", want: "/home/u/.cache/manifesto/bin"},
		{name: "XDG_CACHE_HOME", home: "/home/u", xdg: "/xdg", want: "/xdg/manifesto/bin"},
		{name: "MANIFESTO_CACHE", home: "/home/u", xdg: "/xdg", manifest: "/m", want: "/m/bin"},
		{name: "MANIFESTO_CACHE without HOME", manifest: "/m", want: "/m/bin"},
		{name: "XDG_CACHE_HOME without HOME", xdg: "/xdg", want: "/xdg/manifesto/bin"},
		{name: "nothing set", want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HOME", tc.home)
			t.Setenv("XDG_CACHE_HOME", tc.xdg)
			t.Setenv("MANIFESTO_CACHE", tc.manifest)
			if got, want := CacheDir(), filepath.FromSlash(tc.want); got != want {
				t.Errorf("CacheDir() = %q, want %q", got, want)
			}
		})
	}
}

func TestIsCI(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{
		{"", false},
		{"true", true},
		{"TRUE", true},
		{"1", true},
		{"yes", true},
		{"Yes", true},
		{"false", false},
		{"0", false},
		{"no", false},
		{"on", false},
	} {
		t.Run(fmt.Sprintf("CI=%q", tc.value), func(t *testing.T) {
			t.Setenv("CI", tc.value)
			if got := IsCI(); got != tc.want {
				t.Errorf("IsCI() = %v, want %v", got, tc.want)
			}
		})
	}
}

// writeFile writes a file of the given mode under dir and returns its path.
func writeFile(t *testing.T, dir, name string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask-proof
		t.Fatal(err)
	}
	return p
}

func TestExecutable(t *testing.T) {
	dir := t.TempDir()
	exe := writeFile(t, dir, "exe", 0o755)
	ownerOnly := writeFile(t, dir, "owner-only", 0o700)
	plain := writeFile(t, dir, "plain", 0o644)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		wantErr    string // "" for no error
	}{
		{"executable file", exe, ""},
		{"owner-executable file", ownerOnly, ""},
		{"link to an executable", link, ""},
		{"not executable", plain, "not executable"},
		{"directory", dir, "is a directory"},
		{"missing", filepath.Join(dir, "missing"), "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Executable(tc.path)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Executable(%q) = %v, want nil", tc.path, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Executable(%q) = %v, want an error containing %q", tc.path, err, tc.wantErr)
			}
		})
	}
}

// fakeTB records the first Fatalf or Skipf of Find. Unlike testing.T it
// does not stop the goroutine, so a second call (Find going on after a
// failure) is recorded as a bug.
type fakeTB struct {
	testing.TB // nil: any other method panics
	events     []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.events = append(f.events, "fatal: "+fmt.Sprintf(format, args...))
}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.events = append(f.events, "skip: "+fmt.Sprintf(format, args...))
}

func TestFind(t *testing.T) {
	const (
		envVar = "TESTBIN_TEST_TOOL_BIN"
		name   = "testbin-test-tool"
		script = "scripts/install-testbin-test-tool.sh"
	)
	// Each case gets fresh directories: cache (CacheDir), path (on PATH)
	// and other (neither).
	type dirs struct{ cache, path, other string }
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, d dirs) (env string)
		ci    string
		// want is the path Find returns, relative to the case's root
		// ("" for none); wantEvent, when set, the prefix of the one
		// Fatalf/Skipf message, which must contain every wantIn.
		want      string
		wantEvent string
		wantIn    []string
	}{
		{
			name: "env var wins over cache and PATH",
			setup: func(t *testing.T, d dirs) string {
				writeFile(t, d.cache, name, 0o755)
				writeFile(t, d.path, name, 0o755)
				return writeFile(t, d.other, "explicit", 0o755)
			},
			want: "other/explicit",
		},
		{
			name: "env var not executable fails even with a cached binary",
			setup: func(t *testing.T, d dirs) string {
				writeFile(t, d.cache, name, 0o755)
				return writeFile(t, d.other, "explicit", 0o644)
			},
			wantEvent: "fatal: ",
			wantIn:    []string{envVar + "=", "not executable"},
		},
		{
			name: "env var missing fails",
			setup: func(t *testing.T, d dirs) string {
				return filepath.Join(d.other, "missing")
			},
			wantEvent: "fatal: ",
			wantIn:    []string{envVar + "=", "missing"},
		},
		{
			name: "env var a directory fails",
			setup: func(t *testing.T, d dirs) string {
				return d.other
			},
			wantEvent: "fatal: ",
			wantIn:    []string{envVar + "=", "is a directory"},
		},
		{
			name: "cache wins over PATH",
			setup: func(t *testing.T, d dirs) string {
				writeFile(t, d.cache, name, 0o755)
				writeFile(t, d.path, name, 0o755)
				return ""
			},
			want: "cache/bin/" + name,
		},
		{
			name: "non-executable cached binary falls back to PATH",
			setup: func(t *testing.T, d dirs) string {
				writeFile(t, d.cache, name, 0o644)
				writeFile(t, d.path, name, 0o755)
				return ""
			},
			want: "path/" + name,
		},
		{
			name: "PATH",
			setup: func(t *testing.T, d dirs) string {
				writeFile(t, d.path, name, 0o755)
				return ""
			},
			want: "path/" + name,
		},
		{
			name:      "none skips",
			setup:     func(t *testing.T, d dirs) string { return "" },
			wantEvent: "skip: " + name + " not installed: ",
			wantIn:    []string{script, envVar},
		},
		{
			name:      "none under CI fails",
			setup:     func(t *testing.T, d dirs) string { return "" },
			ci:        "true",
			wantEvent: "fatal: " + name + " not installed (CI=true, so this is an error): ",
			wantIn:    []string{script, envVar},
		},
		{
			name: "non-executable only under CI fails",
			setup: func(t *testing.T, d dirs) string {
				writeFile(t, d.cache, name, 0o644)
				writeFile(t, d.path, name, 0o644)
				return ""
			},
			ci:        "1",
			wantEvent: "fatal: " + name + " not installed",
			wantIn:    []string{script, envVar},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			d := dirs{
				cache: filepath.Join(root, "cache", "bin"),
				path:  filepath.Join(root, "path"),
				other: filepath.Join(root, "other"),
			}
			for _, dir := range []string{d.cache, d.path, d.other} {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("MANIFESTO_CACHE", filepath.Join(root, "cache"))
			t.Setenv("PATH", d.path)
			t.Setenv("CI", tc.ci)
			t.Setenv(envVar, tc.setup(t, d))

			f := &fakeTB{}
			got := Find(f, envVar, name, script)
			if tc.wantEvent == "" {
				if len(f.events) != 0 {
					t.Fatalf("Find: unexpected %q", f.events)
				}
				if want := filepath.Join(root, filepath.FromSlash(tc.want)); got != want {
					t.Errorf("Find = %q, want %q", got, want)
				}
				return
			}
			if len(f.events) != 1 {
				t.Fatalf("Find: events %q, want exactly one %q...", f.events, tc.wantEvent)
			}
			ev := f.events[0]
			if !strings.HasPrefix(ev, tc.wantEvent) {
				t.Errorf("Find: %q, want prefix %q", ev, tc.wantEvent)
			}
			for _, s := range tc.wantIn {
				if !strings.Contains(ev, s) {
					t.Errorf("Find: %q lacks %q", ev, s)
				}
			}
			if got != "" {
				t.Errorf("Find = %q after %q, want \"\"", got, ev)
			}
		})
	}
}

func TestFreePort(t *testing.T) {
	for i := 0; i < 3; i++ {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if port <= 0 || port > 65535 {
			t.Fatalf("FreePort() = %d", port)
		}
		// It is free: it can be bound now.
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", fmt.Sprint(port)))
		if err != nil {
			t.Fatalf("port %d from FreePort cannot be bound: %v", port, err)
		}
		l.Close()
	}
}

func TestRandomHex(t *testing.T) {
	for _, n := range []int{0, 1, 16, 32} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			a, b := RandomHex(n), RandomHex(n)
			if len(a) != 2*n {
				t.Errorf("len(RandomHex(%d)) = %d, want %d", n, len(a), 2*n)
			}
			if _, err := hex.DecodeString(a); err != nil {
				t.Errorf("RandomHex(%d) = %q: %v", n, a, err)
			}
			if n >= 16 && a == b {
				t.Errorf("RandomHex(%d) repeats %q", n, a)
			}
		})
	}
}

func TestTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    string
		max  int
		want string
	}{
		{"empty", "", 10, "(no output)"},
		{"only newlines", "\n\n", 10, "(no output)"},
		{"short", "abc", 10, "abc"},
		{"trailing newlines dropped", "abc\n\n", 10, "abc"},
		{"exactly max", "0123456789", 10, "0123456789"},
		{"exactly max after trimming", "0123456789\n", 10, "0123456789"},
		{"cut", "0123456789abc", 10, "...3456789abc"},
		{"cut after trimming", "0123456789abc\n", 10, "...3456789abc"},
		{"inner newlines kept", "a\nb\nc\n", 3, "...b\nc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Tail(tc.s, tc.max); got != tc.want {
				t.Errorf("Tail(%q, %d) = %q, want %q", tc.s, tc.max, got, tc.want)
			}
		})
	}
}

func TestBuffer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		b      *Buffer
		writes []string
		want   string
	}{
		{"empty", NewBuffer(4), nil, ""},
		{"under the limit", NewBuffer(4), []string{"ab", "c"}, "abc"},
		{"at the limit", NewBuffer(4), []string{"ab", "cd"}, "abcd"},
		{"over the limit", NewBuffer(4), []string{"ab", "cd", "ef"}, "cdef"},
		{"one write over the limit", NewBuffer(4), []string{"abcdefgh"}, "efgh"},
		{"no limit", NewBuffer(0), []string{"abcdefgh", "ij"}, "abcdefghij"},
		{"zero value", &Buffer{}, []string{"abcdefgh"}, "abcdefgh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, w := range tc.writes {
				n, err := tc.b.Write([]byte(w))
				if n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if got := tc.b.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

// Concurrent writers and readers are safe (run with -race) and the limit
// holds.
func TestBufferConcurrent(t *testing.T) {
	const limit = 64
	b := NewBuffer(limit)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				fmt.Fprintf(b, "writer %d line %d\n", i, j)
				if len(b.String()) > limit {
					t.Errorf("buffer exceeds %d bytes", limit)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := len(b.String()); got != limit {
		t.Errorf("len(String()) = %d, want %d", got, limit)
	}
}
