package notary

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/theupdateframework/notary/tuf/data"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/trust"
)

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := Options{Server: "http://127.0.0.1:4443", TrustDir: dir}
	for name, edit := range map[string]func(*Options){
		"no server":        func(o *Options) { o.Server = "" },
		"not a URL":        func(o *Options) { o.Server = "127.0.0.1:4443" },
		"ftp":              func(o *Options) { o.Server = "ftp://x" },
		"no trust dir":     func(o *Options) { o.TrustDir = " " },
		"root role":        func(o *Options) { o.Role = "root" },
		"snapshot role":    func(o *Options) { o.Role = "snapshot" },
		"bad delegation":   func(o *Options) { o.Role = "targets/" },
		"not a delegation": func(o *Options) { o.Role = "ci" },
		"short root id":    func(o *Options) { o.RootKeyID = "abc" },
		"non-hex root id":  func(o *Options) { o.RootKeyID = strings.Repeat("g", 64) },
		"key not PEM":      func(o *Options) { o.Key = "not a key" },
	} {
		o := good
		edit(&o)
		if _, err := New(o); !errors.Is(err, errdef.ErrUsage) {
			t.Errorf("%s: New: %v, want a usage error", name, err)
		}
	}
	b, err := New(Options{Server: "https://notary.example.com/", TrustDir: dir, RootKeyID: strings.Repeat("AB", 32)})
	if err != nil {
		t.Fatal(err)
	}
	if b.server != "https://notary.example.com" || b.role != data.CanonicalTargetsRole || b.rootKeyID != strings.Repeat("ab", 32) {
		t.Errorf("normalized: server %q role %q root %q", b.server, b.role, b.rootKeyID)
	}
}

func TestEnvPassphrase(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"NOTARY_ROOT_PASSPHRASE":       "r",
		"NOTARY_TARGETS_PASSPHRASE":    "t",
		"NOTARY_SNAPSHOT_PASSPHRASE":   "s",
		"NOTARY_DELEGATION_PASSPHRASE": "d",
	}
	p := EnvPassphrase(func(k string) string { return env[k] })
	for role, want := range map[string]string{"root": "r", "targets": "t", "snapshot": "s", "targets/ci": "d", "targets/a/b": "d"} {
		if got, err := p(role); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", role, got, err, want)
		}
	}
	_, err := EnvPassphrase(func(string) string { return "" })("targets/ci")
	if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "NOTARY_DELEGATION_PASSPHRASE") {
		t.Errorf("unset: %v", err)
	}
}

func TestTargetNames(t *testing.T) {
	t.Parallel()
	s, e := digest("image"), digest("entry")
	n := targetName(s, "test-results", e)
	if n != "manifesto/"+s+"/test-results/"+e {
		t.Fatalf("name %q", n)
	}
	gs, gk, ge, ok := parseName(n)
	if !ok || gs != s || gk != "test-results" || ge != e {
		t.Errorf("parse %q: %q %q %q %v", n, gs, gk, ge, ok)
	}
	for _, bad := range []string{"latest", "manifesto/" + s, "manifesto/" + s + "/k", "manifesto/" + s + "//" + e, "manifesto/" + s + "/a/b/" + e} {
		if _, _, _, ok := parseName(bad); ok {
			t.Errorf("parseName(%q) ok", bad)
		}
	}
	// A key is never a prefix match of a longer key.
	if strings.HasPrefix(targetName(s, "scan2", e), queryPrefix(s, "scan")) {
		t.Error("key scan matches scan2")
	}
	for _, bad := range []trust.Binding{
		{Subject: "latest", Key: "k", Entry: e, Size: 1, Created: t0},
		{Subject: s, Key: "a/b", Entry: e, Size: 1, Created: t0},
		{Subject: s, Key: "", Entry: e, Size: 1, Created: t0},
		{Subject: s, Key: "k", Entry: "sha256:abc", Size: 1, Created: t0},
		{Subject: s, Key: "k", Entry: strings.ToUpper(e), Size: 1, Created: t0},
		{Subject: s, Key: "k", Entry: e, Size: 0, Created: t0},
		{Subject: s, Key: "k", Entry: e, Size: 1},
	} {
		if _, err := newTarget(bad); !errors.Is(err, errdef.ErrUsage) {
			t.Errorf("newTarget(%+v): %v, want a usage error", bad, err)
		}
	}
}

