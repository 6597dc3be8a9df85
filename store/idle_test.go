package store

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestIdleRead (issue 10, item 4): a body that stops sending fails after the
// idle period, retryably (every attempt is made) and naming what stalled; a
// body that keeps trickling is never cut, however long it takes.
func TestIdleRead(t *testing.T) {
	t.Parallel()
	const idle = 200 * time.Millisecond
	// stall sends the first byte of the real answer, then nothing until
	// the client gives up (bounded by a few seconds).
	stall := func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/referrers/") {
			w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
		}
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("{"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	cases := []struct {
		name string
		// match picks the requests to slow down.
		match func(r *http.Request) bool
		// slow answers them; nil stalls.
		slow     func(l *liar, w http.ResponseWriter, r *http.Request)
		op       func(tg *Target) error
		wantErr  string // "" for success
		attempts int64  // requests matched, 0: unchecked
	}{
		{
			name:     "stalled referrers listing",
			match:    func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/referrers/") },
			op:       func(tg *Target) error { _, err := tg.List(context.Background()); return err },
			wantErr:  "registry sent no data for 200ms while reading the referrers listing",
			attempts: retryAttempts,
		},
		{
			name: "stalled value download",
			match: func(r *http.Request) bool {
				return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/")
			},
			op:       readK,
			wantErr:  "registry sent no data for 200ms while reading blob sha256:",
			attempts: retryAttempts + 1, // the download and its resumes
		},
		{
			// 10 bytes, one every 50 ms: half a second in all, more
			// than the idle period, but never idle.
			name: "trickling value download",
			match: func(r *http.Request) bool {
				return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/")
			},
			slow: func(l *liar, w http.ResponseWriter, r *http.Request) {
				rec := &bufferedWriter{header: http.Header{}}
				l.inner.ServeHTTP(rec, r)
				for k, v := range rec.header {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.code)
				for _, c := range rec.body.Bytes() {
					time.Sleep(idle / 4)
					w.Write([]byte{c})
					w.(http.Flusher).Flush()
				}
			},
			op: readK,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, image, _ := newLiar(t)
			var n atomic.Int64
			l.set(func(w http.ResponseWriter, r *http.Request) bool {
				if !tc.match(r) {
					return false
				}
				n.Add(1)
				if tc.slow != nil {
					tc.slow(l, w, r)
				} else {
					stall(w, r)
				}
				return true
			})
			err := tc.op(open(t, image, WithIdleTimeout(idle)))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if tc.attempts > 0 && n.Load() != tc.attempts {
				t.Errorf("%d requests, want %d (the stall is retryable)", n.Load(), tc.attempts)
			}
		})
	}
}

// bufferedWriter records a handler's answer.
type bufferedWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferedWriter) WriteHeader(code int) { b.code = code }
