package inputs

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// EnvPrefix starts the environment variable of every flag and step input.
const EnvPrefix = "MANIFESTO_"

// EnvName is the environment variable that stands for a flag or a step
// input: --foo-bar and foo_bar are MANIFESTO_FOO_BAR.
func EnvName(flag string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// origin records where each flag's value came from: "--name" for the
// command line, the variable's name for the environment. Flags left at their
// default are absent.
type origin map[string]string

// applyEnv fills every flag of cmd (its own and the inherited persistent ones)
// that was not given on the command line from its environment variable. An
// empty variable counts as unset. Values go through flag.Value.Set, so a
// variable is parsed exactly like the flag (bools accept true/false/1/0).
func applyEnv(cmd *cobra.Command, env func(string) string) (origin, error) {
	from := origin{}
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Name == flagHelp {
			return
		}
		if f.Changed {
			from[f.Name] = "--" + f.Name
			return
		}
		name := EnvName(f.Name)
		v := env(name)
		if v == "" {
			return
		}
		if serr := f.Value.Set(v); serr != nil {
			if optionNamed(inputOf(f.Name)).secret {
				err = errdef.Usagef("environment variable %s has an invalid value for --%s", name, f.Name)
			} else {
				err = errdef.Usagef("environment variable %s=%q is not a valid value for --%s (want %s)", name, v, f.Name, wantOf(f))
			}
			return
		}
		from[f.Name] = name
	})
	return from, err
}

// inputOf is the option of a CLI flag: --notary-server is notary_server.
func inputOf(flag string) string { return strings.ReplaceAll(flag, "-", "_") }

// wantOf describes what a flag accepts, for error messages.
func wantOf(f *pflag.Flag) string {
	if f.Value.Type() == "bool" {
		return "true or false"
	}
	return "a " + f.Value.Type()
}
