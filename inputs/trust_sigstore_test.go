package inputs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/trust/sigstore"
)

const (
	testSigstoreKey = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nsigstore-secret-key-material\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
	testPublicKey   = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
	testWorkflow    = "https://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main"
)

func TestSigstoreFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		return p
	}
	keyFile, pubFile := write("cosign.key", testSigstoreKey), write("cosign.pub", testPublicKey)
	rootFile, scFile := write("trusted_root.json", `{"mediaType":"x"}`), write("signing_config.json", `{"mediaType":"y"}`)
	notJSON := write("not.json", "{")
	value := write("value.json", "{}")
	img := "registry.example.com/team/app:1"
	base := []string{"get", img, "k", "--trust", "sigstore"}

	ok := []struct {
		name string
		args []string
		env  map[string]string
		want func(o steps.TrustOptions) bool
	}{
		{"key file, public key file", append(base, "--sigstore-key", keyFile, "--public-key", pubFile), nil,
			func(o steps.TrustOptions) bool {
				return o.Backend == "sigstore" && o.Verify && o.Sigstore.Key == testSigstoreKey && o.Sigstore.PublicKey == testPublicKey
			}},
		{"keyless verify with a trusted root", append(base, "--certificate-identity", testWorkflow, "--certificate-oidc-issuer", "https://issuer.example.com", "--trusted-root", rootFile), nil,
			func(o steps.TrustOptions) bool {
				s := o.Sigstore
				return s.CertificateIdentity == testWorkflow && s.CertificateOIDCIssuer == "https://issuer.example.com" && string(s.TrustedRoot) == `{"mediaType":"x"}`
			}},
		{"identity regexp", append(base, "--certificate-identity-regexp", `^https://github\.com/acme/`), nil,
			func(o steps.TrustOptions) bool {
				return o.Sigstore.CertificateIdentityRegexp == `^https://github\.com/acme/`
			}},
		{"keyless signing services", []string{"put", img, "k", value, "--trust", "sigstore", "--fulcio-url", "https://fulcio.example.com/", "--rekor-url", "https://rekor.example.com"}, nil,
			func(o steps.TrustOptions) bool {
				return o.Sigstore.FulcioURL == "https://fulcio.example.com" && o.Sigstore.RekorURL == "https://rekor.example.com"
			}},
		{"signing config", []string{"put", img, "k", value, "--trust", "sigstore", "--signing-config", scFile}, nil,
			func(o steps.TrustOptions) bool { return string(o.Sigstore.SigningConfig) == `{"mediaType":"y"}` }},
		{"from the environment, key content", []string{"list", img}, map[string]string{"MANIFESTO_TRUST": "sigstore", "MANIFESTO_SIGSTORE_KEY": testSigstoreKey, "MANIFESTO_VERIFY": "false"},
			func(o steps.TrustOptions) bool { return !o.Verify && o.Sigstore.Key == testSigstoreKey }},
		{"sigstore alone (keyless put)", []string{"put", img, "k", value, "--trust", "sigstore"}, nil,
			func(o steps.TrustOptions) bool {
				// Nothing set but where the OIDC token comes from.
				s := o.Sigstore
				hasToken := s.IDToken != nil
				s.IDToken = nil
				return o.Backend == "sigstore" && hasToken && reflect.DeepEqual(s, sigstore.Options{})
			}},
	}
	for _, tc := range ok {
		cmd, _, err := parse(tc.args, tc.env, "")
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !tc.want(cmd.Request.Trust) {
			t.Errorf("%s: trust = %+v", tc.name, cmd.Request.Trust)
		}
	}

	bad := []struct {
		name, msg string
		args      []string
	}{
		{"sigstore setting without trust", "set trust=sigstore", []string{"list", img, "--public-key", pubFile}},
		{"notary setting with sigstore", "notary setting", append(base, "--notary-server", "https://n")},
		{"sigstore setting with notary", "sigstore setting", []string{"list", img, "--trust", "notary", "--notary-server", "https://n", "--public-key", pubFile}},
		{"key neither PEM nor file", "neither a PEM private key", append(base, "--sigstore-key", filepath.Join(dir, "missing"))},
		{"public key is a private key", "not a PEM public key", append(base, "--public-key", keyFile)},
		{"key and identity", "contradict", append(base, "--public-key", pubFile, "--certificate-identity", testWorkflow)},
		{"identity and regexp", "contradict", append(base, "--certificate-identity", testWorkflow, "--certificate-identity-regexp", "x")},
		{"bad regexp", "not a regular expression", append(base, "--certificate-identity-regexp", "(")},
		{"issuer without identity", "without certificate_identity", append(base, "--certificate-oidc-issuer", "https://i")},
		{"trusted root without identity", "without certificate_identity", append(base, "--trusted-root", rootFile)},
		{"trusted root missing", "cannot read", append(base, "--certificate-identity", testWorkflow, "--trusted-root", filepath.Join(dir, "missing.json"))},
		{"trusted root not JSON", "not JSON", append(base, "--certificate-identity", testWorkflow, "--trusted-root", notJSON)},
		{"fulcio not a URL", "not an http(s) URL", append(base, "--fulcio-url", "fulcio:80")},
		{"signing config and URLs", "contradict", append(base, "--signing-config", scFile, "--rekor-url", "https://r")},
		{"keyless services with a key", "keyless signing", append(base, "--sigstore-key", keyFile, "--fulcio-url", "https://f")},
	}
	for _, tc := range bad {
		_, _, err := parse(tc.args, map[string]string{"HOME": dir}, "")
		if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want usage error mentioning %q", tc.name, err, tc.msg)
		}
	}
	// The key's content never appears in an error.
	_, _, err := parse(append(base, "--sigstore-key", strings.Replace(testSigstoreKey, "PRIVATE", "PUBLIC", 2)), nil, "")
	if err == nil || strings.Contains(err.Error(), "sigstore-secret-key-material") {
		t.Errorf("bad key: %v", err)
	}
}

