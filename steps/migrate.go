package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/store"
)

// MigrateOptions are migrate's settings.
type MigrateOptions struct {
	// Renames maps an original type to the key it becomes (--rename
	// TYPE=KEY); other types become the key of their own name.
	Renames map[string]string
	// DryRun reads everything and writes nothing.
	DryRun bool
	// DeleteLegacy removes the _manifesto tag after an import that left
	// nothing behind that a rerun could still import.
	DeleteLegacy bool
}

// What migrate did with one value.
const (
	MigrateImported    = "imported"
	MigrateUnchanged   = "unchanged"    // the newest version of the key has this value already
	MigrateWouldImport = "would-import" // --dry-run
	MigrateSkipped     = "skipped"
)

// MigrateReport is what migrate did, value by value.
type MigrateReport struct {
	// Legacy is the digest of the _manifesto image read.
	Legacy string `json:"legacy"`
	// ByTag: the index was the tag-keyed variant; each tag was resolved
	// to the digest it names now.
	ByTag  bool          `json:"byTag,omitempty"`
	DryRun bool          `json:"dryRun,omitempty"`
	Items  []MigrateItem `json:"items"`
	// LegacyDeleted: --delete-legacy removed the _manifesto tag.
	LegacyDeleted bool `json:"legacyDeleted"`
}

// MigrateItem is one (image, type) of the original index. Type, Tag and
// Reason may quote registry data: outputs print them escaped.
type MigrateItem struct {
	// Image is the image digest ("" when it could not be known).
	Image string `json:"image"`
	// Tag is the tag-keyed variant's tag, as written.
	Tag string `json:"tag,omitempty"`
	// Type is the original type; Key the key it becomes ("" when none).
	Type string `json:"type"`
	Key  string `json:"key,omitempty"`
	// Value is the original value digest.
	Value string `json:"value"`
	// Form is how the original tool stored it: blob or image.
	Form      string `json:"form,omitempty"`
	MediaType string `json:"mediaType,omitempty"`
	Action    string `json:"action"`
	// Reason says why a value was skipped.
	Reason string `json:"reason,omitempty"`
	// Entry is the entry imported, or the newest one that already had the
	// value (unchanged).
	Entry  string `json:"entry,omitempty"`
	Signer string `json:"signer,omitempty"`
	// fixable: a rerun with other flags (--rename) could import it, so
	// --delete-legacy keeps the index.
	fixable bool
}

// Summary counts the report's actions: "2 imported, 1 skipped".
func (r *MigrateReport) Summary() string {
	var parts []string
	for _, a := range []string{MigrateImported, MigrateUnchanged, MigrateWouldImport, MigrateSkipped} {
		if n := r.count(a); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, a))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// count is how many items have action.
func (r *MigrateReport) count(action string) int {
	n := 0
	for _, it := range r.Items {
		if it.Action == action {
			n++
		}
	}
	return n
}

