package inputs

import (
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestActionDeclaresEveryInput keeps action.yml and the step inputs in step:
// an input the action does not declare cannot be set from a workflow.
func TestActionDeclaresEveryInput(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Inputs map[string]struct {
			Description string `yaml:"description"`
		} `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(b, &action); err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, n := range StepInputs() {
		known[n] = true
		if in, ok := action.Inputs[n]; !ok || in.Description == "" {
			t.Errorf("action.yml does not declare input %q with a description", n)
		}
	}
	for n := range action.Inputs {
		if !known[n] {
			t.Errorf("action.yml declares input %q, which the step does not read", n)
		}
	}
}
