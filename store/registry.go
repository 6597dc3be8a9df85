package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/authn/github"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// manifestAccept lists every manifest type a subject can be.
var manifestAccept = strings.Join([]string{
	string(types.OCIManifestSchema1),
	string(types.OCIImageIndex),
	string(types.DockerManifestSchema2),
	string(types.DockerManifestList),
}, ", ")

// Request bounds. Small requests (manifests, indexes, tags) are retried on
// network errors, 429 and 5xx with jittered backoff; blob transfers are
// retried as a whole by their callers.
const (
	smallRequestTimeout = 60 * time.Second
	retryAttempts       = 4
	retryBase           = 200 * time.Millisecond
)

// registry is the HTTP side of the store: one repository on one registry,
// with an authenticated client. It speaks the OCI distribution API directly
// so that every round trip is one we chose.
type registryClient struct {
	repo   name.Repository
	client *http.Client
	scheme string
}

// newRegistry authenticates to ref's registry for the given scopes
// (transport.PullScope, PushScope, DeleteScope).
func newRegistry(ctx context.Context, ref name.Reference, o *options, scope string) (*registryClient, error) {
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
	// go-containerregistry falls back to plain HTTP on its own for
	// private-range addresses (RFC 1918); manifesto talks HTTP only to
	// loopback registries or when --plain-http says so.
	rt = &httpsOnly{inner: rt, allowHTTP: o.plainHTTP}
	rt = transport.NewUserAgent(rt, o.userAgent)
	var t http.RoundTripper
	for attempt := 0; ; attempt++ {
		t, err = transport.NewWithContext(ctx, repo.Registry, auth, rt, []string{repo.Scope(scope)})
		if err == nil || attempt+1 >= retryAttempts || ctx.Err() != nil || !retryablePing(err) {
			break
		}
		if serr := sleep(ctx, backoff(attempt+1)); serr != nil {
			return nil, serr
		}
	}
	if err != nil {
		return nil, classify(fmt.Errorf("connect to %s: %w", repo.RegistryStr(), err))
	}
	return &registryClient{repo: repo, client: &http.Client{Transport: t}, scheme: repo.Scheme()}, nil
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

func (h *httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !h.allowHTTP && !isLoopbackHost(req.URL.Hostname()) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errdef.WithClass(fmt.Errorf("refusing plain HTTP to %s (use --plain-http if the registry really has no TLS)", req.URL.Host), errdef.ErrUsage)
	}
	return h.inner.RoundTrip(req)
}

func isLoopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

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
	// check validates a read body; an error wrapping errRetryContent is
	// retried.
	check func(resp *http.Response, b []byte) error
}

// do runs a small request with bounded retries and returns the response for
// an accepted status; the caller closes its body. Other statuses become
// classified errors.
func (r *registryClient) do(ctx context.Context, q request) (*http.Response, error) {
	var lastErr error
	var wait time.Duration
	for attempt := 0; attempt < retryAttempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, max(backoff(attempt), wait)); err != nil {
				return nil, err
			}
		}
		wait = 0
		resp, err := r.once(ctx, q)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil || !retryable(err) {
				break
			}
			continue
		}
		accepted := false
		for _, c := range q.ok {
			if resp.StatusCode == c {
				accepted = true
			}
		}
		if !accepted {
			err = transport.CheckError(resp, q.ok...)
			resp.Body.Close()
			lastErr = err
			wait = retryAfter(resp)
			if !retryableStatus(resp.StatusCode) {
				break
			}
			continue
		}
		if q.limit <= 0 || resp.Request.Method == http.MethodHead {
			return resp, nil
		}
		if resp.ContentLength > q.limit {
			resp.Body.Close()
			return nil, invalidf("%s is %d bytes, more than the %d allowed", q.what, resp.ContentLength, q.limit)
		}
		b, err := readCapped(resp.Body, q.limit, q.what)
		resp.Body.Close()
		if err == nil && q.check != nil {
			err = q.check(resp, b)
		}
		if err != nil {
			lastErr = err
			if ctx.Err() != nil || !(retryable(err) || errors.Is(err, errRetryContent)) {
				break
			}
			continue
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return resp, nil
	}
	return nil, classify(lastErr)
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

