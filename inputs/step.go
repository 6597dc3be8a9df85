package inputs

// Step mode: manifesto running as a containerized CI step (GitHub Actions
// Docker action, GitLab CI job or CI/CD Function, Drone or Woodpecker plugin,
// Tekton task). FromStep reads the step's inputs from the environment the CI
// system sets up and validates all of them, as FromArgs does for the command
// line: when it returns a Step, every operation in it is ready for package
// steps, and every way the inputs can be wrong has been reported as a one-line
// errdef.ErrUsage error that never contains a secret.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sethvargo/go-githubactions"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/store"
)

// System is the CI system the step runs in.
type System string

// The CI systems DetectSystem tells apart. Tekton has no marker variable of
// its own: it runs as SystemGeneric with outputs_format "tekton".
const (
	SystemGitHub     System = "github"
	SystemGitLab     System = "gitlab"
	SystemDrone      System = "drone"
	SystemWoodpecker System = "woodpecker"
	SystemGeneric    System = "generic"
)

// DetectSystem tells the CI system from its marker variables, in this order:
// GITHUB_ACTIONS=true is GitHub Actions, DRONE=true Drone, CI=woodpecker or
// CI_SYSTEM_NAME=woodpecker Woodpecker, GITLAB_CI=true GitLab CI; anything
// else is SystemGeneric.
func DetectSystem(getenv func(string) string) System {
	if getenv == nil {
		return SystemGeneric
	}
	is := func(name, want string) bool { return strings.TrimSpace(getenv(name)) == want }
	switch {
	case is("GITHUB_ACTIONS", "true"):
		return SystemGitHub
	case is("DRONE", "true"):
		return SystemDrone
	case is("CI", "woodpecker"), is("CI_SYSTEM_NAME", "woodpecker"):
		return SystemWoodpecker
	case is("GITLAB_CI", "true"):
		return SystemGitLab
	}
	return SystemGeneric
}

// Values of Step.OutputsFormat.
const (
	// OutputsGitHub appends to the file named by GITHUB_OUTPUT (GitHub
	// Actions step outputs). The default on GitHub.
	OutputsGitHub = "github"
	// OutputsDotenv writes KEY=VALUE lines to Step.OutputsFile (GitLab
	// artifacts:reports:dotenv, Drone, Woodpecker). The default elsewhere.
	OutputsDotenv = "dotenv"
	// OutputsJSONL appends {"name":..,"value":..} lines to Step.OutputsFile
	// (GitLab CI/CD Functions).
	OutputsJSONL = "jsonl"
	// OutputsTekton writes one file per result into Step.ResultsDir.
	OutputsTekton = "tekton"
)

const (
	// DefaultOutputsFile is where dotenv and jsonl outputs go when the
	// outputs_file input is empty, relative to the working directory.
	DefaultOutputsFile = "manifesto.env"
	// ValueDir is the directory, relative to the workspace, where get writes
	// a value whose file input is empty: <workspace>/.manifesto/<key>.
	ValueDir = ".manifesto"
)

// Step is a whole CI step: one or more operations plus where outputs go.
type Step struct {
	System System
	// Workspace is the absolute checkout directory: GITHUB_WORKSPACE,
	// CI_PROJECT_DIR, DRONE_WORKSPACE or CI_WORKSPACE depending on System,
	// else the working directory. Every file an operation reads or writes is
	// inside it.
	Workspace string
	// OutputsFile is the absolute file dotenv and jsonl outputs go to: input
	// outputs_file (relative to the working directory), default
	// DefaultOutputsFile in the working directory. Empty for the github and
	// tekton formats. Its directory exists.
	OutputsFile string
	// OutputsFormat is one of OutputsGitHub (default on GitHub),
	// OutputsDotenv (default elsewhere), OutputsJSONL or OutputsTekton.
	OutputsFormat string
	// ResultsDir is the absolute, existing directory of Tekton results
	// (input results_dir, e.g. /tekton/results); set only for OutputsTekton,
	// which requires it.
	ResultsDir string
	// Summary is input summary, default true.
	Summary bool
	// Ops are the operations, in order: one for the single-operation form,
	// one per entry of the steps file.
	Ops []Op
	// Secrets holds every secret value seen (passwords, tokens, from any
	// variable that was read), so the caller can mask them before printing
	// anything. FromStep fills it even when it returns an error.
	Secrets []string
}

