// Package sigstoretest stands up a private Sigstore in process for tests:
// a Fulcio CA and a fake Fulcio server that certifies keys for a fixed
// identity, a Rekor v1 log (sigstore-go's VirtualSigstore signs its entry
// timestamps and checkpoints) behind a fake Rekor server, a fake GitHub
// Actions OIDC token endpoint, and the trusted root that trusts them. It
// also builds keyless bundles directly (VirtualSigstore's own Fulcio CA),
// for identities and issuers of the test's choosing.
//
// Nothing here is used by the manifesto binary.
package sigstoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	ctx509util "github.com/google/certificate-transparency-go/x509util"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"
)

// GitHubIssuer is the OIDC issuer of GitHub Actions tokens.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// WorkflowIdentity is a GitHub Actions workflow identity, the certificate
// identity keyless signatures made in that workflow carry.
func WorkflowIdentity(repo string) string {
	return "https://github.com/" + repo + "/.github/workflows/ci.yml@refs/heads/main"
}

// Sigstore is a private Sigstore for tests.
type Sigstore struct {
	// VS is the virtual Sigstore: the Rekor log, a TSA and a second Fulcio
	// CA (for Bundle).
	VS *ca.VirtualSigstore
	// FulcioURL, RekorURL, TSAURL and OIDCURL are the fake servers.
	FulcioURL, RekorURL, TSAURL, OIDCURL string
	// OIDCToken is the bearer token the OIDC endpoint requires
	// (ACTIONS_ID_TOKEN_REQUEST_TOKEN).
	OIDCToken string
	// Identity and Issuer are what the fake Fulcio certifies.
	Identity, Issuer string

	fulcioCA  *root.FulcioCertificateAuthority
	interKey  crypto.Signer
	ctKey     *ecdsa.PrivateKey
	tsa       *root.SigstoreTimestampingAuthority
	tsaKey    *ecdsa.PrivateKey
	mu        sync.Mutex
	rekorHits int
}

// New starts the fake servers (closed when t ends). Fulcio certifies every
// key it is asked to for identity, issued by issuer, when the request
// carries a token from the OIDC endpoint and a valid proof of possession.
func New(t testing.TB, identity, issuer string) *Sigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	ctKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &Sigstore{
		VS: vs, Identity: identity, Issuer: issuer, interKey: interKey, ctKey: ctKey,
		OIDCToken: "oidc-request-token",
		fulcioCA: &root.FulcioCertificateAuthority{
			Root: rootCert, Intermediates: []*x509.Certificate{inter},
			ValidityPeriodStart: time.Now().Add(-time.Hour), URI: "https://fulcio.test",
		},
	}
	tsaInter, tsaInterKey, err := ca.GenerateTSAIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	s.tsaKey = Must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	tsaLeaf, err := ca.GenerateTSALeafCert(time.Now().Add(-time.Minute), s.tsaKey, tsaInter, tsaInterKey)
	if err != nil {
		t.Fatal(err)
	}
	s.tsa = &root.SigstoreTimestampingAuthority{Root: rootCert, Intermediates: []*x509.Certificate{tsaInter}, Leaf: tsaLeaf, URI: "https://tsa.test"}
	for _, srv := range []struct {
		url *string
		h   http.HandlerFunc
	}{{&s.FulcioURL, s.fulcio}, {&s.RekorURL, s.rekor}, {&s.TSAURL, s.timestamp}, {&s.OIDCURL, s.oidc}} {
		ts := httptest.NewServer(srv.h)
		t.Cleanup(ts.Close)
		*srv.url = ts.URL
	}
	return s
}

// GitHubEnv is the environment of a GitHub Actions job allowed to request
// OIDC tokens from the fake endpoint.
func (s *Sigstore) GitHubEnv() []string {
	return []string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + s.OIDCURL + "/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + s.OIDCToken}
}

// RekorEntries says how many entries the fake Rekor logged.
func (s *Sigstore) RekorEntries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rekorHits
}

// idToken is the JWT the OIDC endpoint hands out (unsigned: the fake
// Fulcio checks only that it is this one).
func (s *Sigstore) idToken() string {
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{"iss": s.Issuer, "sub": "repo:owner/repo:ref:refs/heads/main", "aud": "sigstore"})
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(claims) + "." + enc([]byte("sig"))
}

func (s *Sigstore) oidc(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.OIDCToken || r.URL.Query().Get("audience") != "sigstore" {
		http.Error(w, "bad token request", http.StatusUnauthorized)
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"value": s.idToken()})
}

