package inputs

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/steps"
)

// Trust inputs, the same names for the CLI (--notary-server) and the step
// (notary_server).
const (
	inTrust           = "trust"
	inVerify          = "verify"
	inNotaryServer    = "notary_server"
	inTrustDir        = "trust_dir"
	inNotaryRole      = "notary_role"
	inNotaryKey       = "notary_key"
	inNotaryRootKeyID = "notary_root_key_id"
	inNotaryTOFU      = "notary_tofu"

	inSigstoreKey        = "sigstore_key"
	inPublicKey          = "public_key"
	inFulcioURL          = "fulcio_url"
	inRekorURL           = "rekor_url"
	inSigningConfig      = "signing_config"
	inCertIdentity       = "certificate_identity"
	inCertIdentityRegexp = "certificate_identity_regexp"
	inCertOIDCIssuer     = "certificate_oidc_issuer"
	inTrustedRoot        = "trusted_root"
)

// The settings of each backend (after trust and verify, which are shared).
var (
	notaryInputNames   = []string{inNotaryServer, inTrustDir, inNotaryRole, inNotaryKey, inNotaryRootKeyID, inNotaryTOFU}
	sigstoreInputNames = []string{inSigstoreKey, inPublicKey, inFulcioURL, inRekorURL, inSigningConfig,
		inCertIdentity, inCertIdentityRegexp, inCertOIDCIssuer, inTrustedRoot}
)

// trustInputNames are every trust input: trust, verify, then the backends'.
var trustInputNames = append(append([]string{inTrust, inVerify}, notaryInputNames...), sigstoreInputNames...)

// sigstoreFlags declares the Sigstore inputs as CLI flags (trustFlag is the
// CLI's declaration of a string trust flag).
func sigstoreFlags(trustFlag func(input, usage string)) {
	trustFlag(inSigstoreKey, "sigstore: the signing key, a PEM `file` or PEM content: cosign's encrypted key (password from COSIGN_PASSWORD) or PKCS#8 ECDSA P-256/Ed25519; without it put signs keyless (GitHub Actions)")
	trustFlag(inPublicKey, "sigstore: the public key (PEM `file` or content) trusted for keyed signatures")
	trustFlag(inCertIdentity, "sigstore: the certificate `identity` trusted for keyless signatures, e.g. https://github.com/OWNER/REPO/.github/workflows/ci.yml@refs/heads/main")
	trustFlag(inCertIdentityRegexp, "sigstore: a `regexp` the keyless certificate identity must match (instead of --certificate-identity)")
	trustFlag(inCertOIDCIssuer, "sigstore: the OIDC `issuer` of keyless identities (default https://token.actions.githubusercontent.com)")
	trustFlag(inTrustedRoot, "sigstore: a Sigstore trusted root JSON `file` for keyless verification (default: the public-good root, through TUF)")
	trustFlag(inFulcioURL, "sigstore: keyless signing: the Fulcio `URL` (default https://fulcio.sigstore.dev)")
	trustFlag(inRekorURL, "sigstore: keyless signing: the Rekor (v1) `URL` (default https://rekor.sigstore.dev)")
	trustFlag(inSigningConfig, "sigstore: keyless signing: a Sigstore signing config JSON `file` naming Fulcio, Rekor and timestamp authorities")
}

// flagOf is the CLI flag of an input: notary_server is --notary-server.
func flagOf(input string) string { return strings.ReplaceAll(input, "_", "-") }

var (
	rootKeyIDPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	rolePattern      = regexp.MustCompile(`^targets(/[a-zA-Z0-9_.-]+)*$`)
)

// trustValue is one trust input as given: its value, where it came from
// (for messages), and whether it was given at all.
type trustValue struct {
	value string
	from  string
	set   bool
}

