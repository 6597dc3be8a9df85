package sigstore

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/sethvargo/go-githubactions"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// maxResponse caps what Fulcio, Rekor and a TSA may answer.
const maxResponse = 1 << 20

// EnvIDToken returns an Options.IDToken for CI systems: the token in
// SIGSTORE_ID_TOKEN when set (cosign's variable; on GitLab CI declare it
// under `id_tokens:` with `aud: sigstore`), else GitHubIDToken's.
func EnvIDToken(getenv func(string) string) func(ctx context.Context) (string, error) {
	github := GitHubIDToken(getenv)
	return func(ctx context.Context) (string, error) {
		if tok := strings.TrimSpace(getenv("SIGSTORE_ID_TOKEN")); tok != "" {
			return tok, nil
		}
		return github(ctx)
	}
}

// GitHubIDToken returns an Options.IDToken that asks GitHub Actions for
// the job's OIDC token with audience "sigstore" (the job needs
// `permissions: id-token: write`). getenv reads ACTIONS_ID_TOKEN_REQUEST_URL
// and ACTIONS_ID_TOKEN_REQUEST_TOKEN.
func GitHubIDToken(getenv func(string) string) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		if getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" || getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") == "" {
			return "", errdef.Usagef("sigstore: no signing key (sigstore_key) and no OIDC token to sign keyless " +
				"(ACTIONS_ID_TOKEN_REQUEST_URL is not set: run on GitHub Actions with `permissions: id-token: write`, " +
				"set SIGSTORE_ID_TOKEN, or give sigstore_key)")
		}
		tok, err := githubactions.New(githubactions.WithGetenv(getenv)).GetIDToken(ctx, oidcAudience)
		if err != nil {
			return "", fmt.Errorf("sigstore: get the GitHub Actions OIDC token: %w", err)
		}
		return tok, nil
	}
}

// API versions this package speaks: Fulcio v2's signingCert (major API
// version 1 in signing configs), Rekor v1 and RFC 3161 timestamp
// authorities.
var (
	fulcioAPIVersions = []uint32{1}
	rekorAPIVersions  = []uint32{1}
	tsaAPIVersions    = []uint32{1}
)

// servicesFromSigningConfig picks Fulcio, Rekor and timestamp authorities
// from a signing config (JSON) the way cosign does: the newest service of
// each kind valid now with an API version we speak.
func servicesFromSigningConfig(js []byte, now time.Time) (services, error) {
	sc, err := root.NewSigningConfigFromJSON(js)
	if err != nil {
		return services{}, errdef.Usagef("sigstore: signing_config is not a Sigstore signing config: %v", err)
	}
	var s services
	f, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), fulcioAPIVersions, now)
	if err != nil {
		return services{}, errdef.Usagef("sigstore: signing_config names no usable Fulcio: %v", err)
	}
	s.fulcio = strings.TrimRight(f.URL, "/")
	if len(sc.RekorLogURLs()) > 0 {
		rs, err := root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), rekorAPIVersions, now)
		if err != nil {
			return services{}, errdef.Usagef("sigstore: signing_config names no usable Rekor (Rekor v1 logs are supported, not v2): %v", err)
		}
		for _, r := range rs {
			s.rekor = append(s.rekor, rekorService{url: strings.TrimRight(r.URL, "/"), version: r.MajorAPIVersion})
		}
	}
	if len(sc.TimestampAuthorityURLs()) > 0 {
		ts, err := root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), tsaAPIVersions, now)
		if err != nil {
			return services{}, errdef.Usagef("sigstore: signing_config names no usable timestamp authority: %v", err)
		}
		for _, t := range ts {
			s.tsa = append(s.tsa, t.URL)
		}
	}
	if len(s.rekor) == 0 && len(s.tsa) == 0 {
		return services{}, errdef.Usagef("sigstore: signing_config names neither Rekor nor a timestamp authority: a keyless signature needs one to prove when it was made")
	}
	return s, nil
}