// The wire format, byte for byte, as the server stores it.
func TestTargetWireFormat(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	b := backend(t, ts.URL, admin, pin(root))
	subject, entry := digest("image"), digest("entry")
	mustSign(t, b, trust.Binding{Repository: testGUN, Subject: subject, Key: "test-results", Entry: entry,
		Size: 512, MediaType: "application/vnd.test+json", Created: time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.FixedZone("x", 3600))})

	var targets struct {
		Signed struct {
			Targets map[string]json.RawMessage `json:"targets"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(ts.get(t, testGUN, "targets"), &targets); err != nil {
		t.Fatal(err)
	}
	name := "manifesto/" + subject + "/test-results/" + entry
	raw, ok := targets.Signed.Targets[name]
	if !ok || len(targets.Signed.Targets) != 1 {
		t.Fatalf("targets %v, want exactly %q", slices.Collect(maps.Keys(targets.Signed.Targets)), name)
	}
	var meta struct {
		Hashes map[string][]byte `json:"hashes"`
		Length int64             `json:"length"`
		Custom json.RawMessage   `json:"custom"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(meta.Hashes["sha256"]) != strings.TrimPrefix(entry, "sha256:") || len(meta.Hashes) != 1 || meta.Length != 512 {
		t.Errorf("target meta %s", raw)
	}
	want := `{"created":"2026-01-02T02:04:05.12Z","image":"` + subject + `","key":"test-results","media_type":"application/vnd.test+json"}`
	if string(meta.Custom) != want {
		t.Errorf("custom\n got %s\nwant %s", meta.Custom, want)
	}
}

func TestInitIdempotent(t *testing.T) {
	t.Parallel()
	ts := newServer(t)
	dir := t.TempDir()
	b := backend(t, ts.URL, dir)
	ctx := context.Background()

	id, created, err := b.Init(ctx, testGUN)
	if err != nil || !created {
		t.Fatalf("first Init: %q %v %v", id, created, err)
	}
	if len(id) != 64 || !isHex(id) {
		t.Fatalf("root key ID %q", id)
	}
	// The notary CLI layout: private/<id>.key for the root and the targets
	// key, TUF metadata under tuf/<GUN>/metadata.
	roles := map[string]string{}
	entries, err := os.ReadDir(filepath.Join(dir, "private"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, "private", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if r, ok := strings.CutPrefix(line, "role: "); ok {
				roles[strings.TrimSuffix(e.Name(), ".key")] = r
			}
		}
		if !strings.Contains(string(b), "ENCRYPTED PRIVATE KEY") {
			t.Errorf("key %s is not encrypted", e.Name())
		}
	}
	if roles[id] != "root" || len(roles) != 2 {
		t.Errorf("private keys %v, want the root key %s and one targets key", roles, id)
	}
	if _, err := os.Stat(filepath.Join(dir, "tuf", filepath.FromSlash(testGUN), "metadata", "root.json")); err != nil {
		t.Errorf("metadata cache: %v", err)
	}

	again, created, err := b.Init(ctx, testGUN)
	if err != nil || created || again != id {
		t.Errorf("second Init: %q %v %v, want %q false nil", again, created, err, id)
	}
	// Another machine (no keys, no cache) sees the same root.
	other, created, err := backend(t, ts.URL, t.TempDir()).Init(ctx, testGUN)
	if err != nil || created || other != id {
		t.Errorf("Init elsewhere: %q %v %v, want %q false nil", other, created, err, id)
	}
	if _, _, err := backend(t, ts.URL, t.TempDir(), pin(strings.Repeat("0", 64))).Init(ctx, testGUN); err == nil ||
		!strings.Contains(err.Error(), "not the pinned one") {
		t.Errorf("Init with a wrong pin on an existing repo: %v", err)
	}
	if n := len(mustList(t, dir)); n != 2 {
		t.Errorf("idempotent Init created keys: %d key files", n)
	}
}

func TestInitNeedsPassphrases(t *testing.T) {
	t.Parallel()
	ts := newServer(t)
	dir := t.TempDir()
	b := backend(t, ts.URL, dir, func(o *Options) { o.Passphrase = EnvPassphrase(func(string) string { return "" }) })
	_, _, err := b.Init(context.Background(), testGUN)
	if err == nil || !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "NOTARY_ROOT_PASSPHRASE") {
		t.Fatalf("Init without passphrases: %v, want a usage error naming NOTARY_ROOT_PASSPHRASE", err)
	}
	if n := len(mustList(t, dir)); n != 0 {
		t.Errorf("failed Init left %d key files", n)
	}
	// Nothing was published: a later Init creates the repository.
	if _, created, err := backend(t, ts.URL, dir).Init(context.Background(), testGUN); err != nil || !created {
		t.Errorf("Init after a failed one: %v %v", created, err)
	}
}

func TestInitServerDown(t *testing.T) {
	t.Parallel()
	_, _, err := backend(t, closedURL(t), t.TempDir()).Init(context.Background(), testGUN)
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("Init against a closed port: %v", err)
	}
}

func TestSignVerifyRoundtrip(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	signer := backend(t, ts.URL, admin, pin(root))
	subject, entry := randomDigest(t), randomDigest(t)
	bd := binding(subject, "test-results", entry, t0)
	s := mustSign(t, signer, bd)

	targetsKey := targetsKeyID(t, admin, root)
	if want := "targets (" + targetsKey[:12] + ")"; s.Signer != want {
		t.Errorf("Signer %q, want %q", s.Signer, want)
	}

	// A reader elsewhere: its own empty trust dir, the pin only.
	reader := backend(t, ts.URL, t.TempDir(), pin(root), func(o *Options) { o.Passphrase = nil })
	for _, key := range []string{"test-results", ""} {
		got := mustVerify(t, reader, subject, key)
		want := []trust.Verified{{Key: "test-results", Digest: entry, Size: bd.Size, Created: t0, Signer: s.Signer}}
		if !equalVerified(got, want) {
			t.Errorf("Verify(key %q) = %+v, want %+v", key, got, want)
		}
	}
	// Again with the warm cache.
	if got := mustVerify(t, reader, subject, "test-results"); len(got) != 1 {
		t.Errorf("second Verify: %+v", got)
	}
}

