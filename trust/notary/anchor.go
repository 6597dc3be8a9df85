package notary

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	json "github.com/docker/go/canonical/json"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// anchor is what a load trusts a repository's root by.
type anchor struct {
	// ids are root key IDs (canonical, or as root.json lists them); the
	// verified root must list one of them and carry its valid signature.
	ids []string
	// owner: ids are the root keys in TrustDir (ownerRootKeys), not a pin
	// the caller gave.
	owner bool
	// tofu trusts the root the update ends with: explicit TOFU, or Init
	// of an existing repository.
	tofu bool
}

// anchorFor decides how the root of gun is trusted, before anything is
// sent: the pinned root key ID, explicit TOFU, or else the root keys of the
// repository's owner in TrustDir (ownerRootKeys). unpinned (Init of an
// existing repository only) trusts the server's root when there is none of
// these; otherwise their absence is a usage error.
func (b *Backend) anchorFor(gun string, unpinned bool) (anchor, error) {
	switch {
	case b.rootKeyID != "":
		return anchor{ids: []string{b.rootKeyID}}, nil
	case b.tofu:
		return anchor{tofu: true}, nil
	}
	if ids := b.ownerRootKeys(gun); len(ids) > 0 {
		return anchor{ids: ids, owner: true}, nil
	}
	if unpinned {
		return anchor{tofu: true}, nil
	}
	return anchor{}, errdef.Usagef("notary: no pinned root key ID for %s: set notary_root_key_id to the root key ID `manifesto trust init` printed, "+
		"or notary_tofu: true to trust the server's root on first use (the trust dir `manifesto trust init` created the repository in "+
		"holds its root key and needs neither; %s does not)", gun, b.trustDir)
}

// ownerRootKeys returns the canonical IDs of the root keys of gun whose
// private keys are in TrustDir: the trust dir of the repository's owner,
// where `manifesto trust init` (like `notary init`) created the root key and
// cached the root. Like the notary CLI, which trusts the root in its cache,
// that trust dir needs no pin; unlike it, a cached root alone (left by an
// earlier TOFU read, say) is not enough: the trust dir must hold the private
// key of one of its root keys. Only the cached root.json and the key files'
// headers are read, so no passphrase is needed; the cached root is not
// trusted here, only used to tell whether the trust dir belongs to gun's
// owner. checkPin then requires the root the update ends with to list one of
// these keys and carry its signature.
func (b *Backend) ownerRootKeys(gun string) []string {
	raw, err := os.ReadFile(filepath.Join(b.cacheDir(gun), data.CanonicalRootRole.String()+".json"))
	if err != nil {
		return nil
	}
	s := &data.Signed{}
	if err := json.Unmarshal(raw, s); err != nil {
		return nil
	}
	root, err := data.RootFromSigned(s)
	if err != nil {
		return nil
	}
	role, err := root.BuildBaseRole(data.CanonicalRootRole)
	if err != nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(b.trustDir, "private")); err != nil {
		return nil // no keys; and NewKeyFileStore would create the directory
	}
	ks, err := trustmanager.NewKeyFileStore(b.trustDir, nil)
	if err != nil {
		return nil
	}
	local := ks.ListKeys()
	var ids []string
	for _, k := range role.Keys {
		id := canonicalID(k)
		if info, ok := local[id]; ok && info.Role == data.CanonicalRootRole {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// checkPin requires the verified root to be anchored as a says: one of
// a.ids must be a key of its root role and have signed it. Membership alone
// is not enough: anyone can list a known public key in a root they sign
// with their own key.
func (b *Backend) checkPin(gun string, repo *tuf.Repo, a anchor) error {
	if a.tofu {
		return nil
	}
	role, err := repo.GetBaseRole(data.CanonicalRootRole)
	if err != nil {
		return fmt.Errorf("notary: root of %s: %w", gun, err)
	}
	canonical, _, err := rootKeyIDs(repo)
	if err != nil {
		return fmt.Errorf("notary: root of %s: %w", gun, err)
	}
	pinned := map[string]bool{}
	for _, id := range a.ids {
		pinned[id] = true
	}
	listedButUnsigned := ""
	for listed, k := range role.Keys {
		if !pinned[listed] && !pinned[canonicalID(k)] {
			continue
		}
		if signedBy(repo.Root, listed, k) {
			return nil
		}
		listedButUnsigned = canonicalID(k)
	}
	switch {
	case listedButUnsigned != "":
		return fmt.Errorf("notary: root of %s on %s lists the pinned root key %s but is not signed by it (a root someone else signed)",
			gun, b.server, listedButUnsigned)
	case a.owner:
		return errdef.Usagef("notary: no pinned root key ID for %s: the root keys in %s (%s) are not keys of its root on %s (%s); "+
			"set notary_root_key_id or notary_tofu: true", gun, filepath.Join(b.trustDir, "private"), strings.Join(a.ids, ", "),
			b.server, strings.Join(canonical, ", "))
	}
	return fmt.Errorf("notary: root of %s on %s is not the pinned one: pinned root key %s, the repository's root keys are %s",
		gun, b.server, strings.Join(a.ids, ", "), strings.Join(canonical, ", "))
}

// signedBy reports whether root carries a valid signature by key k (listed
// in root.json under id).
func signedBy(root *data.SignedRoot, id string, k data.PublicKey) bool {
	if root == nil {
		return false
	}
	s, err := root.ToSigned()
	if err != nil {
		return false
	}
	return signed.VerifySignatures(s, data.BaseRole{Name: data.CanonicalRootRole, Keys: map[string]data.PublicKey{id: k}, Threshold: 1}) == nil
}
