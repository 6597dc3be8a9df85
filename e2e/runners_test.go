//go:build linux

package e2e

// Real CI runner implementations run the step (issue 15): nektos/act
// (runners_github_test.go), Woodpecker's CLI (runners_woodpecker_test.go)
// and gitlab-ci-local (runners_gitlab_test.go), each on the pipelines in
// testdata/runners/, against a real CNCF Distribution registry on
// 127.0.0.1.
//
// act and woodpecker-cli run containers through a Docker API; there is no
// Docker engine here, so they get rootful podman's (scripts/install-podman.sh
// configures it privately; each test starts its own `podman system service`
// on a socket in its temporary directory and stops it at the end). podman
// shares buildah's storage, so the image scripts/build-image.sh built is the
// one the runners run. Containers use the host's network (containers.conf
// netns = "host", act --network host, Woodpecker network_mode: host) to reach
// the registry.
//
// Like the container tests, these skip without MANIFESTO_CONTAINER_IMAGE
// (the image under test; .ci/run's image section sets it). With it set, a
// missing runner or podman, or a podman that cannot start containers, fails
// the test under CI=true and skips it elsewhere, with what to run:
//
//	bash scripts/install-podman.sh; bash scripts/install-act.sh
//	bash scripts/install-woodpecker-cli.sh; bash scripts/install-gitlab-ci-local.sh
//	MANIFESTO_CONTAINER_IMAGE=localhost/manifesto:test ./scripts/test.sh -run TestRunner -v ./e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/manifesto-dev/manifesto/internal/testbin"
	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

const (
	// envPodmanDir is the directory scripts/install-podman.sh prints
	// (containers.conf, registries.conf, storage.conf).
	envPodmanDir = "MANIFESTO_PODMAN_DIR"
	// runnerBaseImage is the busybox image scripts/build-image.sh makes: the
	// job container of act and the image of Woodpecker's shell steps.
	runnerBaseImage = "localhost/base:local"

	// runnerTimeout bounds one run of a runner (a whole workflow).
	runnerTimeout = 6 * time.Minute
	// podmanTimeout bounds one podman command.
	podmanTimeout = 2 * time.Minute
	// serviceStartTimeout bounds the wait for podman's Docker API socket.
	serviceStartTimeout = 30 * time.Second
	// serviceStopTimeout bounds the wait for the stopped service to exit.
	serviceStopTimeout = 15 * time.Second
)

// runnerUnavailable fails the test under CI=true and skips it elsewhere: a
// runner or podman missing, or podman unable to start containers.
func runnerUnavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if testbin.IsCI() {
		t.Fatalf("CI=true, so this is an error: "+format, args...)
	}
	t.Skipf(format, args...)
}

// runBoundedTool runs name with args in dir with env, bounded by timeout; a
// timeout kills its whole process group and fails the test. Output is kept
// up to testbin.OutputCap bytes each.
func runBoundedTool(t *testing.T, timeout time.Duration, dir string, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out, errb := testbin.NewBuffer(testbin.OutputCap), testbin.NewBuffer(testbin.OutputCap)
	cmd.Stdout, cmd.Stderr = out, errb
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s %s: %v", filepath.Base(name), strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %s: timed out after %s\nstdout: %s\nstderr: %s", filepath.Base(name), strings.Join(args, " "), timeout,
			testbin.Tail(out.String(), testbin.OutputTail), testbin.Tail(errb.String(), testbin.OutputTail))
	}
	return result{out.String(), errb.String(), code}
}

// podman is rootful podman with the private configuration of
// scripts/install-podman.sh.
type podman struct {
	bin   string
	env   []string // the test's environment with the configuration
	image string   // the manifesto image under test
}

// podmanSetup finds podman and its configuration, checks that the image
// under test is in its storage and that it can start a container; see the
// file comment for when it skips or fails.
func podmanSetup(t *testing.T) *podman {
	t.Helper()
	image := os.Getenv(envContainerImage)
	if image == "" {
		t.Skipf("%s is not set: build the image with ./scripts/build-image.sh, then set %s=localhost/manifesto:test "+
			"(see e2e/runners_test.go); .ci/run does this", envContainerImage, envContainerImage)
	}
	bin, err := exec.LookPath("podman")
	if err != nil {
		runnerUnavailable(t, "podman is not installed: run scripts/install-podman.sh (%v)", err)
	}
	dir := os.Getenv(envPodmanDir)
	if dir == "" && testbin.CacheDir() != "" {
		dir = filepath.Join(filepath.Dir(testbin.CacheDir()), "podman")
	}
	conf := filepath.Join(dir, "containers.conf")
	if !fileExists(conf) {
		runnerUnavailable(t, "no podman configuration at %q: run scripts/install-podman.sh, or set %s to the directory it prints", conf, envPodmanDir)
	}
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CONTAINERS_") || strings.HasPrefix(kv, "DOCKER_HOST=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"CONTAINERS_CONF="+conf,
		"CONTAINERS_REGISTRIES_CONF="+filepath.Join(dir, "registries.conf"),
		"CONTAINERS_STORAGE_CONF="+filepath.Join(dir, "storage.conf"),
	)
	p := &podman{bin: bin, env: env, image: image}
	for _, img := range []string{image, runnerBaseImage} {
		// Exit 1: no such image; anything else: podman itself failed.
		switch r := p.run(t, "image", "exists", img); r.code {
		case 0:
		case 1:
			t.Fatalf("%s is not in podman's storage (%s; scripts/build-image.sh makes it)", img, filepath.Join(dir, "storage.conf"))
		default:
			runnerUnavailable(t, "podman does not work here (podman image exists %s: exit %d): %s",
				img, r.code, testbin.Tail(r.stderr, testbin.OutputTail))
		}
	}
	// Can it start a container at all? (The three fixes of
	// scripts/install-podman.sh are about this.)
	if r := p.run(t, "run", "--rm", "--pull=never", image, "version"); r.code != 0 {
		runnerUnavailable(t, "podman cannot start containers here (podman run --rm %s version: exit %d): %s",
			image, r.code, testbin.Tail(r.stderr, testbin.OutputTail))
	}
	return p
}

