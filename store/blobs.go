package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// The blob calls of the distribution API: existence, monolithic and
// streamed uploads, and downloads that resume where they broke.

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

// retryUpload runs a whole upload (attempt) through retry: a failed
// attempt of the retryableUpload class starts over with a new upload.
func retryUpload(ctx context.Context, attempt func() error) error {
	return classify(retry(ctx, func() error {
		err := attempt()
		if err != nil && retryableUpload(err) {
			return retryLater(err, 0)
		}
		return err
	}))
}

// pushBlob uploads a blob monolithically (POST, then one streaming PUT).
// open returns a fresh reader of the content; it is called again if the
// upload is retried.
func (r *registryClient) pushBlob(ctx context.Context, d v1.Descriptor, open func() (io.ReadCloser, error)) error {
	return retryUpload(ctx, func() error { return r.pushBlobOnce(ctx, d, open) })
}

func (r *registryClient) pushBlobOnce(ctx context.Context, d v1.Descriptor, open func() (io.ReadCloser, error)) error {
	loc, err := r.startUpload(ctx)
	if err != nil {
		return err
	}
	setDigest(loc, d.Digest)

	// A PUT the registry answered 429 or 503 was refused whole: send it
	// again to the same upload (after Retry-After) rather than starting a
	// new one. Anything else starts over (retryUpload).
	var put *http.Response
	err = retry(ctx, func() error {
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
		// A fresh body for a re-send after an auth challenge (authWatch).
		req.GetBody = open
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := r.client.Do(req)
		body.Close()
		if err != nil {
			return err
		}
		if refusedForNow(resp.StatusCode) {
			err := transport.CheckError(resp, http.StatusCreated)
			resp.Body.Close()
			return retryLater(err, retryAfter(resp))
		}
		put = resp
		return nil
	})
	if err != nil {
		return err
	}
	defer put.Body.Close()
	if err := transport.CheckError(put, http.StatusCreated); err != nil {
		return err
	}
	return checkStoredBlob(put, d.Digest)
}

// pushBlobStream uploads size bytes from open without knowing their digest
// first: POST, one streaming PATCH that hashes the bytes on the way, then a
// PUT naming the digest. A failed attempt starts over with a new upload.
func (r *registryClient) pushBlobStream(ctx context.Context, size int64, open func() (io.ReadCloser, error)) (v1.Hash, error) {
	var h v1.Hash
	err := retryUpload(ctx, func() (err error) {
		h, err = r.pushBlobStreamOnce(ctx, size, open)
		return err
	})
	if err != nil {
		return v1.Hash{}, err
	}
	return h, nil
}

func (r *registryClient) pushBlobStreamOnce(ctx context.Context, size int64, open func() (io.ReadCloser, error)) (v1.Hash, error) {
	loc, err := r.startUpload(ctx)
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
	// A fresh body for a re-send after an auth challenge (authWatch): the
	// content again, hashed from the start.
	req.GetBody = func() (io.ReadCloser, error) {
		again, err := open()
		if err != nil {
			return nil, err
		}
		hw.Reset()
		return struct {
			io.Reader
			io.Closer
		}{io.TeeReader(again, hw), again}, nil
	}
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
	setDigest(loc, h)
	put, err := r.do(ctx, request{method: http.MethodPut, url: loc.String(), body: []byte{},
		header: map[string]string{"Content-Type": "application/octet-stream"}, ok: []int{http.StatusCreated}})
	if err != nil {
		return v1.Hash{}, err
	}
	put.Body.Close()
	return h, checkStoredBlob(put, h)
}

// startUpload opens an upload session (POST) and returns where to send it.
func (r *registryClient) startUpload(ctx context.Context) (*url.URL, error) {
	start := fmt.Sprintf("%s://%s/v2/%s/blobs/uploads/", r.scheme, r.repo.RegistryStr(), r.repo.RepositoryStr())
	resp, err := r.do(ctx, request{method: http.MethodPost, url: start, ok: []int{http.StatusAccepted}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return uploadLocation(resp)
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

// setDigest adds the digest parameter that completes an upload to loc.
func setDigest(loc *url.URL, h v1.Hash) {
	q := loc.Query()
	q.Set("digest", h.String())
	loc.RawQuery = q.Encode()
}

// checkStoredBlob checks the digest a completed upload reports, if any.
func checkStoredBlob(put *http.Response, want v1.Hash) error {
	if stated, err := v1.NewHash(put.Header.Get("Docker-Content-Digest")); err == nil && stated != want {
		return invalidf("registry stored blob %s under digest %s", want, stated)
	}
	return nil
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

// resumingBlob is a blob download that resumes where its body broke.
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

// open GETs the blob from off through retry.
func (b *resumingBlob) open() error {
	return classify(retry(b.ctx, func() error {
		req, err := http.NewRequestWithContext(b.ctx, http.MethodGet, b.r.url("blobs", b.h.String()), nil)
		if err != nil {
			return err
		}
		if b.off > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", b.off))
		}
		resp, err := b.r.client.Do(req)
		if err != nil {
			if brokenExchange(err) {
				return retryLater(err, 0)
			}
			return err
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			if b.off > 0 {
				// Range ignored: skip what was read already.
				if _, err := io.CopyN(io.Discard, resp.Body, b.off); err != nil {
					resp.Body.Close()
					return retryLater(err, 0)
				}
			}
			b.body = resp.Body
			return nil
		case resp.StatusCode == http.StatusPartialContent && b.off > 0 &&
			strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", b.off)):
			b.body = resp.Body
			return nil
		}
		err = transport.CheckError(resp, http.StatusOK)
		resp.Body.Close()
		if retryableStatus(resp.StatusCode) {
			return retryLater(err, retryAfter(resp))
		}
		return err
	}))
}

// Read reads the blob, resuming a broken body (at most retryAttempts times
// per download, pausing as retry does).
func (b *resumingBlob) Read(p []byte) (int, error) {
	for {
		if b.err != nil {
			if b.ctx.Err() != nil || !brokenExchange(b.err) || b.resumes >= retryAttempts {
				return 0, b.err
			}
			b.resumes++
			b.body.Close()
			if err := pause(b.ctx, b.resumes, 0); err != nil {
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

// Close closes the current body.
func (b *resumingBlob) Close() error { return b.body.Close() }
