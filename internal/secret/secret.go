// Package secret is manifesto's one registry of secrets and its one
// redactor. Every secret of a run goes into one Set: the values of secret
// inputs (passwords, tokens, private keys), the forms derived from them that
// the tool itself produces (the base64 "user:pass" of HTTP Basic auth), and
// the secrets learned at run time (bearer tokens a registry hands out).
// Errors, warnings, summaries and outputs pass through Set.Redact before
// they are written; GitHub's ::add-mask:: is fed from Set.Masks.
package secret

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/oneline"
)

// Placeholder replaces a secret in redacted text.
const Placeholder = "[redacted]"

// longSecret is the length from which a secret is redacted wherever it
// occurs; shorter ones only where they stand alone as a word, so that a
// password "pass" leaves "--password" readable.
const longSecret = 8

// Set holds the secrets of one run. It is safe for concurrent use (a
// registry transport adds tokens while other goroutines redact), and a nil
// *Set holds nothing: Redact returns its input.
type Set struct {
	mu sync.RWMutex
	// masks are the values a CI runner should mask: each secret as given
	// and every derived form, one line each.
	masks []string
	// forms are every string to redact, longest first, so that a secret
	// containing another is replaced whole.
	forms []string
}

// New returns a Set holding values (empty ones are ignored).
func New(values ...string) *Set {
	s := &Set{}
	s.Add(values...)
	return s
}

// Add registers secrets. Empty values are ignored; adding a value twice is
// harmless.
func (s *Set) Add(values ...string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		s.add(v)
	}
}

// AddBasic registers the password of HTTP Basic credentials and the
// base64 form of "user:pass" that goes into an Authorization header, which a
// registry may echo in an error body.
func (s *Set) AddBasic(user, pass string) {
	if s == nil || pass == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(pass)
	s.add(base64.StdEncoding.EncodeToString([]byte(user + ":" + pass)))
}

func (s *Set) add(v string) {
	if strings.TrimSpace(v) == "" {
		return
	}
	for _, line := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if line = strings.TrimSpace(line); line != "" && !slices.Contains(s.masks, line) {
			s.masks = append(s.masks, line)
		}
	}
	for _, f := range forms(v) {
		if f != "" && !slices.Contains(s.forms, f) {
			s.forms = append(s.forms, f)
		}
	}
	slices.SortStableFunc(s.forms, func(a, b string) int { return len(b) - len(a) })
}

// forms are the ways a secret can appear in a message: as given, trimmed,
// folded onto one line, and escaped the way %q prints it (quotes,
// backslashes and newlines escaped).
func forms(secret string) []string {
	out := []string{secret, strings.TrimSpace(secret), oneline.Line(secret)}
	for _, f := range out[:3] {
		if q := strconv.Quote(f); len(q) > 2 && q[1:len(q)-1] != f {
			out = append(out, q[1:len(q)-1])
		}
	}
	return out
}

// Masks returns the strings a CI runner should mask (GitHub's
// ::add-mask::), one line each, in the order they were added.
func (s *Set) Masks() []string {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.masks)
}

// Redact replaces every secret in msg with Placeholder.
func (s *Set) Redact(msg string) string {
	if s == nil {
		return msg
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, f := range s.forms {
		msg = redact(msg, f)
	}
	return msg
}

// RedactEncoded replaces every secret in msg, a text already put through
// encode (Markdown escaping, say), with encode(Placeholder): it catches a
// secret that was encoded before it could be redacted.
func (s *Set) RedactEncoded(msg string, encode func(string) string) string {
	if s == nil {
		return msg
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	placeholder := encode(Placeholder)
	for _, f := range s.forms {
		// An encoding that leaves a secret as it is was covered by Redact,
		// with its rule for short secrets.
		if e := encode(f); e != f && e != "" && strings.Contains(msg, e) {
			msg = strings.ReplaceAll(msg, e, placeholder)
		}
	}
	return msg
}

// Contains reports whether msg holds a secret (in a form Redact replaces).
func (s *Set) Contains(msg string) bool {
	return s.Redact(msg) != msg
}

// redact replaces secret in msg with Placeholder: everywhere when the
// secret is long, only where it stands alone as a word when it is short.
func redact(msg, secret string) string {
	if !strings.Contains(msg, secret) {
		return msg
	}
	if len(secret) >= longSecret {
		return strings.ReplaceAll(msg, secret, Placeholder)
	}
	var b strings.Builder
	i := 0
	for {
		j := strings.Index(msg[i:], secret)
		if j < 0 {
			break
		}
		j += i
		end := j + len(secret)
		if !isWordByte(msg, j-1) && !isWordByte(msg, end) {
			b.WriteString(msg[i:j])
			b.WriteString(Placeholder)
			i = end
			continue
		}
		b.WriteString(msg[i : j+1])
		i = j + 1
	}
	b.WriteString(msg[i:])
	return b.String()
}

// isWordByte reports whether msg[k] exists and is part of a word (ASCII
// letter, digit, '_' or any byte of a non-ASCII character).
func isWordByte(msg string, k int) bool {
	if k < 0 || k >= len(msg) {
		return false
	}
	c := msg[k]
	return c >= 0x80 || c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// Error returns err with every secret redacted from its message, keeping
// its class for errors.Is and errors.As. It returns err itself when its
// message holds no secret.
func (s *Set) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := s.Redact(msg)
	if red == msg {
		return err
	}
	return errdef.WithMessage(err, red)
}
