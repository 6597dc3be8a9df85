package testnotary

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/manifesto-dev/manifesto/internal/testbin"
)

// Start brings up a real notary-server that answers its health check and
// the Notary API, and Stop kills it.
func TestStartAndStop(t *testing.T) {
	began := time.Now()
	s := Start(t)
	t.Logf("notary-server %s up in %s", s.Addr, time.Since(began).Round(time.Millisecond))
	if !strings.HasPrefix(s.Addr, "127.0.0.1:") || s.URL != "http://"+s.Addr {
		t.Fatalf("Addr %q URL %q", s.Addr, s.URL)
	}
	for _, path := range []string{healthPath, "/v2/"} {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}
	// An unknown GUN has no trust data: 404, the answer clients take as
	// "not initialized".
	resp, err := http.Get(s.URL + "/v2/127.0.0.1:5000/none/_trust/tuf/root.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("root.json of an unknown GUN: %d, want 404", resp.StatusCode)
	}
	// The server generates a timestamp key on request (local trust service).
	resp, err = http.Get(s.URL + "/v2/127.0.0.1:5000/none/_trust/tuf/timestamp.key")
	if err != nil {
		t.Fatal(err)
	}
	var key struct {
		KeyType string `json:"keytype"`
	}
	err = json.NewDecoder(resp.Body).Decode(&key)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || key.KeyType != "ed25519" {
		t.Errorf("timestamp.key: status %d keytype %q err %v, want 200 ed25519", resp.StatusCode, key.KeyType, err)
	}

	s.Stop()
	s.Stop() // idempotent
	c := &http.Client{Timeout: 2 * time.Second}
	if resp, err := c.Get(s.URL + healthPath); err == nil {
		resp.Body.Close()
		t.Fatalf("server still answers after Stop: %d", resp.StatusCode)
	}
}

// A port taken by another process, even one answering the health check and
// /v2/ with 200, makes Start retry on another port instead of failing or
// talking to the impostor.
func TestStartRetriesWhenPortTaken(t *testing.T) {
	impostor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("{}"))
	}))
	defer impostor.Close()
	_, portStr, err := net.SplitHostPort(impostor.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	taken, err := net.LookupPort("tcp", portStr)
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	calls := 0
	orig := pickPort
	pickPort = func() (int, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls <= 2 {
			return taken, nil
		}
		return orig()
	}
	t.Cleanup(func() { pickPort = orig })

	s := Start(t)
	if calls != 3 {
		t.Errorf("pickPort called %d times, want 3", calls)
	}
	if s.Addr == impostor.Listener.Addr().String() {
		t.Fatalf("Start returned the impostor's address %s", s.Addr)
	}
	if !strings.Contains(s.Logs(), "Starting on "+s.Addr) {
		t.Errorf("server log lacks %q:\n%s", "Starting on "+s.Addr, testbin.Tail(s.Logs(), logTail))
	}
}

func TestConfigIsValidJSON(t *testing.T) {
	var cfg struct {
		Server struct {
			HTTPAddr string `json:"http_addr"`
		} `json:"server"`
		TrustService struct {
			Type         string `json:"type"`
			KeyAlgorithm string `json:"key_algorithm"`
		} `json:"trust_service"`
		Storage struct {
			Backend string `json:"backend"`
		} `json:"storage"`
	}
	if err := json.Unmarshal(Config("127.0.0.1:1234"), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Server.HTTPAddr != "127.0.0.1:1234" || cfg.TrustService.Type != "local" ||
		cfg.TrustService.KeyAlgorithm != "ed25519" || cfg.Storage.Backend != "memory" {
		t.Errorf("config %+v", cfg)
	}
}

func TestProcessEnvDropsServerOverrides(t *testing.T) {
	t.Setenv("NOTARY_SERVER_STORAGE_BACKEND", "mysql")
	for _, kv := range processEnv() {
		if strings.HasPrefix(kv, "NOTARY_SERVER_") {
			t.Errorf("processEnv keeps %q", kv)
		}
	}
	if os.Getenv("NOTARY_SERVER_STORAGE_BACKEND") != "mysql" {
		t.Fatal("setenv failed")
	}
}
