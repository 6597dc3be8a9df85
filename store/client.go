package store

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/authn/github"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// manifestAccept lists every manifest type a subject can be.
const manifestAccept = string(types.OCIManifestSchema1) + ", " +
	string(types.OCIImageIndex) + ", " +
	string(types.DockerManifestSchema2) + ", " +
	string(types.DockerManifestList)

// registryClient is the HTTP side of the store: one repository on one
// registry, with an authenticated client. It speaks the OCI distribution
// API directly so that every round trip is one we chose; every call goes
// through retry (retry.go).
type registryClient struct {
	repo   name.Repository
	client *http.Client
	scheme string
	auth   *lazyAuth
}

// connectErr names the registry as unreached when it has not answered yet:
// the first request of a command is also its connection.
func (r *registryClient) connectErr(err error) error {
	if err == nil || r.auth == nil || r.auth.hasAnswered() {
		return err
	}
	return fmt.Errorf("connect to %s: %w", r.repo.RegistryStr(), err)
}

// newRegistry authenticates to ref's registry for the given scope
// (transport.PullScope, PushScope, DeleteScope).
func newRegistry(_ context.Context, ref name.Reference, o *options, scope string) (*registryClient, error) {
	repo := ref.Context()
	auth, err := o.authenticator(repo)
	if err != nil {
		return nil, err
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.ResponseHeaderTimeout = smallRequestTimeout
	if o.insecure {
		base.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for --insecure
	}
	var rt http.RoundTripper = base
	if o.transport != nil {
		rt = o.transport
	}
	rt = &idleWatch{inner: rt, idle: o.idleTimeout}
	// go-containerregistry falls back to plain HTTP on its own for
	// private-range addresses (RFC 1918); manifesto talks HTTP only to
	// loopback registries or when --plain-http says so.
	rt = &httpsOnly{inner: rt, allowHTTP: o.plainHTTP}
	rt = &authWatch{inner: rt, secrets: o.secrets}
	rt = transport.NewUserAgent(rt, o.userAgent)
	// No handshake here: authentication is set up by the first request's
	// challenge, if any (lazyauth.go).
	la := newLazyAuth(repo.Registry, auth, rt, []string{repo.Scope(scope)}, o.plainHTTP || isLoopbackHost(registryHost(repo.Registry)))
	return &registryClient{repo: repo, client: &http.Client{Transport: la}, scheme: repo.Scheme(), auth: la}, nil
}

// authenticator picks explicit credentials, else the default keychain
// (Docker config, credential helpers, Podman auth file) and GitHub's.
func (o *options) authenticator(repo name.Repository) (authn.Authenticator, error) {
	if o.username != "" || o.password != "" {
		return &authn.Basic{Username: o.username, Password: o.password}, nil
	}
	kc := authn.NewMultiKeychain(authn.DefaultKeychain, github.Keychain)
	a, err := kc.Resolve(repo)
	if err != nil {
		return nil, fmt.Errorf("read registry credentials for %s: %w", repo.RegistryStr(), err)
	}
	return a, nil
}

// httpsOnly refuses plain-HTTP requests to hosts other than loopback ones
// unless plain HTTP was asked for, so that a registry is never reached
// unencrypted by accident.
type httpsOnly struct {
	inner     http.RoundTripper
	allowHTTP bool
}

// RoundTrip refuses a plain-HTTP request that is not allowed with an
// ErrUsage-class error, before any connection; other requests go on.
func (h *httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !h.allowHTTP && !isLoopbackHost(req.URL.Hostname()) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errdef.WithClass(fmt.Errorf("refusing plain HTTP to %s (use --plain-http if the registry really has no TLS)", req.URL.Host), errdef.ErrUsage)
	}
	return h.inner.RoundTrip(req)
}

// registryHost is reg's host name, without port or IPv6 brackets.
func registryHost(reg name.Registry) string {
	return (&url.URL{Host: reg.RegistryStr()}).Hostname()
}

func isLoopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// url is the API URL of ref under kind ("manifests", "blobs", "referrers")
// in the repository.
func (r *registryClient) url(kind, ref string) string {
	return fmt.Sprintf("%s://%s/v2/%s/%s/%s", r.scheme, r.repo.RegistryStr(), r.repo.RepositoryStr(), kind, ref)
}

// request is one small, repeatable HTTP exchange.
type request struct {
	method string
	url    string
	body   []byte
	header map[string]string
	ok     []int // accepted status codes
	// limit > 0 reads the body (at most limit bytes) inside the retry
	// loop; the returned response's Body is the bytes read.
	limit int64
	what  string
	// check validates a read body; an error it marks with retryLater is
	// retried (content cut short by the network), any other ends the call.
	check func(resp *http.Response, b []byte) error
}

// do runs a small request through retry and returns the response for an
// accepted status; the caller closes its body. Other statuses become
// classified errors. Retried: broken exchanges, retryable statuses (after
// Retry-After), and content a check marked.
func (r *registryClient) do(ctx context.Context, q request) (*http.Response, error) {
	var out *http.Response
	err := retry(ctx, func() error {
		resp, err := r.once(ctx, q)
		if err != nil {
			if brokenExchange(err) {
				return retryLater(err, 0)
			}
			return err
		}
		if !slices.Contains(q.ok, resp.StatusCode) {
			err := transport.CheckError(resp, q.ok...)
			resp.Body.Close()
			if retryableStatus(resp.StatusCode) {
				return retryLater(err, retryAfter(resp))
			}
			return err
		}
		if q.limit <= 0 || resp.Request.Method == http.MethodHead {
			out = resp
			return nil
		}
		if resp.ContentLength > q.limit {
			resp.Body.Close()
			return invalidf("%s is %d bytes, more than the %d allowed", q.what, resp.ContentLength, q.limit)
		}
		b, err := readCappedSized(resp.Body, q.limit, resp.ContentLength, q.what)
		resp.Body.Close()
		if err != nil {
			if brokenExchange(err) {
				return retryLater(err, 0)
			}
			return err
		}
		if q.check != nil {
			if err := q.check(resp, b); err != nil {
				return err
			}
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		out = resp
		return nil
	})
	if err != nil {
		return nil, classify(err)
	}
	return out, nil
}

func (r *registryClient) once(ctx context.Context, q request) (*http.Response, error) {
	var body io.Reader
	if q.body != nil {
		body = bytes.NewReader(q.body)
	}
	req, err := http.NewRequestWithContext(ctx, q.method, q.url, body)
	if err != nil {
		return nil, err
	}
	for k, v := range q.header {
		req.Header.Set(k, v)
	}
	return r.client.Do(req)
}

// classify tags registry errors with the error class the exit code needs.
func classify(err error) error {
	if err == nil {
		return nil
	}
	err = cutRegistryError(err)
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return errdef.WithClass(err, errdef.ErrUnauthorized)
		case http.StatusNotFound:
			return errdef.WithClass(err, errdef.ErrNotFound)
		}
	}
	return err
}

// readCapped reads at most limit bytes of body; more is an error.
func readCapped(body io.Reader, limit int64, what string) ([]byte, error) {
	return readCappedSized(body, limit, -1, what)
}

// readCappedSized is readCapped for a body announced as size bytes (-1:
// unknown), read into one buffer of that size when it is within limit.
func readCappedSized(body io.Reader, limit, size int64, what string) ([]byte, error) {
	var buf bytes.Buffer
	if size > 0 && size <= limit {
		buf.Grow(int(size) + 1)
	}
	_, err := buf.ReadFrom(io.LimitReader(body, limit+1))
	b := buf.Bytes()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if int64(len(b)) > limit {
		return nil, invalidf("%s is larger than %d bytes", what, limit)
	}
	return b, nil
}

// mediaTypeOnly is a Content-Type without its parameters.
func mediaTypeOnly(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.TrimSpace(ct)
}

// documentMediaType reads the mediaType field of a manifest or index.
func documentMediaType(b []byte) types.MediaType {
	var probe struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	_ = json.Unmarshal(b, &probe)
	return probe.MediaType
}
