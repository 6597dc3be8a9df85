package store

import (
	"fmt"
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

// validTag reports whether t is a tag as the distribution spec defines it,
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}. Written out rather than a regexp: the
// counted repetition made compiling that one pattern at start-up cost about
// 1 ms of every command (issue 14).
func validTag(t string) bool {
	if t == "" || len(t) > 128 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_':
		case i > 0 && (c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// maxRepository is the longest repository name (go-containerregistry's
// name package, following the distribution reference grammar).
const maxRepository = 255

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
	// A Docker Hub short name gains "library/": the repository a
	// registry sees can pass the 255-character limit that the name as
	// given stayed under.
	if repo := ref.Context().RepositoryStr(); len(repo) > maxRepository {
		return Location{}, errdef.Usagef("image %q: repository %q is %d characters, over the limit of %d", image, repo, len(repo), maxRepository)
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
		if !validTag(t) {
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
