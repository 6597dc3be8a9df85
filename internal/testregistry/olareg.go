package testregistry

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/testbin"
)

// OlaregVersion is the olareg release scripts/install-olareg.sh installs.
const OlaregVersion = "v0.2.2"

// envOlaregBin names an explicit olareg binary.
const envOlaregBin = "MANIFESTO_OLAREG_BIN"

// StartOlareg starts a fresh olareg process (regclient's registry, which
// serves the OCI 1.1 referrers API) on 127.0.0.1 with directory storage
// under t.TempDir() and the delete APIs on; the process is killed when the
// test ends. It is the referrers-API counterpart of Start, which runs CNCF
// Distribution (no referrers API): tests that must hold on both kinds of
// registry run against one of each.
//
// The binary is found as for Start, through $MANIFESTO_OLAREG_BIN, the cache
// scripts/install-olareg.sh fills, and PATH; without one the test is
// skipped, or fails when CI=true. Options are not supported (no auth, no
// TLS).
func StartOlareg(t testing.TB) *Registry {
	t.Helper()
	bin := testbin.Find(t, envOlaregBin, "olareg", "scripts/install-olareg.sh")
	dir := t.TempDir()
	storage := rootDir(dir)
	spec := testbin.ProcessSpec{
		Name:       "testregistry(olareg)",
		Bin:        bin,
		Dir:        dir,
		ConfigFile: "flags-%d.txt",
		// olareg is configured by flags. The identity is a repository
		// that only this process's storage holds: an empty OCI layout
		// named "probe<ident>", whose tag listing answers 200 here and
		// 404 from any other registry on the port.
		Config: func(addr, ident string) ([]byte, error) {
			repo := filepath.Join(storage, "probe"+ident)
			if err := os.MkdirAll(repo, 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(repo, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
				return nil, err
			}
			index := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`
			if err := os.WriteFile(filepath.Join(repo, "index.json"), []byte(index), 0o644); err != nil {
				return nil, err
			}
			return []byte("olareg serve --addr 127.0.0.1 --port <port> --dir " + storage + "\n"), nil
		},
		Args: func(_, addr string) []string {
			_, port, _ := net.SplitHostPort(addr)
			return []string{"serve", "--addr", "127.0.0.1", "--port", port, "--dir", storage,
				"--api-delete", "--api-blob-delete", "--gc-frequency", "-1s", "-v", "warn"}
		},
		Env:       testbin.EnvWithout("OTEL_"),
		ReadyPath: "/v2/probe<ident>/tags/list",
		Ready: func(p *testbin.Process) bool {
			resp, err := probeClient(nil).Get(p.URL + "/v2/probe" + p.Ident + "/tags/list")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		},
	}
	p := testbin.MustStartProcess(t, spec)
	return &Registry{Addr: p.Addr, URL: p.URL, RootDir: storage, Bin: bin, proc: p}
}
