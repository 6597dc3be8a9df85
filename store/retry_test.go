package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// TestRetryClasses: a retryable failure is tried retryAttempts times in
// all and comes back unmarked; any other failure ends the call at once; a
// context that ends during a pause ends the call with its error.
func TestRetryClasses(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	t.Run("retryable", func(t *testing.T) {
		t.Parallel()
		calls := 0
		err := retry(context.Background(), func() error { calls++; return retryLater(boom, 0) })
		if calls != retryAttempts || err != boom { //nolint:errorlint // the mark must be gone, not wrapped
			t.Errorf("%d calls, err %#v; want %d calls and the unmarked error", calls, err, retryAttempts)
		}
	})
	t.Run("succeeds after a retry", func(t *testing.T) {
		t.Parallel()
		calls := 0
		err := retry(context.Background(), func() error {
			if calls++; calls < 2 {
				return retryLater(boom, 0)
			}
			return nil
		})
		if calls != 2 || err != nil {
			t.Errorf("%d calls, err %v", calls, err)
		}
	})
	t.Run("not retryable", func(t *testing.T) {
		t.Parallel()
		calls := 0
		err := retry(context.Background(), func() error { calls++; return fmt.Errorf("wrapped: %w", retryLater(boom, 0)) })
		if calls != 1 || !errors.Is(err, boom) {
			t.Errorf("%d calls, err %v: only the attempt's own mark retries", calls, err)
		}
	})
	t.Run("context ends during the pause", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		time.AfterFunc(50*time.Millisecond, cancel)
		calls := 0
		start := time.Now()
		err := retry(ctx, func() error { calls++; return retryLater(boom, time.Hour) })
		if calls != 1 || !errors.Is(err, context.Canceled) || time.Since(start) > time.Minute {
			t.Errorf("%d calls, err %v after %v", calls, err, time.Since(start))
		}
	})
	t.Run("context already ended", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		calls := 0
		err := retry(ctx, func() error { calls++; return retryLater(boom, 0) })
		if calls != 1 || err != boom { //nolint:errorlint // the mark must be gone, not wrapped
			t.Errorf("%d calls, err %v", calls, err)
		}
	})
}

// TestRetryPredicates pins which failures each class retries.
func TestRetryPredicates(t *testing.T) {
	t.Parallel()
	status := func(code int) error { return &transport.Error{StatusCode: code} }
	for _, code := range []int{http.StatusRequestTimeout, http.StatusTooManyRequests, 500, 502, 503, 504} {
		if !retryableStatus(code) || !retryableUpload(status(code)) {
			t.Errorf("status %d is not retried", code)
		}
	}
	for _, code := range []int{400, 401, 403, 404, 405, 409, 413} {
		if retryableStatus(code) || retryableUpload(status(code)) {
			t.Errorf("status %d is retried", code)
		}
	}
	if !refusedForNow(429) || !refusedForNow(503) || refusedForNow(500) {
		t.Error("refusedForNow is not exactly 429 and 503")
	}
	for _, err := range []error{errdef.Usagef("bad"), invalidf("lie"), classify(status(404))} {
		if retryableUpload(err) {
			t.Errorf("upload failure %v is retried", err)
		}
	}
	if !retryableUpload(errors.New("connection reset")) {
		t.Error("an unclassified upload failure is not retried")
	}
}