func (s *Sigstore) fulcio(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/signingCert" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.idToken() {
		http.Error(w, "unauthenticated", http.StatusUnauthorized)
		return
	}
	var req struct {
		PublicKeyRequest struct {
			PublicKey struct {
				Content string `json:"content"`
			} `json:"publicKey"`
			ProofOfPossession string `json:"proofOfPossession"`
		} `json:"publicKeyRequest"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(req.PublicKeyRequest.PublicKey.Content))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pop, _ := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
	ecPub, ok := pub.(*ecdsa.PublicKey)
	digest := sha256Sum([]byte("repo:owner/repo:ref:refs/heads/main"))
	if !ok || !ecdsa.VerifyASN1(ecPub, digest, pop) {
		http.Error(w, "bad proof of possession", http.StatusBadRequest)
		return
	}
	leaf, err := s.Certificate(pub, s.Identity, s.Issuer)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	chain := []string{}
	for _, c := range []*x509.Certificate{leaf, s.fulcioCA.Intermediates[0], s.fulcioCA.Root} {
		chain = append(chain, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}}})
}

// Certificate issues a Fulcio-style code signing certificate for pub: the
// identity as URI SAN, the issuer in Fulcio's issuer extensions, valid
// from a minute ago for ten minutes, with an SCT of the test CT log
// embedded (as Fulcio does: the log signs the precertificate, the same
// certificate without the SCT extension).
func (s *Sigstore) Certificate(pub crypto.PublicKey, identity, issuer string) (*x509.Certificate, error) {
	issuerV2, err := asn1.MarshalWithParams(issuer, "utf8")
	if err != nil {
		return nil, err
	}
	u, err := parseURL(identity)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{},
		URIs:         u,
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(10 * time.Minute),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}, Value: []byte(issuer)},
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuerV2},
		},
	}
	inter := s.fulcioCA.Intermediates[0]
	preDER, err := x509.CreateCertificate(rand.Reader, tmpl, inter, pub, s.interKey)
	if err != nil {
		return nil, err
	}
	pre, err := x509.ParseCertificate(preDER)
	if err != nil {
		return nil, err
	}
	sctExt, err := s.sct(pre, inter, now)
	if err != nil {
		return nil, err
	}
	tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, sctExt)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, inter, pub, s.interKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// sct is the embedded-SCT extension for precertificate pre: the test CT
// log's signature over its TBS and its issuer's key hash.
func (s *Sigstore) sct(pre, issuer *x509.Certificate, at time.Time) (pkix.Extension, error) {
	logID := sha256.Sum256(Must(x509.MarshalPKIXPublicKey(s.ctKey.Public())))
	ts := uint64(at.UnixMilli())
	input, err := ct.SerializeSCTSignatureInput(ct.SignedCertificateTimestamp{SCTVersion: ct.V1, Timestamp: ts}, ct.LogEntry{Leaf: ct.MerkleTreeLeaf{
		Version: ct.V1, LeafType: ct.TimestampedEntryLeafType,
		TimestampedEntry: &ct.TimestampedEntry{Timestamp: ts, EntryType: ct.PrecertLogEntryType, PrecertEntry: &ct.PreCert{
			IssuerKeyHash: sha256.Sum256(issuer.RawSubjectPublicKeyInfo), TBSCertificate: pre.RawTBSCertificate,
		}},
	}})
	if err != nil {
		return pkix.Extension{}, err
	}
	digest := sha256.Sum256(input)
	sig, err := ecdsa.SignASN1(rand.Reader, s.ctKey, digest[:])
	if err != nil {
		return pkix.Extension{}, err
	}
	list, err := ctx509util.MarshalSCTsIntoSCTList([]*ct.SignedCertificateTimestamp{{
		SCTVersion: ct.V1, LogID: ct.LogID{KeyID: logID}, Timestamp: ts,
		Signature: ct.DigitallySigned{Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA}, Signature: sig},
	}})
	if err != nil {
		return pkix.Extension{}, err
	}
	raw, err := cttls.Marshal(*list)
	if err != nil {
		return pkix.Extension{}, err
	}
	value, err := asn1.Marshal(raw)
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier(ctx509.OIDExtensionCTSCT), Value: value}, nil
}

// Must panics on an error (test setup).
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// rekor logs a "dsse" entry and answers as Rekor v1 does, with an
// inclusion promise and proof from the virtual log.
func (s *Sigstore) rekor(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/log/entries" {
		http.NotFound(w, r)
		return
	}
	var pe struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       struct {
			ProposedContent struct {
				Envelope  string   `json:"envelope"`
				Verifiers []string `json:"verifiers"`
			} `json:"proposedContent"`
		} `json:"spec"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &pe); err != nil || pe.Kind != "dsse" || pe.APIVersion != "0.0.1" || len(pe.Spec.ProposedContent.Verifiers) != 1 {
		http.Error(w, "not a dsse entry", http.StatusBadRequest)
		return
	}
	var env dsse.Envelope
	if err := json.Unmarshal([]byte(pe.Spec.ProposedContent.Envelope), &env); err != nil || len(env.Signatures) != 1 {
		http.Error(w, "bad envelope", http.StatusBadRequest)
		return
	}
	certPEM, _ := base64.StdEncoding.DecodeString(pe.Spec.ProposedContent.Verifiers[0])
	cert, err := cryptoutils.UnmarshalCertificatesFromPEM(certPEM)
	if err != nil || len(cert) != 1 {
		http.Error(w, "bad verifier", http.StatusBadRequest)
		return
	}
	sig, _ := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	tle, err := s.logEntry(cert[0], &env, sig, time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	s.rekorHits++
	s.mu.Unlock()
	ip := tle.GetInclusionProof()
	hashes := []string{}
	for _, h := range ip.GetHashes() {
		hashes = append(hashes, hex.EncodeToString(h))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"24296fb24b8ad77a" + hex.EncodeToString(sha256Sum(tle.CanonicalizedBody)): map[string]any{
		"body":           base64.StdEncoding.EncodeToString(tle.CanonicalizedBody),
		"integratedTime": tle.IntegratedTime,
		"logID":          hex.EncodeToString(tle.LogId.KeyId),
		"logIndex":       tle.LogIndex,
		"verification": map[string]any{
			"signedEntryTimestamp": base64.StdEncoding.EncodeToString(tle.InclusionPromise.SignedEntryTimestamp),
			"inclusionProof": map[string]any{
				"checkpoint": ip.GetCheckpoint().GetEnvelope(),
				"hashes":     hashes,
				"logIndex":   ip.GetLogIndex(),
				"rootHash":   hex.EncodeToString(ip.GetRootHash()),
				"treeSize":   ip.GetTreeSize(),
			},
		},
	}})
}

