package outputs

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/store"
)

// outputNames is the names of outs, in order.
func outputNames(outs []Output) []string {
	names := make([]string, 0, len(outs))
	for _, o := range outs {
		names = append(names, o.Name)
	}
	return names
}

// outputMap is outs as a map, failing on a repeated name.
func outputMap(t *testing.T, outs []Output) map[string]string {
	t.Helper()
	m := make(map[string]string, len(outs))
	for _, o := range outs {
		if _, dup := m[o.Name]; dup {
			t.Fatalf("output %q repeated", o.Name)
		}
		m[o.Name] = o.Value
	}
	return m
}

func TestStepOutputs(t *testing.T) {
	t.Parallel()
	const createdA = "2025-03-04T05:08:09.123456789Z" // entryA in UTC
	const createdB = "2025-03-04T05:00:00Z"
	tests := []struct {
		name  string
		r     steps.Result
		names []string
		want  map[string]string // values to check (json checked separately)
	}{
		{"put",
			steps.Result{Operation: steps.OpPut, Image: "reg/app:1", Subject: subject, Key: "sbom", Found: true, Entry: &entryA, Path: "ignored"},
			[]string{"digest", "subject", "key", "found", "media_type", "created", "json"},
			map[string]string{"digest": digestA, "subject": subject, "key": "sbom", "found": "true",
				"media_type": "application/json", "created": createdA}},
		{"get to file with value",
			steps.Result{Operation: steps.OpGet, Subject: subject, Key: "scan", Found: true, Entry: &entryB, Path: "out/scan.sarif", Value: []byte("{}\n")},
			[]string{"digest", "subject", "key", "found", "path", "value", "media_type", "created", "verified", "json"},
			map[string]string{"digest": digestB, "path": "out/scan.sarif", "value": "{}\n", "media_type": "application/sarif+json", "created": createdB}},
		{"get empty value, unknown media type",
			steps.Result{Operation: steps.OpGet, Subject: subject, Key: "scan", Found: true, Entry: &entryC, Value: []byte{}},
			[]string{"digest", "subject", "key", "found", "value", "created", "verified", "json"},
			map[string]string{"digest": digestC, "value": "", "created": "2024-12-31T23:59:59.000000001Z"}},
		{"get binary value (no Value)",
			steps.Result{Operation: steps.OpGet, Subject: subject, Key: "sbom", Found: true, Entry: &entryA},
			[]string{"digest", "subject", "key", "found", "media_type", "created", "verified", "json"},
			nil},
		{"get not found",
			steps.Result{Operation: steps.OpGet, Image: "reg/app:1", Subject: subject, Key: "nope"},
			[]string{"subject", "key", "found", "verified"},
			map[string]string{"found": "false", "key": "nope"}},
		{"open failed",
			steps.Result{Operation: steps.OpGet, Image: "reg/app:1", Key: "nope"},
			[]string{"key", "found", "verified"},
			nil},
		{"list",
			steps.Result{Operation: steps.OpList, Subject: subject, Found: true, Entries: []store.Entry{entryA, entryB}},
			[]string{"subject", "found", "verified", "keys", "json"},
			map[string]string{"keys": "sbom,scan", "found": "true"}},
		{"list empty",
			steps.Result{Operation: steps.OpList, Subject: subject},
			[]string{"subject", "found", "verified", "keys", "json"},
			map[string]string{"keys": "", "found": "false", "json": "[]"}},
		{"history",
			steps.Result{Operation: steps.OpHistory, Subject: subject, Key: "scan", Found: true, Entries: []store.Entry{entryB, entryC}},
			[]string{"subject", "key", "found", "verified", "digests", "json"},
			map[string]string{"digests": digestB + "," + digestC}},
		{"history not found",
			steps.Result{Operation: steps.OpHistory, Subject: subject, Key: "scan"},
			[]string{"subject", "key", "found", "verified", "digests", "json"},
			map[string]string{"digests": "", "found": "false", "json": "[]"}},
		{"delete",
			steps.Result{Operation: steps.OpDelete, Subject: subject, Key: "scan", Found: true, Entries: []store.Entry{entryB, entryC}},
			[]string{"subject", "key", "found", "keys", "digests", "json"},
			map[string]string{"keys": "scan", "digests": digestB + "," + digestC}},
		{"repair",
			steps.Result{Operation: steps.OpRepair, Subject: subject, Entries: []store.Entry{entryA}},
			[]string{"subject", "found", "digests", "json"},
			map[string]string{"digests": digestA, "found": "false"}},
		{"unknown operation",
			steps.Result{Operation: "frob"},
			[]string{"found"},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outs := StepOutputs(tt.r)
			if got := outputNames(outs); !slices.Equal(got, tt.names) {
				t.Fatalf("names = %q, want %q", got, tt.names)
			}
			for _, o := range outs {
				if !slices.Contains(Names(), o.Name) {
					t.Errorf("output %q is not in Names()", o.Name)
				}
			}
			m := outputMap(t, outs)
			for name, want := range tt.want {
				if m[name] != want {
					t.Errorf("%s = %q, want %q", name, m[name], want)
				}
			}
			if doc, ok := m["json"]; ok {
				var buf bytes.Buffer
				if err := JSON(&buf, tt.r); err != nil {
					t.Fatal(err)
				}
				if doc+"\n" != buf.String() || strings.ContainsAny(doc, "\r\n") || !json.Valid([]byte(doc)) {
					t.Errorf("json = %q, want the JSON document %q on one line", doc, buf.String())
				}
			}
		})
	}
}

func TestPrefixed(t *testing.T) {
	t.Parallel()
	outs := []Output{{"digest", "d"}, {"found", "true"}}
	got := Prefixed("sbom-get", outs)
	want := []Output{{"sbom-get_digest", "d"}, {"sbom-get_found", "true"}}
	if !slices.Equal(got, want) {
		t.Errorf("Prefixed = %q, want %q", got, want)
	}
	if outs[0].Name != "digest" {
		t.Errorf("Prefixed modified its input: %q", outs)
	}
	if got := Prefixed("", outs); !slices.Equal(got, outs) {
		t.Errorf("Prefixed with no id = %q, want %q", got, outs)
	}
	if got := Prefixed("x", nil); len(got) != 0 {
		t.Errorf("Prefixed(nil) = %q", got)
	}
}

func TestByImportance(t *testing.T) {
	t.Parallel()
	in := []Output{{"unit_json", ""}, {"unit_digest", ""}, {"subject", ""}, {"found", ""}, {"unit_found", ""}, {"digests", ""}, {"other", ""}}
	var got []string
	for _, o := range ByImportance(in) {
		got = append(got, o.Name)
	}
	want := "unit_digest found unit_found digests subject unit_json other"
	if strings.Join(got, " ") != want {
		t.Errorf("order = %v, want %s", got, want)
	}
	if in[0].Name != "unit_json" {
		t.Error("ByImportance changed its input")
	}
}
