// Package mediatype holds the one rule for the media type of a stored value:
// put refuses a media type that breaks it, and reads replace one that breaks
// it before the entry reaches any output.
package mediatype

import "strings"

// maxPart is the longest type or subtype.
const maxPart = 127

// Valid reports whether mt is a media type put accepts: RFC 6838 section
// 4.2 restricted-name, as the OCI image spec uses it for mediaType: type
// "/" subtype, each 1-127 characters, a letter or digit first. A
// structured-syntax suffix (+json) is part of the subtype's characters. No
// parameters (;...), no white space.
//
// Checked by hand, not with the equivalent regular expression: compiling
// that one ({0,126} twice) cost every command about 10 ms of start-up, 50
// on a loaded machine (issue 14).
func Valid(mt string) bool {
	typ, sub, ok := strings.Cut(mt, "/")
	return ok && validPart(typ) && validPart(sub)
}

func validPart(s string) bool {
	if len(s) == 0 || len(s) > maxPart || !alnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !alnum(c) && !strings.ContainsRune("!#$&^_.+-", rune(c)) {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
