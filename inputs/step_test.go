package inputs

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/steps"
)

const (
	stepImg    = "registry.example.com/team/app:1.4"
	stepDigest = "sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
	fileDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	// Distinctive secrets, long enough to be redacted wherever they occur.
	secretPassword = "s3cr3t-Passw0rd-value"
	secretToken    = "ghs_TOKENtokenTOKENtoken1234"
	secretCIPass   = "glcbt-CI-job-token-9876"
)

// Marker variables of each system.
var (
	ghEnv = map[string]string{"GITHUB_ACTIONS": "true"}
	glEnv = map[string]string{"GITLAB_CI": "true", "CI": "true"}
	drEnv = map[string]string{"DRONE": "true", "CI": "drone"}
	wpEnv = map[string]string{"CI": "woodpecker"}
)

// stepWS is a workspace (also the working directory) with a value file in
// it and a directory outside it.
type stepWS struct {
	dir     string // the workspace
	outside string // a directory next to it, outside
	value   string // reports/unit.json, relative
}

func newStepWS(t *testing.T) stepWS {
	t.Helper()
	root := t.TempDir()
	ws := stepWS{dir: filepath.Join(root, "ws"), outside: filepath.Join(root, "outside"), value: "reports/unit.json"}
	for _, d := range []string{filepath.Join(ws.dir, "reports"), ws.outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(ws.dir, ws.value), `{"tests":1}`)
	writeFile(t, filepath.Join(ws.outside, "secret.txt"), "runner secret")
	return ws
}

// github is the environment of a GitHub Actions step in ws with the given
// inputs (name, value pairs) as INPUT_ variables.
func (ws stepWS) github(kv ...string) map[string]string {
	out := env(ghEnv, map[string]string{"GITHUB_WORKSPACE": ws.dir})
	for i := 0; i < len(kv); i += 2 {
		out["INPUT_"+strings.ToUpper(kv[i])] = kv[i+1]
	}
	return out
}

// basic is the base64 "user:pass" of HTTP Basic auth.
func basic(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (w stepWS) abs(p string) string { return filepath.Join(w.dir, p) }

// env merges maps, later ones winning.
func env(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// fromStep runs FromStep with the working directory at ws.dir.
func (w stepWS) fromStep(m map[string]string) (Step, error) {
	return FromStep(func(k string) string { return m[k] }, func() (string, error) { return w.dir, nil })
}

func testdataPath(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "steps", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkUsage asserts err is a one-line usage error mentioning every want.
func checkUsage(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want a usage error mentioning %q", want)
	}
	if !errors.Is(err, errdef.ErrUsage) {
		t.Errorf("%v is not ErrUsage-class", err)
	}
	if code := errdef.ExitCode(err); code != errdef.ExitUsage {
		t.Errorf("exit code %d, want %d", code, errdef.ExitUsage)
	}
	msg := err.Error()
	t.Log(msg)
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("message is not one line: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%q does not mention %q", msg, w)
		}
	}
	for _, s := range []string{secretPassword, secretToken, secretCIPass} {
		if strings.Contains(msg, s) {
			t.Errorf("message contains a secret: %q", msg)
		}
	}
}

func TestDetectSystem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env  map[string]string
		want System
	}{
		{nil, SystemGeneric},
		{map[string]string{"CI": "true"}, SystemGeneric},
		{map[string]string{"GITHUB_ACTIONS": "true"}, SystemGitHub},
		{map[string]string{"GITHUB_ACTIONS": "false"}, SystemGeneric},
		{map[string]string{"DRONE": "true"}, SystemDrone},
		{map[string]string{"CI": "woodpecker"}, SystemWoodpecker},
		{map[string]string{"CI_SYSTEM_NAME": "woodpecker"}, SystemWoodpecker},
		{map[string]string{"GITLAB_CI": "true"}, SystemGitLab},
		// Order: GitHub, Drone, Woodpecker, GitLab.
		{map[string]string{"GITHUB_ACTIONS": "true", "DRONE": "true", "GITLAB_CI": "true"}, SystemGitHub},
		{map[string]string{"DRONE": "true", "CI": "woodpecker"}, SystemDrone},
		{map[string]string{"CI": "woodpecker", "GITLAB_CI": "true"}, SystemWoodpecker},
	}
	for _, tt := range tests {
		if got := DetectSystem(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("DetectSystem(%v) = %q, want %q", tt.env, got, tt.want)
		}
	}
	if got := DetectSystem(nil); got != SystemGeneric {
		t.Errorf("DetectSystem(nil) = %q", got)
	}
}

