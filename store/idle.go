package store

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// The idle-read rule (issue 10, item 4): the transport bounds the wait for
// response headers (smallRequestTimeout), and a response body that then
// makes no progress for the Target's idle period (DefaultIdleTimeout) fails:
// the request is cancelled and the read returns a stallError, which is a
// broken exchange (retry.go), so the call is retried or the download
// resumed like any other broken one. Only a read that waits counts: a body
// that keeps flowing, however slowly and however large, is never cut by
// this rule, and neither is time the caller spends between reads. The
// command as a whole is bounded by --timeout.

// DefaultIdleTimeout is how long a response body may send nothing before
// its read fails.
const DefaultIdleTimeout = 30 * time.Second

// idleWatch is the RoundTripper that gives every response body an idle
// watchdog.
type idleWatch struct {
	inner http.RoundTripper
	idle  time.Duration
}

// RoundTrip sends req with a context the body's watchdog can cancel.
func (w *idleWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	resp, err := w.inner.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &idleBody{body: resp.Body, idle: w.idle, cancel: cancel, what: describeRequest(req)}
	return resp, nil
}

// idleBody is a response body whose reads fail after idle without data.
type idleBody struct {
	body    io.ReadCloser
	idle    time.Duration
	cancel  context.CancelFunc
	what    string
	timer   *time.Timer
	stalled atomic.Bool
}

// Read reads from the body; a read that waits idle or longer cancels the
// request and fails with a stallError.
func (b *idleBody) Read(p []byte) (int, error) {
	if b.stalled.Load() {
		return 0, b.stallError()
	}
	if b.timer == nil {
		b.timer = time.AfterFunc(b.idle, func() {
			b.stalled.Store(true)
			b.cancel()
		})
	} else {
		b.timer.Reset(b.idle)
	}
	n, err := b.body.Read(p)
	if !b.timer.Stop() && b.stalled.Load() {
		return n, b.stallError()
	}
	return n, err
}

// Close closes the body and releases the request's context.
func (b *idleBody) Close() error {
	if b.timer != nil {
		b.timer.Stop()
	}
	err := b.body.Close()
	b.cancel()
	return err
}

func (b *idleBody) stallError() error { return &stallError{what: b.what, idle: b.idle} }

// stallError is a body that sent nothing for the idle period. It is a
// net.Error that timed out, so brokenExchange retries it.
type stallError struct {
	what string
	idle time.Duration
}

func (e *stallError) Error() string {
	return fmt.Sprintf("registry sent no data for %v while reading %s", e.idle, e.what)
}

// Timeout reports true: the registry was too slow.
func (e *stallError) Timeout() bool { return true }

// Temporary reports true: a new attempt may get the data.
func (e *stallError) Temporary() bool { return true }

// describeRequest names what a response body is, for the stall message.
func describeRequest(req *http.Request) string {
	p := req.URL.Path
	rest, api := strings.CutPrefix(p, "/v2/")
	switch {
	case !api:
		return "the answer of " + req.URL.Host + p // token endpoints
	case rest == "":
		return "the registry's API check"
	case strings.Contains(p, "/referrers/"):
		return "the referrers listing"
	case strings.HasSuffix(p, "/tags/list"):
		return "the tag listing"
	case strings.Contains(p, "/blobs/uploads/"):
		return "an upload answer"
	}
	if i := strings.LastIndex(p, "/manifests/"); i >= 0 {
		return "manifest " + p[i+len("/manifests/"):]
	}
	if i := strings.LastIndex(p, "/blobs/"); i >= 0 {
		return "blob " + p[i+len("/blobs/"):]
	}
	return p
}
