package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// upstream is a small fake registry: every GET answers a body of size
// bytes naming the path, POST to uploads answers 202 with an absolute
// Location built from the Host header.
type upstream struct {
	*httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	seen []string
}

const bodySize = 1000

func body(path string) []byte {
	b := bytes.Repeat([]byte("x"), bodySize)
	copy(b, path)
	return b
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		u.mu.Lock()
		u.seen = append(u.seen, r.Method+" "+r.URL.Path+" host="+r.Host)
		u.mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		switch {
		case r.Method == http.MethodPost:
			w.Header().Set("Location", "http://"+r.Host+"/v2/a/blobs/uploads/123")
			w.WriteHeader(http.StatusAccepted)
		case r.URL.Path == "/upstream-location":
			// A Location naming the upstream itself, whatever the Host.
			w.Header().Set("Location", u.URL+"/v2/a/blobs/uploads/456?x=1")
			w.WriteHeader(http.StatusAccepted)
		case r.Method == http.MethodPut:
			w.WriteHeader(http.StatusCreated)
		default:
			b := body(r.URL.Path)
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			if r.Method == http.MethodHead {
				return
			}
			_, _ = w.Write(b)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

// client makes one fresh connection per request, so the net/http client
// never retries a dropped request on its own (it does so only on reused
// connections) and every fault reaches the test.
func client() *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	}
}

type got struct {
	code int
	body []byte
	err  error
	hdr  http.Header
}

