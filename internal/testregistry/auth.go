package testregistry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Option configures Start.
type Option func(*settings)

type settings struct {
	token    map[string]User   // user name → user, for token auth
	htpasswd map[string]string // user name → password, for Basic auth
	tls      bool
}

// User is an account of the token server (WithTokenAuth).
type User struct {
	Password string
	// Actions are what the user may do on every repository: "pull",
	// "push", "delete" (Distribution asks for "delete" to delete
	// manifests).
	Actions []string
}

// WithTokenAuth makes the registry use token authentication (`auth: token`)
// with a token server written for the tests: it answers GET /token on
// http://localhost:PORT (a realm on localhost, which go-containerregistry
// accepts; it refuses one on a loopback or private IP address) with an
// ES256 JWT whose header carries the signing certificate in x5c, granting
// each user the intersection of the scope asked for and its Actions. A
// request without valid credentials is refused with 401.
func WithTokenAuth(users map[string]User) Option {
	return func(s *settings) { s.token = users }
}

// WithHtpasswd makes the registry use HTTP Basic authentication against an
// htpasswd file (bcrypt) holding users (name → password).
func WithHtpasswd(users map[string]string) Option {
	return func(s *settings) { s.htpasswd = users }
}

// WithTLS makes the registry serve HTTPS with a certificate (for 127.0.0.1
// and localhost) issued by a private CA made for the test; Registry.CAFile
// is that CA's certificate (PEM) and Registry.URL starts with https://.
func WithTLS() Option { return func(s *settings) { s.tls = true } }

// tokenServer is the token server of WithTokenAuth.
type tokenServer struct {
	srv     *httptest.Server
	realm   string
	key     *ecdsa.PrivateKey
	certDER []byte
	users   map[string]User

	mu       sync.Mutex
	requests int
}

const (
	tokenService = "manifesto-testregistry"
	tokenIssuer  = "manifesto-testregistry-token-server"
)

// startTokenServer starts the token server and writes its certificate to
// dir/token-root.pem, the registry's rootcertbundle.
func startTokenServer(t testing.TB, dir string, users map[string]User) (*tokenServer, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: tokenIssuer},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "token-root.pem")
	if err := os.WriteFile(root, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := &tokenServer{key: key, certDER: der, users: users}
	ts.srv = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.srv.Close)
	_, port, _ := net.SplitHostPort(ts.srv.Listener.Addr().String())
	ts.realm = "http://localhost:" + port + "/token"
	return ts, root
}

// serve answers GET /token?service=...&scope=repository:NAME:ACTIONS.
func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	ts.mu.Lock()
	ts.requests++
	ts.mu.Unlock()
	user, pass, ok := r.BasicAuth()
	u, known := ts.users[user]
	if r.URL.Path != "/token" || !ok || !known || u.Password != pass {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`, http.StatusUnauthorized)
		return
	}
	type access struct {
		Type    string   `json:"type"`
		Name    string   `json:"name"`
		Actions []string `json:"actions"`
	}
	granted := []access{}
	for _, scope := range r.URL.Query()["scope"] {
		// One parameter may hold several scopes separated by spaces.
		for _, sc := range strings.Fields(scope) {
			parts := strings.Split(sc, ":")
			if len(parts) < 3 || parts[0] != "repository" {
				continue
			}
			name := strings.Join(parts[1:len(parts)-1], ":")
			var actions []string
			for _, a := range strings.Split(parts[len(parts)-1], ",") {
				if a == "*" || slices.Contains(u.Actions, a) {
					actions = append(actions, a)
				}
			}
			granted = append(granted, access{Type: "repository", Name: name, Actions: actions})
		}
	}
	now := time.Now()
	claims := map[string]any{
		"iss": tokenIssuer, "sub": user, "aud": tokenService,
		"exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(),
		"jti": fmt.Sprint(now.UnixNano()), "access": granted,
	}
	tok, err := ts.sign(claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token": tok, "expires_in": 300, "issued_at": now.UTC().Format(time.RFC3339)})
}

// sign makes an ES256 JWT with the signing certificate in x5c.
func (ts *tokenServer) sign(claims map[string]any) (string, error) {
	enc := base64.RawURLEncoding
	header, err := json.Marshal(map[string]any{"typ": "JWT", "alg": "ES256", "x5c": []string{base64.StdEncoding.EncodeToString(ts.certDER)}})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, ts.key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + enc.EncodeToString(sig), nil
}

// Requests is how many token requests the server got.
func (ts *tokenServer) Requests() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.requests
}

// writeHtpasswd writes users to dir/htpasswd with bcrypt hashes.
func writeHtpasswd(t testing.TB, dir string, users map[string]string) string {
	t.Helper()
	var b strings.Builder
	for name, pass := range users {
		h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:%s\n", name, h)
	}
	p := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeTLS makes a private CA and a server certificate for 127.0.0.1 and
// localhost it issued; it writes dir/ca.pem, dir/tls-cert.pem and
// dir/tls-key.pem and returns their paths and a pool trusting the CA.
func writeTLS(t testing.TB, dir string) (ca, cert, key string, pool *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "manifesto test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, cert, key = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "tls-cert.pem"), filepath.Join(dir, "tls-key.pem")
	for p, block := range map[string]*pem.Block{
		ca:   {Type: "CERTIFICATE", Bytes: caDER},
		cert: {Type: "CERTIFICATE", Bytes: srvDER},
		key:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pool = x509.NewCertPool()
	pool.AddCert(caCert)
	return ca, cert, key, pool
}

// probeClient returns a client for readiness probes trusting pool (nil:
// plain HTTP only), never through a proxy, with a one-second timeout.
func probeClient(pool *x509.CertPool) *http.Client {
	return &http.Client{
		Timeout: time.Second,
		Transport: &http.Transport{
			Proxy:             nil,
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		},
	}
}
