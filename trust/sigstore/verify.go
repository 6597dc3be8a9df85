package sigstore

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	ct "github.com/google/certificate-transparency-go"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/google/certificate-transparency-go/x509util"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"golang.org/x/sync/errgroup"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/newest"
	"github.com/manifesto-dev/manifesto/trust"
)

// verifyWorkers bounds how many candidates are checked at once.
const verifyWorkers = 4

// Verify returns the candidates of q (of q.Key, or all when it is empty)
// that carry a valid signature of the trusted identity, newest first
// (latest created, ties broken by the larger digest). Key and Created come
// from signed data: the statement's binding, or else the entry manifest
// fetched by its digest. See the package documentation for what is checked
// and what is an error.
func (b *Backend) Verify(ctx context.Context, q trust.Query) ([]trust.Verified, error) {
	if b.keyVerifiers == nil && b.identity == nil {
		return nil, errdef.Usagef("sigstore: verified reads need a trusted signer: public_key (or the signing key sigstore_key), " +
			"or certificate_identity for keyless signatures")
	}
	reg, err := b.registry()
	if err != nil {
		return nil, err
	}
	if _, ok := entryHex(q.Subject); !ok {
		return nil, errdef.Usagef("sigstore: image digest %q is not a sha256 digest", q.Subject)
	}
	if b.identity != nil {
		if _, err := b.trustedMaterial(); err != nil {
			return nil, err
		}
	}
	var cands []trust.Candidate
	for _, c := range q.Candidates {
		if q.Key == "" || c.Key == q.Key {
			cands = append(cands, c)
		}
	}

	results := make([]*trust.Verified, len(cands))
	warnings := make([][]string, len(cands))
	errs := make([]error, len(cands))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(verifyWorkers)
	for i, c := range cands {
		g.Go(func() error {
			// The first error cancels gctx for the candidates still
			// being checked and those not started yet.
			results[i], warnings[i], errs[i] = b.verifyCandidate(gctx, reg, q, c)
			return errs[i]
		})
	}
	_ = g.Wait() // errs holds every error, in candidate order
	for _, e := range errs {
		// The first real error says what went wrong; the other workers'
		// cancellations add nothing.
		if e != nil && !errors.Is(e, context.Canceled) {
			return nil, e
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if q.Warn != nil {
		seen := map[string]bool{}
		for _, ws := range warnings {
			for _, w := range ws {
				if !seen[w] {
					seen[w] = true
					q.Warn(w)
				}
			}
		}
	}
	var out []trust.Verified
	for _, v := range results {
		if v != nil {
			out = append(out, *v)
		}
	}
	trust.SortNewest(out)
	return out, nil
}

// trustedMaterial is the keyless trusted root: the given one, or the
// public-good root through TUF, fetched once.
func (b *Backend) trustedMaterial() (root.TrustedMaterial, error) {
	b.rootOnce.Do(func() {
		if b.tm != nil || b.fetchRoot == nil {
			return
		}
		b.tm, b.tmErr = b.fetchRoot()
		if b.tmErr != nil {
			b.tmErr = fmt.Errorf("sigstore: fetch the public-good Sigstore trusted root through TUF (give trusted_root for a private or offline deployment): %w", b.tmErr)
		}
	})
	if b.tmErr != nil {
		return nil, b.tmErr
	}
	if b.tm == nil {
		return nil, errdef.Usagef("sigstore: no trusted root")
	}
	return b.tm, nil
}

func fetchPublicGoodRoot() (root.TrustedMaterial, error) {
	return root.FetchTrustedRoot()
}

// verifyCandidate returns c if one of its bundles verifies and binds it to
// q's image (and key), nil if none does. When none does, it also returns
// why the bundles that verify but contradict the entry were ignored.
func (b *Backend) verifyCandidate(ctx context.Context, reg Registry, q trust.Query, c trust.Candidate) (*trust.Verified, []string, error) {
	hexPart, ok := entryHex(c.Digest)
	if !ok {
		return nil, nil, nil // not a digest we sign (nor cosign by default)
	}
	h := v1.Hash{Algorithm: "sha256", Hex: hexPart}
	// Every referrer, not only those listed with the bundle's artifactType:
	// some registries list the config media type instead (go-containerregistry's
	// own registry does). The manifest fetched decides.
	ds, err := reg.ReferrersOf(ctx, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h}, "")
	if err != nil {
		return nil, nil, fmt.Errorf("sigstore: signatures of %s: %w", c.Digest, err)
	}
	var warnings []string
	for _, d := range ds {
		if d.ArtifactType != "" && d.ArtifactType != BundleMediaType && d.ArtifactType != string(types.OCIEmptyJSON) {
			continue
		}
		m, layers, err := reg.FetchArtifact(ctx, d)
		if errors.Is(err, errdef.ErrNotFound) || errors.Is(err, errdef.ErrInvalidResponse) {
			continue // deleted since the listing, or junk anyone could attach
		}
		if err != nil {
			return nil, nil, fmt.Errorf("sigstore: signature %s of %s: %w", d.Digest, c.Digest, err)
		}
		if m.Subject == nil || m.Subject.Digest != h || m.ArtifactType != BundleMediaType {
			continue
		}
		for i, l := range m.Layers {
			if string(l.MediaType) != BundleMediaType || i >= len(layers) {
				continue
			}
			signer, st, err := b.verifyBundle(layers[i], hexPart)
			if err != nil {
				continue
			}
			v, warning, err := b.bind(ctx, reg, q, c, st, signer)
			if err != nil {
				return nil, nil, err
			}
			if v != nil {
				return v, nil, nil
			}
			if warning != "" {
				warnings = append(warnings, warning)
			}
		}
	}
	return nil, warnings, nil
}

// verifyBundle verifies a bundle (JSON) against the trusted identity and
// the entry digest (hex), and returns the signer and the signed statement's
// subject annotations for that digest.
func (b *Backend) verifyBundle(data []byte, entryHex string) (string, map[string]any, error) {
	p, err := parseBundle(data)
	if err != nil {
		return "", nil, err
	}
	if p.payloadType != PayloadType {
		return "", nil, fmt.Errorf("payload type %q is not an in-toto statement", p.payloadType)
	}
	var signer string
	if b.keyVerifiers != nil {
		if p.leaf != nil {
			return "", nil, errors.New("a certificate signature where a key signature is trusted")
		}
		if err := verifyDSSE(b.keyVerifiers, p); err != nil {
			return "", nil, err
		}
		signer = b.fingerprint
	} else {
		if signer, err = b.verifyKeyless(p); err != nil {
			return "", nil, err
		}
	}
	ann, err := checkStatement(p.payload, entryHex)
	if err != nil {
		return "", nil, err
	}
	return signer, ann, nil
}

// verifyDSSE checks the envelope's signature with any of the verifiers.
func verifyDSSE(vs []signature.Verifier, p *parsedBundle) error {
	msg := pae(p.payloadType, p.payload)
	for _, v := range vs {
		if v.VerifySignature(bytes.NewReader(p.sig), bytes.NewReader(msg)) == nil {
			return nil
		}
	}
	return errors.New("the signature does not verify with the trusted key")
}

// verifyKeyless verifies a certificate signature the way sigstore-go's
// verifier does with a transparency log, observer timestamps and (when the
// trusted root has CT logs) SCTs: every verified log entry of a trusted
// Rekor log (one at least, when the root has Rekor logs) and timestamp of
// a trusted authority gives a time at which the certificate must chain to
// a trusted Fulcio CA, for code signing; the certificate's identity and
// issuer must match; the envelope's signature must verify with its key.
// It returns the certificate's identity.
func (b *Backend) verifyKeyless(p *parsedBundle) (string, error) {
	if p.leaf == nil {
		return "", errors.New("a key signature where a keyless identity is trusted")
	}
	tm, err := b.trustedMaterial()
	if err != nil {
		return "", err
	}
	var times []time.Time
	logs := tm.RekorLogs()
	verifiedLogs := map[string]bool{}
	seen := map[string]bool{}
	for _, e := range p.tlog {
		id := fmt.Sprintf("%x/%d", e.GetLogId().GetKeyId(), e.GetLogIndex())
		if seen[id] {
			return "", errors.New("duplicate log entries")
		}
		seen[id] = true
		t, err := verifyTlogEntry(e, p, logs)
		if err != nil {
			continue
		}
		logKey := hex.EncodeToString(e.GetLogId().GetKeyId())
		if !t.IsZero() && !verifiedLogs[logKey] {
			times = append(times, t)
		}
		verifiedLogs[logKey] = true
	}
	if len(logs) > 0 && len(verifiedLogs) == 0 {
		return "", errors.New("no entry of a trusted transparency log verifies")
	}
	for _, ts := range p.timestamps {
		for _, tsa := range tm.TimestampingAuthorities() {
			if t, err := tsa.Verify(ts, p.sig); err == nil {
				times = append(times, t.Time)
				break
			}
		}
	}
	if len(times) == 0 {
		return "", errors.New("no trusted time for the signature (log integrated time or signed timestamp)")
	}
	var chains [][]*x509.Certificate
	for _, t := range times {
		if chains, err = verifyLeaf(p, tm, t); err != nil {
			return "", err
		}
	}
	if len(tm.CTLogs()) > 0 {
		if err := verifySCT(chains, tm.CTLogs()); err != nil {
			return "", err
		}
	}
	summary, err := certificate.SummarizeCertificate(p.leaf)
	if err != nil {
		return "", err
	}
	if err := b.identity.match(summary); err != nil {
		return "", err
	}
	v, err := signature.LoadDefaultVerifier(p.leaf.PublicKey)
	if err != nil {
		return "", err
	}
	if err := verifyDSSE([]signature.Verifier{v}, p); err != nil {
		return "", errors.New("the signature does not verify with the certificate's key")
	}
	return summary.SubjectAlternativeName, nil
}

// verifyLeaf chains the leaf to a trusted Fulcio CA at time t.
func verifyLeaf(p *parsedBundle, tm root.TrustedMaterial, t time.Time) ([][]*x509.Certificate, error) {
	for _, ca := range tm.FulcioCertificateAuthorities() {
		fca, ok := ca.(*root.FulcioCertificateAuthority)
		if ok && len(p.intermediates) > 0 {
			withChain := *fca
			withChain.Intermediates = append(append([]*x509.Certificate(nil), fca.Intermediates...), p.intermediates...)
			ca = &withChain
		}
		if chains, err := ca.Verify(p.leaf, t); err == nil {
			return chains, nil
		}
	}
	return nil, fmt.Errorf("the certificate does not chain to a trusted Fulcio CA at %s", t.UTC().Format(time.RFC3339))
}

// verifySCT requires a valid embedded SCT from a trusted CT log, as
// sigstore-go's VerifySignedCertificateTimestamp does.
func verifySCT(chains [][]*x509.Certificate, ctlogs map[string]*root.TransparencyLog) error {
	if len(chains) == 0 || len(chains[0]) < 2 {
		return errors.New("no certificate chain for the SCT")
	}
	leaf := chains[0][0]
	scts, err := x509util.ParseSCTsFromCertificate(leaf.Raw)
	if err != nil {
		return fmt.Errorf("certificate SCTs: %w", err)
	}
	leafCT, err := ctx509.ParseCertificates(leaf.Raw)
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	for _, sct := range scts {
		key, ok := ctlogs[hex.EncodeToString(sct.LogID.KeyID[:])]
		if !ok {
			continue
		}
		t := ct.TimestampToTime(sct.Timestamp)
		if (!key.ValidityPeriodStart.IsZero() && t.Before(key.ValidityPeriodStart)) || (!key.ValidityPeriodEnd.IsZero() && t.After(key.ValidityPeriodEnd)) {
			continue
		}
		for _, chain := range chains {
			if len(chain) < 2 {
				continue
			}
			issuer, err := ctx509.ParseCertificates(chain[1].Raw)
			if err != nil {
				continue
			}
			if verifyEmbeddedSCT(key.PublicKey, append(append([]*ctx509.Certificate(nil), leafCT...), issuer...), sct) == nil {
				return nil
			}
		}
	}
	return errors.New("no valid SCT of a trusted CT log in the certificate")
}

// verifyEmbeddedSCT checks the signature of sct, an SCT embedded in chain[0]
// (chain[1] is its issuer), with a CT log's public key: what
// ctutil.VerifySCT(pub, chain, sct, true) does, less its check that sct is in
// chain[0]'s SCT list, which holds here (verifySCT takes the SCTs from that
// list). Not ctutil itself: importing it links its loglist3 and k8s.io/klog
// packages and their init functions, which nothing here uses.
func verifyEmbeddedSCT(pub crypto.PublicKey, chain []*ctx509.Certificate, sct *ct.SignedCertificateTimestamp) error {
	sv, err := ct.NewSignatureVerifier(pub)
	if err != nil {
		return err
	}
	leaf, err := ct.MerkleTreeLeafForEmbeddedSCT(chain, sct.Timestamp)
	if err != nil {
		return err
	}
	return sv.VerifySCTSignature(*sct, ct.LogEntry{Leaf: *leaf})
}

// match checks a certificate's identity and issuer.
func (i identity) match(s certificate.Summary) error {
	if i.san != "" && s.SubjectAlternativeName != i.san {
		return fmt.Errorf("certificate identity %q is not %q", s.SubjectAlternativeName, i.san)
	}
	if i.sanRegexp != "" {
		ok, err := regexp.MatchString(i.sanRegexp, s.SubjectAlternativeName)
		if err != nil || !ok {
			return fmt.Errorf("certificate identity %q does not match %q", s.SubjectAlternativeName, i.sanRegexp)
		}
	}
	if s.Extensions.Issuer != i.issuer {
		return fmt.Errorf("certificate OIDC issuer %q is not %q", s.Extensions.Issuer, i.issuer)
	}
	return nil
}

// checkStatement checks that the signed payload is an in-toto statement of
// cosign's sign predicate whose subject is the entry, and returns that
// subject's annotations.
func checkStatement(payload []byte, entryHex string) (map[string]any, error) {
	var st statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	if st.Type != StatementType || st.PredicateType != PredicateType {
		return nil, fmt.Errorf("statement %s of %s is not a cosign signature", st.Type, st.PredicateType)
	}
	if len(st.Subject) == 0 || len(st.Subject) > 1024 {
		return nil, errors.New("statement subjects")
	}
	for _, s := range st.Subject {
		if s.Digest["sha256"] == entryHex {
			if s.Annotations == nil {
				return map[string]any{}, nil
			}
			return s.Annotations, nil
		}
	}
	return nil, errors.New("the statement is about another digest")
}

// claims are our binding annotations on a statement's subject; each is
// optional.
type claims struct {
	key, image                   string
	created                      time.Time
	hasKey, hasImage, hasCreated bool
}

// parseClaims reads ann's binding annotations. A present annotation must be
// a string, created an RFC 3339 time; otherwise it says why not.
func parseClaims(ann map[string]any) (claims, string) {
	var cl claims
	for _, a := range []struct {
		name string
		to   *string
		has  *bool
	}{{AnnotationKey, &cl.key, &cl.hasKey}, {AnnotationImage, &cl.image, &cl.hasImage}} {
		v, ok := ann[a.name]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return claims{}, fmt.Sprintf("has annotation %s = %s, not a string", a.name, quote(fmt.Sprint(v)))
		}
		*a.to, *a.has = s, true
	}
	if v, ok := ann[AnnotationEntryCreated]; ok {
		s, _ := v.(string)
		t, err := newest.Parse(s)
		if err != nil {
			return claims{}, fmt.Sprintf("has annotation %s = %s, not an RFC 3339 time", AnnotationEntryCreated, quote(fmt.Sprint(v)))
		}
		cl.created, cl.hasCreated = t, true
	}
	return cl, ""
}