func do(t *testing.T, c *http.Client, method, url string) got {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return got{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return got{code: resp.StatusCode, body: b, err: err, hdr: resp.Header}
}

func TestFaultKindOf(t *testing.T) {
	cases := map[string]Kind{
		"/v2/":                             KindBase,
		"/v2":                              KindBase,
		"/v2/team/app/manifests/1.0":       KindManifests,
		"/v2/team/app/manifests/sha256:ab": KindManifests,
		"/v2/team/app/blobs/sha256:ab":     KindBlobs,
		"/v2/team/app/blobs/uploads/":      KindUploads,
		"/v2/team/app/blobs/uploads/id":    KindUploads,
		"/v2/team/blobs/app/blobs/x":       KindBlobs,
		"/v2/team/app/tags/list":           KindTags,
		"/v2/team/app/referrers/sha256:ab": KindReferrers,
		"/token":                           KindOther,
		"/v2/team/app/other/x":             KindOther,
	}
	for path, want := range cases {
		if got := KindOf(path); got != want {
			t.Errorf("KindOf(%q) = %s, want %s", path, got, want)
		}
	}
}

func TestFaultForwardAndCount(t *testing.T) {
	up := newUpstream(t)
	p := Start(t, up.URL)
	c := client()
	if g := do(t, c, "GET", p.URL()+"/v2/a/manifests/x"); g.err != nil || g.code != 200 || !bytes.Equal(g.body, body("/v2/a/manifests/x")) {
		t.Fatalf("GET through proxy: %d %v %q", g.code, g.err, g.body)
	}
	do(t, c, "HEAD", p.URL()+"/v2/a/blobs/sha256:00")
	do(t, c, "HEAD", p.URL()+"/v2/a/blobs/sha256:00")
	do(t, c, "GET", p.URL()+"/v2/a/tags/list")
	do(t, c, "GET", p.URL()+"/v2/")
	counts := p.Counts()
	if counts.Of("GET", KindManifests) != 1 || counts.Of("HEAD", KindBlobs) != 2 || counts.Kind(KindTags) != 1 ||
		counts.Of("GET", KindBase) != 1 || counts.Total() != 5 {
		t.Errorf("counts = %s", counts)
	}
	if p.Faults() != 0 {
		t.Errorf("faults = %d", p.Faults())
	}
	recs := p.Records()
	if len(recs) != 5 || recs[0].Status != 200 || recs[0].Kind != KindManifests {
		t.Errorf("records = %v", recs)
	}
	// The Host header is the proxy's, so Locations built from it come back.
	if g := do(t, c, "POST", p.URL()+"/v2/a/blobs/uploads/"); g.code != 202 || !strings.HasPrefix(g.hdr.Get("Location"), p.URL()+"/") {
		t.Errorf("POST Location = %q (%d), want it on the proxy", g.hdr.Get("Location"), g.code)
	}
	// A Location naming the upstream is rewritten to the proxy.
	if g := do(t, c, "GET", p.URL()+"/upstream-location"); g.hdr.Get("Location") != p.URL()+"/v2/a/blobs/uploads/456?x=1" {
		t.Errorf("upstream Location rewritten to %q", g.hdr.Get("Location"))
	}
	before := p.Counts()
	do(t, c, "GET", p.URL()+"/v2/a/referrers/sha256:00")
	if d := p.Counts().Sub(before); d.Total() != 1 || d.Of("GET", KindReferrers) != 1 {
		t.Errorf("Sub = %s", d)
	}
	p.Reset()
	if p.Counts().Total() != 0 || len(p.Records()) != 0 {
		t.Errorf("after Reset: %s %v", p.Counts(), p.Records())
	}
}

func TestFaultStatusEveryNth(t *testing.T) {
	up := newUpstream(t)
	p := Start(t, up.URL, ServiceUnavailable(3))
	c := client()
	var codes []int
	for i := 0; i < 7; i++ {
		codes = append(codes, do(t, c, "GET", p.URL()+"/v2/a/manifests/x").code)
	}
	want := []int{200, 200, 503, 200, 200, 503, 200}
	if !equalInts(codes, want) {
		t.Errorf("codes = %v, want %v", codes, want)
	}
	if up.hits.Load() != 5 {
		t.Errorf("upstream saw %d requests, want 5 (503s are not forwarded)", up.hits.Load())
	}
	if p.Faults() != 2 {
		t.Errorf("faults = %d", p.Faults())
	}
	if r := p.Records()[2]; r.Status != 503 || !strings.Contains(r.Fault, "503") {
		t.Errorf("record = %v", r)
	}
}

func TestFaultTooManyRequests(t *testing.T) {
	up := newUpstream(t)
	p := Start(t, up.URL, TooManyRequests(2, 1))
	c := client()
	if g := do(t, c, "GET", p.URL()+"/v2/a/manifests/x"); g.code != 200 {
		t.Fatalf("first = %d", g.code)
	}
	g := do(t, c, "GET", p.URL()+"/v2/a/manifests/x")
	if g.code != 429 || g.hdr.Get("Retry-After") != "1" || !strings.Contains(string(g.body), "errors") {
		t.Errorf("second = %d Retry-After %q body %q", g.code, g.hdr.Get("Retry-After"), g.body)
	}
	if g := do(t, c, "HEAD", p.URL()+"/v2/a/manifests/x"); g.code != 200 {
		t.Errorf("third = %d", g.code)
	}
	if g := do(t, c, "HEAD", p.URL()+"/v2/a/manifests/x"); g.code != 429 || len(g.body) != 0 {
		t.Errorf("fourth (HEAD) = %d %q", g.code, g.body)
	}
}

func TestFaultFilters(t *testing.T) {
	up := newUpstream(t)
	p := Start(t, up.URL,
		ServiceUnavailable(1).Only("PUT", KindManifests).After(1).Times(2),
		ServiceUnavailable(2).Matching(regexp.MustCompile(`/tags/`)))
	c := client()
	var codes []int
	for i := 0; i < 5; i++ {
		codes = append(codes, do(t, c, "PUT", p.URL()+"/v2/a/manifests/x").code)
		codes = append(codes, do(t, c, "GET", p.URL()+"/v2/a/manifests/x").code)
	}
	// PUTs: first let through, next two fail, then the limit is reached.
	want := []int{201, 200, 503, 200, 503, 200, 201, 200, 201, 200}
	if !equalInts(codes, want) {
		t.Errorf("codes = %v, want %v", codes, want)
	}
	codes = nil
	for i := 0; i < 4; i++ {
		codes = append(codes, do(t, c, "GET", p.URL()+"/v2/a/tags/list").code)
	}
	if want := []int{200, 503, 200, 503}; !equalInts(codes, want) {
		t.Errorf("tags codes = %v, want %v", codes, want)
	}
	// SetRules replaces the rules and restarts their counters.
	p.SetRules(ServiceUnavailable(2))
	codes = nil
	for i := 0; i < 2; i++ {
		codes = append(codes, do(t, c, "GET", p.URL()+"/v2/a/tags/list").code)
	}
	if want := []int{200, 503}; !equalInts(codes, want) {
		t.Errorf("after SetRules codes = %v, want %v", codes, want)
	}
}

func TestFaultDropConnection(t *testing.T) {
	up := newUpstream(t)
	p := Start(t, up.URL, DropConnection(2))
	c := client()
	if g := do(t, c, "GET", p.URL()+"/v2/a/manifests/x"); g.err != nil || g.code != 200 {
		t.Fatalf("first: %d %v", g.code, g.err)
	}
	if g := do(t, c, "GET", p.URL()+"/v2/a/manifests/x"); g.err == nil {
		t.Errorf("second: got %d, want a connection error", g.code)
	}
	if up.hits.Load() != 1 {
		t.Errorf("upstream saw %d requests, want 1 (a dropped request is not forwarded)", up.hits.Load())
	}
	if r := p.Records()[1]; r.Status != 0 || r.Fault != "drop every 2" {
		t.Errorf("record = %+v", r)
	}
}

func TestFaultLoseResponse(t *testing.T) {
	up := newUpstream(t)
	p := Start(t, up.URL, LoseResponses(1).Only("PUT", ""))
	c := client()
	req, _ := http.NewRequest("PUT", p.URL()+"/v2/a/manifests/x", strings.NewReader("{}"))
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("PUT answered %d, want a connection error", resp.StatusCode)
	}
	if up.hits.Load() != 1 {
		t.Errorf("upstream saw %d requests, want 1 (a lost response was processed)", up.hits.Load())
	}
	if g := do(t, c, "GET", p.URL()+"/v2/a/manifests/x"); g.err != nil || g.code != 200 {
		t.Errorf("GET after: %d %v", g.code, g.err)
	}
}

