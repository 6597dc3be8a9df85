package store

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/faultproxy"
	"github.com/manifesto-dev/manifesto/internal/testimage"
)

// TestNoHandshake (issue 14): an anonymous registry gets no GET /v2/ ping;
// a command's first request is its real work, and a list on a registry
// without the referrers API is two sequential steps: resolve, then the
// referrers probe, the fallback index and the trace listing at once.
func TestNoHandshake(t *testing.T) {
	t.Parallel()
	image := testimage.Image(t, testimage.Fallback)
	host, rest, _ := strings.Cut(image, "/")
	proxy := faultproxy.Start(t, "http://"+host)
	tg := open(t, proxy.Addr()+"/"+rest)
	if _, err := tg.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := proxy.Records()
	var got []string
	for _, r := range recs {
		got = append(got, r.Method+" "+string(r.Kind))
		if r.Path == "/v2/" {
			t.Errorf("the command pinged the registry: %v", recs)
		}
	}
	if len(recs) == 0 || recs[0].Method != http.MethodGet || recs[0].Kind != faultproxy.KindManifests {
		t.Fatalf("first request = %v, want the resolve (GET manifests)", got)
	}
	if len(recs) != 4 {
		t.Errorf("list sent %v, want the resolve, the referrers probe, the index and the trace listing", got)
	}
	for _, r := range recs[1:] {
		if r.Time.Before(recs[0].End) {
			t.Errorf("%s %s started before the resolve ended", r.Method, r.Path)
		}
	}
}
