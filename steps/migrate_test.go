package steps

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/errdef"

	"github.com/manifesto-dev/manifesto/internal/legacyfixture"
	"github.com/manifesto-dev/manifesto/internal/secret"
	"github.com/manifesto-dev/manifesto/internal/testimage"
	"github.com/manifesto-dev/manifesto/store"
)

// TestMigrateAndSearch runs both operations through Run on both kinds of
// registry: media types sniffed, a second run unchanged, a type that is a
// secret of the run redacted from the report, search finding what migrate
// wrote.
func TestMigrateAndSearch(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{testimage.Referrers, testimage.Fallback} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			repo := testimage.NewRepo(t, kind)
			image := repo.Push("v1")
			res, err := Run(ctx, Request{Operation: OpList, Image: image}, Env{})
			if err != nil {
				t.Fatal(err)
			}
			addr, path, _ := strings.Cut(repo.Path, "/")
			old := legacyfixture.New(t, addr, path)
			const secretType = "s3cr3t-t0ken-value"
			jd, td := old.UploadBlob([]byte(`{"a":1}`)), old.UploadBlob([]byte("plain text"))
			old.PushDataImage(store.LegacyTag, legacyfixture.Index(legacyfixture.Image{ImageDigest: res.Subject,
				Manifesto: []legacyfixture.Value{{Type: "profile", Digest: jd}, {Type: "notes", Digest: td}, {Type: secretType + " X", Digest: td}}}))

			secrets := secret.New()
			secrets.Add(secretType)
			env := Env{Secrets: secrets}
			req := Request{Operation: OpMigrate, Image: repo.Path}
			res, err = Run(ctx, req, env)
			if err != nil {
				t.Fatal(err)
			}
			actions := map[string]MigrateItem{}
			for _, it := range res.Migrate.Items {
				actions[it.Type] = it
				if strings.Contains(it.Type+it.Reason, secretType) {
					t.Errorf("a secret reached the report: %+v", it)
				}
			}
			if actions["profile"].Action != MigrateImported || actions["profile"].MediaType != "application/json" ||
				actions["notes"].Action != MigrateImported || actions["notes"].MediaType != "application/octet-stream" {
				t.Errorf("items = %+v", res.Migrate.Items)
			}
			if res.Migrate.Summary() != "2 imported, 1 skipped" {
				t.Errorf("summary %q", res.Migrate.Summary())
			}

			res, err = Run(ctx, req, env)
			if err != nil || res.Migrate.Summary() != "2 unchanged, 1 skipped" {
				t.Errorf("second run: %v, %+v", err, res.Migrate)
			}

			res, err = Run(ctx, Request{Operation: OpSearch, Image: repo.Path, Search: SearchOptions{Keys: []string{"notes", "profile"}}}, env)
			if err != nil || len(res.Images) != 1 || len(res.Images[0].Keys) != 2 || strings.Join(res.Images[0].Tags, ",") != "v1" {
				t.Errorf("search: %v, %+v", err, res.Images)
			}
			res, err = Run(ctx, Request{Operation: OpSearch, Image: repo.Path, Search: SearchOptions{Keys: []string{"notes", "other"}}}, env)
			if err != nil || len(res.Images) != 0 || res.Found {
				t.Errorf("search for a missing key: %v, %+v", err, res.Images)
			}
		})
	}
}

// TestMigrateTrust: --trust checks signing for every (image, key) before
// the first write, and signs each imported entry.
func TestMigrateTrust(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repo := testimage.NewRepo(t, testimage.Fallback)
	a, b := repo.Push("v1"), repo.Push("v2")
	var subjects []string
	for _, image := range []string{a, b} {
		res, err := Run(ctx, Request{Operation: OpList, Image: image}, Env{})
		if err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, res.Subject)
	}
	addr, path, _ := strings.Cut(repo.Path, "/")
	old := legacyfixture.New(t, addr, path)
	v := old.UploadBlob([]byte("value"))
	old.PushDataImage(store.LegacyTag, legacyfixture.Index(
		legacyfixture.Image{ImageDigest: subjects[0], Manifesto: []legacyfixture.Value{{Type: "one", Digest: v}}},
		legacyfixture.Image{ImageDigest: subjects[1], Manifesto: []legacyfixture.Value{{Type: "two", Digest: v}}}))

	pt := &preflightTrust{err: errdef.Usagef("no pin")}
	env := Env{OpenTrust: func(TrustOptions, *store.Target) (TrustBackend, error) { return pt, nil }}
	req := Request{Operation: OpMigrate, Image: repo.Path, Trust: TrustOptions{Backend: TrustSigstore}}
	if _, err := Run(ctx, req, env); !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "nothing was written") || pt.wrote {
		t.Fatalf("migrate with a failing preflight: %v (signed %v)", err, pt.wrote)
	}
	if len(pt.asked) != 1 {
		t.Errorf("preflight asked %+v", pt.asked)
	}
	if res, err := Run(ctx, Request{Operation: OpSearch, Image: repo.Path}, Env{}); err != nil || len(res.Images) != 0 {
		t.Errorf("after the failed migrate: %+v, %v", res.Images, err)
	}

	pt.err, pt.asked = nil, nil
	res, err := Run(ctx, req, env)
	if err != nil {
		t.Fatal(err)
	}
	if len(pt.asked) != 2 || pt.asked[1].Subject != subjects[1] || pt.asked[1].Key != "two" {
		t.Errorf("preflight asked %+v", pt.asked)
	}
	for _, it := range res.Migrate.Items {
		if it.Action != MigrateImported || it.Signer != "fake" {
			t.Errorf("item %+v", it)
		}
	}
}

// TestMigrateDuplicates: the same type listed twice is reported and does
// not hold --delete-legacy back; two types renamed onto one key do, until
// one is renamed elsewhere.
func TestMigrateDuplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repo := testimage.NewRepo(t, testimage.Fallback)
	res, err := Run(ctx, Request{Operation: OpList, Image: repo.Push("v1")}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	addr, path, _ := strings.Cut(repo.Path, "/")
	old := legacyfixture.New(t, addr, path)
	v1, v2 := old.UploadBlob([]byte("one")), old.UploadBlob([]byte("two"))
	old.PushDataImage(store.LegacyTag, legacyfixture.Index(legacyfixture.Image{ImageDigest: res.Subject,
		Manifesto: []legacyfixture.Value{{Type: "a", Digest: v1}, {Type: "a", Digest: v2}, {Type: "B", Digest: v1}, {Type: "C", Digest: v2}}}))

	req := Request{Operation: OpMigrate, Image: repo.Path, Migrate: MigrateOptions{DeleteLegacy: true,
		Renames: map[string]string{"B": "b", "C": "b"}}}
	res, err = Run(ctx, req, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Migrate.Summary() != "2 imported, 2 skipped" || res.Migrate.LegacyDeleted {
		t.Fatalf("first run: %s, deleted %v: %+v", res.Migrate.Summary(), res.Migrate.LegacyDeleted, res.Migrate.Items)
	}
	req.Migrate.Renames["C"] = "c"
	res, err = Run(ctx, req, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Migrate.Summary() != "1 imported, 2 unchanged, 1 skipped" || !res.Migrate.LegacyDeleted {
		t.Errorf("second run: %s, deleted %v: %+v", res.Migrate.Summary(), res.Migrate.LegacyDeleted, res.Migrate.Items)
	}
}
