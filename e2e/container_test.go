//go:build linux

package e2e

// The container image (Dockerfile) run the way CI systems run it, against a
// real CNCF Distribution registry: as a GitHub Docker container action (the
// entrypoint with no arguments, inputs in INPUT_* variables, outputs in the
// $GITHUB_OUTPUT file), as a GitLab CI job (`script:` through /bin/sh, inputs
// in MANIFESTO_* variables, a manifesto.env dotenv report) and as a Tekton
// step (one file per result).
//
// There is no Docker engine on the project's machines: the image is built and
// run with buildah (chroot isolation, which shares the host's network, so the
// registry on 127.0.0.1 is reachable from inside). The test needs the image
// already built:
//
//	./scripts/build-image.sh      # builds localhost/manifesto:test
//	export CONTAINERS_STORAGE_CONF="$(bash scripts/install-buildah.sh | tail -n 1)"
//	export MANIFESTO_CONTAINER_IMAGE=localhost/manifesto:test
//	./scripts/test.sh -run TestContainer -v ./e2e
//
// .ci/run does exactly that before its test section. Without
// MANIFESTO_CONTAINER_IMAGE the tests skip, CI=true included: the variable is
// the signal that an image was built; when .ci/run builds one it always sets
// it, and a failed build fails CI in its own section. With the variable set
// and buildah missing the tests fail.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/manifesto-dev/manifesto/internal/testbin"
	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

const (
	// envContainerImage names the image under test, in buildah's local
	// storage (localhost/manifesto:test after scripts/build-image.sh).
	envContainerImage = "MANIFESTO_CONTAINER_IMAGE"
	// envStorageConf is containers-storage's configuration;
	// scripts/install-buildah.sh writes a private one.
	envStorageConf = "CONTAINERS_STORAGE_CONF"

	// containerRunTimeout bounds one buildah command.
	containerRunTimeout = 2 * time.Minute
	// containerCleanupTimeout bounds the removal of a working container.
	containerCleanupTimeout = time.Minute

	// entrypoint is where the Dockerfile installs the binary.
	entrypoint = "/usr/local/bin/manifesto"
	// testContent is the value put and read back: a small JSON document
	// with a trailing newline, as files usually end.
	testContent = `{"passed":12,"failed":0,"suite":"unit"}` + "\n"
)

var sha256Digest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// buildahEnv is what every buildah command needs: the image name, the
// buildah binary and the storage configuration. It skips the test when no
// image was built.
type buildahEnv struct {
	image, bin string
	env        []string
}

func containerSetup(t *testing.T) buildahEnv {
	t.Helper()
	image := os.Getenv(envContainerImage)
	if image == "" {
		t.Skipf("%s is not set: build the image with ./scripts/build-image.sh, then set %s=localhost/manifesto:test "+
			"and %s (see e2e/container_test.go); .ci/run does this", envContainerImage, envContainerImage, envStorageConf)
	}
	bin, err := exec.LookPath("buildah")
	if err != nil {
		t.Fatalf("%s=%s is set but buildah is not installed (scripts/install-buildah.sh): %v", envContainerImage, image, err)
	}
	env := os.Environ()
	if os.Getenv(envStorageConf) == "" {
		// Where scripts/install-buildah.sh puts it.
		p := filepath.Join(filepath.Dir(testbin.CacheDir()), "buildah", "storage.conf")
		if testbin.CacheDir() != "" && fileExists(p) {
			env = append(env, envStorageConf+"="+p)
			t.Logf("%s not set; using %s", envStorageConf, p)
		}
	}
	return buildahEnv{image: image, bin: bin, env: env}
}

// containerImageOnRegistry starts a real registry, pushes a sample image to
// repo:tag on it and checks the container can reach it; it returns the
// image reference and the image digest.
func containerImageOnRegistry(t *testing.T, b buildahEnv, ref string) (imageRef, subject string) {
	t.Helper()
	reg := testregistry.Start(t)
	imageRef = reg.Ref(ref)
	subject = pushImage(t, imageRef).String()
	checkNetwork(t, b, reg)
	return imageRef, subject
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// buildah runs one buildah command, bounded by containerRunTimeout; a
// timeout kills its whole process group.
func (b buildahEnv) buildah(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), containerRunTimeout)
	defer cancel()
	return b.buildahCtx(t, ctx, args...)
}

