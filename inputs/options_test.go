package inputs

import (
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/trust/notary"
)

// TestOptionTable checks the table's own rules: one row per name, step
// inputs and flags named with '_' and without, every variable read under
// its own name in upper case, usage text exactly for the flags.
func TestOptionTable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, o := range optionTable {
		if seen[o.name] {
			t.Errorf("option %q is declared twice", o.name)
		}
		seen[o.name] = true
		switch {
		case o.env && (o.name != strings.ToUpper(o.name) || o.usage != "" || len(o.cmds) > 0):
			t.Errorf("variable %q: want an upper-case name, no usage, no commands", o.name)
		case !o.env && (o.name != strings.ToLower(o.name) || strings.ContainsAny(o.name, "-. ")):
			t.Errorf("input %q: use lower case and '_' only", o.name)
		case !o.env && o.cli != (o.usage != ""):
			t.Errorf("option %q: a usage text exactly when it is a flag", o.name)
		case !o.cli && !o.step:
			t.Errorf("option %q is read nowhere", o.name)
		}
	}
}

// TestSecretOptions: the secrets are marked in the table, whatever mode
// reads them.
func TestSecretOptions(t *testing.T) {
	t.Parallel()
	want := []string{inPassword, inGitHubToken, inNotaryKey, inSigstoreKey, EnvRegistryPassword, "CI_REGISTRY_PASSWORD",
		"COSIGN_PASSWORD", "SIGSTORE_ID_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}
	for _, role := range []string{"root", "targets", "snapshot", "targets/ci"} {
		want = append(want, notary.PassphraseEnv(role))
	}
	for _, name := range want {
		if !optionNamed(name).secret {
			t.Errorf("%s is not marked secret", name)
		}
	}
	for _, name := range []string{inUsername, inImage, inNotaryServer, inPublicKey, "ACTIONS_ID_TOKEN_REQUEST_URL"} {
		if optionNamed(name).secret {
			t.Errorf("%s is marked secret", name)
		}
	}
}

// TestEnvOnlySecretsRedacted: a variable read under its own name is
// redacted from CLI and step errors even when nothing uses it.
func TestEnvOnlySecretsRedacted(t *testing.T) {
	t.Parallel()
	const pass = "notary-passphrase-value"
	_, _, err := parse([]string{"list", pass + "!"}, map[string]string{"NOTARY_TARGETS_PASSPHRASE": pass}, "")
	checkUsage(t, err)
	if err == nil || strings.Contains(err.Error(), pass) {
		t.Errorf("CLI error %v shows the passphrase", err)
	}
	ws := newStepWS(t)
	st, err := ws.fromStep(map[string]string{"MANIFESTO_OPERATION": "list", "MANIFESTO_IMAGE": pass + "!", "COSIGN_PASSWORD": pass})
	checkUsage(t, err)
	if err == nil || strings.Contains(err.Error(), pass) || !st.Secrets.Contains(pass) {
		t.Errorf("step error %v shows the password, or it is not a secret", err)
	}
}

// TestBackendSecretsFromEnv: the passphrases, cosign's password and the
// OIDC token reach the backends' options through inputs, and a token
// obtained later joins the run's secrets.
func TestBackendSecretsFromEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd, _, err := parse([]string{"list", img, "--trust", "notary", "--notary-server", "https://n.example.com", "--notary-tofu", "--trust-dir", dir},
		map[string]string{"NOTARY_TARGETS_PASSPHRASE": "targets-pass", "NOTARY_DELEGATION_PASSPHRASE": "ci-pass"}, "")
	if err != nil {
		t.Fatal(err)
	}
	n := cmd.Request.Trust.Notary
	for role, want := range map[string]string{"targets": "targets-pass", "targets/ci": "ci-pass"} {
		if got, err := n.Passphrase(role); got != want || err != nil {
			t.Errorf("Passphrase(%q) = %q, %v; want %q", role, got, err, want)
		}
	}
	if _, err := n.Passphrase("root"); err == nil || !strings.Contains(err.Error(), "NOTARY_ROOT_PASSPHRASE") {
		t.Errorf("Passphrase(root) without its variable: %v", err)
	}

	cmd, _, err = parse([]string{"list", img, "--trust", "sigstore"},
		map[string]string{"COSIGN_PASSWORD": "cosign-pass", "SIGSTORE_ID_TOKEN": " oidc-token-value "}, "")
	if err != nil {
		t.Fatal(err)
	}
	s := cmd.Request.Trust.Sigstore
	if s.Password != "cosign-pass" {
		t.Errorf("Password = %q", s.Password)
	}
	tok, err := s.IDToken(t.Context())
	if tok != "oidc-token-value" || err != nil {
		t.Errorf("IDToken = %q, %v", tok, err)
	}
	if !cmd.Secrets.Contains("oidc-token-value") || !cmd.Secrets.Contains("cosign-pass") {
		t.Error("the token or the password is not among the run's secrets")
	}
}
