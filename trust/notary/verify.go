package notary

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"

	"github.com/manifesto-dev/manifesto/trust"
)

// Verify returns the entries of q.Key (every key when empty) on q.Subject
// that carry a signed target in q.Repository, newest first (latest created,
// ties broken by the larger digest). It ignores q.Candidates: Notary holds
// the bindings itself. Only targets of Options.Role and the delegations
// below it count.
//
// Verify fails closed: an unreachable server, a root other than the pinned
// one (or no pin without TOFU), tampered, expired or rolled-back metadata, a
// missing role and an inconsistent matching target are errors. An empty
// result means trust was established and nothing is signed for the query.
func (b *Backend) Verify(ctx context.Context, q trust.Query) ([]trust.Verified, error) {
	if err := checkGUN(q.Repository); err != nil {
		return nil, err
	}
	if err := checkSubject(q.Subject); err != nil {
		return nil, err
	}
	if q.Key != "" {
		if err := checkKey(q.Key); err != nil {
			return nil, err
		}
	}
	l, err := b.load(ctx, q.Repository)
	if err != nil {
		return nil, err
	}
	if _, err := roleKeyMap(l.repo, b.role); err != nil {
		return nil, fmt.Errorf("notary: %s: %w", q.Repository, err)
	}
	targets, err := client.NewReadOnly(l.repo).ListTargets(b.role)
	if err != nil {
		return nil, fmt.Errorf("notary: list targets of %s: %w", q.Repository, err)
	}
	prefix := queryPrefix(q.Subject, q.Key)
	signers := map[data.RoleName]string{}
	var out []trust.Verified
	for _, t := range targets {
		if !strings.HasPrefix(t.Name, prefix) {
			continue
		}
		subject, key, entry, size, created, err := fromTarget(t)
		if err != nil {
			return nil, err
		}
		if subject != q.Subject || (q.Key != "" && key != q.Key) {
			continue // cannot happen with the prefix; kept as a guard
		}
		s, ok := signers[t.Role]
		if !ok {
			s = signerOf(l.repo, t.Role)
			signers[t.Role] = s
		}
		out = append(out, trust.Verified{Key: key, Digest: entry, Size: size, Created: created, Signer: s})
	}
	trust.SortNewest(out)
	return out, nil
}

// signerOf names role and the keys whose signatures on its metadata verify:
// "targets/ci (3f2a1b4c5d6e)".
func signerOf(repo *tuf.Repo, role data.RoleName) string {
	keys, err := roleKeyMap(repo, role)
	st := repo.Targets[role]
	if err != nil || st == nil {
		return role.String()
	}
	s, err := st.ToSigned()
	if err != nil || s.Signed == nil {
		return role.String()
	}
	seen := map[string]bool{}
	var ids []string
	for i := range s.Signatures {
		sig := s.Signatures[i]
		k, ok := keys[sig.KeyID]
		if !ok || signed.VerifySignature(*s.Signed, &sig, k) != nil {
			continue
		}
		id := shortID(canonicalID(k))
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		return role.String()
	}
	return fmt.Sprintf("%s (%s)", role, strings.Join(ids, ", "))
}