// keylessBundle signs payload with a fresh key that Fulcio certifies for
// the OIDC identity, then logs the signature in Rekor and has it
// timestamped, as the services say.
func (b *Backend) keylessBundle(ctx context.Context, payload []byte) (*protobundle.Bundle, string, error) {
	if b.idToken == nil {
		return nil, "", errdef.Usagef("sigstore: no signing key (sigstore_key) and no way to sign keyless here")
	}
	tok, err := b.idToken(ctx)
	if err != nil {
		return nil, "", err
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("sigstore: %w", err)
	}
	kp, err := newKeypair(priv)
	if err != nil {
		return nil, "", err
	}
	der, err := b.fulcioCertificate(ctx, kp, tok)
	if err != nil {
		return nil, "", fmt.Errorf("sigstore: keyless signing: Fulcio %s: %w", b.services.fulcio, err)
	}
	signer, err := signerOfCertificate(der)
	if err != nil {
		return nil, "", fmt.Errorf("sigstore: the certificate from Fulcio: %w", err)
	}
	sig, _, err := kp.SignData(ctx, pae(PayloadType, payload))
	if err != nil {
		return nil, "", fmt.Errorf("sigstore: %w", err)
	}
	pb := newBundle(PayloadType, payload, sig, certMaterial(der))
	vm := pb.VerificationMaterial
	for _, u := range b.services.tsa {
		ts, err := b.timestamp(ctx, u, sig)
		if err != nil {
			return nil, "", fmt.Errorf("sigstore: keyless signing: timestamp authority %s: %w", u, err)
		}
		if vm.TimestampVerificationData == nil {
			vm.TimestampVerificationData = &protobundle.TimestampVerificationData{}
		}
		vm.TimestampVerificationData.Rfc3161Timestamps = append(vm.TimestampVerificationData.Rfc3161Timestamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for _, r := range b.services.rekor {
		e, err := b.rekorEntry(ctx, r.url, pb, certPEM)
		if err != nil {
			return nil, "", fmt.Errorf("sigstore: keyless signing: Rekor %s: %w", r.url, err)
		}
		vm.TlogEntries = append(vm.TlogEntries, e)
	}
	return pb, signer, nil
}

// httpClient is the client for the keyless signing services; a whole
// exchange (headers and body) is bounded by two minutes.
func (b *Backend) httpClient() *http.Client {
	return &http.Client{Transport: b.transport, Timeout: 2 * time.Minute}
}

// post sends body and returns the status, headers and body of an answer
// whose status is one of ok.
func (b *Backend) post(ctx context.Context, url, contentType string, body []byte, header http.Header, ok ...int) (int, http.Header, []byte, error) {
	return b.exchange(ctx, http.MethodPost, url, contentType, body, header, ok...)
}

// get returns the body of a 200 answer to a GET of url.
func (b *Backend) get(ctx context.Context, url string) ([]byte, error) {
	_, _, data, err := b.exchange(ctx, http.MethodGet, url, "", nil, nil, http.StatusOK)
	return data, err
}

// exchange is one request to a keyless signing service: body (none when
// nil) of contentType with header, an answer of at most maxResponse bytes
// whose status must be one of ok; any other status is an error quoting the
// start of the answer.
func (b *Backend) exchange(ctx context.Context, method, url, contentType string, body []byte, header http.Header, ok ...int) (int, http.Header, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "manifesto")
	resp, err := b.httpClient().Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return 0, nil, nil, err
	}
	for _, c := range ok {
		if resp.StatusCode == c {
			return resp.StatusCode, resp.Header, data, nil
		}
	}
	msg := strings.TrimSpace(string(data))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return resp.StatusCode, resp.Header, nil, fmt.Errorf("%s answered %s: %s", url, resp.Status, msg)
}

