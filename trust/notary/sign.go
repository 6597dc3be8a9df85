package notary

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/client/changelist"
	"github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/trust"
)

// publishAttempts bounds the retries of a publish the server rejected
// because another writer published first (TUF versions raced).
const publishAttempts = 5

// Init creates the Notary repository of gun, like `notary init GUN
// --server-managed snapshot` followed by a publish: a new root key and
// targets key (ECDSA, encrypted with the passphrases of "root" and
// "targets") in TrustDir, the timestamp and snapshot keys on the server. It
// returns the root key ID that readers pin.
//
// Init is idempotent: when the server already has trust data for gun it
// creates nothing, verifies that data (against the pin if one is set, else
// against the root cached in TrustDir, else trusting the server's root) and
// returns created=false with the existing root key ID.
func (b *Backend) Init(ctx context.Context, gun string) (rootKeyID string, created bool, err error) {
	if err := checkGUN(gun); err != nil {
		return "", false, err
	}
	remote, err := b.remote(ctx, gun)
	if err != nil {
		return "", false, err
	}
	_, err = remote.GetSized(data.CanonicalRootRole.String(), storage.NoSizeLimit)
	var notFound storage.ErrMetaNotFound
	switch {
	case err == nil:
		l, err := b.loadTrusting(ctx, gun, true)
		if err != nil {
			return "", false, err
		}
		id, err := b.pickRootKeyID(l.repo)
		if err != nil {
			return "", false, fmt.Errorf("notary: root of %s: %w", gun, err)
		}
		return id, false, nil
	case errors.As(err, &notFound):
		// create below
	default:
		return "", false, b.serverErr(ctx, "look up trust data of", gun, err)
	}

	kr, err := b.keyring()
	if err != nil {
		return "", false, err
	}
	before := kr.cs.ListAllKeys()
	cacheDir := b.cacheDir(gun)
	fail := func(err error) (string, bool, error) {
		// Leave nothing half-made behind: the server has nothing, so
		// neither the new keys nor the unpublished metadata are of use.
		for id := range kr.cs.ListAllKeys() {
			if _, ok := before[id]; !ok {
				_ = kr.cs.RemoveKey(id)
			}
		}
		_ = os.RemoveAll(cacheDir)
		return "", false, err
	}

	rootPub, err := kr.cs.Create(data.CanonicalRootRole, "", data.ECDSAKey)
	if err != nil {
		return fail(fmt.Errorf("notary: create root key for %s: %w", gun, kr.explain(err)))
	}
	// The server has no trust data: whatever is cached for gun belongs to a
	// repository that no longer exists and would fail the rollback checks.
	if err := os.RemoveAll(cacheDir); err != nil {
		return fail(fmt.Errorf("notary: clear stale metadata cache of %s: %w", gun, err))
	}
	disk, err := storage.NewFileStore(cacheDir, "json")
	if err != nil {
		return fail(fmt.Errorf("notary: metadata cache for %s in %s: %w", gun, b.trustDir, err))
	}
	repo, err := client.NewRepository(data.GUN(gun), b.server, remote, disk,
		trustpinning.TrustPinConfig{}, kr.cs, changelist.NewMemChangelist())
	if err != nil {
		return fail(fmt.Errorf("notary: init %s: %w", gun, err))
	}
	if err := repo.Initialize([]string{rootPub.ID()}, data.CanonicalSnapshotRole); err != nil {
		return fail(b.serverErr(ctx, "init", gun, kr.explain(err)))
	}
	if err := repo.Publish(); err != nil {
		return fail(b.publishErr(ctx, "publish new trust data of "+gun, remote, kr.explain(err)))
	}
	return rootPub.ID(), true, nil
}

// pickRootKeyID returns the root key ID to show for an existing
// repository: the pinned one, else one whose private key is in TrustDir,
// else the first.
func (b *Backend) pickRootKeyID(repo *tuf.Repo) (string, error) {
	ids, _, err := rootKeyIDs(repo)
	if err != nil {
		return "", err
	}
	if len(ids) == 0 {
		return "", errors.New("no root keys")
	}
	if b.rootKeyID != "" {
		return b.rootKeyID, nil // checkPin verified it is one of ids
	}
	if kr, err := b.keyring(); err == nil {
		local := kr.cs.ListKeys(data.CanonicalRootRole)
		for _, id := range ids {
			for _, l := range local {
				if l == id {
					return id, nil
				}
			}
		}
	}
	return ids[0], nil
}

// Sign publishes the binding as a target of Options.Role (see the package
// documentation for the format). It first verifies the repository like
// Verify (pin, freshness), then signs with the role's key from TrustDir or
// Options.Key and publishes. Any failure is an error and nothing is
// published: the entry stays unsigned.
func (b *Backend) Sign(ctx context.Context, bd trust.Binding) (trust.Signed, error) {
	if err := checkGUN(bd.Repository); err != nil {
		return trust.Signed{}, err
	}
	t, err := newTarget(bd)
	if err != nil {
		return trust.Signed{}, err
	}
	signer, err := b.publish(ctx, bd.Repository, []string{t.Name}, func(r client.Repository) error {
		return r.AddTarget(t, b.role)
	})
	if err != nil {
		return trust.Signed{}, fmt.Errorf("%w (entry %s of %s on %s is NOT signed)", err, bd.Entry, bd.Key, bd.Subject)
	}
	return trust.Signed{Signer: signer}, nil
}

