package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/oneline"
	"github.com/manifesto-dev/manifesto/internal/secret"
)

// authWatch sits beneath go-containerregistry's auth transports (basic and
// bearer), so it sees every request as it leaves, Authorization header
// included, the token fetches too. It does two things there:
//
//   - It registers every credential it sees going out into the run's
//     secret.Set: bearer tokens a registry handed out, and the Basic
//     credentials of a keychain the inputs never saw (user:pass and its
//     base64 form), so that a registry echoing them in an error body gets
//     them redacted.
//   - It makes a request re-sent after an auth challenge carry its body
//     again. go-containerregistry's bearer transport answers a 401 by
//     fetching a new token and sending the very same *http.Request once more,
//     whose body the first send consumed; without this a refused PUT turned
//     into "http: ContentLength=843 with Body length 0", a network error
//     retried four times, instead of the registry's refusal.
type authWatch struct {
	inner   http.RoundTripper
	secrets *secret.Set
}

// errNotReplayable: a request whose body cannot be produced again was
// challenged for new credentials; the registry refused it as it was sent.
var errNotReplayable = errdef.WithClass(errors.New("the registry asked for new credentials in the middle of an upload that cannot be sent again"), errdef.ErrUnauthorized)

// RoundTrip registers the request's credentials and sends it, with a fresh
// body (GetBody) when this request was sent before.
func (a *authWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	a.learn(req.Header.Get("Authorization"))
	if req.Body != nil && req.Body != http.NoBody {
		if _, again := req.Body.(*sentBody); again {
			if req.GetBody == nil {
				return nil, errNotReplayable
			}
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = &sentBody{body}
		} else {
			req.Body = &sentBody{req.Body}
		}
	}
	resp, err := a.inner.RoundTrip(req)
	if err == nil && resp.StatusCode >= http.StatusBadRequest && a.secrets != nil {
		redactErrorBody(resp, a.secrets)
	}
	return resp, err
}

// maxErrorDocument is how much of an error answer's body is kept: more
// than go-containerregistry reads of one (64 KiB), which is then cut to
// maxErrorBody characters for a message.
const maxErrorDocument = 64<<10 + 1

// redactErrorBody replaces the body of an error answer with its first
// maxErrorDocument bytes, every secret of the run redacted. It runs where
// the answer enters, before anything parses, cuts or prints it: a registry
// echoing the credentials it was sent (a bearer token of any length, the
// Basic form) cannot get a piece of one past the redactor by having the
// message cut in its middle.
func redactErrorBody(resp *http.Response, secrets *secret.Set) {
	if resp.Body == nil || resp.Body == http.NoBody {
		return
	}
	b, readErr := io.ReadAll(io.LimitReader(resp.Body, maxErrorDocument))
	resp.Body.Close()
	red := []byte(secrets.Redact(string(b)))
	// A JSON error document can spell a secret with escapes (\u002e for
	// '.') that only decoding turns back into the secret: redact the decoded
	// strings too, and send on the document re-encoded.
	var doc any
	if json.Unmarshal(red, &doc) == nil {
		if out, err := json.Marshal(redactJSON(doc, secrets)); err == nil {
			red = out
		}
	}
	if readErr != nil {
		// The answer broke off (a stall the idle watchdog ended, a cut
		// connection, the command's deadline): whoever reads it must see
		// that, not a short answer that looks whole.
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(red), errReader{readErr}))
		resp.ContentLength = -1
		resp.Header.Del("Content-Length")
		return
	}
	resp.Body = io.NopCloser(bytes.NewReader(red))
	resp.ContentLength = int64(len(red))
	resp.Header.Del("Content-Length")
}

// errReader fails every read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// redactJSON redacts every string (keys included) of a decoded JSON value.
func redactJSON(v any, secrets *secret.Set) any {
	switch v := v.(type) {
	case string:
		return secrets.Redact(v)
	case []any:
		for i := range v {
			v[i] = redactJSON(v[i], secrets)
		}
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[secrets.Redact(k)] = redactJSON(x, secrets)
		}
		return out
	}
	return v
}

// learn registers the secret of an Authorization header value.
func (a *authWatch) learn(authz string) {
	if a.secrets == nil || authz == "" {
		return
	}
	scheme, cred, _ := strings.Cut(authz, " ")
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "bearer":
		a.secrets.Add(cred)
	case "basic":
		a.secrets.Add(cred)
		if dec, err := base64.StdEncoding.DecodeString(cred); err == nil {
			if user, pass, ok := strings.Cut(string(dec), ":"); ok {
				a.secrets.AddBasic(user, pass)
			}
		}
	default:
		a.secrets.Add(cred)
	}
}

// sentBody marks a request body authWatch has sent once.
type sentBody struct{ io.ReadCloser }

// maxErrorBody is how much of a registry's error text (the part after
// "METHOD URL: ") an error message keeps, in characters.
const maxErrorBody = 512

// cutRegistryError cuts the registry's error text in err (the part of a
// *transport.Error after "METHOD URL: ") to maxErrorBody characters. A
// registry's error body is its own text and may be anything, as long as
// 64 KiB; the message keeps the registry's reason, not its essay. The class
// (errors.Is, errors.As with *transport.Error) stays. Secrets are redacted
// where the error is printed (the run's secret.Set, which authWatch feeds).
func cutRegistryError(err error) error {
	var terr *transport.Error
	if err == nil || !errors.As(err, &terr) {
		return err
	}
	full := terr.Error()
	prefix := ""
	if terr.Request != nil {
		// transport.Error's own prefix, "METHOD URL: " (a redacted URL has
		// no ": " before its end).
		if i := strings.Index(full, ": "); i >= 0 {
			prefix = full[:i+2]
		}
	}
	body := full[len(prefix):]
	if utf8.RuneCountInString(body) <= maxErrorBody {
		return err
	}
	msg := strings.Replace(err.Error(), full, prefix+oneline.Cut(body, maxErrorBody), 1)
	return errdef.WithMessage(err, msg)
}
