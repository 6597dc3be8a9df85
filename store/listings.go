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

// Bounds of one paginated listing, across all its pages. maxPages alone
// let a Link loop of 8 MiB pages (referrersLimit) make one listing read
// 800 MiB and hold millions of descriptors. A real image's referrers fit in
// one page (registries refuse a fallback index over 4 MiB, about 10k
// descriptors of ours), so the caps are far past any honest listing and
// still keep the worst case to what a CI runner affords: 64 MiB read and
// 100k descriptors (or tags) held, each trimmed (indexDescriptor).
const (
	maxPages        = 100
	maxListingBytes = 64 << 20
	maxListingItems = 100_000
)

// listingBudget is what one listing may still read: its pages spend it.
type listingBudget struct {
	what         string
	bytes, items int64
}

func newListingBudget(what string) *listingBudget {
	return &listingBudget{what: what, bytes: maxListingBytes, items: maxListingItems}
}

// spend charges one page of n bytes and items entries; past either cap it
// is an ErrInvalidResponse-class error.
func (b *listingBudget) spend(n, items int) error {
	b.bytes -= int64(n)
	b.items -= int64(items)
	switch {
	case b.bytes < 0:
		return invalidf("%s is larger than %d MiB across its pages", b.what, maxListingBytes>>20)
	case b.items < 0:
		return invalidf("%s has more than %d entries across its pages", b.what, maxListingItems)
	}
	return nil
}

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
func (r *registryClient) referrersAPI(ctx context.Context, subject v1.Hash) (_ []v1.Descriptor, ok bool, err error) {
	next := r.url("referrers", subject.String())
	budget := newListingBudget("referrers listing of " + subject.String())
	var all *referrerIndex // pages merged without duplicates, in O(n)
	for page := 0; next != ""; page++ {
		if page >= maxPages {
			return nil, true, invalidf("referrers listing of %s has more than %d pages", subject, maxPages)
		}
		var idx *referrerIndex
		var size int
		resp, err := r.getListingPage(ctx, next, map[string]string{"Accept": string(types.OCIImageIndex)},
			[]int{http.StatusOK, http.StatusNotFound, http.StatusBadRequest, http.StatusNotAcceptable, http.StatusMethodNotAllowed},
			"referrers listing",
			func(resp *http.Response, b []byte) (err error) {
				idx, size = nil, len(b)
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
		if err := budget.spend(size, len(idx.Descriptors())); err != nil {
			return nil, true, err
		}
		if page == 0 {
			all = idx
		} else {
			for _, d := range idx.Descriptors() {
				all.Add(d)
			}
		}
		if next, err = nextLink(resp); err != nil {
			return nil, true, err
		}
	}
	return all.Descriptors(), true, nil
}

// tagsAfter lists the repository's tags that start with prefix, using the
// lexical order and the `last` parameter of the tags API to start right
// there. Registries that ignore `last` are handled too (the scan skips
// smaller tags), bounded by maxPages.
func (r *registryClient) tagsAfter(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	_, err := r.listTags(ctx, prefix, func(tags []string) bool {
		past := false
		for _, t := range tags {
			switch {
			case strings.HasPrefix(t, prefix):
				out = append(out, t)
			case t > prefix:
				past = true
			}
		}
		return past
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// listTags reads the repository's tag listing page by page (after last,
// when not empty), bounded as every listing is (maxPages, the listing
// budget), and hands each page's tags to page, which returns true to stop.
// found is false when the registry answers 404 (no such repository).
func (r *registryClient) listTags(ctx context.Context, last string, page func(tags []string) (stop bool)) (found bool, err error) {
	q := url.Values{"n": {"1000"}}
	if last != "" {
		q.Set("last", last)
	}
	next := fmt.Sprintf("%s://%s/v2/%s/tags/list?%s", r.scheme, r.repo.RegistryStr(), r.repo.RepositoryStr(), q.Encode())
	budget := newListingBudget("tag listing")
	for n := 0; next != ""; n++ {
		if n >= maxPages {
			return false, invalidf("tag listing has more than %d pages", maxPages)
		}
		var tags []string
		var size int
		resp, err := r.getListingPage(ctx, next, nil, []int{http.StatusOK, http.StatusNotFound}, "tag listing",
			func(resp *http.Response, b []byte) (err error) {
				tags, size = nil, len(b)
				if resp.StatusCode != http.StatusOK {
					return nil
				}
				tags, err = parseTags(b)
				return err
			})
		if err != nil {
			return false, err
		}
		if resp.StatusCode == http.StatusNotFound {
			return false, nil
		}
		if err := budget.spend(size, len(tags)); err != nil {
			return false, err
		}
		if page(tags) {
			break
		}
		if next, err = nextLink(resp); err != nil {
			return false, err
		}
	}
	return true, nil
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
