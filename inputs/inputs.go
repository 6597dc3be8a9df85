// Package inputs turns every command-line input (arguments, flags,
// environment variables, a password on standard input) into one validated
// Command. Nothing here touches the network or writes anything but help text:
// when FromArgs returns a Command, its Request is ready for package steps, and
// every way it can be wrong has been reported as an errdef.ErrUsage error.
package inputs

import (
	"errors"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/steps"
)

// Command is what the command line asked for.
type Command struct {
	// Name is "put", "get", "list", "history", "delete", "repair", "demo",
	// "version", or "" when only help was printed.
	Name string
	// Request is set for the five data operations and repair.
	Request steps.Request
	// JSON is --json.
	JSON bool
}

// FromArgs parses args (without the program name). env looks up environment
// variables (os.Getenv in production; a map in tests). stdin is read only for
// --password-stdin. Help text goes to out, and then FromArgs returns a
// Command with an empty Name and a nil error. Every error is of class
// errdef.ErrUsage, fits on one line and never contains a password.
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

	r := &reader{o: &o, env: env, stdin: stdin}
	if _, err := root.ExecuteC(); err != nil {
		return Command{}, r.clean(err)
	}
	if ran == nil {
		return Command{}, nil // help was printed
	}
	cmd, err := r.command(ran, ranArgs)
	if err != nil {
		return Command{}, r.clean(err)
	}
	return cmd, nil
}

// reader turns the command cobra chose into a Command.
type reader struct {
	o     *options
	env   func(string) string
	stdin io.Reader
	from  origin
	// stdinPassword is the password read for --password-stdin, kept to scrub
	// it from errors.
	stdinPassword string
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
			if extra == "" && f.Name != flagJSON && f.Name != flagHelp {
				extra = f.Name
			}
		})
		if extra != "" {
			return Command{}, errdef.Usagef("%s does not take --%s", cmd.CommandPath(), extra)
		}
		return Command{Name: name, JSON: r.o.json}, nil
	}

	req, err := r.request(name, args)
	if err != nil {
		return Command{}, err
	}
	return Command{Name: name, Request: req, JSON: r.o.json}, nil
}

// request validates the data operations. Checks that need no reading come
// first; standard input is read last, once everything else is known good.
func (r *reader) request(op string, args []string) (steps.Request, error) {
	o := r.o
	req := steps.Request{
		Operation: op,
		Image:     args[0],
		Platform:  o.platform,
		MediaType: o.mediaType,
		Digest:    o.digest,
		Registry: steps.RegistryOptions{
			PlainHTTP: o.plainHTTP,
			Insecure:  o.insecure,
		},
	}

	if o.passwordStdin {
		if src, ok := r.from[flagPassword]; ok {
			return req, errdef.Usagef("%s conflicts with %s: give the password one way only",
				r.source(flagPasswordStdin), src)
		}
		if op == steps.OpPut && len(args) == 3 && args[2] == "-" {
			return req, errdef.Usagef("put FILE '-' reads the value from standard input, which %s already uses for the password; pass the value as a file", r.source(flagPasswordStdin))
		}
	}

	if err := checkImage(req.Image, o.plainHTTP); err != nil {
		return req, err
	}
	if len(args) > 1 {
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
			if err := checkMediaType(req.MediaType, r.source(flagMediaType)); err != nil {
				return req, err
			}
		}
	case steps.OpGet:
		if o.output != "-" {
			req.File = o.output
		}
		if req.File != "" {
			if err := checkOutputFile(req.File, r.source(flagOutput)); err != nil {
				return req, err
			}
		} else if o.json {
			return req, errdef.Usagef("get %s needs -o FILE: without it the value itself is written to standard output", r.source(flagJSON))
		}
	}

	if req.Digest != "" {
		if err := checkDigest(req.Digest, r.source(flagDigest)); err != nil {
			return req, err
		}
	}
	if req.Platform != "" {
		if err := checkPlatform(req.Platform, r.source(flagPlatform)); err != nil {
			return req, err
		}
	}

	var err error
	if req.Trust, err = r.trust(); err != nil {
		return req, err
	}
	if op == steps.OpTrustInit && req.Trust.Backend == "" {
		return req, errdef.Usagef("trust init needs --trust notary and --notary-server")
	}

	creds, err := r.credentials()
	if err != nil {
		return req, err
	}
	req.Registry.Username, req.Registry.Password = creds.Username, creds.Password
	return req, nil
}

