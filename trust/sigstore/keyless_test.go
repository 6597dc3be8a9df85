package sigstore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/sigstoretest"
	"github.com/manifesto-dev/manifesto/internal/testimage"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

var (
	workflow      = sigstoretest.WorkflowIdentity("acme/app")
	otherWorkflow = sigstoretest.WorkflowIdentity("mallory/app")
)

// keylessReader trusts identity (issuer "" = GitHub's) with ss's root
// (without CT logs: the virtual Sigstore's certificates carry no SCT).
func (f *fixture) keylessReader(ss *sigstoretest.Sigstore, o Options) *Backend {
	f.t.Helper()
	o.TrustedRoot = Must(ss.TrustedRootJSON(false))
	return f.backend(o)
}

// TestKeylessVerify: bundles made by a virtual Sigstore (Fulcio
// certificate with the identity as SAN, Rekor entry with promise and proof,
// TSA timestamp) verify for the trusted identity and issuer only.
func TestKeylessVerify(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testimage.Fallback)
	ss := sigstoretest.New(t, workflow, sigstoretest.GitHubIssuer)
	e := f.put("approval", `{"v":1}`)
	f.attach(e, Must(ss.Bundle(workflow, sigstoretest.GitHubIssuer, Must(Statement(f.binding(e))))))
	// A newer entry signed by another workflow of the same issuer, and one
	// by the same identity from another issuer.
	byOther := f.put("approval", `{"v":"other workflow"}`)
	f.attach(byOther, Must(ss.Bundle(otherWorkflow, sigstoretest.GitHubIssuer, Must(Statement(f.binding(byOther))))))
	byIssuer := f.put("approval", `{"v":"other issuer"}`)
	f.attach(byIssuer, Must(ss.Bundle(workflow, "https://accounts.example.com", Must(Statement(f.binding(byIssuer))))))

	reader := f.keylessReader(ss, Options{CertificateIdentity: workflow})
	vs, err := reader.Verify(f.ctx, f.query("approval"))
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Digest != e.Digest || vs[0].Signer != workflow {
		t.Fatalf("verified %+v, want only %s signed by %s", vs, e.Digest, workflow)
	}

	for name, o := range map[string]Options{
		"identity mismatch": {CertificateIdentity: sigstoretest.WorkflowIdentity("acme/other")},
		"issuer mismatch":   {CertificateIdentity: workflow, CertificateOIDCIssuer: "https://accounts.example.com/other"},
		"regexp mismatch":   {CertificateIdentityRegexp: `^https://github\.com/acme/other/`},
	} {
		if got := f.verified(f.keylessReader(ss, o), f.query("approval")); len(got) != 0 {
			t.Errorf("%s: verified %v", name, got)
		}
	}
	// The other issuer, trusted explicitly, gets its entry.
	if got := f.verified(f.keylessReader(ss, Options{CertificateIdentity: workflow, CertificateOIDCIssuer: "https://accounts.example.com"}), f.query("approval")); !reflect.DeepEqual(got, []string{byIssuer.Digest}) {
		t.Errorf("other issuer trusted: verified %v", got)
	}
	// A regexp over the organisation accepts both acme workflows... and
	// not mallory's.
	if got := f.verified(f.keylessReader(ss, Options{CertificateIdentityRegexp: `^https://github\.com/(acme|mallory)/app/`}), f.query("approval")); !reflect.DeepEqual(got, []string{byOther.Digest, e.Digest}) {
		t.Errorf("regexp: verified %v", got)
	}

	// A keyless reader does not accept keyed signatures, and the reverse.
	k := newKey(t, "ecdsa")
	keyed := f.put("approval", `{"v":"keyed"}`)
	f.sign(f.backend(Options{Key: k.priv}), keyed)
	if got := f.verified(reader, f.query("approval")); !reflect.DeepEqual(got, []string{e.Digest}) {
		t.Errorf("keyless reader: verified %v", got)
	}
	if got := f.verified(f.backend(Options{PublicKey: k.pub}), f.query("approval")); !reflect.DeepEqual(got, []string{keyed.Digest}) {
		t.Errorf("keyed reader: verified %v", got)
	}

	// Without a trusted log entry or timestamp the certificate cannot be
	// dated: another Sigstore's root trusts neither.
	other := sigstoretest.New(t, workflow, sigstoretest.GitHubIssuer)
	if got := f.verified(f.keylessReader(other, Options{CertificateIdentity: workflow}), f.query("approval")); len(got) != 0 {
		t.Errorf("another Sigstore's root: verified %v", got)
	}
	// A root that lists CT logs requires an SCT from one of them, which
	// these certificates lack.
	withCT := f.backend(Options{CertificateIdentity: workflow, TrustedRoot: Must(ss.TrustedRootJSON(true))})
	if got := f.verified(withCT, f.query("approval")); len(got) != 0 {
		t.Errorf("certificate without SCT, root with CT logs: verified %v", got)
	}
}