// tokenSubject is the identity Fulcio certifies, from the (unverified)
// token: its email when it has a verified one, else its subject. The
// proof of possession signs it.
func tokenSubject(tok string) (string, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", errors.New("the OIDC token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", fmt.Errorf("the OIDC token's claims: %w", err)
	}
	var c struct {
		Subject  string `json:"sub"`
		Email    string `json:"email"`
		Verified bool   `json:"email_verified"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", fmt.Errorf("the OIDC token's claims: %w", err)
	}
	if c.Email != "" {
		if !c.Verified {
			return "", errors.New("the OIDC token's email is not verified")
		}
		return c.Email, nil
	}
	if c.Subject == "" {
		return "", errors.New("the OIDC token has no subject")
	}
	return c.Subject, nil
}

// fulcioCertificate asks Fulcio (API v2, signingCert) to certify kp's
// public key for the token's identity and returns the leaf certificate
// (DER).
func (b *Backend) fulcioCertificate(ctx context.Context, kp *keypair, tok string) ([]byte, error) {
	subject, err := tokenSubject(tok)
	if err != nil {
		return nil, err
	}
	pop, _, err := kp.SignData(ctx, []byte(subject))
	if err != nil {
		return nil, err
	}
	pubPEM, err := kp.GetPublicKeyPem()
	if err != nil {
		return nil, err
	}
	var req struct {
		PublicKeyRequest struct {
			PublicKey struct {
				Algorithm string `json:"algorithm"`
				Content   string `json:"content"`
			} `json:"publicKey"`
			ProofOfPossession string `json:"proofOfPossession"`
		} `json:"publicKeyRequest"`
	}
	req.PublicKeyRequest.PublicKey.Algorithm = kp.GetKeyAlgorithm()
	req.PublicKeyRequest.PublicKey.Content = pubPEM
	req.PublicKeyRequest.ProofOfPossession = base64.StdEncoding.EncodeToString(pop)
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	_, _, data, err := b.post(ctx, b.services.fulcio+"/api/v2/signingCert", "application/json", body,
		http.Header{"Authorization": {"Bearer " + tok}}, http.StatusOK, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Embedded struct {
			Chain struct {
				Certificates []string `json:"certificates"`
			} `json:"chain"`
		} `json:"signedCertificateEmbeddedSct"`
		Detached struct {
			Chain struct {
				Certificates []string `json:"certificates"`
			} `json:"chain"`
		} `json:"signedCertificateDetachedSct"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("unexpected answer: %w", err)
	}
	certs := resp.Embedded.Chain.Certificates
	if len(certs) == 0 {
		certs = resp.Detached.Chain.Certificates
	}
	if len(certs) == 0 {
		return nil, errors.New("no certificate in the answer")
	}
	block, _ := pem.Decode([]byte(certs[0]))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("the answer's certificate is not PEM")
	}
	return block.Bytes, nil
}

// rekorEntry logs the bundle's DSSE envelope as a Rekor v1 "dsse" entry
// and returns the log entry for the bundle (with its inclusion promise and
// proof).
func (b *Backend) rekorEntry(ctx context.Context, base string, pb *protobundle.Bundle, certPEM []byte) (*protorekor.TransparencyLogEntry, error) {
	env := pb.GetDsseEnvelope()
	type sigJSON struct {
		Sig string `json:"sig"`
	}
	envJSON, err := json.Marshal(struct {
		Payload     string    `json:"payload"`
		PayloadType string    `json:"payloadType"`
		Signatures  []sigJSON `json:"signatures"`
	}{
		Payload:     base64.StdEncoding.EncodeToString(env.GetPayload()),
		PayloadType: env.GetPayloadType(),
		Signatures:  []sigJSON{{Sig: base64.StdEncoding.EncodeToString(env.GetSignatures()[0].GetSig())}},
	})
	if err != nil {
		return nil, err
	}
	proposed := map[string]any{
		"apiVersion": "0.0.1",
		"kind":       "dsse",
		"spec": map[string]any{"proposedContent": map[string]any{
			"envelope":  string(envJSON),
			"verifiers": []string{base64.StdEncoding.EncodeToString(certPEM)},
		}},
	}
	body, err := json.Marshal(proposed)
	if err != nil {
		return nil, err
	}
	code, hdr, data, err := b.post(ctx, base+"/api/v1/log/entries", "application/json", body, nil, http.StatusCreated, http.StatusConflict)
	if err != nil {
		return nil, err
	}
	if code == http.StatusConflict {
		// Logged already (a retry): fetch the existing entry.
		loc := hdr.Get("Location")
		if loc == "" {
			return nil, errors.New("409 without the existing entry's location")
		}
		data, err = b.get(ctx, base+"/api/v1/log/entries/"+path.Base(loc))
		if err != nil {
			return nil, err
		}
	}
	return parseRekorResponse(data)
}

