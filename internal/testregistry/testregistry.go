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
	"path/filepath"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/testbin"
)

// Version is the Distribution release scripts/install-registry.sh installs and
// whose behaviour distribution_test.go pins down.
const Version = "v3.1.2"

const (
	// envBin names an explicit registry binary.
	envBin = "MANIFESTO_REGISTRY_BIN"
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

	proc *testbin.Process
}

// Ref returns Addr + "/" + s, for s such as "repo:tag" or "repo@sha256:...".
func (r *Registry) Ref(s string) string { return r.Addr + "/" + s }

// Logs returns the registry's combined stdout and stderr so far (at most the
// last megabyte).
func (r *Registry) Logs() string { return r.proc.Logs() }

// Start starts a fresh registry and registers its shutdown with t.Cleanup.
// It skips the test when no registry binary is installed, unless CI=true, in
// which case it fails the test.
func Start(t testing.TB) *Registry {
	t.Helper()
	spec := processSpec(t)
	p := testbin.MustStartProcess(t, spec)
	return &Registry{Addr: p.Addr, URL: p.URL, RootDir: rootDir(spec.Dir), Bin: spec.Bin, proc: p}
}

// processSpec finds the registry binary (testbin.Find) and describes a
// "registry serve" process with its configuration and storage in a fresh
// t.TempDir().
func processSpec(t testing.TB) testbin.ProcessSpec {
	t.Helper()
	bin := testbin.Find(t, envBin, "registry", "scripts/install-registry.sh")
	dir := t.TempDir()
	return testbin.ProcessSpec{
		Name:       "testregistry",
		Bin:        bin,
		Dir:        dir,
		ConfigFile: "config-%d.yml",
		Config: func(addr, ident string) ([]byte, error) {
			return []byte(config(addr, rootDir(dir), ident, testbin.RandomHex(32))), nil
		},
		Args:      func(cfgPath string) []string { return []string{"serve", cfgPath} },
		Env:       processEnv(),
		ReadyPath: "/v2/",
		Ready:     ready,
	}
}

// rootDir is the storage root of a registry whose spec's Dir is dir.
func rootDir(dir string) string { return filepath.Join(dir, "storage") }

// ready reports whether GET /v2/ answers 200 with p's identity in
// identHeader.
func ready(p *testbin.Process) bool {
	h, ok := p.Probe("/v2/")
	return ok && h.Get(identHeader) == p.Ident
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
	return append(testbin.EnvWithout("REGISTRY_", "OTEL_"),
		"OTEL_TRACES_EXPORTER=none",
		"OTEL_METRICS_EXPORTER=none",
		"OTEL_LOGS_EXPORTER=none",
	)
}
