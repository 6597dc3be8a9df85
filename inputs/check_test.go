package inputs

import (
	"os"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/steps"
)

// TestStepCheckInputs: check's step inputs, validated and compiled before
// any network call.
func TestStepCheckInputs(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	if err := os.WriteFile(ws.abs("gate.yaml"), []byte("require:\n  - key: seccomp\n  - {key: test-results, expr: value.failed == 0, max_age: 72h}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := ws.github
	tests := []struct {
		name        string
		env         map[string]string
		keys        []string // the requirements' keys, in order
		failOnUnmet bool
		err         string
	}{
		{name: "file, inline and lines", env: m("operation", "check", "image", stepImg, "policy_file", "gate.yaml",
			"policy", "require: [approval]", "require", "# comment\nsbom\n\nscan: value.critical == 0\n"),
			keys: []string{"seccomp", "test-results", "approval", "sbom", "scan"}, failOnUnmet: true},
		{name: "fail_on_unmet false", env: m("operation", "check", "image", stepImg, "require", "sbom", "fail_on_unmet", "false"),
			keys: []string{"sbom"}},
		{name: "no requirements", env: m("operation", "check", "image", stepImg), err: "check needs requirements"},
		{name: "compile error names the line", env: m("operation", "check", "image", stepImg, "require", "sbom\nscan: value.x =="),
			err: `input "require" (INPUT_REQUIRE) #2: expression "value.x ==" does not compile`},
		{name: "policy file outside the workspace", env: m("operation", "check", "image", stepImg, "policy_file", "../gate.yaml"), err: "policy_file"},
		{name: "inline policy error has its line", env: m("operation", "check", "image", stepImg, "policy", "require:\n  - key: a\n    exp: x\n"),
			err: `input "policy" (INPUT_POLICY): line 3: unknown field "exp"`},
		{name: "key does not apply", env: m("operation", "check", "image", stepImg, "key", "sbom", "require", "sbom"), err: "does not apply"},
		{name: "require does not apply to get", env: m("operation", "get", "image", stepImg, "key", "sbom", "require", "sbom"),
			err: `input "require" (INPUT_REQUIRE) does not apply to operation "get"`},
		{name: "fail_on_unmet false for put", env: m("operation", "list", "image", stepImg, "fail_on_unmet", "false"), err: "only check"},
		{name: "fail_on_unmet true anywhere", env: m("operation", "list", "image", stepImg, "fail_on_unmet", "true")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ws.fromStep(tt.env)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			op := st.Ops[0]
			if op.Request.Operation != steps.OpCheck {
				return
			}
			var keys []string
			for _, r := range op.Request.Policy.Requirements {
				keys = append(keys, r.Key)
			}
			if strings.Join(keys, ",") != strings.Join(tt.keys, ",") || op.FailOnUnmet != tt.failOnUnmet {
				t.Errorf("keys %v, fail_on_unmet %v", keys, op.FailOnUnmet)
			}
		})
	}
}
