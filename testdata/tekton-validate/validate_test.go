// Package tektonvalidate checks the repository's Tekton resources
// (tekton/*.yaml) with Tekton Pipelines' own Go types: every document is
// decoded strictly (an unknown or misspelt field is an error) into the
// pipeline v1 type its kind names, defaulted with SetDefaults and validated
// with Validate, as the Tekton controller's admission webhook would on
// `kubectl apply`. Validate reports, among others, undefined $(params.*)
// references and malformed steps.
//
// This is a separate module so that the product's go.mod does not grow by
// Tekton and Kubernetes; .ci/run runs it:
//
//	cd testdata/tekton-validate && go test -count=1 ./...
package tektonvalidate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	yamlv3 "gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// tektonDir is the repository's tekton/ directory, from this package's
// directory.
const tektonDir = "../../tekton"

// checked is a decoded document with Tekton's defaulting and validation.
type checked struct {
	obj      any // what the document is strictly decoded into
	defaults func(context.Context)
	validate func(context.Context) error
}

// newResource returns an empty value of the pipeline v1 type for a
// document's apiVersion and kind; ok is false when this test does not know
// it.
func newResource(gvk schema.GroupVersionKind) (c checked, ok bool) {
	if gvk.Group != "tekton.dev" || gvk.Version != "v1" {
		return checked{}, false
	}
	switch gvk.Kind {
	case "Task":
		r := &v1.Task{}
		return checked{r, r.SetDefaults, func(ctx context.Context) error {
			// Validate returns a *apis.FieldError: a nil one is no error.
			if fe := r.Validate(ctx); fe != nil {
				return fe
			}
			return nil
		}}, true
	case "Pipeline":
		r := &v1.Pipeline{}
		return checked{r, r.SetDefaults, func(ctx context.Context) error {
			if fe := r.Validate(ctx); fe != nil {
				return fe
			}
			return nil
		}}, true
	}
	return checked{}, false
}

// documents splits a YAML stream into its documents (re-encoded one by one),
// skipping empty ones.
func documents(t *testing.T, data []byte) [][]byte {
	t.Helper()
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	var docs [][]byte
	for i := 0; i < 100; i++ {
		var n yamlv3.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("document %d: %v", i+1, err)
		}
		if len(n.Content) == 0 {
			continue
		}
		b, err := yamlv3.Marshal(&n)
		if err != nil {
			t.Fatalf("document %d: %v", i+1, err)
		}
		docs = append(docs, b)
	}
	t.Fatal("more than 100 documents")
	return nil
}

func TestTektonResourcesValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(tektonDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The two the repository ships; a new file is picked up, a removed
	// one is noticed.
	for _, want := range []string{"manifesto-task.yaml", "gate-pipeline.yaml"} {
		if !slices.Contains(files, filepath.Join(tektonDir, want)) {
			t.Errorf("%s/%s is missing (found %v)", tektonDir, want, files)
		}
	}
	kinds := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range documents(t, data) {
			name := filepath.Base(f)
			if i > 0 {
				name += fmt.Sprintf("#%d", i+1)
			}
			t.Run(name, func(t *testing.T) {
				var meta struct {
					APIVersion string `json:"apiVersion"`
					Kind       string `json:"kind"`
				}
				if err := yaml.Unmarshal(doc, &meta); err != nil {
					t.Fatalf("apiVersion/kind: %v", err)
				}
				gv, err := schema.ParseGroupVersion(meta.APIVersion)
				if err != nil {
					t.Fatalf("apiVersion %q: %v", meta.APIVersion, err)
				}
				r, ok := newResource(gv.WithKind(meta.Kind))
				if !ok {
					t.Fatalf("%s %s: not a tekton.dev/v1 Task or Pipeline; teach this test the kind", meta.APIVersion, meta.Kind)
				}
				// Strict: unknown fields and duplicate keys are errors.
				if err := yaml.UnmarshalStrict(doc, r.obj); err != nil {
					t.Fatalf("decode %s strictly: %v", meta.Kind, err)
				}
				ctx := context.Background()
				r.defaults(ctx)
				if err := r.validate(ctx); err != nil {
					t.Fatalf("validate %s:\n%s", meta.Kind, strings.TrimSpace(err.Error()))
				}
				kinds[meta.Kind]++
			})
		}
	}
	if kinds["Task"] == 0 {
		t.Errorf("no Task validated (kinds: %v)", kinds)
	}
	if kinds["Pipeline"] == 0 {
		t.Errorf("no Pipeline validated (kinds: %v)", kinds)
	}
}