// TestStepSources covers where every system reads its inputs from, both
// Drone/Woodpecker manglings, and precedence over MANIFESTO_*.
func TestStepSources(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	type want struct {
		image, key, mediaType, platform string
		plainHTTP                       bool
	}
	tests := []struct {
		name string
		env  map[string]string
		want want
	}{
		{"github INPUT_", env(ghEnv, map[string]string{
			"INPUT_OPERATION": "put", "INPUT_IMAGE": stepImg, "INPUT_KEY": "sbom", "INPUT_FILE": ws.value,
			"INPUT_MEDIA_TYPE": "application/spdx+json", "INPUT_PLATFORM": "linux/amd64", "INPUT_PLAIN_HTTP": "true",
		}), want{stepImg, "sbom", "application/spdx+json", "linux/amd64", true}},
		{"github trims like go-githubactions", env(ghEnv, map[string]string{
			"INPUT_OPERATION": " put\n", "INPUT_IMAGE": "  " + stepImg + "\n", "INPUT_KEY": "sbom", "INPUT_FILE": ws.value,
		}), want{image: stepImg, key: "sbom"}},
		{"github falls back to MANIFESTO_", env(ghEnv, map[string]string{
			"INPUT_OPERATION": "put", "MANIFESTO_IMAGE": stepImg, "INPUT_KEY": "sbom", "INPUT_FILE": ws.value,
			"MANIFESTO_MEDIA_TYPE": "text/plain", "MANIFESTO_PLAIN_HTTP": "yes",
		}), want{image: stepImg, key: "sbom", mediaType: "text/plain", plainHTTP: true}},
		{"github INPUT_ wins over MANIFESTO_", env(ghEnv, map[string]string{
			"INPUT_OPERATION": "put", "INPUT_IMAGE": stepImg, "MANIFESTO_IMAGE": "other.example.com/x:1",
			"INPUT_KEY": "sbom", "MANIFESTO_KEY": "other", "INPUT_FILE": ws.value,
			"INPUT_PLAIN_HTTP": "false", "MANIFESTO_PLAIN_HTTP": "true",
		}), want{image: stepImg, key: "sbom"}},
		{"github empty INPUT_ (exported default) falls back", env(ghEnv, map[string]string{
			"INPUT_OPERATION": "put", "INPUT_IMAGE": stepImg, "INPUT_KEY": "sbom", "INPUT_FILE": ws.value,
			"INPUT_PLATFORM": "", "MANIFESTO_PLATFORM": "linux/arm64",
		}), want{image: stepImg, key: "sbom", platform: "linux/arm64"}},
		{"github ignores PLUGIN_", env(ghEnv, map[string]string{
			"INPUT_OPERATION": "put", "INPUT_IMAGE": stepImg, "INPUT_KEY": "sbom", "INPUT_FILE": ws.value,
			"PLUGIN_MEDIA_TYPE": "text/plain",
		}), want{image: stepImg, key: "sbom"}},
		{"drone PLUGIN_ with Drone's mangling", env(drEnv, map[string]string{
			"PLUGIN_OPERATION": "put", "PLUGIN_IMAGE": stepImg, "PLUGIN_KEY": "sbom", "PLUGIN_FILE": ws.value,
			"PLUGIN_MEDIA-TYPE": "application/json", "PLUGIN_PLAIN-HTTP": "1",
		}), want{image: stepImg, key: "sbom", mediaType: "application/json", plainHTTP: true}},
		{"drone PLUGIN_ with underscores", env(drEnv, map[string]string{
			"PLUGIN_OPERATION": "put", "PLUGIN_IMAGE": stepImg, "PLUGIN_KEY": "sbom", "PLUGIN_FILE": ws.value,
			"PLUGIN_MEDIA_TYPE": "application/json",
		}), want{image: stepImg, key: "sbom", mediaType: "application/json"}},
		{"woodpecker PLUGIN_ with Woodpecker's mangling", env(wpEnv, map[string]string{
			"PLUGIN_OPERATION": "put", "PLUGIN_IMAGE": stepImg, "PLUGIN_KEY": "sbom", "PLUGIN_FILE": ws.value,
			"PLUGIN_MEDIA_TYPE": "application/json", "PLUGIN_PLAIN_HTTP": "TRUE",
		}), want{image: stepImg, key: "sbom", mediaType: "application/json", plainHTTP: true}},
		{"woodpecker accepts Drone's mangling too", env(wpEnv, map[string]string{
			"PLUGIN_OPERATION": "put", "PLUGIN_IMAGE": stepImg, "PLUGIN_KEY": "sbom", "PLUGIN_FILE": ws.value,
			"PLUGIN_MEDIA-TYPE": "application/json",
		}), want{image: stepImg, key: "sbom", mediaType: "application/json"}},
		{"both manglings with the same value", env(wpEnv, map[string]string{
			"PLUGIN_OPERATION": "put", "PLUGIN_IMAGE": stepImg, "PLUGIN_KEY": "sbom", "PLUGIN_FILE": ws.value,
			"PLUGIN_MEDIA-TYPE": "application/json", "PLUGIN_MEDIA_TYPE": "application/json",
		}), want{image: stepImg, key: "sbom", mediaType: "application/json"}},
		{"drone PLUGIN_ wins over MANIFESTO_", env(drEnv, map[string]string{
			"PLUGIN_OPERATION": "put", "PLUGIN_IMAGE": stepImg, "MANIFESTO_IMAGE": "other.example.com/x:1",
			"MANIFESTO_KEY": "sbom", "PLUGIN_FILE": ws.value,
			"PLUGIN_MEDIA-TYPE": "application/json", "MANIFESTO_MEDIA_TYPE": "text/plain",
		}), want{image: stepImg, key: "sbom", mediaType: "application/json"}},
		{"gitlab reads MANIFESTO_ only", env(glEnv, map[string]string{
			"MANIFESTO_OPERATION": "put", "MANIFESTO_IMAGE": stepImg, "MANIFESTO_KEY": "sbom", "MANIFESTO_FILE": ws.value,
			"INPUT_MEDIA_TYPE": "text/plain", "PLUGIN_MEDIA_TYPE": "text/plain", "MANIFESTO_INSECURE": "no",
		}), want{image: stepImg, key: "sbom"}},
		{"generic reads MANIFESTO_", map[string]string{
			"MANIFESTO_OPERATION": "put", "MANIFESTO_IMAGE": stepImg, "MANIFESTO_KEY": "sbom", "MANIFESTO_FILE": ws.value,
			"MANIFESTO_MEDIA_TYPE": "text/plain", "MANIFESTO_PLAIN_HTTP": "On",
		}, want{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := ws.fromStep(tt.env)
			if tt.name == "generic reads MANIFESTO_" {
				// "On" is not one of true/false/1/0/yes/no.
				checkUsage(t, err, `"plain_http"`, "MANIFESTO_PLAIN_HTTP", `"On"`)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Ops) != 1 {
				t.Fatalf("got %d ops", len(st.Ops))
			}
			r := st.Ops[0].Request
			got := want{r.Image, r.Key, r.MediaType, r.Platform, r.Registry.PlainHTTP}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if r.Operation != steps.OpPut || r.File != ws.abs(ws.value) {
				t.Errorf("got operation %q file %q", r.Operation, r.File)
			}
		})
	}
}

