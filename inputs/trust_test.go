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
)

const testRootID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestTrustFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "ci.key")
	pem := "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
	os.WriteFile(keyFile, []byte(pem), 0o600)
	img := "registry.example.com/team/app:1"
	base := []string{"get", img, "k", "--trust", "notary", "--notary-server", "https://notary.example.com/"}

	ok := []struct {
		name string
		args []string
		env  map[string]string
		want func(o steps.TrustOptions) bool
	}{
		{"defaults", append(base, "--notary-root-key-id", testRootID), map[string]string{"HOME": dir},
			func(o steps.TrustOptions) bool {
				return o.Backend == "notary" && o.Verify && o.Notary.Server == "https://notary.example.com" &&
					o.Notary.Role == "targets" && o.Notary.RootKeyID == testRootID && strings.HasSuffix(o.Notary.TrustDir, ".notary")
			}},
		{"verify off, tofu, delegation, key file", append(base, "--verify=false", "--notary-tofu", "--notary-role", "targets/ci", "--notary-key", keyFile, "--trust-dir", dir), nil,
			func(o steps.TrustOptions) bool {
				return !o.Verify && o.Notary.TOFU && o.Notary.Role == "targets/ci" && o.Notary.Key == pem && o.Notary.TrustDir == dir
			}},
		{"from the environment", []string{"list", img}, map[string]string{"MANIFESTO_TRUST": "notary", "MANIFESTO_NOTARY_SERVER": "http://127.0.0.1:4443",
			"MANIFESTO_NOTARY_ROOT_KEY_ID": testRootID, "MANIFESTO_NOTARY_KEY": pem, "MANIFESTO_TRUST_DIR": dir},
			func(o steps.TrustOptions) bool {
				return o.Notary.Server == "http://127.0.0.1:4443" && o.Notary.Key == pem
			}},
		{"no trust", []string{"list", img}, nil, func(o steps.TrustOptions) bool { return reflect.DeepEqual(o, steps.TrustOptions{}) }},
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
		{"unknown backend", "not a trust backend", []string{"list", img, "--trust", "gpg"}},
		{"no server", "notary_server", []string{"list", img, "--trust", "notary"}},
		{"server not a URL", "not an http(s) URL", []string{"list", img, "--trust", "notary", "--notary-server", "notary:4443"}},
		{"settings without backend", "trust is not", []string{"list", img, "--notary-server", "https://n"}},
		{"verify without backend", "trust is not", []string{"list", img, "--verify"}},
		{"bad root id", "root key ID", append(base, "--notary-root-key-id", "abc")},
		{"pin and tofu", "contradict", append(base, "--notary-root-key-id", testRootID, "--notary-tofu")},
		{"bad role", "targets role", append(base, "--notary-role", "root")},
		{"key neither PEM nor file", "neither a PEM", append(base, "--notary-key", filepath.Join(dir, "missing"))},
		{"trust init without server", "trust init needs --notary-server", []string{"trust", "init", img}},
		{"trust init with sigstore", "trust init creates Notary trust data: --trust \"sigstore\"", []string{"trust", "init", img, "--trust", "sigstore", "--notary-server", "https://n"}},
		{"trust init with trust none", "does not apply", []string{"trust", "init", img, "--trust", "none", "--notary-server", "https://n"}},
	}
	for _, tc := range bad {
		_, _, err := parse(tc.args, map[string]string{"HOME": dir}, "")
		if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want usage error mentioning %q", tc.name, err, tc.msg)
		}
	}

	cmd, _, err := parse(append([]string{"trust", "init", img}, base[3:]...), nil, "")
	if err != nil || cmd.Name != steps.OpTrustInit || cmd.Request.Operation != steps.OpTrustInit {
		t.Errorf("trust init: %+v, %v", cmd, err)
	}
	// trust init is Notary's: --trust notary is implied, and allowed.
	for _, args := range [][]string{
		{"trust", "init", img, "--notary-server", "https://notary.example.com"},
		{"trust", "init", img, "--notary-server", "https://notary.example.com", "--trust", "notary"},
	} {
		cmd, _, err := parse(args, map[string]string{"HOME": dir}, "")
		if err != nil || cmd.Request.Trust.Backend != steps.TrustNotary || cmd.Request.Trust.Notary.Server != "https://notary.example.com" {
			t.Errorf("%q: %+v, %v", args, cmd.Request.Trust, err)
		}
	}
}

// TestStepTrustDefaults: the GitHub runner exports every input with its
// action.yml default; defaults without trust must not be taken for settings.
func TestStepTrustDefaults(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	e := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws, "INPUT_OPERATION": "list",
		"INPUT_IMAGE": "registry.example.com/team/app:1", "INPUT_NOTARY_TOFU": "false", "INPUT_VERIFY": "", "INPUT_TRUST": ""}
	st, err := FromStep(mapEnv(e), func() (string, error) { return ws, nil })
	if err != nil || st.Ops[0].Request.Trust.Backend != "" {
		t.Fatalf("step = %+v, %v", st, err)
	}
	e["INPUT_TRUST"], e["INPUT_NOTARY_SERVER"], e["INPUT_NOTARY_KEY"] = "notary", "https://notary.example.com", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nsecret-key-material\n-----END ENCRYPTED PRIVATE KEY-----"
	e["INPUT_NOTARY_ROOT_KEY_ID"], e["HOME"] = testRootID, ws
	st, err = FromStep(mapEnv(e), func() (string, error) { return ws, nil })
	if err != nil || st.Ops[0].Request.Trust.Backend != "notary" || !st.Ops[0].Request.Trust.Verify {
		t.Fatalf("step = %+v, %v", st, err)
	}
	masked := false
	for _, s := range st.Secrets.Masks() {
		masked = masked || strings.Contains(s, "secret-key-material")
	}
	if !masked {
		t.Error("notary_key is not among the secrets to mask")
	}
}