// TestKeylessBundleChecks covers the checks of one keyless bundle.
func TestKeylessBundleChecks(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testimage.Layout)
	ss := sigstoretest.New(t, workflow, sigstoretest.GitHubIssuer)
	e := f.put("approval", "{}")
	hexPart := strings.TrimPrefix(e.Digest, "sha256:")
	reader := f.keylessReader(ss, Options{CertificateIdentity: workflow})
	good := Must(ss.Bundle(workflow, sigstoretest.GitHubIssuer, Must(Statement(f.binding(e)))))
	if _, _, err := reader.verifyBundle(good, hexPart); err != nil {
		t.Fatalf("good bundle: %v", err)
	}
	// The same bundle verifies with sigstore-go.
	sb := Must(sigstoretest.ParseBundle(good))
	v := Must(verify.NewVerifier(ss.TrustedMaterial(false), verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1)))
	id := Must(verify.NewShortCertificateIdentity(sigstoretest.GitHubIssuer, "", workflow, ""))
	digest, _ := hex.DecodeString(hexPart)
	if _, err := v.Verify(sb, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithCertificateIdentity(id))); err != nil {
		t.Fatalf("sigstore-go rejects the test bundle: %v", err)
	}

	edit := func(from, to string) []byte {
		s := string(good)
		if !strings.Contains(s, from) {
			t.Fatalf("bundle lacks %q", from)
		}
		return []byte(strings.Replace(s, from, to, 1))
	}
	pb := string(good)
	sigB64 := between(pb, `"sig":"`, `"`)
	bodyB64 := between(pb, `"canonicalizedBody":"`, `"`)
	setB64 := between(pb, `"signedEntryTimestamp":"`, `"`)
	flip := func(s string) string {
		raw, _ := base64.StdEncoding.DecodeString(s)
		raw[len(raw)/2] ^= 1
		return b64(raw)
	}
	for name, data := range map[string][]byte{
		"another digest":    good,
		"signature flipped": edit(sigB64, flip(sigB64)),
		"log body flipped":  edit(bodyB64, flip(bodyB64)),
		"SET flipped":       edit(setB64, flip(setB64)),
		"no log entry":      edit(`"tlogEntries":[`, `"tlogEntriesX":[`),
	} {
		h := hexPart
		if name == "another digest" {
			h = strings.Repeat("0", 64)
		}
		if _, _, err := reader.verifyBundle(data, h); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	return s[:strings.Index(s, to)]
}