func TestVerifyNewestFirst(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	b := backend(t, ts.URL, admin, pin(root))
	subject := randomDigest(t)
	e1, e2, e3, e4 := digest("1"), digest("2"), digest("3"), digest("4")
	// Signed out of order; e3 and e4 share a created time.
	mustSign(t, b, binding(subject, "scan", e2, t0.Add(time.Minute)))
	mustSign(t, b, binding(subject, "scan", e3, t0.Add(time.Hour)))
	mustSign(t, b, binding(subject, "scan", e1, t0))
	mustSign(t, b, binding(subject, "scan", e4, t0.Add(time.Hour)))
	mustSign(t, b, binding(subject, "owner", digest("o"), t0.Add(30*time.Minute)))

	hi, lo := e3, e4
	if e4 > e3 {
		hi, lo = e4, e3
	}
	var got []string
	for _, v := range mustVerify(t, b, subject, "scan") {
		got = append(got, v.Digest)
	}
	want := []string{hi, lo, e2, e1}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("order\n got %v\nwant %v", got, want)
	}
	all := mustVerify(t, b, subject, "")
	if len(all) != 5 || all[2].Key != "owner" {
		t.Errorf("every key: %+v", all)
	}
}

// Bindings of another image or another key never answer a query, and a
// signed entry copied onto another image does not verify there.
func TestVerifyFiltersImageAndKey(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	b := backend(t, ts.URL, admin, pin(root))
	a, other := randomDigest(t), randomDigest(t)
	entry := randomDigest(t)
	mustSign(t, b, binding(a, "scan", entry, t0))
	mustSign(t, b, binding(a, "scan2", randomDigest(t), t0))

	if got := mustVerify(t, b, other, "scan"); len(got) != 0 {
		t.Errorf("other image: %+v", got)
	}
	if got := mustVerify(t, b, other, ""); len(got) != 0 {
		t.Errorf("other image, every key: %+v", got)
	}
	if got := mustVerify(t, b, a, "owner"); len(got) != 0 {
		t.Errorf("other key: %+v", got)
	}
	if got := mustVerify(t, b, a, "scan"); len(got) != 1 || got[0].Digest != entry {
		t.Errorf("scan: %+v (scan2 must not match)", got)
	}
	if got := mustVerify(t, b, a, "sca"); len(got) != 0 {
		t.Errorf("key prefix: %+v", got)
	}
}

// A target whose custom JSON disagrees with its name (a signer bug or a
// relabelling attempt by a key holder) fails the read instead of being
// returned or skipped.
func TestVerifyInconsistentTarget(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	b := backend(t, ts.URL, admin, pin(root))
	subject, other := randomDigest(t), randomDigest(t)
	_, err := b.publish(context.Background(), testGUN, nil, func(r clientRepository) error {
		tg, err := newTarget(binding(subject, "scan", randomDigest(t), t0))
		if err != nil {
			return err
		}
		c := jsonRaw(strings.Replace(string(*tg.Custom), subject, other, 1))
		tg.Custom = &c
		return r.AddTarget(tg, data.CanonicalTargetsRole)
	})
	if err != nil {
		t.Fatal(err)
	}
	verifyErr(t, b, subject, "scan", "inconsistent", "custom image")
	verifyErr(t, b, subject, "", "inconsistent")
	if got := mustVerify(t, b, other, "scan"); len(got) != 0 {
		t.Errorf("relabelled target returned for the other image: %+v", got)
	}
}

