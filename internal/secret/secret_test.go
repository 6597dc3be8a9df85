package secret

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	basic := base64.StdEncoding.EncodeToString([]byte("alice:S3cr3t-P4ss"))
	tests := []struct {
		name    string
		secrets []string
		basic   [2]string
		msg     string
		want    string
	}{
		{"long secret anywhere", []string{"S3cr3t-P4ss"}, [2]string{}, "got xS3cr3t-P4ssx", "got x[redacted]x"},
		{"short secret as a word", []string{"pass"}, [2]string{}, "--password pass: bad", "--password [redacted]: bad"},
		{"short secret inside a word stays", []string{"pass"}, [2]string{}, "password", "password"},
		{"quoted form", []string{"a\"b\\c-long"}, [2]string{}, `value "a\"b\\c-long"`, `value "[redacted]"`},
		{"multi-line key folded", []string{"-----BEGIN KEY-----\nabc\n-----END KEY-----"}, [2]string{}, "key -----BEGIN KEY----- abc -----END KEY----- bad", "key [redacted] bad"},
		{"basic form", nil, [2]string{"alice", "S3cr3t-P4ss"}, "DENIED: you sent Basic " + basic, "DENIED: you sent Basic [redacted]"},
		{"longest first", []string{"secret-one", "secret-one-two"}, [2]string{}, "x secret-one-two y", "x [redacted] y"},
		{"empty ignored", []string{"", "  "}, [2]string{}, "a  b", "a  b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := New(tt.secrets...)
			s.AddBasic(tt.basic[0], tt.basic[1])
			if got := s.Redact(tt.msg); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.msg, got, tt.want)
			}
		})
	}
}

func TestNilSet(t *testing.T) {
	t.Parallel()
	var s *Set
	s.Add("x")
	s.AddBasic("u", "p")
	if s.Redact("x p") != "x p" || s.Masks() != nil {
		t.Error("a nil set changed something")
	}
}

func TestMasks(t *testing.T) {
	t.Parallel()
	s := New("line1\nline2", "line1")
	s.AddBasic("u", "pw")
	want := []string{"line1", "line2", "pw", base64.StdEncoding.EncodeToString([]byte("u:pw"))}
	if got := s.Masks(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Masks() = %q, want %q", got, want)
	}
}

func TestError(t *testing.T) {
	t.Parallel()
	class := errors.New("unauthorized")
	err := fmt.Errorf("get k: token tok-123456789 refused: %w", class)
	s := New("tok-123456789")
	got := s.Error(err)
	if strings.Contains(got.Error(), "tok-123456789") || !strings.Contains(got.Error(), Placeholder) {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(got, class) {
		t.Error("the redacted error lost its class")
	}
	clean := errors.New("nothing secret")
	if s.Error(clean) != clean {
		t.Error("an error without a secret was wrapped")
	}
	if s.Error(nil) != nil {
		t.Error("nil error became non-nil")
	}
}

func TestConcurrent(t *testing.T) {
	t.Parallel()
	s := New()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() { defer wg.Done(); s.Add(fmt.Sprintf("secret-%08d", i)) }()
		go func() { defer wg.Done(); _ = s.Redact("secret-00000001") }()
	}
	wg.Wait()
	if got := s.Redact("secret-00000007"); got != Placeholder {
		t.Errorf("Redact = %q", got)
	}
}

func TestRedactEncoded(t *testing.T) {
	t.Parallel()
	s := New("S3cr3t-P4ss", "pass")
	esc := func(v string) string { return strings.NewReplacer("-", `\-`, "[", `\[`, "]", `\]`).Replace(v) }
	got := s.RedactEncoded(`sent S3cr3t\-P4ss; password pass`, esc)
	if want := `sent \[redacted\]; password pass`; got != want {
		t.Errorf("RedactEncoded = %q, want %q (a short secret the encoding leaves alone is Redact's)", got, want)
	}
	var nilSet *Set
	if nilSet.RedactEncoded("x", esc) != "x" {
		t.Error("a nil set changed something")
	}
}
