package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The credentials every hostile-registry case sends.
const (
	hostileUser = "alice"
	hostilePass = "S3cr3t-P4ss"
	// hostileToken is the bearer token the hostile token server hands out.
	hostileToken = "tok-Hostile-0123456789abcdef"
)

// hostileRegistry is a registry that refuses every request after the ping
// with status (400 or 401) and a body echoing the Authorization header it
// got, its decoded user:pass, and the password again in JSON's \u escape.
// With bearer set, the ping asks for a bearer token from a realm on
// localhost that hands out hostileToken for the Basic credentials.
func hostileRegistry(t *testing.T, status int, bearer bool) string {
	t.Helper()
	var mu sync.Mutex
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		authz := r.Header.Get("Authorization")
		echo := authz
		if b64, ok := strings.CutPrefix(authz, "Basic "); ok {
			if dec, err := base64.StdEncoding.DecodeString(b64); err == nil {
				echo += " i.e. " + string(dec)
			}
		}
		switch {
		case r.URL.Path == "/token":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"token":%q}`, hostileToken)
			return
		case authz == "" && r.URL.Path != "/token":
			// Every unauthenticated request is challenged, as a real
			// registry does (manifesto sends no /v2/ ping: it learns the
			// scheme from the first 401).
			if bearer {
				u, _ := url.Parse(srv.URL)
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://localhost:%s/token",service="hostile"`, u.Port()))
			} else {
				w.Header().Set("WWW-Authenticate", `Basic realm="hostile"`)
			}
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/v2/team/app/manifests/") && (strings.HasSuffix(r.URL.Path, "/1.0") || strings.HasSuffix(r.URL.Path, "/"+subjectDigest)) {
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Docker-Content-Digest", subjectDigest)
			w.Header().Set("Content-Length", fmt.Sprint(len(subjectManifest)))
			if r.Method == http.MethodGet {
				w.Write([]byte(subjectManifest))
			}
			return
		}
		if r.Method == http.MethodHead && strings.HasPrefix(r.URL.Path, "/v2/team/app/blobs/") {
			// Every blob "exists": a put goes on to its manifest PUT.
			w.Header().Set("Content-Length", "2")
			return
		}
		escaped := strings.ReplaceAll(hostilePass, "-", `\u002d`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"errors":[{"code":"DENIED","message":"you sent %s","detail":"password %s"}]}`,
			strings.ReplaceAll(echo, `"`, `'`), escaped)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// subjectManifest is the image the hostile registry does serve, so that
// operations get past resolving it.
const subjectManifest = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
	`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},` +
	`"layers":[]}`

var subjectDigest = func() string {
	h := sha256.Sum256([]byte(subjectManifest))
	return "sha256:" + hex.EncodeToString(h[:])
}()

// leaked lists the forms of a secret found in out.
func leaked(out string) []string {
	basic := base64.StdEncoding.EncodeToString([]byte(hostileUser + ":" + hostilePass))
	var found []string
	for _, bad := range []string{
		hostilePass, basic, `S3cr3t\-P4ss`, "S3cr3t", "P4ss",
		base64.StdEncoding.EncodeToString([]byte(hostilePass)),
		hostileToken, basic[:16],
	} {
		if strings.Contains(out, bad) {
			found = append(found, bad)
		}
	}
	return found
}

