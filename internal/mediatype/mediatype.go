// Package mediatype holds the one rule for the media type of a stored value:
// put refuses a media type that breaks it, and reads replace one that breaks
// it before the entry reaches any output.
package mediatype

import "regexp"

// pattern is RFC 6838 section 4.2 restricted-name, as the OCI image spec
// uses it for mediaType: type "/" subtype, each 1-127 characters, a letter or
// digit first. A structured-syntax suffix (+json) is part of the subtype's
// characters. No parameters (;...), no white space.
var pattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$`)

// Valid reports whether mt is a media type put accepts.
func Valid(mt string) bool { return pattern.MatchString(mt) }
