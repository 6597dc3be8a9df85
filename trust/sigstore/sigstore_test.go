package sigstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/sigstoretest"
	"github.com/manifesto-dev/manifesto/internal/testimage"
	"github.com/manifesto-dev/manifesto/trust"
)

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	k := newKey(t, "ecdsa")
	for name, o := range map[string]Options{
		"key not PEM":                {Key: "not a key"},
		"public key not PEM":         {PublicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"},
		"key and identity":           {PublicKey: k.pub, CertificateIdentity: "x"},
		"identity and regexp":        {CertificateIdentity: "x", CertificateIdentityRegexp: "y"},
		"bad regexp":                 {CertificateIdentityRegexp: "("},
		"bad fulcio URL":             {FulcioURL: "fulcio:80"},
		"bad rekor URL":              {RekorURL: "ftp://rekor"},
		"trusted root not JSON":      {CertificateIdentity: "x", TrustedRoot: []byte("{")},
		"trusted root without ident": {PublicKey: k.pub, TrustedRoot: []byte("{}")},
		"signing config and URLs":    {SigningConfig: []byte("{}"), FulcioURL: "https://f"},
		"signing config not one":     {SigningConfig: []byte(`{"mediaType":"x"}`)},
		"encrypted PKCS#8":           {Key: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"},
	} {
		if _, err := New(o, nil); !errors.Is(err, errdef.ErrUsage) {
			t.Errorf("%s: New: %v, want a usage error", name, err)
		}
	}
	b, err := New(Options{Key: k.priv}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.keyVerifiers == nil || b.identity != nil {
		t.Error("a signing key should be trusted for verification when no public key is given")
	}
	if _, _, err := b.Init(context.Background(), "r/x"); !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "notary") {
		t.Errorf("Init: %v", err)
	}
	if err := b.Forget(context.Background(), "r/x", nil); err != nil {
		t.Errorf("Forget: %v", err)
	}
	b, _ = New(Options{}, nil)
	if _, err := b.Verify(context.Background(), trust.Query{Subject: "sha256:" + strings.Repeat("a", 64)}); !errors.Is(err, errdef.ErrUsage) {
		t.Errorf("Verify without a trusted signer: %v", err)
	}
}

func TestEncryptedCosignKey(t *testing.T) {
	t.Parallel()
	k := cosignKey(t, "correct horse")
	if !strings.Contains(k.priv, "ENCRYPTED SIGSTORE PRIVATE KEY") {
		t.Fatalf("not cosign's format: %.60s", k.priv)
	}
	for name, pw := range map[string]string{"wrong password": "battery staple", "no password": ""} {
		_, err := New(Options{Key: k.priv, Password: pw}, nil)
		if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "COSIGN_PASSWORD") {
			t.Errorf("%s: %v", name, err)
		}
		if err != nil && strings.Contains(err.Error(), pw) && pw != "" {
			t.Errorf("%s: error shows the password", name)
		}
	}
	f := newFixture(t, testimage.Fallback)
	b := f.backend(Options{Key: k.priv, Password: "correct horse"})
	e := f.put("approval", `{"ok":true}`)
	s := f.sign(b, e)
	r := f.backend(Options{PublicKey: k.pub})
	if got := f.verified(r, f.query("approval")); !reflect.DeepEqual(got, []string{e.Digest}) {
		t.Errorf("verified %v", got)
	}
	if !strings.HasPrefix(s.Signer, "sha256:") || len(s.Signer) != len("sha256:")+16 {
		t.Errorf("signer %q", s.Signer)
	}
}

// TestKeyed is the fail-closed contract for keyed signatures, on each kind
// of store.
func TestKeyed(t *testing.T) {
	t.Parallel()
	for _, kind := range testimage.Kinds {
		for _, alg := range []string{"ecdsa", "ed25519"} {
			t.Run(kind+"/"+alg, func(t *testing.T) {
				t.Parallel()
				testKeyed(t, kind, alg)
			})
		}
	}
}

