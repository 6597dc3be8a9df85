package outputs

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/steps"
)

// panicky is an error whose Error method dereferences a nil receiver.
type panicky struct{ msg *string }

func (p *panicky) Error() string { return *p.msg }

func TestError(t *testing.T) {
	t.Parallel()
	var typedNil *panicky
	long := strings.Repeat("é", 5000)
	tests := []struct {
		name string
		err  error
		want string // the message after "manifesto: "; "" = no output
	}{
		{"nil", nil, ""},
		{"plain", errors.New("get sbom: not found"), "get sbom: not found"},
		{"wrapped class", fmt.Errorf("put sbom: %w", errdef.ErrUnauthorized), "put sbom: unauthorized"},
		{"classed", errdef.Usagef("key %q is invalid", "A"), `key "A" is invalid`},
		{"newlines", errors.New("registry said:\n  denied\r\nretry later\n"), "registry said:   denied retry later"},
		{"lone CR", errors.New("a\rb"), "a b"},
		{"control characters", errors.New("a\x1b[31mb\tc\x00d"), "a [31mb c d"},
		{"trimmed", errors.New(" \n\t padded \r\n "), "padded"},
		{"empty", errors.New(""), "unknown error"},
		{"only newlines", errors.New("\n\r\n"), "unknown error"},
		{"exactly the limit", errors.New(strings.Repeat("x", MaxMessageLen)), strings.Repeat("x", MaxMessageLen)},
		{"one over the limit", errors.New(strings.Repeat("x", MaxMessageLen+1)), strings.Repeat("x", MaxMessageLen-1) + "…"},
		{"long multibyte", errors.New(long), long[:2*(MaxMessageLen-1)] + "…"},
		{"cut at a space", errors.New(strings.Repeat("x", MaxMessageLen-2) + "\n\nyyyy"), strings.Repeat("x", MaxMessageLen-2) + "…"},
		{"typed nil", typedNil, "unprintable error (*outputs.panicky)"},
		{"invalid UTF-8", errors.New("bad \xff byte"), "bad \uFFFD byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			Error(&buf, tt.err, nil)
			got, err := lines(buf.String())
			if err != nil {
				t.Fatalf("%v: %q", err, buf.String())
			}
			if tt.want == "" {
				if got != nil {
					t.Fatalf("wrote %q; want nothing", buf.String())
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("wrote %d lines: %q", len(got), buf.String())
			}
			msg, ok := strings.CutPrefix(got[0], "manifesto: ")
			if !ok {
				t.Fatalf("line %q lacks the prefix", got[0])
			}
			if msg != tt.want {
				t.Errorf("message = %q, want %q", msg, tt.want)
			}
			if n := utf8.RuneCountInString(msg); n > MaxMessageLen {
				t.Errorf("message is %d characters", n)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		warnings []string
		want     []string
	}{
		{"none", nil, nil},
		{"one", []string{"index is stale; run repair"}, []string{"manifesto: warning: index is stale; run repair"}},
		{"several, one line each", []string{"first\nsecond", "", "third\r\n"},
			[]string{"manifesto: warning: first second", "manifesto: warning: third"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			Warnings(&buf, steps.Result{Operation: steps.OpList, Warnings: tt.warnings}, nil)
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