// buildTrust validates the trust inputs into steps.TrustOptions. get returns
// an input's value; home is the user's home directory for the default
// trust_dir. parseBool parses a boolean input the caller's way.
func buildTrust(get func(input string) trustValue, home string, parseBool func(s string) (bool, bool)) (steps.TrustOptions, error) {
	var o steps.TrustOptions
	backend := get(inTrust)
	switch backend.value {
	case "", "none":
		// Settings without a backend are a mistake worth reporting: they
		// would be silently ignored.
		for _, in := range trustInputNames[2:] {
			if v := get(in); isSet(v, in, parseBool) {
				return o, errdef.Usagef("%s is set but %s is not: set %s=%s to use it", v.from, inTrust, inTrust, backendOf(in))
			}
		}
		if v := get(inVerify); v.set {
			if on, ok := parseBool(v.value); ok && on {
				return o, errdef.Usagef("%s asks for verified reads but %s is not set", v.from, inTrust)
			}
		}
		return o, nil
	case steps.TrustNotary, steps.TrustSigstore:
		o.Backend = backend.value
	default:
		return o, errdef.Usagef("%s %q is not a trust backend; use %q or %q", backend.from, backend.value, steps.TrustNotary, steps.TrustSigstore)
	}
	// The other backend's settings would be ignored.
	others := sigstoreInputNames
	if o.Backend == steps.TrustSigstore {
		others = notaryInputNames
	}
	for _, in := range others {
		if v := get(in); isSet(v, in, parseBool) {
			return o, errdef.Usagef("%s is a %s setting, but %s is %s", v.from, backendOf(in), inTrust, o.Backend)
		}
	}

	o.Verify = true
	if v := get(inVerify); v.set {
		on, ok := parseBool(v.value)
		if !ok {
			return o, errdef.Usagef("%s %q is not a boolean (true or false)", v.from, v.value)
		}
		o.Verify = on
	}
	var err error
	if o.Backend == steps.TrustSigstore {
		o.Sigstore, err = buildSigstore(get)
	} else {
		o.Notary, err = buildNotary(get, home, parseBool)
	}
	return o, err
}

// isSet reports whether a trust input was given a value that matters (a
// false notary_tofu is as good as unset).
func isSet(v trustValue, input string, parseBool func(s string) (bool, bool)) bool {
	if on, ok := parseBool(v.value); input == inNotaryTOFU && ok && !on {
		return false
	}
	return v.set
}

// backendOf names the backend an input belongs to.
func backendOf(input string) string {
	for _, in := range sigstoreInputNames {
		if in == input {
			return steps.TrustSigstore
		}
	}
	return steps.TrustNotary
}

func buildNotary(get func(input string) trustValue, home string, parseBool func(s string) (bool, bool)) (steps.NotaryOptions, error) {
	var n steps.NotaryOptions
	server := get(inNotaryServer)
	if !server.set {
		return n, errdef.Usagef("%s=notary needs %s, the Notary server URL", inTrust, inNotaryServer)
	}
	u, err := url.Parse(server.value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return n, errdef.Usagef("%s %q is not an http(s) URL of a Notary server", server.from, server.value)
	}
	n.Server = strings.TrimSuffix(server.value, "/")

	n.TrustDir = get(inTrustDir).value
	if n.TrustDir == "" {
		if home == "" {
			return n, errdef.Usagef("%s is not set and there is no home directory for the default ~/.notary", inTrustDir)
		}
		n.TrustDir = filepath.Join(home, ".notary")
	} else if strings.HasPrefix(n.TrustDir, "~/") && home != "" {
		n.TrustDir = filepath.Join(home, n.TrustDir[2:])
	}

	n.Role = "targets"
	if r := get(inNotaryRole); r.set {
		if !rolePattern.MatchString(r.value) {
			return n, errdef.Usagef("%s %q is not a targets role (targets, or a delegation such as targets/ci)", r.from, r.value)
		}
		n.Role = r.value
	}

	if k := get(inNotaryKey); k.set {
		pem, err := pemInput(k, "PRIVATE KEY-----", "a PEM private key")
		if err != nil {
			return n, err
		}
		n.Key = pem
	}

	if id := get(inNotaryRootKeyID); id.set {
		if !rootKeyIDPattern.MatchString(id.value) {
			return n, errdef.Usagef("%s %q is not a root key ID (64 lower-case hex digits, as `manifesto trust init` prints)", id.from, id.value)
		}
		n.RootKeyID = id.value
	}
	if t := get(inNotaryTOFU); t.set {
		on, ok := parseBool(t.value)
		if !ok {
			return n, errdef.Usagef("%s %q is not a boolean (true or false)", t.from, t.value)
		}
		n.TOFU = on
	}
	if n.RootKeyID != "" && n.TOFU {
		return n, errdef.Usagef("%s and %s=true contradict each other: pin the root or trust it on first use", inNotaryRootKeyID, inNotaryTOFU)
	}
	return n, nil
}

