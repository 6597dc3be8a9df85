package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// lazyAuth replaces go-containerregistry's up-front handshake
// (transport.NewWithContext pings GET /v2/ before the first real request,
// one sequential round trip on every command; issue 14). It sends the
// command's first request as it is, and only when the registry answers it
// with a 401 challenge does it set up authentication — with
// go-containerregistry's own pieces: the challenge is parsed by
// transport.Ping (fed the 401 we already have, no network), the token is
// fetched by transport.Exchange and the authenticated transport is
// transport.FromToken's (which also refreshes the token on a later 401).
// An anonymous registry then costs no extra round trip at all; one that
// wants credentials costs what the ping did (401, token, request).
//
// Requests run in parallel from the start; when several are challenged at
// once, the first sets up the credentials and the others reuse them.
//
// The scheme: for a registry that may be reached over plain HTTP (loopback,
// or --plain-http), HTTPS is tried first, as go-containerregistry's ping
// does (probeScheme), and a plain-HTTP answer to the TLS handshake switches
// to HTTP for the rest of the command. Every other registry gets no probe:
// private-range addresses (RFC 1918) included, for which
// go-containerregistry would probe and fall back to HTTP — manifesto does
// not talk HTTP to them without --plain-http (httpsOnly), so the probe
// would only cost an HTTPS registry there a round trip. One that answers in
// plain HTTP gets an error that names --plain-http (plainHTTPRefused).
type lazyAuth struct {
	reg    name.Registry
	auth   authn.Authenticator
	scopes []string
	base   http.RoundTripper // below authentication: user agent, watchers, the network

	mu       sync.Mutex
	scheme   string
	authed   http.RoundTripper // nil: no credentials needed so far
	answered bool              // the registry has answered at least once
	tryHTTP  bool              // the scheme may be http: the next request decides
}

// newLazyAuth: httpAllowed says whether plain HTTP may be used for reg at
// all (a loopback host, or --plain-http).
func newLazyAuth(reg name.Registry, auth authn.Authenticator, base http.RoundTripper, scopes []string, httpAllowed bool) *lazyAuth {
	return &lazyAuth{reg: reg, auth: auth, scopes: scopes, base: base, scheme: "https", tryHTTP: httpAllowed && reg.Scheme() == "http"}
}

// hasAnswered reports whether the registry has answered a request.
func (l *lazyAuth) hasAnswered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answered
}

// RoundTrip sends req with the scheme in use and the credentials set up so
// far, setting them up when the registry answers with a challenge.
func (l *lazyAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	l.mu.Lock()
	if l.tryHTTP {
		// The scheme is open: decide it first, the others wait. The
		// probe is a TLS handshake (in a GET /v2/, never the real request,
		// so nothing is sent twice): a plain-HTTP port answers it at once,
		// without reaching the registry's handlers.
		if err := l.probeScheme(req); err != nil {
			l.mu.Unlock()
			return nil, err
		}
	}
	l.mu.Unlock()
	resp, err := l.send(req)
	if err != nil && plainHTTPAnswer(err) {
		return nil, plainHTTPRefused(err)
	}
	return resp, err
}

// plainHTTPRefused is the error for a registry that answered HTTPS in plain
// HTTP where plain HTTP is not to be used (not loopback, no --plain-http):
// httpsOnly's refusal, found out by the answer.
// The registry is named by the caller ("connect to HOST: …") and in err's
// URL.
func plainHTTPRefused(err error) error {
	return errdef.WithClass(fmt.Errorf("the registry answers in plain HTTP; refusing it (use --plain-http if it really has no TLS): %w", err), errdef.ErrUsage)
}

// probeScheme settles the scheme with an HTTPS GET /v2/ (l.mu held).
func (l *lazyAuth) probeScheme(req *http.Request) error {
	u := *req.URL
	u.Scheme, u.Path, u.RawPath, u.RawQuery = "https", "/v2/", "", ""
	probe, err := http.NewRequestWithContext(req.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := l.base.RoundTrip(probe)
	switch {
	case err != nil && plainHTTPAnswer(err):
		l.scheme = "http"
	case err != nil:
		return err
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorDocument))
		resp.Body.Close()
		l.scheme, l.answered = "https", true
	}
	l.tryHTTP = false
	return nil
}

