package testbin

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeServerEnv, set in the environment, makes the test binary run as the
// fake server (fakeServer) instead of running tests.
const fakeServerEnv = "TESTBIN_FAKE_SERVER"

// fakeIdentHeader carries the fake server's identity in every response.
const fakeIdentHeader = "X-Fake-Ident"

// fakeConfig is the fake server's configuration.
type fakeConfig struct {
	Addr  string `json:"addr"`
	Ident string `json:"ident"`
	// Mode is "serve" (answer 200), "unready" (answer 503) or "exit"
	// (exit at once with status 3).
	Mode string `json:"mode"`
}

func TestMain(m *testing.M) {
	if os.Getenv(fakeServerEnv) != "" {
		fakeServer(os.Args[1:])
		return
	}
	os.Exit(m.Run())
}

// fakeServer is a stand-in for a server binary: given "-config path", it
// listens on the configured address (exiting with the error, e.g. "address
// already in use", when it cannot) and answers every request with the
// configured identity in fakeIdentHeader.
func fakeServer(args []string) {
	if len(args) != 2 || args[0] != "-config" {
		fmt.Fprintf(os.Stderr, "fake server: usage: -config path (got %q)\n", args)
		os.Exit(2)
	}
	b, err := os.ReadFile(args[1])
	var cfg fakeConfig
	if err == nil {
		err = json.Unmarshal(b, &cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake server:", err)
		os.Exit(2)
	}
	if cfg.Mode == "exit" {
		fmt.Fprintln(os.Stderr, "fake server: exiting as configured")
		os.Exit(3)
	}
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake server:", err)
		os.Exit(1)
	}
	fmt.Printf("fake server: listening on %s (FAKE_ECHO=%q)\n", cfg.Addr, os.Getenv("FAKE_ECHO"))
	status := http.StatusOK
	if cfg.Mode == "unready" {
		status = http.StatusServiceUnavailable
	}
	_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(fakeIdentHeader, cfg.Ident)
		w.WriteHeader(status)
	}))
	os.Exit(1)
}

// fakeSpec describes the fake server in mode, run from the test binary in a
// fresh t.TempDir(). Ready accepts a 200 carrying the process's identity.
func fakeSpec(t *testing.T, mode string) ProcessSpec {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return ProcessSpec{
		Name:       "testbin-fake",
		Bin:        bin,
		Dir:        t.TempDir(),
		ConfigFile: "fake-%d.json",
		Config: func(addr, ident string) ([]byte, error) {
			return json.Marshal(fakeConfig{Addr: addr, Ident: ident, Mode: mode})
		},
		Args:      func(cfgPath, _ string) []string { return []string{"-config", cfgPath} },
		Env:       append(EnvWithout(fakeServerEnv, "FAKE_ECHO"), fakeServerEnv+"=1", "FAKE_ECHO=from-spec"),
		ReadyPath: "/ready",
		Ready: func(p *Process) bool {
			h, ok := p.Probe("/ready")
			return ok && h.Get(fakeIdentHeader) == p.Ident
		},
	}
}

// holdPort holds a loopback port for the rest of the test with an impostor
// answering every request with 200, and returns the port.
func holdPort(t *testing.T) int {
	t.Helper()
	impostor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(impostor.Close)
	return impostor.Listener.Addr().(*net.TCPAddr).Port
}

// countPicks makes spec's PickPort count its calls and return port (FreePort
// when 0).
func countPicks(spec *ProcessSpec, port int) (calls *int) {
	calls = new(int)
	spec.PickPort = func() (int, error) {
		*calls++
		if port != 0 {
			return port, nil
		}
		return FreePort()
	}
	return calls
}