func backoff(attempt int) time.Duration {
	d := retryBase << (attempt - 1)
	return d/2 + rand.N(d)
}

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

func retryable(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// retryablePing: the ping failed with a retryable status or a broken
// connection (not a TLS or DNS error, which a retry will not fix).
func retryablePing(err error) bool {
	var terr *transport.Error
	if errors.As(err, &terr) {
		return retryableStatus(terr.StatusCode)
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
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

const maxRetryAfter = 10 * time.Second

// errRetryContent marks content that failed a check and may be fetched
// again (a body cut short by the network).
var errRetryContent = errors.New("retryable content")

type retryContentError struct{ error }

func (e retryContentError) Unwrap() error        { return e.error }
func (e retryContentError) Is(target error) bool { return target == errRetryContent }

func retryContent(err error) error { return retryContentError{err} }

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// classify tags registry errors with the error class the exit code needs.
func classify(err error) error {
	if err == nil {
		return nil
	}
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
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if int64(len(b)) > limit {
		return nil, invalidf("%s is larger than %d bytes", what, limit)
	}
	return b, nil
}

// headManifest returns the descriptor the registry reports for ref (tag or
// digest), or an ErrNotFound-class error.
func (r *registryClient) headManifest(ctx context.Context, ref string) (v1.Descriptor, error) {
	resp, err := r.do(ctx, request{method: http.MethodHead, url: r.url("manifests", ref),
		header: map[string]string{"Accept": manifestAccept}, ok: []int{http.StatusOK}})
	if err != nil {
		return v1.Descriptor{}, err
	}
	resp.Body.Close()
	d := v1.Descriptor{MediaType: types.MediaType(mediaTypeOnly(resp.Header.Get("Content-Type"))), Size: resp.ContentLength}
	if h, err := v1.NewHash(resp.Header.Get("Docker-Content-Digest")); err == nil {
		d.Digest = h
	}
	return d, nil
}

// getManifest fetches ref (tag or digest) with a size cap and returns its
// bytes and descriptor. The digest is computed from the bytes; when ref is a
// digest or the registry states one, a mismatch is an error.
func (r *registryClient) getManifest(ctx context.Context, ref string, accept string, limit int64) ([]byte, v1.Descriptor, error) {
	check := func(resp *http.Response, b []byte) error {
		h, _, _ := v1.SHA256(bytes.NewReader(b))
		if want, err := v1.NewHash(ref); err == nil && want != h {
			return retryContent(invalidf("registry returned content with digest %s for %s", h, want))
		}
		if stated, err := v1.NewHash(resp.Header.Get("Docker-Content-Digest")); err == nil && stated.Algorithm == "sha256" && stated != h {
			return retryContent(invalidf("registry stated digest %s for %s but the content hashes to %s", stated, ref, h))
		}
		return nil
	}
	resp, err := r.do(ctx, request{method: http.MethodGet, url: r.url("manifests", ref),
		header: map[string]string{"Accept": accept}, ok: []int{http.StatusOK},
		limit: limit, what: "manifest " + ref, check: check})
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	h, n, _ := v1.SHA256(bytes.NewReader(b))
	mt := types.MediaType(mediaTypeOnly(resp.Header.Get("Content-Type")))
	if inDoc := documentMediaType(b); inDoc != "" {
		mt = inDoc
	}
	return b, v1.Descriptor{MediaType: mt, Digest: h, Size: n}, nil
}

// putManifest stores b under ref (digest or tag). subjectAck reports whether
// the registry answered with OCI-Subject, i.e. maintains the referrers list
// itself.
func (r *registryClient) putManifest(ctx context.Context, ref string, mediaType types.MediaType, b []byte) (subjectAck bool, err error) {
	resp, err := r.do(ctx, request{method: http.MethodPut, url: r.url("manifests", ref), body: b,
		header: map[string]string{"Content-Type": string(mediaType)}, ok: []int{http.StatusCreated, http.StatusOK, http.StatusAccepted}})
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	want, _, _ := v1.SHA256(bytes.NewReader(b))
	if stated, err := v1.NewHash(resp.Header.Get("Docker-Content-Digest")); err == nil && stated.Algorithm == "sha256" && stated != want {
		return false, invalidf("registry stored manifest %s under digest %s", want, stated)
	}
	return resp.Header.Get("OCI-Subject") != "", nil
}

// deleteManifest deletes a manifest by digest, or a tag by name. One
// already gone counts as deleted.
func (r *registryClient) deleteManifest(ctx context.Context, ref string) error {
	resp, err := r.do(ctx, request{method: http.MethodDelete, url: r.url("manifests", ref),
		ok: []int{http.StatusAccepted, http.StatusOK, http.StatusNoContent, http.StatusNotFound}})
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && (terr.StatusCode == http.StatusMethodNotAllowed || terr.StatusCode == http.StatusUnsupportedMediaType) {
			return fmt.Errorf("the registry does not allow deleting manifests (%d): %w", terr.StatusCode, err)
		}
		return err
	}
	resp.Body.Close()
	return nil
}

// hasBlob reports whether the repository has blob h.
func (r *registryClient) hasBlob(ctx context.Context, h v1.Hash) (bool, error) {
	resp, err := r.do(ctx, request{method: http.MethodHead, url: r.url("blobs", h.String()),
		ok: []int{http.StatusOK, http.StatusNotFound}})
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// pushBlob uploads a blob monolithically (POST, then one streaming PUT).
// open returns a fresh reader of the content; it is called again if the
// upload is retried.
func (r *registryClient) pushBlob(ctx context.Context, d v1.Descriptor, open func() (io.ReadCloser, error)) error {
	var lastErr error
	for attempt := 0; attempt < retryAttempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return err
			}
		}
		err := r.pushBlobOnce(ctx, d, open)
		if err == nil {
			return nil
		}
		lastErr = err
		var terr *transport.Error
		if ctx.Err() != nil || (errors.As(err, &terr) && !retryableStatus(terr.StatusCode)) || errors.Is(err, errdef.ErrUsage) {
			break
		}
	}
	return classify(lastErr)
}

