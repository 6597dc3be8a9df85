package testbin

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// OutputTail is how much of a process's output failure messages show.
	OutputTail = 4 << 10
	// OutputCap caps the output of a process kept in memory.
	OutputCap = 1 << 20

	// Defaults of the ProcessSpec fields left zero.
	defaultAttempts     = 5
	defaultStartTimeout = 10 * time.Second
	defaultPollInterval = 20 * time.Millisecond
	defaultStopTimeout  = 10 * time.Second
)

// ProcessSpec describes a server process for StartProcess: a binary serving
// HTTP on a loopback address it reads from a configuration file.
type ProcessSpec struct {
	// Name prefixes log messages, e.g. "testregistry".
	Name string
	// Bin is the binary to run.
	Bin string
	// Dir is the working directory of the process and where configuration
	// files are written (e.g. t.TempDir()).
	Dir string
	// ConfigFile is the name of the configuration file in Dir, a format
	// with one %d verb for the attempt number (1, 2, ...), e.g.
	// "config-%d.yml".
	ConfigFile string
	// Config renders the configuration for the loopback address addr
	// ("127.0.0.1:port") and the process's random identity ident (32 hex
	// digits), which the configuration or Ready can use to tell this
	// process from any other listening on the same port.
	Config func(addr, ident string) ([]byte, error)
	// Args returns the command-line arguments given the configuration
	// file's path and the address to listen on (for servers configured by
	// flags rather than by the file).
	Args func(configPath, addr string) []string
	// Env is the environment of the process (see EnvWithout); nil means
	// the test's own.
	Env []string
	// ReadyPath is the path Ready probes (e.g. "/v2/"), for messages.
	ReadyPath string
	// Ready reports whether the process is up and is this process (e.g.
	// by checking p.Ident in p.Probe's answer). It is called repeatedly,
	// every PollInterval, until it returns true, the process exits or
	// StartTimeout passes.
	Ready func(p *Process) bool
	// Attempts bounds the attempts, each on a fresh port, made while the
	// process exits saying "address already in use" (default 5).
	Attempts int
	// StartTimeout bounds one attempt to bring the process up (default
	// 10s); at most StartTimeout/PollInterval+1 probes are made.
	StartTimeout time.Duration
	// PollInterval is the pause between readiness probes (default 20ms).
	PollInterval time.Duration
	// StopTimeout bounds the wait for the killed process to be reaped
	// (default 10s).
	StopTimeout time.Duration
	// PickPort picks the port of an attempt (default FreePort).
	PickPort func() (int, error)
}

// Process is a running process started by StartProcess.
type Process struct {
	// Addr is the process's address, "127.0.0.1:port".
	Addr string
	// URL is "http://" + Addr.
	URL string
	// Ident is the process's random identity as given to
	// ProcessSpec.Config.
	Ident string
	// ConfigPath is the configuration file the process runs with.
	ConfigPath string

	t           testing.TB
	name        string
	stopTimeout time.Duration
	cmd         *exec.Cmd
	logs        *Buffer
	done        chan struct{}
	waitErr     error // set before done is closed
	stopOnce    sync.Once
}

// Logs returns the process's combined stdout and stderr so far (at most the
// last OutputCap bytes).
func (p *Process) Logs() string { return p.logs.String() }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop kills the process and waits (at most the spec's StopTimeout) for it
// to be reaped. Only the first call does anything; StartProcess registers
// one with t.Cleanup.
func (p *Process) Stop() {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(p.stopTimeout):
			p.t.Logf("%s: pid %d not reaped within %s", p.name, p.cmd.Process.Pid, p.stopTimeout)
		}
	})
}

// probeClient sends Process.Probe's requests.
var probeClient = &http.Client{
	Timeout: time.Second,
	Transport: &http.Transport{
		Proxy:             nil, // loopback only, never through a proxy
		DisableKeepAlives: true,
	},
}

