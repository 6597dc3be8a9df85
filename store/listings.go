package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The paginated listings of the distribution API: the referrers API and
// the tags API. Pages follow rel="next" Link headers (link.go).

// maxPages bounds every paginated listing.
const maxPages = 100

// getListingPage GETs one page of a listing (at most referrersLimit bytes)
// through do. parse reads each accepted answer inside the retry, so a page
// that does not parse (a body cut short) is fetched again. The returned
// response's body is closed; parse has kept what it needs.
func (r *registryClient) getListingPage(ctx context.Context, u string, header map[string]string, ok []int, what string, parse func(resp *http.Response, b []byte) error) (*http.Response, error) {
	resp, err := r.do(ctx, request{method: http.MethodGet, url: u, header: header, ok: ok,
		limit: referrersLimit, what: what,
		check: func(resp *http.Response, b []byte) error {
			if err := parse(resp, b); err != nil {
				return retryLater(err, 0)
			}
			return nil
		}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return resp, nil
}

// isIndexAnswer reports whether resp is a referrers API answer: 200 with an
// image index.
func isIndexAnswer(resp *http.Response) bool {
	return resp.StatusCode == http.StatusOK && mediaTypeOnly(resp.Header.Get("Content-Type")) == string(types.OCIImageIndex)
}

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
		var idx *referrerIndex
		resp, err := r.getListingPage(ctx, next, map[string]string{"Accept": string(types.OCIImageIndex)},
			[]int{http.StatusOK, http.StatusNotFound, http.StatusBadRequest, http.StatusNotAcceptable, http.StatusMethodNotAllowed},
			"referrers listing",
			func(resp *http.Response, b []byte) (err error) {
				idx = nil
				if !isIndexAnswer(resp) {
					return nil
				}
				idx, err = parseReferrerIndex(b)
				return err
			})
		if err != nil {
			return nil, false, err
		}
		if idx == nil {
			if page == 0 {
				return nil, false, nil
			}
			return nil, true, invalidf("referrers listing of %s broke off at page %d (%d)", subject, page+1, resp.StatusCode)
		}
		descs = append(descs, idx.Descriptors()...)
		if next, err = nextLink(resp); err != nil {
			return nil, true, err
		}
	}
	return descs, true, nil
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
		var tags []string
		resp, err := r.getListingPage(ctx, next, nil, []int{http.StatusOK, http.StatusNotFound}, "tag listing",
			func(resp *http.Response, b []byte) (err error) {
				tags = nil
				if resp.StatusCode != http.StatusOK {
					return nil
				}
				tags, err = parseTags(b)
				return err
			})
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusNotFound {
			return nil, nil
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