// rekorLogEntry is one entry of a Rekor v1 API answer.
type rekorLogEntry struct {
	Body           string `json:"body"`
	IntegratedTime int64  `json:"integratedTime"`
	LogID          string `json:"logID"`
	LogIndex       int64  `json:"logIndex"`
	Verification   struct {
		InclusionProof *struct {
			Checkpoint string   `json:"checkpoint"`
			Hashes     []string `json:"hashes"`
			LogIndex   int64    `json:"logIndex"`
			RootHash   string   `json:"rootHash"`
			TreeSize   int64    `json:"treeSize"`
		} `json:"inclusionProof"`
		SignedEntryTimestamp string `json:"signedEntryTimestamp"`
	} `json:"verification"`
}

// parseRekorResponse turns a Rekor v1 answer ({uuid: entry}) into the
// bundle's form of a log entry. Nothing here is trusted: readers verify it.
func parseRekorResponse(data []byte) (*protorekor.TransparencyLogEntry, error) {
	var m map[string]rekorLogEntry
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("unexpected answer: %w", err)
	}
	if len(m) != 1 {
		return nil, fmt.Errorf("answer has %d entries, want 1", len(m))
	}
	var e rekorLogEntry
	for _, v := range m {
		e = v
	}
	body, err := base64.StdEncoding.DecodeString(e.Body)
	if err != nil {
		return nil, fmt.Errorf("entry body: %w", err)
	}
	var kv struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(body, &kv); err != nil {
		return nil, fmt.Errorf("entry body: %w", err)
	}
	logID, err := hex.DecodeString(e.LogID)
	if err != nil {
		return nil, fmt.Errorf("log ID: %w", err)
	}
	tle := &protorekor.TransparencyLogEntry{
		LogIndex:          e.LogIndex,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: kv.Kind, Version: kv.APIVersion},
		IntegratedTime:    e.IntegratedTime,
		CanonicalizedBody: body,
	}
	if e.Verification.SignedEntryTimestamp != "" {
		set, err := base64.StdEncoding.DecodeString(e.Verification.SignedEntryTimestamp)
		if err != nil {
			return nil, fmt.Errorf("signed entry timestamp: %w", err)
		}
		tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
	}
	if p := e.Verification.InclusionProof; p != nil {
		rootHash, err := hex.DecodeString(p.RootHash)
		if err != nil {
			return nil, fmt.Errorf("inclusion proof: %w", err)
		}
		ip := &protorekor.InclusionProof{LogIndex: p.LogIndex, RootHash: rootHash, TreeSize: p.TreeSize, Checkpoint: &protorekor.Checkpoint{Envelope: p.Checkpoint}}
		for _, h := range p.Hashes {
			hb, err := hex.DecodeString(h)
			if err != nil {
				return nil, fmt.Errorf("inclusion proof: %w", err)
			}
			ip.Hashes = append(ip.Hashes, hb)
		}
		tle.InclusionProof = ip
	}
	return tle, nil
}

// timestamp asks an RFC 3161 timestamp authority to timestamp sig.
func (b *Backend) timestamp(ctx context.Context, url string, sig []byte) ([]byte, error) {
	req, err := timestamp.CreateRequest(bytes.NewReader(sig), &timestamp.RequestOptions{Hash: crypto.SHA256, Certificates: true})
	if err != nil {
		return nil, err
	}
	_, _, data, err := b.post(ctx, url, "application/timestamp-query", req, nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	if _, err := timestamp.ParseResponse(data); err != nil {
		return nil, fmt.Errorf("unexpected answer: %w", err)
	}
	return data, nil
}
