// Package demo is the self-contained tour behind `manifesto demo`: an
// embedded registry on loopback (go-containerregistry's pkg/registry, with
// the referrers API), a small sample image, and the real commands run
// against it, each printed as a user would type it with what it returned.
package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Runner runs one manifesto command line in-process and returns its exit
// code.
type Runner func(args []string, stdin io.Reader, stdout, stderr io.Writer) int

// Run starts the embedded registry, pushes a sample image and walks through
// put → list → get → history → delete, writing the transcript to w. It
// fails if any command does not do what the tour says it does.
func Run(ctx context.Context, w io.Writer, run Runner) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: start embedded registry: %w", err)
	}
	srv := &http.Server{
		Handler:           registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	image := ln.Addr().String() + "/demo/app:1.0"
	img, err := random.Image(1024, 2)
	if err != nil {
		return err
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		return err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("demo: push sample image: %w", err)
	}
	dir, err := os.MkdirTemp("", "manifesto-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	files := map[string]string{
		"results.json":  `{"suite":"unit","passed":412,"failed":0}` + "\n",
		"results2.json": `{"suite":"unit","passed":413,"failed":0}` + "\n",
		"seccomp.json":  `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write","exit"],"action":"SCMP_ACT_ALLOW"}]}` + "\n",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			return err
		}
	}
	// Run from the scratch directory so the transcript shows plain file
	// names, as a user would type them.
	if wd, err := os.Getwd(); err == nil {
		if err := os.Chdir(dir); err == nil {
			defer os.Chdir(wd) //nolint:errcheck // best effort on the way out
		}
	}
	path := func(n string) string {
		if wd, _ := os.Getwd(); wd == dir {
			return n
		}
		return filepath.Join(dir, n)
	}

	fmt.Fprintf(w, "# An embedded registry is listening on %s with a sample image %s.\n", ln.Addr(), image)
	t := &tour{w: w, run: run}
	t.say("Record a test verdict and a seccomp profile on the image (each put prints the new entry's digest):")
	first := t.cmd("put", image, "test-results", path("results.json"))
	t.cmd("put", image, "seccomp", path("seccomp.json"))
	t.say("List the keys attached to the image:")
	t.expect(t.cmd("list", image), "seccomp\ntest-results\n")
	t.say("A later pipeline step reads a value back (verified against its digest):")
	t.expect(t.cmd("get", image, "test-results"), files["results.json"])
	t.say("Every put is a new immutable version; get returns the newest:")
	second := t.cmd("put", image, "test-results", path("results2.json"))
	t.expect(t.cmd("get", image, "test-results"), files["results2.json"])
	t.say("history lists every version of a key, newest first:")
	t.expect(t.cmd("history", image, "test-results"), second+first)
	t.say("list --json describes the newest entry of each key:")
	t.cmd("list", image, "--json")
	t.say("delete removes every version of a key:")
	t.cmd("delete", image, "test-results")
	t.expect(t.cmd("list", image), "seccomp\n")
	if t.err != nil {
		return t.err
	}
	fmt.Fprintln(w, "\n# Done. Try the same commands against your own registry, or an OCI layout: oci:PATH[:tag].")
	return nil
}

type tour struct {
	w   io.Writer
	run Runner
	err error
}

func (t *tour) say(s string) {
	if t.err == nil {
		fmt.Fprintf(t.w, "\n# %s\n", s)
	}
}

// cmd runs one command line, prints it and its output, and returns stdout.
func (t *tour) cmd(args ...string) string {
	if t.err != nil {
		return ""
	}
	var out, errOut bytes.Buffer
	fmt.Fprintf(t.w, "$ manifesto %s\n", strings.Join(quote(args), " "))
	code := t.run(args, nil, &out, &errOut)
	t.w.Write(out.Bytes())
	t.w.Write(errOut.Bytes())
	if code != 0 {
		t.err = fmt.Errorf("demo: `manifesto %s` exited %d: %s", strings.Join(args, " "), code, strings.TrimSpace(errOut.String()))
	}
	return out.String()
}

// expect fails the tour when a command printed something else.
func (t *tour) expect(got, want string) {
	if t.err == nil && got != want {
		t.err = fmt.Errorf("demo: expected %q, got %q", want, got)
	}
}

func quote(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \t'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return out
}
