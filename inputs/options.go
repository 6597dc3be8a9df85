package inputs

// The option table: the one declaration of every setting manifesto reads,
// whether it arrives as a CLI flag (--notary-server), a MANIFESTO_ variable
// (MANIFESTO_NOTARY_SERVER) or a step input (notary_server through INPUT_*,
// PLUGIN_* or MANIFESTO_*), and of the variables read under their own name
// (NOTARY_TARGETS_PASSPHRASE, COSIGN_PASSWORD, ...). FromArgs registers its
// flags from it (addFlags), FromStep reads its inputs from it (stepInputs),
// and both register its secrets into the run's secret.Set from it
// (registerSecrets).

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/oneline"
	"github.com/manifesto-dev/manifesto/internal/secret"
	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/trust/notary"
)

// group is the option group an option belongs to.
type group string

const (
	groupOperation group = "operation" // what to do and on what
	groupRegistry  group = "registry"  // connection settings and credentials
	groupOutputs   group = "outputs"   // where results go
	groupStep      group = "step"      // step-only settings
	groupTrust     group = "trust"     // trust and verify, shared by the backends
	groupNotary    group = steps.TrustNotary
	groupSigstore  group = steps.TrustSigstore
)

// option is one setting.
type option struct {
	// name is the step input ('_' only: GitHub keeps '-' in INPUT_
	// names, which shells cannot read) or, for a variable read under its
	// own name (env set), that variable.
	name string
	// cli: a CLI flag, --name with '-' for '_'; cmds names the commands
	// that have it, none for a flag of every command. short is its
	// one-letter form.
	cli   bool
	cmds  []string
	short string
	// step: a step input.
	step bool
	// env: read only from the variable name, as is (not trimmed), by the
	// modes marked cli and step.
	env bool
	// boolean options parse true/false (the step also 1/0, yes/no).
	boolean bool
	// lines: a CLI flag that may be repeated; its values are read as one
	// value per line, like the step input (one item per line).
	lines bool
	// secret values are registered in the run's secret.Set wherever they
	// are read from, used or not, and never echoed in a message.
	secret bool
	group  group
	usage  string
}

// flag is the option's CLI flag name: notary_server is notary-server.
func (o option) flag() string { return flagOf(o.name) }

// flagOf is the CLI flag of an input: notary_server is --notary-server.
func flagOf(input string) string { return strings.ReplaceAll(input, "_", "-") }

