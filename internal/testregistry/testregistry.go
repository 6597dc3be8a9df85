// Package testregistry starts a real CNCF Distribution registry process for
// tests.
//
// Each call to Start runs a fresh "registry serve" on 127.0.0.1 with its own
// throw-away configuration and filesystem storage under t.TempDir(); the
// process is killed when the test ends.
//
// The binary is found (testbin.Find), in order, at $MANIFESTO_REGISTRY_BIN,
// at ${MANIFESTO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/manifesto}/bin/registry
// (where scripts/install-registry.sh puts it) and as "registry" on PATH. When
// none is found the test is skipped, or fails when CI=true.
package testregistry

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/manifesto-dev/manifesto/internal/testbin"
)

// Version is the Distribution release scripts/install-registry.sh installs and
// whose behaviour distribution_test.go pins down.
const Version = "v3.1.2"

const (
	// envBin names an explicit registry binary.
	envBin = "MANIFESTO_REGISTRY_BIN"
	// startTimeout bounds one attempt to bring the registry up.
	startTimeout = 10 * time.Second
	// pollInterval is the pause between readiness probes.
	pollInterval = 20 * time.Millisecond
	// maxPolls bounds the number of readiness probes per attempt.
	maxPolls = int(startTimeout/pollInterval) + 1
	// maxAttempts bounds the retries when the chosen port was taken.
	maxAttempts = 5
	// stopTimeout bounds the wait for the killed process to be reaped.
	stopTimeout = 10 * time.Second
	// logTail is how much of the registry's output failure messages show.
	logTail = 4 << 10
	// logCap caps the output kept in memory.
	logCap = 1 << 20
	// identHeader is a response header configured with a per-process
	// random value, so a readiness probe cannot be answered by some other
	// process that happens to listen on the same port.
	identHeader = "X-Manifesto-Testregistry"
)

// Registry is a running registry process.
type Registry struct {
	// Addr is host:port, e.g. "127.0.0.1:40123"; use it in image
	// references ("127.0.0.1:40123/repo:tag"), which go-containerregistry
	// reaches over plain HTTP because the host is a loopback address.
	Addr string
	// URL is "http://" + Addr.
	URL string
	// RootDir is the filesystem storage root of the registry.
	RootDir string
	// Bin is the registry binary that runs.
	Bin string

	logs *testbin.Buffer
}

// Ref returns Addr + "/" + s, for s such as "repo:tag" or "repo@sha256:...".
func (r *Registry) Ref(s string) string { return r.Addr + "/" + s }

// Logs returns the registry's combined stdout and stderr so far (at most the
// last megabyte).
func (r *Registry) Logs() string { return r.logs.String() }

// Start starts a fresh registry and registers its shutdown with t.Cleanup.
// It skips the test when no registry binary is installed, unless CI=true, in
// which case it fails the test.
func Start(t testing.TB) *Registry {
	t.Helper()
	bin := testbin.Find(t, envBin, "registry", "scripts/install-registry.sh")
	dir := t.TempDir()
	root := filepath.Join(dir, "storage")

	var lastErr error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		r, retry, err := startOnce(t, bin, dir, root, attempt)
		if err == nil {
			return r
		}
		lastErr = err
		if !retry {
			break
		}
	}
	t.Fatalf("testregistry: %s did not start: %v", bin, lastErr)
	return nil
}

// startOnce makes one attempt. retry reports whether a new attempt on a
// different port may succeed (the port was taken).
func startOnce(t testing.TB, bin, dir, root string, attempt int) (r *Registry, retry bool, err error) {
	t.Helper()
	port, err := pickPort()
	if err != nil {
		return nil, false, err
	}
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	ident := testbin.RandomHex(16)

	cfgPath := filepath.Join(dir, fmt.Sprintf("config-%d.yml", attempt))
	if err := os.WriteFile(cfgPath, []byte(config(addr, root, ident, testbin.RandomHex(32))), 0o600); err != nil {
		return nil, false, err
	}

	logs := testbin.NewBuffer(logCap)
	cmd := exec.Command(bin, "serve", cfgPath)
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
	stop := func() {
		_ = cmd.Process.Kill()
		select {
		case <-done:
		case <-time.After(stopTimeout):
			t.Logf("testregistry: pid %d not reaped within %s", cmd.Process.Pid, stopTimeout)
		}
	}

	client := &http.Client{
		Timeout: time.Second,
		Transport: &http.Transport{
			Proxy:             nil, // loopback only, never through a proxy
			DisableKeepAlives: true,
		},
	}
	began := time.Now()
	deadline := began.Add(startTimeout)
	for i := 0; i < maxPolls && time.Now().Before(deadline); i++ {
		select {
		case <-done:
			out := logs.String()
			err := fmt.Errorf("process exited (%v) before answering GET /v2/ on %s; output tail:\n%s", waitErr, addr, testbin.Tail(out, logTail))
			return nil, strings.Contains(out, "address already in use"), err
		default:
		}
		if ready(client, "http://"+addr+"/v2/", ident) {
			r := &Registry{Addr: addr, URL: "http://" + addr, RootDir: root, Bin: bin, logs: logs}
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("testregistry %s output tail:\n%s", addr, testbin.Tail(logs.String(), logTail))
				}
			})
			return r, false, nil
		}
		time.Sleep(pollInterval)
	}
	stop()
	return nil, false, fmt.Errorf("GET %s/v2/ did not answer 200 within %s; output tail:\n%s",
		"http://"+addr, time.Since(began).Round(time.Millisecond), testbin.Tail(logs.String(), logTail))
}

func ready(client *http.Client, url, ident string) bool {
	resp, err := client.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK && resp.Header.Get(identHeader) == ident
}

// config renders the registry configuration.
func config(addr, root, ident, secret string) string {
	return fmt.Sprintf(`version: 0.1
log:
  level: warn
  formatter: text
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %q
  secret: %q
  headers:
    %s: [%q]
`, root, addr, secret, identHeader, ident)
}

// processEnv is the environment of the registry process: the test's own,
// without REGISTRY_* variables (Distribution reads them as configuration
// overrides) and with OpenTelemetry exporters off (by default v3 would try
// to export traces to an OTLP endpoint on localhost).
func processEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "REGISTRY_") || strings.HasPrefix(kv, "OTEL_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"OTEL_TRACES_EXPORTER=none",
		"OTEL_METRICS_EXPORTER=none",
		"OTEL_LOGS_EXPORTER=none",
	)
}

// pickPort is testbin.FreePort; tests replace it. Another process may take
// the port before the registry binds it; Start retries in that case.
var pickPort = testbin.FreePort
