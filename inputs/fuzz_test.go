package inputs

// Native fuzz targets for the two input sources: the command line with its
// environment (FromArgs) and the CI step's environment with its steps file
// (FromStep). Seed corpora live under testdata/fuzz/<FuzzName>/ and run as
// ordinary tests; scripts/fuzz.sh runs each target for a while.

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/store"
)

// fuzzSecretMark in a fuzzed argument or variable stands for the fuzzed
// secret, so that the fuzzer can paste a secret anywhere without having to
// guess it twice.
const fuzzSecretMark = "{secret}"

// splitFuzzList splits a NUL-separated list; "" is the empty list.
func splitFuzzList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\x00")
}

// fuzzEnv reads a NUL-separated list of NAME=VALUE (a later NAME wins) and
// puts the secret in place of every fuzzSecretMark in the values.
func fuzzEnv(list, secret string) map[string]string {
	m := map[string]string{}
	for _, kv := range splitFuzzList(list) {
		k, v, _ := strings.Cut(kv, "=")
		if k != "" {
			m[k] = strings.ReplaceAll(v, fuzzSecretMark, secret)
		}
	}
	return m
}

// touchesDevices reports whether s may name a file under /dev, /proc or /sys.
func touchesDevices(s string) bool {
	return strings.Contains(s, "/dev/") || strings.Contains(s, "/proc/") || strings.Contains(s, "/sys/") ||
		strings.HasSuffix(s, "/dev") || strings.HasSuffix(s, "/proc") || strings.HasSuffix(s, "/sys")
}

// checkOneLineUsage fails unless err is an ErrUsage-class error on one line.
func checkOneLineUsage(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, errdef.ErrUsage) {
		t.Fatalf("error %q is not ErrUsage-class", err)
	}
	if code := errdef.ExitCode(err); code != errdef.ExitUsage {
		t.Fatalf("error %q has exit code %d", err, code)
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("error is not one line: %q", msg)
	}
}

// fuzzLongSecret is the length from which a secret must not appear
// anywhere in a message; a shorter one only as a word of its own (a password
// "pass" may stay inside "--password"). The oracle's own number, the
// promise redaction makes.
const fuzzLongSecret = 8

// fuzzWordByte is the oracle's notion of a byte inside a word: an ASCII
// letter or digit, '_', or any byte of a multi-byte character.
func fuzzWordByte(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return false
	}
	c := s[i]
	return c == '_' || c >= utf8.RuneSelf || unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))
}

// fuzzFolded is s as any one-line message shows it: each run of control
// characters and Unicode line or paragraph separators one space, trimmed,
// every invalid byte U+FFFD (a naive reference: rune by rune through a
// regular expression).
var fuzzBreaks = regexp.MustCompile("[\\p{Cc}\u2028\u2029]+")

func fuzzFolded(s string) string {
	return strings.TrimSpace(fuzzBreaks.ReplaceAllString(string([]rune(s)), " "))
}

// checkNoSecret fails when msg shows secret: anywhere for secrets of at
// least fuzzLongSecret bytes, as a word of its own (not inside a longer
// word) for shorter ones, which are too common to be hidden inside words
// ("pass" in "--password"). The secret counts as shown as given, trimmed,
// folded onto one line and, for long secrets, also escaped the way %q
// writes it (a readable secret all the same).
func checkNoSecret(t *testing.T, msg, secret, what string) {
	t.Helper()
	if strings.TrimSpace(secret) == "" {
		return
	}
	// The redaction marker itself is not a leak, whatever the secret.
	masked := strings.ReplaceAll(msg, "[redacted]", "\x00")
	var forms []string
	for _, s := range []string{secret, strings.TrimSpace(secret), fuzzFolded(secret)} {
		forms = append(forms, s)
		if len(s) >= fuzzLongSecret {
			q := strconv.Quote(s)
			forms = append(forms, q[1:len(q)-1])
		}
	}
	for _, s := range forms {
		if strings.TrimSpace(s) == "" || strings.Contains(s, "\x00") || strings.Contains("[redacted]", s) {
			continue
		}
		for i := 0; ; i++ {
			j := strings.Index(masked[i:], s)
			if j < 0 {
				break
			}
			i += j
			if len(s) >= fuzzLongSecret || (!fuzzWordByte(masked, i-1) && !fuzzWordByte(masked, i+len(s))) {
				t.Fatalf("error shows %s %q (as %q): %q", what, secret, s, msg)
			}
		}
	}
}

