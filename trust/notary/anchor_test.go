package notary

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/trust"
)

// A root that lists the pinned key but is signed only by another key (one
// anyone can make: public keys are public) does not match the pin.
func TestPinnedKeyMustSignRoot(t *testing.T) {
	t.Parallel()
	newCS := func() *cryptoservice.CryptoService {
		return cryptoservice.NewCryptoService(trustmanager.NewKeyMemoryStore(passphrase.ConstantRetriever(testPass)))
	}
	victimCS, attackerCS := newCS(), newCS()
	victim, err := victimCS.Create(data.CanonicalRootRole, testGUN, data.ECDSAKey)
	if err != nil {
		t.Fatal(err)
	}
	attacker, err := attackerCS.Create(data.CanonicalRootRole, testGUN, data.ECDSAKey)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := attackerCS.Create(data.CanonicalTargetsRole, testGUN, data.ECDSAKey)
	if err != nil {
		t.Fatal(err)
	}
	build := func(cs *cryptoservice.CryptoService) *tuf.Repo {
		repo := tuf.NewRepo(cs)
		other := func(r data.RoleName) data.BaseRole { return data.NewBaseRole(r, 1, targets) }
		if err := repo.InitRoot(data.NewBaseRole(data.CanonicalRootRole, 1, attacker, victim),
			other(data.CanonicalTimestampRole), other(data.CanonicalSnapshotRole), other(data.CanonicalTargetsRole), false); err != nil {
			t.Fatal(err)
		}
		if _, err := repo.SignRoot(time.Now().Add(time.Hour), nil); err != nil {
			t.Fatal(err)
		}
		return repo
	}
	b := backend(t, "http://127.0.0.1:1", t.TempDir())
	forged := build(attackerCS)
	for _, a := range []anchor{{ids: []string{victim.ID()}}, {ids: []string{victim.ID()}, owner: true}} {
		if err := b.checkPin(testGUN, forged, a); err == nil || !strings.Contains(err.Error(), "not signed by it") || errors.Is(err, errdef.ErrUsage) {
			t.Errorf("root listing the pinned key, signed by another (owner %v): %v", a.owner, err)
		}
	}
	both := cryptoservice.NewCryptoService(
		trustmanager.NewKeyMemoryStore(passphrase.ConstantRetriever(testPass)))
	for _, cs := range []*cryptoservice.CryptoService{victimCS, attackerCS} {
		for _, id := range []string{victim.ID(), attacker.ID(), targets.ID()} {
			if k, r, err := cs.GetPrivateKey(id); err == nil {
				if err := both.AddKey(r, testGUN, k); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := b.checkPin(testGUN, build(both), anchor{ids: []string{victim.ID()}}); err != nil {
		t.Errorf("root signed by the pinned key: %v", err)
	}
	if err := b.checkPin(testGUN, forged, anchor{ids: []string{strings.Repeat("ab", 32)}}); err == nil || !strings.Contains(err.Error(), "not the pinned one") {
		t.Errorf("root without the pinned key: %v", err)
	}
}

// Preflight checks everything Sign needs and writes nothing to the server.
func TestPreflight(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ts, admin, root := newRepo(t)
	var writes atomic.Int32
	ts.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writes.Add(1)
		}
		next.ServeHTTP(w, r)
	})
	bd := trust.Binding{Repository: testGUN, Subject: randomDigest(t), Key: "k"}
	noPass := func(o *Options) { o.Passphrase = EnvPassphrase(envMap{}.get) }
	wrongPass := func(o *Options) { o.Passphrase = func(string) (string, error) { return "not it", nil } }

	for _, tc := range []struct {
		name  string
		b     *Backend
		usage bool
		want  string
	}{
		{"owner", backend(t, ts.URL, admin), false, ""},
		{"pinned", backend(t, ts.URL, admin, pin(root)), false, ""},
		{"no pin", backend(t, ts.URL, t.TempDir()), true, "notary_root_key_id"},
		{"no key", backend(t, ts.URL, t.TempDir(), pin(root)), true, "no private key of role targets"},
		{"passphrase unset", backend(t, ts.URL, admin, noPass), true, "NOTARY_TARGETS_PASSPHRASE is not set"},
		{"wrong passphrase", backend(t, ts.URL, admin, wrongPass), false, "wrong passphrase for the targets key"},
		{"not delegated", backend(t, ts.URL, admin, role("targets/ci")), false, "not delegated"},
		{"server down", backend(t, closedURL(t), admin, pin(root)), false, "unreachable"},
	} {
		err := tc.b.Preflight(ctx, bd)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, errdef.ErrUsage) != tc.usage):
			t.Errorf("%s: %v, want an error mentioning %q (usage %v)", tc.name, err, tc.want, tc.usage)
		}
	}
	if n := writes.Load(); n != 0 {
		t.Errorf("Preflight sent %d writes to the server", n)
	}
	if got := mustVerify(t, backend(t, ts.URL, t.TempDir(), pin(root)), bd.Subject, "k"); len(got) != 0 {
		t.Errorf("signed after Preflight: %+v", got)
	}
}