// logEntry makes the virtual log's entry for a DSSE signature, in a
// bundle's form: with kind and version, inclusion promise and proof.
func (s *Sigstore) logEntry(cert *x509.Certificate, env *dsse.Envelope, sig []byte, at time.Time) (*protorekor.TransparencyLogEntry, error) {
	e, err := s.VS.GenerateTlogEntry(cert, env, sig, at.Unix(), true)
	if err != nil {
		return nil, err
	}
	tle := e.TransparencyLogEntry()
	set, err := s.VS.RekorSignPayload(tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(tle.CanonicalizedBody),
		IntegratedTime: tle.IntegratedTime,
		LogIndex:       tle.LogIndex,
		LogID:          hex.EncodeToString(tle.LogId.KeyId),
	})
	if err != nil {
		return nil, err
	}
	tle.KindVersion = &protorekor.KindVersion{Kind: "dsse", Version: "0.0.1"}
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
	return tle, nil
}

// timestamp answers RFC 3161 requests as a timestamp authority.
func (s *Sigstore) timestamp(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ts := timestamp.Timestamp{HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage, Time: time.Now(),
		Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}, ExtraExtensions: req.Extensions}
	resp, err := ts.CreateResponseWithOpts(s.tsa.Leaf, s.tsaKey, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(resp)
}

// SigningConfig is a signing config naming the fake Fulcio and Rekor,
// and the fake TSA when withTSA.
func (s *Sigstore) SigningConfig(withTSA bool) []byte {
	svc := func(u string) []any {
		return []any{map[string]any{"url": u, "majorApiVersion": 1, "validFor": map[string]string{"start": "2020-01-01T00:00:00Z"}, "operator": "test"}}
	}
	sc := map[string]any{
		"mediaType":       "application/vnd.dev.sigstore.signingconfig.v0.2+json",
		"caUrls":          svc(s.FulcioURL),
		"rekorTlogUrls":   svc(s.RekorURL),
		"rekorTlogConfig": map[string]any{"selector": "ANY"},
		"tsaConfig":       map[string]any{"selector": "ANY"},
	}
	if withTSA {
		sc["tsaUrls"] = svc(s.TSAURL + "/api/v1/timestamp")
	}
	return Must(json.Marshal(sc))
}

