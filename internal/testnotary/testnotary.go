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
	"strings"
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

	proc *testbin.Process
}

// Logs returns the server's combined stdout and stderr so far (at most the
// last megabyte).
func (s *Server) Logs() string { return s.proc.Logs() }

// Stop kills the server now (it is also killed at the end of the test).
// Requests afterwards fail to connect.
func (s *Server) Stop() { s.proc.Stop() }

// Start starts a fresh notary-server and registers its shutdown with
// t.Cleanup. It skips the test when no binary is installed, unless CI=true,
// in which case it fails the test.
func Start(t testing.TB) *Server {
	t.Helper()
	spec := processSpec(t)
	p := testbin.MustStartProcess(t, spec)
	return &Server{Addr: p.Addr, URL: p.URL, Bin: spec.Bin, ConfigPath: p.ConfigPath, proc: p}
}

// processSpec finds the notary-server binary (testbin.Find) and describes
// its process, configured by Config in a fresh t.TempDir().
func processSpec(t testing.TB) testbin.ProcessSpec {
	t.Helper()
	return testbin.ProcessSpec{
		Name:       "testnotary",
		Bin:        testbin.Find(t, envBin, "notary-server", "scripts/install-notary.sh"),
		Dir:        t.TempDir(),
		ConfigFile: "server-%d.json",
		Config:     func(addr, _ string) ([]byte, error) { return Config(addr), nil },
		Args:       func(cfgPath, _ string) []string { return []string{"-config", cfgPath} },
		Env:        processEnv(),
		ReadyPath:  healthPath,
		Ready:      ready,
	}
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

// ready reports whether p answers its health check and /v2/, and logs the
// probe of /v2/ carrying p.Ident (so that it is p answering, not another
// process on the same port).
func ready(p *testbin.Process) bool {
	if _, ok := p.Probe(healthPath); !ok {
		return false
	}
	if _, ok := p.Probe("/v2/?" + probeParam + "=" + p.Ident); !ok {
		return false
	}
	return logged(p)
}

// logged waits briefly for p.Ident to appear in the process's access log
// (written right after the response), and reports whether it did.
func logged(p *testbin.Process) bool {
	for i := 0; i < 50; i++ {
		if strings.Contains(p.Logs(), p.Ident) {
			return true
		}
		select {
		case <-p.Done():
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
	return false
}

// processEnv is the environment of the server process: the test's own,
// without NOTARY_SERVER_* variables (notary-server reads them as
// configuration overrides).
func processEnv() []string { return testbin.EnvWithout("NOTARY_SERVER_") }