func testKeyed(t *testing.T, kind, alg string) {
	f := newFixture(t, kind)
	ours, theirs := newKey(t, alg), newKey(t, alg)
	signer := f.backend(Options{Key: ours.priv})
	forger := f.backend(Options{Key: theirs.priv})
	reader := f.backend(Options{PublicKey: ours.pub})

	// Two signed versions: the newer wins.
	old := f.put("approval", `{"v":1}`)
	f.sign(signer, old)
	signed := f.put("approval", `{"v":2}`)
	s := f.sign(signer, signed)
	vs, err := reader.Verify(f.ctx, f.query("approval"))
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Digest != signed.Digest || vs[1].Digest != old.Digest {
		t.Fatalf("verified %+v", vs)
	}
	if vs[0].Signer != s.Signer || vs[0].Key != "approval" || !vs[0].Created.Equal(signed.Created) {
		t.Errorf("verified[0] = %+v, want signer %s created %s", vs[0], s.Signer, signed.Created)
	}

	// Substituted newer entries: unsigned, and signed by another key. Both
	// are skipped; the signed one still wins.
	f.put("approval", `{"v":"unsigned"}`)
	foreign := f.put("approval", `{"v":"foreign"}`)
	f.sign(forger, foreign)
	if got := f.verified(reader, f.query("approval")); !reflect.DeepEqual(got, []string{signed.Digest, old.Digest}) {
		t.Errorf("after substitutions verified %v", got)
	}
	// The forger's key verifies only its own entry.
	if got := f.verified(f.backend(Options{PublicKey: theirs.pub}), f.query("approval")); !reflect.DeepEqual(got, []string{foreign.Digest}) {
		t.Errorf("with the other key verified %v", got)
	}

	// Wrong key: nothing verifies.
	if got := f.verified(f.backend(Options{PublicKey: newKey(t, alg).pub}), f.query("approval")); len(got) != 0 {
		t.Errorf("with a wrong key verified %v", got)
	}

	// list (every key) sees only signed entries.
	other := f.put("other", "x")
	if got := f.verified(reader, f.query("")); !reflect.DeepEqual(got, []string{signed.Digest, old.Digest}) {
		t.Errorf("list verified %v", got)
	}
	f.sign(signer, other)
	if got := f.verified(reader, f.query("")); len(got) != 3 || got[0] != other.Digest {
		t.Errorf("list after signing another key verified %v", got)
	}
}

// TestMovedAndTampered: a signature copied onto another entry, a bundle
// whose statement was edited, junk bundles and a lying listing.
func TestMovedAndTampered(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testimage.Fallback)
	_, signer, reader := f.keyed("ecdsa")
	signed := f.put("approval", `{"v":1}`)
	f.sign(signer, signed)
	bundle := f.bundles(signed)[0]

	// Moved: an attacker stores a tampered value as a new entry and copies
	// the signature onto it.
	tampered := f.put("approval", `{"v":"tampered"}`)
	f.attach(tampered, bundle)
	if got := f.verified(reader, f.query("approval")); !reflect.DeepEqual(got, []string{signed.Digest}) {
		t.Errorf("moved signature: verified %v", got)
	}

	// Edited statement: the entry digest swapped in, signature kept.
	var pb map[string]any
	json.Unmarshal(bundle, &pb)
	env := pb["dsseEnvelope"].(map[string]any)
	env["payload"] = b64(Must(Statement(f.binding(tampered))))
	edited, _ := json.Marshal(pb)
	f.attach(tampered, edited)
	// Junk anyone can attach: not JSON, a bundle without envelope.
	f.attach(tampered, []byte("not a bundle"))
	f.attach(tampered, []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	if got := f.verified(reader, f.query("approval")); !reflect.DeepEqual(got, []string{signed.Digest}) {
		t.Errorf("edited statement: verified %v", got)
	}

	// A listing that relabels the signed entry or dates it in the future:
	// the signed binding decides.
	q := f.query("approval")
	for i := range q.Candidates {
		q.Candidates[i].Created = time.Now().Add(time.Hour)
	}
	vs, err := reader.Verify(f.ctx, q)
	if err != nil || len(vs) != 1 || !vs[0].Created.Equal(signed.Created) {
		t.Errorf("future-dated listing: %+v %v", vs, err)
	}
	q = trust.Query{Repository: f.storage.Path, Subject: f.subject, Key: "deploy", Candidates: []trust.Candidate{{Key: "deploy", Digest: signed.Digest}}}
	if got := f.verified(reader, q); len(got) != 0 {
		t.Errorf("relabelled entry verified as another key: %v", got)
	}
	q.Key = ""
	if vs, err := reader.Verify(f.ctx, q); err != nil || len(vs) != 1 || vs[0].Key != "approval" {
		t.Errorf("relabelled entry in a listing of every key: %+v %v (want it under its signed key)", vs, err)
	}

	// Replayed on another image: the same signed entry listed for image 2.
	_, otherSubject := f.otherImage("v2")
	q = trust.Query{Subject: otherSubject, Key: "approval", Candidates: []trust.Candidate{{Key: "approval", Digest: signed.Digest}}}
	if got := f.verified(reader, q); len(got) != 0 {
		t.Errorf("replayed on another image: verified %v", got)
	}
}

