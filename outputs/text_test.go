package outputs

import (
	"bytes"
	"slices"
	"testing"

	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/store"
)

func TestText(t *testing.T) {
	t.Parallel()
	warn := []string{"something odd"}
	tests := []struct {
		name string
		r    steps.Result
		want []string // lines; nil = no output
	}{
		{"put", steps.Result{Operation: steps.OpPut, Subject: subject, Entry: &entryA, Warnings: warn},
			[]string{digestA}},
		{"get to stdout", steps.Result{Operation: steps.OpGet, Found: true, Entry: &entryA}, nil},
		{"get to file", steps.Result{Operation: steps.OpGet, Found: true, Entry: &entryA, Path: "out.json"}, nil},
		{"list", steps.Result{Operation: steps.OpList, Entries: []store.Entry{entryA, entryB}, Warnings: warn},
			[]string{"sbom", "scan"}},
		{"list empty", steps.Result{Operation: steps.OpList}, nil},
		{"history keeps order", steps.Result{Operation: steps.OpHistory, Found: true, Entries: []store.Entry{entryB, entryC}},
			[]string{digestB, digestC}},
		{"history not found", steps.Result{Operation: steps.OpHistory}, nil},
		{"delete", steps.Result{Operation: steps.OpDelete, Entries: []store.Entry{entryC, entryB}},
			[]string{digestC, digestB}},
		{"repair", steps.Result{Operation: steps.OpRepair, Entries: []store.Entry{entryA}},
			[]string{digestA}},
		{"repair nothing", steps.Result{Operation: steps.OpRepair}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Text(&buf, tt.r); err != nil {
				t.Fatalf("Text: %v", err)
			}
			got, err := lines(buf.String())
			if err != nil {
				t.Fatalf("%v: %q", err, buf.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("lines = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTextErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		w    interface{ Write([]byte) (int, error) }
		r    steps.Result
	}{
		{"unknown operation", &bytes.Buffer{}, steps.Result{Operation: "frobnicate"}},
		{"put without entry", &bytes.Buffer{}, steps.Result{Operation: steps.OpPut}},
		{"write fails", failWriter{}, steps.Result{Operation: steps.OpList, Entries: []store.Entry{entryA}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Text(tt.w, tt.r); err == nil {
				t.Fatal("Text succeeded; want an error")
			}
			if b, ok := tt.w.(*bytes.Buffer); ok && b.Len() != 0 {
				t.Errorf("wrote %q on error", b.String())
			}
		})
	}
}
