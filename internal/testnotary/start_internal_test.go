package testnotary

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
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

// A port taken by another process makes Start retry on another port:
// notary-server exits saying "address already in use", and an impostor
// answering the health check and /v2/ with 200 is not taken for it.
func TestStartRetriesWhenPortTaken(t *testing.T) {
	p := testbin.StartOnTakenPort(t, processSpec(t))
	if !strings.Contains(p.Logs(), "Starting on "+p.Addr) {
		t.Errorf("server log lacks %q:\n%s", "Starting on "+p.Addr, testbin.Tail(p.Logs(), testbin.OutputTail))
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
