// Package sigstore implements trust.Signer and trust.Verifier with Sigstore
// bundles kept in the registry next to the entries, in the format cosign v3
// stores image signatures, so that `cosign verify` checks our signatures
// and our verified reads accept `cosign sign`'s.
//
// # Format
//
// Signing an entry signs its manifest digest. The signature is a Sigstore
// bundle v0.3 (application/vnd.dev.sigstore.bundle.v0.3+json) holding a
// DSSE envelope (payload type application/vnd.in-toto+json) over an in-toto
// v1 statement:
//
//	{"_type": "https://in-toto.io/Statement/v1",
//	 "subject": [{"digest": {"sha256": "<entry manifest hex>"},
//	              "annotations": {"dev.manifesto.key": "test-results",
//	                              "dev.manifesto.image": "sha256:<image digest hex>",
//	                              "org.opencontainers.image.created": "2026-01-02T03:04:05.123456789Z"}}],
//	 "predicateType": "https://sigstore.dev/cosign/sign/v1",
//	 "predicate": {}}
//
// which is what `cosign sign -a dev.manifesto.key=… REPO@<entry digest>`
// produces. The bundle is attached to the entry as an OCI 1.1 referrer (the
// entry manifest is its subject): an image manifest with artifactType
// application/vnd.dev.sigstore.bundle.v0.3+json, the empty config, one layer
// of that media type (the bundle JSON), and the annotations
// dev.sigstore.bundle.content=dsse-envelope,
// dev.sigstore.bundle.predicateType=https://sigstore.dev/cosign/sign/v1 and
// org.opencontainers.image.created. It is stored through the store's
// referrers machinery (store.Target.Attach): the referrers API, or the
// fallback index with a trace tag, so concurrent signers lose nothing.
//
// The subject annotations repeat, under the signature, what the entry
// manifest says of itself (its key, its image and its created time), so
// that a registry rewriting the annotations of its listings can neither
// relabel a signed entry nor make an older signed entry look newer. Each is
// optional when reading, as `cosign sign -a` adds only those given (none;
// the key; key and image; all three): the entry manifest, fetched by the
// signed digest (so the registry cannot substitute it), supplies what is
// missing, at the cost of reading the value once, and must name the image
// and the key asked for. Every annotation present must agree: the key with
// the key asked for and the entry manifest's, the image with the image, the
// created time with the entry manifest's. A signature that contradicts its
// entry binds nothing, and Verify says why through Query.Warn. With all
// three annotations the entry is read only when the registry's listing
// disagrees with them on key or created time.
//
// # Identities
//
// Signing uses a private key (cosign's encrypted "ENCRYPTED SIGSTORE PRIVATE
// KEY" PEM with the password from COSIGN_PASSWORD, or a plain PKCS#8 PEM:
// ECDSA P-256 or Ed25519, which is signed as Ed25519ph like cosign), and
// then nothing leaves the machine but the bundle; or, without a key,
// keyless: an OIDC token (audience "sigstore": the GitHub Actions job's, or
// SIGSTORE_ID_TOKEN) buys a short-lived certificate from Fulcio for a fresh
// key, and the signature is logged in Rekor v1 and timestamped by the
// timestamp authorities a signing config names (URLs from Options or the
// signing config).
//
// Verification trusts a public key (keyed signatures, no transparency log
// needed, as `cosign verify --key … --insecure-ignore-tlog`), or a
// certificate identity and OIDC issuer (keyless), checked against a trusted
// root: a file, or the public-good Sigstore root fetched through TUF. A
// keyless bundle needs a verified Rekor v1 entry when the root lists Rekor
// logs (Rekor v2 entries are not supported), a time from such an entry or a
// trusted timestamp authority at which the certificate chains to a trusted
// Fulcio CA, and an SCT when the root lists CT logs: the checks of
// sigstore-go's verifier with a transparency log and observer timestamps.
// They are implemented here on sigstore-go's trusted root and certificate
// packages (sigstore-go's verify and sign packages bring Rekor and gRPC
// clients that would grow the binary by half); the tests check bundles
// both ways against sigstore-go's verifier and signer.
//
// # Trust and failure
//
// Verify looks only at the candidates the registry lists, and returns the
// ones that carry at least one bundle that verifies against the trusted
// identity, whose statement has the cosign sign predicate type and the
// candidate's digest as subject, and whose binding (key and image, from the
// annotations or the entry manifest) matches the query and the entry. Unsigned candidates and candidates signed only by others are
// left out. Bundles that do not parse or do not verify are ignored (anyone
// with push rights can attach them); failing to list or fetch is an error,
// never an empty answer.
package sigstore

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/httpx"
	"github.com/manifesto-dev/manifesto/store"
	"github.com/manifesto-dev/manifesto/trust"
)