// Bundle signs payload (an in-toto statement) keyless for identity and
// issuer with the virtual Sigstore's own Fulcio CA, logs it in the virtual
// Rekor and has its TSA timestamp it; it returns the bundle's JSON (v0.3).
func (s *Sigstore) Bundle(identity, issuer string, payload []byte) ([]byte, error) {
	ent, err := s.VS.AttestAtTime(identity, issuer, payload, time.Now().Add(time.Minute), true)
	if err != nil {
		return nil, err
	}
	vc, err := ent.VerificationContent()
	if err != nil {
		return nil, err
	}
	sc, err := ent.SignatureContent()
	if err != nil {
		return nil, err
	}
	env := sc.EnvelopeContent().RawEnvelope()
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		return nil, err
	}
	tle, err := s.logEntry(vc.Certificate(), env, sig, time.Now().Add(time.Minute))
	if err != nil {
		return nil, err
	}
	tss, err := ent.Timestamps()
	if err != nil {
		return nil, err
	}
	vm := &protobundle.VerificationMaterial{
		Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
		TlogEntries: []*protorekor.TransparencyLogEntry{tle},
	}
	for _, ts := range tss {
		if vm.TimestampVerificationData == nil {
			vm.TimestampVerificationData = &protobundle.TimestampVerificationData{}
		}
		vm.TimestampVerificationData.Rfc3161Timestamps = append(vm.TimestampVerificationData.Rfc3161Timestamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	}
	pb := &protobundle.Bundle{
		MediaType:            "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: env.PayloadType, Signatures: []*protodsse.Signature{{Sig: sig}},
		}},
	}
	return protojson.Marshal(pb)
}

// ParseBundle parses bundle JSON with sigstore-go (for cross-checks).
func ParseBundle(data []byte) (*bundle.Bundle, error) {
	var b bundle.Bundle
	return &b, b.UnmarshalJSON(data)
}

// TrustedMaterial trusts the fake Fulcio's CA, the virtual Sigstore's
// Fulcio CA, Rekor log and TSA; with withCT also the CT log whose SCTs the
// fake Fulcio embeds, so that verifiers require SCTs (which the virtual
// Sigstore's own certificates, those of Bundle, lack).
func (s *Sigstore) TrustedMaterial(withCT bool) root.TrustedMaterial {
	return &material{s: s, withCT: withCT}
}

type material struct {
	root.BaseTrustedMaterial
	s      *Sigstore
	withCT bool
}

func (m *material) CTLogs() map[string]*root.TransparencyLog {
	if !m.withCT {
		return nil
	}
	return m.s.ctLogs()
}

func (s *Sigstore) ctLogs() map[string]*root.TransparencyLog {
	id := sha256.Sum256(Must(x509.MarshalPKIXPublicKey(s.ctKey.Public())))
	return map[string]*root.TransparencyLog{hex.EncodeToString(id[:]): {
		BaseURL: "https://ctfe.test", ID: id[:], ValidityPeriodStart: time.Now().Add(-time.Hour),
		HashFunc: crypto.SHA256, PublicKey: s.ctKey.Public(), SignatureHashFunc: crypto.SHA256,
	}}
}

func (m *material) FulcioCertificateAuthorities() []root.CertificateAuthority {
	return append([]root.CertificateAuthority{m.s.fulcioCA}, m.s.VS.FulcioCertificateAuthorities()...)
}
func (m *material) RekorLogs() map[string]*root.TransparencyLog { return rekorLogs(m.s.VS) }
func (m *material) TimestampingAuthorities() []root.TimestampingAuthority {
	return append([]root.TimestampingAuthority{m.s.tsa}, m.s.VS.TimestampingAuthorities()...)
}

// rekorLogs is the virtual log with its ID as raw bytes (VirtualSigstore
// keeps the hex string, which a trusted root file cannot carry).
func rekorLogs(vs *ca.VirtualSigstore) map[string]*root.TransparencyLog {
	out := map[string]*root.TransparencyLog{}
	for id, l := range vs.RekorLogs() {
		c := *l
		c.ID, _ = hex.DecodeString(id)
		out[id] = &c
	}
	return out
}

// TrustedRootJSON is TrustedMaterial(withCT) as a trusted root file.
func (s *Sigstore) TrustedRootJSON(withCT bool) ([]byte, error) {
	m := s.TrustedMaterial(withCT)
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, m.FulcioCertificateAuthorities(), m.CTLogs(),
		m.TimestampingAuthorities(), m.RekorLogs())
	if err != nil {
		return nil, err
	}
	return tr.MarshalJSON()
}

// Statement is a cosign signature statement about a sha256 digest, with
// optional subject annotations.
func Statement(digest string, annotations map[string]string) []byte {
	sub := map[string]any{"digest": map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")}}
	if annotations != nil {
		sub["annotations"] = annotations
	}
	b, _ := json.Marshal(map[string]any{
		"_type": "https://in-toto.io/Statement/v1", "subject": []any{sub},
		"predicateType": "https://sigstore.dev/cosign/sign/v1", "predicate": map[string]any{},
	})
	return b
}

func parseURL(s string) ([]*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("identity %q: %w", s, err)
	}
	return []*url.URL{u}, nil
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
