package testregistry

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// A port taken by another process, even one answering GET /v2/ with 200,
// makes Start retry on another port instead of failing or talking to the
// impostor.
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

	r := Start(t)
	if calls != 3 {
		t.Errorf("pickPort called %d times, want 3", calls)
	}
	if r.Addr == impostor.Listener.Addr().String() {
		t.Fatalf("Start returned the impostor's address %s", r.Addr)
	}
	resp, err := http.Get(r.URL + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get(identHeader) == "" {
		t.Errorf("registry at %s lacks %s", r.Addr, identHeader)
	}
}