func TestFromTargetChecks(t *testing.T) {
	t.Parallel()
	subject, entry := digest("s"), digest("e")
	good, err := newTarget(binding(subject, "scan", entry, t0))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, edit func(*targetWithRole)) {
		t.Helper()
		tw := &targetWithRole{Target: *good, Role: data.CanonicalTargetsRole}
		custom := append([]byte(nil), *good.Custom...)
		c := jsonRaw(custom)
		tw.Custom = &c
		tw.Hashes = data.Hashes{"sha256": append([]byte(nil), good.Hashes["sha256"]...)}
		edit(tw)
		if _, _, _, _, _, err := fromTarget(tw); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, _, e, size, created, err := fromTarget(&targetWithRole{Target: *good, Role: "targets"}); err != nil || e != entry || size != good.Length || !created.Equal(t0) {
		t.Fatalf("good target: %v", err)
	}
	check("custom image", func(tw *targetWithRole) {
		c := jsonRaw(strings.Replace(string(*tw.Custom), subject, digest("other"), 1))
		tw.Custom = &c
	})
	check("custom key", func(tw *targetWithRole) {
		c := jsonRaw(strings.Replace(string(*tw.Custom), `"key":"scan"`, `"key":"owner"`, 1))
		tw.Custom = &c
	})
	check("custom created", func(tw *targetWithRole) {
		c := jsonRaw(strings.Replace(string(*tw.Custom), "2026-01-02", "yesterday", 1))
		tw.Custom = &c
	})
	check("no custom", func(tw *targetWithRole) { tw.Custom = nil })
	check("custom not JSON", func(tw *targetWithRole) { c := jsonRaw("{"); tw.Custom = &c })
	check("hash", func(tw *targetWithRole) { tw.Hashes["sha256"][0] ^= 1 })
	check("no sha256", func(tw *targetWithRole) { tw.Hashes = data.Hashes{"sha512": make([]byte, 64)} })
	check("length", func(tw *targetWithRole) { tw.Length = 0 })
	check("name", func(tw *targetWithRole) { tw.Name = "manifesto/" + subject + "/scan" })
}

func TestWrongPassphraseInTrustDir(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	b := backend(t, ts.URL, admin, pin(root), func(o *Options) {
		o.Passphrase = func(string) (string, error) { return "not it", nil }
	})
	_, err := b.Sign(context.Background(), binding(randomDigest(t), "k", randomDigest(t), t0))
	if err == nil || !strings.Contains(err.Error(), "wrong passphrase for the targets key") ||
		!strings.Contains(err.Error(), "NOTARY_TARGETS_PASSPHRASE") || !strings.Contains(err.Error(), "NOT signed") {
		t.Fatalf("wrong passphrase: %v", err)
	}
	b = backend(t, ts.URL, admin, pin(root), func(o *Options) { o.Passphrase = EnvPassphrase(envMap{}.get) })
	_, err = b.Sign(context.Background(), binding(randomDigest(t), "k", randomDigest(t), t0))
	if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "NOTARY_TARGETS_PASSPHRASE is not set") {
		t.Fatalf("unset passphrase: %v", err)
	}
}

func TestWrongPinnedRoot(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	subject := randomDigest(t)
	mustSign(t, backend(t, ts.URL, admin, pin(root)), binding(subject, "k", randomDigest(t), t0))
	wrong := strings.Repeat("ab", 32)

	// A fresh reader, and the admin whose cache holds the real root: the
	// pin is checked against whichever root the update ends with.
	for name, dir := range map[string]string{"fresh": t.TempDir(), "cached": admin} {
		err := verifyErr(t, backend(t, ts.URL, dir, pin(wrong)), subject, "k", "not the pinned one", wrong, root)
		t.Logf("%s: %v", name, err)
		if _, err := backend(t, ts.URL, dir, pin(wrong)).Sign(context.Background(), binding(subject, "k", randomDigest(t), t0)); err == nil {
			t.Errorf("%s: Sign with a wrong pin succeeded", name)
		}
	}
	// A wrong pin never poisons the cache of a fresh reader.
	fresh := t.TempDir()
	verifyErr(t, backend(t, ts.URL, fresh, pin(wrong)), subject, "k")
	if _, err := os.Stat(filepath.Join(fresh, "tuf", filepath.FromSlash(testGUN), "metadata", "root.json")); !os.IsNotExist(err) {
		t.Errorf("root cached after a pin mismatch: %v", err)
	}
	if got := mustVerify(t, backend(t, ts.URL, fresh, pin(root)), subject, "k"); len(got) != 1 {
		t.Errorf("right pin afterwards: %+v", got)
	}
}

// A server presenting a different root for the GUN (a repository re-created
// by someone else) fails a pinned reader and a TOFU reader that saw the
// first root.
func TestSubstitutedRoot(t *testing.T) {
	t.Parallel()
	ts, _, root := newRepo(t)
	tofuDir := t.TempDir()
	subject := randomDigest(t)
	mustVerify(t, backend(t, ts.URL, tofuDir, tofu), subject, "k")

	evil, evilAdmin, evilRoot := newRepo(t)
	mustSign(t, backend(t, evil.URL, evilAdmin, pin(evilRoot)), binding(subject, "k", randomDigest(t), t0))

	verifyErr(t, backend(t, evil.URL, t.TempDir(), pin(root)), subject, "k", "not the pinned one")
	verifyErr(t, backend(t, evil.URL, tofuDir, tofu), subject, "k")
}

