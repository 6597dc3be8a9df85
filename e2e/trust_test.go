package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/testnotary"
	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

// TestNotaryWalkthrough is the README's trust walk-through against a real
// registry and a real notary-server: init, signed put, verified reads, and
// the attacks the registry (untrusted) can mount.
func TestNotaryWalkthrough(t *testing.T) {
	reg := testregistry.Start(t)
	nsrv := testnotary.Start(t)
	image := reg.Ref("team/app:1.0")
	other := reg.Ref("team/app:2.0")
	pushImage(t, image)
	pushImage(t, other)
	trustDir := t.TempDir()
	pass := []string{"NOTARY_ROOT_PASSPHRASE=root-pass-phrase", "NOTARY_TARGETS_PASSPHRASE=targets-pass-phrase"}
	run := func(env []string, args ...string) result {
		t.Helper()
		return cli(t, nil, append(append([]string{}, pass...), env...), args...)
	}
	base := []string{"--trust", "notary", "--notary-server", nsrv.URL, "--trust-dir", trustDir}

	// init prints the root key ID readers pin; a second run says it exists.
	r := run(nil, append([]string{"trust", "init", image}, base...)...)
	rootID := strings.TrimSpace(r.stdout)
	if r.code != 0 || len(rootID) != 64 {
		t.Fatalf("trust init: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r = run(nil, append([]string{"trust", "init", image}, base...)...); r.code != 0 || strings.TrimSpace(r.stdout) != rootID || !strings.Contains(r.stderr, "exists") {
		t.Errorf("second init: exit %d, %q, %q", r.code, r.stdout, r.stderr)
	}
	pinned := append(append([]string{}, base...), "--notary-root-key-id", rootID)

	// A signed put.
	r = run(nil, append([]string{"put", image, "approval", writeFile(t, "approval.json", `{"approved":true}`), "--json"}, pinned...)...)
	if r.code != 0 {
		t.Fatalf("signed put: exit %d: %s", r.code, r.stderr)
	}
	var put struct{ Digest, Signer string }
	json.Unmarshal([]byte(r.stdout), &put)
	if put.Signer == "" || !strings.HasPrefix(put.Digest, "sha256:") {
		t.Errorf("signed put printed %q", r.stdout)
	}

	// Anyone with push rights adds a newer, unsigned entry under the same
	// key. Unverified reads see it; verified reads never return it.
	forged := strings.TrimSpace(ok(t, "put", image, "approval", writeFile(t, "approval.json", `{"approved":"forged"}`)))
	if got := ok(t, "get", image, "approval"); got != `{"approved":"forged"}` {
		t.Fatalf("unverified get = %q", got)
	}
	out := filepath.Join(t.TempDir(), "approval.json")
	r = run(nil, append([]string{"get", image, "approval", "-o", out, "--json"}, pinned...)...)
	if r.code != 0 {
		t.Fatalf("verified get: exit %d: %s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != `{"approved":true}` {
		t.Errorf("verified get wrote %q, want the signed value", b)
	}
	var got struct {
		Digest, Signer string
		Verified       bool
	}
	json.Unmarshal([]byte(r.stdout), &got)
	if got.Digest != put.Digest || !got.Verified || got.Signer == "" {
		t.Errorf("verified get = %s", r.stdout)
	}
	// Asking for the forged version by digest is refused.
	if r = run(nil, append([]string{"get", image, "approval", "--digest", forged}, pinned...)...); r.code != 3 || r.stdout != "" {
		t.Errorf("verified get of the unsigned digest: exit %d, stdout %q", r.code, r.stdout)
	}
	// history and list show only what is signed.
	if r = run(nil, append([]string{"history", image, "approval"}, pinned...)...); r.code != 0 || strings.TrimSpace(r.stdout) != put.Digest {
		t.Errorf("verified history: exit %d, %q", r.code, r.stdout)
	}
	ok(t, "put", image, "unsigned-key", writeFile(t, "v.txt", "x"))
	if r = run(nil, append([]string{"list", image}, pinned...)...); r.code != 0 || r.stdout != "approval\n" {
		t.Errorf("verified list: exit %d, %q", r.code, r.stdout)
	}

	// Replay: the signed entry is for image 1.0; on 2.0 it does not verify.
	if r = run(nil, append([]string{"get", other, "approval"}, pinned...)...); r.code != 3 {
		t.Errorf("verified get on another image: exit %d, stdout %q", r.code, r.stdout)
	}

	// Fail closed: a wrong pin, no pin, a server that is down.
	wrong := append(append([]string{}, base...), "--notary-root-key-id", strings.Repeat("ab", 32))
	if r = run(nil, append([]string{"get", image, "approval"}, wrong...)...); r.code != 1 || r.stdout != "" {
		t.Errorf("wrong pin: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// No pin: a reader's fresh trust dir fails; the owner's trust dir,
	// which holds the root key trust init created, is the pin.
	fresh := []string{"--trust", "notary", "--notary-server", nsrv.URL, "--trust-dir", t.TempDir()}
	if r = run(nil, append([]string{"get", image, "approval"}, fresh...)...); r.code != 2 || r.stdout != "" {
		t.Errorf("no pin: exit %d, stdout %q", r.code, r.stdout)
	}
	if r = run(nil, append([]string{"get", image, "approval"}, base...)...); r.code != 0 || r.stdout != `{"approved":true}` {
		t.Errorf("owner's trust dir, no pin: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// A step reading with trust: the outputs say verified.
	ws := t.TempDir()
	outFile := filepath.Join(t.TempDir(), "output")
	r = step(t, ws, "GITHUB_ACTIONS=true", "GITHUB_WORKSPACE="+ws, "GITHUB_OUTPUT="+outFile,
		"INPUT_OPERATION=get", "INPUT_IMAGE="+image, "INPUT_KEY=approval", "INPUT_TRUST=notary",
		"INPUT_NOTARY_SERVER="+nsrv.URL, "INPUT_TRUST_DIR="+trustDir, "INPUT_NOTARY_ROOT_KEY_ID="+rootID)
	if r.code != 0 {
		t.Fatalf("verified step: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if outs := readGitHubOutputFile(t, outFile); outs["verified"] != "true" || outs["digest"] != put.Digest || outs["signer"] == "" {
		t.Errorf("step outputs = %v", outs)
	}

	nsrv.Stop()
	if r = run(nil, append([]string{"get", image, "approval"}, pinned...)...); r.code != 1 || r.stdout != "" {
		t.Errorf("server down: exit %d, stdout %q", r.code, r.stdout)
	}
	// A signed put that could not be signed stores nothing and exits 1.
	before := ok(t, "history", image, "approval")
	if r = run(nil, append([]string{"put", image, "approval", writeFile(t, "a.json", "{}")}, pinned...)...); r.code != 1 || !strings.Contains(r.stderr, "nothing was written") {
		t.Errorf("put with the server down: exit %d, stderr %q", r.code, r.stderr)
	}
	if after := ok(t, "history", image, "approval"); after != before {
		t.Errorf("put with the server down stored an entry: %q → %q", before, after)
	}
}

// TestNotaryChecksBeforeWriting: a signed put checks everything signing
// needs (root anchored, key, passphrase, server) before it writes anything
// to the registry; the trust dir `trust init` ran in is the owner's pin;
// trust init needs no --trust (issue 10 item 11, issue 15).
func TestNotaryChecksBeforeWriting(t *testing.T) {
	reg := testregistry.Start(t)
	nsrv := testnotary.Start(t)
	image := reg.Ref("team/app:1.0")
	pushImage(t, image)
	owner := t.TempDir()
	pass := []string{"NOTARY_ROOT_PASSPHRASE=root-pass-phrase", "NOTARY_TARGETS_PASSPHRASE=targets-pass-phrase"}
	run := func(env []string, args ...string) result {
		t.Helper()
		return cli(t, nil, env, args...)
	}
	server := []string{"--notary-server", nsrv.URL}
	trustDir := func(dir string) []string {
		return append([]string{"--trust", "notary", "--trust-dir", dir}, server...)
	}
	blobs := storedBlobs(t, reg)
	// nothingWritten fails unless the registry holds what it held before
	// and no entry of key exists.
	nothingWritten := func(what, key string) {
		t.Helper()
		if n := storedBlobs(t, reg); n != blobs {
			t.Errorf("%s: the registry holds %d blobs, %d before", what, n, blobs)
		}
		if r := run(nil, "history", image, key); r.code != 3 || r.stdout != "" {
			t.Errorf("%s: history %s: exit %d, %q", what, key, r.code, r.stdout)
		}
	}

	// trust init without --trust: Notary is implied.
	r := run(pass, append([]string{"trust", "init", image, "--trust-dir", owner}, server...)...)
	rootID := strings.TrimSpace(r.stdout)
	if r.code != 0 || len(rootID) != 64 {
		t.Fatalf("trust init without --trust: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	value := writeFile(t, "approval.json", `{"approved":true}`)

	// What put cannot sign with, it does not store.
	fresh := t.TempDir()
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		msg  string
	}{
		{"no pin on a fresh trust dir", pass, trustDir(fresh), 2, "notary_root_key_id"},
		{"pinned, no key", pass, append(trustDir(t.TempDir()), "--notary-root-key-id", rootID), 2, "no private key of role targets"},
		{"owner without the passphrase", nil, trustDir(owner), 2, "NOTARY_TARGETS_PASSPHRASE is not set"},
		{"owner, wrong passphrase", []string{"NOTARY_TARGETS_PASSPHRASE=not-it"}, trustDir(owner), 1, "wrong passphrase"},
	} {
		r := run(tc.env, append([]string{"put", image, "approval", value}, tc.args...)...)
		if r.code != tc.code || r.stdout != "" || !strings.Contains(r.stderr, tc.msg) || !strings.Contains(r.stderr, "nothing was written") {
			t.Errorf("put, %s: exit %d, stdout %q, stderr %q; want exit %d mentioning %q", tc.name, r.code, r.stdout, r.stderr, tc.code, tc.msg)
		}
		if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("put, %s: more than one line: %q", tc.name, r.stderr)
		}
		nothingWritten("put, "+tc.name, "approval")
	}

	// The owner's put after trust init, on the same trust dir: no pin.
	r = run(pass, append([]string{"put", image, "approval", value, "--json"}, trustDir(owner)...)...)
	var put struct{ Digest, Signer string }
	json.Unmarshal([]byte(r.stdout), &put)
	if r.code != 0 || put.Signer == "" {
		t.Fatalf("owner's put without a pin: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r = run(nil, append([]string{"get", image, "approval"}, trustDir(owner)...)...); r.code != 0 || r.stdout != `{"approved":true}` {
		t.Errorf("owner's verified get without a pin: exit %d, %q, %q", r.code, r.stdout, r.stderr)
	}

	// A reader with a fresh trust dir still needs the pin (or TOFU).
	reader := t.TempDir()
	if r = run(nil, append([]string{"get", image, "approval"}, trustDir(reader)...)...); r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "notary_root_key_id") {
		t.Errorf("reader's get without a pin: exit %d, %q, %q", r.code, r.stdout, r.stderr)
	}
	if r = run(nil, append([]string{"get", image, "approval", "--notary-root-key-id", rootID}, trustDir(reader)...)...); r.code != 0 || r.stdout != `{"approved":true}` {
		t.Errorf("reader's pinned get: exit %d, %q, %q", r.code, r.stdout, r.stderr)
	}
	if r = run(nil, append([]string{"get", image, "approval", "--notary-tofu"}, trustDir(t.TempDir())...)...); r.code != 0 || r.stdout != `{"approved":true}` {
		t.Errorf("reader's TOFU get: exit %d, %q, %q", r.code, r.stdout, r.stderr)
	}

	// An unreachable server: exit 1, and nothing stored either.
	blobs = storedBlobs(t, reg)
	nsrv.Stop()
	r = run(pass, append([]string{"put", image, "other-key", writeFile(t, "o.json", "{}")}, trustDir(owner)...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "unreachable") || !strings.Contains(r.stderr, "nothing was written") {
		t.Errorf("put with the server down: exit %d, stderr %q", r.code, r.stderr)
	}
	nothingWritten("put with the server down", "other-key")
}

// storedBlobs counts the blobs in the registry's storage.
func storedBlobs(t *testing.T, reg *testregistry.Registry) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(reg.RootDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "data" && strings.Contains(filepath.ToSlash(path), "/blobs/") {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
