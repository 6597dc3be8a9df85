package store

import (
	"regexp"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// MaxKeyLen is the longest KEY accepted.
const MaxKeyLen = 128

var keyPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$`)

// CheckKey reports whether key is a valid metadata key: lower-case letters,
// digits, '.', '_' and '-', starting and ending with a letter or digit, at
// most MaxKeyLen characters. The error is of class errdef.ErrUsage.
func CheckKey(key string) error {
	switch {
	case key == "":
		return errdef.Usagef("key is empty")
	case len(key) > MaxKeyLen:
		return errdef.Usagef("key is %d characters long; the limit is %d", len(key), MaxKeyLen)
	case !keyPattern.MatchString(key):
		return errdef.Usagef("key %q is invalid: use lower-case letters, digits, '.', '_' and '-', starting and ending with a letter or digit", key)
	}
	return nil
}
