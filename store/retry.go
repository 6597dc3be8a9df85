package store

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// The retry policy, the one place that says how often and how long every
// registry call is tried again. A call is one attempt function run by
// retry; the attempt says whether its failure is worth another try by
// returning it marked with retryLater, and every other error ends the call
// at once. The predicates below are the retry classes the attempts use.
//
// Small requests (manifests, indexes, tags, upload starts) are retried on
// broken exchanges, 408, 429 and 5xx; a blob upload is retried as a whole
// (a new upload) unless the registry refused it for good; a blob download
// resumes from where it broke. The fallback index's merge loop is an
// algorithm with its own bound (mergeAttempts, mergeDeadline) that pauses
// with contentionPause.
const (
	// retryAttempts is how many times one call is tried in all.
	retryAttempts = 4
	// retryBase is the first backoff; each further one doubles it, with
	// jitter (backoff).
	retryBase = 200 * time.Millisecond
	// maxRetryAfter caps the wait a 429 or 503 may ask for.
	maxRetryAfter = 10 * time.Second
	// smallRequestTimeout bounds the wait for response headers.
	smallRequestTimeout = 60 * time.Second
)

// retryableError is the retryable class: an attempt failed in a way a new
// attempt may cure. after is the wait the registry asked for (Retry-After),
// 0 when none. Every error not of this type is the non-retryable class.
type retryableError struct {
	err   error
	after time.Duration
}

// Error is the attempt's error message.
func (e *retryableError) Error() string { return e.err.Error() }

// Unwrap returns the attempt's error.
func (e *retryableError) Unwrap() error { return e.err }

// retryLater marks err, the failure of one attempt, as retryable after at
// least the wait after (0: the backoff alone).
func retryLater(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryableError{err: err, after: after}
}

// retry runs attempt up to retryAttempts times while it fails with an
// error marked by retryLater (the mark must be the error itself, not
// wrapped), pausing between attempts; it honours ctx. It returns nil, the
// first non-retryable error, the last retryable one unmarked, or ctx's
// error when ctx ends during a pause.
func retry(ctx context.Context, attempt func() error) error {
	for n := 1; ; n++ {
		err := attempt()
		re, ok := err.(*retryableError) //nolint:errorlint // the mark is the attempt's own verdict, never a wrapped one
		if !ok {
			return err
		}
		if n >= retryAttempts || ctx.Err() != nil {
			return re.err
		}
		if err := pause(ctx, n, re.after); err != nil {
			return err
		}
	}
}

// pause waits before retry number n (1 for the first retry): the backoff
// for n, or after when the registry asked for longer.
func pause(ctx context.Context, n int, after time.Duration) error {
	return sleep(ctx, max(backoff(n), after))
}

// backoff is the jittered exponential backoff before retry n (n ≥ 1):
// between half and one and a half times retryBase·2^(n-1).
func backoff(n int) time.Duration {
	d := retryBase << (n - 1)
	return d/2 + rand.N(d)
}

// contentionPause is the short jittered pause of the fallback index's merge
// loop before its attempt n (n ≥ 2): writers racing on one tag let each
// other land. Correctness never rests on it, only contention does.
func contentionPause(ctx context.Context, n int) error {
	return sleep(ctx, time.Duration(10+rand.N(40*n))*time.Millisecond)
}

// sleep waits d or until ctx ends, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// brokenExchange is the retry class of a request that failed on the way:
// a network error (every error of http.Client.Do is one, except those
// carrying an errdef class) or a body that ended early.
func brokenExchange(err error) bool {
	// A refusal raised on the way out (plain HTTP refused, a challenged
	// body that cannot be sent again) is wrapped in a *url.Error, a
	// net.Error, but no new attempt changes it.
	if errors.Is(err, errdef.ErrUsage) || errors.Is(err, errdef.ErrUnauthorized) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// retryableStatus is the retry class of a registry answer: 408, 429 and
// every 5xx.
func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// refusedForNow is the class of an upload answer that refused the request
// whole and asks for it again (429, 503): the same upload is sent again.
func refusedForNow(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable
}

// retryableUpload is the class of a failed blob upload attempt, which a new
// upload may cure unless the registry refused it for good (a status outside
// retryableStatus), the request itself is wrong (ErrUsage) or the registry
// answered nonsense (ErrInvalidResponse, never retried).
func retryableUpload(err error) bool {
	var terr *transport.Error
	if errors.As(err, &terr) && !retryableStatus(terr.StatusCode) {
		return false
	}
	return !errors.Is(err, errdef.ErrUsage) && !errors.Is(err, errdef.ErrInvalidResponse)
}

// retryAfter is the wait a 429 or 503 asks for (Retry-After in seconds),
// capped at maxRetryAfter; 0 when none.
func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	secs, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
	if err != nil || secs <= 0 {
		return 0
	}
	return min(time.Duration(secs)*time.Second, maxRetryAfter)
}
