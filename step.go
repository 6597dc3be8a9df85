package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/manifesto-dev/manifesto/inputs"
	"github.com/manifesto-dev/manifesto/internal/atomicfile"
	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/secret"
	"github.com/manifesto-dev/manifesto/outputs"
	"github.com/manifesto-dev/manifesto/steps"
)

// stepMode reports whether a bare `manifesto` (no arguments) is a pipeline
// step: it is when a CI system or a step input says so. Otherwise a bare
// `manifesto` prints help.
func stepMode(getenv func(string) string) bool {
	if inputs.DetectSystem(getenv) != inputs.SystemGeneric {
		return true
	}
	for _, v := range []string{"MANIFESTO_OPERATION", "MANIFESTO_STEPS_FILE", "INPUT_OPERATION", "PLUGIN_OPERATION"} {
		if getenv(v) != "" {
			return true
		}
	}
	return false
}

// runStep is the CI step: inputs from the CI system, every operation in
// order (stopping at the first failure), outputs in the system's own
// convention. Secrets are masked before anything is printed.
func runStep(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	step, err := inputs.FromStep(getenv, os.Getwd)
	secrets := step.Secrets
	github := inputs.DetectSystem(getenv) == inputs.SystemGitHub
	// On GitHub every secret is masked before anything else is printed, and
	// the secrets an operation learns (bearer tokens) right after it.
	masker := &outputs.GitHubMasker{W: stdout, Secrets: secrets}
	if github {
		masker.Flush()
	}
	if err != nil {
		stepFailed(stdout, stderr, github, "", err, secrets)
		if github && step.Summary {
			writeSummary(stdout, getenv, secrets, func(w io.Writer) error { return outputs.GitHubInputsSummary(w, err, secrets) })
		}
		return errdef.ExitCode(err)
	}

	env := steps.Env{
		Stdout:    io.Discard,
		Progress:  outputs.NewProgress(stderr, false, progressThreshold),
		Count:     outputs.NewCount(stderr, false),
		UserAgent: "manifesto/" + buildVersion() + " (step; " + string(step.System) + ")",
		OpenTrust: openTrust,
		Secrets:   secrets,
	}
	var (
		outs    []outputs.Output
		rows    []outputs.SummaryRow
		code    = errdef.ExitOK
		ids     []string
		results []steps.Result
	)
	for i, op := range step.Ops {
		res, err := runOp(ctx, op, env)
		res.Path = workspaceRelative(step.Workspace, res.Path)
		ids, results = append(ids, op.ID), append(results, res)
		if github {
			masker.Flush()
			for _, w := range res.Warnings {
				outputs.GitHubAnnotation(stdout, "warning", "", w, secrets)
			}
		} else {
			outputs.Warnings(stderr, res, secrets)
		}
		rows = append(rows, outputs.SummaryRow{Result: res, Err: err})
		checkAnnotations(stdout, stderr, github, op, res, secrets)
		// An unmet policy still exports its verdicts (passed=false).
		judged := res.Check != nil && errors.Is(err, errdef.ErrPolicyNotMet)
		if err != nil {
			// steps.Run's errors name the operation and key already.
			stepFailed(stdout, stderr, github, op.ID, err, secrets)
			code = errdef.ExitCode(err)
			if !judged {
				break
			}
		} else {
			outputs.Info(stdout, outcome(op, res), secrets)
		}
		o := outputs.StepOutputs(res)
		if op.ID != "" {
			outs = append(outs, outputs.Prefixed(op.ID, o)...)
		}
		if i == len(step.Ops)-1 || err != nil {
			outs = append(outs, o...)
		}
		if err != nil {
			break
		}
	}
	if step.StepsFile {
		outs = withStepsJSON(outs, ids, results)
	}

	if err := writeOutputs(step, getenv, outs, stderr); err != nil {
		stepFailed(stdout, stderr, github, "write outputs", err, secrets)
		if code == errdef.ExitOK {
			code = errdef.ExitFailure
		}
	}
	if github && step.Summary {
		writeSummary(stdout, getenv, secrets, func(w io.Writer) error { return outputs.GitHubSummary(w, rows, secrets) })
	}
	return code
}

// withStepsJSON makes the plain json output of a steps file's run the
// document of every entry that ran (outputs.StepsJSON), not only the last
// one's: an entry without an id exports no outputs of its own, and this is
// where a later step finds its result. The <id>_json outputs keep each
// entry's own document.
func withStepsJSON(outs []outputs.Output, ids []string, results []steps.Result) []outputs.Output {
	var doc bytes.Buffer
	if outputs.StepsJSON(&doc, ids, results) != nil {
		return outs
	}
	all := outputs.Output{Name: "json", Value: strings.TrimSuffix(doc.String(), "\n")}
	for i, o := range outs {
		if o.Name == "json" {
			outs[i] = all
			return outs
		}
	}
	return append(outs, all)
}

