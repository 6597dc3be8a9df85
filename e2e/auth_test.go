package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

// refusal reports whether stderr carries the registry's reason for a
// refused request.
func refusal(stderr string) bool {
	return strings.Contains(stderr, "UNAUTHORIZED") || strings.Contains(stderr, "DENIED")
}

// TestTokenAuth: Distribution with `auth: token`, as every public registry
// does it. A writer puts, gets and deletes; a pull-only reader's put of a
// value whose blobs exist and its delete exit 4 with the registry's reason,
// are not retried, and change nothing (issue 10, item 12).
func TestTokenAuth(t *testing.T) {
	reg := testregistry.Start(t, testregistry.WithTokenAuth(map[string]testregistry.User{
		"writer": {Password: "writer-pw-0123", Actions: []string{"pull", "push", "delete"}},
		"reader": {Password: "reader-pw-0123", Actions: []string{"pull"}},
	}))
	image := reg.Ref("team/app:1.0")
	pushImageWith(t, image, remote.WithAuth(&authn.Basic{Username: "writer", Password: "writer-pw-0123"}))
	writer := []string{"--username", "writer", "--password", "writer-pw-0123"}
	reader := []string{"--username", "reader", "--password", "reader-pw-0123"}
	run := func(args []string, who []string) result {
		t.Helper()
		return cli(t, nil, nil, append(args, who...)...)
	}
	value := writeFile(t, "sbom.json", `{"sbom":true}`)

	if r := run([]string{"put", image, "sbom", value}, writer); r.code != 0 {
		t.Fatalf("writer put: exit %d: %s", r.code, r.stderr)
	}
	if r := run([]string{"put", image, "old", value}, writer); r.code != 0 {
		t.Fatalf("writer put: exit %d: %s", r.code, r.stderr)
	}
	if r := run([]string{"get", image, "sbom", "-o", "-"}, reader); r.code != 0 || r.stdout != `{"sbom":true}` {
		t.Fatalf("reader get: exit %d: %q %s", r.code, r.stdout, r.stderr)
	}

	// The value's blob exists already: the first write is the manifest PUT.
	before := reg.TokenRequests()
	r := run([]string{"put", image, "copy", value}, reader)
	if r.code != 4 || !refusal(r.stderr) {
		t.Errorf("reader put: exit %d (want 4 with the registry's reason): %s", r.code, r.stderr)
	}
	// One token for the connection, one more when the registry challenges
	// the write; a retried write would fetch more.
	if n := reg.TokenRequests() - before; n > 2 {
		t.Errorf("reader put fetched %d tokens: the refusal was retried", n)
	}
	before = reg.TokenRequests()
	r = run([]string{"delete", image, "old"}, reader)
	if r.code != 4 || !refusal(r.stderr) {
		t.Errorf("reader delete: exit %d (want 4 with the registry's reason): %s", r.code, r.stderr)
	}
	if n := reg.TokenRequests() - before; n > 2 {
		t.Errorf("reader delete fetched %d tokens: the refusal was retried", n)
	}
	list := run([]string{"list", image}, reader)
	if list.code != 0 || strings.Contains(list.stdout, "copy") || !strings.Contains(list.stdout, "old") || !strings.Contains(list.stdout, "sbom") {
		t.Errorf("after the refused writes, list: exit %d: %q %s", list.code, list.stdout, list.stderr)
	}

	if r := run([]string{"delete", image, "old"}, writer); r.code != 0 {
		t.Fatalf("writer delete: exit %d: %s", r.code, r.stderr)
	}
	if list := run([]string{"list", image}, writer); strings.Contains(list.stdout, "old") || !strings.Contains(list.stdout, "sbom") {
		t.Errorf("after the writer's delete, list: %q %s", list.stdout, list.stderr)
	}
	if r := run([]string{"list", image}, []string{"--username", "reader", "--password", "wrong-password"}); r.code != 4 {
		t.Errorf("wrong password: exit %d, want 4: %s", r.code, r.stderr)
	}
}

// TestHtpasswdAuth: HTTP Basic auth against an htpasswd file works with the
// right credentials and exits 4 with wrong ones.
func TestHtpasswdAuth(t *testing.T) {
	reg := testregistry.Start(t, testregistry.WithHtpasswd(map[string]string{"ci": "ci-pw-0123456"}))
	image := reg.Ref("team/app:1.0")
	pushImageWith(t, image, remote.WithAuth(&authn.Basic{Username: "ci", Password: "ci-pw-0123456"}))
	value := writeFile(t, "v.json", `{"v":1}`)
	if r := cli(t, nil, nil, "put", image, "k", value, "--username", "ci", "--password", "ci-pw-0123456"); r.code != 0 {
		t.Fatalf("put: exit %d: %s", r.code, r.stderr)
	}
	if r := cli(t, nil, []string{"MANIFESTO_USERNAME=ci", "MANIFESTO_PASSWORD=ci-pw-0123456"}, "get", image, "k", "-o", "-"); r.code != 0 || r.stdout != `{"v":1}` {
		t.Errorf("get: exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
	r := cli(t, nil, nil, "get", image, "k", "-o", "-", "--username", "ci", "--password", "wrong-pw-0123")
	if r.code != 4 || strings.Contains(r.stderr, "wrong-pw-0123") {
		t.Errorf("wrong password: exit %d, want 4: %s", r.code, r.stderr)
	}
	if r := cli(t, nil, nil, "get", image, "k", "-o", "-"); r.code != 4 {
		t.Errorf("no credentials: exit %d, want 4: %s", r.code, r.stderr)
	}
}

// TestPrivateCA: a registry whose certificate a private CA issued is
// refused with a certificate error until the CA is trusted (SSL_CERT_FILE)
// or verification is off (--insecure).
func TestPrivateCA(t *testing.T) {
	reg := testregistry.Start(t, testregistry.WithTLS())
	image := reg.Ref("team/app:1.0")
	pem, err := os.ReadFile(reg.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	pushImageWith(t, image, remote.WithTransport(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}))

	r := cli(t, nil, nil, "list", image)
	if r.code != 1 || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("untrusted CA: exit %d (want 1 and a certificate error): %s", r.code, r.stderr)
	}
	value := writeFile(t, "v.json", `{"v":1}`)
	if r := cli(t, nil, []string{"SSL_CERT_FILE=" + reg.CAFile}, "put", image, "k", value); r.code != 0 {
		t.Errorf("SSL_CERT_FILE: exit %d: %s", r.code, r.stderr)
	}
	if r := cli(t, nil, nil, "get", image, "k", "-o", "-", "--insecure"); r.code != 0 || r.stdout != `{"v":1}` {
		t.Errorf("--insecure: exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
}
