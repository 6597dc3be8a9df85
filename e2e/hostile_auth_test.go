package e2e

import (
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/manifesto-dev/manifesto/internal/faultproxy"
	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

// The credentials every hostile-registry run sends.
const (
	hostileUser = "alice"
	hostilePass = "S3cr3t-P4ss"
)

// hostileBasic is the base64 "user:pass" of the Authorization header.
var hostileBasic = base64.StdEncoding.EncodeToString([]byte(hostileUser + ":" + hostilePass))

// hostileTarget is a real registry behind faultproxy rules that echo the
// client's credentials in error bodies.
type hostileTarget struct {
	image string            // an image that exists, through the proxy
	proxy *faultproxy.Proxy // in front of the registry
	token *faultproxy.Proxy // in front of the token server (token auth); nil with htpasswd
}

// bearerTokens are the bearer tokens the client sent the registry so far:
// the tokens the token server issued to it.
func (h hostileTarget) bearerTokens() []string {
	var out []string
	for _, r := range h.proxy.Records() {
		if tok, ok := strings.CutPrefix(r.Authorization, "Bearer "); ok && tok != "" {
			out = append(out, tok)
		}
	}
	return out
}

// faults is how many answers the proxies rewrote so far.
func (h hostileTarget) faults() int {
	n := h.proxy.Faults()
	if h.token != nil {
		n += h.token.Faults()
	}
	return n
}

// hostileHtpasswd starts Distribution with htpasswd auth where alice's
// password is password, with an image pushed directly, behind a proxy that
// echoes the Authorization header in every 401 and applies rules besides.
func hostileHtpasswd(t *testing.T, password string, rules ...faultproxy.Rule) hostileTarget {
	t.Helper()
	reg := testregistry.Start(t, testregistry.WithHtpasswd(map[string]string{hostileUser: password}))
	pushImageWith(t, reg.Ref("team/app:1.0"), remote.WithAuth(&authn.Basic{Username: hostileUser, Password: password}))
	p := faultproxy.Start(t, reg.URL, append([]faultproxy.Rule{faultproxy.EchoAuthResponses(0).OnStatus(http.StatusUnauthorized)}, rules...)...)
	return hostileTarget{image: p.Ref("team/app:1.0"), proxy: p}
}

// realmPattern finds the realm of a WWW-Authenticate challenge.
var realmPattern = regexp.MustCompile(`realm="([^"]+)"`)

// hostileToken starts Distribution with token auth for users, with an image
// pushed directly by the writer "ci", behind a proxy that echoes the
// Authorization header (the bearer token) in every 401 and applies rules
// besides. The token server is behind a proxy of its own that echoes the
// Basic credentials in every 401; the registry's challenges are rewritten
// to send the client there (a realm on "localhost", which
// go-containerregistry accepts).
func hostileToken(t *testing.T, users map[string]testregistry.User, rules ...faultproxy.Rule) hostileTarget {
	t.Helper()
	users["ci"] = testregistry.User{Password: "ci-writer-pw-0123", Actions: []string{"pull", "push", "delete"}}
	reg := testregistry.Start(t, testregistry.WithTokenAuth(users))
	pushImageWith(t, reg.Ref("team/app:1.0"), remote.WithAuth(&authn.Basic{Username: "ci", Password: "ci-writer-pw-0123"}))

	resp, err := http.Get(reg.URL + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	m := realmPattern.FindStringSubmatch(resp.Header.Get("WWW-Authenticate"))
	if m == nil {
		t.Fatalf("no realm in %q", resp.Header.Get("WWW-Authenticate"))
	}
	realm, err := url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	tp := faultproxy.Start(t, realm.Scheme+"://"+realm.Host, faultproxy.EchoAuthResponses(0).OnStatus(http.StatusUnauthorized))
	_, port, _ := net.SplitHostPort(tp.Addr())
	proxied := "http://localhost:" + port + realm.Path

	challenge := faultproxy.RewriteResponses(func(req *http.Request, resp *http.Response) {
		if h := resp.Header.Get("WWW-Authenticate"); h != "" {
			resp.Header.Set("WWW-Authenticate", strings.Replace(h, m[1], proxied, 1))
		}
		faultproxy.WriteEchoAuth(req, resp)
	}).OnStatus(http.StatusUnauthorized)
	p := faultproxy.Start(t, reg.URL, append([]faultproxy.Rule{challenge}, rules...)...)
	return hostileTarget{image: p.Ref("team/app:1.0"), proxy: p, token: tp}
}

// manifestPut400 turns the answer to every manifest PUT into a 400 echoing
// the request's credentials (the upstream has stored the manifest).
func manifestPut400() faultproxy.Rule {
	return faultproxy.EchoAuthResponses(http.StatusBadRequest).Only(http.MethodPut, faultproxy.KindManifests)
}

// tokenWindow is the length of the pieces of a bearer token looked for.
const tokenWindow = 16

// hostileLeaks lists the forms of a secret found in out: the password (as
// is, Markdown-escaped, in pieces, base64), the Basic form (whole and its
// start), and every bearer token: whole, and any tokenWindow characters of
// it, its public JOSE header included (the store redacts an error answer
// where it enters, before its text is cut, so no piece of a token may
// show).
func hostileLeaks(out string, tokens []string) []string {
	forms := []string{
		hostilePass, `S3cr3t\-P4ss`, "S3cr3t", "P4ss",
		base64.StdEncoding.EncodeToString([]byte(hostilePass)),
		hostileBasic, hostileBasic[:16],
	}
	for _, tok := range tokens {
		forms = append(forms, tok)
		for i := 0; i+tokenWindow <= len(tok); i++ {
			forms = append(forms, tok[i:i+tokenWindow])
		}
	}
	var found []string
	for _, f := range forms {
		if f != "" && strings.Contains(out, f) {
			found = append(found, f)
		}
	}
	return found
}

// TestHostileAuthSecrets: issue 10 item 2 against the real registry. A
// real CNCF Distribution (htpasswd and token auth) behind a proxy that
// echoes the credentials the client sent in its error bodies (a wrong
// password's 401, a refused write's 401, a 400 to a manifest PUT): in every
// way the credentials are given and in the GitLab and GitHub step modes,
// no form of the password, of the Basic credentials or of a bearer token
// issued during the run reaches stdout, stderr, the step summary, the
// outputs file or the dotenv file; the error keeps its exit code and the
// registry's code.
//
// The token server's JWTs are about a thousand characters, longer than the
// 512 characters of registry text an error keeps: the store redacts an
// error answer as it arrives, before that cut, so not even the token's
// public header shows.
func TestHostileAuthSecrets(t *testing.T) {
	scenarios := []struct {
		name    string
		start   func(t *testing.T) hostileTarget
		code    int    // the exit code
		regCode string // the registry's error code, shown
		bearer  bool   // bearer tokens are issued
		echoed  bool   // the echo reaches the client (not a HEAD's 401)
	}{
		{
			// The first request the wrong password fails is the GET that
			// resolves the image (one request since issue 14, not HEAD
			// then GET): its 401 body carries the echo.
			name: "htpasswd wrong password 401",
			start: func(t *testing.T) hostileTarget {
				return hostileHtpasswd(t, "An0ther-Real-Pw")
			},
			code: 4, regCode: "UNAUTHORIZED", echoed: true,
		},
		{
			// htpasswd has no permissions: the proxy refuses the upload.
			name: "htpasswd write refused 401",
			start: func(t *testing.T) hostileTarget {
				return hostileHtpasswd(t, hostilePass,
					faultproxy.EchoAuthResponses(http.StatusUnauthorized).Only(http.MethodPost, faultproxy.KindUploads))
			},
			code: 4, regCode: "DENIED", echoed: true,
		},
		{
			name: "htpasswd manifest PUT 400",
			start: func(t *testing.T) hostileTarget {
				return hostileHtpasswd(t, hostilePass, manifestPut400())
			},
			code: 1, regCode: "DENIED", echoed: true,
		},
		{
			name: "token wrong password 401",
			start: func(t *testing.T) hostileTarget {
				return hostileToken(t, map[string]testregistry.User{hostileUser: {Password: "An0ther-Real-Pw", Actions: []string{"pull", "push"}}})
			},
			code: 4, regCode: "UNAUTHORIZED", echoed: true,
		},
		{
			name: "token write refused 401",
			start: func(t *testing.T) hostileTarget {
				return hostileToken(t, map[string]testregistry.User{hostileUser: {Password: hostilePass, Actions: []string{"pull"}}})
			},
			code: 4, regCode: "UNAUTHORIZED", bearer: true, echoed: true,
		},
		{
			name: "token manifest PUT 400",
			start: func(t *testing.T) hostileTarget {
				return hostileToken(t, map[string]testregistry.User{hostileUser: {Password: hostilePass, Actions: []string{"pull", "push"}}}, manifestPut400())
			},
			code: 1, regCode: "DENIED", bearer: true, echoed: true,
		},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			h := sc.start(t)
			value := writeFile(t, "sbom.json", `{"sbom":true}`)

			// check asserts one run: its exit code, the registry's code in
			// stderr, a rewritten answer behind it, and no secret in texts.
			check := func(t *testing.T, r result, faultsBefore int, texts map[string]string) {
				t.Helper()
				if r.code != sc.code {
					t.Errorf("exit %d, want %d: %s", r.code, sc.code, r.stderr)
				}
				if !strings.Contains(r.stderr, sc.regCode) {
					t.Errorf("stderr lacks the registry's code %s: %q", sc.regCode, r.stderr)
				}
				if h.faults() == faultsBefore {
					t.Errorf("no answer echoed the credentials: the run never met the hostile registry")
				}
				if sc.echoed && !strings.Contains(r.stderr, "you sent ") {
					t.Errorf("stderr lacks the registry's (hostile) message: %q", r.stderr)
				}
				tokens := h.bearerTokens()
				if sc.bearer && len(tokens) == 0 {
					t.Errorf("no bearer token went through the proxy")
				}
				for name, out := range texts {
					if bad := hostileLeaks(out, tokens); len(bad) > 0 {
						t.Errorf("%s shows %q:\n%s", name, bad, out)
					}
				}
				if os.Getenv("HOSTILE_TEST_DEBUG") != "" {
					for name, out := range texts {
						t.Logf("%s:\n%s", name, out)
					}
				}
			}
			cliRun := func(t *testing.T, stdin string, env []string, args ...string) {
				t.Helper()
				before := h.faults()
				var in io.Reader
				if stdin != "" {
					in = strings.NewReader(stdin)
				}
				r := cli(t, in, env, args...)
				check(t, r, before, map[string]string{"stdout": r.stdout, "stderr": r.stderr})
			}

			t.Run("flags", func(t *testing.T) {
				cliRun(t, "", nil, "put", h.image, "sbom", value, "--username", hostileUser, "--password", hostilePass)
			})
			t.Run("MANIFESTO_PASSWORD", func(t *testing.T) {
				cliRun(t, "", []string{"MANIFESTO_USERNAME=" + hostileUser, "MANIFESTO_PASSWORD=" + hostilePass}, "put", h.image, "sbom", value)
			})
			t.Run("password-stdin", func(t *testing.T) {
				cliRun(t, hostilePass+"\n", nil, "put", h.image, "sbom", value, "--username", hostileUser, "--password-stdin")
			})
			t.Run("gitlab step", func(t *testing.T) {
				ws := t.TempDir()
				copyFile(t, value, filepath.Join(ws, "sbom.json"))
				before := h.faults()
				r := step(t, ws, "GITLAB_CI=true", "CI_PROJECT_DIR="+ws, "MANIFESTO_OPERATION=put", "MANIFESTO_IMAGE="+h.image,
					"MANIFESTO_KEY=sbom", "MANIFESTO_FILE=sbom.json", "MANIFESTO_USERNAME="+hostileUser, "MANIFESTO_PASSWORD="+hostilePass)
				check(t, r, before, map[string]string{"stdout": r.stdout, "stderr": r.stderr,
					"dotenv": readIfExists(t, filepath.Join(ws, "manifesto.env"))})
			})
			t.Run("github step", func(t *testing.T) {
				ws, files := t.TempDir(), t.TempDir()
				copyFile(t, value, filepath.Join(ws, "sbom.json"))
				output, summary := filepath.Join(files, "output"), filepath.Join(files, "summary.md")
				before := h.faults()
				r := step(t, ws, "GITHUB_ACTIONS=true", "GITHUB_WORKSPACE="+ws, "GITHUB_OUTPUT="+output, "GITHUB_STEP_SUMMARY="+summary,
					"INPUT_OPERATION=put", "INPUT_IMAGE="+h.image, "INPUT_KEY=sbom", "INPUT_FILE=sbom.json",
					"INPUT_SUMMARY=true", "INPUT_FAIL_ON_MISSING=true", "INPUT_USERNAME="+hostileUser, "INPUT_PASSWORD="+hostilePass)
				// The masks come first and hold the password and the Basic
				// form; the tokens learned during the put are masked after
				// it. The runner hides ::add-mask:: lines; nothing else may
				// hold a secret.
				masks := "::add-mask::" + hostilePass + "\n::add-mask::" + hostileBasic + "\n"
				if !strings.HasPrefix(r.stdout, masks) {
					t.Errorf("stdout does not start with the masks of the password and the Basic form:\n%s", r.stdout)
				}
				var kept []string
				for _, line := range strings.SplitAfter(r.stdout, "\n") {
					if !strings.HasPrefix(line, "::add-mask::") {
						kept = append(kept, line)
					}
				}
				stdout := strings.Join(kept, "")
				sum := readIfExists(t, summary)
				if !strings.Contains(sum, sc.regCode) {
					t.Errorf("the step summary lacks the registry's code %s:\n%s", sc.regCode, sum)
				}
				check(t, r, before, map[string]string{"stdout": stdout, "stderr": r.stderr,
					"summary": sum, "outputs": readIfExists(t, output)})
			})
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readIfExists returns the file's content, "" when it does not exist.
func readIfExists(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}
