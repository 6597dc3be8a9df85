package testregistry

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestStartOlareg: the process is up, is a registry, and answers the
// referrers API (an empty image index for an unknown digest), which is what
// tells it from Distribution in the tests that use it.
func TestStartOlareg(t *testing.T) {
	t.Parallel()
	reg := StartOlareg(t)
	digest := "sha256:" + strings.Repeat("0", 64)
	resp, err := http.Get(reg.URL + "/v2/some/repo/referrers/" + digest)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"manifests"`) {
		t.Fatalf("referrers: %d %s, want 200 with an image index", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("referrers Content-Type %q", ct)
	}
}
