package e2e

// Interoperability with oras, the peer tool, against a real CNCF Distribution
// v3.1.2 registry (no referrers API, so every tool shares the fallback index
// under the tag sha256-<image hex>). See README.md, "Storage format" and
// "Concurrent writers lose nothing".

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/manifesto-dev/manifesto/internal/testbin"
	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

const (
	// orasVersion is what scripts/install-oras.sh installs.
	orasVersion = "1.3.6"
	// envOrasBin names an explicit oras binary.
	envOrasBin = "MANIFESTO_ORAS_BIN"

	orasMfType        = "application/vnd.manifesto.metadata.v1"
	orasKeyAnnotation = "dev.manifesto.key"

	// orasTimeout bounds one oras command run on its own.
	orasTimeout = time.Minute
	// orasConcurrentTimeout bounds every process of a concurrent scenario
	// (manifesto's convergence loop alone is bounded by 60 s).
	orasConcurrentTimeout = 2 * time.Minute
)

// orasBin finds the oras binary (testbin.Find): $MANIFESTO_ORAS_BIN, else
// where scripts/install-oras.sh puts it, else "oras" on PATH, and logs which
// version runs. Without one the test is skipped, or fails when CI=true.
func orasBin(t *testing.T) string {
	t.Helper()
	p := testbin.Find(t, envOrasBin, "oras", "scripts/install-oras.sh")
	logOrasVersion(t, p)
	return p
}

var orasVersionOnce sync.Once

// logOrasVersion logs, once per package run, which oras runs; the tests are
// written against orasVersion.
func logOrasVersion(t *testing.T, p string) {
	t.Helper()
	orasVersionOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), orasTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, p, "version").CombinedOutput()
		first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		if err != nil || !strings.Contains(first, orasVersion) {
			t.Logf("note: %s version: %q (%v); these tests are written against oras %s", p, first, err, orasVersion)
			return
		}
		t.Logf("oras: %s (%s)", p, first)
	})
}

// orasCLI holds what every oras invocation of a test needs.
type orasCLI struct {
	bin string
	// authFile is a registry config that does not exist, so that oras
	// never reads the machine's logins.
	authFile string
}

func newOras(t *testing.T) *orasCLI {
	t.Helper()
	return &orasCLI{bin: orasBin(t), authFile: filepath.Join(t.TempDir(), "no-auth.json")}
}

// command builds "oras SUB --plain-http --registry-config F ARGS..." run in
// dir (the working directory; "" for the test's own).
func (o *orasCLI) command(ctx context.Context, dir, sub string, args ...string) *exec.Cmd {
	full := append([]string{sub, "--plain-http", "--registry-config", o.authFile}, args...)
	cmd := exec.CommandContext(ctx, o.bin, full...)
	cmd.Env = cleanEnv()
	cmd.Dir = dir
	return cmd
}

