package inputs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/secret"
	"github.com/manifesto-dev/manifesto/steps"
)

const (
	img    = "registry.example.com/team/app:1.4"
	digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// fixture is a directory with a value file in it.
type fixture struct {
	dir  string
	file string // a readable regular file
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "sbom.json")
	if err := os.WriteFile(file, []byte(`{"ok":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return fixture{dir: dir, file: file}
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// parse runs FromArgs with env from m and stdin from in.
func parse(args []string, m map[string]string, in string) (Command, string, error) {
	var out bytes.Buffer
	cmd, err := FromArgs(args, mapEnv(m), strings.NewReader(in), &out)
	return cmd, out.String(), err
}

func TestHappyPaths(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	outFile := filepath.Join(f.dir, "out.json")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		in   string
		want Command
	}{
		{
			name: "put file",
			args: []string{"put", img, "sbom", f.file},
			want: Command{Name: "put", Request: steps.Request{Operation: steps.OpPut, Image: img, Key: "sbom", File: f.file}},
		},
		{
			name: "put stdin with media type and json",
			args: []string{"put", "--json", "--media-type", "application/spdx+json", img, "sbom", "-"},
			want: Command{Name: "put", JSON: true, Request: steps.Request{Operation: steps.OpPut, Image: img, Key: "sbom", File: "-", MediaType: "application/spdx+json"}},
		},
		{
			name: "put to an OCI layout",
			args: []string{"put", "oci:" + f.dir + ":latest", "build-log", f.file},
			want: Command{Name: "put", Request: steps.Request{Operation: steps.OpPut, Image: "oci:" + f.dir + ":latest", Key: "build-log", File: f.file}},
		},
		{
			name: "get to stdout",
			args: []string{"get", img, "sbom"},
			want: Command{Name: "get", Request: steps.Request{Operation: steps.OpGet, Image: img, Key: "sbom"}},
		},
		{
			name: "get -o - is stdout",
			args: []string{"get", img, "sbom", "-o", "-"},
			want: Command{Name: "get", Request: steps.Request{Operation: steps.OpGet, Image: img, Key: "sbom"}},
		},
		{
			name: "get to a file with json and digest",
			args: []string{"get", "--output", outFile, "--json", "--digest", digest, img, "sbom"},
			want: Command{Name: "get", JSON: true, Request: steps.Request{Operation: steps.OpGet, Image: img, Key: "sbom", File: outFile, Digest: digest}},
		},
		{
			name: "get overwrites an existing file",
			args: []string{"get", "-o", f.file, img, "sbom"},
			want: Command{Name: "get", Request: steps.Request{Operation: steps.OpGet, Image: img, Key: "sbom", File: f.file}},
		},
		{
			name: "list json",
			args: []string{"list", "--json", img},
			want: Command{Name: "list", JSON: true, Request: steps.Request{Operation: steps.OpList, Image: img}},
		},
		{
			name: "global flags before the command",
			args: []string{"--json", "--platform", "linux/arm64/v8", "--plain-http", "--insecure", "list", "localhost:5000/app"},
			want: Command{Name: "list", JSON: true, Request: steps.Request{
				Operation: steps.OpList, Image: "localhost:5000/app", Platform: "linux/arm64/v8",
				Registry: steps.RegistryOptions{PlainHTTP: true, Insecure: true},
			}},
		},
		{
			name: "history",
			args: []string{"history", img, "sbom", "--platform", "linux/amd64"},
			want: Command{Name: "history", Request: steps.Request{Operation: steps.OpHistory, Image: img, Key: "sbom", Platform: "linux/amd64"}},
		},
		{
			name: "delete all versions",
			args: []string{"delete", img, "sbom"},
			want: Command{Name: "delete", Request: steps.Request{Operation: steps.OpDelete, Image: img, Key: "sbom"}},
		},
		{
			name: "delete one version",
			args: []string{"delete", "--digest", digest, img, "sbom"},
			want: Command{Name: "delete", Request: steps.Request{Operation: steps.OpDelete, Image: img, Key: "sbom", Digest: digest}},
		},
		{
			name: "delete accepts sha512",
			args: []string{"delete", "--digest", "sha512:" + strings.Repeat("ab", 64), img, "sbom"},
			want: Command{Name: "delete", Request: steps.Request{Operation: steps.OpDelete, Image: img, Key: "sbom", Digest: "sha512:" + strings.Repeat("ab", 64)}},
		},
		{
			name: "repair with credentials",
			args: []string{"repair", "--username", "ci", "--password", "pw", img + "@" + digest},
			want: Command{Name: "repair", Request: steps.Request{Operation: steps.OpRepair, Image: img + "@" + digest, Registry: steps.RegistryOptions{Username: "ci", Password: "pw"}}},
		},
		{
			name: "password from stdin",
			args: []string{"list", "--username", "ci", "--password-stdin", img},
			in:   "from-stdin\n",
			want: Command{Name: "list", Request: steps.Request{Operation: steps.OpList, Image: img, Registry: steps.RegistryOptions{Username: "ci", Password: "from-stdin"}}},
		},
		{
			name: "demo",
			args: []string{"demo"},
			want: Command{Name: "demo"},
		},
		{
			name: "version json",
			args: []string{"version", "--json"},
			want: Command{Name: "version", JSON: true},
		},
		{
			name: "version ignores registry variables",
			args: []string{"version"},
			env:  map[string]string{"MANIFESTO_PASSWORD": "pw", "MANIFESTO_PLATFORM": "Not/Valid!"},
			want: Command{Name: "version"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, out, err := parse(tt.args, tt.env, tt.in)
			if err != nil {
				t.Fatalf("FromArgs(%q): %v", tt.args, err)
			}
			if got.Secrets == nil {
				t.Errorf("FromArgs(%q) returned no secrets registry", tt.args)
			}
			if p := got.Request.Registry.Password; p != "" && !got.Secrets.Contains(p) {
				t.Errorf("FromArgs(%q): the password is not a registered secret", tt.args)
			}
			got.Secrets = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FromArgs(%q)\n got %+v\nwant %+v", tt.args, got, tt.want)
			}
			if out != "" {
				t.Errorf("FromArgs(%q) wrote %q; only help may write", tt.args, out)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	missing := filepath.Join(f.dir, "missing.json")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		in   string
		want []string // substrings of the message, naming the culprit
	}{
		// Commands, flags, arguments.
		{"unknown command", []string{"pt", img}, nil, "", []string{`unknown command "pt"`, "did you mean", `"put"`}},
		{"unknown flag", []string{"put", "--bogus", img, "k", f.file}, nil, "", []string{"--bogus", "manifesto put --help"}},
		{"unknown shorthand", []string{"list", "-x", img}, nil, "", []string{"-x"}},
		{"flag without value", []string{"get", img, "k", "-o"}, nil, "", []string{"-o"}},
		{"bad bool flag", []string{"list", "--json=maybe", img}, nil, "", []string{"--json", "maybe"}},
		{"put missing FILE", []string{"put", img, "k"}, nil, "", []string{"missing FILE", "put [flags] IMAGE KEY FILE"}},
		{"get missing KEY", []string{"get", img}, nil, "", []string{"missing KEY"}},
		{"list missing IMAGE", []string{"list"}, nil, "", []string{"missing IMAGE"}},
		{"list extra argument", []string{"list", img, "sbom"}, nil, "", []string{`unexpected argument "sbom"`}},
		{"repair extra argument", []string{"repair", img, "x"}, nil, "", []string{`"x"`}},
		{"version takes no arguments", []string{"version", "now"}, nil, "", []string{"no arguments", `"now"`}},
		{"demo takes no registry flags", []string{"demo", "--plain-http"}, nil, "", []string{"--plain-http"}},
		{"flag of another command", []string{"list", "--media-type", "text/plain", img}, nil, "", []string{"--media-type"}},
		{"empty flag value", []string{"list", "--platform", "", img}, nil, "", []string{"--platform is empty"}},
		{"timeout not a duration", []string{"list", "--timeout", "10", img}, nil, "", []string{"--timeout", `"10"`, "Go duration"}},
		{"timeout zero", []string{"list", "--timeout", "0s", img}, nil, "", []string{"--timeout", "greater than zero"}},
		{"timeout from env negative", []string{"list", img}, map[string]string{"MANIFESTO_TIMEOUT": "-1m"}, "", []string{"MANIFESTO_TIMEOUT", "greater than zero"}},

		// IMAGE and KEY.
		{"bad image", []string{"list", "Bad Image!"}, nil, "", []string{`"Bad Image!"`}},
		{"empty image", []string{"list", ""}, nil, "", []string{"image is empty"}},
		{"bad layout tag", []string{"list", "oci:dir:bad tag"}, nil, "", []string{"bad tag"}},
		{"bad key", []string{"get", img, "Sbom"}, nil, "", []string{`"Sbom"`}},
		{"key too long", []string{"history", img, strings.Repeat("a", 129)}, nil, "", []string{"129"}},

		// put FILE.
		{"put missing file", []string{"put", img, "k", missing}, nil, "", []string{missing, "does not exist"}},
		{"put directory", []string{"put", img, "k", f.dir}, nil, "", []string{f.dir, "directory"}},
		{"put device", []string{"put", img, "k", os.DevNull}, nil, "", []string{os.DevNull, "not a regular file"}},
		{"put empty FILE", []string{"put", img, "k", ""}, nil, "", []string{"FILE is empty"}},

		// get -o FILE and --json.
		{"get -o directory", []string{"get", img, "k", "-o", f.dir}, nil, "", []string{f.dir, "is a directory"}},
		{"get -o trailing slash", []string{"get", img, "k", "-o", filepath.Join(f.dir, "new") + "/"}, nil, "", []string{"names a directory"}},
		{"get -o missing parent", []string{"get", img, "k", "-o", filepath.Join(missing, "x")}, nil, "", []string{missing, "does not exist"}},
		{"get -o parent is a file", []string{"get", img, "k", "-o", filepath.Join(f.file, "x")}, nil, "", []string{f.file, "not a directory"}},
		{"get --json without -o", []string{"get", "--json", img, "k"}, nil, "", []string{"--json needs -o FILE"}},
		{"get --json with -o -", []string{"get", "--json", "-o", "-", img, "k"}, nil, "", []string{"needs -o FILE"}},
		{"get MANIFESTO_JSON without -o", []string{"get", img, "k"}, map[string]string{"MANIFESTO_JSON": "true"}, "", []string{"MANIFESTO_JSON needs -o FILE"}},

		// Platform, media type, digest.
		{"platform upper case", []string{"list", "--platform", "Linux/amd64", img}, nil, "", []string{`"Linux/amd64"`, "os/arch[/variant]"}},
		{"platform one part", []string{"list", "--platform", "linux", img}, nil, "", []string{`"linux"`}},
		{"platform empty part", []string{"list", "--platform", "linux//v8", img}, nil, "", []string{`"linux//v8"`}},
		{"platform four parts", []string{"list", "--platform", "linux/arm/v7/x", img}, nil, "", []string{`"linux/arm/v7/x"`}},
		{"media type with space", []string{"put", "--media-type", "text/ plain", img, "k", f.file}, nil, "", []string{`"text/ plain"`, "white space"}},
		{"media type with parameter", []string{"put", "--media-type", "text/plain; charset=utf-8", img, "k", f.file}, nil, "", []string{"parameters"}},
		{"media type without subtype", []string{"put", "--media-type", "json", img, "k", f.file}, nil, "", []string{`"json"`, "type/subtype"}},
		{"media type bad suffix char", []string{"put", "--media-type", "application/x@y", img, "k", f.file}, nil, "", []string{`"application/x@y"`}},
		{"digest too short", []string{"delete", "--digest", "sha256:abc", img, "k"}, nil, "", []string{`"sha256:abc"`, "--digest"}},
		{"digest unknown algorithm", []string{"get", "--digest", "md5:" + strings.Repeat("a", 32), img, "k"}, nil, "", []string{"md5"}},
		{"digest without algorithm", []string{"get", "--digest", strings.Repeat("a", 64), img, "k"}, nil, "", []string{"not a valid digest"}},

		// Environment.
		{"invalid env bool", []string{"list", img}, map[string]string{"MANIFESTO_PLAIN_HTTP": "maybe"}, "", []string{"MANIFESTO_PLAIN_HTTP", "maybe", "true or false"}},
		{"invalid env digest", []string{"delete", img, "k"}, map[string]string{"MANIFESTO_DIGEST": "nope"}, "", []string{"MANIFESTO_DIGEST", `"nope"`}},
		{"invalid env platform", []string{"list", img}, map[string]string{"MANIFESTO_PLATFORM": "linux"}, "", []string{"MANIFESTO_PLATFORM"}},

		// Credentials.
		{"password without username", []string{"list", "--password", "pw", img}, nil, "", []string{"--password", "no user name"}},
		{"env password without username", []string{"list", img}, map[string]string{"MANIFESTO_PASSWORD": "pw"}, "", []string{"MANIFESTO_PASSWORD", "no user name"}},
		{"registry password without username", []string{"list", img}, map[string]string{"REGISTRY_PASSWORD": "pw"}, "", []string{"REGISTRY_PASSWORD", "no user name"}},
		{"username without password", []string{"list", "--username", "ci", img}, nil, "", []string{"--username", "no password"}},
		{"password-stdin and password", []string{"list", "--username", "ci", "--password", "pw", "--password-stdin", img}, nil, "pw2", []string{"--password-stdin conflicts with --password"}},
		{"password-stdin and env password", []string{"list", "--username", "ci", "--password-stdin", img}, map[string]string{"MANIFESTO_PASSWORD": "pw"}, "pw2", []string{"conflicts with MANIFESTO_PASSWORD"}},
		{"password-stdin and put -", []string{"put", "--username", "ci", "--password-stdin", img, "k", "-"}, nil, "pw", []string{"FILE '-'", "--password-stdin"}},
		{"password-stdin empty", []string{"list", "--username", "ci", "--password-stdin", img}, nil, "\n", []string{"standard input was empty"}},
		{"password-stdin too long", []string{"list", "--username", "ci", "--password-stdin", img}, nil, strings.Repeat("x", maxPassword+1), []string{"more than"}},
		{"password-stdin from env and put -", []string{"put", img, "k", "-"}, map[string]string{"MANIFESTO_PASSWORD_STDIN": "true", "MANIFESTO_USERNAME": "ci"}, "pw", []string{"MANIFESTO_PASSWORD_STDIN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, out, err := parse(tt.args, tt.env, tt.in)
			if err == nil {
				t.Fatalf("FromArgs(%q) = %+v, want a usage error", tt.args, got)
			}
			if !errors.Is(err, errdef.ErrUsage) {
				t.Errorf("FromArgs(%q): %v is not ErrUsage-class", tt.args, err)
			}
			if code := errdef.ExitCode(err); code != errdef.ExitUsage {
				t.Errorf("exit code %d, want %d", code, errdef.ExitUsage)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("FromArgs(%q): %q does not mention %q", tt.args, msg, w)
				}
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("message is not one line: %q", msg)
			}
			if !reflect.DeepEqual(got, Command{}) {
				t.Errorf("FromArgs(%q) returned %+v with its error", tt.args, got)
			}
			if out != "" {
				t.Errorf("an error printed %q", out)
			}
		})
	}
}

func TestUnreadableFile(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root can read any file")
	}
	f := newFixture(t)
	if err := os.Chmod(f.file, 0); err != nil {
		t.Fatal(err)
	}
	_, _, err := parse([]string{"put", img, "k", f.file}, nil, "")
	if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), f.file) {
		t.Fatalf("got %v, want a usage error naming %s", err, f.file)
	}
}

func TestEnv(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	outFile := filepath.Join(f.dir, "out")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		in   string
		want func(c *Command) // edits the want built from args alone
		got  func(c Command) any
		exp  any
	}{
		{
			name: "timeout from flag and env",
			args: []string{"list", "--timeout", "90s", img},
			env:  map[string]string{"MANIFESTO_TIMEOUT": "5m"},
			got:  func(c Command) any { return c.Request.Timeout },
			exp:  90 * time.Second,
		},
		{
			name: "timeout from env",
			args: []string{"list", img},
			env:  map[string]string{"MANIFESTO_TIMEOUT": "5m"},
			got:  func(c Command) any { return c.Request.Timeout },
			exp:  5 * time.Minute,
		},
		{
			name: "bool from env",
			args: []string{"list", img},
			env:  map[string]string{"MANIFESTO_PLAIN_HTTP": "true", "MANIFESTO_INSECURE": "1", "MANIFESTO_JSON": "TRUE"},
			got:  func(c Command) any { return []bool{c.Request.Registry.PlainHTTP, c.Request.Registry.Insecure, c.JSON} },
			exp:  []bool{true, true, true},
		},
		{
			name: "flag false wins over env true",
			args: []string{"list", "--plain-http=false", img},
			env:  map[string]string{"MANIFESTO_PLAIN_HTTP": "true"},
			got:  func(c Command) any { return c.Request.Registry.PlainHTTP },
			exp:  false,
		},
		{
			name: "empty variable is unset",
			args: []string{"list", img},
			env:  map[string]string{"MANIFESTO_PLAIN_HTTP": "", "MANIFESTO_PLATFORM": ""},
			got:  func(c Command) any { return c.Request },
			exp:  steps.Request{Operation: steps.OpList, Image: img},
		},
		{
			name: "string from env",
			args: []string{"history", img, "k"},
			env:  map[string]string{"MANIFESTO_PLATFORM": "linux/amd64"},
			got:  func(c Command) any { return c.Request.Platform },
			exp:  "linux/amd64",
		},
		{
			name: "flag wins over env",
			args: []string{"history", "--platform", "linux/arm64", img, "k"},
			env:  map[string]string{"MANIFESTO_PLATFORM": "linux/amd64"},
			got:  func(c Command) any { return c.Request.Platform },
			exp:  "linux/arm64",
		},
		{
			name: "command flags from env",
			args: []string{"get", img, "k"},
			env:  map[string]string{"MANIFESTO_OUTPUT": outFile, "MANIFESTO_DIGEST": digest, "MANIFESTO_JSON": "true"},
			got:  func(c Command) any { return []any{c.Request.File, c.Request.Digest, c.JSON} },
			exp:  []any{outFile, digest, true},
		},
		{
			name: "put media type from env",
			args: []string{"put", img, "k", f.file},
			env:  map[string]string{"MANIFESTO_MEDIA_TYPE": "application/vnd.cyclonedx+json"},
			got:  func(c Command) any { return c.Request.MediaType },
			exp:  "application/vnd.cyclonedx+json",
		},
		{
			name: "variables of other commands are ignored",
			args: []string{"list", img},
			env:  map[string]string{"MANIFESTO_MEDIA_TYPE": "bad type", "MANIFESTO_OUTPUT": "/nonexistent/x"},
			got:  func(c Command) any { return c.Request },
			exp:  steps.Request{Operation: steps.OpList, Image: img},
		},
		{
			name: "MANIFESTO credentials",
			args: []string{"list", img},
			env:  map[string]string{"MANIFESTO_USERNAME": "ci", "MANIFESTO_PASSWORD": "pw"},
			got:  func(c Command) any { return c.Request.Registry },
			exp:  steps.RegistryOptions{Username: "ci", Password: "pw"},
		},
		{
			name: "REGISTRY fallback",
			args: []string{"list", img},
			env:  map[string]string{"REGISTRY_USERNAME": "old", "REGISTRY_PASSWORD": "oldpw"},
			got:  func(c Command) any { return c.Request.Registry },
			exp:  steps.RegistryOptions{Username: "old", Password: "oldpw"},
		},
		{
			name: "MANIFESTO beats REGISTRY",
			args: []string{"list", img},
			env: map[string]string{
				"MANIFESTO_USERNAME": "ci", "MANIFESTO_PASSWORD": "pw",
				"REGISTRY_USERNAME": "old", "REGISTRY_PASSWORD": "oldpw",
			},
			got: func(c Command) any { return c.Request.Registry },
			exp: steps.RegistryOptions{Username: "ci", Password: "pw"},
		},
		{
			name: "flags beat both",
			args: []string{"list", "--username", "me", "--password", "mine", img},
			env: map[string]string{
				"MANIFESTO_USERNAME": "ci", "MANIFESTO_PASSWORD": "pw",
				"REGISTRY_USERNAME": "old", "REGISTRY_PASSWORD": "oldpw",
			},
			got: func(c Command) any { return c.Request.Registry },
			exp: steps.RegistryOptions{Username: "me", Password: "mine"},
		},
		{
			name: "fallbacks mix per field",
			args: []string{"list", "--username", "me", img},
			env:  map[string]string{"REGISTRY_USERNAME": "old", "REGISTRY_PASSWORD": "oldpw"},
			got:  func(c Command) any { return c.Request.Registry },
			exp:  steps.RegistryOptions{Username: "me", Password: "oldpw"},
		},
		{
			name: "password-stdin beats REGISTRY_PASSWORD",
			args: []string{"list", "--password-stdin", img},
			env:  map[string]string{"REGISTRY_USERNAME": "old", "REGISTRY_PASSWORD": "oldpw"},
			in:   "piped\n",
			got:  func(c Command) any { return c.Request.Registry },
			exp:  steps.RegistryOptions{Username: "old", Password: "piped"},
		},
		{
			name: "password-stdin from env",
			args: []string{"list", img},
			env:  map[string]string{"MANIFESTO_PASSWORD_STDIN": "true", "MANIFESTO_USERNAME": "ci"},
			in:   "piped",
			got:  func(c Command) any { return c.Request.Registry },
			exp:  steps.RegistryOptions{Username: "ci", Password: "piped"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _, err := parse(tt.args, tt.env, tt.in)
			if err != nil {
				t.Fatalf("FromArgs(%q) with %v: %v", tt.args, tt.env, err)
			}
			if got := tt.got(c); !reflect.DeepEqual(got, tt.exp) {
				t.Errorf("FromArgs(%q) with %v: got %#v, want %#v", tt.args, tt.env, got, tt.exp)
			}
		})
	}
}

// TestEveryFlagHasAVariable walks the real command tree: every flag but
// --help of every command is reachable through EnvName.
func TestEveryFlagHasAVariable(t *testing.T) {
	t.Parallel()
	var o options
	root := newRoot(&o, func(*cobra.Command, []string) {})
	seen := 0
	for _, c := range root.Commands() {
		if err := c.ParseFlags(nil); err != nil { // merges the persistent flags
			t.Fatal(err)
		}
		env := map[string]string{}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name == flagHelp {
				return
			}
			v := "x"
			if f.Value.Type() == "bool" {
				v = "true"
			}
			env[EnvName(f.Name)] = v
		})
		from, err := applyEnv(c, mapEnv(env))
		if err != nil {
			t.Fatalf("%s: %v", c.Name(), err)
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name == flagHelp {
				if _, ok := from[f.Name]; ok {
					t.Errorf("%s: --help was set from the environment", c.Name())
				}
				return
			}
			seen++
			if from[f.Name] != EnvName(f.Name) {
				t.Errorf("%s --%s: origin %q, want %s", c.Name(), f.Name, from[f.Name], EnvName(f.Name))
			}
			if !strings.Contains(f.Usage, "$"+EnvName(f.Name)) {
				t.Errorf("%s --%s: help %q does not name its variable", c.Name(), f.Name, f.Usage)
			}
		})
	}
	if seen == 0 {
		t.Fatal("no flags seen")
	}
	for flag, want := range map[string]string{
		"plain-http": "MANIFESTO_PLAIN_HTTP", "password-stdin": "MANIFESTO_PASSWORD_STDIN",
		"media-type": "MANIFESTO_MEDIA_TYPE", "json": "MANIFESTO_JSON",
	} {
		if got := EnvName(flag); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", flag, got, want)
		}
	}
}

func TestPasswordStdinTrimsOneNewline(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"pw":          "pw",
		"pw\n":        "pw",
		"pw\r\n":      "pw",
		"pw\n\n":      "pw\n",
		" pw \n":      " pw ",
		"p w\tx\n":    "p w\tx",
		"line1\nl2\n": "line1\nl2",
	} {
		c, _, err := parse([]string{"list", "--username", "ci", "--password-stdin", img}, nil, in)
		if err != nil {
			t.Fatalf("stdin %q: %v", in, err)
		}
		if got := c.Request.Registry.Password; got != want {
			t.Errorf("stdin %q: password %q, want %q", in, got, want)
		}
	}
}

func TestPasswordStdinNoReader(t *testing.T) {
	t.Parallel()
	_, err := FromArgs([]string{"list", "--username", "ci", "--password-stdin", img}, mapEnv(nil), nil, nil)
	if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "no standard input") {
		t.Fatalf("got %v", err)
	}
}

func TestStdinUntouchedWithoutPasswordStdin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	in := strings.NewReader("value")
	for _, args := range [][]string{
		{"put", img, "k", "-"},
		{"put", img, "k", f.file},
		{"list", img},
		{"version"},
	} {
		if _, err := FromArgs(args, mapEnv(nil), in, nil); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if in.Len() != len("value") {
			t.Fatalf("%q read stdin", args)
		}
	}
}

func TestNoPasswordInErrors(t *testing.T) {
	t.Parallel()
	const pw = "Hunter2-s3cret"
	tests := []struct {
		name string
		args []string
		env  map[string]string
		in   string
	}{
		{"flag, no username", []string{"list", "--password", pw, img}, nil, ""},
		{"flag, bad image", []string{"list", "--username", "u", "--password", pw, "Bad!"}, nil, ""},
		{"flag, conflict", []string{"list", "--username", "u", "--password", pw, "--password-stdin", img}, nil, pw},
		{"flag, unknown flag after it", []string{"list", "--password=" + pw, "--nope", img}, nil, ""},
		{"password pasted as an argument", []string{"--username", "u", "--password", pw, "list", img, pw}, nil, ""},
		{"password as an unknown command", []string{"--password", pw, pw}, nil, ""},
		{"env, no username", []string{"list", img}, map[string]string{"MANIFESTO_PASSWORD": pw}, ""},
		{"env, pasted as image", []string{"list", pw + "!"}, map[string]string{"MANIFESTO_PASSWORD": pw}, ""},
		{"registry env, no username", []string{"list", img}, map[string]string{"REGISTRY_PASSWORD": pw}, ""},
		{"stdin, no username", []string{"list", "--password-stdin", img}, nil, pw + "\n"},
		{"stdin, conflict with env", []string{"list", "--password-stdin", img}, map[string]string{"MANIFESTO_PASSWORD": pw}, pw},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, out, err := parse(tt.args, tt.env, tt.in)
			if err == nil {
				t.Fatal("want an error")
			}
			if !errors.Is(err, errdef.ErrUsage) {
				t.Errorf("%v is not ErrUsage-class", err)
			}
			if strings.Contains(err.Error(), pw) || strings.Contains(out, pw) {
				t.Errorf("the password leaked: %q %q", err, out)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"Usage:", "manifesto [command]", "MANIFESTO_FOO_BAR", "REGISTRY_USERNAME", "Exit codes", "unauthorized", "put", "repair", "--password-stdin"}},
		{[]string{"-h"}, []string{"Available Commands:"}},
		{[]string{}, []string{"Available Commands:"}},
		{nil, []string{"Available Commands:"}}, // not os.Args
		{[]string{"put", "--help"}, []string{"manifesto put IMAGE KEY FILE", "--media-type", "$MANIFESTO_MEDIA_TYPE", "Global Flags:", "$MANIFESTO_PLAIN_HTTP", "Examples:"}},
		{[]string{"get", "-h"}, []string{"-o, --output FILE", "--digest", "needs -o"}},
		{[]string{"help", "delete"}, []string{"manifesto delete IMAGE KEY", "--digest"}},
		{[]string{"repair", "--help", "too", "many"}, []string{"fallback referrers index"}},
		{[]string{"version", "--help"}, []string{"manifesto version"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			c, err := FromArgs(tt.args, mapEnv(nil), strings.NewReader(""), &out)
			if err != nil {
				t.Fatalf("FromArgs(%q): %v", tt.args, err)
			}
			if !reflect.DeepEqual(c, Command{}) {
				t.Errorf("FromArgs(%q) = %+v, want the zero Command", tt.args, c)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("help for %q does not contain %q:\n%s", tt.args, w, out.String())
				}
			}
		})
	}
}

func TestShortPasswordsKeepMessagesReadable(t *testing.T) {
	t.Parallel()
	_, _, err := parse([]string{"list", "--username", "u", "--password", "pass", "--password-stdin", img}, nil, "x")
	if err == nil || !strings.Contains(err.Error(), "--password-stdin conflicts with --password") {
		t.Fatalf("got %v", err)
	}
	_, _, err = parse([]string{"--username", "u", "--password", "pw", "list", img, "pw"}, nil, "")
	if err == nil || strings.Contains(err.Error(), `"pw"`) || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("got %v, want the short password redacted", err)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ msg, secret, want string }{
		{`x "pw" y`, "pw", `x "[redacted]" y`},
		{`--password pw`, "pw", `--password [redacted]`},
		{`pw`, "pw", `[redacted]`},
		{`pwpw pw`, "pw", `pwpw [redacted]`},
		{`u:pw@host`, "pw", `u:[redacted]@host`},
		{`a-long-secret-value!`, "long-secret", `a-[redacted]-value!`},
		{`xlongsecretvaluex`, "longsecretvalue", `x[redacted]x`},
	} {
		if got := secret.New(tt.secret).Redact(tt.msg); got != tt.want {
			t.Errorf("redact(%q, %q) = %q, want %q", tt.msg, tt.secret, got, tt.want)
		}
	}
}
