package testregistry

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/testbin"
)

// A port taken by another process makes Start retry on another port: the
// registry exits saying "address already in use", and an impostor answering
// GET /v2/ with 200 is not taken for it.
func TestStartRetriesWhenPortTaken(t *testing.T) {
	p := testbin.StartOnTakenPort(t, func() testbin.ProcessSpec { s, _ := processSpec(t, settings{}); return s }())
	resp, err := http.Get(p.URL + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get(identHeader) != p.Ident {
		t.Errorf("registry at %s answers %s %q, want %q", p.Addr, identHeader, resp.Header.Get(identHeader), p.Ident)
	}
}

// ready accepts only a 200 for GET /v2/ carrying the process's identity.
func TestReadyChecksIdentity(t *testing.T) {
	const ident = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name   string
		status int
		header string // identHeader's value, "" for none
		want   bool
	}{
		{"this registry", http.StatusOK, ident, true},
		{"impostor without the header", http.StatusOK, "", false},
		{"another registry", http.StatusOK, "fedcba9876543210fedcba9876543210", false},
		{"not ready", http.StatusServiceUnavailable, ident, false},
		{"asks for credentials", http.StatusUnauthorized, ident, true},
		{"impostor asking for credentials", http.StatusUnauthorized, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v2/" {
					http.NotFound(w, r)
					return
				}
				if tc.header != "" {
					w.Header().Set(identHeader, tc.header)
				}
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			if got := ready(probeClient(nil), srv.URL, ident); got != tc.want {
				t.Errorf("ready = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestProcessEnv(t *testing.T) {
	t.Setenv("REGISTRY_STORAGE", "s3")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")
	env := processEnv()
	for _, kv := range env {
		if strings.HasPrefix(kv, "REGISTRY_") || strings.HasPrefix(kv, "OTEL_EXPORTER_") {
			t.Errorf("processEnv keeps %q", kv)
		}
	}
	for _, kv := range []string{"OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none"} {
		if !slices.Contains(env, kv) {
			t.Errorf("processEnv lacks %q", kv)
		}
	}
}