// TestCosignStyleSignature: a signature without our binding (what `cosign
// sign` makes) is accepted when the entry manifest, read by its digest,
// names the image and key.
func TestCosignStyleSignature(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testimage.Referrers)
	_, signer, reader := f.keyed("ecdsa")
	e := f.put("approval", `{"v":1}`)
	pb, _, err := signer.bundle(f.ctx, sigstoretest.Statement(e.Digest, nil))
	if err != nil {
		t.Fatal(err)
	}
	f.attach(e, Must(protojson.Marshal(pb)))
	vs, err := reader.Verify(f.ctx, f.query("approval"))
	if err != nil || len(vs) != 1 || vs[0].Digest != e.Digest || !vs[0].Created.Equal(e.Created) {
		t.Fatalf("cosign-style signature: %+v %v", vs, err)
	}
	// Listed under another key, the manifest says otherwise.
	q := trust.Query{Subject: f.subject, Key: "deploy", Candidates: []trust.Candidate{{Key: "deploy", Digest: e.Digest}}}
	if got := f.verified(reader, q); len(got) != 0 {
		t.Errorf("relabelled cosign-signed entry verified: %v", got)
	}
	// On another image, the manifest's subject is not that image.
	ot, otherSubject := f.otherImage("v2")
	r2 := &Backend{reg: ot, keyVerifiers: reader.keyVerifiers, fingerprint: reader.fingerprint, now: time.Now}
	q = trust.Query{Subject: otherSubject, Key: "approval", Candidates: []trust.Candidate{{Key: "approval", Digest: e.Digest}}}
	if got, err := r2.Verify(f.ctx, q); err != nil || len(got) != 0 {
		t.Errorf("cosign-signed entry replayed on another image: %v %v", got, err)
	}
	// Another predicate type (an attestation, not a signature) does not
	// count.
	att := f.put("approval", `{"v":2}`)
	stmt := bytes.Replace(sigstoretest.Statement(att.Digest, nil), []byte(PredicateType), []byte("https://slsa.dev/provenance/v1"), 1)
	pb, _, _ = signer.bundle(f.ctx, stmt)
	f.attach(att, Must(protojson.Marshal(pb)))
	if got := f.verified(reader, f.query("approval")); !reflect.DeepEqual(got, []string{e.Digest}) {
		t.Errorf("an attestation counted as a signature: %v", got)
	}
}

// TestInteropWithSigstoreGo checks the format both ways against
// sigstore-go, on which cosign v3 builds: our bundles verify with its
// verifier (as `cosign verify --key … --insecure-ignore-tlog` does), and
// bundles its signer makes with a key (as `cosign sign --key` does) verify
// with ours.
func TestInteropWithSigstoreGo(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"ecdsa", "ed25519"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, testimage.Fallback)
			k, signer, reader := f.keyed(alg)
			e := f.put("approval", "{}")
			f.sign(signer, e)
			data := f.bundles(e)[0]

			// cosign loads the verifier of an Ed25519 key as Ed25519ph.
			sv, err := signature.LoadDefaultVerifier(k.signer.Public(), options.WithED25519ph())
			if err != nil {
				t.Fatal(err)
			}
			key := root.NewExpiringKey(sv, time.Time{}, time.Time{})
			tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
			v, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
			if err != nil {
				t.Fatal(err)
			}
			sb, err := sigstoretest.ParseBundle(data)
			if err != nil {
				t.Fatal(err)
			}
			h, _ := v1.NewHash(e.Digest)
			digest, _ := hex.DecodeString(h.Hex)
			res, err := v.Verify(sb, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithKey()))
			if err != nil {
				t.Fatalf("sigstore-go rejects our bundle: %v", err)
			}
			if res.Statement.GetPredicateType() != PredicateType {
				t.Errorf("predicate type %q", res.Statement.GetPredicateType())
			}

			// The other way: sigstore-go's signer with our key pair.
			e2 := f.put("approval", "{}")
			pb, err := sign.Bundle(&sign.DSSEData{Data: sigstoretest.Statement(e2.Digest, nil), PayloadType: PayloadType}, signer.signer, sign.BundleOptions{})
			if err != nil {
				t.Fatal(err)
			}
			f.attach(e2, Must(protojson.Marshal(pb)))
			if got := f.verified(reader, f.query("approval")); !reflect.DeepEqual(got, []string{e2.Digest, e.Digest}) {
				t.Errorf("verified %v, want the sigstore-go-signed entry first", got)
			}
		})
	}
}