// FuzzFromArgs: FromArgs never panics, whatever the arguments, variables and
// standard input; every error is one line of class ErrUsage and never shows
// a password given through MANIFESTO_PASSWORD or REGISTRY_PASSWORD (also
// when the same text was pasted as an argument: {secret} in args stands for
// it); a Command it returns is valid.
//
// args and env are NUL-separated lists (env of NAME=VALUE); secretVars bit 0
// puts secret in MANIFESTO_PASSWORD, bit 1 in REGISTRY_PASSWORD.
func FuzzFromArgs(f *testing.F) {
	dir := f.TempDir()
	value := filepath.Join(dir, "sbom.json")
	if err := os.WriteFile(value, []byte(`{"ok":true}`), 0o644); err != nil {
		f.Fatal(err)
	}
	const pw = "Hunter2-s3cret"
	j := func(s ...string) string { return strings.Join(s, "\x00") }
	seeds := []struct {
		args, env, secret string
		vars              uint8
		stdin             string
	}{
		{j("put", img, "sbom", value), "", "", 0, ""},
		{j("put", "--media-type", "application/spdx+json", img, "sbom", "-"), "", "", 0, "value"},
		{j("get", img, "sbom", "-o", filepath.Join(dir, "out.json"), "--json"), "", "", 0, ""},
		{j("get", "--digest", digest, "oci:"+dir+":v1", "sbom"), "", "", 0, ""},
		{j("list", "--platform", "linux/arm64/v8", "alpine"), "MANIFESTO_JSON=true", "", 0, ""},
		{j("history", "localhost:5000/app", "scan.trivy"), "MANIFESTO_PLAIN_HTTP=1\x00MANIFESTO_INSECURE=yes", "", 0, ""},
		{j("delete", "--digest="+digest, img, "k"), "", "", 0, ""},
		{j("repair", img), "MANIFESTO_USERNAME=ci", pw, 1, ""},
		{j("list", "--username", "u", "--password-stdin", img), "", "", 0, pw + "\n"},
		{j("list", "--password-stdin", img), "REGISTRY_USERNAME=u", pw, 1, pw},
		{j("list", img), "", pw, 2, ""},
		{j("list", fuzzSecretMark+"!"), "", pw, 1, ""},
		{j("--username", "u", "--password", fuzzSecretMark, "list", img, fuzzSecretMark), "", pw, 3, ""},
		{j("list", "--password="+fuzzSecretMark, "--nope", img), "", "pw", 1, ""},
		{j("list", "--username", "u", "--password", "x", "--password-stdin", img), "", "pass", 1, "x"},
		{j(fuzzSecretMark, fuzzSecretMark), "", "p\"w\\d\n2", 1, ""},
		{j("get", img, "Bad!Key\n"+fuzzSecretMark), "MANIFESTO_OUTPUT=" + dir, pw + "\r\n", 3, ""},
		{j("put", img, "k", dir), "MANIFESTO_MEDIA_TYPE=text/plain; charset=utf-8", "", 0, ""},
		{j("put", img, "k", "-", "--password-stdin"), "MANIFESTO_USERNAME=u", "", 0, "p"},
		{j("get", img, "k", "--platform", ""), "MANIFESTO_PLATFORM=Linux/AMD64", "", 0, ""},
		{j("version", "--json"), "MANIFESTO_PLATFORM=x", "", 0, ""},
		{j("trust", "init", "--trust", "notary", "--notary-server", "https://notary.example.com", img), "MANIFESTO_TRUST_DIR=" + dir, "", 0, ""},
		{j("get", img, "k"), "MANIFESTO_TRUST=notary\x00MANIFESTO_NOTARY_SERVER=http://u:" + fuzzSecretMark + "@n", pw, 1, ""},
		{j("list", img), "MANIFESTO_VERIFY=maybe\x00MANIFESTO_NOTARY_ROOT_KEY_ID=ABC", "", 0, ""},
		{j("help", "put"), "", "", 0, ""},
		{j("--help"), "", "", 0, ""},
		{j("stepz"), "", "", 0, ""},
		{"", "", "", 0, ""},
		{j("list", "--json=maybe", img), "MANIFESTO_JSON=" + fuzzSecretMark, "s3cr3t-value", 1, ""},
	}
	for _, s := range seeds {
		f.Add(s.args, s.env, s.secret, s.vars, s.stdin)
	}
	f.Fuzz(func(t *testing.T, argList, envList, secret string, secretVars uint8, stdin string) {
		args := splitFuzzList(argList)
		for i := range args {
			args[i] = strings.ReplaceAll(args[i], fuzzSecretMark, secret)
		}
		env := fuzzEnv(envList, secret)
		if secret != "" {
			if secretVars&1 != 0 {
				env["MANIFESTO_PASSWORD"] = secret
			}
			if secretVars&2 != 0 {
				env["REGISTRY_PASSWORD"] = secret
			}
		}
		// Keep the harness away from devices and kernel files: a notary
		// key file /dev/zero is read forever, a hang of the harness rather
		// than a finding about the input rules.
		for k, v := range env {
			if touchesDevices(v) {
				delete(env, k)
			}
		}
		for _, a := range args {
			if touchesDevices(a) {
				return
			}
		}
		var out bytes.Buffer
		cmd, err := FromArgs(args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out)
		if err != nil {
			checkOneLineUsage(t, err)
			for _, v := range []string{"MANIFESTO_PASSWORD", "REGISTRY_PASSWORD"} {
				if p := env[v]; p != "" {
					checkNoSecret(t, err.Error(), p, "the password of "+v)
				}
			}
			if cmd.Name != "" {
				t.Fatalf("error %v together with command %q", err, cmd.Name)
			}
			return
		}
		checkCommand(t, cmd)
	})
}