// Op is one operation of a step.
type Op struct {
	// ID is the entry's id in the steps file; "" for the single-operation
	// form (and for the only entry of a steps file that gives none).
	ID string
	// Request is validated. Request.File is always absolute and inside the
	// workspace: for put an existing regular file; for get where to write the
	// value (default <workspace>/.manifesto/<key>). Directories on the way to
	// a get's File may not exist yet: the caller creates them
	// (os.MkdirAll(filepath.Dir(File))) before writing.
	Request steps.Request
	// FailOnMissing: for get, true (the default) makes a missing key a
	// failure; false reports it as found=false. Always true for the other
	// operations.
	FailOnMissing bool
}

// Step input names. They use '_' only: GitHub keeps '-' in INPUT_ names,
// which shells cannot read.
const (
	inOperation     = "operation"
	inImage         = "image"
	inKey           = "key"
	inFile          = "file"
	inMediaType     = "media_type"
	inDigest        = "digest"
	inUsername      = "username"
	inPassword      = "password"
	inPlatform      = "platform"
	inPlainHTTP     = "plain_http"
	inInsecure      = "insecure"
	inStepsFile     = "steps_file"
	inOutputsFile   = "outputs_file"
	inOutputsFormat = "outputs_format"
	inResultsDir    = "results_dir"
	inFailOnMissing = "fail_on_missing"
	inSummary       = "summary"
	inGitHubToken   = "github_token"
)

var stepInputNames = append([]string{
	inOperation, inImage, inKey, inFile, inMediaType, inDigest, inUsername,
	inPassword, inPlatform, inPlainHTTP, inInsecure, inStepsFile, inOutputsFile,
	inOutputsFormat, inResultsDir, inFailOnMissing, inSummary, inGitHubToken,
}, trustInputNames...)

// secretInputs are never echoed in a message.
var secretInputs = map[string]bool{inPassword: true, inGitHubToken: true, inNotaryKey: true, inSigstoreKey: true}

// StepInputs returns the names of every step input (for action.yml and
// plugin documentation checks).
func StepInputs() []string {
	return append([]string(nil), stepInputNames...)
}

// Variables of the CI systems FromStep reads besides the inputs.
const (
	envGitHubWorkspace     = "GITHUB_WORKSPACE"
	envGitHubActor         = "GITHUB_ACTOR"
	envGitLabProjectDir    = "CI_PROJECT_DIR"
	envGitLabRegistry      = "CI_REGISTRY"
	envGitLabRegistryUser  = "CI_REGISTRY_USER"
	envGitLabRegistryPass  = "CI_REGISTRY_PASSWORD"
	envDroneWorkspace      = "DRONE_WORKSPACE"
	envWoodpeckerWorkspace = "CI_WORKSPACE"
)

// ghcrHost is the only registry the github_token input is ever sent to.
const ghcrHost = "ghcr.io"

// FromStep reads the step's inputs. getenv looks up environment variables
// (os.Getenv in production; a map in tests); getwd returns the working
// directory (os.Getwd). Where an input comes from depends on the System:
//
//   - github: INPUT_<NAME> (through go-githubactions), then MANIFESTO_<NAME>;
//   - drone, woodpecker: PLUGIN_<NAME> in either mangling (PLUGIN_MEDIA_TYPE
//     or Drone's PLUGIN_MEDIA-TYPE for a "media-type" setting), then
//     MANIFESTO_<NAME>;
//   - gitlab, generic: MANIFESTO_<NAME> only (EnvName, as for the CLI).
//
// Values are trimmed of surrounding white space everywhere, as
// go-githubactions does for INPUT_ variables; an empty value counts as unset.
//
// Every error is of class errdef.ErrUsage, fits on one line, names the input
// (and its variable, or the steps file line) and never contains a secret. On
// error the returned Step is zero except for Secrets.
func FromStep(getenv func(string) string, getwd func() (string, error)) (Step, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if getwd == nil {
		getwd = os.Getwd
	}
	b := &stepBuilder{
		sys:    DetectSystem(getenv),
		getenv: getenv,
		getwd:  getwd,
		in:     map[string]stepInput{},
	}
	st, err := b.build()
	if err != nil {
		return Step{Secrets: b.secrets}, b.clean(err)
	}
	return st, nil
}