// quote quotes an untrusted string for a warning (Go syntax: no raw control
// characters), cut to a reasonable length.
func quote(s string) string {
	const max = 128
	if r := []rune(s); len(r) > max {
		return fmt.Sprintf("%q…", string(r[:max]))
	}
	return fmt.Sprintf("%q", s)
}

// notAVersion reports whether a read by digest failed because the manifest
// is not a version of that key on this image (or is gone, or the key is
// not a key).
func notAVersion(err error) bool {
	return errors.Is(err, errdef.ErrNotFound) || errors.Is(err, errdef.ErrUsage)
}

// bind decides what a verified signature on candidate c vouches for. Every
// binding annotation on the statement's subject (key, image, created) is
// optional, and each one present must agree with the query and the entry:
// the key with the key asked for, the image with the image, and key and
// created time with the entry manifest. What the annotations leave out, the
// entry manifest supplies, read by the signed digest (so the registry
// cannot substitute it; this reads the value once): it must name this image
// (and the key asked for). With all three annotations, and the registry's
// listing agreeing on key and created time, the entry is not read. A
// signature whose annotations contradict the entry or the query binds
// nothing; the returned warning says why.
func (b *Backend) bind(ctx context.Context, reg Registry, q trust.Query, c trust.Candidate, ann map[string]any, signer string) (*trust.Verified, string, error) {
	ignored := func(format string, args ...any) string {
		return fmt.Sprintf("signature on %s ", c.Digest) + fmt.Sprintf(format, args...) + ": ignored"
	}
	cl, why := parseClaims(ann)
	if why != "" {
		return nil, ignored("%s", why), nil
	}
	if cl.hasKey && q.Key != "" && cl.key != q.Key {
		return nil, ignored("names key %s, the read is for key %s", quote(cl.key), quote(q.Key)), nil
	}
	if cl.hasImage && cl.image != q.Subject {
		return nil, ignored("names image %s, not this image %s", quote(cl.image), q.Subject), nil
	}
	if cl.hasKey && cl.hasImage && cl.hasCreated && cl.key == c.Key && cl.created.Equal(c.Created) {
		// The signature states the whole binding and the listing (which
		// repeats the entry manifest's annotations) agrees with it.
		return &trust.Verified{Key: cl.key, Digest: c.Digest, Created: cl.created, Signer: signer}, "", nil
	}
	key := c.Key
	if cl.hasKey {
		key = cl.key
	}
	e, err := reg.Read(ctx, key, c.Digest, io.Discard)
	if notAVersion(err) && cl.hasKey && cl.key != c.Key {
		// Not of the signed key: is the entry the listed key's? Then the
		// signature contradicts it.
		e2, err2 := reg.Read(ctx, c.Key, c.Digest, io.Discard)
		if err2 == nil {
			return nil, ignored("names key %s, entry is key %s", quote(cl.key), quote(e2.Key)), nil
		}
		if !notAVersion(err2) {
			err = err2
		}
	}
	if notAVersion(err) {
		return nil, "", nil // not a version of this key on this image
	}
	if err != nil {
		return nil, "", fmt.Errorf("sigstore: read signed entry %s: %w", c.Digest, err)
	}
	if (cl.hasKey && e.Key != cl.key) || (q.Key != "" && e.Key != q.Key) {
		return nil, "", nil // the read checks the key; not reached
	}
	if cl.hasCreated && !cl.created.Equal(e.Created) {
		return nil, ignored("says the entry was created %s, entry was created %s",
			cl.created.UTC().Format(time.RFC3339Nano), e.Created.UTC().Format(time.RFC3339Nano)), nil
	}
	return &trust.Verified{Key: e.Key, Digest: c.Digest, Size: e.ManifestSize, Created: e.Created, Signer: signer}, "", nil
}
