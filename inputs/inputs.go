// Package inputs turns every command-line input (arguments, flags,
// environment variables, a password on standard input) into one validated
// Command. Nothing here touches the network or writes anything but help text:
// when FromArgs returns a Command, its Request is ready for package steps, and
// every way it can be wrong has been reported as an errdef.ErrUsage error.
// The declaration of every option is the table in options.go.
package inputs

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/secret"
	"github.com/manifesto-dev/manifesto/steps"
)

// Command is what the command line asked for.
type Command struct {
	// Name is "put", "get", "list", "history", "delete", "repair", "search",
	// "migrate", "demo", "version", or "" when only help was printed.
	Name string
	// Request is set for the data operations, repair, search and migrate.
	Request steps.Request
	// JSON is --json.
	JSON bool
	// Secrets holds every secret the command line and its environment
	// carried (passwords, keys, tokens, the Basic form of the credentials),
	// for redacting everything the run prints; set when Name is.
	Secrets *secret.Set
}

// FromArgs parses args (without the program name). env looks up environment
// variables (os.Getenv in production; a map in tests). stdin is read only for
// --password-stdin. Help text goes to out, and then FromArgs returns a
// Command with an empty Name and a nil error. Every error is of class
// errdef.ErrUsage, fits on one line and never contains a secret.
func FromArgs(args []string, env func(string) string, stdin io.Reader, out io.Writer) (Command, error) {
	if env == nil {
		env = func(string) string { return "" }
	}
	if out == nil {
		out = io.Discard
	}
	if args == nil {
		args = []string{} // cobra reads os.Args when given nil
	}

	var (
		o       options
		ran     *cobra.Command
		ranArgs []string
	)
	root := newRoot(&o, func(cmd *cobra.Command, a []string) { ran, ranArgs = cmd, a })
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(out)
	root.SetIn(strings.NewReader("")) // stdin belongs to --password-stdin only

	r := &reader{o: &o, env: env, stdin: stdin, secrets: secret.New()}
	_, err := root.ExecuteC()
	// Secrets first, whatever failed: the flags cobra parsed and every
	// variable of a secret option.
	registerSecrets(r.secrets, isCLIOption, r.secretValues)
	if err != nil {
		return Command{}, clean(r.secrets, err)
	}
	if ran == nil {
		return Command{}, nil // help was printed
	}
	cmd, err := r.command(ran, ranArgs)
	if err != nil {
		return Command{}, clean(r.secrets, err)
	}
	cmd.Secrets = r.secrets
	return cmd, nil
}

// isCLIOption selects the options of the command line.
func isCLIOption(o option) bool { return o.cli }

// reader turns the command cobra chose into a Command.
type reader struct {
	o       *options
	env     func(string) string
	stdin   io.Reader
	from    origin
	secrets *secret.Set
	// destination is copy's DST argument.
	destination string
}

// transferGiven is given, with copy's DST argument as input destination.
func (r *reader) transferGiven(name string) given {
	if name == inDestination {
		return given{value: r.destination, from: "DST", set: r.destination != ""}
	}
	return r.given(name)
}

// secretValues are the values of a secret option: its flag's and its
// variable's.
func (r *reader) secretValues(o option) []string {
	if o.env {
		return []string{r.env(o.name)}
	}
	return []string{r.o.get(o.name), r.env(EnvName(o.name))}
}

func (r *reader) command(cmd *cobra.Command, args []string) (Command, error) {
	name := cmd.Name()
	if name == "init" && cmd.Parent() != nil && cmd.Parent().Name() == "trust" {
		name = steps.OpTrustInit
	}
	from, err := applyEnv(cmd, r.env)
	if err != nil {
		return Command{}, err
	}
	r.from = from
	if err := checkEmptyFlags(cmd); err != nil {
		return Command{}, err
	}

	switch name {
	case cmdVersion, cmdDemo, cmdStep:
		// Only --json means something here. Variables are commonly set
		// for a whole CI job, so only the command line is checked.
		var extra string
		cmd.Flags().Visit(func(f *pflag.Flag) {
			if extra == "" && f.Name != inJSON && f.Name != flagHelp {
				extra = f.Name
			}
		})
		if extra != "" {
			return Command{}, errdef.Usagef("%s does not take --%s", cmd.CommandPath(), extra)
		}
		return Command{Name: name, JSON: r.o.on(inJSON)}, nil
	}

	req, err := r.request(name, args)
	if err != nil {
		return Command{}, err
	}
	return Command{Name: name, Request: req, JSON: r.o.on(inJSON)}, nil
}