func TestStepBooleans(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	base := env(drEnv, map[string]string{"PLUGIN_OPERATION": "list", "PLUGIN_IMAGE": stepImg})
	for _, tt := range []struct {
		v    string
		want bool
	}{
		{"true", true}, {"TRUE", true}, {"True", true}, {"1", true}, {"yes", true}, {"YES", true},
		{"false", false}, {"False", false}, {"0", false}, {"no", false}, {"No", false}, {"", false},
	} {
		st, err := ws.fromStep(env(base, map[string]string{"PLUGIN_INSECURE": tt.v, "PLUGIN_SUMMARY": tt.v}))
		if err != nil {
			t.Fatalf("%q: %v", tt.v, err)
		}
		if got := st.Ops[0].Request.Registry.Insecure; got != tt.want {
			t.Errorf("insecure %q = %v, want %v", tt.v, got, tt.want)
		}
		wantSummary := tt.want || tt.v == "" // summary defaults to true
		if st.Summary != wantSummary {
			t.Errorf("summary %q = %v, want %v", tt.v, st.Summary, wantSummary)
		}
	}
	for _, tt := range []struct {
		name, variable, value string
	}{
		{"plain_http", "PLUGIN_PLAIN_HTTP", "maybe"},
		{"insecure", "PLUGIN_INSECURE", "t"},
		{"summary", "PLUGIN_SUMMARY", "on"},
		{"fail_on_missing", "PLUGIN_FAIL-ON-MISSING", "2"},
	} {
		_, err := ws.fromStep(env(base, map[string]string{"PLUGIN_OPERATION": "get", "PLUGIN_KEY": "k", tt.variable: tt.value}))
		checkUsage(t, err, `"`+tt.name+`"`, tt.variable, `"`+tt.value+`"`, "true or false")
	}
}

func TestStepDefaults(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	other := t.TempDir()
	tests := []struct {
		name      string
		env       map[string]string
		workspace string
		format    string
		outFile   string
	}{
		{"github", env(ghEnv, map[string]string{"GITHUB_WORKSPACE": other, "INPUT_OPERATION": "list", "INPUT_IMAGE": stepImg}), other, OutputsGitHub, ""},
		{"gitlab", env(glEnv, map[string]string{"CI_PROJECT_DIR": other, "MANIFESTO_OPERATION": "list", "MANIFESTO_IMAGE": stepImg}), other, OutputsDotenv, ws.abs(DefaultOutputsFile)},
		{"drone", env(drEnv, map[string]string{"DRONE_WORKSPACE": other, "PLUGIN_OPERATION": "list", "PLUGIN_IMAGE": stepImg}), other, OutputsDotenv, ws.abs(DefaultOutputsFile)},
		{"woodpecker", env(wpEnv, map[string]string{"CI_WORKSPACE": other, "PLUGIN_OPERATION": "list", "PLUGIN_IMAGE": stepImg}), other, OutputsDotenv, ws.abs(DefaultOutputsFile)},
		{"woodpecker ignores DRONE_WORKSPACE", env(wpEnv, map[string]string{"DRONE_WORKSPACE": other, "PLUGIN_OPERATION": "list", "PLUGIN_IMAGE": stepImg}), ws.dir, OutputsDotenv, ws.abs(DefaultOutputsFile)},
		{"generic", map[string]string{"GITHUB_WORKSPACE": other, "MANIFESTO_OPERATION": "list", "MANIFESTO_IMAGE": stepImg}, ws.dir, OutputsDotenv, ws.abs(DefaultOutputsFile)},
		{"github dotenv", env(ghEnv, map[string]string{"INPUT_OUTPUTS_FORMAT": "dotenv", "INPUT_OPERATION": "list", "INPUT_IMAGE": stepImg}), ws.dir, OutputsDotenv, ws.abs(DefaultOutputsFile)},
		{"jsonl to a given file", env(glEnv, map[string]string{"MANIFESTO_OUTPUTS_FORMAT": "jsonl", "MANIFESTO_OUTPUTS_FILE": filepath.Join(other, "out.jsonl"), "MANIFESTO_OPERATION": "list", "MANIFESTO_IMAGE": stepImg}), ws.dir, OutputsJSONL, filepath.Join(other, "out.jsonl")},
		{"relative outputs file", env(drEnv, map[string]string{"PLUGIN_OUTPUTS_FILE": "reports/out.env", "PLUGIN_OPERATION": "list", "PLUGIN_IMAGE": stepImg}), ws.dir, OutputsDotenv, ws.abs("reports/out.env")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := ws.fromStep(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if st.Workspace != tt.workspace || st.OutputsFormat != tt.format || st.OutputsFile != tt.outFile {
				t.Errorf("got workspace %q format %q file %q, want %q %q %q", st.Workspace, st.OutputsFormat, st.OutputsFile, tt.workspace, tt.format, tt.outFile)
			}
			if !st.Summary || st.ResultsDir != "" || len(st.Secrets.Masks()) != 0 {
				t.Errorf("got summary %v results dir %q secrets %d", st.Summary, st.ResultsDir, len(st.Secrets.Masks()))
			}
			if len(st.Ops) != 1 || !st.Ops[0].FailOnMissing || st.Ops[0].ID != "" {
				t.Errorf("got ops %+v", st.Ops)
			}
		})
	}

	t.Run("tekton", func(t *testing.T) {
		t.Parallel()
		results := t.TempDir()
		st, err := ws.fromStep(map[string]string{"MANIFESTO_OUTPUTS_FORMAT": "tekton", "MANIFESTO_RESULTS_DIR": results, "MANIFESTO_OPERATION": "list", "MANIFESTO_IMAGE": stepImg, "MANIFESTO_SUMMARY": "false"})
		if err != nil {
			t.Fatal(err)
		}
		if st.System != SystemGeneric || st.OutputsFormat != OutputsTekton || st.ResultsDir != results || st.OutputsFile != "" || st.Summary {
			t.Errorf("got %+v", st)
		}
	})
}