// run runs one oras command, bounded by orasTimeout, and fails the test
// unless it exits 0. It returns stdout.
func (o *orasCLI) run(t *testing.T, dir, sub string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), orasTimeout)
	defer cancel()
	cmd := o.command(ctx, dir, sub, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("oras %s %s: %v\nstdout: %s\nstderr: %s", sub, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// orasReferrer is one node of "oras discover --format json".
type orasReferrer struct {
	Reference    string            `json:"reference"`
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType"`
	Annotations  map[string]string `json:"annotations"`
	Referrers    []orasReferrer    `json:"referrers"`
}

// discover returns the direct referrers oras finds for subject (REPO@digest),
// optionally filtered by artifact type.
func (o *orasCLI) discover(t *testing.T, subject, artifactType string) []orasReferrer {
	t.Helper()
	// The tag scheme explicitly: what oras lists is the fallback index.
	args := []string{"--format", "json", "--distribution-spec", "v1.1-referrers-tag"}
	if artifactType != "" {
		args = append(args, "--artifact-type", artifactType)
	}
	out := o.run(t, "", "discover", append(args, subject)...)
	var root orasReferrer
	if err := json.Unmarshal([]byte(out), &root); err != nil {
		t.Fatalf("oras discover %s: output is not JSON: %v\n%s", subject, err, out)
	}
	if root.Digest != orasDigestOf(subject) {
		t.Fatalf("oras discover %s: subject digest %q", subject, root.Digest)
	}
	return root.Referrers
}

// orasAttachResult is the part of "oras attach --format json" the tests use.
type orasAttachResult struct {
	Digest       string            `json:"digest"`
	ArtifactType string            `json:"artifactType"`
	Annotations  map[string]string `json:"annotations"`
}

func orasParseAttach(out string) (orasAttachResult, error) {
	var a orasAttachResult
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		return a, fmt.Errorf("output is not JSON: %v: %q", err, out)
	}
	if !strings.HasPrefix(a.Digest, "sha256:") {
		return a, fmt.Errorf("no digest in %q", out)
	}
	return a, nil
}

func orasDigestOf(ref string) string {
	_, d, _ := strings.Cut(ref, "@")
	return d
}

// orasProc is one process of a concurrent scenario.
type orasProc struct {
	label string
	cmd   *exec.Cmd
	out   bytes.Buffer
	errb  bytes.Buffer
	err   error
}

func (p *orasProc) String() string {
	return fmt.Sprintf("%s: %v\nstdout: %s\nstderr: %s", p.label, p.err, p.out.String(), p.errb.String())
}

// orasManifestoProc prepares "manifesto ARGS..." for orasRunTogether.
func orasManifestoProc(ctx context.Context, label string, args ...string) *orasProc {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cleanEnv()
	return &orasProc{label: label, cmd: cmd}
}

// orasRunTogether starts every process back to back (so that they overlap as
// much as possible), waits for all and returns how long that took. Errors
// are left in each proc for the caller to judge.
func orasRunTogether(t *testing.T, procs []*orasProc) time.Duration {
	t.Helper()
	began := time.Now()
	var wg sync.WaitGroup
	for _, p := range procs {
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errb
		if err := p.cmd.Start(); err != nil {
			p.err = err
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.err = p.cmd.Wait()
		}()
	}
	wg.Wait()
	return time.Since(began)
}

// orasPut runs "manifesto put IMAGE KEY FILE" and returns the entry digest.
func orasPut(t *testing.T, image, key, file string) string {
	t.Helper()
	d := strings.TrimSpace(ok(t, "put", image, key, file))
	if !strings.HasPrefix(d, "sha256:") {
		t.Fatalf("manifesto put %s %s: printed %q, want a digest", image, key, d)
	}
	return d
}

func orasSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// (a) Entries written by manifesto are listed by "oras discover" with their
// key annotations, and "oras pull" of an entry yields the value under its
// file name, byte for byte.
func TestOrasReadsManifestoEntries(t *testing.T) {
	o := newOras(t)
	reg := testregistry.Start(t)
	image := reg.Ref("interop/app:v1")
	imgDigest := pushImage(t, image)
	subject := reg.Ref("interop/app@" + imgDigest.String())

	type entry struct{ key, title, content string }
	entries := []entry{
		{"test-results", "results.json", `{"passed": 41, "failed": 1}` + "\n"},
		{"seccomp", "profile.yaml", "defaultAction: SCMP_ACT_ERRNO\nsyscalls: []\n"},
		// A second version of test-results, under another file name and
		// with bytes a text round trip would change.
		{"test-results", "results-rerun.json", "{\"passed\": 42,\r\n \"failed\": 0, \"note\": \"\u00e9\x00\"}"},
	}
	want := map[string]entry{} // entry digest -> what was put
	for _, e := range entries {
		d := orasPut(t, image, e.key, writeFile(t, e.title, e.content))
		if _, dup := want[d]; dup {
			t.Fatalf("two puts returned the same digest %s", d)
		}
		want[d] = e
	}

	refs := o.discover(t, subject, orasMfType)
	got := map[string]orasReferrer{}
	for _, r := range refs {
		if _, dup := got[r.Digest]; dup {
			t.Errorf("oras discover lists %s twice", r.Digest)
		}
		got[r.Digest] = r
	}
	if !slices.Equal(orasSortedKeys(got), orasSortedKeys(want)) {
		t.Fatalf("oras discover --artifact-type %s lists %v, want the %d entries put: %v",
			orasMfType, orasSortedKeys(got), len(want), orasSortedKeys(want))
	}
	for d, e := range want {
		r := got[d]
		if r.ArtifactType != orasMfType {
			t.Errorf("%s: artifactType %q, want %q", d, r.ArtifactType, orasMfType)
		}
		if r.MediaType != "application/vnd.oci.image.manifest.v1+json" {
			t.Errorf("%s: mediaType %q", d, r.MediaType)
		}
		if k := r.Annotations[orasKeyAnnotation]; k != e.key {
			t.Errorf("%s: annotation %s=%q, want %q (annotations %v)", d, orasKeyAnnotation, k, e.key, r.Annotations)
		}
	}

	for d, e := range want {
		dir := t.TempDir()
		o.run(t, "", "pull", "-o", dir, reg.Ref("interop/app@"+d))
		files, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range files {
			names = append(names, f.Name())
		}
		if !slices.Equal(names, []string{e.title}) {
			t.Errorf("oras pull %s: files %v, want [%s]", d, names, e.title)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.title))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, []byte(e.content)) {
			t.Errorf("oras pull %s: %s is %q, want %q", d, e.title, b, e.content)
		}
	}
	t.Logf("oras discover listed %d manifesto entries; oras pull returned each value intact", len(refs))
}

