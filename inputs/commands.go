package inputs

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/oneline"
	"github.com/manifesto-dev/manifesto/store"
)

// Command names that carry no Request.
const (
	cmdDemo    = "demo"
	cmdStep    = "step"
	cmdVersion = "version"
)

// flagHelp is cobra's own flag, the one flag without a variable.
const flagHelp = "help"

// captureFunc records the command cobra chose and its positional arguments.
type captureFunc func(cmd *cobra.Command, args []string)

var rootLong = fmt.Sprintf(`manifesto stores named metadata entries ("keys") next to a container image in an
OCI registry or an OCI image layout: an SBOM, a scan report, a build log, any
file. Every put adds a new immutable version of a key; get reads the newest
version and history lists them all. Entries are OCI artifacts whose subject is
the image: storing them never changes the image or its digest.

IMAGE
  A registry reference (registry.example.com/team/app:1.4, alpine,
  ghcr.io/org/app@sha256:...) or an OCI image layout directory
  (oci:PATH, oci:PATH:TAG or oci:PATH@DIGEST). When IMAGE is a multi-platform
  index, --platform os/arch[/variant] picks one platform's manifest as the
  subject.

KEY
  Lower-case letters, digits, '.', '_' and '-', starting and ending with a
  letter or digit, at most %d characters (sbom, test-report, build.log).

Environment
  Every flag can also be set through the environment: flag --foo-bar is
  variable MANIFESTO_FOO_BAR, for example MANIFESTO_PLAIN_HTTP=true or
  MANIFESTO_USERNAME=ci. A flag given on the command line wins over its
  variable; an empty variable counts as unset. REGISTRY_USERNAME and
  REGISTRY_PASSWORD are read last, when neither the flag nor the MANIFESTO_
  variable is set.

Credentials
  --username with --password, or with --password-stdin to read the password
  from standard input (one trailing newline is removed). Prefer
  --password-stdin or MANIFESTO_PASSWORD: a --password on the command line is
  visible to other users of the machine. A password without a user name, or a
  user name without a password, is a usage error.

Exit codes
  %d  success
  %d  failure: network, registry or I/O error
  %d  usage error: bad command, argument, flag or environment variable
     (nothing was sent anywhere)
  %d  not found: the image, the key or the entry does not exist
  %d  unauthorized: the registry refused the credentials
  %d  policy not met (check): a requirement failed or its key is missing`,
	store.MaxKeyLen,
	errdef.ExitOK, errdef.ExitFailure, errdef.ExitUsage, errdef.ExitNotFound, errdef.ExitUnauthorized, errdef.ExitPolicyNotMet)

const rootExample = `  manifesto put registry.example.com/team/app:1.4 sbom sbom.spdx.json
  manifesto get registry.example.com/team/app:1.4 sbom -o sbom.spdx.json
  manifesto list registry.example.com/team/app:1.4
  manifesto put --help`