func TestNoPinWithoutTOFU(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	b := backend(t, ts.URL, t.TempDir())
	_, err := b.Verify(context.Background(), trust.Query{Repository: testGUN, Subject: randomDigest(t), Key: "k"})
	if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "notary_root_key_id") || !strings.Contains(err.Error(), "notary_tofu") {
		t.Errorf("Verify without pin: %v", err)
	}
	// A trust dir holding the targets key but no root key (not the
	// owner's) needs a pin to sign.
	signer := t.TempDir()
	if err := os.MkdirAll(filepath.Join(signer, "private"), 0o700); err != nil {
		t.Fatal(err)
	}
	tk := targetsKeyID(t, admin, root)
	if err := os.WriteFile(filepath.Join(signer, "private", tk+".key"), []byte(keyPEM(t, admin, tk)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = backend(t, ts.URL, signer).Sign(context.Background(), binding(randomDigest(t), "k", randomDigest(t), t0))
	if !errors.Is(err, errdef.ErrUsage) {
		t.Errorf("Sign without pin: %v", err)
	}
	if err := backend(t, ts.URL, signer).RemoveTargets(context.Background(), testGUN, []trust.Binding{binding(randomDigest(t), "k", randomDigest(t), t0)}); !errors.Is(err, errdef.ErrUsage) {
		t.Errorf("RemoveTargets without pin: %v", err)
	}
}

// The trust dir Init created the repository in holds its root key and its
// cached root: that is the pin, as for the notary CLI, so the owner signs,
// verifies and removes without notary_root_key_id. A cached root without
// the root key (an earlier TOFU read), or root keys of other repositories,
// are not.
func TestOwnerTrustDirIsThePin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ts, admin, root := newRepo(t)
	owner := backend(t, ts.URL, admin)
	subject, entry := randomDigest(t), randomDigest(t)
	mustSign(t, owner, binding(subject, "k", entry, t0))
	if got := mustVerify(t, owner, subject, "k"); len(got) != 1 || got[0].Digest != entry {
		t.Errorf("owner's Verify: %+v", got)
	}
	if err := owner.RemoveTargets(ctx, testGUN, []trust.Binding{binding(subject, "k", entry, t0)}); err != nil {
		t.Errorf("owner's RemoveTargets: %v", err)
	}
	if id, created, err := owner.Init(ctx, testGUN); err != nil || created || id != root {
		t.Errorf("owner's second Init: %q %v %v", id, created, err)
	}

	// A reader whose cache holds the root from a TOFU read.
	reader := t.TempDir()
	mustVerify(t, backend(t, ts.URL, reader, tofu), subject, "k")
	before := ts.requests()
	if _, err := backend(t, ts.URL, reader).Verify(ctx, trust.Query{Repository: testGUN, Subject: subject, Key: "k"}); !errors.Is(err, errdef.ErrUsage) {
		t.Errorf("Verify with a cached root but no root key: %v", err)
	}
	if n := ts.requests() - before; n != 0 {
		t.Errorf("a missing pin sent %d requests", n)
	}
	// The owner of another repository.
	other := t.TempDir()
	if _, created, err := backend(t, ts.URL, other).Init(ctx, "127.0.0.1:5000/team/other"); err != nil || !created {
		t.Fatalf("Init of another repository: %v", err)
	}
	before = ts.requests()
	_, err := backend(t, ts.URL, other).Verify(ctx, trust.Query{Repository: testGUN, Subject: subject, Key: "k"})
	if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "notary_root_key_id") {
		t.Errorf("Verify with another repository's root key: %v", err)
	}
	if n := ts.requests() - before; n != 0 {
		t.Errorf("a missing pin sent %d requests", n)
	}
}

func TestTOFU(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	subject, entry := randomDigest(t), randomDigest(t)
	mustSign(t, backend(t, ts.URL, admin, pin(root)), binding(subject, "k", entry, t0))
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		if got := mustVerify(t, backend(t, ts.URL, dir, tofu), subject, "k"); len(got) != 1 || got[0].Digest != entry {
			t.Errorf("TOFU read %d: %+v", i, got)
		}
	}
	// The admin may sign under TOFU as well (its cache holds the root).
	mustSign(t, backend(t, ts.URL, admin, tofu), binding(subject, "k", randomDigest(t), t0.Add(time.Second)))
}

func TestVerifyNoTrustData(t *testing.T) {
	t.Parallel()
	ts := newServer(t)
	err := verifyErr(t, backend(t, ts.URL, t.TempDir(), tofu), randomDigest(t), "k", "no trust data", "manifesto trust init")
	if errors.Is(err, errdef.ErrUsage) {
		t.Errorf("classified as usage: %v", err)
	}
	if _, err := backend(t, ts.URL, t.TempDir(), tofu).Sign(context.Background(), binding(randomDigest(t), "k", randomDigest(t), t0)); err == nil ||
		!strings.Contains(err.Error(), "no trust data") {
		t.Errorf("Sign without trust data: %v", err)
	}
	// Sign never creates the repository on its own.
	resp, err := http.Get(ts.URL + "/v2/" + testGUN + "/_trust/tuf/root.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("root.json after Sign: %d, want 404", resp.StatusCode)
	}
}