// (b) An entry attached by oras in the storage format is read by manifesto:
// get, list and history see it, and a later manifesto put of the same key is
// newer.
func TestOrasAttachReadByManifesto(t *testing.T) {
	o := newOras(t)
	reg := testregistry.Start(t)
	image := reg.Ref("interop/app:v1")
	imgDigest := pushImage(t, image)
	subject := reg.Ref("interop/app@" + imgDigest.String())

	other := orasPut(t, image, "owner", writeFile(t, "owner.txt", "team-a@example.com\n"))

	const content = `{"approved": true, "by": "release-manager"}` + "\n"
	file := writeFile(t, "approval.json", content)
	out := o.run(t, filepath.Dir(file), "attach", "--format", "json",
		"--artifact-type", orasMfType,
		"--annotation", orasKeyAnnotation+"=approval",
		subject, "approval.json:application/json")
	att, err := orasParseAttach(out)
	if err != nil {
		t.Fatalf("oras attach: %v", err)
	}

	if got := ok(t, "get", image, "approval"); got != content {
		t.Errorf("manifesto get approval: %q, want %q", got, content)
	}
	dst := filepath.Join(t.TempDir(), "out.json")
	ok(t, "get", image, "approval", "-o", dst)
	if b, err := os.ReadFile(dst); err != nil || string(b) != content {
		t.Errorf("manifesto get approval -o: %q (%v), want %q", b, err, content)
	}
	if got := lines(ok(t, "list", image)); !slices.Equal(got, []string{"approval", "owner"}) {
		t.Errorf("manifesto list: %q, want [approval owner]", got)
	}
	if got := lines(ok(t, "history", image, "approval")); !slices.Equal(got, []string{att.Digest}) {
		t.Errorf("manifesto history approval: %q, want [%s] (the oras entry)", got, att.Digest)
	}
	if got := lines(ok(t, "history", image, "owner")); !slices.Equal(got, []string{other}) {
		t.Errorf("manifesto history owner: %q, want [%s]", got, other)
	}

	// oras writes created with second precision, so a manifesto put made
	// afterwards is newer, and both versions stay in history.
	const content2 = `{"approved": false}` + "\n"
	newer := orasPut(t, image, "approval", writeFile(t, "approval.json", content2))
	if got := ok(t, "get", image, "approval"); got != content2 {
		t.Errorf("manifesto get approval after a newer put: %q, want %q", got, content2)
	}
	if got := ok(t, "get", image, "approval", "--digest", att.Digest); got != content {
		t.Errorf("manifesto get approval --digest <oras entry>: %q, want %q", got, content)
	}
	if got := lines(ok(t, "history", image, "approval")); !slices.Equal(got, []string{newer, att.Digest}) {
		t.Errorf("manifesto history approval: %q, want [%s %s]", got, newer, att.Digest)
	}
}

