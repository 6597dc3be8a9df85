package store

import (
	"net/http"
	"time"

	"github.com/manifesto-dev/manifesto/internal/secret"
)

// Access is what a Target will be used for; it decides the token scopes
// asked of the registry.
type Access int

// Access levels.
const (
	Read Access = iota
	Write
	Delete
)

// Option configures Open.
type Option func(*options)

type options struct {
	username, password string
	plainHTTP          bool
	insecure           bool
	platform           string
	progress           Progress
	userAgent          string
	transport          http.RoundTripper
	now                func() time.Time
	access             Access
	streamThreshold    int64
	secrets            *secret.Set
	idleTimeout        time.Duration
	inlineMax          int64 // InlineMax; tests lower it to reach the blob path
}

// DefaultStreamThreshold is the value size from which a put hashes the
// value while it uploads (one read of the file) rather than before (two
// reads, but an upload skipped when the registry has the blob). Measured on
// a 1 GiB value the hashing pass cost 20% of put throughput
// (bench/RESULTS.md).
const DefaultStreamThreshold = 64 << 20

func makeOptions(opts []Option) *options {
	o := &options{now: time.Now, userAgent: "manifesto", streamThreshold: DefaultStreamThreshold, idleTimeout: DefaultIdleTimeout, inlineMax: InlineMax}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithAuth sets explicit registry credentials instead of the keychains.
func WithAuth(username, password string) Option {
	return func(o *options) { o.username, o.password = username, password }
}

// WithPlainHTTP talks HTTP instead of HTTPS to the registry. Loopback
// registries (localhost, 127.0.0.1) use HTTP without it.
func WithPlainHTTP(on bool) Option { return func(o *options) { o.plainHTTP = on } }

// WithInsecure skips TLS certificate verification.
func WithInsecure(on bool) Option { return func(o *options) { o.insecure = on } }

// WithPlatform picks the platform manifest ("os/arch[/variant]") of an
// image index as the subject.
func WithPlatform(p string) Option { return func(o *options) { o.platform = p } }

// WithProgress reports value transfers.
func WithProgress(p Progress) Option { return func(o *options) { o.progress = p } }

// WithUserAgent sets the User-Agent sent to registries.
func WithUserAgent(ua string) Option {
	return func(o *options) {
		if ua != "" {
			o.userAgent = ua
		}
	}
}

// WithTransport replaces the base HTTP transport (tests, proxies).
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// WithClock sets the clock used for created times.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithAccess declares what the Target will be used for (default Read).
func WithAccess(a Access) Option { return func(o *options) { o.access = a } }

// WithStreamThreshold sets the value size (bytes) from which a put hashes
// the value while it uploads instead of before; the default is
// DefaultStreamThreshold. 0 streams every value; a negative n keeps the
// default.
func WithStreamThreshold(n int64) Option {
	return func(o *options) {
		if n >= 0 {
			o.streamThreshold = n
		}
	}
}

// WithSecrets is the run's secret registry: the store adds every credential
// it sends to a registry (bearer tokens handed out, Basic credentials from
// a keychain) so that they are redacted wherever they would be printed.
func WithSecrets(s *secret.Set) Option { return func(o *options) { o.secrets = s } }

// WithIdleTimeout sets how long a registry response body may send nothing
// before the read fails (retryable); the default is DefaultIdleTimeout. A
// d ≤ 0 keeps the default.
func WithIdleTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.idleTimeout = d
		}
	}
}