// TestSecretsNeverPrinted: a registry echoing the credentials in its error
// bodies gets none of them printed, in any way the credentials are given
// and in every CI mode (issue 10, item 2).
func TestSecretsNeverPrinted(t *testing.T) {
	for _, reg := range []struct {
		name   string
		status int
		bearer bool
	}{
		{"basic 400", http.StatusBadRequest, false},
		{"basic 401", http.StatusUnauthorized, false},
		{"bearer 401", http.StatusUnauthorized, true},
		{"bearer 400", http.StatusBadRequest, true},
	} {
		t.Run(reg.name, func(t *testing.T) {
			host := hostileRegistry(t, reg.status, reg.bearer)
			image := host + "/team/app:1.0"
			check := func(t *testing.T, what string, code int, texts map[string]string) {
				t.Helper()
				if code == 0 {
					t.Errorf("%s: exit 0 against a registry refusing everything", what)
				}
				for name, out := range texts {
					if bad := leaked(out); len(bad) > 0 {
						t.Errorf("%s: %s shows %q:\n%s", what, name, bad, out)
					}
				}
				if !strings.Contains(texts["stderr"], "DENIED") && !strings.Contains(texts["stderr"], "status code") {
					t.Errorf("%s: the registry's reason is lost: %q", what, texts["stderr"])
				}
			}
			cli := func(t *testing.T, what string, args []string, env map[string]string, stdin string) {
				t.Helper()
				var out, errb bytes.Buffer
				code := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
				check(t, what, code, map[string]string{"stdout": out.String(), "stderr": errb.String()})
				if os.Getenv("SECRETS_TEST_DEBUG") != "" {
					t.Logf("%s: exit %d: %s", what, code, errb.String())
				}
			}
			cli(t, "flags", []string{"get", image, "sbom", "--username", hostileUser, "--password", hostilePass}, nil, "")
			cli(t, "MANIFESTO_PASSWORD", []string{"get", image, "sbom"},
				map[string]string{"MANIFESTO_USERNAME": hostileUser, "MANIFESTO_PASSWORD": hostilePass}, "")
			cli(t, "--password-stdin", []string{"list", image, "--username", hostileUser, "--password-stdin"}, nil, hostilePass+"\n")
			value := filepath.Join(t.TempDir(), "v.json")
			os.WriteFile(value, []byte("{}"), 0o644)
			cli(t, "put with flags", []string{"put", image, "sbom", value, "--username", hostileUser, "--password", hostilePass}, nil, "")

			step := func(t *testing.T, what string, env map[string]string, files ...string) {
				t.Helper()
				var out, errb bytes.Buffer
				code := run(context.Background(), nil, func(k string) string { return env[k] }, nil, &out, &errb)
				texts := map[string]string{"stdout": out.String(), "stderr": errb.String()}
				for _, f := range files {
					b, _ := os.ReadFile(f)
					texts[filepath.Base(f)] = string(b)
				}
				// On GitHub the masks come first and hold the secrets: the
				// runner hides them; nothing after them may.
				for strings.HasPrefix(texts["stdout"], "::add-mask::") {
					_, rest, _ := strings.Cut(texts["stdout"], "\n")
					texts["stdout"] = rest
				}
				check(t, what, code, texts)
			}
			ws := t.TempDir()
			os.WriteFile(filepath.Join(ws, "v.json"), []byte("{}"), 0o644)
			dotenv := filepath.Join(t.TempDir(), "manifesto.env")
			step(t, "gitlab", map[string]string{
				"GITLAB_CI": "true", "CI_PROJECT_DIR": ws, "MANIFESTO_OPERATION": "put", "MANIFESTO_IMAGE": image,
				"MANIFESTO_KEY": "sbom", "MANIFESTO_FILE": filepath.Join(ws, "v.json"),
				"MANIFESTO_USERNAME": hostileUser, "MANIFESTO_PASSWORD": hostilePass,
				"MANIFESTO_OUTPUTS_FILE": dotenv,
			}, dotenv)
			files := t.TempDir()
			summary, output := filepath.Join(files, "summary.md"), filepath.Join(files, "output")
			step(t, "github", map[string]string{
				"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws, "GITHUB_OUTPUT": output, "GITHUB_STEP_SUMMARY": summary,
				"INPUT_OPERATION": "get", "INPUT_IMAGE": image, "INPUT_KEY": "sbom", "INPUT_SUMMARY": "true",
				"INPUT_FAIL_ON_MISSING": "true", "INPUT_USERNAME": hostileUser, "INPUT_PASSWORD": hostilePass,
			}, summary, output)
		})
	}
}

// TestGitHubMasksBasicForm: on GitHub the step masks the password and the
// base64 user:pass form before it prints anything else.
func TestGitHubMasksBasicForm(t *testing.T) {
	host := hostileRegistry(t, http.StatusUnauthorized, false)
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": t.TempDir(), "GITHUB_OUTPUT": filepath.Join(t.TempDir(), "out"),
		"INPUT_OPERATION": "list", "INPUT_IMAGE": host + "/team/app:1.0",
		"INPUT_USERNAME": hostileUser, "INPUT_PASSWORD": hostilePass,
	}
	var out, errb bytes.Buffer
	run(context.Background(), nil, func(k string) string { return env[k] }, nil, &out, &errb)
	basic := base64.StdEncoding.EncodeToString([]byte(hostileUser + ":" + hostilePass))
	want := "::add-mask::" + hostilePass + "\n::add-mask::" + basic + "\n"
	if !strings.HasPrefix(out.String(), want) {
		t.Errorf("stdout does not start with the masks of the password and the Basic form:\n%s", out.String())
	}
}

// TestGitHubMasksLearnedToken: a bearer token the registry hands out during
// the step is masked too, once the operation that learned it is over.
func TestGitHubMasksLearnedToken(t *testing.T) {
	host := hostileRegistry(t, http.StatusUnauthorized, true)
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": t.TempDir(), "GITHUB_OUTPUT": filepath.Join(t.TempDir(), "out"),
		"INPUT_OPERATION": "list", "INPUT_IMAGE": host + "/team/app:1.0",
		"INPUT_USERNAME": hostileUser, "INPUT_PASSWORD": hostilePass,
	}
	var out, errb bytes.Buffer
	run(context.Background(), nil, func(k string) string { return env[k] }, nil, &out, &errb)
	if n := strings.Count(out.String(), "::add-mask::"+hostileToken+"\n"); n != 1 {
		t.Errorf("the learned token is masked %d times, want once:\n%s", n, out.String())
	}
}
