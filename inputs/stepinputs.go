package inputs

// Step mode: manifesto running as a containerized CI step (GitHub Actions
// Docker action, GitLab CI job or CI/CD Function, Drone or Woodpecker plugin,
// Tekton task). FromStep reads the step's inputs from the environment the CI
// system sets up and validates all of them, as FromArgs does for the command
// line: when it returns a Step, every operation in it is ready for package
// steps, and every way the inputs can be wrong has been reported as a one-line
// errdef.ErrUsage error that never contains a secret. The CI systems are in
// ci.go, where outputs go in outputsettings.go, the operations in
// operations.go and stepfile.go, the workspace in workspace.go.

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/secret"
	"github.com/manifesto-dev/manifesto/steps"
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
	// tekton formats. Its directory exists. Inside the workspace, it was
	// checked through the workspace (no symbolic link leads out of it);
	// open it for appending with OpenOutputsFile, which keeps to that.
	OutputsFile string
	// outputsRel is OutputsFile relative to Workspace, when inside it.
	outputsRel string
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
	// StepsFile is true when Ops come from a steps file (input steps_file).
	StepsFile bool
	// Secrets holds every secret value seen (passwords, tokens, keys, from
	// any variable that was read, used or not, and the Basic form of the
	// credentials used), so the caller can mask and redact them before
	// printing anything. FromStep fills it even when it returns an error.
	Secrets *secret.Set
}

// Op is one operation of a step.
type Op struct {
	// ID is the entry's id in the steps file, or the id input of the
	// single-operation form; "" when there is none (ids are optional).
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
	// FailOnUnmet: for check, true (the default) makes an unmet policy a
	// failure (exit 5); false reports it as passed=false with exit 0.
	// False for the other operations, which have no policy.
	FailOnUnmet bool
}

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
// error the returned Step is zero except for System, Secrets and Summary
// (input summary as far as it can be read, default true), so that the caller
// can still mask, redact and report the error in the step summary.
func FromStep(getenv func(string) string, getwd func() (string, error)) (Step, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if getwd == nil {
		getwd = os.Getwd
	}
	b := &stepBuilder{
		sys:     DetectSystem(getenv),
		getenv:  getenv,
		getwd:   getwd,
		in:      map[string]stepInput{},
		secrets: secret.New(),
	}
	st, err := b.build()
	b.ws.close()
	if err != nil {
		return Step{System: b.sys, Summary: b.summaryWanted(), Secrets: b.secrets}, clean(b.secrets, err)
	}
	return st, nil
}

// summaryWanted is input summary after an error elsewhere: its value when it
// reads as a boolean, true (its default) otherwise, even if the error came
// before it was looked up.
func (b *stepBuilder) summaryWanted() bool {
	v, ok := b.in[inSummary]
	if !ok {
		var err error
		if v, err = b.lookup(inSummary); err != nil {
			return true
		}
	}
	if val, ok := parseStepBool(v.value); ok {
		return val
	}
	return true
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

	secrets *secret.Set
}

func (b *stepBuilder) build() (Step, error) {
	if b.sys == SystemGitHub {
		b.gha = githubactions.New(githubactions.WithGetenv(b.getenv))
	}
	// Secrets first, so that Step.Secrets is complete whatever fails later.
	registerSecrets(b.secrets, func(o option) bool { return o.step }, b.secretValues)
	for _, n := range stepInputNames() {
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

	var timeout time.Duration // 0: steps.DefaultTimeout
	if v := b.in[inTimeout].value; v != "" {
		if timeout, err = parseTimeout(v, b.label(inTimeout)); err != nil {
			return Step{}, err
		}
	}

	if b.in[inStepsFile].value != "" {
		st.Ops, err = b.fromStepsFile()
		st.StepsFile = true
	} else {
		st.Ops, err = b.singleOp()
	}
	if err != nil {
		return Step{}, err
	}
	// The timeout input bounds each operation on its own (a step file's
	// entries do not set their own).
	for i := range st.Ops {
		st.Ops[i].Request.Timeout = timeout
	}
	if err := checkGetTargets(st.Ops, st.OutputsFile); err != nil {
		return Step{}, err
	}
	st.Secrets = b.secrets
	return st, nil
}

// vars lists the variables an input is read from, highest priority first.
func (b *stepBuilder) vars(input string) []string { return inputVars(b.sys, input) }

// secretValues are the values of every variable a secret option may come
// from, as set (Set.Add registers the trimmed forms too).
func (b *stepBuilder) secretValues(o option) []string {
	if o.env {
		return []string{b.getenv(o.name)}
	}
	var vals []string
	for _, v := range b.vars(o.name) {
		vals = append(vals, b.getenv(v))
	}
	return vals
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

// given is an option as the step gave it: an input, or a variable read
// under its own name (as is).
func (b *stepBuilder) given(name string) given {
	if optionNamed(name).env {
		v := b.getenv(name)
		return given{value: v, from: name, set: v != ""}
	}
	v := b.in[name]
	return given{value: v.value, from: b.label(name), set: v.value != ""}
}

// trustOptions reads the trust inputs, shared with the CLI (buildTrust).
func (b *stepBuilder) trustOptions() (steps.TrustOptions, error) {
	home := strings.TrimSpace(b.getenv("HOME"))
	return buildTrust(b.given, home, parseStepBool, b.secrets)
}

// OpenOutputsFile opens OutputsFile for appending, creating it (mode 0644
// less the umask) if need be. Inside the workspace it is opened through an
// os.Root on the workspace, so a symbolic link swapped in after FromStep
// checked the name cannot lead the write out of it either.
func (s Step) OpenOutputsFile() (*os.File, error) {
	const flag = os.O_WRONLY | os.O_APPEND | os.O_CREATE
	if s.OutputsFile == "" {
		return nil, errors.New("no outputs file to write to")
	}
	if s.outputsRel == "" {
		return os.OpenFile(s.OutputsFile, flag, 0o644)
	}
	root, err := os.OpenRoot(s.Workspace)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.OpenFile(s.outputsRel, flag, 0o644)
	if err != nil {
		return nil, fmt.Errorf("outputs file %q: %w", s.OutputsFile, err)
	}
	return f, nil
}
