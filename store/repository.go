package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// A Repository is a whole repository of a registry, for the operations that
// look at every image in it (search) or at the original tool's
// per-repository index (migrate). Registries only: an OCI layout has no
// repository beyond its images.
type Repository struct {
	repo name.Repository
	o    *options
	m    *remoteBackend
	// Warnings collects what the user should know that did not fail the
	// operation (Messages renders them).
	Warnings []Warning
}

// ParseRepository parses REPOSITORY as a user writes it
// (registry.example.com/team/app, alpine): no tag, no digest, no OCI
// layout. Errors are of class errdef.ErrUsage.
func ParseRepository(s string, plainHTTP bool) (name.Repository, error) {
	if strings.TrimSpace(s) == "" {
		return name.Repository{}, errdef.Usagef("repository is empty")
	}
	if strings.HasPrefix(s, LayoutPrefix) {
		return name.Repository{}, errdef.Usagef("repository %q: an OCI layout has no repository to look at; give a registry repository (registry.example.com/team/app)", s)
	}
	var opts []name.Option
	if plainHTTP {
		opts = append(opts, name.Insecure)
	}
	if strings.Contains(s, "@") {
		return name.Repository{}, errdef.Usagef("repository %q names a digest; give the repository alone (registry.example.com/team/app)", s)
	}
	if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") && strings.Contains(s, "/") {
		return name.Repository{}, errdef.Usagef("repository %q names a tag; give the repository alone (registry.example.com/team/app)", s)
	}
	r, err := name.NewRepository(s, opts...)
	if err != nil {
		return name.Repository{}, errdef.Usagef("repository %q is not a valid repository name: %v", s, err)
	}
	return r, nil
}

// OpenRepository connects to repository's registry.
func OpenRepository(ctx context.Context, repository string, opts ...Option) (*Repository, error) {
	o := makeOptions(opts)
	repo, err := ParseRepository(repository, o.plainHTTP)
	if err != nil {
		return nil, err
	}
	// The backend needs a reference for its scope; the tag is never
	// resolved.
	m, err := openRemote(ctx, repo.Tag(LegacyTag), o)
	if err != nil {
		return nil, err
	}
	return &Repository{repo: repo, o: o, m: m}, nil
}

// Name is the repository's full name (registry/path).
func (r *Repository) Name() string { return r.repo.Name() }

// Image returns the Target of the image digest in this repository, sharing
// the repository's connection (no new authentication) and what it knows of
// the registry's referrers API.
func (r *Repository) Image(digest string) (*Target, error) {
	ref, err := name.NewDigest(r.repo.Name()+"@"+digest, r.nameOptions()...)
	if err != nil {
		return nil, invalidf("image digest %q: %v", digest, err)
	}
	b := &remoteBackend{r: r.m.r, ref: ref}
	b.capability.Store(r.m.capability.Load())
	return &Target{loc: Location{Ref: ref}, o: r.o, b: b}, nil
}

func (r *Repository) nameOptions() []name.Option {
	if r.o.plainHTTP {
		return []name.Option{name.Insecure}
	}
	return nil
}

// resolveTag returns the digest tag names now; found is false when the tag
// is gone.
func (r *Repository) resolveTag(ctx context.Context, tag string) (v1.Hash, bool, error) {
	d, err := r.m.r.headManifest(ctx, tag)
	if errors.Is(err, errdef.ErrNotFound) {
		return v1.Hash{}, false, nil
	}
	if err != nil {
		return v1.Hash{}, false, fmt.Errorf("resolve tag %s: %w", tag, err)
	}
	if d.Digest.Algorithm == "" {
		// The HEAD answer has no digest: read the manifest itself.
		_, d, err = r.m.r.getManifest(ctx, tag, manifestAccept, manifestLimit)
		if errors.Is(err, errdef.ErrNotFound) {
			return v1.Hash{}, false, nil
		}
		if err != nil {
			return v1.Hash{}, false, fmt.Errorf("resolve tag %s: %w", tag, err)
		}
	}
	return d.Digest, true, nil
}

// ResolveTag returns the digest tag names now (ErrNotFound when it names
// nothing).
func (r *Repository) ResolveTag(ctx context.Context, tag string) (string, error) {
	if !ValidTag(tag) {
		return "", errdef.Usagef("%q is not a valid tag", tag)
	}
	h, ok, err := r.resolveTag(ctx, tag)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", errdef.NotFoundf("tag %s not found in %s", tag, r.repo.Name())
	}
	return h.String(), nil
}

// HasImage reports whether the repository has the manifest digest.
func (r *Repository) HasImage(ctx context.Context, digest string) (bool, error) {
	if _, err := v1.NewHash(digest); err != nil {
		return false, invalidf("image digest %q: %v", digest, err)
	}
	_, err := r.m.r.headManifest(ctx, digest)
	if errors.Is(err, errdef.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ValidTag reports whether s is a tag as the distribution spec writes
// them ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}): the only tags search reports.
func ValidTag(s string) bool { return validTag(s) }

// allTags lists every tag of the repository: one paginated listing,
// bounded as every listing is (listings.go).
func (r *Repository) allTags(ctx context.Context) ([]string, error) {
	var out []string
	found, err := r.m.r.listTags(ctx, "", func(tags []string) bool {
		out = append(out, tags...)
		return false
	})
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", r.repo.Name(), err)
	}
	if !found {
		return nil, errdef.NotFoundf("repository %s not found", r.repo.Name())
	}
	return out, nil
}

// referrersTagPattern matches the tags the referrers tag schema and its
// users derive from an image digest: the fallback index (sha256-<hex>),
// manifesto's trace tags (….mf-<hex>), cosign's (….sig, ….att). Compiled
// on first use (search): its {64} costs about half a millisecond, which
// every other command would pay at start-up (issue 14).
var referrersTagPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^sha256-([0-9a-f]{64})(\..*)?$`)
})