// migrate imports the original tool's index of the repository: every
// (image, type) becomes an entry of key type (or its --rename) on that
// image digest. See README "Migrating from the original manifesto".
func migrate(ctx context.Context, repo *store.Repository, req Request, env Env, res *Result) (err error) {
	o := req.Migrate
	idx, err := repo.ReadLegacyIndex(ctx)
	if err != nil {
		return err
	}
	rep := &MigrateReport{Legacy: idx.Digest, ByTag: idx.ByTag, DryRun: o.DryRun}
	res.Migrate = rep
	// Registry text in the report is redacted like every message.
	defer func() {
		for i := range rep.Items {
			it := &rep.Items[i]
			it.Type, it.Tag, it.Reason = env.Secrets.Redact(it.Type), env.Secrets.Redact(it.Tag), env.Secrets.Redact(it.Reason)
			it.Value = env.Secrets.Redact(it.Value)
		}
	}()

	plan, err := planMigration(ctx, repo, idx, o, res)
	if err != nil {
		return err
	}
	rep.Items = plan

	// Trust: everything signing needs is checked before the first write.
	var tb trustBackend
	var trustRepo string
	if req.Trust.Backend != TrustNone && !o.DryRun {
		if tb, trustRepo, err = migrateTrust(ctx, repo, req, env, rep.Items); err != nil {
			return err
		}
	}

	targets := map[string]*store.Target{}
	for i := range rep.Items {
		it := &rep.Items[i]
		if it.Action != "" {
			continue // skipped while planning
		}
		t := targets[it.Image]
		if t == nil {
			if t, err = repo.Image(it.Image); err != nil {
				return err
			}
			targets[it.Image] = t
		}
		if err := migrateValue(ctx, repo, t, tb, trustRepo, o.DryRun, it); err != nil {
			return fmt.Errorf("%s on %s: %w (%d values imported before it; imports are idempotent: run migrate again to continue)",
				it.Key, it.Image, err, rep.count(MigrateImported))
		}
		res.Warnings = append(res.Warnings, store.Messages(t.Warnings)...)
		t.Warnings = nil
	}

	if skipped := rep.count(MigrateSkipped); skipped > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d of %d values were not imported (skipped, with the reason, in the report)", skipped, len(rep.Items)))
	}
	res.Found = len(rep.Items) > 0
	if o.DeleteLegacy && !o.DryRun {
		fixable := 0
		for _, it := range rep.Items {
			if it.fixable {
				fixable++
			}
		}
		if fixable > 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s:%s left in place: %d values could still be imported (see --rename)", repo.Name(), store.LegacyTag, fixable))
			return nil
		}
		if err := repo.DeleteLegacyIndex(ctx, idx.Digest); err != nil {
			return fmt.Errorf("every value is migrated, but: %w", err)
		}
		rep.LegacyDeleted = true
	}
	return nil
}

// planMigration turns the index into items: the images resolved and
// checked, each type mapped to a key. Items that cannot be imported are
// marked skipped with their reason; the others have no Action yet.
func planMigration(ctx context.Context, repo *store.Repository, idx store.LegacyIndex, o MigrateOptions, res *Result) ([]MigrateItem, error) {
	var items []MigrateItem
	taken := map[[2]string]string{} // (image, key) → the type that took it
	for _, im := range idx.Images {
		digest, why, fixable := im.Digest, "", false
		if idx.ByTag {
			var err error
			digest, why, err = resolveLegacyTag(ctx, repo, im.Tag)
			if err != nil {
				return nil, err
			}
			if why == "" {
				res.Warnings = append(res.Warnings, fmt.Sprintf("the original index names tag %s, not a digest: its values go to %s, the image the tag names now", quoteShort(im.Tag), digest))
			}
		} else if h, err := v1.NewHash(digest); err != nil || h.Algorithm != "sha256" {
			why = fmt.Sprintf("image_digest %s is not a sha256 digest", quoteShort(digest))
			digest = ""
		}
		if why == "" {
			ok, err := repo.HasImage(ctx, digest)
			if err != nil {
				return nil, fmt.Errorf("look up image %s: %w", digest, err)
			}
			if !ok {
				why = "the image no longer exists in the repository"
			}
		}
		for _, v := range im.Values {
			it := MigrateItem{Image: digest, Tag: im.Tag, Type: v.Type, Value: v.Digest}
			it.Key = v.Type
			if k, ok := o.Renames[v.Type]; ok {
				it.Key = k
			}
			reason, fix := why, fixable
			switch {
			case reason != "":
			case store.CheckKey(it.Key) != nil:
				if strings.ContainsFunc(v.Type, unrenamable) {
					reason = fmt.Sprintf("type %s is not a valid key, and has a control character: it cannot be renamed either", quoteShort(v.Type))
					it.Key = ""
					break
				}
				if _, renamed := o.Renames[v.Type]; renamed {
					reason = fmt.Sprintf("--rename gives type %s the key %s, which is not a valid key", quoteShort(v.Type), quoteShort(it.Key))
				} else {
					reason = fmt.Sprintf("type %s is not a valid key; map it with --rename TYPE=KEY", quoteShort(v.Type))
				}
				it.Key, fix = "", true
			case !isSHA256(v.Digest):
				reason = fmt.Sprintf("value digest %s is not a sha256 digest", quoteShort(v.Digest))
			default:
				pair := [2]string{digest, it.Key}
				if other, dup := taken[pair]; dup {
					reason = fmt.Sprintf("key %s is already migrated from type %s on this image", it.Key, quoteShort(other))
					// Another type renamed onto the same key can be renamed
					// elsewhere; the same type listed twice cannot.
					fix = other != v.Type
				} else {
					taken[pair] = v.Type
				}
			}
			if reason != "" {
				it.Action, it.Reason, it.fixable = MigrateSkipped, reason, fix
			}
			items = append(items, it)
		}
	}
	return items, nil
}