// writeSummary appends what write produces to $GITHUB_STEP_SUMMARY; a
// failure is a warning annotation, not a failure of the step.
func writeSummary(stdout io.Writer, getenv func(string) string, secrets *secret.Set, write func(io.Writer) error) {
	if err := appendFile(getenv("GITHUB_STEP_SUMMARY"), write); err != nil {
		outputs.GitHubAnnotation(stdout, "warning", "", "step summary not written: "+err.Error(), secrets)
	}
}

// runOp runs one operation of the step. A get of a missing key with
// fail_on_missing false is a success with found=false.
func runOp(ctx context.Context, op inputs.Op, env steps.Env) (steps.Result, error) {
	if op.Request.Operation == steps.OpGet && op.Request.File != "" {
		if err := os.MkdirAll(filepath.Dir(op.Request.File), 0o755); err != nil {
			return steps.Result{Operation: op.Request.Operation, Image: op.Request.Image, Key: op.Request.Key},
				fmt.Errorf("%s: %w", steps.Label(op.Request), err)
		}
	}
	res, err := steps.Run(ctx, op.Request, env)
	if err != nil && errors.Is(err, errdef.ErrNotFound) && op.Request.Operation == steps.OpGet && !op.FailOnMissing && res.Subject != "" {
		res.Found = false
		res.Warnings = append(res.Warnings, err.Error()+" (fail_on_missing is false)")
		return res, nil
	}
	if err != nil && errors.Is(err, errdef.ErrPolicyNotMet) && res.Check != nil && !op.FailOnUnmet {
		res.Warnings = append(res.Warnings, err.Error()+" (fail_on_unmet is false: passed=false)")
		return res, nil
	}
	return res, err
}

// checkAnnotations reports each failed requirement of a check on its own:
// on GitHub an annotation (an error, or a warning when fail_on_unmet is
// false), elsewhere a line on stderr.
func checkAnnotations(stdout, stderr io.Writer, github bool, op inputs.Op, res steps.Result, secrets *secret.Set) {
	if res.Check == nil {
		return
	}
	kind := "error"
	if !op.FailOnUnmet {
		kind = "warning"
	}
	for _, r := range res.Check.Requirements {
		if r.Passed {
			continue
		}
		msg := "requirement " + r.Key
		if r.Expr != "" {
			msg += ": " + r.Expr
		}
		msg += " not met: " + r.Reason
		if github {
			outputs.GitHubAnnotation(stdout, kind, "manifesto check", msg, secrets)
		} else {
			outputs.Info(stderr, describe(op)+": "+msg, secrets)
		}
	}
}

// workspaceRelative turns a path inside the workspace into one relative to
// it. Later steps of the same job see the workspace at another absolute path
// (a container action writes /github/workspace/..., the runner's next `run:`
// step sees $GITHUB_WORKSPACE), but always as their working directory.
func workspaceRelative(workspace, path string) string {
	if path == "" || workspace == "" {
		return path
	}
	rel, err := filepath.Rel(workspace, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return path
	}
	return rel
}

// describe names op in the log: its id, if it has one, then its operation
// and key.
func describe(op inputs.Op) string {
	s := steps.Label(op.Request)
	if op.ID != "" {
		s = op.ID + ": " + s
	}
	return s
}