func TestStartProcess(t *testing.T) {
	spec := fakeSpec(t, "serve")
	p, err := StartProcess(t, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Addr, "127.0.0.1:") || p.URL != "http://"+p.Addr {
		t.Errorf("Addr %q URL %q", p.Addr, p.URL)
	}
	if len(p.Ident) != 32 {
		t.Errorf("Ident %q, want 32 hex digits", p.Ident)
	}
	if want := filepath.Join(spec.Dir, "fake-1.json"); p.ConfigPath != want {
		t.Errorf("ConfigPath %q, want %q", p.ConfigPath, want)
	}
	b, err := os.ReadFile(p.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg fakeConfig
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.Addr != p.Addr || cfg.Ident != p.Ident {
		t.Errorf("config %s (%v), want addr %s ident %s", b, err, p.Addr, p.Ident)
	}
	if h, ok := p.Probe("/anything"); !ok || h.Get(fakeIdentHeader) != p.Ident {
		t.Errorf("Probe: ok %v ident %q, want true %q", ok, h.Get(fakeIdentHeader), p.Ident)
	}
	if want := fmt.Sprintf("listening on %s (FAKE_ECHO=%q)", p.Addr, "from-spec"); !strings.Contains(p.Logs(), want) {
		t.Errorf("Logs() = %q, want it to contain %q", p.Logs(), want)
	}

	p.Stop()
	p.Stop() // idempotent
	select {
	case <-p.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	if _, ok := p.Probe("/"); ok {
		t.Error("process still answers after Stop")
	}
}

// A port taken by another process, even one answering every request with
// 200, makes StartProcess retry on another port instead of failing or
// talking to the impostor.
func TestStartProcessRetriesWhenPortTaken(t *testing.T) {
	p := StartOnTakenPort(t, fakeSpec(t, "serve"))
	if h, ok := p.Probe("/"); !ok || h.Get(fakeIdentHeader) != p.Ident {
		t.Errorf("process at %s: ok %v ident %q, want %q", p.Addr, ok, h.Get(fakeIdentHeader), p.Ident)
	}
	if !strings.HasSuffix(p.ConfigPath, "fake-3.json") {
		t.Errorf("ConfigPath %q, want the third attempt's", p.ConfigPath)
	}
}

// StartProcess gives up after Attempts attempts on taken ports.
func TestStartProcessGivesUpOnTakenPorts(t *testing.T) {
	spec := fakeSpec(t, "serve")
	spec.Attempts = 3
	calls := countPicks(&spec, holdPort(t))
	_, err := StartProcess(t, spec)
	if *calls != 3 {
		t.Errorf("PickPort called %d times, want 3", *calls)
	}
	if err == nil || !strings.Contains(err.Error(), "process exited") || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("StartProcess: %v, want a process exit for an address already in use", err)
	}
}

// A process exiting for another reason is not retried, and the error quotes
// its output.
func TestStartProcessExitIsNotRetried(t *testing.T) {
	spec := fakeSpec(t, "exit")
	calls := countPicks(&spec, 0)
	_, err := StartProcess(t, spec)
	if *calls != 1 {
		t.Errorf("PickPort called %d times, want 1", *calls)
	}
	for _, want := range []string{"process exited (exit status 3) before answering GET /ready on 127.0.0.1:", "exiting as configured"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("StartProcess: %v, want an error containing %q", err, want)
		}
	}
}

// A process that never gets ready is given StartTimeout, probed at most
// StartTimeout/PollInterval+1 times, then killed and not retried.
func TestStartProcessTimesOut(t *testing.T) {
	spec := fakeSpec(t, "unready")
	spec.StartTimeout = 300 * time.Millisecond
	spec.PollInterval = 10 * time.Millisecond
	calls := countPicks(&spec, 0)
	probes := 0
	var last *Process
	ready := spec.Ready
	spec.Ready = func(p *Process) bool {
		probes++
		last = p
		return ready(p)
	}
	began := time.Now()
	_, err := StartProcess(t, spec)
	if err == nil || !strings.Contains(err.Error(), "/ready did not answer 200 within") {
		t.Errorf("StartProcess: %v, want a timeout", err)
	}
	if elapsed := time.Since(began); elapsed < spec.StartTimeout {
		t.Errorf("gave up after %s, before StartTimeout %s", elapsed, spec.StartTimeout)
	}
	if *calls != 1 {
		t.Errorf("PickPort called %d times, want 1", *calls)
	}
	if max := int(spec.StartTimeout/spec.PollInterval) + 1; probes == 0 || probes > max {
		t.Errorf("%d probes, want 1 to %d", probes, max)
	}
	if last == nil {
		t.Fatal("never probed")
	}
	select {
	case <-last.Done():
	default:
		t.Error("process not stopped after the timeout")
	}
}

func TestEnvWithout(t *testing.T) {
	t.Setenv("TESTBIN_ENV_A", "1")
	t.Setenv("TESTBIN_ENV_AB", "2")
	t.Setenv("TESTBIN_OTHER", "3")
	env := EnvWithout("TESTBIN_ENV_", "NO_SUCH_PREFIX_")
	for _, kv := range env {
		if strings.HasPrefix(kv, "TESTBIN_ENV_") {
			t.Errorf("EnvWithout keeps %q", kv)
		}
	}
	if !slices.Contains(env, "TESTBIN_OTHER=3") {
		t.Error("EnvWithout drops TESTBIN_OTHER")
	}
	if got, want := len(env), len(os.Environ())-2; got != want {
		t.Errorf("len(EnvWithout(...)) = %d, want %d", got, want)
	}
}