// request validates the data operations. Checks that need no reading come
// first; standard input is read last, once everything else is known good.
func (r *reader) request(op string, args []string) (steps.Request, error) {
	o := r.o
	req := steps.Request{
		Operation: op,
		Image:     args[0],
		Platform:  o.get(inPlatform),
		MediaType: o.get(inMediaType),
		Digest:    o.get(inDigest),
		Registry: steps.RegistryOptions{
			PlainHTTP: o.on(inPlainHTTP),
			Insecure:  o.on(inInsecure),
		},
	}

	if o.on(inPasswordStdin) {
		if src, ok := r.from[flagOf(inPassword)]; ok {
			return req, errdef.Usagef("%s conflicts with %s: give the password one way only",
				r.source(inPasswordStdin), src)
		}
		if op == steps.OpPut && len(args) == 3 && args[2] == "-" {
			return req, errdef.Usagef("put FILE '-' reads the value from standard input, which %s already uses for the password; pass the value as a file", r.source(inPasswordStdin))
		}
	}

	if isRepositoryOp(op) {
		if err := checkRepository(req.Image, req.Registry.PlainHTTP); err != nil {
			return req, err
		}
		if req.Platform != "" {
			return req, errdef.Usagef("%s does not apply to %s: it works on every image of the repository", r.source(inPlatform), op)
		}
		var err error
		req.Search, req.Migrate, err = repositorySettings(op, o.get, r.source,
			func(name string) (bool, error) { return o.on(name), nil })
		if err != nil {
			return req, err
		}
	} else if err := checkImage(req.Image, req.Registry.PlainHTTP); err != nil {
		return req, err
	}
	if op == steps.OpCopy {
		r.destination = args[1]
	} else if len(args) > 1 {
		req.Key = args[1]
		if err := checkKey(req.Key); err != nil {
			return req, err
		}
	}

	switch op {
	case steps.OpPut:
		req.File = args[2]
		if err := checkInputFile(req.File); err != nil {
			return req, err
		}
		if req.MediaType != "" {
			if err := checkMediaType(req.MediaType, r.source(inMediaType)); err != nil {
				return req, err
			}
		}
	case steps.OpGet:
		if out := o.get(inOutput); out != "-" {
			req.File = out
		}
		if req.File != "" {
			if err := checkOutputFile(req.File, r.source(inOutput)); err != nil {
				return req, err
			}
		} else if o.on(inJSON) {
			return req, errdef.Usagef("get %s needs -o FILE: without it the value itself is written to standard output", r.source(inJSON))
		}
	case steps.OpCheck:
		var docs []policyDoc
		if file := o.get(inPolicyFile); file != "" {
			src := r.source(inPolicyFile)
			data, err := readPolicyFile(file, src)
			if err != nil {
				return req, err
			}
			docs = append(docs, policyDoc{data: data, where: fmt.Sprintf("policy file %q", file)})
		}
		p, err := buildPolicy(docs, o.get(inRequire), r.source(inRequire))
		if err != nil {
			return req, err
		}
		req.Policy = p
	}

	if req.Digest != "" {
		if err := checkDigest(req.Digest, r.source(inDigest)); err != nil {
			return req, err
		}
	}
	if req.Platform != "" {
		if err := checkPlatform(req.Platform, r.source(inPlatform)); err != nil {
			return req, err
		}
	}
	if v := o.get(inTimeout); v != "" {
		var err error
		if req.Timeout, err = parseTimeout(v, r.source(inTimeout)); err != nil {
			return req, err
		}
	}

	get := r.given
	if err := buildTransfer(op, r.transferGiven, parseFlagBool, &req); err != nil {
		return req, err
	}
	var err error
	if op == steps.OpTrustInit {
		if get, err = trustInitGiven(r.given); err != nil {
			return req, err
		}
	}
	if req.Trust, err = buildTrust(get, r.homeDir(), parseFlagBool, r.secrets); err != nil {
		return req, err
	}

	if req.Registry.Username, req.Registry.Password, err = r.credentials(); err != nil {
		return req, err
	}
	r.secrets.AddBasic(req.Registry.Username, req.Registry.Password)
	if op == steps.OpCopy {
		// One set of explicit credentials serves both ends; the keychains
		// answer per registry.
		req.Copy.Registry = req.Registry
	}
	return req, nil
}