// checkCommand checks a Command FromArgs returned.
func checkCommand(t *testing.T, cmd Command) {
	t.Helper()
	r := cmd.Request
	switch cmd.Name {
	case "", cmdDemo, cmdStep, cmdVersion:
		if r.Operation != "" {
			t.Fatalf("command %q carries a request %+v", cmd.Name, r)
		}
		return
	case steps.OpPut, steps.OpGet, steps.OpHistory, steps.OpDelete:
		if err := store.CheckKey(r.Key); err != nil {
			t.Fatalf("%s with an invalid key: %v", cmd.Name, err)
		}
	case steps.OpList, steps.OpRepair, steps.OpTrustInit:
		if r.Key != "" {
			t.Fatalf("%s with a key %q", cmd.Name, r.Key)
		}
	default:
		t.Fatalf("unknown command %q", cmd.Name)
	}
	if r.Operation != cmd.Name {
		t.Fatalf("command %q has operation %q", cmd.Name, r.Operation)
	}
	if _, err := store.ParseImage(r.Image, r.Registry.PlainHTTP); err != nil {
		t.Fatalf("%s accepted image %q: %v", cmd.Name, r.Image, err)
	}
	if r.Digest != "" {
		if _, err := v1.NewHash(r.Digest); err != nil {
			t.Fatalf("%s accepted digest %q: %v", cmd.Name, r.Digest, err)
		}
	}
	if r.Platform != "" && !fuzzPlatform(r.Platform) {
		t.Fatalf("%s accepted platform %q", cmd.Name, r.Platform)
	}
	if r.MediaType != "" && !fuzzMediaType(r.MediaType) {
		t.Fatalf("%s accepted media type %q", cmd.Name, r.MediaType)
	}
	if (r.Registry.Username == "") != (r.Registry.Password == "") {
		t.Fatalf("%s with half the credentials: user %q, password set %v", cmd.Name, r.Registry.Username, r.Registry.Password != "")
	}
	if cmd.Name == steps.OpPut && r.File == "" {
		t.Fatal("put without FILE")
	}
	if cmd.Name != steps.OpPut && cmd.Name != steps.OpGet && r.File != "" {
		t.Fatalf("%s with a file %q", cmd.Name, r.File)
	}
}