// trust reads the trust flags (and their MANIFESTO_ variables).
func (r *reader) trust() (steps.TrustOptions, error) {
	get := func(input string) trustValue {
		flag := flagOf(input)
		_, set := r.from[flag]
		var v string
		switch input {
		case inVerify:
			v = strconv.FormatBool(r.o.verify)
		case inNotaryTOFU:
			v = strconv.FormatBool(r.o.notaryTOFU)
		default:
			v = *r.o.trust[input]
		}
		return trustValue{value: v, from: r.source(flag), set: set}
	}
	home, _ := os.UserHomeDir()
	return buildTrust(get, home, func(s string) (bool, bool) {
		b, err := strconv.ParseBool(s)
		return b, err == nil
	})
}

// credentials resolves user name and password: flag, then MANIFESTO_
// variable (both already applied), then --password-stdin, then the
// REGISTRY_ fallbacks.
func (r *reader) credentials() (steps.RegistryOptions, error) {
	var c steps.RegistryOptions
	o := r.o
	c.Username, c.Password = o.username, o.password
	userSrc, passSrc := r.from[flagUsername], r.from[flagPassword]

	if _, set := r.from[flagUsername]; !set {
		if v := r.env(EnvRegistryUsername); v != "" {
			c.Username, userSrc = v, EnvRegistryUsername
		}
	}
	switch {
	case o.passwordStdin:
		p, err := r.readPassword()
		if err != nil {
			return c, err
		}
		c.Password, passSrc = p, r.source(flagPasswordStdin)
	case passSrc == "":
		if v := r.env(EnvRegistryPassword); v != "" {
			c.Password, passSrc = v, EnvRegistryPassword
		}
	}

	switch {
	case c.Password != "" && c.Username == "":
		return c, errdef.Usagef("a password was given (%s) but no user name: set --username or %s", passSrc, EnvName(flagUsername))
	case c.Username != "" && c.Password == "":
		return c, errdef.Usagef("a user name was given (%s) but no password: use --password-stdin, --password or %s", userSrc, EnvName(flagPassword))
	}
	return c, nil
}

// maxPassword bounds what --password-stdin reads.
const maxPassword = 64 << 10

func (r *reader) readPassword() (string, error) {
	src := r.source(flagPasswordStdin)
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
	r.stdinPassword = p
	if p == "" {
		return "", errdef.Usagef("%s: standard input was empty", src)
	}
	return p, nil
}

// source names where a flag's value came from, for messages: "--digest" or
// "MANIFESTO_DIGEST".
func (r *reader) source(flag string) string {
	if s, ok := r.from[flag]; ok {
		return s
	}
	return "--" + flag
}

// clean makes sure err is a one-line usage error without any password in it.
func (r *reader) clean(err error) error {
	msg := oneLine(err.Error())
	changed := msg != err.Error()
	for _, secret := range []string{r.o.password, r.stdinPassword, r.env(EnvName(flagPassword)), r.env(EnvRegistryPassword)} {
		for _, s := range secretForms(secret) {
			if s != "" {
				if m := redact(msg, s); m != msg {
					msg, changed = m, true
				}
			}
		}
	}
	if !changed && errors.Is(err, errdef.ErrUsage) {
		return err
	}
	return errdef.Usagef("%s", msg)
}

// secretForms are the ways a secret can appear in a message: as given,
// trimmed, folded onto one line, and escaped the way %q prints it (quotes,
// backslashes and newlines escaped), each of which must be redacted.
func secretForms(secret string) []string {
	forms := []string{secret, strings.TrimSpace(secret), oneLine(secret)}
	for _, f := range forms[:3] {
		if q := strconv.Quote(f); len(q) > 2 && q[1:len(q)-1] != f {
			forms = append(forms, q[1:len(q)-1])
		}
	}
	return forms
}

// longSecret is the length from which a secret is redacted wherever it
// occurs; shorter ones only where they stand alone, so that a password "pass"
// leaves "--password" readable.
const longSecret = 8

// redact replaces secret in msg with "[redacted]".
func redact(msg, secret string) string {
	if len(secret) >= longSecret {
		return strings.ReplaceAll(msg, secret, "[redacted]")
	}
	var b strings.Builder
	i := 0
	for {
		j := strings.Index(msg[i:], secret)
		if j < 0 {
			break
		}
		j += i
		end := j + len(secret)
		if !isWordByte(msg, j-1) && !isWordByte(msg, end) {
			b.WriteString(msg[i:j])
			b.WriteString("[redacted]")
			i = end
			continue
		}
		b.WriteString(msg[i : j+1])
		i = j + 1
	}
	b.WriteString(msg[i:])
	return b.String()
}

// isWordByte reports whether msg[k] exists and is part of a word (ASCII
// letter, digit, '_' or any byte of a non-ASCII character).
func isWordByte(msg string, k int) bool {
	if k < 0 || k >= len(msg) {
		return false
	}
	c := msg[k]
	return c >= 0x80 || c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}
