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
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
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
	// URL is "http://" + Addr ("https://" + Addr WithTLS).
	URL string
	// CAFile is the PEM certificate of the private CA that issued the
	// registry's certificate (WithTLS), for SSL_CERT_FILE; "" without TLS.
	CAFile string
	// RootDir is the filesystem storage root of the registry.
	RootDir string
	// Bin is the registry binary that runs.
	Bin string

	proc  *testbin.Process
	token *tokenServer
}

// TokenRequests is how many requests the token server got (WithTokenAuth;
// 0 without).
func (r *Registry) TokenRequests() int {
	if r.token == nil {
		return 0
	}
	return r.token.Requests()
}

// Ref returns Addr + "/" + s, for s such as "repo:tag" or "repo@sha256:...".
func (r *Registry) Ref(s string) string { return r.Addr + "/" + s }

// Logs returns the registry's combined stdout and stderr so far (at most the
// last megabyte).
func (r *Registry) Logs() string { return r.proc.Logs() }

// Start starts a fresh registry and registers its shutdown with t.Cleanup.
// It skips the test when no registry binary is installed, unless CI=true, in
// which case it fails the test. Options add authentication (WithTokenAuth,
// WithHtpasswd) and TLS (WithTLS).
func Start(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	var s settings
	for _, o := range opts {
		o(&s)
	}
	spec, reg := processSpec(t, s)
	p := testbin.MustStartProcess(t, spec)
	reg.Addr, reg.URL, reg.RootDir, reg.Bin, reg.proc = p.Addr, p.URL, rootDir(spec.Dir), spec.Bin, p
	if s.tls {
		reg.URL = "https://" + p.Addr
	}
	return reg
}

// processSpec finds the registry binary (testbin.Find) and describes a
// "registry serve" process with its configuration and storage in a fresh
// t.TempDir(), and the files and servers s asks for besides.
func processSpec(t testing.TB, s settings) (testbin.ProcessSpec, *Registry) {
	t.Helper()
	bin := testbin.Find(t, envBin, "registry", "scripts/install-registry.sh")
	dir := t.TempDir()
	reg := &Registry{}
	var extra string
	switch {
	case s.token != nil:
		ts, root := startTokenServer(t, dir, s.token)
		reg.token = ts
		extra += fmt.Sprintf("auth:\n  token:\n    realm: %q\n    service: %q\n    issuer: %q\n    rootcertbundle: %q\n",
			ts.realm, tokenService, tokenIssuer, root)
	case s.htpasswd != nil:
		extra += fmt.Sprintf("auth:\n  htpasswd:\n    realm: %q\n    path: %q\n", "manifesto-testregistry", writeHtpasswd(t, dir, s.htpasswd))
	}
	var tlsBlock string
	var pool *x509.CertPool
	scheme := "http"
	if s.tls {
		var cert, key string
		reg.CAFile, cert, key, pool = writeTLS(t, dir)
		tlsBlock = fmt.Sprintf("  tls:\n    certificate: %q\n    key: %q\n", cert, key)
		scheme = "https"
	}
	client := probeClient(pool)
	return testbin.ProcessSpec{
		Name:       "testregistry",
		Bin:        bin,
		Dir:        dir,
		ConfigFile: "config-%d.yml",
		Config: func(addr, ident string) ([]byte, error) {
			return []byte(config(addr, rootDir(dir), ident, testbin.RandomHex(32)) + tlsBlock + extra), nil
		},
		Args:      func(cfgPath, _ string) []string { return []string{"serve", cfgPath} },
		Env:       processEnv(),
		ReadyPath: "/v2/",
		Ready: func(p *testbin.Process) bool {
			return ready(client, scheme+"://"+p.Addr, p.Ident)
		},
	}, reg
}

// rootDir is the storage root of a registry whose spec's Dir is dir.
func rootDir(dir string) string { return filepath.Join(dir, "storage") }

// ready reports whether GET /v2/ at base answers 200, or 401 when the
// registry asks for credentials, with ident in identHeader.
func ready(client *http.Client, base, ident string) bool {
	resp, err := client.Get(base + "/v2/")
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized) && resp.Header.Get(identHeader) == ident
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