func TestStepSingleOperation(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	if err := os.MkdirAll(ws.abs("out"), 0o755); err != nil {
		t.Fatal(err)
	}
	m := ws.github
	tests := []struct {
		name string
		env  map[string]string
		want Op
	}{
		{"put absolute inside", m("operation", "put", "image", stepImg, "key", "sbom", "file", ws.abs(ws.value)),
			Op{FailOnMissing: true, Request: steps.Request{Operation: steps.OpPut, Image: stepImg, Key: "sbom", File: ws.abs(ws.value)}}},
		{"get default file", m("operation", "get", "image", stepImg, "key", "sbom"),
			Op{FailOnMissing: true, Request: steps.Request{Operation: steps.OpGet, Image: stepImg, Key: "sbom", File: ws.abs(".manifesto/sbom")}}},
		{"get given file, missing dirs, digest, not failing", m("operation", "get", "image", stepImg, "key", "sbom", "file", "out/new/sbom.json", "digest", stepDigest, "fail_on_missing", "false"),
			Op{Request: steps.Request{Operation: steps.OpGet, Image: stepImg, Key: "sbom", Digest: stepDigest, File: ws.abs("out/new/sbom.json")}}},
		{"get over an existing file", m("operation", "get", "image", stepImg, "key", "sbom", "file", "./reports/../reports/unit.json"),
			Op{FailOnMissing: true, Request: steps.Request{Operation: steps.OpGet, Image: stepImg, Key: "sbom", File: ws.abs(ws.value)}}},
		{"list", m("operation", "list", "image", "oci:"+ws.abs("layout")+":latest", "fail_on_missing", "true"),
			Op{FailOnMissing: true, Request: steps.Request{Operation: steps.OpList, Image: "oci:" + ws.abs("layout") + ":latest"}}},
		{"history", m("operation", "history", "image", stepImg, "key", "sbom", "platform", "linux/arm/v7"),
			Op{FailOnMissing: true, Request: steps.Request{Operation: steps.OpHistory, Image: stepImg, Key: "sbom", Platform: "linux/arm/v7"}}},
		{"delete", m("operation", "delete", "image", stepImg, "key", "sbom", "digest", stepDigest, "insecure", "yes"),
			Op{FailOnMissing: true, Request: steps.Request{Operation: steps.OpDelete, Image: stepImg, Key: "sbom", Digest: stepDigest, Registry: steps.RegistryOptions{Insecure: true}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := ws.fromStep(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Ops) != 1 || !reflect.DeepEqual(st.Ops[0], tt.want) {
				t.Errorf("got  %+v\nwant %+v", st.Ops, tt.want)
			}
			if _, err := os.Stat(ws.abs(ValueDir)); err == nil {
				t.Errorf("FromStep created %s", ValueDir)
			}
		})
	}
}

func TestStepUsageErrors(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	if err := os.Symlink(ws.outside, ws.abs("link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(ws.outside, "secret.txt"), ws.abs("reports/innocent.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(ws.outside, "new.txt"), ws.abs("reports/dangling.json")); err != nil {
		t.Fatal(err)
	}
	// A second workspace whose .manifesto leads outside.
	ws2 := newStepWS(t)
	if err := os.Symlink(ws2.outside, ws2.abs(ValueDir)); err != nil {
		t.Fatal(err)
	}

	gh := func(kv ...string) map[string]string {
		out := env(ghEnv, map[string]string{"GITHUB_WORKSPACE": ws.dir})
		for i := 0; i < len(kv); i += 2 {
			out["INPUT_"+strings.ToUpper(kv[i])] = kv[i+1]
		}
		return out
	}
	put := func(kv ...string) map[string]string {
		return gh(append([]string{"operation", "put", "image", stepImg, "key", "sbom"}, kv...)...)
	}
	get := func(kv ...string) map[string]string {
		return gh(append([]string{"operation", "get", "image", stepImg, "key", "sbom"}, kv...)...)
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		// Required inputs, by system.
		{"operation required", gh("image", stepImg), []string{`input "operation" is required (set INPUT_OPERATION)`}},
		{"image required", gh("operation", "list"), []string{`input "image" is required (set INPUT_IMAGE)`}},
		{"image required on drone", env(drEnv, map[string]string{"PLUGIN_OPERATION": "list"}), []string{`input "image" is required (set PLUGIN_IMAGE)`}},
		{"image required on gitlab", env(glEnv, map[string]string{"MANIFESTO_OPERATION": "list", "INPUT_IMAGE": stepImg}), []string{`input "image" is required (set MANIFESTO_IMAGE)`}},
		{"github ignores PLUGIN_", env(ghEnv, map[string]string{"INPUT_OPERATION": "list", "PLUGIN_IMAGE": stepImg}), []string{`input "image" is required (set INPUT_IMAGE)`}},
		{"key required for put", gh("operation", "put", "image", stepImg, "file", ws.value), []string{`input "key" is required for operation "put" (set INPUT_KEY)`}},
		{"key required for get", gh("operation", "get", "image", stepImg), []string{`input "key" is required for operation "get"`}},
		{"key required for history", gh("operation", "history", "image", stepImg), []string{`input "key" is required for operation "history"`}},
		{"key required for delete", gh("operation", "delete", "image", stepImg), []string{`input "key" is required for operation "delete"`}},
		{"file required for put", put(), []string{`input "file" is required for operation "put" (set INPUT_FILE)`}},

		// Inputs that do not apply.
		{"unknown operation", gh("operation", "repair", "image", stepImg), []string{`input "operation" (INPUT_OPERATION) "repair" is not an operation`}},
		{"operation in upper case", gh("operation", "PUT", "image", stepImg), []string{`"PUT"`}},
		{"key for list", gh("operation", "list", "image", stepImg, "key", "sbom"), []string{`input "key" (INPUT_KEY) does not apply to operation "list"`}},
		{"file for history", gh("operation", "history", "image", stepImg, "key", "k", "file", "x"), []string{`input "file" (INPUT_FILE) does not apply to operation "history"`}},
		{"media type for get", get("media_type", "text/plain"), []string{`input "media_type" (INPUT_MEDIA_TYPE) does not apply to operation "get"`}},
		{"digest for put", put("file", ws.value, "digest", stepDigest), []string{`input "digest" (INPUT_DIGEST) does not apply to operation "put"`}},
		{"fail_on_missing false for put", put("file", ws.value, "fail_on_missing", "false"), []string{`input "fail_on_missing" (INPUT_FAIL_ON_MISSING) is false`, "only get"}},

		// Bad values.
		{"bad image", gh("operation", "list", "image", "Bad Image!"), []string{`input "image" (INPUT_IMAGE)`, `"Bad Image!"`}},
		{"bad key", get("key", "Sbom"), []string{`input "key" (INPUT_KEY)`, `"Sbom"`}},
		{"bad media type", put("file", ws.value, "media_type", "json"), []string{`input "media_type" (INPUT_MEDIA_TYPE) "json"`}},
		{"bad digest", get("digest", "sha256:abc"), []string{`input "digest" (INPUT_DIGEST) "sha256:abc"`}},
		{"bad platform", gh("operation", "list", "image", stepImg, "platform", "linux"), []string{`input "platform" (INPUT_PLATFORM) "linux"`}},
		{"bad bool", gh("operation", "list", "image", stepImg, "plain_http", "maybe"), []string{`"plain_http"`, "INPUT_PLAIN_HTTP", `"maybe"`}},
		{"manglings disagree", env(drEnv, map[string]string{"PLUGIN_OPERATION": "list", "PLUGIN_IMAGE": stepImg, "PLUGIN_MEDIA_TYPE": "a/b", "PLUGIN_MEDIA-TYPE": "c/d"}), []string{`"media_type"`, "PLUGIN_MEDIA_TYPE", "PLUGIN_MEDIA-TYPE"}},

		// Files and the workspace.
		{"put file missing", put("file", "reports/none.json"), []string{`input "file" (INPUT_FILE)`, "does not exist"}},
		{"put file is a directory", put("file", "reports"), []string{`input "file" (INPUT_FILE)`, "directory"}},
		{"put file names a directory", put("file", "reports/"), []string{"names a directory"}},
		{"put file .. escape", put("file", "../outside/secret.txt"), []string{`"../outside/secret.txt" is outside the workspace`}},
		{"put file deep .. escape", put("file", "reports/../../outside/secret.txt"), []string{"outside the workspace"}},
		{"put file absolute outside", put("file", filepath.Join(ws.outside, "secret.txt")), []string{"outside the workspace"}},
		{"put file absolute system file", put("file", "/etc/passwd"), []string{`"/etc/passwd" is outside the workspace`}},
		{"put file through a symlinked dir", put("file", "link/secret.txt"), []string{`"link/secret.txt" leads through a symbolic link`, "outside the workspace"}},
		{"put file is a symlink outside", put("file", "reports/innocent.json"), []string{"symbolic link", "outside the workspace"}},
		{"get file .. escape", get("file", "../x.json"), []string{`input "file" (INPUT_FILE) "../x.json" is outside the workspace`}},
		{"get file absolute outside", get("file", filepath.Join(ws.outside, "x.json")), []string{"outside the workspace"}},
		{"get file through a symlinked dir", get("file", "link/x.json"), []string{"symbolic link", "outside the workspace"}},
		{"get file through a symlinked dir, missing subdirs", get("file", "link/a/b/x.json"), []string{"symbolic link", "outside the workspace"}},
		{"get file is a symlink outside", get("file", "reports/innocent.json"), []string{"symbolic link", "outside the workspace"}},
		{"get file is a dangling symlink", get("file", "reports/dangling.json"), []string{"symbolic link"}},
		{"get default file through a symlinked .manifesto", env(ghEnv, map[string]string{"GITHUB_WORKSPACE": ws2.dir, "INPUT_OPERATION": "get", "INPUT_IMAGE": stepImg, "INPUT_KEY": "sbom"}), []string{`input "file" (default) ".manifesto/sbom"`, "symbolic link", "outside the workspace"}},
		{"get file is a directory", get("file", "reports"), []string{"is a directory"}},
		{"get file under a file", get("file", "reports/unit.json/x"), []string{"not a directory"}},
		{"get file is the outputs file", env(drEnv, map[string]string{"DRONE_WORKSPACE": ws.dir, "PLUGIN_OPERATION": "get", "PLUGIN_IMAGE": stepImg, "PLUGIN_KEY": "k", "PLUGIN_FILE": DefaultOutputsFile}), []string{`get writes`, "also the outputs file"}},
		{"workspace missing", env(ghEnv, map[string]string{"GITHUB_WORKSPACE": filepath.Join(ws.dir, "nope"), "INPUT_OPERATION": "list", "INPUT_IMAGE": stepImg}), []string{"workspace", "GITHUB_WORKSPACE"}},

		// Outputs.
		{"bad outputs format", gh("operation", "list", "image", stepImg, "outputs_format", "json"), []string{`input "outputs_format" (INPUT_OUTPUTS_FORMAT) "json"`}},
		{"tekton needs results_dir", gh("operation", "list", "image", stepImg, "outputs_format", "tekton"), []string{`input "results_dir" is required when outputs_format is "tekton" (set INPUT_RESULTS_DIR)`}},
		{"results_dir missing", gh("operation", "list", "image", stepImg, "outputs_format", "tekton", "results_dir", "/nonexistent/results"), []string{`input "results_dir" (INPUT_RESULTS_DIR)`, "does not exist"}},
		{"results_dir without tekton", gh("operation", "list", "image", stepImg, "results_dir", ws.dir), []string{`input "results_dir" (INPUT_RESULTS_DIR) applies only`}},
		{"outputs_file with github format", gh("operation", "list", "image", stepImg, "outputs_file", "out.env"), []string{`input "outputs_file" (INPUT_OUTPUTS_FILE) applies only`}},
		{"outputs_file directory missing", env(drEnv, map[string]string{"PLUGIN_OPERATION": "list", "PLUGIN_IMAGE": stepImg, "PLUGIN_OUTPUTS_FILE": "nope/out.env"}), []string{`input "outputs_file" (PLUGIN_OUTPUTS_FILE)`, "does not exist"}},
		{"outputs_file is a directory", env(drEnv, map[string]string{"PLUGIN_OPERATION": "list", "PLUGIN_IMAGE": stepImg, "PLUGIN_OUTPUTS_FILE": "reports"}), []string{`input "outputs_file" (PLUGIN_OUTPUTS_FILE)`, "is a directory"}},

		// Credentials.
		{"password without username", gh("operation", "list", "image", stepImg, "password", secretPassword), []string{`input "password" is set (INPUT_PASSWORD) but input "username" is empty (set INPUT_USERNAME)`}},
		{"username without password", env(drEnv, map[string]string{"PLUGIN_OPERATION": "list", "PLUGIN_IMAGE": stepImg, "PLUGIN_USERNAME": "ci"}), []string{`input "username" is set (PLUGIN_USERNAME) but input "password" is empty (set PLUGIN_PASSWORD)`}},

		// steps_file together with single-operation inputs.
		{"steps_file with operation", gh("steps_file", testdataPath(t, "valid.yml"), "operation", "get"), []string{`input "operation" (INPUT_OPERATION) cannot be used together with input "steps_file" (INPUT_STEPS_FILE)`}},
		{"steps_file with key", gh("steps_file", testdataPath(t, "valid.yml"), "key", "sbom"), []string{`input "key" (INPUT_KEY) cannot be used together with input "steps_file"`}},
		{"steps_file with file", gh("steps_file", testdataPath(t, "valid.yml"), "file", "x"), []string{`input "file" (INPUT_FILE) cannot be used together`}},
		{"steps_file missing", gh("steps_file", "ci/none.yml"), []string{`input "steps_file" (INPUT_STEPS_FILE) "ci/none.yml"`, "does not exist"}},
		{"steps_file is a directory", gh("steps_file", "reports"), []string{`input "steps_file" (INPUT_STEPS_FILE) "reports" is a directory`}},
		{"steps_file names a directory", gh("steps_file", "reports/"), []string{`"reports/" is a directory`}},
		{"steps_file .. escape", gh("steps_file", "../outside/secret.txt"), []string{`input "steps_file" (INPUT_STEPS_FILE) "../outside/secret.txt" is outside the workspace`}},
		{"steps_file is a symlink outside", gh("steps_file", "reports/innocent.json"), []string{`input "steps_file" (INPUT_STEPS_FILE) "reports/innocent.json" leads through a symbolic link outside the workspace`}},
		{"steps_file through a symlinked dir", gh("steps_file", "link/secret.txt"), []string{`"link/secret.txt" leads through a symbolic link outside the workspace`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := ws.fromStep(tt.env)
			checkUsage(t, err, tt.want...)
			// Only what the caller needs to report the error is set.
			if st.System != DetectSystem(func(k string) string { return tt.env[k] }) || st.Ops != nil || st.Workspace != "" ||
				st.OutputsFormat != "" || st.Secrets == nil {
				t.Errorf("returned %+v with its error", st)
			}
		})
	}
}

func TestStepsFile(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	st, err := ws.fromStep(env(drEnv, map[string]string{
		"DRONE_WORKSPACE":        ws.dir,
		"PLUGIN_STEPS_FILE":      testdataPath(t, "valid.yml"),
		"PLUGIN_USERNAME":        "ci",
		"PLUGIN_PASSWORD":        secretPassword,
		"PLUGIN_PLAIN-HTTP":      "true",
		"PLUGIN_FAIL_ON_MISSING": "true", // an entry's own setting wins
	}))
	if err != nil {
		t.Fatal(err)
	}
	fileImg := "registry.example.com/team/app@" + fileDigest
	reg := steps.RegistryOptions{Username: "ci", Password: secretPassword, PlainHTTP: true}
	want := []Op{
		{ID: "unit", FailOnMissing: true, Request: steps.Request{Operation: steps.OpPut, Image: fileImg, Key: "test-results", File: ws.abs(ws.value), MediaType: "application/json", Registry: reg}},
		{ID: "profile", FailOnMissing: false, Request: steps.Request{Operation: steps.OpGet, Image: fileImg, Key: "seccomp", File: ws.abs(".manifesto/seccomp"), Registry: reg}},
		{ID: "old_log", FailOnMissing: true, Request: steps.Request{Operation: steps.OpDelete, Image: "ghcr.io/org/app:1.4", Key: "build-log", Digest: stepDigest, Platform: "linux/arm64", Registry: reg}},
	}
	if !reflect.DeepEqual(st.Ops, want) {
		t.Errorf("got\n%+v\nwant\n%+v", st.Ops, want)
	}
	if got := st.Secrets.Masks(); !reflect.DeepEqual(got, []string{secretPassword, basic("ci", secretPassword)}) {
		t.Errorf("secrets %q", got)
	}

	t.Run("one step needs no id", func(t *testing.T) {
		t.Parallel()
		st, err := ws.fromStep(map[string]string{"MANIFESTO_STEPS_FILE": testdataPath(t, "one_step.yml"), "MANIFESTO_IMAGE": stepImg})
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Ops) != 1 || st.Ops[0].ID != "" || st.Ops[0].Request.Image != stepImg || st.Ops[0].Request.Operation != steps.OpList {
			t.Errorf("got %+v", st.Ops)
		}
	})

	t.Run("ids are optional", func(t *testing.T) {
		t.Parallel()
		st, err := ws.fromStep(map[string]string{"MANIFESTO_STEPS_FILE": testdataPath(t, "some_ids.yml")})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, op := range st.Ops {
			ids = append(ids, op.ID)
		}
		if !reflect.DeepEqual(ids, []string{"sbom", "", ""}) {
			t.Errorf("ids %q, want sbom and two empty", ids)
		}
	})

	t.Run("relative to the workspace, image and platform from inputs", func(t *testing.T) {
		t.Parallel()
		data, err := os.ReadFile(testdataPath(t, "no_image.yml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(ws.abs("ci"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, ws.abs("ci/manifesto.yml"), string(data))
		st, err := ws.fromStep(env(ghEnv, map[string]string{"GITHUB_WORKSPACE": ws.dir, "INPUT_STEPS_FILE": "ci/manifesto.yml", "INPUT_IMAGE": stepImg, "INPUT_PLATFORM": "linux/amd64", "INPUT_FAIL_ON_MISSING": "false"}))
		if err != nil {
			t.Fatal(err)
		}
		want := []Op{
			{ID: "scan", FailOnMissing: true, Request: steps.Request{Operation: steps.OpHistory, Image: stepImg, Key: "scan", Platform: "linux/amd64"}},
			{ID: "all", FailOnMissing: true, Request: steps.Request{Operation: steps.OpList, Image: stepImg, Platform: "linux/amd64"}},
		}
		if !reflect.DeepEqual(st.Ops, want) {
			t.Errorf("got\n%+v\nwant\n%+v", st.Ops, want)
		}
	})

	t.Run("fail_on_missing input is the default of get entries", func(t *testing.T) {
		t.Parallel()
		writeFile(t, ws.abs("gets.yml"), "image: "+stepImg+"\nsteps:\n  - id: a\n    operation: get\n    key: a\n  - id: b\n    operation: get\n    key: b\n    fail_on_missing: yes\n")
		st, err := ws.fromStep(map[string]string{"MANIFESTO_STEPS_FILE": "gets.yml", "MANIFESTO_FAIL_ON_MISSING": "0"})
		if err != nil {
			t.Fatal(err)
		}
		if st.Ops[0].FailOnMissing || !st.Ops[1].FailOnMissing {
			t.Errorf("got %+v", st.Ops)
		}
	})
}

func TestStepsFileErrors(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	tests := []struct {
		file  string
		extra map[string]string
		want  []string
	}{
		{"unknown_field.yml", nil, []string{`steps file "`, "unknown_field.yml", "line 7", `unknown setting "mediatype" in a step`, "media_type"}},
		{"unknown_top.yml", nil, []string{"line 2", `unknown setting "step" at the top level`}},
		{"bad_bool.yml", nil, []string{"line 6", "fail_on_missing", `"maybe"`}},
		{"list_for_string.yml", nil, []string{"line 6", "key must be a string, not a list"}},
		{"entry_not_mapping.yml", nil, []string{"line 3", "each step must be a mapping"}},
		{"duplicate_ids.yml", nil, []string{"step 2 (line 6)", `id "sbom" is already used by the step at line 3`}},
		{"bad_id.yml", nil, []string{"step 1 (line 3)", `id "Unit-Tests" is invalid`}},
		{"bad_key.yml", nil, []string{`step "second" (line 7)`, `"Not_A_Key"`}},
		{"no_steps.yml", nil, []string{"has no steps"}},
		{"empty.yml", nil, []string{"empty"}},
		{"two_docs.yml", nil, []string{"line 3", "second YAML document"}},
		{"syntax.yml", nil, []string{"line 3", "mapping values are not allowed"}},
		{"no_image.yml", nil, []string{`step "scan" (line 2): image is required`}},
		{"valid.yml", map[string]string{"MANIFESTO_IMAGE": stepImg}, []string{`input "image" (MANIFESTO_IMAGE) and the image of steps file`, "(line 2)", "keep one"}},
		{"valid.yml", map[string]string{"MANIFESTO_MEDIA_TYPE": "text/plain"}, []string{`input "media_type" (MANIFESTO_MEDIA_TYPE) cannot be used together with input "steps_file"`}},
		{"valid.yml", map[string]string{"MANIFESTO_PLATFORM": "linux"}, []string{`input "platform" (MANIFESTO_PLATFORM) "linux"`}},
		{"escape.yml", nil, []string{`step "steal" (line 6): file "../../etc/passwd" is outside the workspace`}},
		{"put_without_file.yml", nil, []string{`step "unit" (line 3): file is required for operation "put"`}},
		{"same_target.yml", nil, []string{`step "a" and step "b" both write`}},
		{"fom_on_put.yml", nil, []string{`step "unit" (line 7): fail_on_missing is false`, "only get"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			st, err := ws.fromStep(env(map[string]string{"MANIFESTO_STEPS_FILE": testdataPath(t, tt.file)}, tt.extra))
			checkUsage(t, err, tt.want...)
			if st.Ops != nil {
				t.Errorf("returned ops with the error: %+v", st.Ops)
			}
		})
	}
}

func TestStepCredentials(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	gitlab := env(glEnv, map[string]string{
		"CI_REGISTRY": "gitlab.example.com:5050", "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": secretCIPass,
		"MANIFESTO_OPERATION": "list",
	})
	github := env(ghEnv, map[string]string{"GITHUB_ACTOR": "octocat", "INPUT_GITHUB_TOKEN": secretToken, "INPUT_OPERATION": "list"})
	glImg := "gitlab.example.com:5050/group/app:1.4"
	ghImg := "ghcr.io/org/app:1.4"
	tests := []struct {
		name       string
		env        map[string]string
		user, pass string
		secrets    []string
	}{
		// CI_REGISTRY_PASSWORD is a secret whenever it is set; the Basic
		// form joins it when the credentials are used.
		{"gitlab registry", env(gitlab, map[string]string{"MANIFESTO_IMAGE": glImg}), "gitlab-ci-token", secretCIPass, []string{secretCIPass, basic("gitlab-ci-token", secretCIPass)}},
		{"gitlab registry, host case", env(gitlab, map[string]string{"MANIFESTO_IMAGE": glImg, "CI_REGISTRY": "GitLab.example.com:5050"}), "gitlab-ci-token", secretCIPass, []string{secretCIPass, basic("gitlab-ci-token", secretCIPass)}},
		{"gitlab other port", env(gitlab, map[string]string{"MANIFESTO_IMAGE": "gitlab.example.com/group/app:1.4"}), "", "", []string{secretCIPass}},
		{"gitlab other registry", env(gitlab, map[string]string{"MANIFESTO_IMAGE": stepImg}), "", "", []string{secretCIPass}},
		{"gitlab Docker Hub registry", env(gitlab, map[string]string{"MANIFESTO_IMAGE": "alpine", "CI_REGISTRY": "docker.io"}), "gitlab-ci-token", secretCIPass, []string{secretCIPass, basic("gitlab-ci-token", secretCIPass)}},
		{"gitlab explicit credentials win", env(gitlab, map[string]string{"MANIFESTO_IMAGE": glImg, "MANIFESTO_USERNAME": "me", "MANIFESTO_PASSWORD": secretPassword}), "me", secretPassword, []string{secretPassword, secretCIPass, basic("me", secretPassword)}},
		{"gitlab registry vars outside GitLab", env(gitlab, map[string]string{"GITLAB_CI": "", "MANIFESTO_IMAGE": glImg}), "", "", []string{secretCIPass}},
		{"github ghcr.io", env(github, map[string]string{"INPUT_IMAGE": ghImg}), "octocat", secretToken, []string{secretToken, basic("octocat", secretToken)}},
		{"github token not sent to another registry", env(github, map[string]string{"INPUT_IMAGE": stepImg}), "", "", []string{secretToken}},
		{"github token not sent to Docker Hub", env(github, map[string]string{"INPUT_IMAGE": "alpine"}), "", "", []string{secretToken}},
		{"github explicit credentials win on ghcr.io", env(github, map[string]string{"INPUT_IMAGE": ghImg, "INPUT_USERNAME": "bot", "INPUT_PASSWORD": secretPassword}), "bot", secretPassword, []string{secretPassword, secretToken, basic("bot", secretPassword)}},
		{"github ghcr.io without actor", env(github, map[string]string{"INPUT_IMAGE": ghImg, "GITHUB_ACTOR": ""}), "", "", []string{secretToken}},
		{"github_token outside GitHub", map[string]string{"MANIFESTO_OPERATION": "list", "MANIFESTO_IMAGE": ghImg, "GITHUB_ACTOR": "octocat", "MANIFESTO_GITHUB_TOKEN": secretToken}, "", "", []string{secretToken}},
		{"unused password variable is still a secret", env(drEnv, map[string]string{"PLUGIN_OPERATION": "list", "PLUGIN_IMAGE": stepImg, "PLUGIN_USERNAME": "ci", "PLUGIN_PASSWORD": secretPassword, "MANIFESTO_PASSWORD": "other-secret-value"}), "ci", secretPassword, []string{secretPassword, "other-secret-value", basic("ci", secretPassword)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := ws.fromStep(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			r := st.Ops[0].Request.Registry
			if r.Username != tt.user || r.Password != tt.pass {
				t.Errorf("got user %q password %q, want %q %q", r.Username, r.Password, tt.user, tt.pass)
			}
			if got := st.Secrets.Masks(); !reflect.DeepEqual(got, tt.secrets) {
				t.Errorf("secrets %q, want %q", got, tt.secrets)
			}
		})
	}

	t.Run("per entry of a steps file", func(t *testing.T) {
		t.Parallel()
		m := env(gitlab, github, map[string]string{"GITHUB_ACTIONS": "", "MANIFESTO_OPERATION": "", "INPUT_OPERATION": "", "MANIFESTO_STEPS_FILE": testdataPath(t, "mixed_registries.yml")})
		st, err := ws.fromStep(m)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for _, op := range st.Ops {
			got = append(got, op.ID+"="+op.Request.Registry.Username+":"+op.Request.Registry.Password)
		}
		want := []string{"gl=gitlab-ci-token:" + secretCIPass, "other=:", "gh=:"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
		m = env(github, map[string]string{"INPUT_OPERATION": "", "INPUT_STEPS_FILE": testdataPath(t, "mixed_registries.yml")})
		st, err = ws.fromStep(m)
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, op := range st.Ops {
			got = append(got, op.ID+"="+op.Request.Registry.Username+":"+op.Request.Registry.Password)
		}
		want = []string{"gl=:", "other=:", "gh=octocat:" + secretToken}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

// TestStepNoSecretInErrors puts secrets where a message would echo them.
func TestStepNoSecretInErrors(t *testing.T) {
	t.Parallel()
	ws := newStepWS(t)
	base := env(ghEnv, map[string]string{
		"GITHUB_WORKSPACE": ws.dir, "INPUT_USERNAME": "ci", "INPUT_PASSWORD": secretPassword,
		"INPUT_GITHUB_TOKEN": secretToken, "MANIFESTO_PASSWORD": "another-secret-value",
		"CI_REGISTRY_PASSWORD": secretCIPass,
	})
	tests := []map[string]string{
		{"INPUT_OPERATION": "list", "INPUT_IMAGE": secretToken + "!"},
		{"INPUT_OPERATION": "get", "INPUT_IMAGE": stepImg, "INPUT_KEY": secretPassword},
		{"INPUT_OPERATION": secretCIPass, "INPUT_IMAGE": stepImg},
		{"INPUT_OPERATION": "list", "INPUT_IMAGE": stepImg, "INPUT_PLATFORM": "another-secret-value"},
		{"INPUT_OPERATION": "put", "INPUT_IMAGE": stepImg, "INPUT_KEY": "k", "INPUT_FILE": secretPassword + ".json"},
		{"INPUT_OPERATION": "list", "INPUT_IMAGE": stepImg, "INPUT_PLAIN_HTTP": secretToken},
		{"INPUT_OPERATION": "list", "INPUT_IMAGE": stepImg, "INPUT_USERNAME": ""},
	}
	for i, extra := range tests {
		st, err := ws.fromStep(env(base, extra))
		checkUsage(t, err)
		if err != nil && strings.Contains(err.Error(), "another-secret-value") {
			t.Errorf("%d: %q contains a secret", i, err)
		}
		// Secrets come back with the error, for masking.
		for _, s := range []string{secretPassword, secretToken, "another-secret-value"} {
			found := false
			for _, have := range st.Secrets.Masks() {
				found = found || have == s
			}
			if !found {
				t.Errorf("%d: Secrets %d entries, missing one", i, len(st.Secrets.Masks()))
			}
		}
	}
}

func TestStepInputsList(t *testing.T) {
	t.Parallel()
	want := []string{"operation", "image", "key", "file", "media_type", "digest", "username", "password", "platform", "plain_http", "insecure", "timeout", "policy_file", "policy", "require", "steps_file", "id", "outputs_file", "outputs_format", "results_dir", "fail_on_missing", "fail_on_unmet", "summary", "github_token", "trust", "verify", "notary_server", "trust_dir", "notary_role", "notary_key", "notary_root_key_id", "notary_tofu",
		"sigstore_key", "public_key", "fulcio_url", "rekor_url", "signing_config", "certificate_identity", "certificate_identity_regexp", "certificate_oidc_issuer", "trusted_root",
		"jobs", "rename", "dry_run", "delete_legacy", "destination", "latest", "metadata_only", "keep", "older_than"}
	if got := StepInputs(); !reflect.DeepEqual(got, want) {
		t.Errorf("StepInputs() = %q", got)
	}
	for _, n := range want {
		if strings.ContainsAny(n, "-. ") {
			t.Errorf("input %q: use '_' only", n)
		}
	}
}
