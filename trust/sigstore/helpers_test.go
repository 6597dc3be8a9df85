package sigstore

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
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
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/manifesto-dev/manifesto/store"
	"github.com/manifesto-dev/manifesto/trust"
)

// storeKinds are where signatures are kept in the tests: a registry with the
// referrers API, one without (fallback index and trace tags, like CNCF
// Distribution and GHCR), and an OCI layout.
var storeKinds = []string{"referrers", "fallback", "layout"}

// fixture is an image in a store, opened for writing.
type fixture struct {
	t       *testing.T
	ctx     context.Context
	kind    string
	repo    string // registry/repository, or the layout dir
	image   string
	tgt     *store.Target
	subject string
}

// newFixture starts a store of kind holding one random image.
func newFixture(t *testing.T, kind string) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), kind: kind}
	if kind == "layout" {
		dir := t.TempDir()
		if _, err := layout.Write(dir, empty.Index); err != nil {
			t.Fatal(err)
		}
		f.repo = dir
	} else {
		srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(kind == "referrers"), registry.Logger(log.New(io.Discard, "", 0))))
		t.Cleanup(srv.Close)
		f.repo = strings.TrimPrefix(srv.URL, "http://") + "/team/app"
	}
	f.image = f.pushImage("v1")
	f.tgt = f.open(f.image)
	d, err := f.tgt.Subject(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.subject = d.Digest.String()
	return f
}

// pushImage adds a random image under tag and returns its IMAGE reference.
func (f *fixture) pushImage(tag string) string {
	f.t.Helper()
	img, err := random.Image(128, 1)
	if err != nil {
		f.t.Fatal(err)
	}
	if f.kind == "layout" {
		p, err := layout.FromPath(f.repo)
		if err != nil {
			f.t.Fatal(err)
		}
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag})); err != nil {
			f.t.Fatal(err)
		}
		return "oci:" + f.repo + ":" + tag
	}
	ref, err := name.ParseReference(f.repo + ":" + tag)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		f.t.Fatal(err)
	}
	return f.repo + ":" + tag
}

var clockMu sync.Mutex
var clockNow = time.Now()

// tick is a clock that advances a millisecond per call, so that entries
// written in a row have distinct, ordered created times.
func tick() time.Time {
	clockMu.Lock()
	defer clockMu.Unlock()
	clockNow = clockNow.Add(time.Millisecond)
	return clockNow
}

func (f *fixture) open(image string) *store.Target {
	f.t.Helper()
	t, err := store.Open(f.ctx, image, store.WithAccess(store.Write), store.WithClock(tick))
	if err != nil {
		f.t.Fatal(err)
	}
	return t
}

// put stores a value of key (unsigned) and returns the entry.
func (f *fixture) put(key, value string) store.Entry {
	return f.putOn(f.tgt, key, value)
}

func (f *fixture) putOn(t *store.Target, key, value string) store.Entry {
	f.t.Helper()
	p := filepath.Join(f.t.TempDir(), "v.json")
	if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
		f.t.Fatal(err)
	}
	e, err := t.Put(f.ctx, key, store.Value{Path: p})
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

// binding is what the steps ask a signer to sign for e.
func (f *fixture) binding(e store.Entry) trust.Binding {
	return trust.Binding{Repository: f.repo, Subject: f.subject, Key: e.Key, Entry: e.Digest, Size: e.ManifestSize, MediaType: e.MediaType, Created: e.Created}
}

// query is the steps' query for key ("" = every key): the registry's
// listing as candidates.
func (f *fixture) query(key string) trust.Query {
	f.t.Helper()
	var es []store.Entry
	var err error
	if key == "" {
		es, err = f.tgt.List(f.ctx)
	} else {
		es, err = f.tgt.History(f.ctx, key)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	q := trust.Query{Repository: f.repo, Subject: f.subject, Key: key}
	for _, e := range es {
		q.Candidates = append(q.Candidates, trust.Candidate{Key: e.Key, Digest: e.Digest, Created: e.Created})
	}
	return q
}

// verified runs Verify and returns the digests, newest first.
func (f *fixture) verified(b *Backend, q trust.Query) []string {
	f.t.Helper()
	vs, err := b.Verify(f.ctx, q)
	if err != nil {
		f.t.Fatalf("Verify: %v", err)
	}
	var out []string
	for _, v := range vs {
		out = append(out, v.Digest)
	}
	return out
}

// bundles returns the signature bundles attached to entry e.
func (f *fixture) bundles(e store.Entry) [][]byte {
	f.t.Helper()
	h, _ := v1.NewHash(e.Digest)
	ds, err := f.tgt.ReferrersOf(f.ctx, v1.Descriptor{Digest: h}, "")
	if err != nil {
		f.t.Fatal(err)
	}
	var out [][]byte
	for _, d := range ds {
		m, layers, err := f.tgt.FetchArtifact(f.ctx, d)
		if err != nil {
			f.t.Fatal(err)
		}
		if m.ArtifactType == BundleMediaType {
			out = append(out, layers...)
		}
	}
	return out
}

// attach attaches bundle data to entry e as cosign does.
func (f *fixture) attach(e store.Entry, data []byte) {
	f.t.Helper()
	to, err := f.tgt.EntryDescriptor(f.ctx, e)
	if err != nil {
		f.t.Fatal(err)
	}
	_, err = f.tgt.Attach(f.ctx, to, store.Artifact{
		ArtifactType: BundleMediaType,
		Layers:       []store.Layer{{MediaType: BundleMediaType, Data: data}},
		Annotations:  map[string]string{AnnotationContent: ContentDSSE, AnnotationPredicateType: PredicateType, AnnotationCreated: time.Now().UTC().Format(time.RFC3339)},
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// keyPair is a generated signing key as PEM.
type keyPair struct {
	priv, pub string
	signer    crypto.Signer
}

func newKey(t *testing.T, alg string) keyPair {
	t.Helper()
	var s crypto.Signer
	var err error
	switch alg {
	case "ed25519":
		_, s, err = ed25519.GenerateKey(rand.Reader)
	default:
		s, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	priv, err := cryptoutils.MarshalPrivateKeyToPEM(s)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(s.Public())
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{priv: string(priv), pub: string(pub), signer: s}
}

// cosignKey is a key pair in cosign's encrypted format, generated the way
// `cosign generate-key-pair` does (sigstore's cryptoutils: PKCS#8 sealed
// with scrypt and secretbox under password).
func cosignKey(t *testing.T, password string) keyPair {
	t.Helper()
	priv, pub, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte(password)))
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{priv: string(priv), pub: string(pub)}
}

// newBackend opens a backend on f's target.
func (f *fixture) backend(o Options) *Backend {
	f.t.Helper()
	b, err := New(o, f.tgt)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) sign(b *Backend, e store.Entry) trust.Signed {
	f.t.Helper()
	s, err := b.Sign(f.ctx, f.binding(e))
	if err != nil {
		f.t.Fatalf("Sign: %v", err)
	}
	return s
}