// RemoveTargets removes the targets of bindings (Subject, Key, Entry; the
// other fields are ignored) from Options.Role in gun and publishes, for
// `manifesto delete`. Targets that do not exist are ignored. It needs the
// role's key like Sign.
func (b *Backend) RemoveTargets(ctx context.Context, gun string, bindings []trust.Binding) error {
	if err := checkGUN(gun); err != nil {
		return err
	}
	if len(bindings) == 0 {
		return nil
	}
	names := make([]string, 0, len(bindings))
	for _, bd := range bindings {
		if bd.Repository != "" && bd.Repository != gun {
			return errdef.Usagef("notary: binding of %s in a removal from %s", bd.Repository, gun)
		}
		if err := checkSubject(bd.Subject); err != nil {
			return err
		}
		if err := checkKey(bd.Key); err != nil {
			return err
		}
		if _, _, err := digestHex(bd.Entry); err != nil {
			return errdef.Usagef("notary: entry: %v", err)
		}
		names = append(names, targetName(bd.Subject, bd.Key, bd.Entry))
	}
	_, err := b.publish(ctx, gun, names, func(r client.Repository) error {
		for _, n := range names {
			if err := r.RemoveTarget(n, b.role); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// Preflight checks that Sign can sign an entry of bd.Key on bd.Subject in
// bd.Repository (the entry itself is not known yet; Entry, Size and Created
// are ignored), and writes nothing anywhere but the verified metadata cache
// in TrustDir. Callers run it before they store the entry, so that a
// configuration that cannot sign fails before anything is written:
//
//   - the root is anchored: notary_root_key_id, notary_tofu, or the trust
//     dir holds a root key of the repository (the owner's, from `manifesto
//     trust init`); otherwise a usage error, before anything is sent;
//   - the server is reachable and its trust data verifies, as for Verify
//     (an unreachable server is a failure, not a usage error);
//   - Options.Role exists and may sign the key's targets;
//   - a private key of the role is in TrustDir or Options.Key, and its
//     passphrase decrypts it (a missing key or passphrase variable is a
//     usage error).
//
// Sign still checks all of this again: Preflight makes failing early
// possible, it is not a lock.
func (b *Backend) Preflight(ctx context.Context, bd trust.Binding) error {
	if err := checkGUN(bd.Repository); err != nil {
		return err
	}
	if err := checkSubject(bd.Subject); err != nil {
		return err
	}
	if err := checkKey(bd.Key); err != nil {
		return err
	}
	_, _, _, err := b.prepare(ctx, bd.Repository, []string{queryPrefix(bd.Subject, bd.Key)}, true)
	return err
}

// prepare verifies gun, checks that Options.Role may sign names (with
// prefixes, some name starting with each), and finds a private key of it.
// It returns the verified repository, the keyring holding the key and the
// Signer string.
func (b *Backend) prepare(ctx context.Context, gun string, names []string, prefixes bool) (*loaded, *keyring, string, error) {
	l, err := b.load(ctx, gun)
	if err != nil {
		return nil, nil, "", err
	}
	if data.IsDelegation(b.role) {
		if dr, err := l.repo.GetDelegationRole(b.role); err == nil {
			for _, n := range names {
				if !mayCover(dr, n, prefixes) {
					return nil, nil, "", fmt.Errorf("notary: role %s of %s may only sign targets under %q, not %q: delegate it with --all-paths or the path %q",
						b.role, gun, dr.Paths, n, namePrefix)
				}
			}
		}
	}
	kr, err := b.keyring()
	if err != nil {
		return nil, nil, "", err
	}
	ids, err := roleKeys(l.repo, b.role)
	if err != nil {
		return nil, nil, "", fmt.Errorf("notary: %s: %w", gun, err)
	}
	priv, err := kr.privateKey(ids)
	if err != nil {
		var nf trustmanager.ErrKeyNotFound
		if errors.As(err, &nf) {
			where := fmt.Sprintf("%s holds none", filepath.Join(b.trustDir, "private"))
			if b.imported != nil {
				where = fmt.Sprintf("neither %s nor notary_key (key ID %s) holds any", filepath.Join(b.trustDir, "private"), b.imported.ID())
			}
			// Usage: the key is given with notary_key or trust_dir.
			return nil, nil, "", errdef.Usagef("notary: no private key of role %s of %s: %s of its keys %s (give it with notary_key, or the trust_dir holding it)",
				b.role, gun, where, strings.Join(ids, ", "))
		}
		return nil, nil, "", fmt.Errorf("notary: key of role %s of %s: %w", b.role, gun, err)
	}
	return l, kr, fmt.Sprintf("%s (%s)", b.role, shortID(priv.ID())), nil
}

// mayCover reports whether delegation dr may sign name, or (prefix) some
// target name starting with name.
func mayCover(dr data.DelegationRole, name string, prefix bool) bool {
	if dr.CheckPaths(name) {
		return true
	}
	if prefix {
		for _, p := range dr.Paths {
			if strings.HasPrefix(p, name) {
				return true
			}
		}
	}
	return false
}

// publish verifies gun, checks that Options.Role may sign names and that a
// private key of it is at hand (prepare), stages the change and publishes
// it, retrying when another writer published in between. It returns the
// Signer string.
func (b *Backend) publish(ctx context.Context, gun string, names []string, stage func(client.Repository) error) (string, error) {
	l, kr, signer, err := b.prepare(ctx, gun, names, false)
	if err != nil {
		return "", err
	}

	disk, err := storage.NewFileStore(b.cacheDir(gun), "json")
	if err != nil {
		return "", fmt.Errorf("notary: metadata cache for %s in %s: %w", gun, b.trustDir, err)
	}
	for attempt := 1; ; attempt++ {
		repo, err := client.NewRepository(data.GUN(gun), b.server, l.remote, disk,
			trustpinning.TrustPinConfig{}, kr.cs, changelist.NewMemChangelist())
		if err != nil {
			return "", fmt.Errorf("notary: %s: %w", gun, err)
		}
		l.remote.forgetServerSaid()
		if err := stage(repo); err != nil {
			return "", fmt.Errorf("notary: stage change to %s in %s: %w", b.role, gun, err)
		}
		err = repo.Publish()
		if err == nil {
			return signer, nil
		}
		err = kr.explain(err)
		if attempt >= publishAttempts || !raced(err) || ctx.Err() != nil || delegationUploadBug(b.role, l.remote.serverSaid()) {
			return "", b.publishErr(ctx, fmt.Sprintf("publish to role %s of %s", b.role, gun), l.remote, err)
		}
		// Another writer published first; back off and rebase.
		d := time.Duration(50*attempt)*time.Millisecond + rand.N(50*time.Millisecond)
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("notary: publish to role %s of %s: %w", b.role, gun, ctx.Err())
		case <-time.After(d):
		}
	}
}

// raced reports whether a publish failed in a way another writer's
// concurrent publish explains: the server answers a publish based on
// versions that are no longer current with a 400 whose detail the Notary
// client cannot decode (ErrOldVersion), i.e. a bare ErrInvalidOperation.
// Rejections with a validation detail (expired, bad signatures, bad
// hierarchy) are permanent and not retried.
func raced(err error) bool {
	var inv storage.ErrInvalidOperation
	return errors.As(err, &inv)
}

// roleKeys returns the canonical IDs of role's keys in the verified repo.
func roleKeys(repo *tuf.Repo, role data.RoleName) ([]string, error) {
	keys, err := roleKeyMap(repo, role)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, canonicalID(k))
	}
	sort.Strings(ids)
	return ids, nil
}

// roleKeyMap returns role's keys as the metadata lists them (by the IDs
// signatures refer to).
func roleKeyMap(repo *tuf.Repo, role data.RoleName) (map[string]data.PublicKey, error) {
	if role == data.CanonicalTargetsRole {
		r, err := repo.GetBaseRole(role)
		if err != nil {
			return nil, err
		}
		return r.Keys, nil
	}
	r, err := repo.GetDelegationRole(role)
	if err != nil {
		return nil, fmt.Errorf("role %s is not delegated (create it with the targets key: `notary delegation add GUN %s KEY.crt --all-paths`): %w", role, role, err)
	}
	return r.Keys, nil
}

// publishErr describes a failed publish, with what the server said.
func (b *Backend) publishErr(ctx context.Context, what string, remote *recordingRemote, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("notary: %s: %w", what, cerr)
	}
	msg := fmt.Sprintf("notary: %s on %s failed", what, b.server)
	if said := remote.serverSaid(); said != "" {
		msg += " (server said: " + said + ")"
		if delegationUploadBug(b.role, said) {
			msg += "; this notary-server drops the \"targets/\" prefix of delegation uploads " +
				"(notary v0.7.0 built with Go 1.17 or later, theupdateframework/notary#1630): run a server with the fix " +
				"of notary PR #1635 (scripts/install-notary.sh builds one; Debian's notary package has it)"
		}
	}
	return fmt.Errorf("%s: %w", msg, describe(err))
}

// delegationUploadBug recognizes notary-server rejecting an upload of
// delegation role because it read only the role's last path element.
func delegationUploadBug(role data.RoleName, said string) bool {
	if !data.IsDelegation(role) || !strings.Contains(said, "INVALID_ROLE") {
		return false
	}
	name := role.String()
	return strings.Contains(said, `"detail":"`+name[strings.LastIndex(name, "/")+1:]+`"`)
}
