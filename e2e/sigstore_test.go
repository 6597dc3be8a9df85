package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/manifesto-dev/manifesto/internal/sigstoretest"
	"github.com/manifesto-dev/manifesto/internal/testbin"
	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

// cosignKeyPair writes a key pair in cosign's encrypted format (what
// `cosign generate-key-pair` writes) to dir: cosign.key, cosign.pub.
func cosignKeyPair(t *testing.T, dir, password string) (key, pub string) {
	t.Helper()
	priv, pubPEM, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte(password)))
	if err != nil {
		t.Fatal(err)
	}
	key, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	os.WriteFile(key, priv, 0o600)
	os.WriteFile(pub, pubPEM, 0o644)
	return key, pub
}

// plainKeyPair writes an unencrypted PKCS#8 key pair to dir.
func plainKeyPair(t *testing.T, dir string) (key, pub string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := cryptoutils.MarshalPrivateKeyToPEM(k)
	pubPEM, _ := cryptoutils.MarshalPublicKeyToPEM(k.Public())
	key, pub = filepath.Join(dir, "other.key"), filepath.Join(dir, "other.pub")
	os.WriteFile(key, priv, 0o600)
	os.WriteFile(pub, pubPEM, 0o644)
	return key, pub
}

// TestSigstoreWalkthrough is the README's Sigstore walk-through with a key
// against a real registry: signed put, verified reads, and the attacks the
// registry (untrusted) can mount.
func TestSigstoreWalkthrough(t *testing.T) {
	reg := testregistry.Start(t)
	image, other := reg.Ref("team/app:1.0"), reg.Ref("team/app:2.0")
	pushImage(t, image)
	pushImage(t, other)
	dir := t.TempDir()
	key, pub := cosignKeyPair(t, dir, "s3cret-pass")
	pass := []string{"COSIGN_PASSWORD=s3cret-pass"}
	signing := []string{"--trust", "sigstore", "--sigstore-key", key}
	reading := []string{"--trust", "sigstore", "--public-key", pub}
	run := func(env []string, args ...string) result {
		t.Helper()
		return cli(t, nil, env, args...)
	}

	// A signed put prints the signer: the key's fingerprint.
	r := run(pass, append([]string{"put", image, "approval", writeFile(t, "approval.json", `{"approved":true}`), "--json"}, signing...)...)
	if r.code != 0 {
		t.Fatalf("signed put: exit %d: %s", r.code, r.stderr)
	}
	var put struct{ Digest, Signer string }
	json.Unmarshal([]byte(r.stdout), &put)
	if !strings.HasPrefix(put.Signer, "sha256:") || !strings.HasPrefix(put.Digest, "sha256:") {
		t.Fatalf("signed put printed %q", r.stdout)
	}

	// A newer unsigned entry under the same key: unverified reads see it,
	// verified reads return the signed one.
	forged := strings.TrimSpace(ok(t, "put", image, "approval", writeFile(t, "approval.json", `{"approved":"forged"}`)))
	if got := ok(t, "get", image, "approval"); got != `{"approved":"forged"}` {
		t.Fatalf("unverified get = %q", got)
	}
	out := filepath.Join(t.TempDir(), "approval.json")
	r = run(nil, append([]string{"get", image, "approval", "-o", out, "--json"}, reading...)...)
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
	if got.Digest != put.Digest || !got.Verified || got.Signer != put.Signer {
		t.Errorf("verified get = %s", r.stdout)
	}
	// The forged version by digest is refused; history and list show only
	// what is signed.
	if r = run(nil, append([]string{"get", image, "approval", "--digest", forged}, reading...)...); r.code != 3 || r.stdout != "" {
		t.Errorf("verified get of the unsigned digest: exit %d, stdout %q", r.code, r.stdout)
	}
	if r = run(nil, append([]string{"history", image, "approval"}, reading...)...); r.code != 0 || strings.TrimSpace(r.stdout) != put.Digest {
		t.Errorf("verified history: exit %d, %q", r.code, r.stdout)
	}
	ok(t, "put", image, "unsigned-key", writeFile(t, "v.txt", "x"))
	if r = run(nil, append([]string{"list", image}, reading...)...); r.code != 0 || r.stdout != "approval\n" {
		t.Errorf("verified list: exit %d, %q", r.code, r.stdout)
	}

	// A newer entry signed by another key does not count either.
	otherKey, otherPub := plainKeyPair(t, dir)
	r = run(nil, "put", image, "approval", writeFile(t, "approval.json", `{"approved":"other key"}`), "--trust", "sigstore", "--sigstore-key", otherKey)
	if r.code != 0 {
		t.Fatalf("put signed with another key: exit %d: %s", r.code, r.stderr)
	}
	if r = run(nil, append([]string{"get", image, "approval"}, reading...)...); r.code != 0 || r.stdout != `{"approved":true}` {
		t.Errorf("verified get after a foreign-signed put: exit %d, %q", r.code, r.stdout)
	}
	if r = run(nil, "get", image, "approval", "--trust", "sigstore", "--public-key", otherPub); r.code != 0 || r.stdout != `{"approved":"other key"}` {
		t.Errorf("the other key's reader: exit %d, %q", r.code, r.stdout)
	}

	// Replay: the signed entry belongs to image 1.0; on 2.0 nothing is signed.
	if r = run(nil, append([]string{"get", other, "approval"}, reading...)...); r.code != 3 || r.stdout != "" {
		t.Errorf("verified get on another image: exit %d, stdout %q", r.code, r.stdout)
	}

	// A wrong password fails before anything is stored.
	before := ok(t, "history", image, "approval")
	r = run([]string{"COSIGN_PASSWORD=wrong"}, append([]string{"put", image, "approval", writeFile(t, "a.json", "{}")}, signing...)...)
	if r.code != 2 || !strings.Contains(r.stderr, "COSIGN_PASSWORD") || strings.Contains(r.stderr, "s3cret") {
		t.Errorf("wrong password: exit %d, stderr %q", r.code, r.stderr)
	}
	if after := ok(t, "history", image, "approval"); after != before {
		t.Errorf("a put with a wrong password stored an entry: %q → %q", before, after)
	}
	// trust init is Notary's.
	if r = run(nil, "trust", "init", image, "--trust", "sigstore"); r.code != 2 || !strings.Contains(r.stderr, "notary") {
		t.Errorf("trust init with sigstore: exit %d, %q", r.code, r.stderr)
	}

	// As a GitHub Actions step: the key's content is a masked input, the
	// password comes from the environment.
	keyPEM, _ := os.ReadFile(key)
	pubPEM, _ := os.ReadFile(pub)
	ws := t.TempDir()
	os.WriteFile(filepath.Join(ws, "verdict.json"), []byte(`{"tests":"passed"}`), 0o644)
	outFile := filepath.Join(t.TempDir(), "output")
	gh := []string{"GITHUB_ACTIONS=true", "GITHUB_WORKSPACE=" + ws, "GITHUB_OUTPUT=" + outFile, "INPUT_IMAGE=" + image, "INPUT_TRUST=sigstore"}
	r = step(t, ws, append(gh, "COSIGN_PASSWORD=s3cret-pass", "INPUT_OPERATION=put", "INPUT_KEY=verdict", "INPUT_FILE=verdict.json",
		"INPUT_SIGSTORE_KEY="+string(keyPEM))...)
	if r.code != 0 {
		t.Fatalf("signing step: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	keyLine := strings.Split(strings.TrimSpace(string(keyPEM)), "\n")[1]
	if !strings.Contains(r.stdout, "::add-mask::"+keyLine) {
		t.Errorf("the key is not masked: %q", r.stdout)
	}
	if outs := readGitHubOutputFile(t, outFile); outs["signer"] != put.Signer || outs["digest"] == "" {
		t.Errorf("signing step outputs = %v", outs)
	}
	os.Remove(outFile)
	r = step(t, ws, append(gh, "INPUT_OPERATION=get", "INPUT_KEY=verdict", "INPUT_PUBLIC_KEY="+string(pubPEM))...)
	if r.code != 0 {
		t.Fatalf("verifying step: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if outs := readGitHubOutputFile(t, outFile); outs["verified"] != "true" || outs["signer"] != put.Signer || outs["value"] != `{"tests":"passed"}` {
		t.Errorf("verifying step outputs = %v", outs)
	}

	// delete with trust: the entries go; their signatures stay behind,
	// vouching for digests nothing lists any more.
	if r = run(pass, append([]string{"delete", image, "approval"}, signing...)...); r.code != 0 {
		t.Errorf("delete: exit %d: %s", r.code, r.stderr)
	}
	if r = run(nil, append([]string{"get", image, "approval"}, reading...)...); r.code != 3 {
		t.Errorf("verified get after delete: exit %d", r.code)
	}
}

// TestSigstoreKeylessWalkthrough signs keyless as a GitHub Actions job
// does, through the binary: the job's OIDC token, Fulcio, Rekor (fakes
// backed by sigstore-go's virtual Sigstore), then verifies with a trusted
// root file for the workflow's identity.
func TestSigstoreKeylessWalkthrough(t *testing.T) {
	reg := testregistry.Start(t)
	image := reg.Ref("team/app:1.0")
	pushImage(t, image)
	workflow := sigstoretest.WorkflowIdentity("acme/app")
	ss := sigstoretest.New(t, workflow, sigstoretest.GitHubIssuer)
	rootJSON, err := ss.TrustedRootJSON(true)
	if err != nil {
		t.Fatal(err)
	}
	trustedRoot := writeFile(t, "trusted_root.json", string(rootJSON))

	r := cli(t, nil, append(ss.GitHubEnv(), "SIGSTORE_ID_TOKEN="), "put", image, "approval", writeFile(t, "a.json", `{"approved":true}`), "--json",
		"--trust", "sigstore", "--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL)
	if r.code != 0 {
		t.Fatalf("keyless put: exit %d: %s", r.code, r.stderr)
	}
	var put struct{ Digest, Signer string }
	json.Unmarshal([]byte(r.stdout), &put)
	if put.Signer != workflow || ss.RekorEntries() != 1 {
		t.Fatalf("keyless put printed %s (%d Rekor entries)", r.stdout, ss.RekorEntries())
	}
	ok(t, "put", image, "approval", writeFile(t, "a.json", `{"approved":"forged"}`))

	reading := []string{"--trust", "sigstore", "--trusted-root", trustedRoot}
	r = cli(t, nil, nil, append([]string{"get", image, "approval", "--certificate-identity", workflow}, reading...)...)
	if r.code != 0 || r.stdout != `{"approved":true}` {
		t.Errorf("keyless verified get: exit %d, %q, %s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, nil, nil, append([]string{"get", image, "approval", "--certificate-identity-regexp", `^https://github\.com/acme/`}, reading...)...)
	if r.code != 0 || r.stdout != `{"approved":true}` {
		t.Errorf("keyless verified get by regexp: exit %d, %q, %s", r.code, r.stdout, r.stderr)
	}
	for name, args := range map[string][]string{
		"identity mismatch": {"--certificate-identity", sigstoretest.WorkflowIdentity("acme/other")},
		"issuer mismatch":   {"--certificate-identity", workflow, "--certificate-oidc-issuer", "https://accounts.google.com"},
	} {
		r = cli(t, nil, nil, append(append([]string{"get", image, "approval"}, args...), reading...)...)
		if r.code != 3 || r.stdout != "" {
			t.Errorf("%s: exit %d, stdout %q", name, r.code, r.stdout)
		}
	}
	// Outside GitHub Actions (no OIDC token) a keyless put says what is
	// missing; the entry is stored but not signed.
	noToken := []string{"ACTIONS_ID_TOKEN_REQUEST_URL=", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=", "SIGSTORE_ID_TOKEN="}
	r = cli(t, nil, noToken, "put", image, "approval", writeFile(t, "a.json", "{}"), "--trust", "sigstore", "--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL)
	if r.code == 0 || !strings.Contains(r.stderr, "NOT signed") || !strings.Contains(r.stderr, "id-token: write") {
		t.Errorf("keyless put without a token: exit %d, %q", r.code, r.stderr)
	}
}

// cosignBin finds the cosign binary (testbin.Find): $MANIFESTO_COSIGN_BIN,
// else where scripts/install-cosign.sh puts it, else "cosign" on PATH.
// Without one the test is skipped, or fails when CI=true.
func cosignBin(t *testing.T) string {
	t.Helper()
	return testbin.Find(t, "MANIFESTO_COSIGN_BIN", "cosign", "scripts/install-cosign.sh")
}

// cosignKeys runs `cosign generate-key-pair` in a new directory and
// returns a runner of cosign there (with env, bounded by two minutes) and
// the key pair's files.
func cosignKeys(t *testing.T, env []string) (runCosign func(args ...string) (string, error), key, pub string) {
	t.Helper()
	cosign := cosignBin(t)
	dir := t.TempDir()
	runCosign = func(args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, cosign, args...)
		cmd.Dir = dir
		cmd.Env = append(cleanEnv(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := runCosign("generate-key-pair"); err != nil {
		t.Fatalf("cosign generate-key-pair: %v: %s", err, out)
	}
	return runCosign, filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
}

// TestCosignInterop: cosign v3 verifies our keyed signatures, and our
// verified reads accept cosign's, on a real registry, with a key pair made
// by cosign itself.
func TestCosignInterop(t *testing.T) {
	env := []string{"COSIGN_PASSWORD=interop-pass", "HOME=" + t.TempDir()}
	runCosign, key, pub := cosignKeys(t, env)
	reg := testregistry.Start(t)
	image := reg.Ref("team/app:1.0")
	pushImage(t, image)
	repo := reg.Addr + "/team/app"

	// Ours, verified by cosign (the README's command).
	r := cli(t, nil, env, "put", image, "approval", writeFile(t, "a.json", `{"approved":true}`), "--trust", "sigstore", "--sigstore-key", key)
	if r.code != 0 {
		t.Fatalf("signed put with cosign's key: exit %d: %s", r.code, r.stderr)
	}
	signed := strings.TrimSpace(r.stdout)
	out, err := runCosign("verify", "--key", pub, "--insecure-ignore-tlog", "--allow-http-registry", "--allow-insecure-registry", repo+"@"+signed)
	if err != nil {
		t.Fatalf("cosign verify rejects our signature: %v\n%s", err, out)
	}
	if !strings.Contains(out, `"dev.manifesto.key":"approval"`) || !strings.Contains(out, `"docker-manifest-digest":"`+signed+`"`) {
		t.Errorf("cosign verify output: %s", out)
	}
	// An unsigned entry does not verify with cosign either.
	unsigned := strings.TrimSpace(ok(t, "put", image, "approval", writeFile(t, "b.json", `{"approved":"by cosign"}`)))
	if out, err := runCosign("verify", "--key", pub, "--insecure-ignore-tlog", "--allow-http-registry", "--allow-insecure-registry", repo+"@"+unsigned); err == nil {
		t.Errorf("cosign verify accepts an unsigned entry: %s", out)
	}

	// cosign's, accepted by our verified read (the README's command).
	reading := []string{"--trust", "sigstore", "--public-key", pub}
	if r = cli(t, nil, nil, append([]string{"get", image, "approval"}, reading...)...); r.code != 0 || r.stdout != `{"approved":true}` {
		t.Fatalf("before cosign signs: exit %d, %q", r.code, r.stdout)
	}
	if out, err := runCosign("sign", "--key", key, "--tlog-upload=false", "--use-signing-config=false", "--allow-http-registry", "-y", repo+"@"+unsigned); err != nil {
		t.Fatalf("cosign sign: %v\n%s", err, out)
	}
	if r = cli(t, nil, nil, append([]string{"get", image, "approval"}, reading...)...); r.code != 0 || r.stdout != `{"approved":"by cosign"}` {
		t.Errorf("after cosign signed the newer entry: exit %d, %q, %s", r.code, r.stdout, r.stderr)
	}
	if r = cli(t, nil, nil, append([]string{"history", image, "approval"}, reading...)...); r.code != 0 || r.stdout != unsigned+"\n"+signed+"\n" {
		t.Errorf("verified history: exit %d, %q", r.code, r.stdout)
	}
	// A cosign signature does not carry over to another key name: the entry
	// manifest names its key.
	if r = cli(t, nil, nil, append([]string{"get", image, "other"}, reading...)...); r.code != 3 {
		t.Errorf("another key: exit %d", r.code)
	}
}

// TestCosignAnnotationSets: `cosign sign --key -a …` on an entry, with
// each set of our binding annotations the README documents (none; key;
// key and image; key, image and created), is accepted by verified get and
// list: the entry manifest, read by the signed digest, supplies what the
// annotations leave out. A signature whose annotations contradict its
// entry is ignored, and the read says why in a warning.
func TestCosignAnnotationSets(t *testing.T) {
	env := []string{"COSIGN_PASSWORD=interop-pass", "HOME=" + t.TempDir()}
	runCosign, cosignKey, pub := cosignKeys(t, env)
	reg := testregistry.Start(t)
	image := reg.Ref("team/app:1.0")
	pushImage(t, image)
	repo := reg.Addr + "/team/app"
	reading := []string{"--trust", "sigstore", "--public-key", pub}

	type entry struct{ Key, Digest, Subject, Created string }
	// put stores value under key unsigned; sign signs it with cosign and
	// the annotations ann gives for it.
	put := func(key, value string) entry {
		t.Helper()
		var e entry
		if err := json.Unmarshal([]byte(ok(t, "put", image, key, writeFile(t, "v.json", value), "--json")), &e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	sign := func(e entry, ann []string) {
		t.Helper()
		args := []string{"sign", "--key", cosignKey, "--tlog-upload=false", "--use-signing-config=false", "--allow-http-registry", "-y"}
		for _, a := range ann {
			args = append(args, "-a", a)
		}
		if out, err := runCosign(append(args, repo+"@"+e.Digest)...); err != nil {
			t.Fatalf("cosign sign %v: %v\n%s", ann, err, out)
		}
		// cosign put the annotations in the signed statement.
		out, err := runCosign("verify", "--key", pub, "--insecure-ignore-tlog", "--allow-http-registry", "--allow-insecure-registry", repo+"@"+e.Digest)
		if err != nil {
			t.Fatalf("cosign verify: %v\n%s", err, out)
		}
		for _, a := range ann {
			k, v, _ := strings.Cut(a, "=")
			if !strings.Contains(out, fmt.Sprintf("%q:%q", k, v)) {
				t.Errorf("cosign verify does not show annotation %s: %s", a, out)
			}
		}
	}

	for _, tt := range []struct {
		key string
		ann func(e entry) []string
	}{
		{"plain", func(entry) []string { return nil }},
		{"approval", func(e entry) []string { return []string{"dev.manifesto.key=" + e.Key} }},
		{"scan", func(e entry) []string {
			return []string{"dev.manifesto.key=" + e.Key, "dev.manifesto.image=" + e.Subject}
		}},
		{"sbom", func(e entry) []string {
			return []string{"dev.manifesto.key=" + e.Key, "dev.manifesto.image=" + e.Subject, "org.opencontainers.image.created=" + e.Created}
		}},
	} {
		e := put(tt.key, `{"signed":"`+tt.key+`"}`)
		sign(e, tt.ann(e))
		r := cli(t, nil, nil, append([]string{"get", image, tt.key, "--json", "-o", filepath.Join(t.TempDir(), "v.json")}, reading...)...)
		var got struct {
			entry
			Verified bool
		}
		json.Unmarshal([]byte(r.stdout), &got)
		if r.code != 0 || got.Digest != e.Digest || !got.Verified || got.Created != e.Created || r.stderr != "" {
			t.Errorf("%s, signed with %v: verified get: exit %d, %s, stderr %q", tt.key, tt.ann(e), r.code, r.stdout, r.stderr)
		}
	}

	// Contradictions: a "deploy" entry signed as key approval; a newer
	// approval entry signed with another created time.
	deploy := put("deploy", `{"signed":"as approval"}`)
	sign(deploy, []string{"dev.manifesto.key=approval", "dev.manifesto.image=" + deploy.Subject})
	newer := put("approval", `{"signed":"with a wrong time"}`)
	sign(newer, []string{"dev.manifesto.key=approval", "dev.manifesto.image=" + newer.Subject, "org.opencontainers.image.created=2020-01-02T03:04:05Z"})

	wrongKey := fmt.Sprintf(`manifesto: warning: signature on %s names key "approval", entry is key "deploy": ignored`, deploy.Digest)
	r := cli(t, nil, nil, append([]string{"list", image}, reading...)...)
	if r.code != 0 || r.stdout != "approval\nplain\nsbom\nscan\n" || !strings.Contains(r.stderr, wrongKey) {
		t.Errorf("verified list: exit %d, %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = cli(t, nil, nil, append([]string{"get", image, "deploy"}, reading...)...)
	if r.code != 3 || r.stdout != "" || !strings.Contains(r.stderr, fmt.Sprintf(`signature on %s names key "approval", the read is for key "deploy": ignored`, deploy.Digest)) {
		t.Errorf("verified get of the entry signed as another key: exit %d, %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = cli(t, nil, nil, append([]string{"get", image, "approval"}, reading...)...)
	wrongTime := fmt.Sprintf("manifesto: warning: signature on %s says the entry was created 2020-01-02T03:04:05Z, entry was created %s: ignored", newer.Digest, newer.Created)
	if r.code != 0 || r.stdout != `{"signed":"approval"}` || !strings.Contains(r.stderr, wrongTime) {
		t.Errorf("verified get past a newer entry signed with another time: exit %d, %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
