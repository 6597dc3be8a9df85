package sigstore

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// PEM block types of private keys.
const (
	pemEncryptedSigstore = "ENCRYPTED SIGSTORE PRIVATE KEY"
	pemEncryptedCosign   = "ENCRYPTED COSIGN PRIVATE KEY"
)

// loadPrivateKey decodes a PEM private key: cosign's encrypted format
// (scrypt + secretbox around PKCS#8, decrypted with password) or PKCS#8
// (also SEC 1 EC and PKCS#1 RSA). Errors are usage errors that never
// contain the key or the password.
func loadPrivateKey(pemBytes []byte, password string) (*keypair, error) {
	block, _ := pem.Decode(bytes.TrimSpace(pemBytes))
	if block == nil {
		return nil, errdef.Usagef("sigstore: the signing key is not a PEM private key")
	}
	var pf cryptoutils.PassFunc
	switch block.Type {
	case pemEncryptedSigstore, pemEncryptedCosign:
		pf = cryptoutils.StaticPasswordFunc([]byte(password))
	case "ENCRYPTED PRIVATE KEY":
		return nil, errdef.Usagef("sigstore: the signing key is an encrypted PKCS#8 key; give cosign's format (cosign generate-key-pair, or cosign import-key-pair) or an unencrypted PKCS#8 key")
	}
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(pem.EncodeToMemory(block), pf)
	if err != nil {
		if pf != nil {
			return nil, errdef.Usagef("sigstore: cannot decrypt the signing key: wrong or missing COSIGN_PASSWORD")
		}
		return nil, errdef.Usagef("sigstore: the signing key (%s) does not parse", block.Type)
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return nil, errdef.Usagef("sigstore: unsupported signing key type %T", priv)
	}
	return newKeypair(s)
}

// loadPublicKey decodes a PEM public key ("PUBLIC KEY", PKIX).
func loadPublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(bytes.TrimSpace(pemBytes))
	if err != nil {
		return nil, errdef.Usagef("sigstore: public_key is not a PEM public key: %v", err)
	}
	if err := checkKeyType(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

func checkKeyType(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
		return nil
	case *rsa.PublicKey:
		if n := k.Size() * 8; n == 2048 || n == 3072 || n == 4096 {
			return nil
		}
	}
	return errdef.Usagef("sigstore: unsupported key type %T (want ECDSA, Ed25519 or RSA)", pub)
}

// Fingerprint is the Signer string of a key: "sha256:" and the first 16
// hex digits of the SHA-256 of its DER (PKIX) encoding, the hash cosign
// puts (in base64) in the bundle's public key hint.
func Fingerprint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])[:16], nil
}

// trustKey makes pub the trusted key of keyed verification.
func (b *Backend) trustKey(pub crypto.PublicKey) error {
	if err := checkKeyType(pub); err != nil {
		return err
	}
	fp, err := Fingerprint(pub)
	if err != nil {
		return errdef.Usagef("sigstore: public key: %v", err)
	}
	vs, err := verifiersFor(pub)
	if err != nil {
		return errdef.Usagef("sigstore: public key: %v", err)
	}
	b.keyVerifiers, b.fingerprint = vs, fp
	return nil
}

// keypair is a loaded private key as sigstore-go's sign.Keypair, the way
// cosign wraps its keys: the hint is the base64 SHA-256 of the public key's
// DER, Ed25519 keys sign Ed25519ph (cosign's default, the only Ed25519 mode
// hashedrekord entries support).
type keypair struct {
	sv   signature.SignerVerifier
	pub  crypto.PublicKey
	alg  signature.AlgorithmDetails
	hint []byte
	name string
}

func newKeypair(s crypto.Signer) (*keypair, error) {
	pub := s.Public()
	if err := checkKeyType(pub); err != nil {
		return nil, err
	}
	alg, err := signature.GetDefaultAlgorithmDetails(pub, options.WithED25519ph())
	if err != nil {
		return nil, errdef.Usagef("sigstore: signing key: %v", err)
	}
	sv, err := signature.LoadSignerVerifierFromAlgorithmDetails(s, alg, options.WithED25519ph())
	if err != nil {
		return nil, errdef.Usagef("sigstore: signing key: %v", err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, errdef.Usagef("sigstore: signing key: %v", err)
	}
	sum := sha256.Sum256(der)
	kp := &keypair{sv: sv, pub: pub, alg: alg, hint: []byte(base64.StdEncoding.EncodeToString(sum[:]))}
	switch pub.(type) {
	case *ecdsa.PublicKey:
		kp.name = "ECDSA"
	case ed25519.PublicKey:
		kp.name = "ED25519"
	case *rsa.PublicKey:
		kp.name = "RSA"
	}
	return kp, nil
}

// GetHashAlgorithm is the hash the key signs over.
func (k *keypair) GetHashAlgorithm() protocommon.HashAlgorithm {
	return k.alg.GetProtoHashType()
}

// GetSigningAlgorithm is the key's signature algorithm.
func (k *keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return k.alg.GetSignatureAlgorithm()
}

// GetHint is cosign's key hint (see keypair).
func (k *keypair) GetHint() []byte { return k.hint }

// GetKeyAlgorithm names the key type ("ECDSA", "ED25519", "RSA").
func (k *keypair) GetKeyAlgorithm() string { return k.name }

// GetPublicKey is the public half.
func (k *keypair) GetPublicKey() crypto.PublicKey { return k.pub }

// GetPublicKeyPem is the public half as PEM.
func (k *keypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.pub)
	return string(b), err
}

// SignData signs data (hashing it first with the algorithm's hash) and
// returns the signature and the digest signed.
func (k *keypair) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	var digest []byte
	opts := []signature.SignOption{options.WithContext(ctx)}
	if h := k.alg.GetHashType(); h != crypto.Hash(0) {
		hw := h.New()
		hw.Write(data)
		digest = hw.Sum(nil)
		opts = append(opts, options.WithDigest(digest))
	}
	sig, err := k.sv.SignMessage(bytes.NewReader(data), opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("sign: %w", err)
	}
	return sig, digest, nil
}

// verifiersFor returns the signature verifiers to try for a trusted key:
// Ed25519 keys verify Ed25519ph (cosign's and ours) and then pure Ed25519
// (older cosign), other keys their one default algorithm.
func verifiersFor(pub crypto.PublicKey) ([]signature.Verifier, error) {
	if _, ok := pub.(ed25519.PublicKey); ok {
		ph, err := signature.LoadDefaultVerifier(pub, options.WithED25519ph())
		if err != nil {
			return nil, err
		}
		pure, err := signature.LoadDefaultVerifier(pub)
		if err != nil {
			return nil, err
		}
		return []signature.Verifier{ph, pure}, nil
	}
	v, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		return nil, err
	}
	return []signature.Verifier{v}, nil
}