// stepInput is one input's value and the variable it came from.
type stepInput struct {
	name  string
	value string
	from  string // the variable; "" when unset
}

// stepBuilder carries the state of one FromStep call.
type stepBuilder struct {
	sys    System
	getenv func(string) string
	getwd  func() (string, error)
	gha    *githubactions.Action

	in map[string]stepInput
	ws workspace

	plainHTTP, insecure bool
	username, password  string
	githubToken         string
	trust               steps.TrustOptions

	secrets []string
	// redact holds every secret candidate, raw and trimmed, for clean.
	redact []string
}

func (b *stepBuilder) build() (Step, error) {
	if b.sys == SystemGitHub {
		b.gha = githubactions.New(githubactions.WithGetenv(b.getenv))
	}
	// Secrets first, so that Step.Secrets is complete whatever fails later.
	b.collectSecrets()
	for _, n := range stepInputNames {
		v, err := b.lookup(n)
		if err != nil {
			return Step{}, err
		}
		b.in[n] = v
	}

	st := Step{System: b.sys}
	var err error
	if b.ws, err = b.workspace(); err != nil {
		return Step{}, err
	}
	st.Workspace = b.ws.dir

	if b.plainHTTP, err = b.boolInput(inPlainHTTP, false); err != nil {
		return Step{}, err
	}
	if b.insecure, err = b.boolInput(inInsecure, false); err != nil {
		return Step{}, err
	}
	if st.Summary, err = b.boolInput(inSummary, true); err != nil {
		return Step{}, err
	}
	if err := b.outputs(&st); err != nil {
		return Step{}, err
	}
	if err := b.credentials(); err != nil {
		return Step{}, err
	}
	if b.trust, err = b.trustOptions(); err != nil {
		return Step{}, err
	}
	if p := b.in[inPlatform]; p.value != "" {
		if err := checkPlatform(p.value, b.label(inPlatform)); err != nil {
			return Step{}, err
		}
	}

	if b.in[inStepsFile].value != "" {
		st.Ops, err = b.fromStepsFile()
	} else {
		st.Ops, err = b.singleOp()
	}
	if err != nil {
		return Step{}, err
	}
	if err := checkGetTargets(st.Ops, st.OutputsFile); err != nil {
		return Step{}, err
	}
	st.Secrets = b.secrets
	return st, nil
}

// vars lists the variables an input is read from, highest priority first.
func (b *stepBuilder) vars(input string) []string {
	up := strings.ToUpper(input)
	var vs []string
	switch b.sys {
	case SystemGitHub:
		vs = append(vs, "INPUT_"+up)
	case SystemDrone, SystemWoodpecker:
		// Woodpecker turns '-' and '.' of a setting name into '_'; Drone
		// keeps them, so a "media-type" setting arrives as
		// PLUGIN_MEDIA-TYPE there.
		vs = append(vs, "PLUGIN_"+up)
		if strings.Contains(up, "_") {
			vs = append(vs, "PLUGIN_"+strings.ReplaceAll(up, "_", "-"))
		}
	}
	return append(vs, EnvName(input))
}

// rawGet reads one variable the way its system defines: INPUT_ variables
// through go-githubactions (which trims them), the others with getenv.
func (b *stepBuilder) rawGet(input, variable string) string {
	if b.gha != nil && strings.HasPrefix(variable, "INPUT_") {
		return b.gha.GetInput(input)
	}
	return strings.TrimSpace(b.getenv(variable))
}

