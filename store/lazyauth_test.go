package store

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/manifesto-dev/manifesto/internal/errdef"

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

// TestPrivateRegistryScheme: a registry on a private-range address (RFC
// 1918) is reached over HTTPS with no probe first (go-containerregistry
// would probe it and fall back to HTTP; manifesto does not talk HTTP there
// without --plain-http, so the probe would cost a round trip for nothing);
// one that answers in plain HTTP gets an error naming --plain-http, and
// with --plain-http it is probed and reached over HTTP.
func TestPrivateRegistryScheme(t *testing.T) {
	t.Parallel()
	const private = "10.11.12.13:5000"
	for _, tc := range []struct {
		name      string
		tls       bool
		plainHTTP bool
		wantErr   string // "" for success
		wantPing  bool
	}{
		{name: "https, no probe", tls: true},
		{name: "plain http refused", wantErr: "use --plain-http"},
		{name: "plain http asked for", plainHTTP: true, wantPing: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var paths []string
			inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				paths = append(paths, r.Method+" "+r.URL.Path)
				mu.Unlock()
				inner.ServeHTTP(w, r)
			})
			var srv *httptest.Server
			if tc.tls {
				srv = httptest.NewTLSServer(h)
			} else {
				srv = httptest.NewServer(h)
			}
			t.Cleanup(srv.Close)
			real := strings.TrimPrefix(strings.TrimPrefix(srv.URL, "https://"), "http://")
			img, _ := random.Image(64, 1)
			ref, err := name.ParseReference(real+"/team/app:v1", name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(ref, img, remote.WithTransport(srv.Client().Transport)); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			paths = nil
			mu.Unlock()
			// Every connection to the private address reaches the test
			// server.
			tr := srv.Client().Transport.(*http.Transport).Clone()
			tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, real)
			}
			if tr.TLSClientConfig != nil {
				// The test certificate names 127.0.0.1.
				tr.TLSClientConfig.ServerName = "127.0.0.1"
			}
			_, err = open(t, private+"/team/app:v1", WithTransport(tr), WithPlainHTTP(tc.plainHTTP)).List(context.Background())
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, errdef.ErrUsage)):
				t.Fatalf("err = %v, want a usage error saying %q", err, tc.wantErr)
			}
			mu.Lock()
			defer mu.Unlock()
			pinged := slices.Contains(paths, "GET /v2/")
			if tc.tls && pinged != tc.wantPing {
				t.Errorf("requests %v: probe sent = %v, want %v", paths, pinged, tc.wantPing)
			}
			if !tc.tls && tc.plainHTTP && len(paths) == 0 {
				t.Errorf("no request reached the plain-HTTP registry")
			}
		})
	}
}