func TestServerDown(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	subject := randomDigest(t)
	mustSign(t, backend(t, ts.URL, admin, pin(root)), binding(subject, "k", randomDigest(t), t0))
	reader := t.TempDir()
	mustVerify(t, backend(t, ts.URL, reader, pin(root)), subject, "k") // warm cache

	ts.Close()
	// The cache holds a valid, unexpired timestamp; it is not enough.
	verifyErr(t, backend(t, ts.URL, reader, pin(root)), subject, "k", "unreachable")
	verifyErr(t, backend(t, ts.URL, admin, tofu), subject, "k", "unreachable")
	verifyErr(t, backend(t, closedURL(t), t.TempDir(), pin(root)), subject, "k", "unreachable")
	if _, err := backend(t, ts.URL, admin, pin(root)).Sign(context.Background(), binding(subject, "k", randomDigest(t), t0)); err == nil ||
		!strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), "NOT signed") {
		t.Errorf("Sign with the server down: %v", err)
	}
}

// A server that answers the timestamp with an error (or 404) is as good
// as unreachable: the cached timestamp is not used.
func TestServerErrorsOnTimestamp(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	subject := randomDigest(t)
	mustSign(t, backend(t, ts.URL, admin, pin(root)), binding(subject, "k", randomDigest(t), t0))
	reader := t.TempDir()
	mustVerify(t, backend(t, ts.URL, reader, pin(root)), subject, "k")
	for _, code := range []int{http.StatusNotFound, http.StatusServiceUnavailable} {
		ts.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			if isMeta("timestamp")(r.URL.Path) {
				w.WriteHeader(code)
				return
			}
			next.ServeHTTP(w, r)
		})
		verifyErr(t, backend(t, ts.URL, reader, pin(root)), subject, "k")
	}
}