// lookup finds an input's value: the system's own variables win over
// MANIFESTO_<NAME>.
func (b *stepBuilder) lookup(input string) (stepInput, error) {
	vs := b.vars(input)
	own := vs[:len(vs)-1]
	found := stepInput{name: input}
	for _, v := range own {
		val := b.rawGet(input, v)
		if val == "" {
			continue
		}
		if found.from != "" {
			if val != found.value {
				return found, errdef.Usagef("input %q is set twice with different values, by %s and %s; keep one", input, found.from, v)
			}
			continue
		}
		found.value, found.from = val, v
	}
	if found.from != "" {
		return found, nil
	}
	fallback := vs[len(vs)-1]
	if val := b.rawGet(input, fallback); val != "" {
		found.value, found.from = val, fallback
	}
	return found, nil
}

// collectSecrets records every non-empty value of every variable of a secret
// input, used or not.
func (b *stepBuilder) collectSecrets() {
	for _, in := range []string{inPassword, inGitHubToken, inNotaryKey, inSigstoreKey} {
		for _, v := range b.vars(in) {
			raw := b.getenv(v)
			b.redact = append(b.redact, raw)
			b.addSecret(b.rawGet(in, v))
		}
	}
	// Not a step secret unless used (see registry), but never printed.
	b.redact = append(b.redact, b.getenv(envGitLabRegistryPass))
}

func (b *stepBuilder) addSecret(s string) {
	if s == "" {
		return
	}
	for _, have := range b.secrets {
		if have == s {
			return
		}
	}
	b.secrets = append(b.secrets, s)
	b.redact = append(b.redact, s)
}

// label names an input and where its value came from, for messages:
// `input "platform" (INPUT_PLATFORM)`.
func (b *stepBuilder) label(input string) string {
	if v := b.in[input]; v.from != "" {
		return fmt.Sprintf("input %q (%s)", input, v.from)
	}
	return fmt.Sprintf("input %q", input)
}

// setHint says how to set an input: its first variable.
func (b *stepBuilder) setHint(input string) string {
	return "set " + b.vars(input)[0]
}

// required is the error for a missing input.
func (b *stepBuilder) required(input, why string) error {
	return errdef.Usagef("input %q is required%s (%s)", input, why, b.setHint(input))
}

// boolInput parses a boolean input: true/false/1/0/yes/no, any case.
func (b *stepBuilder) boolInput(input string, dflt bool) (bool, error) {
	v := b.in[input]
	if v.value == "" {
		return dflt, nil
	}
	val, ok := parseStepBool(v.value)
	if !ok {
		return dflt, errdef.Usagef("%s %q is not a boolean: want true or false (also 1/0, yes/no)", b.label(input), v.value)
	}
	return val, nil
}

func parseStepBool(s string) (val, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no":
		return false, true
	}
	return false, false
}

// workspace finds the checkout directory the system names, or the working
// directory.
func (b *stepBuilder) workspace() (workspace, error) {
	var variable string
	switch b.sys {
	case SystemGitHub:
		variable = envGitHubWorkspace
	case SystemGitLab:
		variable = envGitLabProjectDir
	case SystemDrone:
		variable = envDroneWorkspace
	case SystemWoodpecker:
		variable = envWoodpeckerWorkspace
	}
	dir, src := "", "the working directory"
	if variable != "" {
		dir = strings.TrimSpace(b.getenv(variable))
		if dir != "" {
			src = variable
		}
	}
	if dir == "" || !filepath.IsAbs(dir) {
		wd, err := b.wd()
		if err != nil {
			return workspace{}, err
		}
		dir = filepath.Join(wd, dir)
	}
	dir = filepath.Clean(dir)
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return workspace{}, errdef.Usagef("workspace %q (%s): %v", dir, src, pathErr(err))
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		return workspace{}, errdef.Usagef("workspace %q (%s) is not a directory", dir, src)
	}
	return workspace{dir: dir, real: real}, nil
}

func (b *stepBuilder) wd() (string, error) {
	wd, err := b.getwd()
	if err != nil {
		return "", errdef.Usagef("cannot determine the working directory: %v", err)
	}
	if !filepath.IsAbs(wd) {
		return "", errdef.Usagef("the working directory %q is not absolute", wd)
	}
	return filepath.Clean(wd), nil
}