// pemInput is a PEM input given as content or as a file: content when it
// holds a PEM header, else the file's content. It must contain marker. The
// value never appears in an error (it may be a secret).
func pemInput(v trustValue, marker, what string) (string, error) {
	pem := v.value
	if !strings.Contains(pem, "-----BEGIN") {
		// Not PEM content: a path to a PEM file.
		b, err := os.ReadFile(pem)
		if err != nil {
			return "", errdef.Usagef("%s is neither %s nor a readable file", v.from, what)
		}
		pem = string(b)
	}
	if !strings.Contains(pem, marker) {
		return "", errdef.Usagef("%s is not %s", v.from, what)
	}
	return pem, nil
}

// fileInput reads a JSON file input (trusted root, signing config).
func fileInput(v trustValue, what string) (string, error) {
	b, err := os.ReadFile(v.value)
	if err != nil {
		return "", errdef.Usagef("%s: cannot read %s %q: %v", v.from, what, v.value, errors.Unwrap(err))
	}
	if !json.Valid(b) {
		return "", errdef.Usagef("%s: %q is not JSON (want %s)", v.from, v.value, what)
	}
	return string(b), nil
}

// buildSigstore validates the Sigstore inputs. What can be checked without
// the password or the network is checked here; the keys and JSON files are
// parsed when the backend is opened, still before any network use.
func buildSigstore(get func(input string) trustValue) (steps.SigstoreOptions, error) {
	var s steps.SigstoreOptions
	var err error
	key := get(inSigstoreKey)
	if key.set {
		if s.Key, err = pemInput(key, "PRIVATE KEY-----", "a PEM private key"); err != nil {
			return s, err
		}
	}
	pub := get(inPublicKey)
	if pub.set {
		if s.PublicKey, err = pemInput(pub, "PUBLIC KEY-----", "a PEM public key"); err != nil {
			return s, err
		}
	}

	id, idRe := get(inCertIdentity), get(inCertIdentityRegexp)
	switch {
	case id.set && idRe.set:
		return s, errdef.Usagef("%s and %s contradict each other: give one", id.from, idRe.from)
	case id.set:
		s.CertificateIdentity = id.value
	case idRe.set:
		if _, err := regexp.Compile(idRe.value); err != nil {
			return s, errdef.Usagef("%s %q is not a regular expression: %v", idRe.from, idRe.value, err)
		}
		s.CertificateIdentityRegexp = idRe.value
	}
	keyless := id.set || idRe.set
	if pub.set && keyless {
		return s, errdef.Usagef("%s and %s contradict each other: trust a public key or a keyless identity", pub.from, inCertIdentity)
	}
	if iss := get(inCertOIDCIssuer); iss.set {
		if !keyless {
			return s, errdef.Usagef("%s is set without %s: the issuer qualifies a keyless identity", iss.from, inCertIdentity)
		}
		s.CertificateOIDCIssuer = iss.value
	}
	if tr := get(inTrustedRoot); tr.set {
		if !keyless {
			return s, errdef.Usagef("%s is set without %s: a trusted root is for keyless verification", tr.from, inCertIdentity)
		}
		if s.TrustedRoot, err = fileInput(tr, "a Sigstore trusted root"); err != nil {
			return s, err
		}
	}

	for _, in := range []string{inFulcioURL, inRekorURL} {
		v := get(in)
		if !v.set {
			continue
		}
		u, err := url.Parse(v.value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return s, errdef.Usagef("%s %q is not an http(s) URL", v.from, v.value)
		}
		if in == inFulcioURL {
			s.FulcioURL = strings.TrimSuffix(v.value, "/")
		} else {
			s.RekorURL = strings.TrimSuffix(v.value, "/")
		}
	}
	if sc := get(inSigningConfig); sc.set {
		if s.FulcioURL != "" || s.RekorURL != "" {
			return s, errdef.Usagef("%s and %s/%s contradict each other: the signing config names the services", sc.from, inFulcioURL, inRekorURL)
		}
		if s.SigningConfig, err = fileInput(sc, "a Sigstore signing config"); err != nil {
			return s, err
		}
	}
	if key.set {
		for _, in := range []string{inFulcioURL, inRekorURL, inSigningConfig} {
			if v := get(in); v.set {
				return s, errdef.Usagef("%s is for keyless signing; with %s nothing is sent to Fulcio or Rekor", v.from, inSigstoreKey)
			}
		}
	}
	return s, nil
}
