package outputs

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/store"
)

var entryFields = []string{"created", "digest", "key", "mediaType", "size"}

// decodeOne decodes exactly one JSON document followed by a newline.
func decodeOne(t *testing.T, b []byte) any {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("}\n")) && !bytes.HasSuffix(b, []byte("]\n")) {
		t.Fatalf("output does not end with a document and a newline: %q", b)
	}
	if bytes.Count(b, []byte("\n")) != 1 {
		t.Fatalf("output is not one line: %q", b)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	if err := dec.Decode(new(any)); err != io.EOF {
		t.Fatalf("more than one document in %q (%v)", b, err)
	}
	return v
}

// checkEntry checks that m is exactly the entry object of e.
func checkEntry(t *testing.T, m map[string]any, e store.Entry, extra ...string) {
	t.Helper()
	want := slices.Sorted(slices.Values(append(slices.Clone(entryFields), extra...)))
	if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, want) {
		t.Errorf("fields = %q, want %q", got, want)
	}
	if m["key"] != e.Key || m["digest"] != e.Digest || m["mediaType"] != e.MediaType {
		t.Errorf("key/digest/mediaType = %v/%v/%v, want %v/%v/%v",
			m["key"], m["digest"], m["mediaType"], e.Key, e.Digest, e.MediaType)
	}
	if n, _ := m["size"].(json.Number); n.String() != json.Number(itoa(e.Size)).String() {
		t.Errorf("size = %v, want %d", m["size"], e.Size)
	}
	s, _ := m["created"].(string)
	created, err := time.Parse(time.RFC3339Nano, s)
	switch {
	case err != nil:
		t.Errorf("created %q: %v", s, err)
	case !created.Equal(e.Created):
		t.Errorf("created = %v, want %v", created, e.Created)
	case created.Location() != time.UTC || s[len(s)-1] != 'Z':
		t.Errorf("created %q is not UTC", s)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestJSONLists(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    steps.Result
		want []store.Entry
	}{
		{"list", steps.Result{Operation: steps.OpList, Subject: subject, Entries: []store.Entry{entryA, entryB}}, []store.Entry{entryA, entryB}},
		{"list empty", steps.Result{Operation: steps.OpList, Subject: subject}, nil},
		{"history", steps.Result{Operation: steps.OpHistory, Found: true, Entries: []store.Entry{entryB, entryC}}, []store.Entry{entryB, entryC}},
		{"history not found", steps.Result{Operation: steps.OpHistory, Warnings: []string{"w"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := JSON(&buf, tt.r); err != nil {
				t.Fatalf("JSON: %v", err)
			}
			if len(tt.want) == 0 && buf.String() != "[]\n" {
				t.Errorf("empty output = %q, want %q", buf.String(), "[]\n")
			}
			arr, ok := decodeOne(t, buf.Bytes()).([]any)
			if !ok {
				t.Fatalf("not an array: %s", buf.Bytes())
			}
			if len(arr) != len(tt.want) {
				t.Fatalf("%d entries, want %d", len(arr), len(tt.want))
			}
			for i, e := range tt.want {
				checkEntry(t, arr[i].(map[string]any), e)
			}
		})
	}
}

func TestJSONValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		r        steps.Result
		wantPath string
	}{
		{"put", steps.Result{Operation: steps.OpPut, Subject: subject, Entry: &entryA}, ""},
		{"put ignores path", steps.Result{Operation: steps.OpPut, Subject: subject, Entry: &entryA, Path: "x"}, ""},
		{"get to stdout", steps.Result{Operation: steps.OpGet, Subject: subject, Found: true, Entry: &entryC}, ""},
		{"get to file", steps.Result{Operation: steps.OpGet, Subject: subject, Found: true, Entry: &entryB, Path: "out/scan.sarif"}, "out/scan.sarif"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := JSON(&buf, tt.r); err != nil {
				t.Fatalf("JSON: %v", err)
			}
			m, ok := decodeOne(t, buf.Bytes()).(map[string]any)
			if !ok {
				t.Fatalf("not an object: %s", buf.Bytes())
			}
			extra := []string{"subject"}
			if tt.wantPath != "" {
				extra = append(extra, "path")
			}
			checkEntry(t, m, *tt.r.Entry, extra...)
			if m["subject"] != subject {
				t.Errorf("subject = %v", m["subject"])
			}
			if tt.wantPath != "" && m["path"] != tt.wantPath {
				t.Errorf("path = %v, want %q", m["path"], tt.wantPath)
			}
			// The exported struct reads it back too.
			var v ValueJSON
			if err := json.Unmarshal(buf.Bytes(), &v); err != nil || v.Digest != tt.r.Entry.Digest || v.Subject != subject || v.Path != tt.wantPath {
				t.Errorf("ValueJSON = %+v, %v", v, err)
			}
		})
	}
}

func TestJSONRemoved(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		r     steps.Result
		field string
		want  []store.Entry
	}{
		{"delete", steps.Result{Operation: steps.OpDelete, Subject: subject, Entries: []store.Entry{entryC, entryB}}, "deleted", []store.Entry{entryC, entryB}},
		{"delete nothing", steps.Result{Operation: steps.OpDelete, Subject: subject}, "deleted", nil},
		{"repair", steps.Result{Operation: steps.OpRepair, Subject: subject, Entries: []store.Entry{entryA}}, "indexed", []store.Entry{entryA}},
		{"repair nothing", steps.Result{Operation: steps.OpRepair, Subject: subject}, "indexed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := JSON(&buf, tt.r); err != nil {
				t.Fatalf("JSON: %v", err)
			}
			m, ok := decodeOne(t, buf.Bytes()).(map[string]any)
			if !ok {
				t.Fatalf("not an object: %s", buf.Bytes())
			}
			if got, want := slices.Sorted(maps.Keys(m)), []string{tt.field, "subject"}; !slices.Equal(got, want) {
				t.Errorf("fields = %q, want %q", got, want)
			}
			if m["subject"] != subject {
				t.Errorf("subject = %v", m["subject"])
			}
			arr, ok := m[tt.field].([]any) // null would fail here
			if !ok {
				t.Fatalf("%s is not an array: %s", tt.field, buf.Bytes())
			}
			if len(arr) != len(tt.want) {
				t.Fatalf("%d entries, want %d", len(arr), len(tt.want))
			}
			for i, e := range tt.want {
				checkEntry(t, arr[i].(map[string]any), e)
			}
		})
	}
}

func TestJSONErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		w    io.Writer
		r    steps.Result
	}{
		{"unknown operation", &bytes.Buffer{}, steps.Result{Operation: ""}},
		{"put without entry", &bytes.Buffer{}, steps.Result{Operation: steps.OpPut}},
		{"get without entry", &bytes.Buffer{}, steps.Result{Operation: steps.OpGet}},
		{"write fails", failWriter{}, steps.Result{Operation: steps.OpList}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := JSON(tt.w, tt.r); err == nil {
				t.Fatal("JSON succeeded; want an error")
			}
			if b, ok := tt.w.(*bytes.Buffer); ok && b.Len() != 0 {
				t.Errorf("wrote %q on error", b.String())
			}
		})
	}
}
