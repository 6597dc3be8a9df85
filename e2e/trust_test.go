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
	if r = run(nil, append([]string{"get", image, "approval"}, base...)...); r.code == 0 || r.stdout != "" {
		t.Errorf("no pin: exit %d, stdout %q", r.code, r.stdout)
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
	// A signed put whose signing fails says so and exits non-zero.
	if r = run(nil, append([]string{"put", image, "approval", writeFile(t, "a.json", "{}")}, pinned...)...); r.code != 1 || !strings.Contains(r.stderr, "NOT signed") {
		t.Errorf("put with the server down: exit %d, stderr %q", r.code, r.stderr)
	}
}