// fuzzPlatform is a naive reading of os/arch[/variant]: two or three
// parts, each starting with a lower-case letter or digit and made of those,
// '.', '_' and '-'.
func fuzzPlatform(p string) bool {
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return false
	}
	for _, part := range parts {
		if part == "" || strings.ContainsRune("._-", rune(part[0])) {
			return false
		}
		for _, c := range part {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

// fuzzMediaType is a naive reading of RFC 6838 type/subtype: two names of
// 1 to 127 characters, each starting with a letter or digit, made of those
// and !#$&^_.+-; no parameters, no white space.
func fuzzMediaType(mt string) bool {
	typ, sub, ok := strings.Cut(mt, "/")
	if !ok {
		return false
	}
	for _, name := range []string{typ, sub} {
		if len(name) == 0 || len(name) > 127 {
			return false
		}
		for i, c := range name {
			alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
			if !alnum && (i == 0 || !strings.ContainsRune("!#$&^_.+-", c)) {
				return false
			}
		}
	}
	return true
}

// stepSecretVars are the variables FromStep reads secrets from on each
// system (README "CI systems"): the step's own variables of the password,
// github_token, notary_key and sigstore_key inputs, their MANIFESTO_ ones,
// GitLab's job token, the Notary key passphrases, cosign's password and
// the OIDC token sources.
func stepSecretVars(sys System) []string {
	vars := []string{"CI_REGISTRY_PASSWORD", "NOTARY_ROOT_PASSPHRASE", "NOTARY_TARGETS_PASSPHRASE",
		"NOTARY_SNAPSHOT_PASSPHRASE", "NOTARY_DELEGATION_PASSPHRASE", "COSIGN_PASSWORD", "SIGSTORE_ID_TOKEN",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN"}
	for _, in := range []string{"PASSWORD", "GITHUB_TOKEN", "NOTARY_KEY", "SIGSTORE_KEY"} {
		vars = append(vars, "MANIFESTO_"+in)
		switch sys {
		case SystemGitHub:
			vars = append(vars, "INPUT_"+in)
		case SystemDrone, SystemWoodpecker:
			vars = append(vars, "PLUGIN_"+in, "PLUGIN_"+strings.ReplaceAll(in, "_", "-"))
		}
	}
	return vars
}

// fuzzWithin reports whether p is root or inside it (both absolute and
// clean): a naive prefix test.
func fuzzWithin(root, p string) bool {
	return p == root || strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/")
}

// realNearest resolves the symbolic links of p's nearest existing ancestor
// (p itself when it exists) and appends the rest.
func realNearest(p string) (string, error) {
	rest := ""
	for {
		if _, err := os.Lstat(p); err == nil {
			real, err := filepath.EvalSymlinks(p)
			if err != nil {
				return "", err
			}
			return filepath.Join(real, rest), nil
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", errors.New("nothing on the path exists")
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// FuzzFromStep: FromStep never panics, whatever the INPUT_*, PLUGIN_* and
// MANIFESTO_* variables and whatever the steps file says; every error is one
// line of class ErrUsage and shows none of the secrets it reports in
// Step.Secrets or reads from the system's secret variables; on success every
// get writes inside the workspace (also after following the symbolic links
// that exist) and every put reads a regular file inside it.
//
// env is a NUL-separated list of NAME=VALUE ({secret} in a value stands for
// secret); system picks the CI system's marker variables (0 none, 1 GitHub,
// 2 GitLab, 3 Drone, 4 Woodpecker); stepsFile is written to steps.yml in the
// workspace, which MANIFESTO_STEPS_FILE names unless env sets it.
//
// The workspace holds reports/unit.json, a .manifesto directory, and
// symbolic links out of it (escape -> ../outside, secret.txt ->
// ../outside/secret.txt, dangling -> ../outside/missing), one inside it
// (inner -> reports) and one to itself (loop).
func FuzzFromStep(f *testing.F) {
	root := f.TempDir()
	ws := filepath.Join(root, "ws")
	outside := filepath.Join(root, "outside")
	for _, d := range []string{filepath.Join(ws, "reports"), filepath.Join(ws, ValueDir), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			f.Fatal(err)
		}
	}
	for p, content := range map[string]string{
		filepath.Join(ws, "reports", "unit.json"): `{"tests":1}`,
		filepath.Join(outside, "secret.txt"):      "runner secret",
	} {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	for name, target := range map[string]string{
		"escape": "../outside", "secret.txt": "../outside/secret.txt", "dangling": "../outside/missing",
		"inner": "reports", "loop": "loop",
	} {
		if err := os.Symlink(target, filepath.Join(ws, name)); err != nil {
			f.Fatal(err)
		}
	}
	stepsPath := filepath.Join(ws, "steps.yml")

	j := func(s ...string) string { return strings.Join(s, "\x00") }
	const tok = "ghs_TOKENtokenTOKENtoken1234"
	seeds := []struct {
		env    string
		system uint8
		steps  string
		secret string
	}{
		{j("INPUT_OPERATION=get", "INPUT_IMAGE="+stepImg, "INPUT_KEY=seccomp"), 1, "", ""},
		{j("INPUT_OPERATION=put", "INPUT_IMAGE="+stepImg, "INPUT_KEY=test-results", "INPUT_FILE=reports/unit.json", "INPUT_USERNAME=u", "INPUT_PASSWORD={secret}"), 1, "", "s3cr3t-Passw0rd-value"},
		{j("INPUT_OPERATION=get", "INPUT_IMAGE=ghcr.io/org/app:1", "INPUT_KEY=k", "INPUT_GITHUB_TOKEN={secret}", "GITHUB_ACTOR=octo", "INPUT_FILE=../escape/x"), 1, "", tok},
		{j("MANIFESTO_OPERATION=get", "MANIFESTO_IMAGE=registry.gitlab.com/g/p:1", "MANIFESTO_KEY=k", "CI_REGISTRY=registry.gitlab.com", "CI_REGISTRY_USER=gitlab-ci-token", "CI_REGISTRY_PASSWORD={secret}", "MANIFESTO_FILE=escape/x"), 2, "", "glcbt-CI-job-token-9876"},
		{j("PLUGIN_OPERATION=put", "PLUGIN_IMAGE="+stepImg, "PLUGIN_KEY=k", "PLUGIN_FILE=secret.txt", "PLUGIN_MEDIA-TYPE=text/plain"), 3, "", ""},
		{j("PLUGIN_OPERATION=get", "PLUGIN_IMAGE="+stepImg, "PLUGIN_KEY=k", "PLUGIN_FILE=dangling", "CI_WORKSPACE="+ws), 4, "", ""},
		{j("MANIFESTO_OPERATION=get", "MANIFESTO_IMAGE="+stepImg, "MANIFESTO_KEY=k", "MANIFESTO_FILE=inner/../../outside/x"), 0, "", ""},
		{j("MANIFESTO_OPERATION=get", "MANIFESTO_IMAGE="+stepImg, "MANIFESTO_KEY=k", "MANIFESTO_FILE=loop/x"), 0, "", ""},
		{j("MANIFESTO_OPERATION=get", "MANIFESTO_IMAGE="+stepImg, "MANIFESTO_KEY=k", "MANIFESTO_FILE="+outside+"/x"), 0, "", ""},
		{j("MANIFESTO_OPERATION=get", "MANIFESTO_IMAGE="+stepImg, "MANIFESTO_KEY=k", "MANIFESTO_OUTPUTS_FILE=.manifesto/k"), 0, "", ""},
		{j("GITHUB_WORKSPACE=escape", "INPUT_OPERATION=get", "INPUT_IMAGE="+stepImg, "INPUT_KEY=k"), 1, "", ""},
		{j("MANIFESTO_OPERATION=list", "MANIFESTO_IMAGE=oci:./layout:v1", "MANIFESTO_OUTPUTS_FORMAT=tekton", "MANIFESTO_RESULTS_DIR=reports"), 0, "", ""},
		{j("MANIFESTO_USERNAME=u", "MANIFESTO_PASSWORD={secret}", "MANIFESTO_IMAGE={secret}"), 0, "", "s3cr3t-Passw0rd-value"},
		{j("MANIFESTO_PASSWORD={secret}", "MANIFESTO_OPERATION={secret}"), 0, "", "pw"},
		{j("INPUT_PASSWORD= {secret}\n", "MANIFESTO_PASSWORD=other", "INPUT_USERNAME=u", "INPUT_PLAIN_HTTP={secret}"), 1, "", "one-line-secret"},
		{j("MANIFESTO_TRUST=notary", "MANIFESTO_NOTARY_SERVER=https://notary.example.com", "MANIFESTO_NOTARY_KEY={secret}", "MANIFESTO_OPERATION=put", "MANIFESTO_IMAGE="+stepImg, "MANIFESTO_KEY=k", "MANIFESTO_FILE=reports/unit.json"), 0, "", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n"},
		{j("INPUT_STEPS_FILE=steps.yml", "INPUT_IMAGE="+stepImg), 1, "steps:\n  - operation: get\n    key: k\n    file: ../outside/x\n", ""},
		{"", 0, "image: " + stepImg + "\nsteps:\n  - {id: a, operation: get, key: k, file: escape/x}\n", ""},
		{"", 0, "image: " + stepImg + "\nsteps:\n  - {id: a, operation: get, key: k, file: inner/k}\n  - {id: b, operation: get, key: k2, file: reports/k}\n", ""},
		{"", 0, "image: " + stepImg + "\nsteps:\n  - {id: a, operation: get, key: k}\n  - {id: b, operation: get, key: k}\n", ""},
		{"", 0, "image: " + stepImg + "\nsteps:\n  - {id: a, operation: put, key: k, file: /etc/passwd}\n", ""},
		{"", 0, "image: &i " + stepImg + "\nsteps: &s\n  - &e {id: a, operation: get, key: k, image: *i}\n  - *e\n", ""},
		{"", 0, "a: &a [*a, *a]\n", ""},
		{"", 0, "steps:\n  - operation: [get]\n    key: {k: v}\n    fail_on_missing: maybe\n", ""},
		{"", 0, "image: x\n---\nsteps: []\n", ""},
		{"", 0, "\t- bad\n", ""},
		{j("MANIFESTO_STEPS_FILE=" + outside + "/secret.txt"), 0, "", ""},
		{j("MANIFESTO_STEPS_FILE=escape"), 0, "", ""},
		{j("MANIFESTO_OPERATION=get", "MANIFESTO_IMAGE=gitlab.example.com:5050/g/p:1", "MANIFESTO_KEY=seccomp", "MANIFESTO_FAIL_ON_MISSING=false",
			"CI_PROJECT_DIR="+ws, "CI_REGISTRY=gitlab.example.com:5050", "CI_REGISTRY_USER=gitlab-ci-token", "CI_REGISTRY_PASSWORD={secret}"), 2, "", "glcbt-CI-job-token-9876"},
		{j("INPUT_OPERATION=get", "INPUT_IMAGE=ghcr.io/org/app:1", "INPUT_KEY=k", "INPUT_FILE=inner/k", "INPUT_GITHUB_TOKEN={secret}", "GITHUB_ACTOR=octo",
			"INPUT_TRUST=notary", "INPUT_NOTARY_SERVER=https://notary.example.com/", "INPUT_NOTARY_ROLE=targets/ci", "INPUT_NOTARY_TOFU=yes", "INPUT_VERIFY=false", "HOME="+root), 1, "", tok},
		{j("MANIFESTO_TRUST=notary", "MANIFESTO_NOTARY_SERVER=http://127.0.0.1:4443", "MANIFESTO_NOTARY_ROOT_KEY_ID="+strings.Repeat("ab", 32), "MANIFESTO_TRUST_DIR=~/.notary",
			"MANIFESTO_NOTARY_KEY=reports/unit.json", "HOME="+root, "MANIFESTO_OPERATION=list", "MANIFESTO_IMAGE="+stepImg), 0, "", ""},
		{j("MANIFESTO_NOTARY_TOFU=false", "MANIFESTO_VERIFY=no", "MANIFESTO_TRUST=none", "MANIFESTO_OPERATION=history", "MANIFESTO_IMAGE=oci:layout@"+stepDigest, "MANIFESTO_KEY=k"), 0, "", ""},
		{j("PLUGIN_OPERATION=delete", "PLUGIN_IMAGE="+stepImg, "PLUGIN_KEY=k", "PLUGIN_DIGEST="+stepDigest, "PLUGIN_PLATFORM=linux/arm64/v8", "MANIFESTO_PLATFORM=linux/amd64",
			"PLUGIN_OUTPUTS_FORMAT=jsonl", "PLUGIN_OUTPUTS-FILE=out/x.jsonl"), 3, "", ""},
	}
	for _, s := range seeds {
		f.Add(s.env, s.system, s.steps, s.secret)
	}
	// Every steps file of the unit tests, on a generic system and on GitHub.
	files, err := filepath.Glob(filepath.Join("testdata", "steps", "*.yml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("", uint8(0), string(b), "")
		f.Add(j("INPUT_STEPS_FILE=steps.yml", "INPUT_FAIL_ON_MISSING=false", "INPUT_PLATFORM=linux/arm64"), uint8(1), string(b), "")
	}
	markers := []map[string]string{{}, ghEnv, glEnv, drEnv, wpEnv}

	f.Fuzz(func(t *testing.T, envList string, system uint8, stepsFile, secret string) {
		env := map[string]string{}
		for k, v := range markers[int(system)%len(markers)] {
			env[k] = v
		}
		if stepsFile != "" {
			env["MANIFESTO_STEPS_FILE"] = "steps.yml"
		}
		for k, v := range fuzzEnv(envList, secret) {
			env[k] = v
		}
		for k, v := range env {
			if touchesDevices(v) { // as in FuzzFromArgs
				delete(env, k)
			}
		}
		if err := os.WriteFile(stepsPath, []byte(stepsFile), 0o644); err != nil {
			t.Fatal(err)
		}
		getenv := func(k string) string { return env[k] }
		st, err := FromStep(getenv, func() (string, error) { return ws, nil })

		if err != nil {
			checkOneLineUsage(t, err)
			secrets := st.Secrets.Masks()
			for _, v := range stepSecretVars(DetectSystem(getenv)) {
				secrets = append(secrets, env[v])
			}
			for _, s := range secrets {
				if s != "" {
					checkNoSecret(t, err.Error(), s, "the secret")
				}
			}
			if st.Workspace != "" || st.Ops != nil {
				t.Fatalf("error %v with a non-zero step %+v", err, st)
			}
			return
		}

		if !filepath.IsAbs(st.Workspace) || filepath.Clean(st.Workspace) != st.Workspace {
			t.Fatalf("workspace %q is not absolute and clean", st.Workspace)
		}
		realWS, err := filepath.EvalSymlinks(st.Workspace)
		if err != nil {
			t.Fatalf("workspace %q: %v", st.Workspace, err)
		}
		if len(st.Ops) == 0 {
			t.Fatal("a step without operations")
		}
		for _, op := range st.Ops {
			r := op.Request
			if _, err := store.ParseImage(r.Image, r.Registry.PlainHTTP); err != nil {
				t.Fatalf("accepted image %q: %v", r.Image, err)
			}
			if r.Operation != steps.OpList {
				if err := store.CheckKey(r.Key); err != nil {
					t.Fatalf("accepted key %q: %v", r.Key, err)
				}
			}
			switch r.Operation {
			case steps.OpGet:
				if !filepath.IsAbs(r.File) || filepath.Clean(r.File) != r.File || !fuzzWithin(st.Workspace, r.File) {
					t.Fatalf("get writes %q, not inside the workspace %q", r.File, st.Workspace)
				}
				real, err := realNearest(r.File)
				if err != nil {
					t.Fatalf("get writes %q: %v", r.File, err)
				}
				if !fuzzWithin(realWS, real) {
					t.Fatalf("get writes %q, which leads to %q outside the workspace %q", r.File, real, realWS)
				}
			case steps.OpPut:
				if !filepath.IsAbs(r.File) || !fuzzWithin(st.Workspace, filepath.Clean(r.File)) {
					t.Fatalf("put reads %q, not inside the workspace %q", r.File, st.Workspace)
				}
				real, err := filepath.EvalSymlinks(r.File)
				if err != nil {
					t.Fatalf("put reads %q: %v", r.File, err)
				}
				if !fuzzWithin(realWS, real) {
					t.Fatalf("put reads %q, which leads to %q outside the workspace %q", r.File, real, realWS)
				}
				if fi, err := os.Stat(real); err != nil || !fi.Mode().IsRegular() {
					t.Fatalf("put reads %q, not a regular file (%v)", r.File, err)
				}
			default:
				if r.File != "" {
					t.Fatalf("%s with a file %q", r.Operation, r.File)
				}
			}
		}
	})
}