// (c) manifesto and oras writing to the same image at once: 8 manifesto put
// processes (8 keys) and 4 oras attach processes of other artifact types.
// Every manifesto key must be there afterwards, every round. How many of
// oras's own artifacts survive is oras's business (it merges concurrent
// fallback updates only within one process); it is logged, not asserted.
func TestOrasMixedConcurrentWriters(t *testing.T) {
	o := newOras(t)
	reg := testregistry.Start(t)
	const (
		rounds      = 3
		mfProcs     = 8
		orasWriters = 4
		repo        = "mixed/app"
	)
	orasTypes := []string{"application/vnd.example.sbom", "application/vnd.example.vuln-scan"}
	var orasKept, orasIndexed, mfIndexed []int

	for round := 1; round <= rounds; round++ {
		image := reg.Ref(fmt.Sprintf("%s:round-%d", repo, round))
		imgDigest := pushImage(t, image)
		subject := reg.Ref(repo + "@" + imgDigest.String())

		ctx, cancel := context.WithTimeout(context.Background(), orasConcurrentTimeout)
		values := map[string]string{}
		var procs []*orasProc
		for i := range mfProcs {
			key := fmt.Sprintf("key-%d", i)
			values[key] = fmt.Sprintf(`{"round": %d, "key": %q}`, round, key)
			procs = append(procs, orasManifestoProc(ctx, "manifesto put "+key,
				"put", image, key, writeFile(t, key+".json", values[key])))
		}
		orasDir := t.TempDir()
		for i := range orasWriters {
			name := fmt.Sprintf("other-%d.json", i)
			if err := os.WriteFile(filepath.Join(orasDir, name), []byte(fmt.Sprintf(`{"oras": %d}`, i)), 0o644); err != nil {
				t.Fatal(err)
			}
			at := orasTypes[i%len(orasTypes)]
			procs = append(procs, &orasProc{
				label: "oras attach " + at + " " + name,
				cmd: o.command(ctx, orasDir, "attach", "--format", "json", "--artifact-type", at,
					subject, name+":application/json"),
			})
		}
		took := orasRunTogether(t, procs)
		cancel()

		orasDigests := map[string]bool{}
		orasFailed := 0
		for _, p := range procs {
			isOras := strings.HasPrefix(p.label, "oras ")
			switch {
			case p.err != nil && isOras:
				// Not manifesto's to judge, but worth seeing.
				orasFailed++
				t.Logf("round %d: %s", round, p)
			case p.err != nil:
				t.Errorf("round %d: %s", round, p)
			case isOras:
				a, err := orasParseAttach(p.out.String())
				if err != nil {
					t.Errorf("round %d: %s: %v", round, p.label, err)
					continue
				}
				orasDigests[a.Digest] = true
			}
		}
		if orasFailed == orasWriters {
			t.Errorf("round %d: every oras attach failed; the scenario did not mix writers", round)
		}

		if got := lines(ok(t, "list", image)); !slices.Equal(got, orasSortedKeys(values)) {
			t.Errorf("round %d: manifesto list: %q, want all %d keys %q", round, got, mfProcs, orasSortedKeys(values))
		}
		for key, v := range values {
			if got := ok(t, "get", image, key); got != v {
				t.Errorf("round %d: manifesto get %s: %q, want %q", round, key, got, v)
			}
		}

		// What the fallback index (read by oras discover) holds now.
		countIndex := func() (orasN, mf int) {
			for _, r := range o.discover(t, subject, "") {
				switch {
				case orasDigests[r.Digest]:
					orasN++
				case r.ArtifactType == orasMfType:
					mf++
				}
			}
			return orasN, mf
		}
		kept, mfIdx := countIndex()
		orasKept = append(orasKept, kept)
		mfIndexed = append(mfIndexed, mfIdx)
		t.Logf("round %d (%s): oras's own artifacts in the index: %d of %d attached (%d attach failed); manifesto entries in the index: %d of %d",
			round, took.Round(time.Millisecond), kept, len(orasDigests), orasFailed, mfIdx, mfProcs)

		// repair puts every manifesto entry back into the index for other
		// tools, and drops none of oras's artifacts that were there.
		ok(t, "repair", image)
		keptAfter, mfAfter := countIndex()
		orasIndexed = append(orasIndexed, keptAfter)
		if mfAfter != mfProcs {
			t.Errorf("round %d: after manifesto repair, oras discover lists %d manifesto entries, want %d", round, mfAfter, mfProcs)
		}
		if keptAfter < kept {
			t.Errorf("round %d: manifesto repair dropped oras artifacts from the index: %d before, %d after", round, kept, keptAfter)
		}
	}
	t.Logf("oras's own artifacts kept per round (of %d): %v (after repair: %v); manifesto entries in the index before repair (of %d): %v",
		orasWriters, orasKept, orasIndexed, mfProcs, mfIndexed)
}

