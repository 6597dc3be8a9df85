package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The manifest calls of the distribution API, each one request through do.

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
// digest or the registry states one, a mismatch is an error (retried: the
// body may have been cut short).
func (r *registryClient) getManifest(ctx context.Context, ref string, accept string, limit int64) ([]byte, v1.Descriptor, error) {
	check := func(resp *http.Response, b []byte) error {
		h, _, _ := v1.SHA256(bytes.NewReader(b))
		if want, err := v1.NewHash(ref); err == nil && want != h {
			return retryLater(invalidf("registry returned content with digest %s for %s", h, want), 0)
		}
		if stated, err := v1.NewHash(resp.Header.Get("Docker-Content-Digest")); err == nil && stated.Algorithm == "sha256" && stated != h {
			return retryLater(invalidf("registry stated digest %s for %s but the content hashes to %s", stated, ref, h), 0)
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