// newRoot builds the command tree. Every RunE only calls capture; all checks
// and all reading happen in FromArgs after cobra returns.
func newRoot(o *options, capture captureFunc) *cobra.Command {
	root := &cobra.Command{
		Use:           "manifesto",
		Short:         "Store named metadata next to container images in an OCI registry",
		Long:          rootLong,
		Example:       rootExample,
		SilenceErrors: true,
		SilenceUsage:  true,
		// The root runs only to print help: no "manifesto [flags]" line.
		DisableFlagsInUseLine: true,
		// Runnable, so that unknown commands reach rootArgs (a root without
		// RunE turns them into help). Without arguments it prints help.
		Args: rootArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		// Only help exists besides our commands; shell completion scripts are
		// not part of the CLI contract.
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		// rootArgs gives a one-line suggestion instead.
		DisableSuggestions:         true,
		SuggestionsMinimumDistance: 2,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return errdef.Usagef("%s: %v (see '%s --help')", c.CommandPath(), oneline.Line(err.Error()), c.CommandPath())
	})

	run := func(cmd *cobra.Command, args []string) error {
		capture(cmd, args)
		return nil
	}

	put := &cobra.Command{
		Use:   "put IMAGE KEY FILE",
		Short: "Store FILE as a new version of KEY on IMAGE",
		Long: `put uploads FILE as a new version of KEY on IMAGE. Earlier versions are kept
(see history); get returns the newest. FILE is a regular file, or '-' to read
the value from standard input (not together with --password-stdin).

The value's media type is inferred from FILE's name: .json application/json,
.yaml/.yml application/yaml, .xml application/xml, .sarif
application/sarif+json, .txt text/plain, anything else (and '-')
application/octet-stream. Set it with --media-type type/subtype[+suffix]
(no parameters).`,
		Example: `  manifesto put registry.example.com/team/app:1.4 sbom sbom.spdx.json
  trivy image -f sarif registry.example.com/team/app:1.4 | \
    manifesto put --media-type application/sarif+json registry.example.com/team/app:1.4 scan -
  manifesto put oci:./build/layout:latest build-log build.log`,
		Args: exactArgs("IMAGE", "KEY", "FILE"),
		RunE: run,
	}

	get := &cobra.Command{
		Use:   "get IMAGE KEY",
		Short: "Write the newest version of KEY to standard output or a file",
		Long: `get writes the value of KEY on IMAGE: the newest version, or the exact
version named by --digest (a digest shown by history). The bytes go to
standard output, or to FILE with -o (created or replaced; its directory must
exist). --json prints a description of the entry instead of the value, so it
needs -o. Exit code 3 when IMAGE has no such key.`,
		Example: `  manifesto get registry.example.com/team/app:1.4 sbom > sbom.spdx.json
  manifesto get registry.example.com/team/app:1.4 sbom -o sbom.spdx.json --json
  manifesto get --digest sha256:... registry.example.com/team/app:1.4 sbom`,
		Args: exactArgs("IMAGE", "KEY"),
		RunE: run,
	}

	list := &cobra.Command{
		Use:   "list IMAGE",
		Short: "List the keys stored on IMAGE",
		Long: `list shows every key stored on IMAGE with its newest version, sorted by key.
Use --json for a machine-readable list.`,
		Example: `  manifesto list registry.example.com/team/app:1.4
  manifesto list --json oci:./build/layout:latest`,
		Args: exactArgs("IMAGE"),
		RunE: run,
	}

	history := &cobra.Command{
		Use:   "history IMAGE KEY",
		Short: "List every version of KEY, newest first",
		Long: `history lists every stored version of KEY on IMAGE, newest first, with the
digest that get --digest and delete --digest accept. Exit code 3 when IMAGE
has no such key.`,
		Example: `  manifesto history registry.example.com/team/app:1.4 sbom
  manifesto history --json registry.example.com/team/app:1.4 sbom`,
		Args: exactArgs("IMAGE", "KEY"),
		RunE: run,
	}

	del := &cobra.Command{
		Use:   "delete IMAGE KEY",
		Short: "Delete KEY (every version, or one with --digest) from IMAGE",
		Long: `delete removes every version of KEY from IMAGE, or only the version named by
--digest. The image itself is not touched. Exit code 3 when there is nothing
to delete.`,
		Example: `  manifesto delete registry.example.com/team/app:1.4 build-log
  manifesto delete --digest sha256:... registry.example.com/team/app:1.4 build-log`,
		Args: exactArgs("IMAGE", "KEY"),
		RunE: run,
	}

	repair := &cobra.Command{
		Use:   "repair IMAGE",
		Short: "Rebuild IMAGE's fallback referrers index from durable traces",
		Long: `repair rebuilds the fallback referrers index of IMAGE (the sha256-<digest>
tag used on registries without the referrers API) from the durable traces
that every put leaves, restoring entries that went missing from it, for
example after concurrent writers overwrote each other's index updates.`,
		Example: `  manifesto repair registry.example.com/team/app:1.4`,
		Args:    exactArgs("IMAGE"),
		RunE:    run,
	}

	check := &cobra.Command{
		Use:   "check IMAGE",
		Short: "Judge IMAGE against a policy: may it go? (exit 5 when not)",
		Long: `check judges the newest version of each required key on IMAGE: the key must
exist, be at most max_age old, and make its CEL expression true. With --trust
only the newest verified version counts. The requirements come from --policy
FILE (YAML) and --require (repeatable):

  require:
    - key: test-results
      expr: value.failed == 0 && value.passed > 0
      max_age: 72h
    - key: approval
      expr: value.approved && entry.signer != ""
    - key: seccomp            # presence only

Expressions see value (the value, parsed by media type: JSON and YAML as maps
and lists, a JUnit XML report as {tests, failures, errors, skipped, time,
suites}, text as a string, anything else as bytes), entry (key, digest,
created, media_type, size, verified, signer), image (digest, reference) and
now. They compile before anything is sent.

It prints a table (requirement, ✓ or ✗, reason), or with --json
{"passed", "requirements": [...]}. Exit code 0 when every requirement is met,
5 when one is not (a missing key included), 2 for a bad policy.`,
		Example: `  manifesto check registry.example.com/team/app:1.4 --policy gate.yaml
  manifesto check registry.example.com/team/app:1.4 --require seccomp \
    --require 'test-results: value.failed == 0'
  manifesto check --trust sigstore --public-key cosign.pub --policy gate.yaml ghcr.io/acme/app@sha256:...`,
		Args: exactArgs("IMAGE"),
		RunE: run,
	}

	search, migrate := repositoryCommands(run)
	cp := &cobra.Command{
		Use:   "copy SRC DST",
		Short: "Copy an image's metadata (and the image, when DST lacks it) to another place",
		Long: `copy copies the image SRC to DST when DST lacks it (every platform; not with
--metadata-only, where DST must have it), then every entry of SRC that DST
lacks, with its Sigstore signature bundles. SRC and DST are registry images or
OCI layouts (oci:PATH; created when missing): promote between registries, or
export to a directory for an air-gapped site and import it there. At DST the
entries are kept the way put keeps them. Running it again copies nothing and
says so. --key (repeatable) copies only those keys, --latest only the newest
version of each.

With --trust sigstore only entries verified at SRC are copied, and they must
verify at DST. With --trust notary entries verified at SRC are signed again
for DST's repository with the same trust settings; what signing would need
is checked before anything is written.`,
		Example: `  manifesto copy staging.example.com/app:1.4 registry.example.com/app:1.4
  manifesto copy --key sbom --key scan --latest registry.example.com/app:1.4 oci:./export
  manifesto copy --metadata-only oci:./export registry.internal/app:1.4`,
		Args: exactArgs("SRC", "DST"),
		RunE: run,
	}

	pruneCmd := &cobra.Command{
		Use:   "prune IMAGE",
		Short: "Remove old versions of IMAGE's keys (--keep N, --older-than D)",
		Long: `prune removes old versions of the keys on IMAGE, with their signature bundles
and bookkeeping (trace tags, fallback-index descriptors; with --trust notary
their targets). --keep N keeps the newest N versions of each key;
--older-than D removes only versions older than D (720h, or days: 30d); with
both, a version goes only when both allow it. The newest version of every key
is never removed, nor any entry created after prune started. --key
(repeatable) limits it to those keys; --dry-run only reports.`,
		Example: `  manifesto prune --keep 10 registry.example.com/app:1.4
  manifesto prune --older-than 30d --key scan --dry-run registry.example.com/app:1.4`,
		Args: exactArgs("IMAGE"),
		RunE: run,
	}

	demo := &cobra.Command{
		Use:   cmdDemo,
		Short: "Show manifesto at work on a throwaway example",
		Long: `demo starts an embedded registry on 127.0.0.1 (nothing leaves the
machine), pushes a sample image and walks through put, list, get, history and
delete, printing each command as you would type it and what it returned.`,
		Example: `  manifesto demo`,
		Args:    exactArgs(),
		RunE:    run,
	}

	step := &cobra.Command{
		Use:   cmdStep,
		Short: "Run as a CI pipeline step (inputs from the CI system, outputs in its convention)",
		Long: `step runs manifesto as a pipeline step: it reads declarative inputs from the
CI system (GitHub Actions INPUT_*, Drone/Woodpecker PLUGIN_*, MANIFESTO_*
everywhere), performs the operations, and exports outputs the way the system
expects ($GITHUB_OUTPUT, a dotenv file, JSON lines, Tekton results). Run
without arguments inside a CI system (as a container entrypoint), manifesto
does the same. See README.md, "CI systems".`,
		Example: `  MANIFESTO_OPERATION=get MANIFESTO_IMAGE=registry.example.com/team/app:1.4 \
  MANIFESTO_KEY=seccomp manifesto step`,
		Args: exactArgs(),
		RunE: run,
	}

	trustCmd := &cobra.Command{
		Use:   "trust",
		Short: "Manage the trust data of an image repository",
		Args:  exactArgs(),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	trustCmd.AddCommand(&cobra.Command{
		Use:   "init IMAGE",
		Short: "Create IMAGE's Notary repository and print the root key ID readers pin",
		Long: `trust init creates the Notary (TUF) repository for IMAGE's registry/repository
(its GUN) on --notary-server, with a new root key and targets key in
--trust-dir; the server manages the snapshot and timestamp keys. It prints
the root key ID, which readers pass as --notary-root-key-id. Running it
again for an existing repository says so and prints the same ID. Key
passphrases come from NOTARY_ROOT_PASSPHRASE and NOTARY_TARGETS_PASSPHRASE.

trust init is Notary's alone: --trust notary is implied (giving it is fine,
any other backend is a usage error). The trust dir it ran in holds the
repository's root key, and counts as the pin there: put, get and delete
with that --trust-dir need no --notary-root-key-id.`,
		Example: `  NOTARY_ROOT_PASSPHRASE=... NOTARY_TARGETS_PASSPHRASE=... \
  manifesto trust init --notary-server https://notary.example.com registry.example.com/team/app`,
		Args: exactArgs("IMAGE"),
		RunE: run,
	})

	version := &cobra.Command{
		Use:     cmdVersion,
		Short:   "Print the version of manifesto",
		Example: `  manifesto version --json`,
		Args:    exactArgs(),
		RunE:    run,
	}

	root.AddCommand(put, get, list, history, del, repair, check, cp, pruneCmd, search, migrate, trustCmd, demo, step, version)
	addFlags(root, o)
	// --policy FILE, as people write it, is --policy-file (input
	// policy_file): the step input policy is the inline YAML.
	check.Flags().SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == inPolicy {
			return pflag.NormalizedName(flagOf(inPolicyFile))
		}
		return pflag.NormalizedName(name)
	})

	// Document each flag's variable in its help line.
	addEnvNames(root.PersistentFlags())
	for _, c := range root.Commands() {
		addEnvNames(c.Flags())
	}
	return root
}