func (b buildahEnv) buildahCtx(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Env = b.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("buildah %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	if ctx.Err() != nil {
		t.Fatalf("buildah %s: timed out after %s; stderr:\n%s", strings.Join(args, " "), containerRunTimeout, errb.String())
	}
	return result{out.String(), errb.String(), code}
}

// container creates a fresh working container from the image, as each CI
// step gets a fresh container, and removes it when the test ends.
func (b buildahEnv) container(t *testing.T) string {
	t.Helper()
	name := "manifesto-e2e-" + randomSuffix(t)
	r := b.buildah(t, "from", "--pull=false", "--quiet", "--name", name, "containers-storage:"+b.image)
	if r.code != 0 {
		t.Fatalf("buildah from containers-storage:%s: exit %d: %s", b.image, r.code, r.stderr)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), containerCleanupTimeout)
		defer cancel()
		if r := b.buildahCtx(t, ctx, "rm", name); r.code != 0 {
			t.Errorf("buildah rm %s: exit %d: %s", name, r.code, r.stderr)
		}
	})
	return name
}

// run is `buildah run --isolation chroot` with env, volumes (host:container)
// and a working directory, then argv.
func (b buildahEnv) run(t *testing.T, ctr, workdir string, env, volumes, argv []string) result {
	t.Helper()
	args := []string{"run", "--isolation", "chroot"}
	if workdir != "" {
		args = append(args, "--workingdir", workdir)
	}
	for _, kv := range env {
		args = append(args, "--env", kv)
	}
	for _, v := range volumes {
		args = append(args, "--volume", v)
	}
	args = append(args, ctr, "--")
	args = append(args, argv...)
	return b.buildah(t, args...)
}

// imageCommand is what `docker run IMAGE` with no arguments executes: the
// image's entrypoint followed by its default command.
func (b buildahEnv) imageCommand(t *testing.T) []string {
	t.Helper()
	r := b.buildah(t, "inspect", "--type", "image", b.image)
	if r.code != 0 {
		t.Fatalf("buildah inspect %s: exit %d: %s", b.image, r.code, r.stderr)
	}
	var doc struct {
		OCIv1 struct {
			Config struct {
				Entrypoint []string `json:"Entrypoint"`
				Cmd        []string `json:"Cmd"`
			} `json:"config"`
		} `json:"OCIv1"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("buildah inspect %s: %v", b.image, err)
	}
	return append(doc.OCIv1.Config.Entrypoint, doc.OCIv1.Config.Cmd...)
}

func randomSuffix(t *testing.T) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// parseGitHubOutput reads a $GITHUB_OUTPUT file the way the runner does:
// "name=value" lines, and "name<<DELIMITER" followed by the value's lines up
// to a line that is exactly DELIMITER (the newline before it is not part of
// the value). A name seen twice keeps its last value, as on GitHub.
func parseGitHubOutput(s string) (map[string]string, error) {
	outs := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 64<<10), 8<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if line == "" {
			continue
		}
		eq := strings.Index(line, "=")
		hd := strings.Index(line, "<<")
		if eq >= 0 && (hd < 0 || eq < hd) {
			outs[line[:eq]] = line[eq+1:]
			continue
		}
		if hd <= 0 {
			return nil, fmt.Errorf("line %d: %q is neither name=value nor name<<DELIMITER", lineNo, line)
		}
		name, delim := line[:hd], line[hd+2:]
		if delim == "" {
			return nil, fmt.Errorf("line %d: empty heredoc delimiter for %q", lineNo, name)
		}
		var value []string
		closed := false
		for sc.Scan() {
			lineNo++
			if sc.Text() == delim {
				closed = true
				break
			}
			value = append(value, sc.Text())
		}
		if !closed {
			return nil, fmt.Errorf("output %q: delimiter %q never closes", name, delim)
		}
		outs[name] = strings.Join(value, "\n")
	}
	return outs, sc.Err()
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// githubRun is one step of a GitHub job: a fresh container from the image,
// the runner's mounts and variables, the entrypoint with no arguments.
// GitHub's runner does
//
//	docker run --workdir /github/workspace -e GITHUB_ACTIONS=true -e INPUT_... \
//	  -v <work>:/github/workspace -v <file_commands>:/github/file_commands \
//	  -v <home>:/github/home ... IMAGE
//
// It returns the run and the parsed outputs file.
type githubJob struct {
	b                       buildahEnv
	action                  actionMetadata
	workspace, fileCommands string
	home                    string
}

func newGitHubJob(t *testing.T, b buildahEnv) *githubJob {
	return &githubJob{b: b, action: loadAction(t), workspace: t.TempDir(), fileCommands: t.TempDir(), home: t.TempDir()}
}

// fakeGitHubToken stands for ${{ github.token }}.
const fakeGitHubToken = "ghs_e2eFakeTokenNeverValid0123456789"

// actionMetadata is what the test reads of action.yml.
type actionMetadata struct {
	Inputs map[string]struct {
		Description string `yaml:"description"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Image string `yaml:"image"`
	} `yaml:"runs"`
}