func TestContextCancelled(t *testing.T) {
	t.Parallel()
	ts, _, root := newRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := backend(t, ts.URL, t.TempDir(), pin(root)).Verify(ctx, trust.Query{Repository: testGUN, Subject: randomDigest(t)})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestTamperedTargetsFromServer(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	subject, other := randomDigest(t), randomDigest(t)
	mustSign(t, backend(t, ts.URL, admin, pin(root)), binding(subject, "k", randomDigest(t), t0))
	// The server relabels the signed target onto another image.
	ts.rewrite(isMeta("targets"), func(b []byte) []byte {
		return []byte(strings.ReplaceAll(string(b), subject, other))
	})
	for _, dir := range []string{t.TempDir(), admin} {
		verifyErr(t, backend(t, ts.URL, dir, pin(root)), other, "k", "does not verify")
		verifyErr(t, backend(t, ts.URL, dir, pin(root)), subject, "k")
	}
}

func TestTamperedTimestampFromServer(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	subject := randomDigest(t)
	mustSign(t, backend(t, ts.URL, admin, pin(root)), binding(subject, "k", randomDigest(t), t0))
	// One byte of the signed part changed: the signature no longer matches.
	ts.rewrite(isMeta("timestamp"), func(b []byte) []byte {
		return []byte(strings.Replace(string(b), `"version":`, `"version":1`, 1))
	})
	verifyErr(t, backend(t, ts.URL, t.TempDir(), pin(root)), subject, "k")
}

func TestTamperedCache(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	subject, entry := randomDigest(t), randomDigest(t)
	mustSign(t, backend(t, ts.URL, admin, pin(root)), binding(subject, "k", entry, t0))
	reader := t.TempDir()
	mustVerify(t, backend(t, ts.URL, reader, pin(root)), subject, "k")
	meta := filepath.Join(reader, "tuf", filepath.FromSlash(testGUN), "metadata")

	// Cached targets tampered with (an injected entry): the snapshot's hash
	// no longer matches, the client fetches the signed targets again and
	// the injected entry never comes back.
	targetsPath := filepath.Join(meta, "targets.json")
	b, err := os.ReadFile(targetsPath)
	if err != nil {
		t.Fatal(err)
	}
	fake := randomDigest(t)
	if err := os.WriteFile(targetsPath, []byte(strings.ReplaceAll(string(b), entry[len("sha256:"):], fake[len("sha256:"):])), 0o600); err != nil {
		t.Fatal(err)
	}
	got := mustVerify(t, backend(t, ts.URL, reader, pin(root)), subject, "k")
	if len(got) != 1 || got[0].Digest != entry {
		t.Errorf("after tampering with the cached targets: %+v, want only %s", got, entry)
	}

	// The cached root is the trust anchor: tampering with it fails.
	rootPath := filepath.Join(meta, "root.json")
	b, err = os.ReadFile(rootPath)
	if err != nil {
		t.Fatal(err)
	}
	// A valid later expiry (20xx → 21xx): well-formed, but no longer what
	// the root keys signed.
	if !strings.Contains(string(b), `"expires":"20`) {
		t.Fatalf("unexpected root.json: %.200s", b)
	}
	if err := os.WriteFile(rootPath, []byte(strings.Replace(string(b), `"expires":"20`, `"expires":"21`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	verifyErr(t, backend(t, ts.URL, reader, pin(root)), subject, "k")
	verifyErr(t, backend(t, ts.URL, reader, tofu), subject, "k")
}

// A server replaying an expired timestamp (a freeze attack), even one
// validly signed with the GUN's timestamp key, fails the read.
func TestExpiredTimestamp(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	subject := randomDigest(t)
	mustSign(t, backend(t, ts.URL, admin, pin(root)), binding(subject, "k", randomDigest(t), t0))
	expired := ts.resignTimestamp(t, testGUN, func(st *data.SignedTimestamp) {
		st.Signed.Version++
		st.Signed.Expires = time.Now().Add(-time.Hour)
	})
	ts.serve(isMeta("timestamp"), expired)
	verifyErr(t, backend(t, ts.URL, t.TempDir(), pin(root)), subject, "k", "expired")
	verifyErr(t, backend(t, ts.URL, admin, pin(root)), subject, "k", "expired")
	if _, err := backend(t, ts.URL, admin, pin(root)).Sign(context.Background(), binding(subject, "k", randomDigest(t), t0)); err == nil {
		t.Error("Sign on expired metadata succeeded")
	}

	// The same timestamp, unexpired, is accepted: the failure above is the
	// expiry and nothing else.
	ts.setHook(nil)
	fresh := ts.resignTimestamp(t, testGUN, func(st *data.SignedTimestamp) { st.Signed.Version++ })
	ts.serve(isMeta("timestamp"), fresh)
	mustVerify(t, backend(t, ts.URL, t.TempDir(), pin(root)), subject, "k")
}

// A server serving an older (still valid, unexpired) timestamp than the
// reader has seen — a rollback that would hide newer signed entries —
// fails the read.
func TestRolledBackTimestamp(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	signer := backend(t, ts.URL, admin, pin(root))
	subject := randomDigest(t)
	mustSign(t, signer, binding(subject, "k", randomDigest(t), t0))
	reader := t.TempDir()
	mustVerify(t, backend(t, ts.URL, reader, pin(root)), subject, "k")
	old := ts.get(t, testGUN, "timestamp")

	mustSign(t, signer, binding(subject, "k", randomDigest(t), t0.Add(time.Hour)))
	if got := mustVerify(t, backend(t, ts.URL, reader, pin(root)), subject, "k"); len(got) != 2 {
		t.Fatalf("after the second signature: %+v", got)
	}

	ts.serve(isMeta("timestamp"), old)
	verifyErr(t, backend(t, ts.URL, reader, pin(root)), subject, "k", "rolled back")
	// A reader that never saw the newer version cannot tell (TUF's limit):
	// it gets the older, still valid state.
	if got := mustVerify(t, backend(t, ts.URL, t.TempDir(), pin(root)), subject, "k"); len(got) != 1 {
		t.Errorf("fresh reader on the old timestamp: %+v", got)
	}
}

func TestPublishFailureIsAnError(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	ts.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		next.ServeHTTP(w, r)
	})
	subject, entry := randomDigest(t), randomDigest(t)
	_, err := backend(t, ts.URL, admin, pin(root)).Sign(context.Background(), binding(subject, "k", entry, t0))
	if err == nil || !strings.Contains(err.Error(), "publish") || !strings.Contains(err.Error(), "NOT signed") {
		t.Fatalf("Sign with the server refusing: %v", err)
	}
	ts.setHook(nil)
	if got := mustVerify(t, backend(t, ts.URL, t.TempDir(), pin(root)), subject, "k"); len(got) != 0 {
		t.Errorf("after a failed publish: %+v", got)
	}
	// Nothing lingers in a changelist: the next publish carries only its
	// own target.
	mustSign(t, backend(t, ts.URL, admin, pin(root)), binding(subject, "other", randomDigest(t), t0))
	if got := mustVerify(t, backend(t, ts.URL, t.TempDir(), pin(root)), subject, "k"); len(got) != 0 {
		t.Errorf("failed target published later: %+v", got)
	}
}

func TestRemoveTargets(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	b := backend(t, ts.URL, admin, pin(root))
	subject := randomDigest(t)
	keep, drop := binding(subject, "k", digest("keep"), t0), binding(subject, "k", digest("drop"), t0.Add(time.Hour))
	mustSign(t, b, keep)
	mustSign(t, b, drop)
	if err := b.RemoveTargets(context.Background(), testGUN, []trust.Binding{drop, binding(subject, "k", digest("never signed"), t0)}); err != nil {
		t.Fatal(err)
	}
	got := mustVerify(t, backend(t, ts.URL, t.TempDir(), pin(root)), subject, "k")
	if len(got) != 1 || got[0].Digest != keep.Entry {
		t.Errorf("after removal: %+v", got)
	}
	if err := b.RemoveTargets(context.Background(), "other/repo", []trust.Binding{keep}); !errors.Is(err, errdef.ErrUsage) {
		t.Errorf("binding of another repository: %v", err)
	}
}

// Targets of other tools in the same GUN (Docker Content Trust tags) are
// ignored.
func TestForeignTargetsIgnored(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	b := backend(t, ts.URL, admin, pin(root))
	subject := randomDigest(t)
	_, err := b.publish(context.Background(), testGUN, nil, func(r clientRepository) error {
		tg, err := newTarget(binding(subject, "k", randomDigest(t), t0))
		if err != nil {
			return err
		}
		tg.Name = "latest"
		return r.AddTarget(tg, data.CanonicalTargetsRole)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustVerify(t, b, subject, ""); len(got) != 0 {
		t.Errorf("foreign target returned: %+v", got)
	}
}

// CI without a trust dir of its own: the targets key as an encrypted PEM
// (what `notary key export` writes), decrypted in memory.
func TestKeyImportFromPEM(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	tk := targetsKeyID(t, admin, root)
	pemKey := keyPEM(t, admin, tk)

	empty := t.TempDir()
	ci := backend(t, ts.URL, empty, pin(root), func(o *Options) {
		o.Key = pemKey
		o.Passphrase = EnvPassphrase(envMap{"NOTARY_TARGETS_PASSPHRASE": testPass}.get)
	})
	subject, entry := randomDigest(t), randomDigest(t)
	s := mustSign(t, ci, binding(subject, "test-results", entry, t0))
	if s.Signer != "targets ("+tk[:12]+")" {
		t.Errorf("Signer %q", s.Signer)
	}
	if files := mustList(t, empty); len(files) != 0 {
		t.Errorf("the imported key was written to the trust dir: %v", files)
	}
	if got := mustVerify(t, backend(t, ts.URL, t.TempDir(), pin(root)), subject, "test-results"); len(got) != 1 || got[0].Digest != entry {
		t.Errorf("Verify: %+v", got)
	}

	// Wrong passphrase: a usage error naming the variable, before any network call.
	_, err := New(Options{Server: ts.URL, TrustDir: empty, RootKeyID: root, Key: pemKey,
		Passphrase: func(string) (string, error) { return "wrong", nil }})
	if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "NOTARY_TARGETS_PASSPHRASE") || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("wrong passphrase: %v", err)
	}
	_, err = New(Options{Server: ts.URL, TrustDir: empty, RootKeyID: root, Role: "targets/ci", Key: pemKey,
		Passphrase: EnvPassphrase(func(string) string { return "" })})
	if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "NOTARY_DELEGATION_PASSPHRASE is not set") {
		t.Errorf("no passphrase: %v", err)
	}
	// A root key is refused outright.
	_, err = New(Options{Server: ts.URL, TrustDir: empty, RootKeyID: root, Key: keyPEM(t, admin, root), Passphrase: constPass})
	if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "root key") {
		t.Errorf("root key as notary_key: %v", err)
	}
	// A key that is not the role's signs nothing.
	_, otherAdmin, otherRoot := newRepo(t)
	wrongKey := backend(t, ts.URL, empty, pin(root), func(o *Options) { o.Key = keyPEM(t, otherAdmin, targetsKeyID(t, otherAdmin, otherRoot)) })
	if _, err := wrongKey.Sign(context.Background(), binding(subject, "x", randomDigest(t), t0)); err == nil ||
		!strings.Contains(err.Error(), "no private key of role targets") || !strings.Contains(err.Error(), "nor notary_key (key ID ") {
		t.Errorf("foreign key: %v", err)
	}
}