// run runs one podman command.
func (p *podman) run(t *testing.T, args ...string) result {
	t.Helper()
	return runBoundedTool(t, podmanTimeout, "", p.env, p.bin, args...)
}

// tag adds the name alias to the image under test until the test ends.
func (p *podman) tag(t *testing.T, alias string) {
	t.Helper()
	if r := p.run(t, "tag", p.image, alias); r.code != 0 {
		t.Fatalf("podman tag %s %s: exit %d: %s", p.image, alias, r.code, r.stderr)
	}
	t.Cleanup(func() {
		if r := p.run(t, "untag", alias, alias); r.code != 0 { // IMAGE NAME: only that name
			t.Errorf("podman untag %s: exit %d: %s", alias, r.code, r.stderr)
		}
	})
}

// service starts `podman system service` on a socket in a temporary
// directory, waits until its Docker API answers, stops it when the test
// ends, and returns the DOCKER_HOST value for it.
func (p *podman) service(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "podman.sock")
	cmd := exec.Command(p.bin, "system", "service", "--time=0", "unix://"+sock)
	cmd.Env = p.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logs := testbin.NewBuffer(testbin.OutputCap)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("podman system service: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(serviceStopTimeout):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("podman system service log:\n%s", testbin.Tail(logs.String(), testbin.OutputTail))
		}
	})
	client := &http.Client{
		Timeout: time.Second,
		Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			},
			DisableKeepAlives: true,
		},
	}
	deadline := time.Now().Add(serviceStartTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			t.Fatalf("podman system service exited: %s", testbin.Tail(logs.String(), testbin.OutputTail))
		default:
		}
		if resp, err := client.Get("http://podman/_ping"); err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && string(b) == "OK" {
				return "unix://" + sock
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("podman system service: no answer on %s within %s: %s", sock, serviceStartTimeout, testbin.Tail(logs.String(), testbin.OutputTail))
	return ""
}

// runnerRegistry starts a registry, pushes a sample image to it and returns
// the image reference and its digest.
func runnerRegistry(t *testing.T) (imageRef, subject string) {
	t.Helper()
	reg := testregistry.Start(t)
	imageRef = reg.Ref("acme/app:1.0")
	return imageRef, pushImage(t, imageRef).String()
}

// runnerWorkspace makes a fresh directory holding files: each maps a path
// in the workspace to a path relative to the repository root.
func runnerWorkspace(t *testing.T, files map[string]string) string {
	t.Helper()
	ws := t.TempDir()
	for dst, src := range files {
		b, err := os.ReadFile(filepath.Join("..", src))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(ws, dst)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return ws
}

// gitCommitAll makes dir a git repository with one commit of everything in
// it: act and gitlab-ci-local read the commit.
func gitCommitAll(t *testing.T, dir string) {
	t.Helper()
	env := append(os.Environ(),
		"GIT_AUTHOR_NAME=manifesto e2e", "GIT_AUTHOR_EMAIL=e2e@manifesto.invalid",
		"GIT_COMMITTER_NAME=manifesto e2e", "GIT_COMMITTER_EMAIL=e2e@manifesto.invalid",
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"commit", "-q", "-m", "e2e workspace"},
	} {
		if r := runBoundedTool(t, time.Minute, dir, env, "git", args...); r.code != 0 {
			t.Fatalf("git %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
}

// runnerLog is a runner's output for failure messages.
func runnerLog(r result) string {
	return "stdout:\n" + testbin.Tail(r.stdout, 16<<10) + "\nstderr:\n" + testbin.Tail(r.stderr, 8<<10)
}

// equalFile fails the test unless the file at p holds exactly want.
func equalFile(t *testing.T, p, want string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if !bytes.Equal(b, []byte(want)) {
		t.Errorf("%s = %q, want %q", p, b, want)
	}
}