// Probe sends GET URL+path, never through a proxy and with a one-second
// timeout, and returns the response header and whether the status was 200.
// It needs only URL to be set.
func (p *Process) Probe(path string) (http.Header, bool) {
	resp, err := probeClient.Get(p.URL + path)
	if err != nil {
		return nil, false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.Header, resp.StatusCode == http.StatusOK
}

// StartProcess starts spec's process on a free loopback port and waits until
// spec.Ready accepts it. When the process exits saying "address already in
// use" (another process took the port first) it tries again on another
// port, up to spec.Attempts times. On success it registers with t.Cleanup
// the process's Stop and, when the test failed, a log of its output tail; on
// failure the error quotes the output tail of the last attempt.
func StartProcess(t testing.TB, spec ProcessSpec) (*Process, error) {
	t.Helper()
	if spec.Attempts <= 0 {
		spec.Attempts = defaultAttempts
	}
	if spec.StartTimeout <= 0 {
		spec.StartTimeout = defaultStartTimeout
	}
	if spec.PollInterval <= 0 {
		spec.PollInterval = defaultPollInterval
	}
	if spec.StopTimeout <= 0 {
		spec.StopTimeout = defaultStopTimeout
	}
	if spec.PickPort == nil {
		spec.PickPort = FreePort
	}
	var lastErr error
	for attempt := 1; attempt <= spec.Attempts; attempt++ {
		p, retry, err := startOnce(t, &spec, attempt)
		if err == nil {
			return p, nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	return nil, lastErr
}

// MustStartProcess is StartProcess failing the test (with the message
// "<spec.Name>: <spec.Bin> did not start: <error>") when the process does
// not start.
func MustStartProcess(t testing.TB, spec ProcessSpec) *Process {
	t.Helper()
	p, err := StartProcess(t, spec)
	if err != nil {
		t.Fatalf("%s: %s did not start: %v", spec.Name, spec.Bin, err)
		return nil
	}
	return p
}

// startOnce makes one attempt. retry reports whether a new attempt on a
// different port may succeed (the port was taken).
func startOnce(t testing.TB, spec *ProcessSpec, attempt int) (p *Process, retry bool, err error) {
	t.Helper()
	port, err := spec.PickPort()
	if err != nil {
		return nil, false, err
	}
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	ident := RandomHex(16)

	cfg, err := spec.Config(addr, ident)
	if err != nil {
		return nil, false, err
	}
	cfgPath := filepath.Join(spec.Dir, fmt.Sprintf(spec.ConfigFile, attempt))
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		return nil, false, err
	}

	p = &Process{
		Addr:        addr,
		URL:         "http://" + addr,
		Ident:       ident,
		ConfigPath:  cfgPath,
		t:           t,
		name:        spec.Name,
		stopTimeout: spec.StopTimeout,
		logs:        NewBuffer(OutputCap),
		done:        make(chan struct{}),
	}
	p.cmd = exec.Command(spec.Bin, spec.Args(cfgPath, addr)...)
	p.cmd.Dir = spec.Dir
	p.cmd.Env = spec.Env
	p.cmd.Stdout = p.logs
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("start: %w", err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()

	maxPolls := int(spec.StartTimeout/spec.PollInterval) + 1
	began := time.Now()
	deadline := began.Add(spec.StartTimeout)
	for i := 0; i < maxPolls && time.Now().Before(deadline); i++ {
		select {
		case <-p.done:
			out := p.logs.String()
			err := fmt.Errorf("process exited (%v) before answering GET %s on %s; output tail:\n%s", p.waitErr, spec.ReadyPath, addr, Tail(out, OutputTail))
			return nil, strings.Contains(out, "address already in use"), err
		default:
		}
		if spec.Ready(p) {
			t.Cleanup(func() {
				p.Stop()
				if t.Failed() {
					t.Logf("%s %s output tail:\n%s", spec.Name, addr, Tail(p.logs.String(), OutputTail))
				}
			})
			return p, false, nil
		}
		time.Sleep(spec.PollInterval)
	}
	p.Stop()
	return nil, false, fmt.Errorf("GET %s%s did not answer 200 within %s; output tail:\n%s",
		p.URL, spec.ReadyPath, time.Since(began).Round(time.Millisecond), Tail(p.logs.String(), OutputTail))
}

// EnvWithout returns the test's environment without the variables whose
// names start with one of prefixes (e.g. ones a server reads as
// configuration overrides).
func EnvWithout(prefixes ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, prefix := range prefixes {
			if strings.HasPrefix(kv, prefix) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return env
}

// StartOnTakenPort checks that StartProcess retries on another port when
// the chosen one is taken: it starts spec with a PickPort whose first two
// ports are held by an impostor (an HTTP server answering 200 with "{}" to
// every request), and fails the test unless the process came up on the
// third port picked. It returns the process.
func StartOnTakenPort(t testing.TB, spec ProcessSpec) *Process {
	t.Helper()
	impostor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("{}"))
	}))
	defer impostor.Close()
	taken := impostor.Listener.Addr().(*net.TCPAddr).Port

	calls := 0 // StartProcess calls PickPort on this goroutine
	pick := spec.PickPort
	if pick == nil {
		pick = FreePort
	}
	spec.PickPort = func() (int, error) {
		calls++
		if calls <= 2 {
			return taken, nil
		}
		return pick()
	}

	p := MustStartProcess(t, spec)
	if calls != 3 {
		t.Errorf("PickPort called %d times, want 3", calls)
	}
	if p.Addr == impostor.Listener.Addr().String() {
		t.Fatalf("StartProcess returned the impostor's address %s", p.Addr)
	}
	return p
}