func (r *registryClient) pushBlobOnce(ctx context.Context, d v1.Descriptor, open func() (io.ReadCloser, error)) error {
	start := fmt.Sprintf("%s://%s/v2/%s/blobs/uploads/", r.scheme, r.repo.RegistryStr(), r.repo.RepositoryStr())
	resp, err := r.do(ctx, request{method: http.MethodPost, url: start, ok: []int{http.StatusAccepted}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return invalidf("registry gave no usable upload location")
	}
	q := loc.Query()
	q.Set("digest", d.Digest.String())
	loc.RawQuery = q.Encode()

	// A PUT the registry answered 429 or 503 was refused whole: send it
	// again to the same upload (after Retry-After) rather than starting a
	// new one. Anything else starts over (the caller's loop).
	var put *http.Response
	for attempt := 0; ; attempt++ {
		body, err := open()
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, loc.String(), body)
		if err != nil {
			body.Close()
			return err
		}
		req.ContentLength = d.Size
		req.Header.Set("Content-Type", "application/octet-stream")
		put, err = r.client.Do(req)
		body.Close()
		if err != nil {
			return err
		}
		if (put.StatusCode != http.StatusTooManyRequests && put.StatusCode != http.StatusServiceUnavailable) || attempt+1 >= retryAttempts {
			break
		}
		wait := retryAfter(put)
		put.Body.Close()
		if err := sleep(ctx, max(backoff(attempt+1), wait)); err != nil {
			return err
		}
	}
	defer put.Body.Close()
	if err := transport.CheckError(put, http.StatusCreated); err != nil {
		return err
	}
	if stated, err := v1.NewHash(put.Header.Get("Docker-Content-Digest")); err == nil && stated != d.Digest {
		return invalidf("registry stored blob %s under digest %s", d.Digest, stated)
	}
	return nil
}