// (d) After 24 manifesto writers settle (16 processes putting 16 keys and 8
// putting one shared key, all at once), the fallback index itself lists
// every entry: oras discover, which reads only that index, sees all 24.
func TestOrasDiscoverSeesAllConcurrentPuts(t *testing.T) {
	o := newOras(t)
	reg := testregistry.Start(t)
	const (
		distinct = 16
		shared   = 8
		repo     = "race/app"
	)
	image := reg.Ref(repo + ":v1")
	imgDigest := pushImage(t, image)
	subject := reg.Ref(repo + "@" + imgDigest.String())

	ctx, cancel := context.WithTimeout(context.Background(), orasConcurrentTimeout)
	defer cancel()
	var procs []*orasProc
	keyOf := map[*orasProc]string{}
	for i := range distinct {
		key := fmt.Sprintf("key-%02d", i)
		p := orasManifestoProc(ctx, "manifesto put "+key, "put", image, key, writeFile(t, key+".txt", key))
		keyOf[p] = key
		procs = append(procs, p)
	}
	for i := range shared {
		p := orasManifestoProc(ctx, fmt.Sprintf("manifesto put shared #%d", i),
			"put", image, "shared", writeFile(t, "shared.txt", fmt.Sprintf("shared %d", i)))
		keyOf[p] = "shared"
		procs = append(procs, p)
	}
	took := orasRunTogether(t, procs)

	want := map[string]string{} // entry digest -> key
	for _, p := range procs {
		if p.err != nil {
			t.Errorf("%s", p)
			continue
		}
		d := strings.TrimSpace(p.out.String())
		if !strings.HasPrefix(d, "sha256:") {
			t.Errorf("%s: printed %q, want a digest", p.label, d)
			continue
		}
		want[d] = keyOf[p]
	}
	if t.Failed() {
		t.FailNow()
	}
	if len(want) != distinct+shared {
		t.Fatalf("%d distinct entry digests from %d puts", len(want), distinct+shared)
	}

	refs := o.discover(t, subject, orasMfType)
	got := map[string]string{}
	for _, r := range refs {
		if _, dup := got[r.Digest]; dup {
			t.Errorf("oras discover lists %s twice", r.Digest)
		}
		got[r.Digest] = r.Annotations[orasKeyAnnotation]
	}
	var missing []string
	for d, key := range want {
		k, found := got[d]
		switch {
		case !found:
			missing = append(missing, key+" "+d)
		case k != key:
			t.Errorf("oras discover: %s has %s=%q, want %q", d, orasKeyAnnotation, k, key)
		}
	}
	sort.Strings(missing)
	t.Logf("%d writers took %s; oras discover lists %d of %d manifesto entries",
		len(procs), took.Round(time.Millisecond), len(want)-len(missing), len(want))
	if len(missing) > 0 {
		t.Errorf("the fallback index (oras discover) lacks %d of %d entries after the writers settled:\n%s",
			len(missing), len(want), strings.Join(missing, "\n"))
	}
	if len(got) != len(want) {
		t.Errorf("oras discover lists %d manifesto entries, want %d", len(got), len(want))
	}

	// And manifesto itself agrees.
	if got := lines(ok(t, "list", image)); len(got) != distinct+1 {
		t.Errorf("manifesto list: %d keys, want %d: %q", len(got), distinct+1, got)
	}
	if got := lines(ok(t, "history", image, "shared")); len(got) != shared {
		t.Errorf("manifesto history shared: %d versions, want %d: %q", len(got), shared, got)
	}
}