// outputs validates outputs_format, outputs_file and results_dir.
func (b *stepBuilder) outputs(st *Step) error {
	format := b.in[inOutputsFormat]
	st.OutputsFormat = format.value
	if st.OutputsFormat == "" {
		st.OutputsFormat = OutputsDotenv
		if b.sys == SystemGitHub {
			st.OutputsFormat = OutputsGitHub
		}
	}
	switch st.OutputsFormat {
	case OutputsGitHub, OutputsDotenv, OutputsJSONL, OutputsTekton:
	default:
		return errdef.Usagef("%s %q is not an outputs format: want github, dotenv, jsonl or tekton", b.label(inOutputsFormat), format.value)
	}
	outFile, resDir := b.in[inOutputsFile], b.in[inResultsDir]

	if st.OutputsFormat == OutputsTekton {
		if resDir.value == "" {
			return b.required(inResultsDir, ` when outputs_format is "tekton"`)
		}
	} else if resDir.value != "" {
		return errdef.Usagef("%s applies only to outputs_format \"tekton\", not %q", b.label(inResultsDir), st.OutputsFormat)
	}
	switch st.OutputsFormat {
	case OutputsDotenv, OutputsJSONL:
	default:
		if outFile.value != "" {
			return errdef.Usagef("%s applies only to outputs_format \"dotenv\" or \"jsonl\", not %q", b.label(inOutputsFile), st.OutputsFormat)
		}
	}

	switch st.OutputsFormat {
	case OutputsTekton:
		dir, err := b.fromWD(resDir.value)
		if err != nil {
			return err
		}
		fi, err := os.Stat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return errdef.Usagef("%s: directory %q does not exist", b.label(inResultsDir), dir)
		case err != nil:
			return errdef.Usagef("%s: directory %q: %v", b.label(inResultsDir), dir, pathErr(err))
		case !fi.IsDir():
			return errdef.Usagef("%s: %q is not a directory", b.label(inResultsDir), dir)
		}
		st.ResultsDir = dir
	case OutputsDotenv, OutputsJSONL:
		name, src := outFile.value, b.label(inOutputsFile)
		if name == "" {
			name, src = DefaultOutputsFile, `input "outputs_file" (default)`
		}
		if strings.HasSuffix(name, "/") {
			return errdef.Usagef("%s %q names a directory; give a file name", src, name)
		}
		path, err := b.fromWD(name)
		if err != nil {
			return err
		}
		if err := checkOutputFile(path, src); err != nil {
			return err
		}
		st.OutputsFile = path
	}
	return nil
}

// fromWD makes p absolute against the working directory.
func (b *stepBuilder) fromWD(p string) (string, error) {
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	wd, err := b.wd()
	if err != nil {
		return "", err
	}
	return filepath.Join(wd, p), nil
}

// credentials checks the username/password pair and reads github_token.
//
// DECISION: the github_token input (the action passes ${{ github.token }}) is
// not the password's default. It is sent only to ghcr.io, and only when
// neither username nor password is set: a password default would hand the
// workflow's token to whatever registry the image names, including one the
// workflow's author does not control.
func (b *stepBuilder) credentials() error {
	u, p := b.in[inUsername], b.in[inPassword]
	switch {
	case p.value != "" && u.value == "":
		return errdef.Usagef("input \"password\" is set (%s) but input \"username\" is empty (%s)", p.from, b.setHint(inUsername))
	case u.value != "" && p.value == "":
		return errdef.Usagef("input \"username\" is set (%s) but input \"password\" is empty (%s)", u.from, b.setHint(inPassword))
	}
	b.username, b.password = u.value, p.value
	b.githubToken = b.in[inGitHubToken].value
	return nil
}