// pushBlobStream uploads size bytes from open without knowing their digest
// first: POST, one streaming PATCH that hashes the bytes on the way, then a
// PUT naming the digest. A failed attempt starts over with a new upload.
func (r *registryClient) pushBlobStream(ctx context.Context, size int64, open func() (io.ReadCloser, error)) (v1.Hash, error) {
	var lastErr error
	for attempt := 0; attempt < retryAttempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return v1.Hash{}, err
			}
		}
		h, err := r.pushBlobStreamOnce(ctx, size, open)
		if err == nil {
			return h, nil
		}
		lastErr = err
		var terr *transport.Error
		if ctx.Err() != nil || (errors.As(err, &terr) && !retryableStatus(terr.StatusCode)) || errors.Is(err, errdef.ErrInvalidResponse) {
			break
		}
	}
	return v1.Hash{}, classify(lastErr)
}

func (r *registryClient) pushBlobStreamOnce(ctx context.Context, size int64, open func() (io.ReadCloser, error)) (v1.Hash, error) {
	start := fmt.Sprintf("%s://%s/v2/%s/blobs/uploads/", r.scheme, r.repo.RegistryStr(), r.repo.RepositoryStr())
	resp, err := r.do(ctx, request{method: http.MethodPost, url: start, ok: []int{http.StatusAccepted}})
	if err != nil {
		return v1.Hash{}, err
	}
	resp.Body.Close()
	loc, err := uploadLocation(resp)
	if err != nil {
		return v1.Hash{}, err
	}

	body, err := open()
	if err != nil {
		return v1.Hash{}, err
	}
	defer body.Close()
	hw := sha256.New()
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, loc.String(), io.TeeReader(body, hw))
	if err != nil {
		return v1.Hash{}, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	if size > 0 {
		req.Header.Set("Content-Range", fmt.Sprintf("0-%d", size-1))
	}
	patch, err := r.client.Do(req)
	if err != nil {
		return v1.Hash{}, err
	}
	patch.Body.Close()
	if err := transport.CheckError(patch, http.StatusAccepted, http.StatusNoContent); err != nil {
		return v1.Hash{}, err
	}
	h := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(hw.Sum(nil))}
	if loc, err = uploadLocation(patch); err != nil {
		return v1.Hash{}, err
	}
	q := loc.Query()
	q.Set("digest", h.String())
	loc.RawQuery = q.Encode()
	put, err := r.do(ctx, request{method: http.MethodPut, url: loc.String(), body: []byte{},
		header: map[string]string{"Content-Type": "application/octet-stream"}, ok: []int{http.StatusCreated}})
	if err != nil {
		return v1.Hash{}, err
	}
	put.Body.Close()
	if stated, err := v1.NewHash(put.Header.Get("Docker-Content-Digest")); err == nil && stated != h {
		return v1.Hash{}, invalidf("registry stored blob %s under digest %s", h, stated)
	}
	return h, nil
}

// uploadLocation is the Location of an upload response, resolved against
// the request URL.
func uploadLocation(resp *http.Response) (*url.URL, error) {
	l := resp.Header.Get("Location")
	if l == "" {
		return nil, invalidf("registry gave no upload location")
	}
	u, err := resp.Request.URL.Parse(l)
	if err != nil {
		return nil, invalidf("registry gave an unusable upload location %q", l)
	}
	return u, nil
}

// openBlob opens blob h of the given size (-1: unknown) for streaming. A
// body cut short (network error, or a clean end before size bytes) is
// resumed with a Range request from where it broke, at most retryAttempts
// times. The caller verifies size and digest.
func (r *registryClient) openBlob(ctx context.Context, h v1.Hash, size int64) (io.ReadCloser, error) {
	b := &resumingBlob{ctx: ctx, r: r, h: h, size: size}
	if err := b.open(); err != nil {
		return nil, err
	}
	return b, nil
}

type resumingBlob struct {
	ctx     context.Context
	r       *registryClient
	h       v1.Hash
	size    int64
	body    io.ReadCloser
	off     int64
	resumes int
	err     error // why the current body broke
}