// The format (see the package documentation). It is a public contract:
// cosign writes and reads it.
const (
	// BundleMediaType is the bundle's media type, the referrer's
	// artifactType and its one layer's media type.
	BundleMediaType = store.SignatureArtifactType
	// PredicateType is cosign's predicate type for image signatures.
	PredicateType = "https://sigstore.dev/cosign/sign/v1"
	// StatementType is the in-toto statement type.
	StatementType = "https://in-toto.io/Statement/v1"
	// PayloadType is the DSSE payload type of in-toto statements.
	PayloadType = "application/vnd.in-toto+json"

	// Referrer manifest annotations, as cosign writes them.
	AnnotationContent       = "dev.sigstore.bundle.content"
	AnnotationPredicateType = "dev.sigstore.bundle.predicateType"
	AnnotationCreated       = "org.opencontainers.image.created"
	ContentDSSE             = "dsse-envelope"

	// Statement subject annotations: the binding under the signature.
	AnnotationKey   = store.AnnotationKey
	AnnotationImage = "dev.manifesto.image"
	// AnnotationEntryCreated is the entry's created time (RFC 3339, UTC,
	// nanoseconds), the same name as on the entry manifest.
	AnnotationEntryCreated = store.AnnotationCreated
)

// Defaults of the public-good Sigstore instance and GitHub Actions.
const (
	DefaultFulcioURL = "https://fulcio.sigstore.dev"
	DefaultRekorURL  = "https://rekor.sigstore.dev"
	// GitHubIssuer is the OIDC issuer of GitHub Actions tokens, the default
	// certificate_oidc_issuer.
	GitHubIssuer = "https://token.actions.githubusercontent.com"
	// oidcAudience is the audience Fulcio accepts.
	oidcAudience = "sigstore"
)

// Registry is where the signatures live: the image's store target
// (*store.Target implements it).
type Registry interface {
	// Attach stores an artifact as a referrer of manifest to.
	Attach(ctx context.Context, to v1.Descriptor, a store.Artifact) (v1.Descriptor, error)
	// ReferrersOf lists the referrers of a manifest with an artifactType.
	ReferrersOf(ctx context.Context, of v1.Descriptor, artifactType string) ([]v1.Descriptor, error)
	// FetchArtifact returns a small artifact's manifest and layers,
	// digest-checked.
	FetchArtifact(ctx context.Context, d v1.Descriptor) (v1.Manifest, [][]byte, error)
	// EntryDescriptor is the manifest descriptor of an entry.
	EntryDescriptor(ctx context.Context, e store.Entry) (v1.Descriptor, error)
	// Read fetches version digest of key, checking that its manifest names
	// this image and key, and streams its value to w.
	Read(ctx context.Context, key, digest string, w io.Writer) (store.Entry, error)
}