// registry returns the connection settings for one image: the username and
// password inputs when set; otherwise, on GitLab, CI_REGISTRY_USER and
// CI_REGISTRY_PASSWORD for an image on CI_REGISTRY; on GitHub, GITHUB_ACTOR
// and github_token for an image on ghcr.io; otherwise anonymous.
func (b *stepBuilder) registry(image string) steps.RegistryOptions {
	r := steps.RegistryOptions{
		Username:  b.username,
		Password:  b.password,
		PlainHTTP: b.plainHTTP,
		Insecure:  b.insecure,
	}
	if r.Username != "" || r.Password != "" {
		return r
	}
	loc, err := store.ParseImage(image, b.plainHTTP)
	if err != nil || loc.IsLayout() {
		return r
	}
	host := loc.Ref.Context().RegistryStr()
	switch b.sys {
	case SystemGitLab:
		reg := strings.TrimSpace(b.getenv(envGitLabRegistry))
		user := strings.TrimSpace(b.getenv(envGitLabRegistryUser))
		pass := strings.TrimSpace(b.getenv(envGitLabRegistryPass))
		if reg != "" && user != "" && pass != "" && sameRegistry(host, reg) {
			r.Username, r.Password = user, pass
			b.addSecret(pass)
		}
	case SystemGitHub:
		actor := strings.TrimSpace(b.getenv(envGitHubActor))
		if b.githubToken != "" && actor != "" && strings.EqualFold(host, ghcrHost) {
			r.Username, r.Password = actor, b.githubToken
		}
	}
	return r
}

// trustOptions reads the trust inputs, shared with the CLI (buildTrust).
func (b *stepBuilder) trustOptions() (steps.TrustOptions, error) {
	get := func(input string) trustValue {
		v := b.in[input]
		return trustValue{value: v.value, from: b.label(input), set: v.value != ""}
	}
	home := strings.TrimSpace(b.getenv("HOME"))
	return buildTrust(get, home, parseStepBool)
}

// sameRegistry compares an image's registry with a host[:port] as CI systems
// give it, normalised the way image references are (docker.io is
// index.docker.io).
func sameRegistry(host, other string) bool {
	if reg, err := name.NewRegistry(other); err == nil {
		other = reg.RegistryStr()
	}
	return strings.EqualFold(host, other)
}

// singleOp reads the single-operation form: operation, image, key, file, ...
func (b *stepBuilder) singleOp() ([]Op, error) {
	field := func(input string) opField {
		v := b.in[input]
		return opField{name: input, value: v.value, where: b.label(input), named: true}
	}
	spec := opSpec{
		operation: field(inOperation),
		image:     field(inImage),
		key:       field(inKey),
		file:      field(inFile),
		mediaType: field(inMediaType),
		digest:    field(inDigest),
		platform:  field(inPlatform),
		missing: func(input, why string) error {
			return b.required(input, why)
		},
		defaultFile: func(key string) opField {
			return opField{name: inFile, value: filepath.Join(ValueDir, key), where: `input "file" (default)`, named: true}
		},
	}
	fom := b.in[inFailOnMissing]
	if fom.value != "" {
		val, err := b.boolInput(inFailOnMissing, true)
		if err != nil {
			return nil, err
		}
		spec.failOnMissing = &val
		spec.failOnMissingField = field(inFailOnMissing)
	}
	op, err := b.op(spec)
	if err != nil {
		return nil, err
	}
	return []Op{op}, nil
}

// opField is one setting of an operation and where it came from.
type opField struct {
	name  string // input or steps-file setting
	value string
	// where locates the value for messages: `input "key" (INPUT_KEY)` or
	// `steps file "ci/steps.yml", step "unit" (line 5)`.
	where string
	// named: where already names the setting (inputs).
	named bool
}

// label is where plus the setting, to be followed by the value.
func (f opField) label() string {
	if f.named {
		return f.where
	}
	return f.where + ": " + f.name
}

// wrap prefixes a validator's message (which names the kind of value
// itself, e.g. `key "X" is invalid`) with where the value came from.
func (f opField) wrap(err error) error {
	return errdef.Usagef("%s: %s", f.where, err.Error())
}