// Writers racing on one GUN (a CI matrix, each job with the key) all
// succeed: a publish the server rejects because another landed first is
// rebased and retried.
func TestConcurrentSigners(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	pemKey := keyPEM(t, admin, targetsKeyID(t, admin, root))
	subject := randomDigest(t)
	var mu sync.Mutex
	rejected := 0
	ts.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			mu.Lock()
			rejected++
			mu.Unlock()
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			b := backend(t, ts.URL, t.TempDir(), pin(root), func(o *Options) { o.Key = pemKey })
			_, errs[i] = b.Sign(context.Background(), binding(subject, "k", digest(string(rune('a'+i))), t0.Add(time.Duration(i)*time.Second)))
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("signer %d: %v", i, err)
		}
	}
	if got := mustVerify(t, backend(t, ts.URL, t.TempDir(), pin(root)), subject, "k"); len(got) != n {
		t.Errorf("%d entries, want %d: %+v", len(got), n, got)
	}
	t.Logf("%d publishes rejected by the server and retried", rejected)
}

// notary-server v0.7.0 built with Go 1.17 or later (this in-process server
// too) rejects every delegation upload (theupdateframework/notary#1630).
// Signing with a delegation there fails with an error that says so; the
// delegation tests run against the patched notary-server process
// (integration_test.go).
func TestDelegationOnStockServerExplains(t *testing.T) {
	t.Parallel()
	ts, admin, root := newRepo(t)
	ciDir, _ := addDelegation(t, ts.URL, admin, "targets/ci")
	_, err := backend(t, ts.URL, ciDir, pin(root), role("targets/ci")).Sign(context.Background(), binding(randomDigest(t), "k", randomDigest(t), t0))
	if err == nil {
		t.Skip("this notary server accepts delegation uploads (fixed upstream)")
	}
	for _, want := range []string{"INVALID_ROLE", "notary#1630", "NOT signed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