// Options configure a Backend. Sign needs a signing identity (Key, or
// keyless through IDToken); Verify needs a trusted identity (PublicKey, a
// Key whose public half is trusted, or CertificateIdentity[Regexp]).
type Options struct {
	// Key is a PEM private key: cosign's encrypted format (ENCRYPTED
	// SIGSTORE PRIVATE KEY) or PKCS#8. Empty: sign keyless.
	Key string
	// Password decrypts an encrypted Key (cosign's COSIGN_PASSWORD).
	Password string

	// FulcioURL and RekorURL are the keyless signing services (default the
	// public-good instance); SigningConfig is the JSON of a Sigstore
	// signing config naming them instead (and timestamp authorities).
	FulcioURL     string
	RekorURL      string
	SigningConfig []byte
	// IDToken returns an OIDC token for Fulcio (keyless). Default: the
	// GitHub Actions token of the job (see GitHubIDToken).
	IDToken func(ctx context.Context) (string, error)

	// PublicKey is the trusted public key (PEM) for keyed signatures.
	PublicKey string
	// CertificateIdentity (exact) or CertificateIdentityRegexp is the
	// trusted signer of keyless signatures: the certificate's subject
	// alternative name, such as
	// https://github.com/OWNER/REPO/.github/workflows/ci.yml@refs/heads/main.
	CertificateIdentity       string
	CertificateIdentityRegexp string
	// CertificateOIDCIssuer is the trusted issuer of the identity's token
	// (default GitHubIssuer).
	CertificateOIDCIssuer string
	// TrustedRoot is the JSON of a Sigstore trusted root (Fulcio CAs,
	// Rekor and CT log keys, timestamp authorities). Empty: the public-good
	// root, fetched and checked through TUF on first use.
	TrustedRoot []byte

	// Transport is the HTTP transport to Fulcio and Rekor (tests).
	Transport http.RoundTripper
	// Now is the clock for created annotations (default time.Now).
	Now func() time.Time
}

// Backend signs and verifies entries with Sigstore bundles in the registry.
// It is safe for concurrent use.
type Backend struct {
	reg Registry
	now func() time.Time

	// Signing: a key, or keyless through the OIDC token and services.
	signer   *keypair
	idToken  func(ctx context.Context) (string, error)
	services services

	// Keyed verification: the trusted key's verifiers (Ed25519: ph, then
	// pure) and its fingerprint.
	keyVerifiers []signature.Verifier
	fingerprint  string
	// Keyless verification: the trusted identity and root.
	identity  *identity
	rootOnce  sync.Once
	tm        root.TrustedMaterial
	tmErr     error
	fetchRoot func() (root.TrustedMaterial, error)

	transport http.RoundTripper
}

var (
	_ trust.Signer   = (*Backend)(nil)
	_ trust.Verifier = (*Backend)(nil)
)

// identity is a trusted keyless signer.
type identity struct {
	san, sanRegexp, issuer string
}

// services are the keyless signing services.
type services struct {
	fulcio string
	rekor  []rekorService
	tsa    []string
}

type rekorService struct {
	url     string
	version uint32
}

// New validates o and returns a Backend whose signatures live in reg (the
// image's store target; nil only for a backend that is never asked to sign
// or verify). Option errors (a key that does not parse or decrypt, a bad URL
// or regexp, a trusted root that does not parse) are usage errors
// (errdef.ErrUsage); nothing is sent anywhere.
func New(o Options, reg Registry) (*Backend, error) {
	b := &Backend{reg: reg, now: o.Now, idToken: o.IDToken, transport: o.Transport}
	if b.transport == nil {
		// internal/httpx's bounded transport, one per backend so that
		// its connections are reused across the exchanges of a run.
		b.transport = httpx.Transport(false)
	}
	if b.now == nil {
		b.now = time.Now
	}

	if strings.TrimSpace(o.Key) != "" {
		kp, err := loadPrivateKey([]byte(o.Key), o.Password)
		if err != nil {
			return nil, err
		}
		b.signer = kp
	} else if err := b.keylessServices(o); err != nil {
		return nil, err
	}

	hasIdentity := o.CertificateIdentity != "" || o.CertificateIdentityRegexp != ""
	switch {
	case strings.TrimSpace(o.PublicKey) != "" && hasIdentity:
		return nil, errdef.Usagef("sigstore: public_key and certificate_identity contradict each other: trust a key or a keyless identity")
	case strings.TrimSpace(o.PublicKey) != "":
		pub, err := loadPublicKey([]byte(o.PublicKey))
		if err != nil {
			return nil, err
		}
		if err := b.trustKey(pub); err != nil {
			return nil, err
		}
	case hasIdentity:
		id, err := newIdentity(o)
		if err != nil {
			return nil, err
		}
		b.identity = id
		if len(o.TrustedRoot) > 0 {
			tr, err := root.NewTrustedRootFromJSON(o.TrustedRoot)
			if err != nil {
				return nil, errdef.Usagef("sigstore: trusted_root is not a Sigstore trusted root: %v", err)
			}
			b.tm = tr
		} else {
			b.fetchRoot = fetchPublicGoodRoot
		}
	case b.signer != nil:
		// A signer trusts its own key: a job that signs with a key reads
		// back what that key signed.
		if err := b.trustKey(b.signer.pub); err != nil {
			return nil, err
		}
	}
	if !hasIdentity && len(o.TrustedRoot) > 0 {
		return nil, errdef.Usagef("sigstore: trusted_root is for keyless verification (certificate_identity); a public key needs none")
	}
	return b, nil
}

