package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/secret"
)

// TestAuthWatchResendsBody: the same request sent twice (as the bearer
// transport does after a challenge) carries its whole body both times; a
// body that cannot be produced again is refused as unauthorized, not sent
// empty.
func TestAuthWatchResendsBody(t *testing.T) {
	t.Parallel()
	var got []string
	a := &authWatch{inner: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		got = append(got, string(b))
		return &http.Response{StatusCode: http.StatusUnauthorized, Body: http.NoBody, Request: r}, err
	})}
	req, _ := http.NewRequest(http.MethodPut, "http://registry.test/v2/r/manifests/t", bytes.NewReader([]byte("manifest")))
	for range 2 {
		if _, err := a.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(got) != "[manifest manifest]" {
		t.Errorf("bodies sent: %q", got)
	}

	stream, _ := http.NewRequest(http.MethodPut, "http://registry.test/v2/r/blobs/uploads/x", io.NopCloser(strings.NewReader("blob")))
	stream.GetBody = nil
	if _, err := a.RoundTrip(stream); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RoundTrip(stream); !errors.Is(err, errdef.ErrUnauthorized) {
		t.Errorf("re-send of a stream: %v, want ErrUnauthorized", err)
	}
}

// TestAuthWatchLearnsCredentials: the credentials going out are registered
// as secrets: bearer tokens, and keychain Basic credentials in both forms.
func TestAuthWatchLearnsCredentials(t *testing.T) {
	t.Parallel()
	s := secret.New()
	a := &authWatch{secrets: s, inner: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
	})}
	basic := base64.StdEncoding.EncodeToString([]byte("bob:keychain-pass"))
	for _, h := range []string{"Bearer tok-abcdef123456", "Basic " + basic} {
		req, _ := http.NewRequest(http.MethodGet, "http://registry.test/v2/", nil)
		req.Header.Set("Authorization", h)
		if _, err := a.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
	}
	msg := "sent Bearer tok-abcdef123456 and Basic " + basic + " i.e. bob:keychain-pass"
	if got := s.Redact(msg); strings.Contains(got, "tok-abcdef") || strings.Contains(got, basic) || strings.Contains(got, "keychain-pass") {
		t.Errorf("Redact = %q", got)
	}
}

// TestCutRegistryError: a registry's long error body is cut short in the
// message; the class stays.
func TestCutRegistryError(t *testing.T) {
	t.Parallel()
	req, _ := http.NewRequest(http.MethodGet, "http://registry.test/v2/r/manifests/t", nil)
	resp := &http.Response{StatusCode: http.StatusUnauthorized, Request: req,
		Body: io.NopCloser(strings.NewReader("DENIED " + strings.Repeat("é", 5000)))}
	terr := transport.CheckError(resp, http.StatusOK)
	err := classify(fmt.Errorf("get k: %w", terr))
	msg := err.Error()
	if !strings.HasPrefix(msg, "get k: GET http://registry.test/v2/r/manifests/t: unexpected status code 401 Unauthorized: DENIED é") ||
		utf8.RuneCountInString(msg) > 600 || !strings.HasSuffix(msg, "…") || !utf8.ValidString(msg) {
		t.Errorf("message (%d runes) = %.200q…", utf8.RuneCountInString(msg), msg)
	}
	var got *transport.Error
	if !errors.Is(err, errdef.ErrUnauthorized) || !errors.As(err, &got) || got.StatusCode != http.StatusUnauthorized {
		t.Errorf("class lost: %v", err)
	}
	short := classify(transport.CheckError(&http.Response{StatusCode: 400, Request: req, Body: io.NopCloser(strings.NewReader("bad"))}, 200))
	if strings.Contains(short.Error(), "…") {
		t.Errorf("a short body was cut: %q", short)
	}
}

// TestRedactErrorBody: an error answer's body has every secret of the run
// redacted where it enters, also where JSON escapes spell it out (a token
// whose '.' is \u002e), before anything cuts it; success bodies are not
// touched.
func TestRedactErrorBody(t *testing.T) {
	t.Parallel()
	const tok = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNlY3JldA"
	escaped := strings.ReplaceAll(tok, ".", `\u002e`)
	long := strings.Repeat("x", 600) + " " + tok
	tests := []struct {
		name   string
		status int
		body   string
		leak   bool // the token is expected in what the caller reads
	}{
		{"raw", http.StatusUnauthorized, `{"errors":[{"code":"DENIED","message":"you sent Bearer ` + tok + `"}]}`, false},
		{"json escapes", http.StatusBadRequest, `{"errors":[{"code":"DENIED","message":"x","detail":"Bearer ` + escaped + `"}]}`, false},
		{"not json", http.StatusForbidden, "denied: " + tok, false},
		{"past the cut", http.StatusUnauthorized, `{"errors":[{"code":"DENIED","message":"` + long + `"}]}`, false},
		{"success untouched", http.StatusOK, tok, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inner := roundTripFunc(func(*http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: tt.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tt.body))}, nil
			})
			set := secret.New()
			w := &authWatch{inner: inner, secrets: set}
			req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/v2/", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := w.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			var decoded any
			text := string(b)
			if json.Unmarshal(b, &decoded) == nil {
				text = fmt.Sprint(decoded)
			}
			if got := strings.Contains(text, tok) || strings.Contains(string(b), tok); got != tt.leak {
				t.Errorf("token in the body read = %v, want %v: %s", got, tt.leak, b)
			}
			if !tt.leak && resp.ContentLength != int64(len(b)) {
				t.Errorf("ContentLength %d for a body of %d bytes", resp.ContentLength, len(b))
			}
		})
	}
}

// TestRedactErrorBodyKeepsReadError: an error answer whose body breaks off
// fails its reader with that error after the bytes that came, redacted; it
// does not pass for a short, whole answer.
func TestRedactErrorBodyKeepsReadError(t *testing.T) {
	t.Parallel()
	broke := errors.New("registry sent no data")
	inner := roundTripFunc(func(*http.Request) (*http.Response, error) {
		body := io.MultiReader(strings.NewReader(`{"errors":[{"code":"NAME_UNKNOWN","message":"tok-123456789`), errReader{broke})
		return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{}, Body: io.NopCloser(body)}, nil
	})
	w := &authWatch{inner: inner, secrets: secret.New("tok-123456789")}
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/v2/", nil)
	resp, err := w.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if !errors.Is(err, broke) {
		t.Errorf("read error %v, want %v", err, broke)
	}
	if strings.Contains(string(b), "tok-123456789") || !strings.Contains(string(b), secret.Placeholder) {
		t.Errorf("bytes before the break: %q", b)
	}
}
