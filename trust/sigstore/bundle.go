package sigstore

import (
	"crypto/x509"
	"errors"
	"fmt"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// Limits on what a bundle may carry (anyone with push rights can attach
// one).
const (
	maxTlogEntries = 32
	maxTimestamps  = 32
)

// bundleVersions are the bundle media types read, by version; Sign writes
// v0.3 (BundleMediaType).
var bundleVersions = map[string]string{
	BundleMediaType: "0.3",
	"application/vnd.dev.sigstore.bundle+json;version=0.3": "0.3",
	"application/vnd.dev.sigstore.bundle+json;version=0.2": "0.2",
	"application/vnd.dev.sigstore.bundle+json;version=0.1": "0.1",
}

// parsedBundle is what verification needs of a bundle with a DSSE
// envelope.
type parsedBundle struct {
	version     string
	payloadType string
	payload     []byte
	sig         []byte
	// keyed: the public key hint; keyless: the leaf certificate and any
	// intermediates the bundle carries.
	hint          string
	leaf          *x509.Certificate
	intermediates []*x509.Certificate
	tlog          []*protorekor.TransparencyLogEntry
	timestamps    [][]byte
}

// parseBundle decodes and checks the structure of a bundle, the way
// sigstore-go's bundle.NewBundle does for DSSE bundles.
func parseBundle(data []byte) (*parsedBundle, error) {
	var pb protobundle.Bundle
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &pb); err != nil {
		return nil, fmt.Errorf("not a Sigstore bundle: %w", err)
	}
	p := &parsedBundle{version: bundleVersions[pb.GetMediaType()]}
	if p.version == "" {
		return nil, fmt.Errorf("unsupported bundle media type %q", pb.GetMediaType())
	}
	env := pb.GetDsseEnvelope()
	if env == nil {
		return nil, errors.New("the bundle holds no DSSE envelope")
	}
	if len(env.GetSignatures()) != 1 {
		return nil, fmt.Errorf("the DSSE envelope has %d signatures, want 1", len(env.GetSignatures()))
	}
	p.payloadType, p.payload, p.sig = env.GetPayloadType(), env.GetPayload(), env.GetSignatures()[0].GetSig()
	if len(p.sig) == 0 || len(p.payload) == 0 {
		return nil, errors.New("the DSSE envelope is empty")
	}
	vm := pb.GetVerificationMaterial()
	switch c := vm.GetContent().(type) {
	case *protobundle.VerificationMaterial_PublicKey:
		p.hint = c.PublicKey.GetHint()
	case *protobundle.VerificationMaterial_Certificate:
		leaf, err := x509.ParseCertificate(c.Certificate.GetRawBytes())
		if err != nil {
			return nil, fmt.Errorf("bundle certificate: %w", err)
		}
		p.leaf = leaf
	case *protobundle.VerificationMaterial_X509CertificateChain:
		if p.version == "0.3" {
			return nil, errors.New("a v0.3 bundle must carry a single certificate, not a chain")
		}
		certs := c.X509CertificateChain.GetCertificates()
		if len(certs) == 0 {
			return nil, errors.New("empty certificate chain")
		}
		for i, raw := range certs {
			cert, err := x509.ParseCertificate(raw.GetRawBytes())
			if err != nil {
				return nil, fmt.Errorf("bundle certificate: %w", err)
			}
			if i == 0 {
				p.leaf = cert
			} else {
				p.intermediates = append(p.intermediates, cert)
			}
		}
	default:
		return nil, errors.New("the bundle has no verification material")
	}
	p.tlog = vm.GetTlogEntries()
	if len(p.tlog) > maxTlogEntries {
		return nil, fmt.Errorf("too many log entries (%d)", len(p.tlog))
	}
	for _, e := range p.tlog {
		switch {
		case p.version == "0.1" && e.GetInclusionPromise() == nil:
			return nil, errors.New("a v0.1 bundle's log entries need inclusion promises")
		case p.version != "0.1" && e.GetInclusionProof() == nil:
			return nil, errors.New("log entries need inclusion proofs")
		}
	}
	for _, ts := range vm.GetTimestampVerificationData().GetRfc3161Timestamps() {
		p.timestamps = append(p.timestamps, ts.GetSignedTimestamp())
	}
	if len(p.timestamps) > maxTimestamps {
		return nil, fmt.Errorf("too many timestamps (%d)", len(p.timestamps))
	}
	return p, nil
}

// newBundle assembles a v0.3 bundle around a signed DSSE envelope.
func newBundle(payloadType string, payload, sig []byte, vm *protobundle.VerificationMaterial) *protobundle.Bundle {
	return &protobundle.Bundle{
		MediaType:            BundleMediaType,
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     payload,
			PayloadType: payloadType,
			Signatures:  []*protodsse.Signature{{Sig: sig}},
		}},
	}
}

// keyMaterial is the verification material of a keyed signature: the key's
// hint, as cosign writes it.
func keyMaterial(hint []byte) *protobundle.VerificationMaterial {
	return &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: string(hint)}},
	}
}

// certMaterial is the verification material of a keyless signature.
func certMaterial(der []byte) *protobundle.VerificationMaterial {
	return &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: der}},
	}
}

// pae is DSSE's pre-authentication encoding, what the signature covers.
func pae(payloadType string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload)
}