func TestFaultCutBody(t *testing.T) {
	up := newUpstream(t)
	p := Start(t, up.URL, CutBodies(2))
	c := client()
	// HEAD and 201 responses have no body and do not count.
	do(t, c, "HEAD", p.URL()+"/v2/a/blobs/x")
	do(t, c, "PUT", p.URL()+"/v2/a/manifests/x")
	if g := do(t, c, "GET", p.URL()+"/v2/a/blobs/x"); g.err != nil || len(g.body) != bodySize {
		t.Fatalf("first GET: %v, %d bytes", g.err, len(g.body))
	}
	g := do(t, c, "GET", p.URL()+"/v2/a/blobs/x")
	if g.code != 200 || !errors.Is(g.err, io.ErrUnexpectedEOF) || len(g.body) != bodySize/2 {
		t.Errorf("second GET: %d %v, %d bytes; want 200, unexpected EOF after %d bytes", g.code, g.err, len(g.body), bodySize/2)
	}
	if !bytes.Equal(g.body, body("/v2/a/blobs/x")[:len(g.body)]) {
		t.Errorf("cut body is not a prefix: %q", g.body)
	}
	if g.hdr.Get("Content-Length") != strconv.Itoa(bodySize) {
		t.Errorf("Content-Length = %q, want the upstream's", g.hdr.Get("Content-Length"))
	}
	if p.Faults() != 1 {
		t.Errorf("faults = %d", p.Faults())
	}
}