// addEnvNames appends the environment variable to every flag's usage text.
func addEnvNames(fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == flagHelp || strings.Contains(f.Usage, "$"+EnvPrefix) {
			return
		}
		f.Usage += " [$" + EnvName(f.Name) + "]"
	})
}

// rootArgs rejects anything that is not a command, with a suggestion.
func rootArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	hint := ""
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		hint = fmt.Sprintf("; did you mean %q?", s[0])
		for _, other := range s[1:] {
			hint = strings.TrimSuffix(hint, "?") + fmt.Sprintf(" or %q?", other)
		}
	}
	return errdef.Usagef("unknown command %q%s (see 'manifesto --help' for the commands)", args[0], hint)
}

// exactArgs requires exactly the named positional arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return errdef.Usagef("%s: missing %s (usage: %s)",
				cmd.CommandPath(), strings.Join(names[len(args):], " "), usageLine(cmd, names))
		case len(args) > len(names):
			if len(names) == 0 {
				return errdef.Usagef("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
			}
			return errdef.Usagef("%s: unexpected argument %q after %s (usage: %s)",
				cmd.CommandPath(), args[len(names)], strings.Join(names, " "), usageLine(cmd, names))
		}
		return nil
	}
}

func usageLine(cmd *cobra.Command, names []string) string {
	return strings.TrimSpace(cmd.CommandPath() + " [flags] " + strings.Join(names, " "))
}