// opSpec is one operation before validation.
type opSpec struct {
	id                                                       string
	operation, image, key, file, mediaType, digest, platform opField
	failOnMissing                                            *bool
	failOnMissingField                                       opField
	// missing is the error for a required setting left empty; why is ""
	// or ` for operation "get"`.
	missing func(setting, why string) error
	// defaultFile is the get file used when file is empty.
	defaultFile func(key string) opField
}

// op validates one operation.
func (b *stepBuilder) op(s opSpec) (Op, error) {
	opName := s.operation.value
	switch opName {
	case steps.OpPut, steps.OpGet, steps.OpList, steps.OpHistory, steps.OpDelete:
	case "":
		return Op{}, s.missing(inOperation, "")
	default:
		return Op{}, errdef.Usagef("%s %q is not an operation: want put, get, list, history or delete", s.operation.label(), opName)
	}
	forOp := fmt.Sprintf(" for operation %q", opName)
	notFor := func(f opField) error {
		return errdef.Usagef("%s does not apply to operation %q", f.label(), opName)
	}

	req := steps.Request{Operation: opName, Platform: s.platform.value}
	if s.image.value == "" {
		return Op{}, s.missing(inImage, "")
	}
	req.Image = s.image.value
	if err := checkImage(req.Image, b.plainHTTP); err != nil {
		return Op{}, s.image.wrap(err)
	}

	if opName == steps.OpList {
		if s.key.value != "" {
			return Op{}, notFor(s.key)
		}
	} else {
		if s.key.value == "" {
			return Op{}, s.missing(inKey, forOp)
		}
		req.Key = s.key.value
		if err := checkKey(req.Key); err != nil {
			return Op{}, s.key.wrap(err)
		}
	}

	if mt := s.mediaType; mt.value != "" {
		if opName != steps.OpPut {
			return Op{}, notFor(mt)
		}
		if err := checkMediaType(mt.value, mt.label()); err != nil {
			return Op{}, err
		}
		req.MediaType = mt.value
	}
	if d := s.digest; d.value != "" {
		if opName != steps.OpGet && opName != steps.OpDelete {
			return Op{}, notFor(d)
		}
		if err := checkDigest(d.value, d.label()); err != nil {
			return Op{}, err
		}
		req.Digest = d.value
	}
	if p := s.platform; p.value != "" {
		if err := checkPlatform(p.value, p.label()); err != nil {
			return Op{}, err
		}
	}

	switch opName {
	case steps.OpPut:
		if s.file.value == "" {
			return Op{}, s.missing(inFile, forOp)
		}
		path, err := b.ws.inputFile(s.file)
		if err != nil {
			return Op{}, err
		}
		req.File = path
	case steps.OpGet:
		f := s.file
		if f.value == "" {
			f = s.defaultFile(req.Key)
		}
		path, err := b.ws.outputFile(f)
		if err != nil {
			return Op{}, err
		}
		req.File = path
	default:
		if s.file.value != "" {
			return Op{}, notFor(s.file)
		}
	}

	op := Op{ID: s.id, FailOnMissing: true}
	if s.failOnMissing != nil && !*s.failOnMissing {
		if opName != steps.OpGet {
			return Op{}, errdef.Usagef("%s is false, but only get can treat a missing key as found=false, not %q", s.failOnMissingField.label(), opName)
		}
		op.FailOnMissing = false
	}
	req.Registry = b.registry(req.Image)
	req.Trust = b.trust
	op.Request = req
	return op, nil
}

// checkGetTargets rejects two gets writing the same file, and a get writing
// the outputs file.
func checkGetTargets(ops []Op, outputsFile string) error {
	seen := map[string]int{}
	for i, op := range ops {
		if op.Request.Operation != steps.OpGet {
			continue
		}
		if outputsFile != "" && op.Request.File == outputsFile {
			who := "get"
			if len(ops) > 1 || op.ID != "" {
				who = opName(op, i)
			}
			return errdef.Usagef("%s writes %q, which is also the outputs file; give it another file", who, op.Request.File)
		}
		if j, dup := seen[op.Request.File]; dup {
			return errdef.Usagef("%s and %s both write %q; give one of them another file", opName(ops[j], j), opName(op, i), op.Request.File)
		}
		seen[op.Request.File] = i
	}
	return nil
}