func loadAction(t *testing.T) actionMetadata {
	t.Helper()
	var a actionMetadata
	decodeYAML(t, "../action.yml", &a)
	if a.Runs.Using != "docker" || a.Runs.Image != "Dockerfile" {
		t.Fatalf("action.yml: runs = %+v, want using: docker, image: Dockerfile (the image under test)", a.Runs)
	}
	return a
}

// decodeYAML decodes the documents of a YAML file in order into docs.
func decodeYAML(t *testing.T, path string, docs ...any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	for i, d := range docs {
		if err := dec.Decode(d); err != nil {
			t.Fatalf("%s: document %d: %v", path, i+1, err)
		}
	}
}

func (j *githubJob) step(t *testing.T, inputs map[string]string) (result, map[string]string, string) {
	t.Helper()
	id := randomSuffix(t)
	outputFile := "set_output_" + id
	summaryFile := "step_summary_" + id
	// The runner creates both files, empty, before the step.
	for _, f := range []string{outputFile, summaryFile} {
		if err := os.WriteFile(filepath.Join(j.fileCommands, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{
		"CI=true",
		"GITHUB_ACTIONS=true",
		"GITHUB_ACTOR=octocat",
		"GITHUB_REPOSITORY=acme/app",
		"GITHUB_WORKSPACE=/github/workspace",
		"HOME=/github/home",
		"GITHUB_OUTPUT=/github/file_commands/" + outputFile,
		"GITHUB_STEP_SUMMARY=/github/file_commands/" + summaryFile,
		"RUNNER_OS=Linux",
		"RUNNER_TEMP=/home/runner/work/_temp",
	}
	// The runner exports every input action.yml declares, with its default
	// when the workflow gives no value.
	all := map[string]string{}
	for name, in := range j.action.Inputs {
		all[name] = in.Default
	}
	for k, v := range inputs {
		if _, declared := j.action.Inputs[k]; !declared {
			t.Fatalf("input %q is not declared in action.yml", k)
		}
		all[k] = v
	}
	names := make([]string, 0, len(all))
	for k := range all {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		v := all[k]
		if v == "${{ github.token }}" {
			// What the runner hands over; it must go to ghcr.io only, so
			// the local registry sees an anonymous client.
			v = fakeGitHubToken
		}
		if strings.Contains(v, "${{") {
			t.Fatalf("action.yml: input %q: default %q has an expression this test does not know", k, v)
		}
		env = append(env, "INPUT_"+strings.ToUpper(k)+"="+v)
	}

	ctr := j.b.container(t)
	argv := j.b.imageCommand(t)
	r := j.b.run(t, ctr, "/github/workspace", env, []string{
		j.workspace + ":/github/workspace",
		j.fileCommands + ":/github/file_commands",
		j.home + ":/github/home",
	}, argv)
	raw := readFile(t, filepath.Join(j.fileCommands, outputFile))
	outs, err := parseGitHubOutput(raw)
	if err != nil {
		t.Fatalf("$GITHUB_OUTPUT: %v; file:\n%s", err, raw)
	}
	for name := range outs {
		if _, declared := j.action.Outputs[name]; !declared {
			t.Errorf("the step wrote output %q, which action.yml does not declare", name)
		}
	}
	return r, outs, readFile(t, filepath.Join(j.fileCommands, summaryFile))
}

// checkNetwork proves that the container reaches the registry on the host's
// loopback address, so that a failure later is about manifesto.
func checkNetwork(t *testing.T, b buildahEnv, reg *testregistry.Registry) {
	t.Helper()
	ctr := b.container(t)
	r := b.run(t, ctr, "", nil, nil, []string{"/bin/sh", "-c", "wget -q -O /dev/null " + reg.URL + "/v2/ && echo reachable"})
	if r.code != 0 || !strings.Contains(r.stdout, "reachable") {
		t.Fatalf("the container cannot reach the registry at %s (buildah run --isolation chroot should share the host network): exit %d\nstdout: %s\nstderr: %s",
			reg.URL, r.code, r.stdout, r.stderr)
	}
}

// TestContainerImage checks the image itself: the entrypoint GitHub runs,
// a shell for GitLab's script:, CA certificates, the binary.
func TestContainerImage(t *testing.T) {
	b := containerSetup(t)
	if got, want := b.imageCommand(t), []string{entrypoint}; !slices.Equal(got, want) {
		t.Errorf("entrypoint + cmd = %q, want %q (a GitHub container action runs it with no arguments)", got, want)
	}
	ctr := b.container(t)
	r := b.run(t, ctr, "", nil, nil, []string{entrypoint, "version"})
	if r.code != 0 || !strings.HasPrefix(r.stdout, "manifesto ") {
		t.Fatalf("manifesto version: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	t.Logf("image %s: %s", b.image, strings.TrimSpace(r.stdout))
	r = b.run(t, ctr, "", nil, nil, []string{"/bin/sh", "-c",
		"command -v manifesto && test -s /etc/ssl/certs/ca-certificates.crt && echo shell-ok"})
	if r.code != 0 || !strings.Contains(r.stdout, "shell-ok") || !strings.Contains(r.stdout, entrypoint) {
		t.Fatalf("/bin/sh, manifesto on PATH and CA certificates: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

// TestContainerGitHubAction runs the image as GitHub runs a Docker container
// action (action.yml): put, then get, reading outputs back from
// $GITHUB_OUTPUT with the runner's heredoc rules.
func TestContainerGitHubAction(t *testing.T) {
	b := containerSetup(t)
	imageRef, subject := containerImageOnRegistry(t, b, "acme/app:1.0")

	job := newGitHubJob(t, b)
	if err := os.WriteFile(filepath.Join(job.workspace, "results.json"), []byte(testContent), 0o644); err != nil {
		t.Fatal(err)
	}

	// uses: manifesto-dev/manifesto@v1 with operation: put
	r, outs, summary := job.step(t, map[string]string{
		"operation": "put", "image": imageRef, "key": "test-results", "file": "results.json",
	})
	if r.code != 0 {
		t.Fatalf("put step: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	t.Logf("put step stdout:\n%s", r.stdout)
	if strings.Contains(r.stdout+r.stderr, fakeGitHubToken) && !strings.Contains(r.stdout, "::add-mask::"+fakeGitHubToken) {
		t.Errorf("the github_token input appears in the log without being masked first:\n%s\n%s", r.stdout, r.stderr)
	}
	digest := outs["digest"]
	if !sha256Digest.MatchString(digest) {
		t.Fatalf("put outputs: digest = %q, want sha256:<64 hex>; all outputs: %q", digest, outs)
	}
	for name, want := range map[string]string{"subject": subject, "key": "test-results", "media_type": "application/json"} {
		if outs[name] != want {
			t.Errorf("put outputs: %s = %q, want %q", name, outs[name], want)
		}
	}
	if !strings.Contains(summary, "test-results") {
		t.Errorf("step summary does not mention the key; got:\n%s", summary)
	}
	// The entry is really there: the CLI on the host reads it back.
	if got := ok(t, "get", imageRef, "test-results"); got != testContent {
		t.Errorf("host CLI get after the action's put = %q, want %q", got, testContent)
	}

	// uses: manifesto-dev/manifesto@v1 with operation: get (file: default)
	r, outs, _ = job.step(t, map[string]string{
		"operation": "get", "image": imageRef, "key": "test-results",
	})
	if r.code != 0 {
		t.Fatalf("get step: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	t.Logf("get step stdout:\n%s", r.stdout)
	for name, want := range map[string]string{
		"digest":  digest,
		"subject": subject,
		"key":     "test-results",
		"found":   "true",
		"value":   testContent,
	} {
		if got, present := outs[name]; !present || got != want {
			t.Errorf("get outputs: %s = %q (present %v), want %q", name, got, present, want)
		}
	}
	// path points into the workspace: the container path, or relative to the
	// workspace (which also works in later run: steps on the runner).
	if p := outs["path"]; p != "/github/workspace/.manifesto/test-results" && p != ".manifesto/test-results" {
		t.Errorf("get outputs: path = %q, want /github/workspace/.manifesto/test-results (or relative to the workspace)", p)
	}
	if got := readFile(t, filepath.Join(job.workspace, ".manifesto", "test-results")); got != testContent {
		t.Errorf("workspace .manifesto/test-results = %q, want %q", got, testContent)
	}

	// A missing key with fail_on_missing: false is found=false, not a failure.
	r, outs, _ = job.step(t, map[string]string{
		"operation": "get", "image": imageRef, "key": "seccomp", "fail_on_missing": "false",
	})
	if r.code != 0 || outs["found"] != "false" {
		t.Errorf("get of a missing key with fail_on_missing=false: exit %d, found=%q\nstdout: %s\nstderr: %s",
			r.code, outs["found"], r.stdout, r.stderr)
	}
}

// TestContainerGitLabComponent runs the job of the GitLab CI/CD component
// (templates/manifesto.yml) as a runner would: `image:` with the entrypoint
// cleared, the job's variables, `script:` through /bin/sh in the project
// directory; then a further script line reads the value the step wrote,
// proving the shell works. Outputs come back in the dotenv report.
func TestContainerGitLabComponent(t *testing.T) {
	b := containerSetup(t)
	imageRef, subject := containerImageOnRegistry(t, b, "group/project:main")
	// A value stored earlier in the pipeline.
	digest := strings.TrimSpace(ok(t, "put", imageRef, "test-results", writeFile(t, "results.json", testContent)))

	var spec struct {
		Spec struct {
			Inputs map[string]struct {
				Default any `yaml:"default"`
			} `yaml:"inputs"`
		} `yaml:"spec"`
	}
	var jobs map[string]struct {
		Image struct {
			Entrypoint []string `yaml:"entrypoint"`
		} `yaml:"image"`
		Variables map[string]string `yaml:"variables"`
		Script    []string          `yaml:"script"`
		Artifacts struct {
			Reports struct {
				Dotenv string `yaml:"dotenv"`
			} `yaml:"reports"`
		} `yaml:"artifacts"`
	}
	decodeYAML(t, "../templates/manifesto.yml", &spec, &jobs)
	if len(jobs) != 1 {
		t.Fatalf("templates/manifesto.yml defines %d jobs, want 1", len(jobs))
	}
	inputs := map[string]string{"operation": "get", "image": imageRef, "key": "test-results"}
	interpolate := func(s string) string {
		return regexp.MustCompile(`\$\[\[\s*inputs\.([a-z_]+)\s*\]\]`).ReplaceAllStringFunc(s, func(m string) string {
			name := regexp.MustCompile(`inputs\.([a-z_]+)`).FindStringSubmatch(m)[1]
			if v, ok := inputs[name]; ok {
				return v
			}
			in, ok := spec.Spec.Inputs[name]
			if !ok {
				t.Fatalf("templates/manifesto.yml uses undeclared input %q", name)
			}
			if in.Default == nil {
				t.Fatalf("templates/manifesto.yml: input %q has no default and the test gives none", name)
			}
			return fmt.Sprint(in.Default)
		})
	}
	for _, job := range jobs {
		if !slices.Equal(job.Image.Entrypoint, []string{""}) {
			t.Errorf("job image entrypoint = %q, want [\"\"] (GitLab hands script: to the entrypoint otherwise)", job.Image.Entrypoint)
		}
		const projectDir = "/builds/group/project"
		env := []string{
			"CI=true",
			"GITLAB_CI=true",
			"CI_PROJECT_DIR=" + projectDir,
			"CI_REGISTRY=registry.gitlab.example.com",
			"CI_REGISTRY_USER=gitlab-ci-token",
			"CI_REGISTRY_PASSWORD=glcbt-e2eFakeJobToken",
		}
		for k, v := range job.Variables {
			env = append(env, k+"="+interpolate(v))
		}
		slices.Sort(env)
		// The runner runs the script lines in one shell that stops at the
		// first failure.
		script := "set -e\n" + strings.Join(job.Script, "\n") + "\necho '--- value'\ncat .manifesto/test-results\n"
		ws := t.TempDir()
		ctr := b.container(t)
		r := b.run(t, ctr, projectDir, env, []string{ws + ":" + projectDir}, []string{"/bin/sh", "-c", script})
		if r.code != 0 {
			t.Fatalf("GitLab job script: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
		t.Logf("GitLab job stdout:\n%s", r.stdout)
		if _, value, _ := strings.Cut(r.stdout, "--- value\n"); value != testContent {
			t.Errorf("cat .manifesto/test-results printed %q, want %q", value, testContent)
		}
		report := interpolate(job.Artifacts.Reports.Dotenv)
		if report == "" {
			t.Fatal("the job has no artifacts:reports:dotenv")
		}
		raw := readFile(t, filepath.Join(ws, report))
		if len(raw) >= 5*1024 {
			t.Errorf("dotenv report is %d bytes; GitLab rejects 5 KB or more", len(raw))
		}
		dotenv := parseDotenv(t, raw)
		for name, want := range map[string]string{
			"MANIFESTO_OUT_DIGEST":  digest,
			"MANIFESTO_OUT_SUBJECT": subject,
			"MANIFESTO_OUT_KEY":     "test-results",
			"MANIFESTO_OUT_FOUND":   "true",
			"MANIFESTO_OUT_PATH":    projectDir + "/.manifesto/test-results",
		} {
			if got := dotenv[name]; got != want && !(name == "MANIFESTO_OUT_PATH" && got == ".manifesto/test-results") {
				t.Errorf("%s: %s = %q, want %q", report, name, got, want)
			}
		}
		if strings.Contains(r.stdout+r.stderr+raw, "glcbt-e2eFakeJobToken") {
			t.Errorf("the job token appears in the output or the report")
		}
	}
}

// stepExpr matches ${{ inputs.NAME }}, ${{ output_file }} and the like in
// a GitLab CI/CD Function definition.
var stepExpr = regexp.MustCompile(`\$\{\{\s*([a-z_.]+)\s*\}\}`)

// TestContainerGitLabFunction runs step.yml (GitLab CI/CD Functions) as the
// step runner would in a job whose image is the manifesto image: the
// definition's env with its expressions filled in, exec of its command
// without a shell, outputs as JSON Lines in ${{ output_file }}.
func TestContainerGitLabFunction(t *testing.T) {
	b := containerSetup(t)
	imageRef, subject := containerImageOnRegistry(t, b, "group/project:fn")
	digest := strings.TrimSpace(ok(t, "put", imageRef, "test-results", writeFile(t, "results.json", testContent)))

	var spec struct {
		Spec struct {
			Inputs map[string]struct {
				Type    string `yaml:"type"`
				Default any    `yaml:"default"`
			} `yaml:"inputs"`
			Outputs map[string]struct {
				Type string `yaml:"type"`
			} `yaml:"outputs"`
		} `yaml:"spec"`
	}
	var def struct {
		Env  map[string]string `yaml:"env"`
		Exec struct {
			Command []string `yaml:"command"`
		} `yaml:"exec"`
	}
	decodeYAML(t, "../step.yml", &spec, &def)

	const projectDir, outputFile = "/builds/group/project", "/step-runner/output/outputs.jsonl"
	inputs := map[string]string{"operation": "get", "image": imageRef, "key": "test-results"}
	fill := func(s string) string {
		return stepExpr.ReplaceAllStringFunc(s, func(m string) string {
			expr := stepExpr.FindStringSubmatch(m)[1]
			if expr == "output_file" {
				return outputFile
			}
			name, ok := strings.CutPrefix(expr, "inputs.")
			if !ok {
				t.Fatalf("step.yml: expression %q is not known to this test", m)
			}
			if v, ok := inputs[name]; ok {
				return v
			}
			in, ok := spec.Spec.Inputs[name]
			if !ok {
				t.Fatalf("step.yml uses undeclared input %q", name)
			}
			return fmt.Sprint(in.Default) // booleans render as true/false
		})
	}
	env := []string{"CI=true", "GITLAB_CI=true", "CI_PROJECT_DIR=" + projectDir}
	for k, v := range def.Env {
		env = append(env, k+"="+fill(v))
	}
	slices.Sort(env)
	argv := make([]string, len(def.Exec.Command))
	for i, a := range def.Exec.Command {
		argv[i] = fill(a)
	}
	ws, outDir := t.TempDir(), t.TempDir()
	ctr := b.container(t)
	r := b.run(t, ctr, projectDir, env, []string{ws + ":" + projectDir, outDir + ":" + filepath.Dir(outputFile)}, argv)
	if r.code != 0 {
		t.Fatalf("step.yml exec %q: exit %d\nstdout: %s\nstderr: %s", argv, r.code, r.stdout, r.stderr)
	}
	outs := map[string]string{}
	for _, line := range lines(readFile(t, filepath.Join(outDir, filepath.Base(outputFile)))) {
		var o struct {
			Name  string `json:"name"`
			Value any    `json:"value"`
		}
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			t.Fatalf("output line %q: %v", line, err)
		}
		decl, ok := spec.Spec.Outputs[o.Name]
		if !ok {
			t.Errorf("the function wrote output %q, which step.yml does not declare", o.Name)
			continue
		}
		v, isString := o.Value.(string)
		if decl.Type == "string" && !isString {
			t.Errorf("output %q is %T, but step.yml declares it a string", o.Name, o.Value)
		}
		outs[o.Name] = v
	}
	for name, want := range map[string]string{
		"digest": digest, "subject": subject, "key": "test-results", "found": "true", "value": testContent,
	} {
		if outs[name] != want {
			t.Errorf("output %s = %q, want %q", name, outs[name], want)
		}
	}
	if got := readFile(t, filepath.Join(ws, ".manifesto", "test-results")); got != testContent {
		t.Errorf("project .manifesto/test-results = %q, want %q", got, testContent)
	}
}

// tektonExpr matches $(params.NAME) and $(workspaces.NAME.path).
var tektonExpr = regexp.MustCompile(`\$\(([a-z_.]+)\)`)

// TestContainerTektonTask runs the step of tekton/manifesto-task.yaml as
// Tekton would, with the source workspace bound and dockerconfig not: one
// file per result in /tekton/results, within the 4 KB budget.
func TestContainerTektonTask(t *testing.T) {
	b := containerSetup(t)
	imageRef, subject := containerImageOnRegistry(t, b, "tekton/app:1.0")
	digest := strings.TrimSpace(ok(t, "put", imageRef, "test-results", writeFile(t, "results.json", testContent)))

	var task struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Params []struct {
				Name    string  `yaml:"name"`
				Default *string `yaml:"default"`
			} `yaml:"params"`
			Results []struct {
				Name string `yaml:"name"`
			} `yaml:"results"`
			Steps []struct {
				Image      string   `yaml:"image"`
				WorkingDir string   `yaml:"workingDir"`
				Command    []string `yaml:"command"`
				Args       []string `yaml:"args"`
				Env        []struct {
					Name  string `yaml:"name"`
					Value string `yaml:"value"`
				} `yaml:"env"`
			} `yaml:"steps"`
		} `yaml:"spec"`
	}
	decodeYAML(t, "../tekton/manifesto-task.yaml", &task)
	if task.Kind != "Task" || len(task.Spec.Steps) != 1 {
		t.Fatalf("tekton/manifesto-task.yaml: kind %q with %d steps, want a Task with one step", task.Kind, len(task.Spec.Steps))
	}
	const sourcePath = "/workspace/source"
	params := map[string]string{"operation": "get", "image": imageRef, "key": "test-results"}
	for _, p := range task.Spec.Params {
		if _, given := params[p.Name]; !given && p.Default != nil {
			params[p.Name] = *p.Default
		}
	}
	fill := func(s string) string {
		return tektonExpr.ReplaceAllStringFunc(s, func(m string) string {
			expr := tektonExpr.FindStringSubmatch(m)[1]
			switch {
			case expr == "workspaces.source.path":
				return sourcePath
			case expr == "workspaces.dockerconfig.path":
				return "" // optional and not bound
			case strings.HasPrefix(expr, "params."):
				v, ok := params[strings.TrimPrefix(expr, "params.")]
				if !ok {
					t.Fatalf("tekton task: %s has no value", m)
				}
				return v
			}
			t.Fatalf("tekton task: expression %s is not known to this test", m)
			return ""
		})
	}
	step := task.Spec.Steps[0]
	var env []string
	for _, e := range step.Env {
		env = append(env, e.Name+"="+fill(e.Value))
	}
	argv := append(slices.Clone(step.Command), step.Args...)
	for i := range argv {
		argv[i] = fill(argv[i])
	}
	if len(argv) == 0 {
		argv = b.imageCommand(t)
	}
	ws, results := t.TempDir(), t.TempDir()
	ctr := b.container(t)
	r := b.run(t, ctr, fill(step.WorkingDir), env,
		[]string{ws + ":" + sourcePath, results + ":/tekton/results"}, argv)
	if r.code != 0 {
		t.Fatalf("Tekton step %q: exit %d\nstdout: %s\nstderr: %s", argv, r.code, r.stdout, r.stderr)
	}
	declared := map[string]bool{}
	for _, res := range task.Spec.Results {
		declared[res.Name] = true
	}
	entries, err := os.ReadDir(results)
	if err != nil {
		t.Fatal(err)
	}
	message := 0
	for _, e := range entries {
		if !declared[e.Name()] {
			t.Errorf("the step wrote result %q, which the Task does not declare", e.Name())
		}
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		message += len(`{"key":"","value":"","type":1},`) + len(e.Name()) + int(fi.Size())
	}
	if message > 4096 {
		t.Errorf("Tekton results need about %d bytes, over the 4096-byte termination message", message)
	}
	for name, want := range map[string]string{"digest": digest, "subject": subject, "key": "test-results", "found": "true"} {
		p := filepath.Join(results, name)
		if !fileExists(p) {
			t.Errorf("result %s was not written", name)
			continue
		}
		if got := readFile(t, p); got != want {
			t.Errorf("result %s = %q, want %q", name, got, want)
		}
	}
	if got := readFile(t, filepath.Join(ws, ".manifesto", "test-results")); got != testContent {
		t.Errorf("source workspace .manifesto/test-results = %q, want %q", got, testContent)
	}
}

// TestDockerfileGoVersion needs no image: the Dockerfile's default build
// stage must use the Go release go.mod asks for, or `docker build` (and a
// GitHub container action, which builds the Dockerfile as is) would compile
// with another toolchain or fail on the go directive.
func TestDockerfileGoVersion(t *testing.T) {
	mod := readFile(t, "../go.mod")
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+(?:\.\d+)?)\s*$`).FindStringSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	if tc := regexp.MustCompile(`(?m)^toolchain go(\S+)\s*$`).FindStringSubmatch(mod); tc != nil {
		m = tc
	}
	df := readFile(t, "../Dockerfile")
	arg := regexp.MustCompile(`(?m)^ARG GO_IMAGE=golang:(\S+)\s*$`).FindStringSubmatch(df)
	if arg == nil {
		t.Fatal("Dockerfile: no `ARG GO_IMAGE=golang:<version>...` line")
	}
	if v := strings.SplitN(arg[1], "-", 2)[0]; v != m[1] {
		t.Errorf("Dockerfile builds with golang:%s, but go.mod wants Go %s", arg[1], m[1])
	}
	for _, line := range lines(df) {
		if strings.HasPrefix(line, "RUN ") && !strings.HasPrefix(line, "RUN [") {
			t.Errorf("Dockerfile: %q: use the exec form RUN [...]; the local build base has no shell", line)
		}
	}
}