// TestKeylessSign signs keyless the way a GitHub Actions job does: the
// job's OIDC token, a certificate from Fulcio, an entry in Rekor, all
// through their HTTP APIs (fakes backed by a virtual Sigstore).
func TestKeylessSign(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testimage.Fallback)
	ss := sigstoretest.New(t, workflow, sigstoretest.GitHubIssuer)
	env := map[string]string{}
	for _, kv := range ss.GitHubEnv() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	signer := f.backend(Options{FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL, IDToken: GitHubIDToken(func(k string) string { return env[k] })})
	e := f.put("approval", `{"v":1}`)
	s := f.sign(signer, e)
	if s.Signer != workflow || ss.RekorEntries() != 1 {
		t.Fatalf("signer %q, %d Rekor entries", s.Signer, ss.RekorEntries())
	}
	// The root lists the CT log whose SCT Fulcio embedded: it is checked.
	reader := f.backend(Options{CertificateIdentity: workflow, TrustedRoot: Must(ss.TrustedRootJSON(true))})
	if got := f.verified(reader, f.query("approval")); !reflect.DeepEqual(got, []string{e.Digest}) {
		t.Errorf("verified %v", got)
	}
	// sigstore-go agrees, SCT included.
	data := f.bundles(e)[0]
	v := Must(verify.NewVerifier(ss.TrustedMaterial(true), verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1), verify.WithSignedCertificateTimestamps(1)))
	id := Must(verify.NewShortCertificateIdentity(sigstoretest.GitHubIssuer, "", workflow, ""))
	h, _ := v1.NewHash(e.Digest)
	digest, _ := hex.DecodeString(h.Hex)
	if _, err := v.Verify(Must(sigstoretest.ParseBundle(data)), verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithCertificateIdentity(id))); err != nil {
		t.Errorf("sigstore-go rejects our keyless bundle: %v", err)
	}

	// With a signing config naming a timestamp authority too, the bundle
	// carries its timestamp, which verifies as well.
	withTSA := f.backend(Options{SigningConfig: ss.SigningConfig(true), IDToken: GitHubIDToken(func(k string) string { return env[k] })})
	e2 := f.put("approval", `{"v":2}`)
	f.sign(withTSA, e2)
	if !strings.Contains(string(f.bundles(e2)[0]), `"rfc3161Timestamps"`) || ss.RekorEntries() != 2 {
		t.Errorf("signing config with a TSA: bundle %s, %d Rekor entries", f.bundles(e2)[0], ss.RekorEntries())
	}
	if got := f.verified(reader, f.query("approval")); !reflect.DeepEqual(got, []string{e2.Digest, e.Digest}) {
		t.Errorf("with TSA: verified %v", got)
	}

	// Outside GitHub Actions there is no token: a usage error, before any
	// request.
	offline := f.backend(Options{FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL, IDToken: GitHubIDToken(func(string) string { return "" })})
	if _, err := offline.Sign(f.ctx, f.binding(e)); !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "id-token: write") {
		t.Errorf("keyless without a token: %v", err)
	}
	// SIGSTORE_ID_TOKEN (GitLab's id_tokens, cosign's variable) is used
	// when set; here it is not the token Fulcio accepts.
	envTok := f.backend(Options{FulcioURL: ss.FulcioURL, RekorURL: ss.RekorURL, IDToken: EnvIDToken(func(k string) string {
		if k == "SIGSTORE_ID_TOKEN" {
			return "a.b.c"
		}
		return env[k]
	})})
	if _, err := envTok.Sign(f.ctx, f.binding(e)); err == nil || errors.Is(err, errdef.ErrUsage) {
		t.Errorf("SIGSTORE_ID_TOKEN not used: %v", err)
	}
	if tok, err := EnvIDToken(func(k string) string { return map[string]string{"SIGSTORE_ID_TOKEN": " t.o.k "}[k] })(f.ctx); tok != "t.o.k" || err != nil {
		t.Errorf("EnvIDToken = %q, %v", tok, err)
	}
	// A Fulcio that refuses says so.
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "nope", http.StatusForbidden) }))
	defer refuse.Close()
	bad := f.backend(Options{FulcioURL: refuse.URL, RekorURL: ss.RekorURL, IDToken: GitHubIDToken(func(k string) string { return env[k] })})
	if _, err := bad.Sign(f.ctx, f.binding(e)); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("Fulcio refusing: %v", err)
	}
}

