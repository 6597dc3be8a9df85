package notary

// Tests against a real notary-server process (internal/testnotary; built by
// scripts/install-notary.sh). Delegations are tested here only: the server
// package of notary v0.7.0, which the in-process server uses, rejects
// delegation uploads when built with Go 1.17 or later (see
// TestDelegationOnStockServerExplains); the installed server carries the
// upstream fix.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/notary/tuf/data"

	"github.com/manifesto-dev/manifesto/internal/testnotary"
	"github.com/manifesto-dev/manifesto/trust"
)

// startRepo starts a notary-server process holding the test GUN's trust
// data (initRepo).
func startRepo(t *testing.T) (srv *testnotary.Server, adminDir, rootID string) {
	t.Helper()
	srv = testnotary.Start(t)
	adminDir, rootID = initRepo(t, srv.URL)
	return srv, adminDir, rootID
}

func TestIntegrationRoundtripAndServerKilled(t *testing.T) {
	t.Parallel()
	began := time.Now()
	srv := testnotary.Start(t)
	t.Logf("notary-server %s up in %s", srv.Addr, time.Since(began).Round(time.Millisecond))
	ctx := context.Background()

	step := time.Now()
	admin, root := initRepo(t, srv.URL)
	t.Logf("Init: %s", time.Since(step).Round(time.Millisecond))
	if id, created, err := backend(t, srv.URL, admin).Init(ctx, testGUN); err != nil || created || id != root {
		t.Fatalf("second Init: %q %v %v", id, created, err)
	}

	signer := backend(t, srv.URL, admin, pin(root))
	subject := randomDigest(t)
	entries := []string{randomDigest(t), randomDigest(t)}
	for i, e := range entries {
		step = time.Now()
		mustSign(t, signer, binding(subject, "test-results", e, t0.Add(time.Duration(i)*time.Minute)))
		t.Logf("Sign %d: %s", i, time.Since(step).Round(time.Millisecond))
	}
	reader := backend(t, srv.URL, t.TempDir(), pin(root), func(o *Options) { o.Passphrase = nil })
	step = time.Now()
	got := mustVerify(t, reader, subject, "test-results")
	t.Logf("Verify (cold cache): %s", time.Since(step).Round(time.Millisecond))
	if len(got) != 2 || got[0].Digest != entries[1] || got[1].Digest != entries[0] {
		t.Fatalf("Verify: %+v", got)
	}
	step = time.Now()
	mustVerify(t, reader, subject, "test-results")
	t.Logf("Verify (warm cache): %s", time.Since(step).Round(time.Millisecond))
	if got := mustVerify(t, reader, randomDigest(t), "test-results"); len(got) != 0 {
		t.Errorf("another image: %+v", got)
	}
	verifyErr(t, backend(t, srv.URL, t.TempDir(), pin(strings.Repeat("0", 64))), subject, "test-results", "not the pinned one")

	srv.Stop()
	verifyErr(t, reader, subject, "test-results", "unreachable")
	if _, err := signer.Sign(ctx, binding(subject, "test-results", randomDigest(t), t0)); err == nil ||
		!strings.Contains(err.Error(), "NOT signed") {
		t.Errorf("Sign with the server killed: %v", err)
	}
}

// CI holds only a delegation key (targets/ci) created with the targets key;
// readers trusting "targets" accept what it signs.
func TestIntegrationDelegation(t *testing.T) {
	t.Parallel()
	srv, admin, root := startRepo(t)
	ciDir, ciKey := addDelegation(t, srv.URL, admin, "targets/ci")

	if files := mustList(t, ciDir); len(files) != 1 || files[0].Name() != ciKey+".key" {
		t.Fatalf("CI trust dir keys: %v", files)
	}
	ci := backend(t, srv.URL, ciDir, pin(root), role("targets/ci"))
	subject, entry := randomDigest(t), randomDigest(t)
	s := mustSign(t, ci, binding(subject, "test-results", entry, t0))
	if want := "targets/ci (" + ciKey[:12] + ")"; s.Signer != want {
		t.Errorf("Signer %q, want %q", s.Signer, want)
	}
	reader := backend(t, srv.URL, t.TempDir(), pin(root))
	got := mustVerify(t, reader, subject, "test-results")
	if len(got) != 1 || got[0].Digest != entry || got[0].Signer != s.Signer {
		t.Errorf("Verify: %+v", got)
	}

	// The admin signs with the targets key too; a reader bound to
	// targets/ci sees only the delegation's entries.
	mustSign(t, backend(t, srv.URL, admin, pin(root)), binding(subject, "test-results", randomDigest(t), t0.Add(time.Hour)))
	if got := mustVerify(t, reader, subject, "test-results"); len(got) != 2 {
		t.Errorf("targets reader: %+v", got)
	}
	ciReader := backend(t, srv.URL, t.TempDir(), pin(root), role("targets/ci"))
	if got := mustVerify(t, ciReader, subject, "test-results"); len(got) != 1 || got[0].Digest != entry {
		t.Errorf("targets/ci reader: %+v", got)
	}

	// CI without a trust dir: the delegation key as an encrypted PEM.
	empty := t.TempDir()
	pemCI := backend(t, srv.URL, empty, pin(root), role("targets/ci"), func(o *Options) {
		o.Key = keyPEM(t, ciDir, ciKey)
		o.Passphrase = EnvPassphrase(envMap{"NOTARY_DELEGATION_PASSPHRASE": testPass}.get)
	})
	e2 := randomDigest(t)
	if s := mustSign(t, pemCI, binding(subject, "scan", e2, t0)); s.Signer != "targets/ci ("+ciKey[:12]+")" {
		t.Errorf("PEM signer %q", s.Signer)
	}
	if files := mustList(t, empty); len(files) != 0 {
		t.Errorf("the imported key was written to the trust dir: %v", files)
	}
	if got := mustVerify(t, reader, subject, "scan"); len(got) != 1 || got[0].Digest != e2 {
		t.Errorf("Verify scan: %+v", got)
	}

	// CI cannot sign as "targets": it holds no targets key.
	_, err := backend(t, srv.URL, ciDir, pin(root)).Sign(context.Background(), binding(subject, "x", randomDigest(t), t0))
	if err == nil || !strings.Contains(err.Error(), "no private key of role targets") || !strings.Contains(err.Error(), "NOT signed") {
		t.Errorf("CI signing as targets: %v", err)
	}
	// A role that was never delegated is a clear error for writers and readers.
	_, err = backend(t, srv.URL, ciDir, pin(root), role("targets/releases")).Sign(context.Background(), binding(subject, "x", randomDigest(t), t0))
	if err == nil || !strings.Contains(err.Error(), "targets/releases is not delegated") {
		t.Errorf("undelegated role: %v", err)
	}
	verifyErr(t, backend(t, srv.URL, t.TempDir(), pin(root), role("targets/releases")), subject, "", "not delegated")

	// Removal with the delegation key.
	if err := ci.RemoveTargets(context.Background(), testGUN, []trust.Binding{binding(subject, "test-results", entry, t0)}); err != nil {
		t.Fatal(err)
	}
	if got := mustVerify(t, ciReader, subject, "test-results"); len(got) != 0 {
		t.Errorf("after removal: %+v", got)
	}
}

