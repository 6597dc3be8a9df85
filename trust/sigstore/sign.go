package sigstore

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/store"
	"github.com/manifesto-dev/manifesto/trust"
)

// statement is an in-toto v1 statement, as far as cosign's signatures use
// it.
type statement struct {
	Type          string          `json:"_type"`
	Subject       []subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subject struct {
	Name        string            `json:"name,omitempty"`
	Digest      map[string]string `json:"digest"`
	Annotations map[string]any    `json:"annotations,omitempty"`
}

// Statement returns the in-toto statement Sign signs for b (see the package
// documentation).
func Statement(b trust.Binding) ([]byte, error) {
	h, err := v1.NewHash(b.Entry)
	if err != nil || h.Algorithm != "sha256" {
		return nil, errdef.Usagef("sigstore: entry digest %q is not a sha256 digest", b.Entry)
	}
	ann := map[string]any{AnnotationKey: b.Key, AnnotationImage: b.Subject}
	if !b.Created.IsZero() {
		ann[AnnotationEntryCreated] = b.Created.UTC().Format(time.RFC3339Nano)
	}
	return json.Marshal(statement{
		Type:          StatementType,
		Subject:       []subject{{Digest: map[string]string{h.Algorithm: h.Hex}, Annotations: ann}},
		PredicateType: PredicateType,
		Predicate:     json.RawMessage(`{}`),
	})
}

// Sign signs b.Entry and attaches the bundle to the entry. With a key the
// bundle carries the key's hint and no log entry (cosign sign --key
// --tlog-upload=false); keyless, it carries the Fulcio certificate and the
// Rekor entry (and timestamps, if the signing config names a TSA).
func (b *Backend) Sign(ctx context.Context, bd trust.Binding) (trust.Signed, error) {
	reg, err := b.registry()
	if err != nil {
		return trust.Signed{}, err
	}
	payload, err := Statement(bd)
	if err != nil {
		return trust.Signed{}, err
	}
	pb, signer, err := b.bundle(ctx, payload)
	if err != nil {
		return trust.Signed{}, err
	}
	data, err := protojson.Marshal(pb)
	if err != nil {
		return trust.Signed{}, fmt.Errorf("sigstore: encode bundle: %w", err)
	}
	to, err := reg.EntryDescriptor(ctx, store.Entry{Key: bd.Key, Digest: bd.Entry, ManifestSize: bd.Size})
	if err != nil {
		return trust.Signed{}, fmt.Errorf("sigstore: %w", err)
	}
	_, err = reg.Attach(ctx, to, store.Artifact{
		ArtifactType: BundleMediaType,
		Layers:       []store.Layer{{MediaType: BundleMediaType, Data: data}},
		Annotations: map[string]string{
			AnnotationContent:       ContentDSSE,
			AnnotationPredicateType: PredicateType,
			AnnotationCreated:       b.now().UTC().Format(time.RFC3339),
		},
	})
	if err != nil {
		return trust.Signed{}, fmt.Errorf("sigstore: store the signature: %w", err)
	}
	return trust.Signed{Signer: signer}, nil
}

// bundle signs payload into a bundle and says who signed.
func (b *Backend) bundle(ctx context.Context, payload []byte) (*protobundle.Bundle, string, error) {
	if b.signer == nil {
		return b.keylessBundle(ctx, payload)
	}
	sig, _, err := b.signer.SignData(ctx, pae(PayloadType, payload))
	if err != nil {
		return nil, "", fmt.Errorf("sigstore: %w", err)
	}
	fp, err := Fingerprint(b.signer.pub)
	if err != nil {
		return nil, "", fmt.Errorf("sigstore: %w", err)
	}
	return newBundle(PayloadType, payload, sig, keyMaterial(b.signer.hint)), fp, nil
}

// signerOfCertificate is the identity a certificate was issued to: its
// subject alternative name (for GitHub Actions the workflow URI).
func signerOfCertificate(der []byte) (string, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return "", err
	}
	s, err := certificate.SummarizeCertificate(c)
	if err != nil {
		return "", err
	}
	if s.SubjectAlternativeName == "" {
		return "", fmt.Errorf("the certificate names no identity")
	}
	return s.SubjectAlternativeName, nil
}

// entryHex is the hex of a sha256 entry digest.
func entryHex(digest string) (string, bool) {
	hexPart, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hexPart) != 64 {
		return "", false
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return "", false
	}
	return hexPart, true
}
