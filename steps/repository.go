package steps

import (
	"context"

	"github.com/manifesto-dev/manifesto/store"
)

// SearchOptions are search's settings.
type SearchOptions struct {
	// Keys keeps the images that carry every one of these keys (--key,
	// repeatable); none keeps every image with metadata.
	Keys []string
	// Jobs is how many registry requests run at once (0: the default).
	Jobs int
}

// onRepository runs the operations on a whole repository (req.Image names
// it): search and migrate.
func onRepository(ctx context.Context, req Request, env Env, access store.Access, res *Result) error {
	if req.Operation == OpMigrate && req.Migrate.DeleteLegacy && !req.Migrate.DryRun {
		access = store.Delete
	}
	opts := openOptions(req, env, access)
	repo, err := store.OpenRepository(ctx, req.Image, opts...)
	if err != nil {
		return err
	}
	defer func() { res.Warnings = append(res.Warnings, store.Messages(repo.Warnings)...) }()
	switch req.Operation {
	case OpSearch:
		if req.Trust.Backend != TrustNone {
			// Decision: search shows what the registry lists; checking a
			// signature per entry is list's and get's job (--trust there).
			res.Warnings = append(res.Warnings, "search does not verify signatures: it shows what the registry lists (use list or get with --trust on an image)")
		}
		return search(ctx, repo, req, env, res)
	default:
		return migrate(ctx, repo, req, env, res)
	}
}

// search lists the images of the repository that carry metadata (all of
// req.Search.Keys, when given).
func search(ctx context.Context, repo *store.Repository, req Request, env Env, res *Result) error {
	so := store.SearchOptions{Jobs: req.Search.Jobs}
	if env.Count != nil {
		label := "search " + repo.Name()
		so.Progress = func(done, total int) { env.Count(label, done, total) }
	}
	images, err := repo.Search(ctx, so)
	if err != nil {
		return err // steps.Run prefixes "search: "; the store names the repository
	}
	res.Images = []store.ImageKeys{}
	for _, im := range images {
		if carriesAll(im, req.Search.Keys) {
			res.Images = append(res.Images, im)
		}
	}
	res.Found = len(res.Images) > 0
	return nil
}

// carriesAll reports whether im has every key of keys.
func carriesAll(im store.ImageKeys, keys []string) bool {
	for _, k := range keys {
		has := false
		for _, e := range im.Keys {
			if e.Key == k {
				has = true
				break
			}
		}
		if !has {
			return false
		}
	}
	return true
}