func TestSigningConfig(t *testing.T) {
	t.Parallel()
	sc := `{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json",
	 "caUrls":[{"url":"https://fulcio.example.com","majorApiVersion":1,"validFor":{"start":"2020-01-01T00:00:00Z"}}],
	 "rekorTlogUrls":[{"url":"https://rekor2.example.com","majorApiVersion":2,"validFor":{"start":"2024-01-01T00:00:00Z"}},
	                  {"url":"https://rekor.example.com","majorApiVersion":1,"validFor":{"start":"2020-01-01T00:00:00Z"}}],
	 "rekorTlogConfig":{"selector":"ANY"},
	 "tsaUrls":[{"url":"https://tsa.example.com/api/v1/timestamp","majorApiVersion":1,"validFor":{"start":"2020-01-01T00:00:00Z"}}],
	 "tsaConfig":{"selector":"ANY"}}`
	b, err := New(Options{SigningConfig: []byte(sc)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := services{fulcio: "https://fulcio.example.com", rekor: []rekorService{{url: "https://rekor.example.com", version: 1}}, tsa: []string{"https://tsa.example.com/api/v1/timestamp"}}
	if !reflect.DeepEqual(b.services, want) {
		t.Errorf("services %+v, want %+v", b.services, want)
	}
	onlyV2 := strings.Replace(sc, `,
	                  {"url":"https://rekor.example.com","majorApiVersion":1,"validFor":{"start":"2020-01-01T00:00:00Z"}}`, "", 1)
	if _, err := New(Options{SigningConfig: []byte(onlyV2)}, nil); !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "v2") {
		t.Errorf("Rekor v2 only: %v", err)
	}
}

func TestTokenSubject(t *testing.T) {
	t.Parallel()
	enc := base64.RawURLEncoding.EncodeToString
	for claims, want := range map[string]string{
		`{"sub":"repo:a/b:ref:refs/heads/main"}`:             "repo:a/b:ref:refs/heads/main",
		`{"sub":"x","email":"a@b.c","email_verified":true}`:  "a@b.c",
		`{"sub":"x","email":"a@b.c","email_verified":false}`: "",
		`{"iss":"i"}`: "",
	} {
		got, err := tokenSubject(enc([]byte(`{}`)) + "." + enc([]byte(claims)) + ".sig")
		if got != want || (want == "") != (err != nil) {
			t.Errorf("%s: %q %v", claims, got, err)
		}
	}
	if _, err := tokenSubject("notajwt"); err == nil {
		t.Error("not a JWT accepted")
	}
	_ = context.Background
}

// TestVerifySCT: the SCT that Fulcio embeds verifies with the CT log's key
// only, and only within the log's validity period.
func TestVerifySCT(t *testing.T) {
	t.Parallel()
	ss := sigstoretest.New(t, workflow, sigstoretest.GitHubIssuer)
	key := Must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	cert := Must(ss.Certificate(key.Public(), workflow, sigstoretest.GitHubIssuer))
	tm := ss.TrustedMaterial(true)
	chains, err := verifyLeaf(&parsedBundle{leaf: cert}, tm, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// logs returns the trusted CT logs with edit applied to each.
	logs := func(edit func(*root.TransparencyLog)) map[string]*root.TransparencyLog {
		out := map[string]*root.TransparencyLog{}
		for id, l := range tm.CTLogs() {
			c := *l
			edit(&c)
			out[id] = &c
		}
		return out
	}
	otherKey := Must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	for _, tc := range []struct {
		name string
		logs map[string]*root.TransparencyLog
		ok   bool
	}{
		{"trusted log", logs(func(*root.TransparencyLog) {}), true},
		{"same log ID, another key", logs(func(l *root.TransparencyLog) { l.PublicKey = otherKey.Public() }), false},
		{"log valid from tomorrow", logs(func(l *root.TransparencyLog) { l.ValidityPeriodStart = time.Now().Add(24 * time.Hour) }), false},
		{"log ended yesterday", logs(func(l *root.TransparencyLog) { l.ValidityPeriodEnd = time.Now().Add(-24 * time.Hour) }), false},
		{"no trusted log", map[string]*root.TransparencyLog{}, false},
	} {
		if err := verifySCT(chains, tc.logs); (err == nil) != tc.ok {
			t.Errorf("%s: verifySCT = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
