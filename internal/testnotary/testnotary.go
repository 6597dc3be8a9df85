// Package testnotary starts a real notary-server process for tests.
//
// Each call to Start runs a fresh notary-server on 127.0.0.1 over plain HTTP
// with its own throw-away JSON configuration under t.TempDir(): memory
// storage and the local trust service (ed25519 timestamp and snapshot keys
// held in the process). The process is killed when the test ends, or
// earlier by Server.Stop.
//
// The binary is found (testbin.Find), in order, at
// $MANIFESTO_NOTARY_SERVER_BIN, at
// ${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}/bin/notary-server
// (where scripts/install-notary.sh puts it) and as "notary-server" on PATH.
// When none is found the test is skipped, or fails when CI=true.
//
// Delegation uploads need a server with the fix of notary PR #1635 (a stock
// v0.7.0 built with Go 1.17 or later rejects them, notary#1630): the
// install script's build and Debian's notary package have it.
package testnotary

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/manifesto-dev/manifesto/internal/testbin"
)

// Version is the Notary release scripts/install-notary.sh installs (the
// same as the client library in go.mod).
const Version = "v0.7.0"

const (
	// envBin names an explicit notary-server binary.
	envBin = "MANIFESTO_NOTARY_SERVER_BIN"
	// startTimeout bounds one attempt to bring the server up.
	startTimeout = 10 * time.Second
	// pollInterval is the pause between readiness probes.
	pollInterval = 20 * time.Millisecond
	// maxPolls bounds the number of readiness probes per attempt.
	maxPolls = int(startTimeout/pollInterval) + 1
	// maxAttempts bounds the retries when the chosen port was taken.
	maxAttempts = 5
	// stopTimeout bounds the wait for the killed process to be reaped.
	stopTimeout = 10 * time.Second
	// logTail is how much of the server's output failure messages show.
	logTail = 4 << 10
	// logCap caps the output kept in memory.
	logCap = 1 << 20
	// healthPath is notary-server's health check.
	healthPath = "/_notary_server/health"
	// probeParam carries a per-process random value in a readiness probe;
	// the server's access log must show it, so that the probe cannot be
	// answered by some other process on the same port (notary-server has
	// no configurable response header to tell it apart).
	probeParam = "manifesto-testnotary-probe"
)

// Server is a running notary-server process.
type Server struct {
	// Addr is host:port, e.g. "127.0.0.1:40123".
	Addr string
	// URL is "http://" + Addr: the Notary server URL clients use.
	URL string
	// Bin is the notary-server binary that runs.
	Bin string
	// ConfigPath is the JSON configuration the process runs with.
	ConfigPath string

	logs *testbin.Buffer
	stop func()
}

// Logs returns the server's combined stdout and stderr so far (at most the
// last megabyte).
func (s *Server) Logs() string { return s.logs.String() }

// Stop kills the server now (it is also killed at the end of the test).
// Requests afterwards fail to connect.
func (s *Server) Stop() { s.stop() }

// Start starts a fresh notary-server and registers its shutdown with
// t.Cleanup. It skips the test when no binary is installed, unless CI=true,
// in which case it fails the test.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := testbin.Find(t, envBin, "notary-server", "scripts/install-notary.sh")
	dir := t.TempDir()

	var lastErr error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		s, retry, err := startOnce(t, bin, dir, attempt)
		if err == nil {
			return s
		}
		lastErr = err
		if !retry {
			break
		}
	}
	t.Fatalf("testnotary: %s did not start: %v", bin, lastErr)
	return nil
}

// Config renders the server configuration: plain HTTP on addr, memory
// storage, the local trust service (ed25519), info logging (the access log
// is what readiness probes check).
func Config(addr string) []byte {
	cfg := map[string]any{
		"server": map[string]any{"http_addr": addr},
		"trust_service": map[string]any{
			"type":          "local",
			"hostname":      "",
			"port":          "",
			"key_algorithm": "ed25519",
		},
		"storage": map[string]any{"backend": "memory"},
		"logging": map[string]any{"level": "info"},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		panic(err) // static data
	}
	return b
}

// startOnce makes one attempt. retry reports whether a new attempt on a
// different port may succeed (the port was taken).
func startOnce(t testing.TB, bin, dir string, attempt int) (s *Server, retry bool, err error) {
	t.Helper()
	port, err := pickPort()
	if err != nil {
		return nil, false, err
	}
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	ident := testbin.RandomHex(16)

	cfgPath := filepath.Join(dir, fmt.Sprintf("server-%d.json", attempt))
	if err := os.WriteFile(cfgPath, Config(addr), 0o600); err != nil {
		return nil, false, err
	}

	logs := testbin.NewBuffer(logCap)
	cmd := exec.Command(bin, "-config", cfgPath)
	cmd.Dir = dir
	cmd.Env = processEnv()
	cmd.Stdout = logs
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("start: %w", err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			select {
			case <-done:
			case <-time.After(stopTimeout):
				t.Logf("testnotary: pid %d not reaped within %s", cmd.Process.Pid, stopTimeout)
			}
		})
	}

	client := &http.Client{
		Timeout: time.Second,
		Transport: &http.Transport{
			Proxy:             nil, // loopback only, never through a proxy
			DisableKeepAlives: true,
		},
	}
	base := "http://" + addr
	began := time.Now()
	deadline := began.Add(startTimeout)
	for i := 0; i < maxPolls && time.Now().Before(deadline); i++ {
		select {
		case <-done:
			out := logs.String()
			err := fmt.Errorf("process exited (%v) before answering GET %s on %s; output tail:\n%s", waitErr, healthPath, addr, testbin.Tail(out, logTail))
			return nil, strings.Contains(out, "address already in use"), err
		default:
		}
		if get(client, base+healthPath) && get(client, base+"/v2/?"+probeParam+"="+ident) && logged(logs, ident, done) {
			s := &Server{Addr: addr, URL: base, Bin: bin, ConfigPath: cfgPath, logs: logs, stop: stop}
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("testnotary %s output tail:\n%s", addr, testbin.Tail(logs.String(), logTail))
				}
			})
			return s, false, nil
		}
		time.Sleep(pollInterval)
	}
	stop()
	return nil, false, fmt.Errorf("GET %s%s did not answer 200 within %s; output tail:\n%s",
		base, healthPath, time.Since(began).Round(time.Millisecond), testbin.Tail(logs.String(), logTail))
}

// get reports whether GET url answers 200.
func get(client *http.Client, url string) bool {
	resp, err := client.Get(url)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// logged waits briefly for ident to appear in the process's access log
// (written right after the response), and reports whether it did.
func logged(logs *testbin.Buffer, ident string, done <-chan struct{}) bool {
	for i := 0; i < 50; i++ {
		if strings.Contains(logs.String(), ident) {
			return true
		}
		select {
		case <-done:
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
	return false
}

// processEnv is the environment of the server process: the test's own,
// without NOTARY_SERVER_* variables (notary-server reads them as
// configuration overrides).
func processEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "NOTARY_SERVER_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// pickPort is testbin.FreePort; tests replace it. Another process may take
// the port before the server binds it; Start retries in that case.
var pickPort = testbin.FreePort