// given is an option as the command line gave it: a flag (or its MANIFESTO_
// variable, already applied), or a variable read under its own name.
func (r *reader) given(name string) given {
	if optionNamed(name).env {
		v := r.env(name)
		return given{value: v, from: name, set: v != ""}
	}
	_, set := r.from[flagOf(name)]
	return given{value: r.o.get(name), from: r.source(name), set: set}
}

// homeDir is the user's home directory for the default trust_dir.
func (r *reader) homeDir() string {
	home, _ := os.UserHomeDir()
	return home
}

// parseFlagBool parses a boolean the way flags do.
func parseFlagBool(s string) (bool, bool) {
	b, err := strconv.ParseBool(s)
	return b, err == nil
}

// credentials resolves user name and password: flag, then MANIFESTO_
// variable (both already applied), then --password-stdin, then the
// REGISTRY_ fallbacks.
func (r *reader) credentials() (user, pass string, err error) {
	u, p := r.given(inUsername), r.given(inPassword)
	user, pass = u.value, p.value
	userSrc, passSrc := "", ""
	if u.set {
		userSrc = u.from
	}
	if p.set {
		passSrc = p.from
	}
	if fb := r.given(envRegistryUsername); !u.set && fb.set {
		user, userSrc = fb.value, fb.from
	}
	switch fb := r.given(envRegistryPassword); {
	case r.o.on(inPasswordStdin):
		if pass, err = r.readPassword(); err != nil {
			return "", "", err
		}
		passSrc = r.source(inPasswordStdin)
	case !p.set && fb.set:
		pass, passSrc = fb.value, fb.from
	}

	switch {
	case pass != "" && user == "":
		return "", "", errdef.Usagef("a password was given (%s) but no user name: set --username or %s", passSrc, EnvName(inUsername))
	case user != "" && pass == "":
		return "", "", errdef.Usagef("a user name was given (%s) but no password: use --password-stdin, --password or %s", userSrc, EnvName(inPassword))
	}
	return user, pass, nil
}

// maxPassword bounds what --password-stdin reads.
const maxPassword = 64 << 10

func (r *reader) readPassword() (string, error) {
	src := r.source(inPasswordStdin)
	if r.stdin == nil {
		return "", errdef.Usagef("%s: there is no standard input to read the password from", src)
	}
	b, err := io.ReadAll(io.LimitReader(r.stdin, maxPassword+1))
	if err != nil {
		return "", errdef.Usagef("%s: reading the password from standard input: %v", src, err)
	}
	if len(b) > maxPassword {
		return "", errdef.Usagef("%s: standard input holds more than %d bytes, too much for a password", src, maxPassword)
	}
	p := strings.TrimSuffix(string(b), "\n")
	p = strings.TrimSuffix(p, "\r")
	r.secrets.Add(p)
	if p == "" {
		return "", errdef.Usagef("%s: standard input was empty", src)
	}
	return p, nil
}

// source names where an option's value came from, for messages: "--digest"
// or "MANIFESTO_DIGEST".
func (r *reader) source(name string) string {
	if s, ok := r.from[flagOf(name)]; ok {
		return s
	}
	return "--" + flagOf(name)
}