// outcome is the one line a person reads in the CI log for a done operation,
// without the "manifesto: " outputs.Info adds: Info is what makes the paths,
// digests and other text in it one line.
func outcome(op inputs.Op, r steps.Result) string {
	prefix := describe(op) + ": "
	switch {
	case r.Operation == steps.OpPut && r.Entry != nil:
		return prefix + "stored " + r.Entry.Digest + " on " + r.Subject
	case r.Operation == steps.OpGet && !r.Found:
		return prefix + "not found on " + r.Subject
	case r.Operation == steps.OpGet && r.Entry != nil:
		return prefix + "wrote " + r.Path + " (" + r.Entry.Digest + ")"
	case r.Operation == steps.OpList:
		return prefix + fmt.Sprintf("%d keys on %s", len(r.Entries), r.Subject)
	case r.Operation == steps.OpHistory:
		return prefix + fmt.Sprintf("%d versions on %s", len(r.Entries), r.Subject)
	case r.Operation == steps.OpDelete:
		return prefix + fmt.Sprintf("deleted %d versions from %s", len(r.Entries), r.Subject)
	case r.Operation == steps.OpSearch:
		return prefix + fmt.Sprintf("%d images with metadata", len(r.Images))
	case r.Operation == steps.OpMigrate && r.Migrate != nil:
		return prefix + fmt.Sprintf("%d values: %s", len(r.Migrate.Items), r.Migrate.Summary())
	case r.Operation == steps.OpCopy && r.Copy != nil:
		return prefix + fmt.Sprintf("copied %d entries (%d already there) of %s to %s", len(r.Copy.Copied), len(r.Copy.Skipped), r.Subject, r.Copy.Destination)
	case r.Operation == steps.OpPrune && r.Prune != nil:
		return prefix + fmt.Sprintf("removed %d versions from %s, kept %d", len(r.Prune.Removed), r.Subject, len(r.Prune.Kept))
	case r.Operation == steps.OpCheck && r.Check != nil:
		if !r.Check.Passed {
			return prefix + fmt.Sprintf("policy not met on %s (failed: %s)", r.Subject, strings.Join(r.Check.Failed(), ", "))
		}
		return prefix + fmt.Sprintf("%d requirements met on %s", len(r.Check.Requirements), r.Subject)
	}
	return prefix + "done"
}

// stepFailed prints the failure as the first thing a person sees: a GitHub
// error annotation on GitHub, and one plain line on stderr everywhere. what
// (if not empty) is context err does not carry already: errors of
// steps.Run name their operation and key themselves.
func stepFailed(stdout, stderr io.Writer, github bool, what string, err error, secrets *secret.Set) {
	if what != "" {
		err = fmt.Errorf("%s: %w", what, err)
	}
	if github {
		outputs.GitHubAnnotation(stdout, "error", "manifesto", err.Error(), secrets)
	}
	outputs.Error(stderr, err, secrets)
}

// writeOutputs exports outs in the step's outputs format.
func writeOutputs(step inputs.Step, getenv func(string) string, outs []outputs.Output, stderr io.Writer) error {
	var skipped []string
	var err error
	switch step.OutputsFormat {
	case "github":
		path := getenv("GITHUB_OUTPUT")
		if path == "" {
			return errors.New("GITHUB_OUTPUT is not set: cannot export outputs")
		}
		err = appendFile(path, func(w io.Writer) error { return outputs.GitHubOutput(w, outs) })
	case "dotenv":
		// The dotenv report holds this step's outputs only: replace it.
		// Its limits are tight, so the most useful outputs go first.
		err = atomicfile.Write(step.OutputsFile, func(w io.Writer) error {
			s, err := outputs.Dotenv(w, outputs.DotenvOutputs(outs))
			skipped = s
			return err
		})
	case "jsonl":
		err = appendTo(step.OpenOutputsFile, func(w io.Writer) error { return outputs.JSONLines(w, outs) })
	case "tekton":
		skipped, err = outputs.TektonResults(step.ResultsDir, outputs.ByImportance(outs))
	default:
		return fmt.Errorf("unknown outputs format %q", step.OutputsFormat)
	}
	switch {
	case len(skipped) == 0:
	case step.OutputsFormat == inputs.OutputsDotenv:
		outputs.Warning(stderr, fmt.Sprintf("outputs left out of %s: %s (only values made of %s are written, which sh, bash and GitLab all read as written; and the file stays within GitLab's 5 KB and %d variables); get's value is in the file the path output names, and outputs_format jsonl carries every output",
			filepath.Base(step.OutputsFile), strings.Join(skipped, ", "), outputs.DotenvValueChars, outputs.MaxDotenvVariables), step.Secrets)
	default:
		outputs.Warning(stderr, fmt.Sprintf("outputs left out (over the %s limits): %s; read values from the path output",
			step.OutputsFormat, strings.Join(skipped, ", ")), step.Secrets)
	}
	return err
}

// appendFile appends what write produces to the file at path (a file the CI
// system names: GITHUB_OUTPUT, GITHUB_STEP_SUMMARY), creating it if need be.
func appendFile(path string, write func(io.Writer) error) error {
	if path == "" {
		return errors.New("no file to write to")
	}
	return appendTo(func() (*os.File, error) {
		return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	}, write)
}

// appendTo appends what write produces to the file open returns.
func appendTo(open func() (*os.File, error), write func(io.Writer) error) error {
	f, err := open()
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
