package testregistry

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"testing"
)

// The three modes come up and ask for what they should: token auth and
// htpasswd answer /v2/ with their challenge, TLS with a certificate only
// its CA vouches for.
func TestModes(t *testing.T) {
	t.Run("token", func(t *testing.T) {
		r := Start(t, WithTokenAuth(map[string]User{"w": {Password: "pw", Actions: []string{"pull", "push"}}}))
		resp, err := http.Get(r.URL + "/v2/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || got == "" || r.token == nil {
			t.Errorf("GET /v2/: %d, challenge %q", resp.StatusCode, got)
		}
	})
	t.Run("htpasswd", func(t *testing.T) {
		r := Start(t, WithHtpasswd(map[string]string{"u": "pw"}))
		req, _ := http.NewRequest(http.MethodGet, r.URL+"/v2/", nil)
		req.SetBasicAuth("u", "pw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET /v2/ with the right password: %d", resp.StatusCode)
		}
	})
	t.Run("tls", func(t *testing.T) {
		r := Start(t, WithTLS())
		if _, err := http.Get(r.URL + "/v2/"); err == nil {
			t.Error("an untrusted certificate was accepted")
		}
		pem, err := os.ReadFile(r.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := c.Get(r.URL + "/v2/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET /v2/ over TLS: %d", resp.StatusCode)
		}
	})
}