// TestStepSigstore: the step reads the sigstore inputs, masks the key, and
// action.yml's empty defaults are not settings.
func TestStepSigstore(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	e := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws, "INPUT_OPERATION": "get", "INPUT_KEY": "approval",
		"INPUT_IMAGE": "registry.example.com/team/app:1", "INPUT_TRUST": "sigstore", "INPUT_SIGSTORE_KEY": testSigstoreKey,
		"INPUT_PUBLIC_KEY": "", "INPUT_CERTIFICATE_IDENTITY": "", "INPUT_TRUSTED_ROOT": "", "INPUT_NOTARY_TOFU": "false"}
	st, err := FromStep(mapEnv(e), func() (string, error) { return ws, nil })
	if err != nil {
		t.Fatal(err)
	}
	tr := st.Ops[0].Request.Trust
	if tr.Backend != "sigstore" || !tr.Verify || strings.TrimSpace(tr.Sigstore.Key) != strings.TrimSpace(testSigstoreKey) {
		t.Errorf("trust = %+v", tr)
	}
	masked := false
	for _, s := range st.Secrets.Masks() {
		masked = masked || strings.Contains(s, "sigstore-secret-key-material")
	}
	if !masked {
		t.Error("sigstore_key is not among the secrets to mask")
	}

	e["INPUT_SIGSTORE_KEY"], e["INPUT_CERTIFICATE_IDENTITY"] = "", testWorkflow
	if st, err = FromStep(mapEnv(e), func() (string, error) { return ws, nil }); err != nil || st.Ops[0].Request.Trust.Sigstore.CertificateIdentity != testWorkflow {
		t.Errorf("keyless step: %+v %v", st, err)
	}
	// A bad key in the step: a usage error naming the input, not its value.
	e["INPUT_SIGSTORE_KEY"] = "-----BEGIN PUBLIC KEY-----\nsigstore-secret-key-material\n-----END PUBLIC KEY-----"
	_, err = FromStep(mapEnv(e), func() (string, error) { return ws, nil })
	if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "sigstore_key") || strings.Contains(err.Error(), "secret-key-material") {
		t.Errorf("bad key in the step: %v", err)
	}
}