func opName(op Op, i int) string {
	if op.ID != "" {
		return fmt.Sprintf("step %q", op.ID)
	}
	return fmt.Sprintf("step %d", i+1)
}

// clean makes sure err is a one-line usage error without any secret in it.
func (b *stepBuilder) clean(err error) error {
	msg := oneLine(err.Error())
	changed := msg != err.Error()
	for _, secret := range b.redact {
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

// workspace is the directory every file of a step stays inside.
type workspace struct {
	dir  string // absolute and clean, as the system names it
	real string // dir with symbolic links resolved
}

// abs resolves p against the workspace.
func (w workspace) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(w.dir, p)
}

// lexicallyInside accepts p under either spelling of the workspace.
func (w workspace) lexicallyInside(p string) bool {
	return within(w.dir, p) || within(w.real, p)
}

// within reports whether p is root or below it (both clean and absolute).
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func (w workspace) outside(f opField, path string) error {
	return errdef.Usagef("%s %q is outside the workspace %q (%s)", f.label(), f.value, w.dir, path)
}

func (w workspace) escapes(f opField, real string) error {
	return errdef.Usagef("%s %q leads through a symbolic link to %q, outside the workspace %q", f.label(), f.value, real, w.dir)
}

// inputFile resolves put's file: inside the workspace, also after following
// symbolic links, and an existing regular file.
func (w workspace) inputFile(f opField) (string, error) {
	if strings.HasSuffix(f.value, "/") {
		return "", errdef.Usagef("%s %q names a directory; put stores the contents of one file", f.label(), f.value)
	}
	path := w.abs(f.value)
	if !w.lexicallyInside(path) {
		return "", w.outside(f, path)
	}
	// Follow links before opening anything: a link in the checkout must not
	// make the step upload a file from elsewhere on the runner.
	if real, err := filepath.EvalSymlinks(path); err == nil {
		if !within(w.real, real) {
			return "", w.escapes(f, real)
		}
		if fi, err := os.Stat(real); err == nil && !fi.IsDir() && !fi.Mode().IsRegular() {
			return "", errdef.Usagef("%s %q is not a regular file", f.label(), f.value)
		}
	}
	if err := checkInputFile(path); err != nil {
		return "", f.wrap(err)
	}
	return path, nil
}

// outputFile resolves get's file: inside the workspace, also after following
// symbolic links of the parts that exist. Nothing is created.
func (w workspace) outputFile(f opField) (string, error) {
	if strings.HasSuffix(f.value, "/") {
		return "", errdef.Usagef("%s %q names a directory; give a file name", f.label(), f.value)
	}
	path := w.abs(f.value)
	if !w.lexicallyInside(path) {
		return "", w.outside(f, path)
	}
	if _, err := os.Lstat(path); err == nil {
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return "", errdef.Usagef("%s %q is a symbolic link that cannot be followed: %v", f.label(), f.value, pathErr(err))
		}
		if !within(w.real, real) {
			return "", w.escapes(f, real)
		}
		fi, err := os.Stat(real)
		switch {
		case err != nil:
			return "", errdef.Usagef("%s %q: %v", f.label(), f.value, pathErr(err))
		case fi.IsDir():
			return "", errdef.Usagef("%s %q is a directory; give a file name", f.label(), f.value)
		case !fi.Mode().IsRegular():
			return "", errdef.Usagef("%s %q exists and is not a regular file", f.label(), f.value)
		}
		return path, nil
	}
	// The file does not exist (or a part of its path is not a directory):
	// check the nearest ancestor that exists.
	dir := filepath.Dir(path)
	for {
		if _, err := os.Lstat(dir); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errdef.Usagef("%s %q: no directory on its path exists", f.label(), f.value)
		}
		dir = parent
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", errdef.Usagef("%s %q: directory %q: %v", f.label(), f.value, dir, pathErr(err))
	}
	if !within(w.real, real) {
		return "", w.escapes(f, real)
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		return "", errdef.Usagef("%s %q: %q is not a directory", f.label(), f.value, dir)
	}
	return path, nil
}
