package store

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// LayoutPrefix introduces an OCI image layout directory as IMAGE.
const LayoutPrefix = "oci:"

// Location is a parsed IMAGE: either a registry reference or an OCI image
// layout directory with an optional tag or digest.
type Location struct {
	// Ref is set for registry images.
	Ref name.Reference
	// Layout is the directory of an OCI image layout (oci:PATH).
	Layout string
	// LayoutTag and LayoutDigest select an image inside the layout; at most
	// one is set.
	LayoutTag    string
	LayoutDigest string
}

// IsLayout reports whether the location is an OCI image layout.
func (l Location) IsLayout() bool { return l.Layout != "" }

// String renders the location the way the user would write it.
func (l Location) String() string {
	if !l.IsLayout() {
		return l.Ref.Name()
	}
	switch {
	case l.LayoutDigest != "":
		return LayoutPrefix + l.Layout + "@" + l.LayoutDigest
	case l.LayoutTag != "":
		return LayoutPrefix + l.Layout + ":" + l.LayoutTag
	}
	return LayoutPrefix + l.Layout
}

var tagPattern = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// ParseImage parses IMAGE as a user writes it: registry[:port]/repo[:tag],
// repo@sha256:..., Docker Hub short names (alpine), or oci:PATH[:tag|@digest].
// plainHTTP makes the registry reference use http. Errors are of class
// errdef.ErrUsage.
func ParseImage(image string, plainHTTP bool) (Location, error) {
	if strings.TrimSpace(image) == "" {
		return Location{}, errdef.Usagef("image is empty")
	}
	if strings.HasPrefix(image, LayoutPrefix) {
		return parseLayout(strings.TrimPrefix(image, LayoutPrefix))
	}
	var opts []name.Option
	if plainHTTP {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(image, opts...)
	if err != nil {
		return Location{}, errdef.Usagef("image %q is not a valid reference: %v", image, err)
	}
	return Location{Ref: ref}, nil
}

func parseLayout(s string) (Location, error) {
	loc := Location{Layout: s}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		d := s[i+1:]
		if _, err := v1.NewHash(d); err != nil {
			return Location{}, errdef.Usagef("image %q: %q is not a digest: %v", LayoutPrefix+s, d, err)
		}
		loc.Layout, loc.LayoutDigest = s[:i], d
	} else if i := strings.LastIndex(s, ":"); i >= 0 && !strings.ContainsAny(s[i+1:], `/\`) {
		t := s[i+1:]
		if !tagPattern.MatchString(t) {
			return Location{}, errdef.Usagef("image %q: %q is not a valid tag", LayoutPrefix+s, t)
		}
		loc.Layout, loc.LayoutTag = s[:i], t
	}
	if loc.Layout == "" {
		return Location{}, errdef.Usagef("image %q: the layout path is empty", LayoutPrefix+s)
	}
	return loc, nil
}

// fallbackTag is the referrers tag schema's tag for a subject digest.
func fallbackTag(subject v1.Hash) string {
	return fmt.Sprintf("%s-%s", subject.Algorithm, subject.Hex)
}
