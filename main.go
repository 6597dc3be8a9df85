// Command manifesto keeps metadata next to container images in OCI
// registries. main only wires inputs → steps → outputs.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/manifesto-dev/manifesto/demo"
	"github.com/manifesto-dev/manifesto/inputs"
	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/outputs"
	"github.com/manifesto-dev/manifesto/steps"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

// progressThreshold: values smaller than this transfer without progress.
const progressThreshold = 4 << 20

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program; tests and the demo call it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 && stepMode(getenv) {
		return runStep(ctx, getenv, stdout, stderr)
	}
	cmd, err := inputs.FromArgs(args, getenv, stdin, stdout)
	if err != nil {
		outputs.Error(stderr, err, nil) // inputs redacted it already
		return errdef.ExitCode(err)
	}
	switch cmd.Name {
	case "":
		return errdef.ExitOK // help was printed
	case "step":
		return runStep(ctx, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "manifesto", buildVersion())
		return errdef.ExitOK
	case "demo":
		err := demo.Run(ctx, stdout, func(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
			return run(ctx, args, func(string) string { return "" }, stdin, stdout, stderr)
		})
		if err != nil {
			outputs.Error(stderr, err, cmd.Secrets)
			return errdef.ExitFailure
		}
		return errdef.ExitOK
	}

	env := steps.Env{
		Stdin:     stdin,
		Stdout:    stdout,
		Progress:  outputs.NewProgress(stderr, isTerminal(stderr), progressThreshold),
		Count:     outputs.NewCount(stderr, isTerminal(stderr)),
		UserAgent: "manifesto/" + buildVersion(),
		OpenTrust: openTrust,
		Secrets:   cmd.Secrets,
	}
	res, err := steps.Run(ctx, cmd.Request, env)
	outputs.Warnings(stderr, res, cmd.Secrets)
	// A check that judged and said no has its verdicts to print.
	judged := res.Check != nil && errors.Is(err, errdef.ErrPolicyNotMet)
	if err != nil && !judged {
		outputs.Error(stderr, err, cmd.Secrets)
		return errdef.ExitCode(err)
	}
	var werr error
	if cmd.JSON {
		werr = outputs.JSON(stdout, res)
	} else {
		werr = outputs.Text(stdout, res)
	}
	if werr != nil {
		outputs.Error(stderr, werr, cmd.Secrets)
		return errdef.ExitFailure
	}
	outputs.Error(stderr, err, cmd.Secrets) // nil writes nothing
	return errdef.ExitCode(err)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && outputs.IsTerminal(f)
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