// Option names used in code.
const (
	inOperation     = "operation"
	inImage         = "image"
	inKey           = "key"
	inFile          = "file"
	inMediaType     = "media_type"
	inDigest        = "digest"
	inOutput        = "output"
	inJSON          = "json"
	inUsername      = "username"
	inPassword      = "password"
	inPasswordStdin = "password_stdin"
	inPlatform      = "platform"
	inPlainHTTP     = "plain_http"
	inInsecure      = "insecure"
	inTimeout       = "timeout"
	inStepsFile     = "steps_file"
	inID            = "id"
	inOutputsFile   = "outputs_file"
	inOutputsFormat = "outputs_format"
	inResultsDir    = "results_dir"
	inFailOnMissing = "fail_on_missing"
	inSummary       = "summary"
	inGitHubToken   = "github_token"
	inPolicy        = "policy"
	inPolicyFile    = "policy_file"
	inRequire       = "require"
	inFailOnUnmet   = "fail_on_unmet"
	inJobs          = "jobs"
	inRename        = "rename"
	inDryRun        = "dry_run"
	inDeleteLegacy  = "delete_legacy"

	inTrust           = "trust"
	inVerify          = "verify"
	inNotaryServer    = "notary_server"
	inTrustDir        = "trust_dir"
	inNotaryRole      = "notary_role"
	inNotaryKey       = "notary_key"
	inNotaryRootKeyID = "notary_root_key_id"
	inNotaryTOFU      = "notary_tofu"

	inSigstoreKey        = "sigstore_key"
	inPublicKey          = "public_key"
	inFulcioURL          = "fulcio_url"
	inRekorURL           = "rekor_url"
	inSigningConfig      = "signing_config"
	inCertIdentity       = "certificate_identity"
	inCertIdentityRegexp = "certificate_identity_regexp"
	inCertOIDCIssuer     = "certificate_oidc_issuer"
	inTrustedRoot        = "trusted_root"

	// Variables read under their own name.
	envRegistryUsername = "REGISTRY_USERNAME"
	envRegistryPassword = "REGISTRY_PASSWORD"
	envCosignPassword   = "COSIGN_PASSWORD"
	envSigstoreIDToken  = "SIGSTORE_ID_TOKEN"
	envGitHubTokenURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envGitHubTokenAuth  = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// Lower-priority fallbacks for the CLI's credentials, the names the
// original tool read. They apply only when neither the flag nor its
// MANIFESTO_ variable is set.
const (
	EnvRegistryUsername = envRegistryUsername
	EnvRegistryPassword = envRegistryPassword
)

// optionTable declares every option. The step inputs appear in the order
// StepInputs lists them.
var optionTable = []option{
	{name: inOperation, step: true, group: groupOperation},
	{name: inImage, step: true, group: groupOperation},
	// key: search's --key (repeatable; the input: one per line) keeps
	// the images carrying every one; copy's and prune's limit them to
	// those keys. KEY is an argument elsewhere.
	{name: inKey, step: true, cli: true, cmds: []string{"search", "copy", "prune"}, lines: true, group: groupOperation,
		usage: "search: only images carrying `KEY` (repeatable: every one of them); copy/prune: only this KEY (repeatable; default every key)"},
	{name: inFile, step: true, group: groupOperation},
	{name: inMediaType, step: true, cli: true, cmds: []string{"put"}, group: groupOperation,
		usage: "the value's media `type/subtype`, e.g. application/spdx+json (default: inferred from FILE)"},
	{name: inDigest, step: true, cli: true, cmds: []string{"get", "delete"}, group: groupOperation,
		usage: "only the version with this `DIGEST` (sha256:..., as shown by history)"},
	{name: inOutput, cli: true, cmds: []string{"get"}, short: "o", group: groupOutputs,
		usage: "write the value to `FILE` instead of standard output ('-' is standard output)"},
	{name: inJSON, cli: true, boolean: true, group: groupOutputs, usage: "print the result as JSON"},
	{name: inUsername, step: true, cli: true, group: groupRegistry, usage: "registry user `name`"},
	{name: inPassword, step: true, cli: true, secret: true, group: groupRegistry,
		usage: "registry `password` or token (prefer --password-stdin or MANIFESTO_PASSWORD)"},
	{name: inPasswordStdin, cli: true, boolean: true, group: groupRegistry, usage: "read the registry password from standard input"},
	{name: envRegistryUsername, env: true, cli: true, group: groupRegistry},
	{name: envRegistryPassword, env: true, cli: true, secret: true, group: groupRegistry},
	{name: inPlatform, step: true, cli: true, group: groupOperation,
		usage: "use the manifest for `os/arch[/variant]` when IMAGE is a multi-platform index (e.g. linux/arm64)"},
	{name: inPlainHTTP, step: true, cli: true, boolean: true, group: groupRegistry, usage: "talk to the registry over plain HTTP instead of HTTPS"},
	{name: inInsecure, step: true, cli: true, boolean: true, group: groupRegistry, usage: "skip TLS certificate verification"},
	{name: inTimeout, step: true, cli: true, group: groupOperation,
		usage: "give up on the command after `DURATION` (Go duration, e.g. 90s or 10m; default 10m)"},
	// check's policy: a file (on the command line also --policy), inline
	// YAML (step only), and requirements one per line (--require may be
	// repeated).
	{name: inPolicyFile, step: true, cli: true, cmds: []string{"check"}, group: groupOperation,
		usage: "check: the policy `FILE` (YAML: require: [{key, expr, max_age}, ...]); also --policy"},
	{name: inPolicy, step: true, group: groupOperation},
	{name: inRequire, step: true, cli: true, cmds: []string{"check"}, lines: true, group: groupOperation,
		usage: "check: a requirement, `'KEY'` (present) or 'KEY: EXPR' (a CEL condition); repeatable"},
	{name: inStepsFile, step: true, group: groupStep},
	// The single operation's id: its outputs are also <id>_<name>, as
	// for a steps file entry, so that a job can tell apart the dotenv
	// reports of two manifesto jobs it needs.
	{name: inID, step: true, group: groupStep},
	{name: inOutputsFile, step: true, group: groupOutputs},
	{name: inOutputsFormat, step: true, group: groupOutputs},
	{name: inResultsDir, step: true, group: groupOutputs},
	{name: inFailOnMissing, step: true, boolean: true, group: groupStep},
	{name: inFailOnUnmet, step: true, boolean: true, group: groupStep},
	{name: inSummary, step: true, boolean: true, group: groupOutputs},
	{name: inGitHubToken, step: true, secret: true, group: groupRegistry},
	// GitLab's job token, used for an image on CI_REGISTRY.
	{name: envGitLabRegistryPass, env: true, step: true, secret: true, group: groupRegistry},

	{name: inTrust, step: true, cli: true, group: groupTrust,
		usage: "sign on put and verify on read with this trust `backend` (notary or sigstore)"},
	{name: inVerify, step: true, cli: true, boolean: true, group: groupTrust,
		usage: "with --trust: return only signed entries (default true when --trust is set)"},

	{name: inNotaryServer, step: true, cli: true, group: groupNotary, usage: "Notary server `URL`"},
	{name: inTrustDir, step: true, cli: true, group: groupNotary, usage: "Notary client `directory` (default ~/.notary)"},
	{name: inNotaryRole, step: true, cli: true, group: groupNotary,
		usage: "Notary `role` to sign with: targets (default) or a delegation such as targets/ci"},
	{name: inNotaryKey, step: true, cli: true, secret: true, group: groupNotary,
		usage: "the role's private key: PEM content or a PEM `file` (encrypted; passphrase from NOTARY_TARGETS_PASSPHRASE or NOTARY_DELEGATION_PASSPHRASE)"},
	{name: inNotaryRootKeyID, step: true, cli: true, group: groupNotary,
		usage: "pin the repository's root key `ID` (64 hex, printed by trust init)"},
	{name: inNotaryTOFU, step: true, cli: true, boolean: true, group: groupNotary,
		usage: "trust the repository's root key on first use instead of pinning it"},
	// The passphrases of the Notary keys, under Notary's own names.
	{name: notary.PassphraseEnv("root"), env: true, cli: true, step: true, secret: true, group: groupNotary},
	{name: notary.PassphraseEnv("targets"), env: true, cli: true, step: true, secret: true, group: groupNotary},
	{name: notary.PassphraseEnv("snapshot"), env: true, cli: true, step: true, secret: true, group: groupNotary},
	{name: notary.PassphraseEnv("targets/delegation"), env: true, cli: true, step: true, secret: true, group: groupNotary},

	{name: inSigstoreKey, step: true, cli: true, secret: true, group: groupSigstore,
		usage: "sigstore: the signing key, a PEM `file` or PEM content: cosign's encrypted key (password from COSIGN_PASSWORD) or PKCS#8 ECDSA P-256/Ed25519; without it put signs keyless (GitHub Actions)"},
	{name: inPublicKey, step: true, cli: true, group: groupSigstore,
		usage: "sigstore: the public key (PEM `file` or content) trusted for keyed signatures"},
	{name: inFulcioURL, step: true, cli: true, group: groupSigstore,
		usage: "sigstore: keyless signing: the Fulcio `URL` (default https://fulcio.sigstore.dev)"},
	{name: inRekorURL, step: true, cli: true, group: groupSigstore,
		usage: "sigstore: keyless signing: the Rekor (v1) `URL` (default https://rekor.sigstore.dev)"},
	{name: inSigningConfig, step: true, cli: true, group: groupSigstore,
		usage: "sigstore: keyless signing: a Sigstore signing config JSON `file` naming Fulcio, Rekor and timestamp authorities"},
	{name: inCertIdentity, step: true, cli: true, group: groupSigstore,
		usage: "sigstore: the certificate `identity` trusted for keyless signatures, e.g. https://github.com/OWNER/REPO/.github/workflows/ci.yml@refs/heads/main"},
	{name: inCertIdentityRegexp, step: true, cli: true, group: groupSigstore,
		usage: "sigstore: a `regexp` the keyless certificate identity must match (instead of --certificate-identity)"},
	{name: inCertOIDCIssuer, step: true, cli: true, group: groupSigstore,
		usage: "sigstore: the OIDC `issuer` of keyless identities (default https://token.actions.githubusercontent.com)"},
	{name: inTrustedRoot, step: true, cli: true, group: groupSigstore,
		usage: "sigstore: a Sigstore trusted root JSON `file` for keyless verification (default: the public-good root, through TUF)"},
	// cosign's password of an encrypted sigstore_key, and the sources of
	// the OIDC token of keyless signing.
	{name: envCosignPassword, env: true, cli: true, step: true, secret: true, group: groupSigstore},
	{name: envSigstoreIDToken, env: true, cli: true, step: true, secret: true, group: groupSigstore},
	{name: envGitHubTokenURL, env: true, cli: true, step: true, group: groupSigstore},
	{name: envGitHubTokenAuth, env: true, cli: true, step: true, secret: true, group: groupSigstore},
	// search and migrate (issue 12).
	{name: inJobs, step: true, cli: true, cmds: []string{"search"}, group: groupOperation,
		usage: "search: at most `N` registry requests at once (1 to 64, default 8)"},
	{name: inRename, step: true, cli: true, cmds: []string{"migrate"}, lines: true, group: groupOperation,
		usage: "migrate: import the original type `TYPE=KEY` as KEY (repeatable)"},
	{name: inDryRun, step: true, cli: true, cmds: []string{"migrate", "prune"}, boolean: true, group: groupOperation,
		usage: "migrate, prune: report what would be done and write nothing"},
	{name: inDeleteLegacy, step: true, cli: true, cmds: []string{"migrate"}, boolean: true, group: groupOperation,
		usage: "migrate: remove the _manifesto tag once every value that can be imported is"},

	// copy and prune (transfer.go); copy's destination is DST on the
	// command line.
	{name: inDestination, step: true, group: groupOperation},
	{name: inLatest, step: true, cli: true, cmds: []string{"copy"}, boolean: true, group: groupOperation,
		usage: "copy: only the newest version of each key"},
	{name: inMetadataOnly, step: true, cli: true, cmds: []string{"copy"}, boolean: true, group: groupOperation,
		usage: "copy: copy the entries only; the destination must have the image"},
	{name: inKeep, step: true, cli: true, cmds: []string{"prune"}, group: groupOperation,
		usage: "prune: keep the newest `N` versions of each key"},
	{name: inOlderThan, step: true, cli: true, cmds: []string{"prune"}, group: groupOperation,
		usage: "prune: remove only versions older than `DURATION` (720h, or days: 30d)"},
}

// optionNamed returns the declaration of name; the table has every name the
// code asks for (a test checks).
func optionNamed(name string) option {
	for _, o := range optionTable {
		if o.name == name {
			return o
		}
	}
	panic("inputs: no option " + name)
}

// optionsOf returns the options of group g that pass keep, in table order.
func optionsOf(g group, keep func(option) bool) []option {
	var out []option
	for _, o := range optionTable {
		if o.group == g && keep(o) {
			out = append(out, o)
		}
	}
	return out
}

// isStepInput selects the step inputs.
func isStepInput(o option) bool { return o.step && !o.env }

// stepInputNames are the names of the step inputs, in table order.
func stepInputNames() []string {
	var names []string
	for _, o := range optionTable {
		if isStepInput(o) {
			names = append(names, o.name)
		}
	}
	return names
}

// StepInputs returns the names of every step input (for action.yml and
// plugin documentation checks).
func StepInputs() []string { return stepInputNames() }

// options holds the value of every CLI flag of one FromArgs call, by
// option name.
type options struct {
	str   map[string]*string
	bools map[string]*bool
	lists map[string]*[]string
}

// get returns a flag's value as text.
func (v options) get(name string) string {
	if b, ok := v.bools[name]; ok {
		if *b {
			return "true"
		}
		return "false"
	}
	if s, ok := v.str[name]; ok {
		return *s
	}
	if l, ok := v.lists[name]; ok {
		return strings.Join(*l, "\n")
	}
	return ""
}

func (v options) on(name string) bool { return v.get(name) == "true" }

// addFlags registers the CLI flags of the table: those without cmds on
// root's persistent flags, the others on the named subcommands.
func addFlags(root *cobra.Command, v *options) {
	v.str, v.bools, v.lists = map[string]*string{}, map[string]*bool{}, map[string]*[]string{}
	sub := map[string]*cobra.Command{}
	for _, c := range root.Commands() {
		sub[c.Name()] = c
	}
	for _, o := range optionTable {
		if !o.cli || o.env {
			continue
		}
		sets := []*pflag.FlagSet{root.PersistentFlags()}
		if len(o.cmds) > 0 {
			sets = sets[:0]
			for _, name := range o.cmds {
				sets = append(sets, sub[name].Flags())
			}
		}
		for _, fs := range sets {
			if o.boolean {
				if v.bools[o.name] == nil {
					v.bools[o.name] = new(bool)
				}
				fs.BoolVarP(v.bools[o.name], o.flag(), o.short, false, o.usage)
				continue
			}
			if o.lines {
				if v.lists[o.name] == nil {
					v.lists[o.name] = new([]string)
				}
				fs.StringArrayVarP(v.lists[o.name], o.flag(), o.short, nil, o.usage)
				continue
			}
			if v.str[o.name] == nil {
				v.str[o.name] = new(string)
			}
			fs.StringVarP(v.str[o.name], o.flag(), o.short, "", o.usage)
		}
	}
}

// registerSecrets adds to s every value of every secret option of a mode
// (keep selects the mode's options), as read by values: each variable the
// option may come from, used or not.
func registerSecrets(s *secret.Set, keep func(option) bool, values func(option) []string) {
	for _, o := range optionTable {
		if o.secret && keep(o) {
			s.Add(values(o)...)
		}
	}
}

// clean makes err a one-line usage error without any secret of s in it: the
// one cleaning of every FromArgs and FromStep error.
func clean(s *secret.Set, err error) error {
	msg := s.Redact(oneline.Line(err.Error()))
	if msg == err.Error() && errors.Is(err, errdef.ErrUsage) {
		return err
	}
	return errdef.Usagef("%s", msg)
}