// send sends req with the credentials set up so far, if any.
func (l *lazyAuth) send(req *http.Request) (*http.Response, error) {
	l.mu.Lock()
	authed := l.authed
	l.mu.Unlock()
	rt := authed
	if rt == nil {
		rt = l.schemed()
	}
	resp, err := rt.RoundTrip(l.withScheme(req))
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.answered = true
	l.mu.Unlock()
	return l.answer(req, resp, authed != nil)
}

// answer returns resp, the answer to req, unless it is a challenge to a
// request sent without credentials: then they are set up (once, whichever
// request is challenged first) and req is sent again with them. With
// credentials, a challenge is go-containerregistry's transport's to answer
// (a token refresh), or a refusal.
func (l *lazyAuth) answer(req *http.Request, resp *http.Response, withCredentials bool) (*http.Response, error) {
	if withCredentials || resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		return resp, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.authed != nil {
		// Another request set them up meanwhile.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorDocument))
		resp.Body.Close()
		return l.authed.RoundTrip(l.withScheme(req))
	}
	return l.challenged(req, resp)
}

// schemed is base with requests to the registry set to the scheme in use.
func (l *lazyAuth) schemed() http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return l.base.RoundTrip(l.withScheme(req))
	})
}

// withScheme points a request for the registry at the scheme in use, as
// go-containerregistry's own scheme transport does (in place).
func (l *lazyAuth) withScheme(req *http.Request) *http.Request {
	if req.URL.Host == l.reg.RegistryStr() {
		req.URL.Scheme = l.scheme
	}
	return req
}

// challenged sets up credentials from the 401 answer resp to req and sends
// req again with them (l.mu held).
func (l *lazyAuth) challenged(req *http.Request, resp *http.Response) (*http.Response, error) {
	ch, err := l.challenge(req.Context(), resp)
	if err != nil {
		return nil, err
	}
	authed, err := l.authenticate(req.Context(), ch)
	if err != nil {
		return nil, err
	}
	l.authed = authed
	return authed.RoundTrip(l.withScheme(req))
}

// challenge parses the challenge of a 401 answer with
// go-containerregistry's parser (transport.Ping, fed that answer). resp's
// body is consumed and closed.
func (l *lazyAuth) challenge(ctx context.Context, resp *http.Response) (*transport.Challenge, error) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorDocument))
	resp.Body.Close()
	header := resp.Header.Clone()
	scheme := l.scheme
	fake := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		u := *r.URL
		u.Scheme = scheme
		rr := r.Clone(r.Context())
		rr.URL = &u
		return &http.Response{StatusCode: http.StatusUnauthorized, Header: header.Clone(),
			Body: http.NoBody, Request: rr}, nil
	})
	ch, err := transport.Ping(ctx, l.reg, fake)
	if err != nil {
		return nil, fmt.Errorf("read the registry's authentication challenge: %w", err)
	}
	ch.Insecure = l.scheme == "http"
	return ch, nil
}

// authenticate builds the authenticated transport for challenge ch.
func (l *lazyAuth) authenticate(ctx context.Context, ch *transport.Challenge) (http.RoundTripper, error) {
	inner := transport.NewUserAgent(l.schemed(), "")
	if !strings.EqualFold(ch.Scheme, "bearer") {
		return transport.FromToken(l.reg, l.auth, inner, ch, nil)
	}
	tok, err := transport.Exchange(ctx, l.reg, l.auth, inner, l.scopes, ch)
	if err != nil {
		return nil, err
	}
	if tok.Token == "" {
		tok.Token = tok.AccessToken
	}
	return transport.FromToken(l.reg, l.auth, inner, ch, tok)
}

// plainHTTPAnswer reports whether err is a TLS handshake answered in plain
// HTTP (the server speaks HTTP on that port) or refused as not TLS.
func plainHTTPAnswer(err error) bool {
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return true
	}
	return errors.Is(err, http.ErrSchemeMismatch) || strings.Contains(err.Error(), "first record does not look like a TLS handshake")
}

// roundTripFunc is a function as an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

// RoundTrip calls f.
func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
