package steps

import (
	"context"
	"fmt"
	"sort"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/store"
	"github.com/manifesto-dev/manifesto/trust"
)

// TrustBackend is what the steps need of a trust backend. main builds it
// from the request's TrustOptions (Env.OpenTrust): this package uses the
// backends' option types only, never their code.
type TrustBackend interface {
	trust.Signer
	trust.Verifier
	// Init creates the trust data of repository and returns the root key
	// ID readers pin; created is false when it existed.
	Init(ctx context.Context, repository string) (rootKeyID string, created bool, err error)
	// Forget withdraws the signatures of deleted entries.
	Forget(ctx context.Context, repository string, bs []trust.Binding) error
}

type trustBackend = TrustBackend

// Preflighter is a TrustBackend that can tell, before an entry is stored,
// whether signing it (or withdrawing signatures) will work: root anchored,
// key and passphrase at hand, server reachable. b is the binding about to
// be signed, without Entry, Size and Created (not known yet). Backends
// that check all of this when they are opened need not implement it.
type Preflighter interface {
	Preflight(ctx context.Context, b trust.Binding) error
}

// preflight runs the backend's Preflight, if it has one, for key on
// subject: put and delete call it before they write anything, so that a
// trust configuration that cannot sign leaves the registry untouched.
func preflight(ctx context.Context, b trustBackend, repo, subject, key string) error {
	p, ok := b.(Preflighter)
	if !ok {
		return nil
	}
	if err := p.Preflight(ctx, trust.Binding{Repository: repo, Subject: subject, Key: key}); err != nil {
		return fmt.Errorf("nothing was written, signing would fail: %w", err)
	}
	return nil
}

// openTrust builds the backend the request names; nil when none.
func openTrust(o TrustOptions, env Env, t *store.Target) (TrustBackend, error) {
	if o.Backend == TrustNone {
		return nil, nil
	}
	if env.OpenTrust == nil {
		return nil, fmt.Errorf("trust backend %q is not available in this build", o.Backend)
	}
	return env.OpenTrust(o, t)
}

// repository is the image's registry/repository: the Notary GUN. Notary
// needs one; registry-native signatures live next to the entries, so an OCI
// layout works for them (repository is then the layout's location).
func repository(t *store.Target, backend string) (string, error) {
	loc := t.Location()
	if !loc.IsLayout() {
		return loc.Ref.Context().Name(), nil
	}
	if backend == TrustNotary {
		return "", errdef.Usagef("trust notary needs a registry image: an OCI layout (%s) has no repository name to sign for", loc)
	}
	return loc.String(), nil
}

func trustInit(ctx context.Context, req Request, env Env) (Result, error) {
	res := Result{Operation: req.Operation, Image: req.Image}
	loc, err := store.ParseImage(req.Image, req.Registry.PlainHTTP)
	if err != nil {
		return res, err
	}
	if loc.IsLayout() {
		return res, errdef.Usagef("trust init needs a registry image, not an OCI layout")
	}
	b, err := openTrust(req.Trust, env, nil)
	if err != nil {
		return res, err
	}
	if b == nil {
		return res, errdef.Usagef("trust init needs a trust backend (--trust notary)")
	}
	gun := loc.Ref.Context().Name()
	id, created, err := b.Init(ctx, gun)
	if err != nil {
		return res, fmt.Errorf("trust init %s: %w", gun, err)
	}
	// Found reports whether this run created the repository.
	res.RootKeyID, res.Found = id, created
	if !created {
		res.Warnings = append(res.Warnings, fmt.Sprintf("the trust repository for %s exists already; its root key is unchanged", gun))
	}
	return res, nil
}

// sign records a new entry with the backend.
func sign(ctx context.Context, b trustBackend, repo, subject string, e store.Entry) (string, error) {
	s, err := b.Sign(ctx, trust.Binding{
		Repository: repo, Subject: subject, Key: e.Key, Entry: e.Digest,
		Size: e.ManifestSize, MediaType: e.MediaType, Created: e.Created,
	})
	if err != nil {
		return "", fmt.Errorf("entry %s was stored but NOT signed, so verified reads will not return it: %w", e.Digest, err)
	}
	return s.Signer, nil
}

// verified returns the entries of key ("" = all keys) that the backend
// vouches for, newest first, described from the registry's listing where
// it has them. The registry's listing is only a hint: an entry the signer
// vouches for counts even if the listing lacks it (the read fetches it by
// digest), and listed entries nobody signed are dropped. The backend's
// warnings (signatures it ignored, and why) go to res, whose Subject is the
// image digest.
func verified(ctx context.Context, b trustBackend, t *store.Target, repo, key string, res *Result) ([]store.Entry, map[string]string, error) {
	subject := res.Subject
	var listed []store.Entry
	var err error
	if key == "" {
		listed, err = t.List(ctx)
	} else {
		listed, err = t.History(ctx, key)
	}
	if err != nil {
		return nil, nil, err
	}
	q := trust.Query{Repository: repo, Subject: subject, Key: key,
		Warn: func(w string) { res.Warnings = append(res.Warnings, w) }}
	byDigest := map[string]store.Entry{}
	for _, e := range listed {
		q.Candidates = append(q.Candidates, trust.Candidate{Key: e.Key, Digest: e.Digest, Created: e.Created})
		byDigest[e.Digest] = e
	}
	vs, err := b.Verify(ctx, q)
	if err != nil {
		return nil, nil, fmt.Errorf("verification failed (nothing is returned unverified): %w", err)
	}
	signers := map[string]string{}
	var out []store.Entry
	for _, v := range vs {
		if key != "" && v.Key != key {
			continue // a backend answering for another key is not trusted with this one
		}
		e, ok := byDigest[v.Digest]
		if !ok {
			e = store.Entry{Digest: v.Digest, Size: -1, ManifestSize: v.Size}
		}
		// Key and time come from the signed data, never from the
		// registry's listing, which could relabel or re-date an entry.
		e.Key, e.Created = v.Key, v.Created
		out = append(out, e)
		signers[v.Digest] = v.Signer
	}
	sort.SliceStable(out, func(i, j int) bool { return store.Newer(out[i], out[j]) })
	return out, signers, nil
}
