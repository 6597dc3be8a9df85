// Package errdef holds the error classes every layer shares and the exit code
// each class maps to. Layers wrap these sentinels with context
// (fmt.Errorf("get %s: %w", key, errdef.ErrNotFound)); the wiring in main maps
// the class to an exit status with ExitCode.
package errdef

import (
	"errors"
	"fmt"
)

// Sentinel error classes. Wrap them; compare with errors.Is.
var (
	// ErrUsage: the request itself is wrong (bad flag, bad KEY, malformed
	// IMAGE, unreadable input file). Nothing was sent anywhere.
	ErrUsage = errors.New("invalid input")
	// ErrNotFound: the image, the key or the entry does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the registry refused the credentials (401/403).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrInvalidResponse: the registry answered with something that cannot be
	// right (wrong digest, oversized or malformed manifest, index that is not
	// an index). Never retried.
	ErrInvalidResponse = errors.New("invalid registry response")
	// ErrPolicyNotMet: check judged the image and a requirement failed
	// (a missing key included). Everything worked; the answer is no.
	ErrPolicyNotMet = errors.New("policy not met")
)

// Exit codes. Documented in README.md ("Exit codes"); keep both in step.
const (
	ExitOK           = 0
	ExitFailure      = 1 // anything not listed below: network, registry, I/O
	ExitUsage        = 2 // ErrUsage
	ExitNotFound     = 3 // ErrNotFound
	ExitUnauthorized = 4 // ErrUnauthorized
	ExitPolicyNotMet = 5 // ErrPolicyNotMet
)

// ExitCode maps an error to the process exit status.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrUsage):
		return ExitUsage
	case errors.Is(err, ErrNotFound):
		return ExitNotFound
	case errors.Is(err, ErrUnauthorized):
		return ExitUnauthorized
	case errors.Is(err, ErrPolicyNotMet):
		return ExitPolicyNotMet
	default:
		return ExitFailure
	}
}

// Usagef returns an ErrUsage-class error with a formatted message.
func Usagef(format string, args ...any) error {
	return &classed{msg: fmt.Sprintf(format, args...), class: ErrUsage}
}

// NotFoundf returns an ErrNotFound-class error with a formatted message.
func NotFoundf(format string, args ...any) error {
	return &classed{msg: fmt.Sprintf(format, args...), class: ErrNotFound}
}

// classed is an error whose message stands alone (no ": not found" suffix)
// but which still matches its class with errors.Is.
type classed struct {
	msg   string
	class error
}

func (e *classed) Error() string        { return e.msg }
func (e *classed) Is(target error) bool { return target == e.class }

// WithClass marks err as belonging to class (one of the sentinels above)
// without changing its message.
func WithClass(err error, class error) error {
	if err == nil {
		return nil
	}
	return &wrapped{err: err, class: class}
}

type wrapped struct {
	err   error
	class error
}

func (e *wrapped) Error() string        { return e.err.Error() }
func (e *wrapped) Unwrap() error        { return e.err }
func (e *wrapped) Is(target error) bool { return target == e.class }

// WithMessage returns err shown as msg: errors.Is and errors.As still find
// err's chain (its class, a *transport.Error), while whatever prints the
// error sees msg only. It is how a message is redacted or cut without the
// error losing what it is; nothing prints an unwrapped error.
func WithMessage(err error, msg string) error {
	if err == nil {
		return nil
	}
	return &shown{msg: msg, err: err}
}

type shown struct {
	msg string
	err error
}

func (e *shown) Error() string { return e.msg }
func (e *shown) Unwrap() error { return e.err }
