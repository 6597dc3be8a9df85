package inputs

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/secret"
	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/trust/notary"
	"github.com/manifesto-dev/manifesto/trust/sigstore"
)

// backendSettings are the settings of a backend (the step inputs and flags
// of its group; not the variables read under their own name).
func backendSettings(backend string) []string {
	var names []string
	for _, o := range optionsOf(group(backend), isStepInput) {
		names = append(names, o.name)
	}
	return names
}

var (
	// Compiled on first use: the {64} would cost every command about half
	// a millisecond of start-up (issue 14).
	rootKeyIDPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{64}$`) })
	rolePattern      = regexp.MustCompile(`^targets(/[a-zA-Z0-9_.-]+)*$`)
)

// given is one option as given: its value, where it came from (for
// messages), and whether it was given at all.
type given struct {
	value string
	from  string
	set   bool
}

// buildTrust validates the trust options into steps.TrustOptions, the
// backends' own option structs. get returns an option's value; home is the
// user's home directory for the default trust_dir; parseBool parses a
// boolean the caller's way; secrets receives the OIDC tokens keyless
// signing obtains later.
func buildTrust(get func(name string) given, home string, parseBool func(s string) (bool, bool), secrets *secret.Set) (steps.TrustOptions, error) {
	var o steps.TrustOptions
	backend := get(inTrust)
	switch backend.value {
	case "", "none":
		// Settings without a backend are a mistake worth reporting: they
		// would be silently ignored.
		for _, in := range append(backendSettings(steps.TrustNotary), backendSettings(steps.TrustSigstore)...) {
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
	other := steps.TrustSigstore
	if o.Backend == steps.TrustSigstore {
		other = steps.TrustNotary
	}
	for _, in := range backendSettings(other) {
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
		o.Sigstore, err = buildSigstore(get, secrets)
	} else {
		o.Notary, err = buildNotary(get, home, parseBool)
	}
	return o, err
}

// trustInitGiven is get for trust init, which creates Notary trust data
// and nothing else: trust is notary unless given, and given it must be
// notary; notary_server is required (checked here to name the command).
func trustInitGiven(get func(name string) given) (func(name string) given, error) {
	t := get(inTrust)
	if t.set && t.value != steps.TrustNotary {
		return nil, errdef.Usagef("trust init creates Notary trust data: %s %q does not apply (leave it unset, or set it to %s)",
			t.from, t.value, steps.TrustNotary)
	}
	if !get(inNotaryServer).set {
		return nil, errdef.Usagef("trust init needs --%s, the Notary server URL", flagOf(inNotaryServer))
	}
	return func(name string) given {
		if name == inTrust && !t.set {
			return given{value: steps.TrustNotary, from: "trust init", set: true}
		}
		return get(name)
	}, nil
}

// isSet reports whether a trust input was given a value that matters (a
// false notary_tofu is as good as unset).
func isSet(v given, input string, parseBool func(s string) (bool, bool)) bool {
	if on, ok := parseBool(v.value); input == inNotaryTOFU && ok && !on {
		return false
	}
	return v.set
}

// backendOf names the backend an input belongs to.
func backendOf(input string) string { return string(optionNamed(input).group) }

// snapshot reads the variables of a backend's group that are read under
// their own name (passphrases, cosign's password, token sources) once, now.
func snapshot(backend string, get func(name string) given) func(string) string {
	vars := map[string]string{}
	for _, o := range optionsOf(group(backend), func(o option) bool { return o.env }) {
		vars[o.name] = get(o.name).value
	}
	return func(name string) string { return vars[name] }
}

func buildNotary(get func(name string) given, home string, parseBool func(s string) (bool, bool)) (notary.Options, error) {
	n := notary.Options{Passphrase: notary.EnvPassphrase(snapshot(steps.TrustNotary, get))}
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
		if !rootKeyIDPattern().MatchString(id.value) {
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
func pemInput(v given, marker, what string) (string, error) {
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
func fileInput(v given, what string) ([]byte, error) {
	b, err := os.ReadFile(v.value)
	if err != nil {
		return nil, errdef.Usagef("%s: cannot read %s %q: %v", v.from, what, v.value, errors.Unwrap(err))
	}
	if !json.Valid(b) {
		return nil, errdef.Usagef("%s: %q is not JSON (want %s)", v.from, v.value, what)
	}
	return b, nil
}

// buildSigstore validates the Sigstore inputs. What can be checked without
// the password or the network is checked here; the keys and JSON files are
// parsed when the backend is opened, still before any network use.
func buildSigstore(get func(name string) given, secrets *secret.Set) (sigstore.Options, error) {
	env := snapshot(steps.TrustSigstore, get)
	idToken := sigstore.EnvIDToken(env)
	s := sigstore.Options{
		Password: env(envCosignPassword),
		// A token Fulcio accepts is a secret learned at run time.
		IDToken: func(ctx context.Context) (string, error) {
			tok, err := idToken(ctx)
			secrets.Add(tok)
			return tok, err
		},
	}
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
