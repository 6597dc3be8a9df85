package testregistry_test

// These tests pin down, against a real CNCF Distribution process, the
// registry behaviours the store relies on. They assert what Distribution
// v3.1.2 does; if a future registry version behaves differently, they fail
// and the store's assumptions must be revisited.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

const (
	mtOCIManifest = "application/vnd.oci.image.manifest.v1+json"
	mtOCIIndex    = "application/vnd.oci.image.index.v1+json"
	mtEmpty       = "application/vnd.oci.empty.v1+json"
	emptyDigest   = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
	testArtifact  = "application/vnd.manifesto.test.v1+json"
)

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType    string            `json:"mediaType"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// client issues raw HTTP requests to one registry.
type client struct {
	t    *testing.T
	base *url.URL
	hc   *http.Client
}

func newClient(t *testing.T, reg *testregistry.Registry) *client {
	t.Helper()
	u, err := url.Parse(reg.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: u, hc: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{Proxy: nil},
	}}
}

// do sends a request; target is a path ("/v2/...") or an absolute URL.
func (c *client) do(method, target, contentType string, body []byte) (*http.Response, []byte) {
	c.t.Helper()
	u, err := c.base.Parse(target)
	if err != nil {
		c.t.Fatal(err)
	}
	req, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if method == http.MethodGet || method == http.MethodHead {
		req.Header.Set("Accept", strings.Join([]string{mtOCIManifest, mtOCIIndex,
			"application/vnd.docker.distribution.manifest.v2+json",
			"application/vnd.docker.distribution.manifest.list.v2+json"}, ", "))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, target, err)
	}
	return resp, b
}

// expect sends a request and fails unless the status is want.
func (c *client) expect(want int, method, target, contentType string, body []byte) (*http.Response, []byte) {
	c.t.Helper()
	resp, b := c.do(method, target, contentType, body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: status %d, want %d; body: %s", method, target, resp.StatusCode, want, b)
	}
	return resp, b
}

// uploadBlob pushes data as a blob (POST then monolithic PUT) and returns its
// digest.
func (c *client) uploadBlob(repo string, data []byte) string {
	c.t.Helper()
	sum := sha256.Sum256(data)
	dgst := "sha256:" + hex.EncodeToString(sum[:])
	resp, _ := c.expect(http.StatusAccepted, http.MethodPost, "/v2/"+repo+"/blobs/uploads/", "", nil)
	loc, err := c.base.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		c.t.Fatalf("upload Location %q: %v", resp.Header.Get("Location"), err)
	}
	q := loc.Query()
	q.Set("digest", dgst)
	loc.RawQuery = q.Encode()
	resp, _ = c.expect(http.StatusCreated, http.MethodPut, loc.String(), "application/octet-stream", data)
	if got := resp.Header.Get("Docker-Content-Digest"); got != dgst {
		c.t.Fatalf("blob Docker-Content-Digest %q, want %q", got, dgst)
	}
	return dgst
}

// putManifest PUTs a manifest and fails unless it is created (201).
func (c *client) putManifest(repo, ref, mediaType string, body []byte) *http.Response {
	c.t.Helper()
	resp, _ := c.expect(http.StatusCreated, http.MethodPut, "/v2/"+repo+"/manifests/"+ref, mediaType, body)
	return resp
}

// tags returns the tag list, the Link header and the status code.
func (c *client) tags(repo, query string) (tags []string, link string, status int) {
	c.t.Helper()
	target := "/v2/" + repo + "/tags/list"
	if query != "" {
		target += "?" + query
	}
	resp, b := c.do(http.MethodGet, target, "", nil)
	if resp.StatusCode != http.StatusOK {
		return nil, resp.Header.Get("Link"), resp.StatusCode
	}
	var body struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		c.t.Fatalf("tags/list body %q: %v", b, err)
	}
	if body.Name != repo {
		c.t.Fatalf("tags/list name %q, want %q", body.Name, repo)
	}
	if body.Tags == nil {
		c.t.Fatalf("tags/list body %q: tags is null, want an array", b)
	}
	return body.Tags, resp.Header.Get("Link"), resp.StatusCode
}

// errorCodes extracts the codes of a registry error body.
func errorCodes(t *testing.T, b []byte) []string {
	t.Helper()
	var body struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("error body %q is not a registry error: %v", b, err)
	}
	var codes []string
	for _, e := range body.Errors {
		codes = append(codes, e.Code)
	}
	return codes
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// pushImage pushes a random image with go-containerregistry and returns its
// descriptor.
func pushImage(t *testing.T, reg *testregistry.Registry, repo, tag string) descriptor {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg.Ref(repo + ":" + tag))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := remote.Head(ref)
	if err != nil {
		t.Fatalf("head %s: %v", ref, err)
	}
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if d.Digest != want {
		t.Fatalf("registry digest %s, want %s", d.Digest, want)
	}
	return descriptor{MediaType: string(d.MediaType), Digest: d.Digest.String(), Size: d.Size}
}

// artifactManifest builds an OCI 1.1 artifact manifest (empty config, one
// layer) with the given subject, after uploading its blobs.
func artifactManifest(c *client, repo string, subject *descriptor, payload string) []byte {
	c.t.Helper()
	if got := c.uploadBlob(repo, []byte("{}")); got != emptyDigest {
		c.t.Fatalf("empty config digest %s, want %s", got, emptyDigest)
	}
	layer := []byte(payload)
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     mtOCIManifest,
		"artifactType":  testArtifact,
		"config":        descriptor{MediaType: mtEmpty, Digest: emptyDigest, Size: 2},
		"layers": []descriptor{{
			MediaType:   testArtifact,
			Digest:      c.uploadBlob(repo, layer),
			Size:        int64(len(layer)),
			Annotations: map[string]string{"org.opencontainers.image.title": "value.json"},
		}},
		"annotations": map[string]string{
			"org.opencontainers.image.created": "2026-01-02T03:04:05Z",
			"dev.manifesto.key":                "test",
		},
	}
	if subject != nil {
		m["subject"] = subject
	}
	b, err := json.Marshal(m)
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

func TestRegistryVersion(t *testing.T) {
	reg := testregistry.Start(t)
	c := newClient(t, reg)
	resp, body := c.expect(http.StatusOK, http.MethodGet, "/v2/", "", nil)
	if got := resp.Header.Get("Docker-Distribution-Api-Version"); got != "registry/2.0" {
		t.Errorf("Docker-Distribution-Api-Version %q, want registry/2.0", got)
	}
	if string(body) != "{}" {
		t.Errorf("GET /v2/ body %q, want {}", body)
	}
	out, err := exec.Command(reg.Bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", reg.Bin, err, out)
	}
	// Informational: the behaviour tests below are what must hold.
	t.Logf("%s (pinned: %s)", bytes.TrimSpace(out), testregistry.Version)
}

// (a) No referrers API: GET /v2/<repo>/referrers/<digest> is 404, with or
// without an artifactType filter, even when a referrer exists.
func TestReferrersAPIAbsent(t *testing.T) {
	reg := testregistry.Start(t)
	c := newClient(t, reg)
	const repo = "refs/app"
	img := pushImage(t, reg, repo, "v1")
	c.putManifest(repo, "art", mtOCIManifest, artifactManifest(c, repo, &img, `{"a":1}`))

	for _, target := range []string{
		"/v2/" + repo + "/referrers/" + img.Digest,
		"/v2/" + repo + "/referrers/" + img.Digest + "?artifactType=" + url.QueryEscape(testArtifact),
	} {
		resp, body := c.do(http.MethodGet, target, "", nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404 (no referrers API); body %q", target, resp.StatusCode, body)
		}
		// The path matches no route: the router's plain-text 404, not a
		// registry JSON error and not an (empty) image index.
		if ct := resp.Header.Get("Content-Type"); strings.Contains(ct, "json") {
			t.Errorf("GET %s: Content-Type %q, want a non-JSON 404", target, ct)
		}
		if got := strings.TrimSpace(string(body)); got != "404 page not found" {
			t.Errorf("GET %s: body %q, want \"404 page not found\"", target, got)
		}
		if resp.Header.Get("OCI-Filters-Applied") != "" {
			t.Errorf("GET %s: unexpected OCI-Filters-Applied header", target)
		}
		t.Logf("GET %s -> %d Content-Type=%q body=%q", target, resp.StatusCode, resp.Header.Get("Content-Type"), strings.TrimSpace(string(body)))
	}
}

// (b) A manifest PUT carrying a subject is stored (201) but gets no
// OCI-Subject header. The subject is not validated: a subject that does not
// exist in the repository is accepted too.
func TestSubjectPutHasNoOCISubjectHeader(t *testing.T) {
	reg := testregistry.Start(t)
	c := newClient(t, reg)
	const repo = "subject/app"
	img := pushImage(t, reg, repo, "v1")

	body := artifactManifest(c, repo, &img, `{"b":2}`)
	dgst := digestOf(body)
	resp := c.putManifest(repo, dgst, mtOCIManifest, body)
	if v := resp.Header.Values("OCI-Subject"); len(v) != 0 {
		t.Errorf("PUT with subject: OCI-Subject %q, want none (registry without referrers API)", v)
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != dgst {
		t.Errorf("Docker-Content-Digest %q, want %q", got, dgst)
	}
	if got, want := resp.Header.Get("Location"), "/v2/"+repo+"/manifests/"+dgst; !strings.HasSuffix(got, want) {
		t.Errorf("Location %q, want suffix %q", got, want)
	}
	t.Logf("PUT manifest with subject -> %d headers %v", resp.StatusCode, resp.Header)

	// Stored byte for byte, with artifactType and subject intact.
	get, got := c.expect(http.StatusOK, http.MethodGet, "/v2/"+repo+"/manifests/"+dgst, "", nil)
	if !bytes.Equal(got, body) {
		t.Errorf("GET by digest returned different bytes:\n got %s\nwant %s", got, body)
	}
	if ct := get.Header.Get("Content-Type"); ct != mtOCIManifest {
		t.Errorf("GET Content-Type %q, want %q", ct, mtOCIManifest)
	}

	// A subject that is not in the repository is not checked.
	ghost := descriptor{MediaType: mtOCIManifest, Digest: digestOf([]byte("no such manifest")), Size: 16}
	orphan := artifactManifest(c, repo, &ghost, `{"c":3}`)
	resp = c.putManifest(repo, digestOf(orphan), mtOCIManifest, orphan)
	if v := resp.Header.Values("OCI-Subject"); len(v) != 0 {
		t.Errorf("PUT with missing subject: OCI-Subject %q, want none", v)
	}
}

// (c) tags/list pagination: tags in byte-wise lexical order; last=T starts
// strictly after T (T need not exist); at most n; a Link header
// `</v2/<repo>/tags/list?last=<last returned>&n=<n>>; rel="next"` whenever
// the page is full, even when nothing remains.
func TestTagsListPagination(t *testing.T) {
	reg := testregistry.Start(t)
	c := newClient(t, reg)
	const repo = "tags/app"

	// Unknown repository: 404 NAME_UNKNOWN.
	resp, body := c.do(http.MethodGet, "/v2/"+repo+"/tags/list", "", nil)
	if resp.StatusCode != http.StatusNotFound || !slices.Contains(errorCodes(t, body), "NAME_UNKNOWN") {
		t.Errorf("tags/list of unknown repo: %d %s, want 404 NAME_UNKNOWN", resp.StatusCode, body)
	}

	img := pushImage(t, reg, repo, "seed")
	_, manifest := c.expect(http.StatusOK, http.MethodGet, "/v2/"+repo+"/manifests/"+img.Digest, "", nil)
	// "seed" plus these; order chosen to be neither sorted nor reverse.
	for _, tag := range []string{"c", "sha256-" + strings.Repeat("ab", 32), "a", "B", "10", "9", "b", "e", "d"} {
		c.putManifest(repo, tag, img.MediaType, manifest)
	}
	all := []string{"10", "9", "B", "a", "b", "c", "d", "e", "seed", "sha256-" + strings.Repeat("ab", 32)}

	check := func(query string, wantTags []string, wantLink string) {
		t.Helper()
		got, link, status := c.tags(repo, query)
		if status != http.StatusOK {
			t.Errorf("tags/list?%s: status %d", query, status)
			return
		}
		if !slices.Equal(got, wantTags) {
			t.Errorf("tags/list?%s: tags %q, want %q", query, got, wantTags)
		}
		if link != wantLink {
			t.Errorf("tags/list?%s: Link %q, want %q", query, link, wantLink)
		}
	}
	next := func(last string, n int) string {
		return fmt.Sprintf(`</v2/%s/tags/list?last=%s&n=%d>; rel="next"`, repo, last, n)
	}

	check("", all, "")
	check("n=100", all, "")
	check("n=3", []string{"10", "9", "B"}, next("B", 3))
	check("n=2&last=b", []string{"c", "d"}, next("d", 2))
	check("last=b", []string{"c", "d", "e", "seed", all[9]}, "")
	// last need not be an existing tag.
	check("n=2&last=bb", []string{"c", "d"}, next("d", 2))
	check("n=2&last=A", []string{"B", "a"}, next("a", 2))
	// A page that is exactly full still carries a Link; following it
	// gives an empty page without Link.
	check("n=2&last=e", []string{"seed", all[9]}, next(all[9], 2))
	check("n=2&last="+all[9], []string{}, "")
	check("n=5&last=zzz", []string{}, "")
	// n=0: empty list, no Link.
	check("n=0", []string{}, "")

	// Walk the whole list through the Link headers.
	var walked []string
	target := "/v2/" + repo + "/tags/list?n=4"
	for i := 0; target != "" && i < 10; i++ {
		resp, b := c.expect(http.StatusOK, http.MethodGet, target, "", nil)
		var page struct{ Tags []string }
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatal(err)
		}
		walked = append(walked, page.Tags...)
		target = ""
		if l := resp.Header.Get("Link"); l != "" {
			target = strings.TrimPrefix(strings.SplitN(l, ">", 2)[0], "<")
		}
	}
	if !slices.Equal(walked, all) {
		t.Errorf("walking Link headers: %q, want %q", walked, all)
	}

	// Invalid n: 400 PAGINATION_NUMBER_INVALID.
	resp, body = c.do(http.MethodGet, "/v2/"+repo+"/tags/list?n=-1", "", nil)
	if resp.StatusCode != http.StatusBadRequest || !slices.Contains(errorCodes(t, body), "PAGINATION_NUMBER_INVALID") {
		t.Errorf("tags/list?n=-1: %d %s, want 400 PAGINATION_NUMBER_INVALID", resp.StatusCode, body)
	}
}

// (d) DELETE by digest: 202, then the manifest and every tag that pointed at
// it answer 404 MANIFEST_UNKNOWN and the tags are gone from tags/list.
// Tags of other manifests stay. Referrers of the deleted manifest stay.
func TestDeleteByDigestRemovesTags(t *testing.T) {
	reg := testregistry.Start(t)
	c := newClient(t, reg)
	const repo = "del/app"
	img := pushImage(t, reg, repo, "one")
	_, manifest := c.expect(http.StatusOK, http.MethodGet, "/v2/"+repo+"/manifests/"+img.Digest, "", nil)
	c.putManifest(repo, "two", img.MediaType, manifest)
	other := pushImage(t, reg, repo, "other")

	art := artifactManifest(c, repo, &img, `{"d":4}`)
	artDigest := digestOf(art)
	c.putManifest(repo, "sha256-"+strings.TrimPrefix(img.Digest, "sha256:"), mtOCIManifest, art)

	resp, body := c.do(http.MethodDelete, "/v2/"+repo+"/manifests/"+img.Digest, "", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("DELETE by digest: status %d, want 202; body %s", resp.StatusCode, body)
	}
	t.Logf("DELETE by digest -> %d headers %v body %q", resp.StatusCode, resp.Header, body)

	for _, ref := range []string{img.Digest, "one", "two"} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			resp, body := c.do(method, "/v2/"+repo+"/manifests/"+ref, "", nil)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s manifests/%s after delete: %d, want 404", method, ref, resp.StatusCode)
			}
			if method == http.MethodGet && resp.StatusCode == http.StatusNotFound &&
				!slices.Contains(errorCodes(t, body), "MANIFEST_UNKNOWN") {
				t.Errorf("GET manifests/%s after delete: body %s, want MANIFEST_UNKNOWN", ref, body)
			}
		}
	}
	tags, _, _ := c.tags(repo, "")
	want := []string{"other", "sha256-" + strings.TrimPrefix(img.Digest, "sha256:")}
	if !slices.Equal(tags, want) {
		t.Errorf("tags after delete: %q, want %q", tags, want)
	}
	// Other manifests and the deleted manifest's referrer are untouched.
	c.expect(http.StatusOK, http.MethodGet, "/v2/"+repo+"/manifests/other", "", nil)
	c.expect(http.StatusOK, http.MethodGet, "/v2/"+repo+"/manifests/"+other.Digest, "", nil)
	c.expect(http.StatusOK, http.MethodGet, "/v2/"+repo+"/manifests/"+artDigest, "", nil)

	// Deleting it again: 404 MANIFEST_UNKNOWN.
	resp, body = c.do(http.MethodDelete, "/v2/"+repo+"/manifests/"+img.Digest, "", nil)
	if resp.StatusCode != http.StatusNotFound || !slices.Contains(errorCodes(t, body), "MANIFEST_UNKNOWN") {
		t.Errorf("second DELETE: %d %s, want 404 MANIFEST_UNKNOWN", resp.StatusCode, body)
	}

	// Deleting every manifest leaves a known repository with an empty list.
	for _, d := range []string{other.Digest, artDigest} {
		c.expect(http.StatusAccepted, http.MethodDelete, "/v2/"+repo+"/manifests/"+d, "", nil)
	}
	tags, link, status := c.tags(repo, "")
	if status != http.StatusOK || len(tags) != 0 || link != "" {
		t.Errorf("tags after deleting all: status %d tags %q Link %q, want 200 [] no Link", status, tags, link)
	}
}

// (e) DELETE by tag is supported: 202, removes only that tag; the manifest
// and its other tags stay. An unknown tag gives 404 MANIFEST_UNKNOWN.
func TestDeleteByTagUntags(t *testing.T) {
	reg := testregistry.Start(t)
	c := newClient(t, reg)
	const repo = "untag/app"
	img := pushImage(t, reg, repo, "one")
	_, manifest := c.expect(http.StatusOK, http.MethodGet, "/v2/"+repo+"/manifests/"+img.Digest, "", nil)
	c.putManifest(repo, "two", img.MediaType, manifest)

	resp, body := c.do(http.MethodDelete, "/v2/"+repo+"/manifests/one", "", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("DELETE by tag: status %d, want 202; body %s", resp.StatusCode, body)
	}
	if len(body) != 0 {
		t.Errorf("DELETE by tag: body %q, want empty", body)
	}
	t.Logf("DELETE by tag -> %d headers %v", resp.StatusCode, resp.Header)

	resp, body = c.do(http.MethodGet, "/v2/"+repo+"/manifests/one", "", nil)
	if resp.StatusCode != http.StatusNotFound || !slices.Contains(errorCodes(t, body), "MANIFEST_UNKNOWN") {
		t.Errorf("GET deleted tag: %d %s, want 404 MANIFEST_UNKNOWN", resp.StatusCode, body)
	}
	_, got := c.expect(http.StatusOK, http.MethodGet, "/v2/"+repo+"/manifests/"+img.Digest, "", nil)
	if !bytes.Equal(got, manifest) {
		t.Errorf("manifest by digest changed after untag")
	}
	c.expect(http.StatusOK, http.MethodGet, "/v2/"+repo+"/manifests/two", "", nil)
	if tags, _, _ := c.tags(repo, ""); !slices.Equal(tags, []string{"two"}) {
		t.Errorf("tags after untag: %q, want [two]", tags)
	}

	resp, body = c.do(http.MethodDelete, "/v2/"+repo+"/manifests/one", "", nil)
	if resp.StatusCode != http.StatusNotFound || !slices.Contains(errorCodes(t, body), "MANIFEST_UNKNOWN") {
		t.Errorf("DELETE unknown tag: %d %s, want 404 MANIFEST_UNKNOWN", resp.StatusCode, body)
	}

	// Untagging the last tag leaves the manifest reachable by digest and
	// the repository known with an empty tag list.
	c.expect(http.StatusAccepted, http.MethodDelete, "/v2/"+repo+"/manifests/two", "", nil)
	c.expect(http.StatusOK, http.MethodGet, "/v2/"+repo+"/manifests/"+img.Digest, "", nil)
	tags, link, status := c.tags(repo, "")
	if status != http.StatusOK || len(tags) != 0 || link != "" {
		t.Errorf("tags after removing all: status %d tags %q Link %q, want 200 [] no Link", status, tags, link)
	}
}

// (f) The same manifest bytes pushed under a second tag (and again under the
// same tag) are accepted with 201 and the same Docker-Content-Digest, and a
// tag can be moved to other bytes by a plain PUT.
func TestSameBytesSecondTag(t *testing.T) {
	reg := testregistry.Start(t)
	c := newClient(t, reg)
	const repo = "retag/app"
	img := pushImage(t, reg, repo, "v1")
	art := artifactManifest(c, repo, &img, `{"f":6}`)
	dgst := digestOf(art)

	r1 := c.putManifest(repo, "first", mtOCIManifest, art)
	r2 := c.putManifest(repo, "second", mtOCIManifest, art)
	r3 := c.putManifest(repo, "second", mtOCIManifest, art)
	for i, r := range []*http.Response{r1, r2, r3} {
		if got := r.Header.Get("Docker-Content-Digest"); got != dgst {
			t.Errorf("PUT #%d Docker-Content-Digest %q, want %q", i+1, got, dgst)
		}
		if got, want := r.Header.Get("Location"), "/v2/"+repo+"/manifests/"+dgst; !strings.HasSuffix(got, want) {
			t.Errorf("PUT #%d Location %q, want suffix %q", i+1, got, want)
		}
	}
	for _, tag := range []string{"first", "second"} {
		resp, got := c.expect(http.StatusOK, http.MethodGet, "/v2/"+repo+"/manifests/"+tag, "", nil)
		if !bytes.Equal(got, art) || resp.Header.Get("Docker-Content-Digest") != dgst {
			t.Errorf("GET %s: digest %q, bytes equal %v", tag, resp.Header.Get("Docker-Content-Digest"), bytes.Equal(got, art))
		}
	}

	// Moving a tag: PUT other bytes under it.
	art2 := artifactManifest(c, repo, &img, `{"f":7}`)
	c.putManifest(repo, "second", mtOCIManifest, art2)
	resp, _ := c.expect(http.StatusOK, http.MethodHead, "/v2/"+repo+"/manifests/second", "", nil)
	if got := resp.Header.Get("Docker-Content-Digest"); got != digestOf(art2) {
		t.Errorf("moved tag resolves to %q, want %q", got, digestOf(art2))
	}
	c.expect(http.StatusOK, http.MethodGet, "/v2/"+repo+"/manifests/"+dgst, "", nil)
}

// (g) An image index is accepted only if every manifest it lists exists in
// the repository (default validation): a fallback referrers index that still
// lists a deleted referrer is rejected with 400 MANIFEST_BLOB_UNKNOWN.
func TestIndexChildrenMustExist(t *testing.T) {
	reg := testregistry.Start(t)
	c := newClient(t, reg)
	const repo = "index/app"
	img := pushImage(t, reg, repo, "v1")
	art := artifactManifest(c, repo, &img, `{"g":7}`)
	artDesc := descriptor{MediaType: mtOCIManifest, ArtifactType: testArtifact, Digest: digestOf(art), Size: int64(len(art))}
	c.putManifest(repo, artDesc.Digest, mtOCIManifest, art)

	index := func(ds ...descriptor) []byte {
		b, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mtOCIIndex, "manifests": ds})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	fallbackTag := "sha256-" + strings.TrimPrefix(img.Digest, "sha256:")
	ok := index(artDesc)
	c.putManifest(repo, fallbackTag, mtOCIIndex, ok)

	ghost := descriptor{MediaType: mtOCIManifest, ArtifactType: testArtifact, Digest: digestOf([]byte("gone")), Size: 4}
	resp, body := c.do(http.MethodPut, "/v2/"+repo+"/manifests/"+fallbackTag, mtOCIIndex, index(artDesc, ghost))
	if resp.StatusCode != http.StatusBadRequest || !slices.Contains(errorCodes(t, body), "MANIFEST_BLOB_UNKNOWN") {
		t.Errorf("PUT index with missing child: %d %s, want 400 MANIFEST_BLOB_UNKNOWN", resp.StatusCode, body)
	}
	// The tag still points at the previous index.
	resp, _ = c.expect(http.StatusOK, http.MethodHead, "/v2/"+repo+"/manifests/"+fallbackTag, "", nil)
	if got := resp.Header.Get("Docker-Content-Digest"); got != digestOf(ok) {
		t.Errorf("fallback tag resolves to %q, want %q", got, digestOf(ok))
	}
	// An empty index is fine.
	c.putManifest(repo, fallbackTag, mtOCIIndex, index())
}

// Start gives each caller its own process, port and storage, on loopback,
// and stops the process when the test ends.
func TestStartIsolatedAndStopped(t *testing.T) {
	var addr string
	t.Run("inner", func(t *testing.T) {
		began := time.Now()
		a := testregistry.Start(t)
		t.Logf("registry up in %s", time.Since(began).Round(time.Millisecond))
		b := testregistry.Start(t)
		addr = a.Addr
		if a.Addr == b.Addr || a.RootDir == b.RootDir {
			t.Fatalf("two registries share %s / %s", a.Addr, a.RootDir)
		}
		for _, r := range []*testregistry.Registry{a, b} {
			host, _, err := net.SplitHostPort(r.Addr)
			if err != nil || host != "127.0.0.1" {
				t.Errorf("Addr %q is not on 127.0.0.1 (%v)", r.Addr, err)
			}
			if r.URL != "http://"+r.Addr {
				t.Errorf("URL %q, want http://%s", r.URL, r.Addr)
			}
		}
		pushImage(t, a, "iso/app", "v1")
		ca, cb := newClient(t, a), newClient(t, b)
		ca.expect(http.StatusOK, http.MethodHead, "/v2/iso/app/manifests/v1", "", nil)
		cb.expect(http.StatusNotFound, http.MethodHead, "/v2/iso/app/manifests/v1", "", nil)
	})
	if addr == "" {
		t.Fatal("inner test did not start a registry")
	}
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		conn.Close()
		t.Errorf("registry at %s still accepts connections after its test ended", addr)
	}
}
