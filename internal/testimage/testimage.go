// Package testimage is the one fixture the unit tests of store, steps and
// trust build on: an image in one of the three kinds of storage manifesto
// supports (a registry with the referrers API, one without it, an OCI
// layout), a clock whose every reading is later than the last, and value
// files. The registries are go-containerregistry's in-process registry on
// 127.0.0.1; the integration tests against a real CNCF Distribution process
// use internal/testregistry instead.
package testimage

import (
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The kinds of storage.
const (
	// Referrers is a registry that serves the OCI 1.1 referrers API.
	Referrers = "referrers"
	// Fallback is a registry without it (fallback index and trace tags, as
	// on CNCF Distribution and GHCR).
	Fallback = "fallback"
	// Layout is an OCI image layout directory.
	Layout = "layout"
)

// Kinds are every kind, for table-driven tests that check a behaviour on
// each.
var Kinds = []string{Referrers, Fallback, Layout}

// refName is the annotation naming a tag in an OCI layout's index.
const refName = "org.opencontainers.image.ref.name"

// Repo is a repository images can be pushed to.
type Repo struct {
	t    testing.TB
	Kind string
	// Path is registry/repository ("127.0.0.1:PORT/team/app") or the
	// layout directory.
	Path string
}

// NewRepo starts an empty repository of kind, removed when the test ends.
func NewRepo(t testing.TB, kind string) *Repo {
	t.Helper()
	r := &Repo{t: t, Kind: kind}
	switch kind {
	case Layout:
		r.Path = t.TempDir()
		if _, err := layout.Write(r.Path, empty.Index); err != nil {
			t.Fatal(err)
		}
	case Referrers, Fallback:
		srv := httptest.NewServer(registry.New(
			registry.WithReferrersSupport(kind == Referrers),
			registry.Logger(log.New(io.Discard, "", 0)),
		))
		t.Cleanup(srv.Close)
		r.Path = strings.TrimPrefix(srv.URL, "http://") + "/team/app"
	default:
		t.Fatalf("testimage: unknown kind %q", kind)
	}
	return r
}

// Push adds a random one-layer image under tag and returns the IMAGE
// reference manifesto takes for it (REGISTRY/REPO:TAG or oci:DIR:TAG).
func (r *Repo) Push(tag string) string {
	r.t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		r.t.Fatal(err)
	}
	if r.Kind == Layout {
		p, err := layout.FromPath(r.Path)
		if err != nil {
			r.t.Fatal(err)
		}
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{refName: tag})); err != nil {
			r.t.Fatal(err)
		}
		return "oci:" + r.Path + ":" + tag
	}
	ref, err := name.ParseReference(r.Path + ":" + tag)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		r.t.Fatal(err)
	}
	return r.Path + ":" + tag
}

// Image starts a repository of kind holding one random image tagged v1 and
// returns its IMAGE reference.
func Image(t testing.TB, kind string) string {
	t.Helper()
	return NewRepo(t, kind).Push("v1")
}

// Clock returns a clock that advances one millisecond per reading from a
// fixed start, so that entries written in a row have distinct, ordered
// created times. It is safe for concurrent use.
func Clock() func() time.Time {
	var mu sync.Mutex
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
}

// WriteValue writes content to a new file called name in a temporary
// directory and returns its path.
func WriteValue(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
