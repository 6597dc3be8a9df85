package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// readSlow GETs url with ctx and reads the body to its end, reporting each
// piece's arrival.
func readSlow(ctx context.Context, t *testing.T, url string) (code int, hdr http.Header, b []byte, pieces int, err error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client().Do(req)
	if err != nil {
		return 0, nil, nil, 0, err
	}
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			pieces++
			b = append(b, buf[:n]...)
		}
		if rerr == io.EOF {
			return resp.StatusCode, resp.Header, b, pieces, nil
		}
		if rerr != nil {
			return resp.StatusCode, resp.Header, b, pieces, rerr
		}
	}
}

// TestFaultStall: the headers and Keep bytes arrive, then nothing until the
// client gives up; the proxy notices and its handler ends (Close is quick).
func TestFaultStall(t *testing.T) {
	up := newUpstream(t)
	p := Start(t, up.URL, StallBodies(10).Only("GET", KindBlobs).Times(1))
	// HEAD has no body and does not count.
	do(t, client(), "HEAD", p.URL()+"/v2/a/blobs/x")

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	code, hdr, b, _, err := readSlow(ctx, t, p.URL()+"/v2/a/blobs/x")
	if code != 200 || !errors.Is(err, context.DeadlineExceeded) || len(b) != 10 {
		t.Fatalf("stalled GET: %d %v, %d bytes; want 200, the client's deadline after 10 bytes", code, err, len(b))
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Errorf("stalled GET ended after %s, before the client's deadline", time.Since(start))
	}
	if !bytes.Equal(b, body("/v2/a/blobs/x")[:10]) {
		t.Errorf("stalled body is not a prefix: %q", b)
	}
	if hdr.Get("Content-Length") != strconv.Itoa(bodySize) {
		t.Errorf("Content-Length = %q, want the upstream's", hdr.Get("Content-Length"))
	}
	// Times(1): the next one is whole.
	if g := do(t, client(), "GET", p.URL()+"/v2/a/blobs/x"); g.err != nil || len(g.body) != bodySize {
		t.Errorf("second GET: %v, %d bytes", g.err, len(g.body))
	}
	recs := p.Records()
	if len(recs) != 3 || recs[1].Fault != "stall of GET blobs" || recs[2].Fault != "" {
		t.Errorf("records = %v", recs)
	}
	// The stalled handler has seen the client go: Close does not wait.
	start = time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Close took %s", el)
	}
}

// TestFaultStallBounded: a stall ends after Rule.Latency by closing the
// connection (the client sees an unexpected EOF), the whole body is never
// sent even when Keep asks for it, and Close ends a pending stall at once.
func TestFaultStallBounded(t *testing.T) {
	up := newUpstream(t)
	r := StallBodies(bodySize)
	r.Latency = 200 * time.Millisecond
	p := Start(t, up.URL, r.Matching(regexp.MustCompile(`/bounded$`)), StallBodies(0).Matching(regexp.MustCompile(`/forever$`)))
	start := time.Now()
	_, _, b, _, err := readSlow(context.Background(), t, p.URL()+"/v2/a/blobs/bounded")
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(b) != bodySize-1 {
		t.Errorf("bounded stall: %v, %d bytes; want unexpected EOF after %d", err, len(b), bodySize-1)
	}
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("bounded stall ended after %s, before its 200ms", el)
	}

	done := make(chan error, 1)
	go func() {
		_, _, b, _, err := readSlow(context.Background(), t, p.URL()+"/v2/a/blobs/forever")
		if len(b) != 0 {
			err = errors.New("got body bytes")
		}
		done <- err
	}()
	for i := 0; i < 500 && p.Faults() < 2; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	start = time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Close took %s", el)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("stalled GET completed after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stalled GET still pending 5s after Close")
	}
}

// TestFaultTrickle: the whole body arrives, in Keep-byte pieces with a
// pause before each; other responses are untouched.
func TestFaultTrickle(t *testing.T) {
	up := newUpstream(t)
	p := Start(t, up.URL, TrickleBodies(100, 20*time.Millisecond).Only("GET", KindBlobs))
	start := time.Now()
	code, hdr, b, pieces, err := readSlow(context.Background(), t, p.URL()+"/v2/a/blobs/x")
	if err != nil || code != 200 || !bytes.Equal(b, body("/v2/a/blobs/x")) {
		t.Fatalf("trickled GET: %d %v, %d bytes; want the whole body", code, err, len(b))
	}
	if pieces < bodySize/100 {
		t.Errorf("body came in %d pieces, want at least %d", pieces, bodySize/100)
	}
	if el := time.Since(start); el < bodySize/100*20*time.Millisecond {
		t.Errorf("trickled GET took %s, want at least %s", el, bodySize/100*20*time.Millisecond)
	}
	if hdr.Get("Content-Length") != strconv.Itoa(bodySize) {
		t.Errorf("Content-Length = %q", hdr.Get("Content-Length"))
	}
	if g := do(t, client(), "GET", p.URL()+"/v2/a/manifests/x"); g.err != nil || len(g.body) != bodySize {
		t.Errorf("manifest GET: %v, %d bytes", g.err, len(g.body))
	}
	if recs := p.Records(); len(recs) != 2 || recs[0].Fault != "trickle 20ms of GET blobs" || recs[1].Fault != "" {
		t.Errorf("records = %v", recs)
	}
}

// TestFaultTrickleClientGone: a client that gives up mid-trickle ends the
// handler (Close is quick).
func TestFaultTrickleClientGone(t *testing.T) {
	up := newUpstream(t)
	p := Start(t, up.URL, TrickleBodies(1, 50*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, _, b, _, err := readSlow(ctx, t, p.URL()+"/v2/a/blobs/x")
	if !errors.Is(err, context.DeadlineExceeded) || len(b) == 0 || len(b) >= bodySize {
		t.Fatalf("GET: %v, %d bytes; want the client's deadline mid-body", err, len(b))
	}
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Close took %s", el)
	}
}