func TestFaultCutBodyKeep(t *testing.T) {
	up := newUpstream(t)
	r := CutBodies(1)
	r.Keep = 10
	p := Start(t, up.URL, r)
	g := do(t, client(), "GET", p.URL()+"/v2/a/blobs/x")
	if !errors.Is(g.err, io.ErrUnexpectedEOF) || len(g.body) != 10 {
		t.Errorf("GET: %v, %d bytes; want unexpected EOF after 10", g.err, len(g.body))
	}
}

func TestFaultTruncate(t *testing.T) {
	up := newUpstream(t)
	p := Start(t, up.URL, TruncateBodies(1).Only("GET", ""))
	g := do(t, client(), "GET", p.URL()+"/v2/a/blobs/x")
	if g.err != nil || g.code != 200 || len(g.body) != bodySize/2 || g.hdr.Get("Content-Length") != strconv.Itoa(bodySize/2) {
		t.Errorf("GET: %d %v, %d bytes, Content-Length %q; want a clean %d-byte answer", g.code, g.err, len(g.body), g.hdr.Get("Content-Length"), bodySize/2)
	}
}

func TestFaultLatency(t *testing.T) {
	up := newUpstream(t)
	p := Start(t, up.URL, Latency(150*time.Millisecond), ServiceUnavailable(2))
	c := client()
	start := time.Now()
	g1 := do(t, c, "GET", p.URL()+"/v2/a/blobs/x")
	g2 := do(t, c, "GET", p.URL()+"/v2/a/blobs/x")
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("two requests took %s, want at least 300ms", el)
	}
	// A delay does not stop other rules.
	if g1.code != 200 || g2.code != 503 {
		t.Errorf("codes %d %d, want 200 503", g1.code, g2.code)
	}
}

// TestFaultCloseBounded: Close cuts pending delays short, closes every
// connection, and leaves no goroutine behind.
func TestFaultCloseBounded(t *testing.T) {
	up := newUpstream(t)
	c := client()
	before := runtime.NumGoroutine()

	p, err := New(up.URL, Latency(time.Hour).Only("", KindTags))
	if err != nil {
		t.Fatal(err)
	}
	if g := do(t, c, "GET", p.URL()+"/v2/a/blobs/x"); g.code != 200 {
		t.Fatalf("GET: %d %v", g.code, g.err)
	}
	done := make(chan got, 1)
	go func() { done <- do(t, c, "GET", p.URL()+"/v2/a/tags/list") }()
	// Wait until the slow request is in the proxy.
	for i := 0; i < 500 && p.Counts().Kind(KindTags) == 0; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Close took %s", el)
	}
	select {
	case g := <-done:
		if g.err == nil {
			t.Errorf("delayed request answered %d after Close", g.code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("delayed request still pending 5s after Close")
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if g := do(t, c, "GET", p.URL()+"/v2/a/blobs/x"); g.err == nil {
		t.Errorf("GET after Close answered %d", g.code)
	}
	c.CloseIdleConnections()
	up.CloseClientConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestFaultConcurrent: counters stay exact under concurrent clients (run
// with -race).
func TestFaultConcurrent(t *testing.T) {
	up := newUpstream(t)
	p := Start(t, up.URL, ServiceUnavailable(4))
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer c.CloseIdleConnections()
	var wg sync.WaitGroup
	var unavailable atomic.Int64
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 25; j++ {
				resp, err := c.Get(p.URL() + "/v2/a/manifests/x")
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 503 {
					unavailable.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if unavailable.Load() != 50 || p.Counts().Total() != 200 || p.Faults() != 50 {
		t.Errorf("503s %d, requests %d, faults %d; want 50, 200, 50", unavailable.Load(), p.Counts().Total(), p.Faults())
	}
}

func TestFaultNewErrors(t *testing.T) {
	for _, target := range []string{"", "127.0.0.1:5000", "ftp://x", "http://"} {
		if p, err := New(target); err == nil {
			p.Close()
			t.Errorf("New(%q) succeeded", target)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
