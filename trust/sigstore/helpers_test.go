package sigstore

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/manifesto-dev/manifesto/internal/testimage"
	"github.com/manifesto-dev/manifesto/store"
	"github.com/manifesto-dev/manifesto/trust"
)

// fixture is an image in a store (internal/testimage: a registry with the
// referrers API, one without, or an OCI layout), opened for writing.
type fixture struct {
	t   *testing.T
	ctx context.Context
	// storage is where the image is; its Path is the binding's
	// repository (registry/repository, or the layout dir).
	storage *testimage.Repo
	image   string
	tgt     *store.Target
	// subject is the image's digest.
	subject string
	// clock dates the entries this fixture's targets write, in order.
	clock func() time.Time
}

// newFixture starts a store of kind (one of testimage.Kinds) holding one
// random image.
func newFixture(t *testing.T, kind string) *fixture {
	t.Helper()
	r := testimage.NewRepo(t, kind)
	f := &fixture{t: t, ctx: context.Background(), storage: r, clock: testimage.Clock()}
	f.image = r.Push("v1")
	f.tgt = f.open(f.image)
	f.subject = f.subjectOf(f.tgt)
	return f
}

// otherImage pushes another image under tag next to f's and opens it.
func (f *fixture) otherImage(tag string) (tgt *store.Target, subject string) {
	f.t.Helper()
	tgt = f.open(f.storage.Push(tag))
	return tgt, f.subjectOf(tgt)
}

// subjectOf is the digest of tgt's image.
func (f *fixture) subjectOf(tgt *store.Target) string {
	f.t.Helper()
	d, err := tgt.Subject(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return d.Digest.String()
}

// open opens image for writing, dated by f's clock.
func (f *fixture) open(image string) *store.Target {
	f.t.Helper()
	t, err := store.Open(f.ctx, image, store.WithAccess(store.Write), store.WithClock(f.clock))
	if err != nil {
		f.t.Fatal(err)
	}
	return t
}

// put stores a value of key (unsigned) and returns the entry.
func (f *fixture) put(key, value string) store.Entry {
	f.t.Helper()
	e, err := f.tgt.Put(f.ctx, key, store.Value{Path: testimage.WriteValue(f.t, "v.json", value)})
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

// binding is what the steps ask a signer to sign for e.
func (f *fixture) binding(e store.Entry) trust.Binding {
	return trust.Binding{Repository: f.storage.Path, Subject: f.subject, Key: e.Key, Entry: e.Digest, Size: e.ManifestSize, MediaType: e.MediaType, Created: e.Created}
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
	q := trust.Query{Repository: f.storage.Path, Subject: f.subject, Key: key}
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

// backend opens a backend on f's target.
func (f *fixture) backend(o Options) *Backend {
	f.t.Helper()
	b, err := New(o, f.tgt)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// keyed returns a new key pair of alg, a backend signing with it and one
// trusting it.
func (f *fixture) keyed(alg string) (k keyPair, signer, reader *Backend) {
	f.t.Helper()
	k = newKey(f.t, alg)
	return k, f.backend(Options{Key: k.priv}), f.backend(Options{PublicKey: k.pub})
}

// sign signs e with b.
func (f *fixture) sign(b *Backend, e store.Entry) trust.Signed {
	f.t.Helper()
	s, err := b.Sign(f.ctx, f.binding(e))
	if err != nil {
		f.t.Fatalf("Sign: %v", err)
	}
	return s
}