// TestConcurrentSigners: signatures attached at once to one entry, through
// the fallback index, are all kept.
func TestConcurrentSigners(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testimage.Fallback)
	e := f.put("approval", "{}")
	const n = 8
	keys := make([]keyPair, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range keys {
		keys[i] = newKey(t, "ecdsa")
		b := f.backend(Options{Key: keys[i].priv})
		wg.Go(func() {
			// Each signer opens its own target, as separate processes do.
			b.reg = f.open(f.image)
			_, errs[i] = b.Sign(f.ctx, f.binding(e))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("signer %d: %v", i, err)
		}
	}
	if got := len(f.bundles(e)); got != n {
		t.Errorf("%d bundles attached, want %d", got, n)
	}
	for i, k := range keys {
		if got := f.verified(f.backend(Options{PublicKey: k.pub}), f.query("approval")); len(got) != 1 {
			t.Errorf("key %d: verified %v", i, got)
		}
	}
}

func TestRegistryErrorsFailClosed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testimage.Fallback)
	k, signer, reader := f.keyed("ecdsa")
	e := f.put("approval", "{}")
	f.sign(signer, e)
	reader.reg = failingRegistry{f.tgt}
	if _, err := reader.Verify(f.ctx, f.query("approval")); err == nil || !strings.Contains(err.Error(), "registry down") {
		t.Errorf("Verify with a failing registry: %v, want the error", err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	if _, err := f.backend(Options{PublicKey: k.pub}).Verify(ctx, f.query("approval")); err == nil {
		t.Error("Verify with a cancelled context returned no error")
	}
}

// TestVerifyErrorAmongMany: with more candidates than workers, one that
// fails to list fails the whole read with its own error (not the
// cancellation it causes in the others), and a read whose context was
// cancelled fails with context.Canceled.
func TestVerifyErrorAmongMany(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testimage.Referrers)
	_, signer, reader := f.keyed("ecdsa")
	var bad string
	for i := range 3 * verifyWorkers {
		e := f.put("approval", fmt.Sprintf(`{"v":%d}`, i))
		f.sign(signer, e)
		if i == verifyWorkers+1 {
			bad = e.Digest
		}
	}
	reader.reg = failingOneRegistry{Registry: f.tgt, digest: bad}
	_, err := reader.Verify(f.ctx, f.query("approval"))
	if err == nil || !strings.Contains(err.Error(), "registry down for "+bad) || errors.Is(err, context.Canceled) {
		t.Errorf("Verify with one failing candidate: %v, want its error", err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	reader.reg = f.tgt
	if _, err := reader.Verify(ctx, f.query("approval")); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify with a cancelled context: %v, want context.Canceled", err)
	}
}

// failingOneRegistry fails to list the referrers of one digest.
type failingOneRegistry struct {
	Registry
	digest string
}

func (r failingOneRegistry) ReferrersOf(ctx context.Context, of v1.Descriptor, artifactType string) ([]v1.Descriptor, error) {
	if of.Digest.String() == r.digest {
		return nil, errors.New("registry down for " + r.digest)
	}
	return r.Registry.ReferrersOf(ctx, of, artifactType)
}

type failingRegistry struct{ Registry }

func (failingRegistry) ReferrersOf(context.Context, v1.Descriptor, string) ([]v1.Descriptor, error) {
	return nil, errors.New("registry down")
}

func TestStatement(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	b := trust.Binding{Subject: "sha256:" + strings.Repeat("b", 64), Key: "test-results", Entry: "sha256:" + strings.Repeat("a", 64), Created: created}
	got := string(Must(Statement(b)))
	want := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + strings.Repeat("a", 64) + `"},` +
		`"annotations":{"dev.manifesto.image":"sha256:` + strings.Repeat("b", 64) + `","dev.manifesto.key":"test-results",` +
		`"org.opencontainers.image.created":"2026-01-02T03:04:05.123456789Z"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`
	if got != want {
		t.Errorf("statement\n got %s\nwant %s", got, want)
	}
	if _, err := Statement(trust.Binding{Entry: "sha512:abc"}); !errors.Is(err, errdef.ErrUsage) {
		t.Errorf("sha512 entry: %v", err)
	}
}

func Must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return v
}