// A delegation restricted to paths outside "manifesto/" cannot sign
// manifesto targets, and says so.
func TestIntegrationDelegationPaths(t *testing.T) {
	t.Parallel()
	srv, admin, root := startRepo(t)
	ciDir, _ := addDelegation(t, srv.URL, admin, "targets/releases", "releases/")
	ci := backend(t, srv.URL, ciDir, pin(root), role("targets/releases"))
	_, err := ci.Sign(context.Background(), binding(randomDigest(t), "k", randomDigest(t), t0))
	if err == nil {
		t.Fatal("signed a target outside the delegation's paths")
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), "NOT signed") || !strings.Contains(err.Error(), `may only sign targets under ["releases/"]`) {
		t.Errorf("error %q", err)
	}
	// A delegation for the namespace works.
	ci2Dir, _ := addDelegation(t, srv.URL, admin, "targets/manifesto", "manifesto/")
	subject, entry := randomDigest(t), randomDigest(t)
	mustSign(t, backend(t, srv.URL, ci2Dir, pin(root), role("targets/manifesto")), binding(subject, "k", entry, t0))
	if got := mustVerify(t, backend(t, srv.URL, t.TempDir(), pin(root)), subject, "k"); len(got) != 1 || got[0].Digest != entry {
		t.Errorf("Verify: %+v", got)
	}
}

// A delegation whose metadata expired fails the read instead of silently
// dropping its entries (the Notary client alone skips such a role).
//
// Not parallel: it changes the Notary library's default expiry times, which
// every signer reads.
func TestIntegrationExpiredDelegation(t *testing.T) {
	srv, admin, root := startRepo(t)
	ciDir, _ := addDelegation(t, srv.URL, admin, "targets/ci")
	ci := backend(t, srv.URL, ciDir, pin(root), role("targets/ci"))
	subject := randomDigest(t)
	mustSign(t, ci, binding(subject, "k", randomDigest(t), t0))
	reader := backend(t, srv.URL, t.TempDir(), pin(root))
	if got := mustVerify(t, reader, subject, "k"); len(got) != 1 {
		t.Fatalf("before: %+v", got)
	}

	// CI's next publish signs targets/ci to expire in a moment (the client
	// signs delegations with the targets role's default expiry; the server
	// refuses metadata that has already expired).
	data.SetDefaultExpiryTimes(map[data.RoleName]time.Duration{data.CanonicalTargetsRole: 2 * time.Second})
	defer data.SetDefaultExpiryTimes(data.NotaryDefaultExpiries)
	mustSign(t, ci, binding(subject, "k", randomDigest(t), t0.Add(time.Hour)))
	data.SetDefaultExpiryTimes(data.NotaryDefaultExpiries)
	if got := mustVerify(t, reader, subject, "k"); len(got) != 2 {
		t.Fatalf("before expiry: %+v", got)
	}
	time.Sleep(2500 * time.Millisecond)

	verifyErr(t, reader, subject, "k", "role targets/ci does not verify")
	verifyErr(t, backend(t, srv.URL, t.TempDir(), pin(root), role("targets/ci")), subject, "k", "role targets/ci does not verify")
	verifyErr(t, backend(t, srv.URL, t.TempDir(), pin(root)), subject, "", "role targets/ci does not verify")
}