// open GETs the blob from off, with bounded retries.
func (b *resumingBlob) open() error {
	var lastErr error
	var wait time.Duration
	for attempt := 0; attempt < retryAttempts; attempt++ {
		if attempt > 0 {
			if err := sleep(b.ctx, max(backoff(attempt), wait)); err != nil {
				return err
			}
		}
		wait = 0
		req, err := http.NewRequestWithContext(b.ctx, http.MethodGet, b.r.url("blobs", b.h.String()), nil)
		if err != nil {
			return err
		}
		if b.off > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", b.off))
		}
		resp, err := b.r.client.Do(req)
		if err != nil {
			lastErr = err
			if b.ctx.Err() != nil || !retryable(err) {
				break
			}
			continue
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			if b.off > 0 {
				// Range ignored: skip what was read already.
				if _, err := io.CopyN(io.Discard, resp.Body, b.off); err != nil {
					resp.Body.Close()
					lastErr = err
					continue
				}
			}
			b.body = resp.Body
			return nil
		case resp.StatusCode == http.StatusPartialContent && b.off > 0 &&
			strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", b.off)):
			b.body = resp.Body
			return nil
		}
		lastErr = transport.CheckError(resp, http.StatusOK)
		resp.Body.Close()
		wait = retryAfter(resp)
		if !retryableStatus(resp.StatusCode) {
			break
		}
	}
	return classify(lastErr)
}

func (b *resumingBlob) Read(p []byte) (int, error) {
	for {
		if b.err != nil {
			if b.ctx.Err() != nil || !retryable(b.err) || b.resumes >= retryAttempts {
				return 0, b.err
			}
			b.resumes++
			b.body.Close()
			if err := sleep(b.ctx, backoff(b.resumes)); err != nil {
				return 0, err
			}
			if err := b.open(); err != nil {
				return 0, err
			}
			b.err = nil
		}
		n, err := b.body.Read(p)
		b.off += int64(n)
		switch {
		case err == io.EOF && (b.size < 0 || b.off >= b.size):
			return n, io.EOF
		case err == io.EOF:
			b.err = io.ErrUnexpectedEOF // ended early
		case err != nil:
			b.err = err
		}
		if n > 0 || b.err == nil {
			return n, nil
		}
	}
}

func (b *resumingBlob) Close() error { return b.body.Close() }

// referrersAPI asks the referrers endpoint for subject's referrers. ok is
// false when the registry does not implement the API (404, or a response
// that is not an image index), in which case the fallback tag schema
// applies.
func (r *registryClient) referrersAPI(ctx context.Context, subject v1.Hash) (descs []v1.Descriptor, ok bool, err error) {
	next := r.url("referrers", subject.String())
	for page := 0; next != ""; page++ {
		if page >= maxPages {
			return nil, true, invalidf("referrers listing of %s has more than %d pages", subject, maxPages)
		}
		resp, err := r.do(ctx, request{method: http.MethodGet, url: next,
			header: map[string]string{"Accept": string(types.OCIImageIndex)},
			ok:     []int{http.StatusOK, http.StatusNotFound, http.StatusBadRequest, http.StatusNotAcceptable, http.StatusMethodNotAllowed},
			limit:  referrersLimit, what: "referrers listing",
			check: func(resp *http.Response, b []byte) error {
				if resp.StatusCode != http.StatusOK || mediaTypeOnly(resp.Header.Get("Content-Type")) != string(types.OCIImageIndex) {
					return nil
				}
				if _, err := parseReferrerIndex(b); err != nil {
					return retryContent(err)
				}
				return nil
			}})
		if err != nil {
			return nil, false, err
		}
		if resp.StatusCode != http.StatusOK || mediaTypeOnly(resp.Header.Get("Content-Type")) != string(types.OCIImageIndex) {
			resp.Body.Close()
			if page == 0 {
				return nil, false, nil
			}
			return nil, true, invalidf("referrers listing of %s broke off at page %d (%d)", subject, page+1, resp.StatusCode)
		}
		b, err := readCapped(resp.Body, referrersLimit, "referrers listing")
		resp.Body.Close()
		if err != nil {
			return nil, true, err
		}
		idx, err := parseReferrerIndex(b)
		if err != nil {
			return nil, true, err
		}
		descs = append(descs, idx.Descriptors()...)
		next, err = nextLink(resp)
		if err != nil {
			return nil, true, err
		}
	}
	return descs, true, nil
}

// maxPages bounds every paginated listing.
const maxPages = 100

