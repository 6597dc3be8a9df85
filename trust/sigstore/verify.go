package sigstore

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/ctutil"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/google/certificate-transparency-go/x509util"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"golang.org/x/sync/errgroup"

	"github.com/manifesto-dev/manifesto/internal/errdef"
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
	errs := make([]error, len(cands))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(verifyWorkers)
	for i, c := range cands {
		g.Go(func() error {
			// The first error cancels gctx for the candidates still
			// being checked and those not started yet.
			results[i], errs[i] = b.verifyCandidate(gctx, reg, q, c)
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
// q's image (and key), nil if none does.
func (b *Backend) verifyCandidate(ctx context.Context, reg Registry, q trust.Query, c trust.Candidate) (*trust.Verified, error) {
	hexPart, ok := entryHex(c.Digest)
	if !ok {
		return nil, nil // not a digest we sign (nor cosign by default)
	}
	h := v1.Hash{Algorithm: "sha256", Hex: hexPart}
	// Every referrer, not only those listed with the bundle's artifactType:
	// some registries list the config media type instead (go-containerregistry's
	// own registry does). The manifest fetched decides.
	ds, err := reg.ReferrersOf(ctx, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h}, "")
	if err != nil {
		return nil, fmt.Errorf("sigstore: signatures of %s: %w", c.Digest, err)
	}
	for _, d := range ds {
		if d.ArtifactType != "" && d.ArtifactType != BundleMediaType && d.ArtifactType != string(types.OCIEmptyJSON) {
			continue
		}
		m, layers, err := reg.FetchArtifact(ctx, d)
		if errors.Is(err, errdef.ErrNotFound) || errors.Is(err, errdef.ErrInvalidResponse) {
			continue // deleted since the listing, or junk anyone could attach
		}
		if err != nil {
			return nil, fmt.Errorf("sigstore: signature %s of %s: %w", d.Digest, c.Digest, err)
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
			v, err := b.bind(ctx, reg, q, c, st, signer)
			if err != nil {
				return nil, err
			}
			if v != nil {
				return v, nil
			}
		}
	}
	return nil, nil
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
			if ctutil.VerifySCT(key.PublicKey, append(append([]*ctx509.Certificate(nil), leafCT...), issuer...), sct, true) == nil {
				return nil
			}
		}
	}
	return errors.New("no valid SCT of a trusted CT log in the certificate")
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

// bind decides what a verified signature vouches for. With our binding
// annotations on the statement's subject, key, image and created time are
// those; without (a plain cosign signature), the entry manifest, read by its
// digest, must name this image and the candidate's key, and gives the
// created time.
func (b *Backend) bind(ctx context.Context, reg Registry, q trust.Query, c trust.Candidate, ann map[string]any, signer string) (*trust.Verified, error) {
	_, hasKey := ann[AnnotationKey]
	_, hasImage := ann[AnnotationImage]
	if hasKey || hasImage {
		key, _ := ann[AnnotationKey].(string)
		image, _ := ann[AnnotationImage].(string)
		createdS, _ := ann[AnnotationEntryCreated].(string)
		created, err := time.Parse(time.RFC3339Nano, createdS)
		if err != nil || key == "" || image != q.Subject || (q.Key != "" && key != q.Key) {
			return nil, nil // signed for another image or key, or malformed
		}
		return &trust.Verified{Key: key, Digest: c.Digest, Created: created, Signer: signer}, nil
	}
	e, err := reg.Read(ctx, c.Key, c.Digest, io.Discard)
	if errors.Is(err, errdef.ErrNotFound) || errors.Is(err, errdef.ErrUsage) {
		return nil, nil // not a version of this key on this image
	}
	if err != nil {
		return nil, fmt.Errorf("sigstore: read signed entry %s: %w", c.Digest, err)
	}
	if e.Key != c.Key || (q.Key != "" && e.Key != q.Key) {
		return nil, nil
	}
	return &trust.Verified{Key: e.Key, Digest: c.Digest, Size: e.ManifestSize, Created: e.Created, Signer: signer}, nil
}