// keylessServices sets the Fulcio/Rekor/TSA URLs of keyless signing.
func (b *Backend) keylessServices(o Options) error {
	if len(o.SigningConfig) > 0 {
		if o.FulcioURL != "" || o.RekorURL != "" {
			return errdef.Usagef("sigstore: signing_config and fulcio_url/rekor_url contradict each other: the signing config names the services")
		}
		s, err := servicesFromSigningConfig(o.SigningConfig, b.now())
		if err != nil {
			return err
		}
		b.services = s
		return nil
	}
	fulcio, rekor := o.FulcioURL, o.RekorURL
	if fulcio == "" {
		fulcio = DefaultFulcioURL
	}
	if rekor == "" {
		rekor = DefaultRekorURL
	}
	for name, u := range map[string]string{"fulcio_url": fulcio, "rekor_url": rekor} {
		if err := checkURL(name, u); err != nil {
			return err
		}
	}
	b.services = services{fulcio: strings.TrimRight(fulcio, "/"), rekor: []rekorService{{url: strings.TrimRight(rekor, "/"), version: 1}}}
	return nil
}

func checkURL(name, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errdef.Usagef("sigstore: %s %q is not an http(s) URL", name, s)
	}
	return nil
}

func newIdentity(o Options) (*identity, error) {
	id := &identity{san: strings.TrimSpace(o.CertificateIdentity), sanRegexp: o.CertificateIdentityRegexp, issuer: strings.TrimSpace(o.CertificateOIDCIssuer)}
	if id.san != "" && id.sanRegexp != "" {
		return nil, errdef.Usagef("sigstore: certificate_identity and certificate_identity_regexp contradict each other: give one")
	}
	if id.sanRegexp != "" {
		if _, err := regexp.Compile(id.sanRegexp); err != nil {
			return nil, errdef.Usagef("sigstore: certificate_identity_regexp %q is not a regular expression: %v", id.sanRegexp, err)
		}
	}
	if id.issuer == "" {
		id.issuer = GitHubIssuer
	}
	return id, nil
}

// Init is Notary's: registry-native signatures need no setup.
func (b *Backend) Init(context.Context, string) (string, bool, error) {
	return "", false, errdef.Usagef("trust init is for notary; sigstore needs no setup: sign with a key or keyless and give readers the public key or the certificate identity")
}

// Forget does nothing. A deleted entry's bundles stay behind as referrers
// of a manifest that no longer exists (on registries with the referrers API
// the registry may collect them; with the fallback index they stay under
// the deleted entry's fallback tag). That is harmless for readers: a bundle
// vouches only for its entry digest, which no listing shows any more. It is
// not a revocation, though: whoever kept the deleted entry's manifest and
// bundle can push both back and the signature verifies again, as with any
// registry-native signature (cosign's included); withdraw trust in a key
// by no longer trusting it.
func (b *Backend) Forget(context.Context, string, []trust.Binding) error {
	return nil
}

// registry returns the signature store or a clear error.
func (b *Backend) registry() (Registry, error) {
	if b.reg == nil {
		return nil, fmt.Errorf("sigstore: no registry to keep signatures in")
	}
	return b.reg, nil
}