// nextLink follows the rel="next" link of an RFC 8288 Link header (every
// Link header line, every link in it), resolved against the request URL and
// kept on the same host. "" when there is none.
func nextLink(resp *http.Response) (string, error) {
	for _, header := range resp.Header.Values("Link") {
		for _, l := range parseLinks(header) {
			if !l.next {
				continue
			}
			u, err := resp.Request.URL.Parse(l.target)
			if err != nil {
				return "", invalidf("bad Link header %q", header)
			}
			if u.Host != resp.Request.URL.Host {
				return "", invalidf("Link header points to another host (%s)", u.Host)
			}
			return u.String(), nil
		}
	}
	return "", nil
}

// link is one link-value of a Link header.
type link struct {
	target string
	next   bool // its rel parameter lists "next"
}

// parseLinks splits a Link header into its link-values:
// <target>; param; param=value; param="quoted, value", <target2>; ...
// Malformed parts are skipped.
func parseLinks(h string) []link {
	var out []link
	for {
		start := strings.IndexByte(h, '<')
		if start < 0 {
			return out
		}
		end := strings.IndexByte(h[start:], '>')
		if end < 0 {
			return out
		}
		l := link{target: h[start+1 : start+end]}
		h = h[start+end+1:]
		// Parameters run to the next ',' outside a quoted string.
		params, rest := splitParams(h)
		h = rest
		for _, p := range params {
			name, value, _ := strings.Cut(p, "=")
			if !strings.EqualFold(strings.TrimSpace(name), "rel") {
				continue
			}
			value = strings.Trim(strings.TrimSpace(value), `"`)
			for _, rel := range strings.Fields(value) {
				if strings.EqualFold(rel, "next") {
					l.next = true
				}
			}
		}
		out = append(out, l)
	}
}

// splitParams reads ";"-separated parameters up to the ',' that ends a
// link-value (commas inside quotes do not count) and returns the rest.
func splitParams(h string) (params []string, rest string) {
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '"':
			quoted = !quoted
			cur.WriteByte(c)
		case c == '\\' && quoted && i+1 < len(h):
			cur.WriteByte(h[i+1])
			i++
		case c == ';' && !quoted:
			params = append(params, cur.String())
			cur.Reset()
		case c == ',' && !quoted:
			return append(params, cur.String()), h[i+1:]
		default:
			cur.WriteByte(c)
		}
	}
	return append(params, cur.String()), ""
}

// tagsAfter lists the repository's tags that start with prefix, using the
// lexical order and the `last` parameter of the tags API to start right
// there. Registries that ignore `last` are handled too (the scan skips
// smaller tags), bounded by maxPages.
func (r *registryClient) tagsAfter(ctx context.Context, prefix string) ([]string, error) {
	q := url.Values{"n": {"1000"}, "last": {prefix}}
	next := fmt.Sprintf("%s://%s/v2/%s/tags/list?%s", r.scheme, r.repo.RegistryStr(), r.repo.RepositoryStr(), q.Encode())
	var out []string
	for page := 0; next != ""; page++ {
		if page >= maxPages {
			return nil, invalidf("tag listing has more than %d pages", maxPages)
		}
		resp, err := r.do(ctx, request{method: http.MethodGet, url: next, ok: []int{http.StatusOK, http.StatusNotFound},
			limit: referrersLimit, what: "tag listing",
			check: func(resp *http.Response, b []byte) error {
				if resp.StatusCode != http.StatusOK {
					return nil
				}
				if _, err := parseTags(b); err != nil {
					return retryContent(err)
				}
				return nil
			}})
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusNotFound {
			resp.Body.Close()
			return nil, nil
		}
		b, err := readCapped(resp.Body, referrersLimit, "tag listing")
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		tags, err := parseTags(b)
		if err != nil {
			return nil, err
		}
		past := false
		for _, t := range tags {
			switch {
			case strings.HasPrefix(t, prefix):
				out = append(out, t)
			case t > prefix:
				past = true
			}
		}
		if past {
			break
		}
		if next, err = nextLink(resp); err != nil {
			return nil, err
		}
	}
	return out, nil
}

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

// parseTags reads a tags/list response.
func parseTags(b []byte) ([]string, error) {
	var l struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, invalidf("tag listing is not valid JSON: %v", err)
	}
	return l.Tags, nil
}