// unrenamable: a type with such a rune cannot be given to --rename (a
// line of its own, no control character).
func unrenamable(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }

func isSHA256(s string) bool {
	h, err := v1.NewHash(s)
	return err == nil && h.Algorithm == "sha256"
}

// resolveLegacyTag resolves a tag of the tag-keyed variant ("repo:v1.0",
// as the original README writes it, or "v1.0") in this repository. why is
// set when it cannot be: another repository's tag, not a tag, gone.
func resolveLegacyTag(ctx context.Context, repo *store.Repository, written string) (digest, why string, err error) {
	name, tag := "", written
	if i := strings.LastIndex(written, ":"); i >= 0 && !strings.Contains(written[i+1:], "/") {
		name, tag = written[:i], written[i+1:]
	}
	if name != "" && name != repo.Name() && !strings.HasSuffix(repo.Name(), "/"+name) {
		return "", fmt.Sprintf("tag %s names another repository", quoteShort(written)), nil
	}
	if !store.ValidTag(tag) {
		return "", fmt.Sprintf("%s is not a tag", quoteShort(written)), nil
	}
	d, err := repo.ResolveTag(ctx, tag)
	if errors.Is(err, errdef.ErrNotFound) {
		return "", fmt.Sprintf("tag %s no longer exists", quoteShort(tag)), nil
	}
	if err != nil {
		return "", "", err
	}
	return d, "", nil
}

// migrateValue imports one planned item (or, dry, says what it would do).
func migrateValue(ctx context.Context, repo *store.Repository, t *store.Target, tb trustBackend, trustRepo string, dry bool, it *MigrateItem) error {
	f, err := os.CreateTemp("", "manifesto-migrate-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	form, err := repo.FetchLegacyValue(ctx, it.Value, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, errdef.ErrNotFound) {
		it.Action, it.Reason = MigrateSkipped, "the value is missing from the repository (neither a blob nor an image)"
		return nil
	}
	if err != nil {
		return err
	}
	it.Form = form
	b, err := os.ReadFile(f.Name())
	if err != nil {
		return err
	}
	it.MediaType = sniffMediaType(b)
	e, have, found, err := t.NewestValue(ctx, it.Key)
	if err != nil {
		return err
	}
	if found && have == store.ValueDigest(b) {
		it.Action, it.Entry = MigrateUnchanged, e.Digest
		return nil
	}
	if dry {
		it.Action = MigrateWouldImport
		return nil
	}
	stored, err := t.Put(ctx, it.Key, store.Value{Path: f.Name(), MediaType: it.MediaType, Title: "-"})
	if err != nil {
		return err
	}
	it.Action, it.Entry = MigrateImported, stored.Digest
	if tb != nil {
		if it.Signer, err = sign(ctx, tb, trustRepo, it.Image, stored); err != nil {
			return err
		}
	}
	return nil
}

// sniffMediaType is a migrated value's media type: the original tool
// recorded none. JSON is application/json, anything else
// application/octet-stream.
func sniffMediaType(b []byte) string {
	if len(b) > 0 && json.Valid(b) {
		return "application/json"
	}
	return "application/octet-stream"
}

// migrateTrust opens the trust backend and checks, for every (image, key)
// about to be written, that signing will work.
func migrateTrust(ctx context.Context, repo *store.Repository, req Request, env Env, items []MigrateItem) (trustBackend, string, error) {
	var first *store.Target
	for _, it := range items {
		if it.Action == "" {
			t, err := repo.Image(it.Image)
			if err != nil {
				return nil, "", err
			}
			first = t
			break
		}
	}
	if first == nil {
		return nil, "", nil // nothing to sign
	}
	trustRepo, err := repository(first, req.Trust.Backend)
	if err != nil {
		return nil, "", err
	}
	tb, err := openTrust(req.Trust, env, first)
	if err != nil {
		return nil, "", err
	}
	for _, it := range items {
		if it.Action == "" {
			if err := preflight(ctx, tb, trustRepo, it.Image, it.Key); err != nil {
				return nil, "", err
			}
		}
	}
	return tb, trustRepo, nil
}
