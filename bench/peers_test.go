package bench

// # What BenchmarkPeers measures
//
// manifesto against the two peer CLIs that can store the same thing, oras
// (v1.3.6, scripts/install-oras.sh) and regctl (regclient v0.11.7,
// scripts/install-regctl.sh), on two registries started in the same run:
//
//   - "distribution": the real CNCF Distribution v3.1.2 process
//     (internal/testregistry), which has no referrers API, so every tool
//     keeps the fallback index under the tag sha256-<image hex>;
//   - "ggcr": go-containerregistry's in-process pkg/registry with
//     WithReferrersSupport(true), served on 127.0.0.1 by this process: a
//     registry with the referrers API. It does not answer a manifest PUT
//     with OCI-Subject, so a client learns about the API only by asking the
//     referrers endpoint (none of the three does when putting). Its
//     referrers listing reports each descriptor's artifactType as the
//     config's media type, so on it the peers' artifact-type filters are
//     left out (they would match nothing) and entries are told by the key
//     annotation alone. It also shares blobs across repositories, so each
//     tool stores its own bytes (the values name the tool).
//
// Each registry sits behind an internal/faultproxy reverse proxy with no
// fault rules: every tool talks to the proxy, which counts and logs each
// request (method, path, endpoint kind, status); the log is reset before
// every operation, so the requests of one operation are exactly its own.
// Behind the proxy a timing layer records when each request started and
// when its response ended, which splits an operation's wall time into time
// waiting on the registry and time outside it (start-up, the client's own
// work, sleeps), and gives the traces in the report their durations.
//
// Per iteration, each tool gets its own fresh repository holding the same
// small random image (pushed directly, unmeasured), then the operations run
// in turn, all tools for one operation before the next, the order of the
// tools rotating by one each iteration:
//
//	put (first key)  manifesto put IMAGE test-results results.json
//	                 oras attach --artifact-type T --annotation dev.manifesto.key=K IMAGE results.json:application/json
//	                 regctl artifact put --subject IMAGE --artifact-type T --annotation dev.manifesto.key=K
//	                        --annotation org.opencontainers.image.created=NOW -f results.json -m application/json --file-title
//	put (second key) the same with key seccomp, file seccomp.json (the image now has one entry)
//	get              manifesto get IMAGE test-results
//	                 oras discover --format json --depth 1 --artifact-type T IMAGE, then oras pull -o DIR REPO@<newest entry of K>
//	                 regctl artifact get --subject IMAGE --filter-artifact-type T --filter-annotation dev.manifesto.key=K --latest
//	list             manifesto list IMAGE
//	                 oras discover --format json --depth 1 --artifact-type T IMAGE
//	                 regctl artifact list IMAGE --filter-artifact-type T --format '{{json .}}'
//
// where T is application/vnd.manifesto.metadata.v1 and IMAGE is
// PROXY/REPO:v1 (a tag: every tool resolves it). `--depth 1`: by default
// oras discover also lists the referrers of every referrer, one more
// request per entry that none of the others makes. regctl does not write a
// created annotation itself, and `artifact get --latest` sorts by it, so
// the benchmark passes one, as a regctl user wanting "the newest value"
// has to. oras's get is two processes (the benchmark picks the newest entry
// of the key from discover's JSON, by created annotation, between them;
// that choice is not timed). Every result is checked: get returns the
// value just put, list shows both keys.
//
// Wall time is that of the whole process (or both processes), started
// through bench/peakrss like the streaming benchmark (a few milliseconds,
// the same for every tool); the report gives the median of 25 iterations
// ($MANIFESTO_BENCH_ITERATIONS) and, as a floor, each tool's `version`.
// Requests are counted at the proxy.
//
// # What BenchmarkConcurrentWriters measures
//
// 16 processes of one tool start at once, each putting a different key to
// the same image on CNCF Distribution (through a proxy with no faults, which
// counts the requests), 3 rounds per tool, the tools' order rotating per
// round. Afterwards the benchmark counts the keys kept two ways: through the
// tool's own listing (manifesto list, oras discover, regctl artifact list),
// and in the fallback index itself (what any tool reading only the index
// sees).
//
// Both benchmarks write Markdown fragments into $MANIFESTO_BENCH_OUT when it
// is set (bench/run.sh assembles them into bench/RESULTS.md) and log them
// otherwise.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/manifesto-dev/manifesto/internal/faultproxy"
	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

const (
	peerArtifactType  = "application/vnd.manifesto.metadata.v1"
	peerKeyAnnotation = "dev.manifesto.key"
	createdAnnotation = "org.opencontainers.image.created"
	emptyConfigDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
	zeroDigestPrefix  = "sha256:000000000000"

	// defaultPeerIterations is the number of iterations of BenchmarkPeers
	// per b.N ($MANIFESTO_BENCH_ITERATIONS overrides it).
	defaultPeerIterations = 25
	// concurrentWriters and writerRounds are BenchmarkConcurrentWriters'
	// scenario.
	concurrentWriters = 16
	writerRounds      = 3

	// peerTimeout bounds one peer command; writersTimeout one round of
	// concurrent writers (manifesto's own convergence loop stops at 60 s).
	peerTimeout    = 2 * time.Minute
	writersTimeout = 3 * time.Minute
)

// The operations of BenchmarkPeers, in the order they run.
var peerOps = []struct{ id, title string }{
	{"put1", "put (first key on the image)"},
	{"put2", "put (second key)"},
	{"get", "get (newest value of a key)"},
	{"list", "list"},
}

// peerEnv is what both peer benchmarks share.
type peerEnv struct {
	tl        *tools
	work      string
	values    string // the value files; every tool runs with this working directory
	oras      string
	regctl    string
	img       v1.Image
	imgDigest string
	outDir    string // $MANIFESTO_BENCH_OUT, "" when unset
}

func setupPeers(b *testing.B) *peerEnv {
	b.Helper()
	work := b.TempDir()
	pe := &peerEnv{
		tl:     setupTools(b, work),
		work:   work,
		values: filepath.Join(work, "values"),
		oras:   findPeer(b, "oras", "MANIFESTO_ORAS_BIN", "scripts/install-oras.sh"),
		regctl: findPeer(b, "regctl", "MANIFESTO_REGCTL_BIN", "scripts/install-regctl.sh"),
		outDir: os.Getenv("MANIFESTO_BENCH_OUT"),
	}
	if err := os.MkdirAll(pe.values, 0o755); err != nil {
		b.Fatal(err)
	}
	img, err := random.Image(1024, 1)
	if err != nil {
		b.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		b.Fatal(err)
	}
	pe.img, pe.imgDigest = img, d.String()
	return pe
}

// findPeer returns $ENV, the cached install, or the tool on PATH; it fails
// the benchmark when there is none (the comparison is the point).
func findPeer(b *testing.B, tool, env, installer string) string {
	b.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	if p := filepath.Join(cacheDir(), "bin", tool); isExecutable(p) {
		return p
	}
	if p, err := exec.LookPath(tool); err == nil {
		return p
	}
	b.Fatalf("%s not installed: run %s (or set %s)", tool, installer, env)
	return ""
}

// cacheDir mirrors the install scripts' location.
func cacheDir() string {
	if c := os.Getenv("MANIFESTO_CACHE"); c != "" {
		return c
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		base = filepath.Join(os.Getenv("HOME"), ".cache")
	}
	return filepath.Join(base, "manifesto")
}

// peerRegistry is one registry behind a counting proxy.
type peerRegistry struct {
	name  string // "distribution", "ggcr"
	title string
	host  string // the registry itself, host:port (unmeasured pushes, direct reads)
	proxy *faultproxy.Proxy
	// timing sits behind proxy and records each request's duration.
	timing *timingLayer
	// typeFilter: the peers may filter referrers by artifactType. Not on
	// ggcr, whose referrers listing reports the config's media type as
	// every descriptor's artifactType (pkg/registry/manifest.go,
	// handleReferrers, v0.22.1), so that a filter on
	// application/vnd.manifesto.metadata.v1 matches nothing there.
	typeFilter bool
}

func (r *peerRegistry) ref(s string) string { return r.proxy.Ref(s) }

func startDistribution(b *testing.B) *peerRegistry {
	b.Helper()
	reg := testregistry.Start(b)
	target, err := url.Parse(reg.URL)
	if err != nil {
		b.Fatal(err)
	}
	// faultproxy → timing layer (a reverse proxy) → registry process.
	timing := &timingLayer{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // upload Locations name the faultproxy
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	srv := httptest.NewServer(timing.wrap(rp))
	b.Cleanup(srv.Close)
	return &peerRegistry{
		name:       "distribution",
		title:      "CNCF Distribution " + testregistry.Version + " (no referrers API: fallback tag index)",
		host:       reg.Addr,
		proxy:      faultproxy.Start(b, srv.URL),
		timing:     timing,
		typeFilter: true,
	}
}

func startGGCR(b *testing.B) *peerRegistry {
	b.Helper()
	// faultproxy → timing layer and registry in one in-process server.
	timing := &timingLayer{}
	srv := httptest.NewServer(timing.wrap(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))))
	b.Cleanup(srv.Close)
	return &peerRegistry{
		name:   "ggcr",
		title:  "go-containerregistry v0.22.1 pkg/registry, WithReferrersSupport(true), in process on 127.0.0.1 (referrers API)",
		host:   strings.TrimPrefix(srv.URL, "http://"),
		proxy:  faultproxy.Start(b, srv.URL),
		timing: timing,
	}
}

// span is one request as the timing layer saw it: from its arrival to the
// end of its response body.
type span struct {
	method, path string
	kind         faultproxy.Kind
	status       int
	start, end   time.Time
}

// timingLayer records the duration of every request behind the counting
// proxy (which records arrivals only), so that an operation's wall time can
// be split into time spent waiting for the registry and time spent
// elsewhere (start-up, computing, sleeping). Direct, unmeasured pushes go
// around it.
type timingLayer struct {
	mu    sync.Mutex
	spans []span
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (t *timingLayer) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		h.ServeHTTP(sw, r)
		sp := span{method: r.Method, path: r.URL.Path, kind: faultproxy.KindOf(r.URL.Path), status: sw.status, start: start, end: time.Now()}
		t.mu.Lock()
		t.spans = append(t.spans, sp)
		t.mu.Unlock()
	})
}

func (t *timingLayer) reset() {
	t.mu.Lock()
	t.spans = nil
	t.mu.Unlock()
}

// take returns the spans so far, in arrival order.
func (t *timingLayer) take() []span {
	t.mu.Lock()
	out := slices.Clone(t.spans)
	t.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out
}

// busy returns the time covered by at least one span, and the longest time
// between the first span's start and the last span's end with none open.
func busy(spans []span) (inHTTP, longestIdle time.Duration) {
	var cur time.Time // end of the current busy period
	for i, sp := range spans {
		switch {
		case i == 0:
			inHTTP, cur = sp.end.Sub(sp.start), sp.end
		case sp.start.After(cur):
			longestIdle = max(longestIdle, sp.start.Sub(cur))
			inHTTP += sp.end.Sub(sp.start)
			cur = sp.end
		case sp.end.After(cur):
			inHTTP += sp.end.Sub(cur)
			cur = sp.end
		}
	}
	return inHTTP, longestIdle
}

// execResult is one finished child process.
type execResult struct {
	wall   time.Duration
	rssKiB int64
	stdout string
	stderr string
	err    error
}

// exec runs prog through the peakrss launcher in dir and returns what
// happened (no logging, no failing: callers judge).
func (pe *peerEnv) exec(ctx context.Context, dir, prog string, args ...string) execResult {
	rep, err := os.CreateTemp(pe.work, "peakrss-*.report")
	if err != nil {
		return execResult{err: err}
	}
	report := rep.Name()
	rep.Close()
	defer os.Remove(report)
	cmd := exec.CommandContext(ctx, pe.tl.peakrss, append([]string{report, prog}, args...)...)
	cmd.Env = pe.tl.env
	cmd.Dir = dir
	var out strings.Builder
	errBuf := &tailBuffer{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = &out, errBuf
	began := time.Now()
	err = cmd.Run()
	r := execResult{wall: time.Since(began), stdout: out.String(), stderr: errBuf.String(), err: err}
	if raw, rerr := os.ReadFile(report); rerr == nil {
		var floor int64
		_, _ = fmt.Sscanf(string(raw), "maxrss_kib=%d floor_kib=%d", &r.rssKiB, &floor)
	}
	return r
}

// op accumulates the processes of one measured operation.
type op struct {
	b    *testing.B
	pe   *peerEnv
	dir  string // working directory (where the value files are)
	wall time.Duration
	rss  int64
	cmds []string
}

// run runs one command of the operation and returns its stdout; a failure
// fails the benchmark.
func (o *op) run(prog string, args ...string) string {
	o.b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), peerTimeout)
	defer cancel()
	r := o.pe.exec(ctx, o.dir, prog, args...)
	what := filepath.Base(prog) + " " + strings.Join(args, " ")
	if r.err != nil {
		o.b.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", what, r.err, r.stdout, r.stderr)
	}
	o.wall += r.wall
	o.rss = max(o.rss, r.rssKiB)
	o.cmds = append(o.cmds, what)
	return r.stdout
}

// peerTool is one CLI under comparison. image is PROXY/REPO:v1.
type peerTool interface {
	name() string
	// bin is the executable.
	bin() string
	// putCmd is the command storing file (a name in the values
	// directory) as key; the argv, program first.
	putCmd(reg *peerRegistry, image, key, file string) []string
	// get returns the newest value of key.
	get(o *op, reg *peerRegistry, image, key string) string
	// list returns the keys on the image (one per entry).
	list(o *op, reg *peerRegistry, image string) []string
}

func (pe *peerEnv) peerTools() []peerTool {
	return []peerTool{manifestoCLI{pe.tl.manifesto}, orasCLI{pe.oras, pe}, regctlCLI{pe.regctl}}
}

func put(o *op, t peerTool, reg *peerRegistry, image, key, file string) {
	argv := t.putCmd(reg, image, key, file)
	o.run(argv[0], argv[1:]...)
}

// manifestoCLI is this repository's binary.
type manifestoCLI struct{ path string }

func (manifestoCLI) name() string  { return "manifesto" }
func (m manifestoCLI) bin() string { return m.path }

func (m manifestoCLI) putCmd(_ *peerRegistry, image, key, file string) []string {
	return []string{m.path, "put", image, key, file}
}

func (m manifestoCLI) get(o *op, _ *peerRegistry, image, key string) string {
	return o.run(m.path, "get", image, key)
}

func (m manifestoCLI) list(o *op, _ *peerRegistry, image string) []string {
	return strings.Fields(o.run(m.path, "list", image))
}

// orasCLI is oras v1.3.6.
type orasCLI struct {
	path string
	pe   *peerEnv
}

func (orasCLI) name() string  { return "oras" }
func (c orasCLI) bin() string { return c.path }

func (c orasCLI) putCmd(_ *peerRegistry, image, key, file string) []string {
	return []string{c.path, "attach", "--plain-http", "--format", "json",
		"--artifact-type", peerArtifactType, "--annotation", peerKeyAnnotation + "=" + key,
		image, file + ":application/json"}
}

// orasNode is one node of `oras discover --format json`.
type orasNode struct {
	Digest       string            `json:"digest"`
	ArtifactType string            `json:"artifactType"`
	Annotations  map[string]string `json:"annotations"`
	Referrers    []orasNode        `json:"referrers"`
}

func (c orasCLI) discover(o *op, reg *peerRegistry, image string) []orasNode {
	o.b.Helper()
	args := []string{"discover", "--plain-http", "--format", "json", "--depth", "1"}
	if reg.typeFilter {
		args = append(args, "--artifact-type", peerArtifactType)
	}
	out := o.run(c.path, append(args, image)...)
	var root orasNode
	if err := json.Unmarshal([]byte(out), &root); err != nil {
		o.b.Fatalf("oras discover %s: %v\n%s", image, err, out)
	}
	return root.Referrers
}

func (c orasCLI) get(o *op, reg *peerRegistry, image, key string) string {
	o.b.Helper()
	var newest *orasNode
	for _, n := range c.discover(o, reg, image) {
		if n.Annotations[peerKeyAnnotation] != key {
			continue
		}
		if newest == nil || n.Annotations[createdAnnotation] > newest.Annotations[createdAnnotation] ||
			(n.Annotations[createdAnnotation] == newest.Annotations[createdAnnotation] && n.Digest > newest.Digest) {
			newest = &n
		}
	}
	if newest == nil {
		o.b.Fatalf("oras discover %s: no entry of key %s", image, key)
	}
	dir, err := os.MkdirTemp(c.pe.work, "oras-pull-")
	if err != nil {
		o.b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	repo := strings.TrimSuffix(image, ":v1")
	o.run(c.path, "pull", "--plain-http", "-o", dir, repo+"@"+newest.Digest)
	files, err := os.ReadDir(dir)
	if err != nil || len(files) != 1 {
		o.b.Fatalf("oras pull %s@%s: files %v (%v), want one", repo, newest.Digest, files, err)
	}
	v, err := os.ReadFile(filepath.Join(dir, files[0].Name()))
	if err != nil {
		o.b.Fatal(err)
	}
	return string(v)
}

func (c orasCLI) list(o *op, reg *peerRegistry, image string) []string {
	var keys []string
	for _, n := range c.discover(o, reg, image) {
		keys = append(keys, n.Annotations[peerKeyAnnotation])
	}
	return keys
}

// regctlCLI is regctl v0.11.7.
type regctlCLI struct{ path string }

func (regctlCLI) name() string  { return "regctl" }
func (c regctlCLI) bin() string { return c.path }

// host makes regctl speak plain HTTP to the proxy.
func (regctlCLI) host(reg *peerRegistry) []string {
	return []string{"--host", "reg=" + reg.proxy.Addr() + ",tls=disabled"}
}

func (c regctlCLI) putCmd(reg *peerRegistry, image, key, file string) []string {
	return append(append([]string{c.path}, c.host(reg)...), "artifact", "put", "--subject", image,
		"--artifact-type", peerArtifactType,
		"--annotation", peerKeyAnnotation+"="+key,
		"--annotation", createdAnnotation+"="+time.Now().UTC().Format(time.RFC3339Nano),
		"-f", file, "-m", "application/json", "--file-title")
}

func (c regctlCLI) get(o *op, reg *peerRegistry, image, key string) string {
	args := append(c.host(reg), "artifact", "get", "--subject", image)
	if reg.typeFilter {
		args = append(args, "--filter-artifact-type", peerArtifactType)
	}
	return o.run(c.path, append(args, "--filter-annotation", peerKeyAnnotation+"="+key, "--latest")...)
}

func (c regctlCLI) list(o *op, reg *peerRegistry, image string) []string {
	o.b.Helper()
	args := append(c.host(reg), "artifact", "list", image)
	if reg.typeFilter {
		args = append(args, "--filter-artifact-type", peerArtifactType)
	}
	out := o.run(c.path, append(args, "--format", "{{json .}}")...)
	var l struct {
		Descriptors []struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"descriptors"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		o.b.Fatalf("regctl artifact list %s: %v\n%s", image, err, out)
	}
	var keys []string
	for _, d := range l.Descriptors {
		keys = append(keys, d.Annotations[peerKeyAnnotation])
	}
	return keys
}

// opStats collects one (registry, operation, tool).
type opStats struct {
	walls  []time.Duration
	reqs   []int
	rss    int64
	inHTTP []time.Duration // time covered by requests
	idle   []time.Duration // longest gap between requests
	last   []span          // the requests of the last iteration, timed
	start  time.Time       // when the last iteration's operation started
	cmds   []string        // the commands of the last iteration
}

func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianInt(xs []int) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return float64(s[len(s)/2])
	}
	return float64(s[len(s)/2-1]+s[len(s)/2]) / 2
}

// outside is wall minus in-requests, per sample.
func outside(walls, inHTTP []time.Duration) []time.Duration {
	out := make([]time.Duration, len(walls))
	for i := range walls {
		out[i] = walls[i] - inHTTP[i]
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func peerIterations(b *testing.B) int {
	n := defaultPeerIterations
	if s := os.Getenv("MANIFESTO_BENCH_ITERATIONS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("MANIFESTO_BENCH_ITERATIONS=%q: want a positive number", s)
		}
		n = v
	}
	return n * b.N
}

func rotate[T any](xs []T, by int) []T {
	by %= len(xs)
	return append(slices.Clone(xs[by:]), xs[:by]...)
}

func BenchmarkPeers(b *testing.B) {
	pe := setupPeers(b)
	regs := []*peerRegistry{startDistribution(b), startGGCR(b)}
	toolList := pe.peerTools()
	n := peerIterations(b)

	// stats[registry][op][tool]
	stats := map[string]map[string]map[string]*opStats{}
	for _, reg := range regs {
		stats[reg.name] = map[string]map[string]*opStats{}
		for _, o := range peerOps {
			stats[reg.name][o.id] = map[string]*opStats{}
			for _, t := range toolList {
				stats[reg.name][o.id][t.name()] = &opStats{}
			}
		}
	}

	b.ResetTimer()
	for i := 0; i < n; i++ {
		// Each tool stores its own bytes: a registry that shares blobs
		// across repositories (ggcr does) must not spare one tool an
		// upload another just made.
		files := map[string]string{"test-results": "results.json", "seccomp": "seccomp.json"}
		values := map[string]map[string]string{} // tool -> key -> value
		b.StopTimer()
		for _, t := range toolList {
			values[t.name()] = map[string]string{
				"test-results": fmt.Sprintf(`{"tool": %q, "iteration": %d, "passed": 41, "failed": 1}`+"\n", t.name(), i),
				"seccomp":      fmt.Sprintf(`{"tool": %q, "iteration": %d, "defaultAction": "SCMP_ACT_ERRNO"}`+"\n", t.name(), i),
			}
			dir := filepath.Join(pe.values, t.name())
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			for k, v := range values[t.name()] {
				if err := os.WriteFile(filepath.Join(dir, files[k]), []byte(v), 0o644); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StartTimer()
		order := rotate(toolList, i)
		for _, reg := range regs {
			b.StopTimer()
			images := map[string]string{}
			for _, t := range order {
				repo := fmt.Sprintf("peers/%s-%d", t.name(), i)
				pushImage(b, reg.host+"/"+repo+":v1", pe.img)
				images[t.name()] = reg.ref(repo + ":v1")
			}
			b.StartTimer()
			for _, opDef := range peerOps {
				for _, t := range order {
					image := images[t.name()]
					o := &op{b: b, pe: pe, dir: filepath.Join(pe.values, t.name())}
					reg.proxy.Reset()
					reg.timing.reset()
					start := time.Now()
					switch opDef.id {
					case "put1":
						put(o, t, reg, image, "test-results", files["test-results"])
					case "put2":
						put(o, t, reg, image, "seccomp", files["seccomp"])
					case "get":
						if want := values[t.name()]["test-results"]; t.get(o, reg, image, "test-results") != want {
							b.Fatalf("%s get on %s: not %q", t.name(), reg.name, want)
						}
					case "list":
						got := t.list(o, reg, image)
						sort.Strings(got)
						if !slices.Equal(got, []string{"seccomp", "test-results"}) {
							b.Fatalf("%s list on %s: %q, want [seccomp test-results]", t.name(), reg.name, got)
						}
					}
					recs := reg.proxy.Records()
					spans := reg.timing.take()
					if len(spans) != len(recs) {
						b.Fatalf("%s %s on %s: the proxy counted %d requests, the timing layer %d", t.name(), opDef.id, reg.name, len(recs), len(spans))
					}
					s := stats[reg.name][opDef.id][t.name()]
					s.walls = append(s.walls, o.wall)
					s.reqs = append(s.reqs, len(recs))
					inHTTP, idle := busy(spans)
					s.inHTTP = append(s.inHTTP, inHTTP)
					s.idle = append(s.idle, idle)
					s.rss = max(s.rss, o.rss)
					s.last, s.start, s.cmds = spans, start, o.cmds
				}
			}
		}
	}
	b.StopTimer()

	// The start-up floor: each tool doing nothing over the network.
	startup := map[string][]time.Duration{}
	for i := 0; i < n; i++ {
		for _, t := range rotate(toolList, i) {
			o := &op{b: b, pe: pe, dir: pe.values}
			o.run(t.bin(), "version")
			startup[t.name()] = append(startup[t.name()], o.wall)
		}
	}

	rep := &peerReport{pe: pe, regs: regs, tools: toolList, stats: stats, n: n, startup: startup}
	rep.write(b)
}

// peerReport renders BenchmarkPeers' results.
type peerReport struct {
	pe    *peerEnv
	regs  []*peerRegistry
	tools []peerTool
	stats map[string]map[string]map[string]*opStats
	n     int
	// startup is the wall time of `TOOL version` per tool.
	startup map[string][]time.Duration
}

func (r *peerReport) med(reg, opID, tool string) time.Duration {
	return medianDuration(r.stats[reg][opID][tool].walls)
}

func (r *peerReport) reqs(reg, opID, tool string) float64 {
	return medianInt(r.stats[reg][opID][tool].reqs)
}

func reqRange(xs []int) string {
	lo, hi := slices.Min(xs), slices.Max(xs)
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%s (%d–%d)", strconv.FormatFloat(medianInt(xs), 'f', -1, 64), lo, hi)
}

func (r *peerReport) write(b *testing.B) {
	var md, goalReq, goalWall strings.Builder
	fmt.Fprintf(&md, "Iterations: %d per registry (median wall time; requests counted at the proxy, median and range when they vary).\n", r.n)
	fmt.Fprintf(&md, "Tool order rotates every iteration. Commands: see the comment at the top of `bench/peers_test.go`.\n\n")
	fmt.Fprintf(&md, "Start-up floor, `TOOL version` (no network), median wall time: manifesto %.1f ms, oras %.1f ms, regctl %.1f ms.\n\n",
		ms(medianDuration(r.startup["manifesto"])), ms(medianDuration(r.startup["oras"])), ms(medianDuration(r.startup["regctl"])))
	for _, reg := range r.regs {
		fmt.Fprintf(&md, "### %s\n\n", reg.title)
		md.WriteString("Wall time, median (ms):\n\n")
		md.WriteString("| operation | manifesto | oras | regctl | manifesto/oras | manifesto/regctl |\n")
		md.WriteString("|---|---:|---:|---:|---:|---:|\n")
		for _, o := range peerOps {
			m, or, rc := r.med(reg.name, o.id, "manifesto"), r.med(reg.name, o.id, "oras"), r.med(reg.name, o.id, "regctl")
			fmt.Fprintf(&md, "| %s | %.1f | %.1f | %.1f | %.2f | %.2f |\n", o.title, ms(m), ms(or), ms(rc), ms(m)/ms(or), ms(m)/ms(rc))
		}
		sums := map[string][2]float64{} // tool -> {put1+get+list, put2+get+list}
		for _, t := range r.tools {
			g := ms(r.med(reg.name, "get", t.name())) + ms(r.med(reg.name, "list", t.name()))
			sums[t.name()] = [2]float64{ms(r.med(reg.name, "put1", t.name())) + g, ms(r.med(reg.name, "put2", t.name())) + g}
		}
		for k, label := range []string{"**put (first key) + get + list**", "**put (second key) + get + list**"} {
			m, or, rc := sums["manifesto"][k], sums["oras"][k], sums["regctl"][k]
			fmt.Fprintf(&md, "| %s | %.1f | %.1f | %.1f | **%.2f** | %.2f |\n", label, m, or, rc, m/or, m/rc)
		}
		r1, r2 := sums["manifesto"][0]/sums["oras"][0], sums["manifesto"][1]/sums["oras"][1]
		verdict := "met"
		if r1 > 1.0 || r2 > 1.0 {
			verdict = "**missed**"
		}
		fmt.Fprintf(&goalWall, "- %s: put+get+list manifesto/oras = %.2f (first key: %.1f ms vs %.1f ms), %.2f (second key: %.1f ms vs %.1f ms); manifesto/regctl %.2f and %.2f → %s\n",
			reg.name, r1, sums["manifesto"][0], sums["oras"][0], r2, sums["manifesto"][1], sums["oras"][1],
			sums["manifesto"][0]/sums["regctl"][0], sums["manifesto"][1]/sums["regctl"][1], verdict)
		b.ReportMetric(r1, reg.name+"-put+get+list-manifesto/oras")

		md.WriteString("\nHTTP requests per operation:\n\n")
		md.WriteString("| operation | manifesto | oras | regctl | fewer than both peers? |\n")
		md.WriteString("|---|---:|---:|---:|---|\n")
		for _, o := range peerOps {
			m, or, rc := r.reqs(reg.name, o.id, "manifesto"), r.reqs(reg.name, o.id, "oras"), r.reqs(reg.name, o.id, "regctl")
			fewer := "yes"
			if m >= or || m >= rc {
				fewer = "**no**"
			}
			fmt.Fprintf(&md, "| %s | %s | %s | %s | %s |\n", o.title,
				reqRange(r.stats[reg.name][o.id]["manifesto"].reqs), reqRange(r.stats[reg.name][o.id]["oras"].reqs),
				reqRange(r.stats[reg.name][o.id]["regctl"].reqs), fewer)
			verdict := "met"
			if m >= or || m >= rc {
				verdict = "**missed**"
			}
			fmt.Fprintf(&goalReq, "- %s, %s: manifesto %g, oras %g, regctl %g → %s\n", reg.name, o.title, m, or, rc, verdict)
			b.ReportMetric(m, reg.name+"-"+o.id+"-manifesto-requests")
			b.ReportMetric(or, reg.name+"-"+o.id+"-oras-requests")
			b.ReportMetric(rc, reg.name+"-"+o.id+"-regctl-requests")
		}

		md.WriteString("\nRequests by method and endpoint kind (last iteration):\n\n")
		md.WriteString("| operation | manifesto | oras | regctl |\n|---|---|---|---|\n")
		for _, o := range peerOps {
			fmt.Fprintf(&md, "| %s | %s | %s | %s |\n", o.title,
				countsOf(r.stats[reg.name][o.id]["manifesto"].last), countsOf(r.stats[reg.name][o.id]["oras"].last),
				countsOf(r.stats[reg.name][o.id]["regctl"].last))
		}
		md.WriteString("\nWhat manifesto sends that oras does not, by request role (last iteration; `{digest}` stands for any digest), and why:\n\n")
		md.WriteString("| operation | request | manifesto − oras | why manifesto sends it |\n|---|---|---:|---|\n")
		for _, o := range peerOps {
			mr := rolesOf(r.stats[reg.name][o.id]["manifesto"].last, r.pe.imgDigest)
			or := rolesOf(r.stats[reg.name][o.id]["oras"].last, r.pe.imgDigest)
			for _, role := range sortedKeys(mr) {
				if d := mr[role] - or[role]; d > 0 {
					fmt.Fprintf(&md, "| %s | `%s` | +%d | %s |\n", o.title, role, d, whyExtra(role))
				}
			}
			for _, role := range sortedKeys(or) {
				if d := or[role] - mr[role]; d > 0 {
					fmt.Fprintf(&md, "| %s | `%s` | −%d | oras sends it, manifesto does not |\n", o.title, role, d)
				}
			}
		}

		md.WriteString("\nWhere the time goes (medians, ms): *in requests* is the time at least one request of the operation was open at the registry (timed behind the counting proxy, responses included); *outside* is the rest of the wall time (process start-up, the client's own work, waits); *idle gap* is the longest stretch between two requests with none open.\n\n")
		md.WriteString("| operation | tool | wall | in requests | outside | longest idle gap |\n|---|---|---:|---:|---:|---:|\n")
		for _, o := range peerOps {
			for _, t := range r.tools {
				s := r.stats[reg.name][o.id][t.name()]
				fmt.Fprintf(&md, "| %s | %s | %.1f | %.1f | %.1f | %.1f |\n", o.title, t.name(),
					ms(medianDuration(s.walls)), ms(medianDuration(s.inHTTP)), ms(medianDuration(outside(s.walls, s.inHTTP))), ms(medianDuration(s.idle)))
			}
		}

		md.WriteString("\nPeak RSS per operation, largest over the iterations (MiB; of the largest process for two-process operations):\n\n")
		md.WriteString("| operation | manifesto | oras | regctl |\n|---|---:|---:|---:|\n")
		for _, o := range peerOps {
			fmt.Fprintf(&md, "| %s | %.1f | %.1f | %.1f |\n", o.title,
				float64(r.stats[reg.name][o.id]["manifesto"].rss)/1024, float64(r.stats[reg.name][o.id]["oras"].rss)/1024,
				float64(r.stats[reg.name][o.id]["regctl"].rss)/1024)
		}

		fmt.Fprintf(&md, "\n<details><summary>Request traces on %s, last iteration (method, endpoint, status, in order)</summary>\n\n", reg.name)
		for _, o := range peerOps {
			for _, t := range r.tools {
				s := r.stats[reg.name][o.id][t.name()]
				fmt.Fprintf(&md, "%s, %s (%d requests, %.1f ms): `%s`\n\n```\n", t.name(), o.title, len(s.last), ms(s.walls[len(s.walls)-1]), shortCmds(s.cmds, r.pe))
				for _, line := range traceLines(s.last, s.start, r.pe.imgDigest) {
					md.WriteString(line + "\n")
				}
				md.WriteString("```\n\n")
			}
		}
		md.WriteString("</details>\n\n")
	}
	r.pe.emit(b, "peers.md", md.String())
	r.pe.emit(b, "goal-requests.md", goalReq.String())
	r.pe.emit(b, "goal-walltime.md", goalWall.String())
}

// emit writes a report fragment into $MANIFESTO_BENCH_OUT, or logs it.
func (pe *peerEnv) emit(b *testing.B, name, text string) {
	b.Helper()
	if pe.outDir == "" {
		b.Logf("%s:\n%s", name, text)
		return
	}
	if err := os.WriteFile(filepath.Join(pe.outDir, name), []byte(text), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("wrote %s", filepath.Join(pe.outDir, name))
}

// shortCmds renders the commands of an operation with the long paths cut.
func shortCmds(cmds []string, pe *peerEnv) string {
	out := make([]string, len(cmds))
	for i, c := range cmds {
		c = strings.ReplaceAll(c, pe.work+"/", "")
		out[i] = c
	}
	return strings.Join(out, " ; ")
}

func countsOf(spans []span) faultproxy.Counts {
	c := faultproxy.Counts{}
	for _, sp := range spans {
		c[sp.method+" "+string(sp.kind)]++
	}
	return c
}

// rolesOf counts requests by "METHOD endpoint/{role}", digests collapsed.
func rolesOf(spans []span, subject string) map[string]int {
	out := map[string]int{}
	for _, sp := range spans {
		out[sp.method+" "+digestRE.ReplaceAllString(endpointOf(sp, subject), "{digest}")]++
	}
	return out
}

var digestRE = regexp.MustCompile(`\{digest [0-9a-f]+\}`)

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// whyExtra explains a request manifesto makes beyond oras's, from the
// store code that sends it (file:line as of this benchmark's writing).
func whyExtra(role string) string {
	switch role {
	case "GET /v2/":
		return "the ping: go-containerregistry's `transport.NewWithContext` (store/client.go, `newRegistry`) asks `/v2/` for the auth scheme before any request, in every command; oras and regctl send none and answer a 401 challenge when one comes"
	case "PUT manifests/{trace tag <fallback>.mf-<entry>}":
		return "the entry's own trace tag (store/referrers.go, `putTrace`): the durable record that keeps the entry findable whatever concurrent writers do to the shared index"
	case "GET tags/list":
		return "the trace listing `tags/list?last=<fallback tag>.mf-` (store/fallback.go, `fallbackView` → `tagsAfter`), once per read of the fallback state; a put reads that state twice (merge, then confirmation)"
	case "GET manifests/{trace tag <fallback>.mf-<entry>}":
		return "the manifest behind the new entry's own trace tag, fetched because the index does not list it yet (store/fallback.go, `fallbackView` → `tracedDescriptor`); `mergeFallback` already holds that descriptor (its `add`), so this one is avoidable"
	case "GET manifests/{fallback tag sha256-<image>}":
		return "the confirmation read of the index after writing it (store/fallback.go: `mergeFallback`'s second attempt, after a 10–50 ms jittered sleep), which makes concurrent writers converge"
	case "PUT manifests/{fallback tag sha256-<image>}":
		return "the fallback index written by manifesto where the peer does not write it"
	}
	return ""
}

var (
	fallbackTagRE = regexp.MustCompile(`^sha256-[0-9a-f]{64}$`)
	traceTagRE    = regexp.MustCompile(`^sha256-[0-9a-f]{64}\.mf-[0-9a-f]+$`)
)

// refLabel names a manifest reference or a digest by its role.
func refLabel(ref, subject string) string {
	switch {
	case ref == subject:
		return "{image digest}"
	case ref == emptyConfigDigest:
		return "{empty config}"
	case strings.HasPrefix(ref, zeroDigestPrefix):
		return "{zero digest}"
	case traceTagRE.MatchString(ref):
		return "{trace tag <fallback>.mf-<entry>}"
	case fallbackTagRE.MatchString(ref):
		return "{fallback tag sha256-<image>}"
	case strings.HasPrefix(ref, "sha256:"):
		return "{digest " + ref[7:19] + "}"
	}
	return ref
}

// traceLines renders requests as "+ms METHOD endpoint/{role} status
// duration", the time being the request's arrival after the operation
// began.
func traceLines(spans []span, start time.Time, subject string) []string {
	var out []string
	for _, r := range spans {
		out = append(out, fmt.Sprintf("%+7.1f ms  %-6s %-40s %d %6.1f ms", ms(r.start.Sub(start)), r.method, endpointOf(r, subject), r.status, ms(r.end.Sub(r.start))))
	}
	return out
}

// endpointOf names a request's endpoint with its reference by role.
func endpointOf(r span, subject string) string {
	last := path.Base(r.path)
	switch r.kind {
	case faultproxy.KindBase:
		return "/v2/"
	case faultproxy.KindManifests:
		return "manifests/" + refLabel(last, subject)
	case faultproxy.KindBlobs:
		return "blobs/" + refLabel(last, subject)
	case faultproxy.KindUploads:
		if strings.HasSuffix(r.path, "/uploads/") || last == "uploads" {
			return "blobs/uploads/"
		}
		return "blobs/uploads/{upload id}"
	case faultproxy.KindTags:
		return "tags/list"
	case faultproxy.KindReferrers:
		return "referrers/" + refLabel(last, subject)
	}
	return r.path
}

// BenchmarkConcurrentWriters: 16 writers, 16 keys, one image, Distribution.
func BenchmarkConcurrentWriters(b *testing.B) {
	pe := setupPeers(b)
	reg := startDistribution(b)
	toolList := pe.peerTools()
	rounds := writerRounds * b.N

	type round struct {
		n        int
		own      int // keys the tool's own listing shows
		index    int // keys in the fallback index
		failed   int // writers that exited non-zero
		requests int
		took     time.Duration
		errs     []string
	}
	results := map[string][]round{}

	// Page every binary in once, so that round 1 does not pay for it.
	for _, t := range toolList {
		(&op{b: b, pe: pe, dir: pe.values}).run(t.bin(), "version")
	}

	keys := make([]string, concurrentWriters)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%02d", i)
		if err := os.WriteFile(filepath.Join(pe.values, keys[i]+".json"), []byte(fmt.Sprintf(`{"key": %q}`+"\n", keys[i])), 0o644); err != nil {
			b.Fatal(err)
		}
	}

	b.ResetTimer()
	for rd := 0; rd < rounds; rd++ {
		for _, t := range rotate(toolList, rd) {
			b.StopTimer()
			repo := fmt.Sprintf("writers/%s-%d", t.name(), rd)
			pushImage(b, reg.host+"/"+repo+":v1", pe.img)
			image := reg.ref(repo + ":v1")
			reg.proxy.Reset()
			b.StartTimer()

			ctx, cancel := context.WithTimeout(context.Background(), writersTimeout)
			cmds := make([]*exec.Cmd, len(keys))
			errBufs := make([]*tailBuffer, len(keys))
			for i, k := range keys {
				argv := t.putCmd(reg, image, k, k+".json")
				cmds[i] = exec.CommandContext(ctx, argv[0], argv[1:]...)
				cmds[i].Env = pe.tl.env
				cmds[i].Dir = pe.values
				errBufs[i] = &tailBuffer{max: 4 << 10}
				cmds[i].Stdout, cmds[i].Stderr = io.Discard, errBufs[i]
			}
			began := time.Now()
			var wg sync.WaitGroup
			errs := make([]error, len(cmds))
			for i, c := range cmds {
				if err := c.Start(); err != nil {
					errs[i] = err
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = c.Wait()
				}()
			}
			wg.Wait()
			took := time.Since(began)
			cancel()
			b.StopTimer()

			rr := round{n: rd + 1, took: took, requests: reg.proxy.Counts().Total()}
			for i, err := range errs {
				if err != nil {
					rr.failed++
					rr.errs = append(rr.errs, fmt.Sprintf("%s put %s: %v: %s", t.name(), keys[i], err, strings.TrimSpace(errBufs[i].String())))
				}
			}
			o := &op{b: b, pe: pe, dir: pe.values}
			rr.own = countKeys(t.list(o, reg, image), keys)
			idx, err := fallbackIndexKeys(reg.host, repo, pe.imgDigest)
			if err != nil {
				b.Fatalf("read the fallback index of %s: %v", repo, err)
			}
			rr.index = countKeys(idx, keys)
			results[t.name()] = append(results[t.name()], rr)
			b.Logf("round %d, %s: %d writers in %s, %d failed; kept %d/%d (own listing), %d/%d (fallback index); %d requests",
				rr.n, t.name(), len(keys), took.Round(time.Millisecond), rr.failed, rr.own, len(keys), rr.index, len(keys), rr.requests)
			for _, e := range rr.errs {
				b.Logf("  %s", e)
			}
			b.StartTimer()
		}
	}
	b.StopTimer()

	var md, goal strings.Builder
	fmt.Fprintf(&md, "%d processes start at once, each putting a different key (16 keys) to one image on CNCF Distribution %s (no referrers API), %d rounds per tool, the tools' order rotating per round; through a counting proxy with no faults. Kept: keys found afterwards by the tool's own listing (manifesto list / oras discover / regctl artifact list) and in the fallback index `sha256-<image hex>` itself.\n\n",
		concurrentWriters, testregistry.Version, rounds)
	md.WriteString("| tool | round | kept (own listing) | kept (fallback index) | writers failed | wall time (all 16) | requests (all 16) |\n")
	md.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, t := range toolList {
		for _, rr := range results[t.name()] {
			fmt.Fprintf(&md, "| %s | %d | %d/%d | %d/%d | %d | %.0f ms | %d |\n", t.name(), rr.n, rr.own, len(keys), rr.index, len(keys), rr.failed, ms(rr.took), rr.requests)
		}
	}
	var errLines []string
	for _, t := range toolList {
		for _, rr := range results[t.name()] {
			for _, e := range rr.errs {
				errLines = append(errLines, fmt.Sprintf("round %d: %s", rr.n, e))
			}
		}
	}
	if len(errLines) > 0 {
		md.WriteString("\nWriter failures:\n\n```\n" + strings.Join(errLines, "\n") + "\n```\n")
	}
	for _, t := range toolList {
		var own, idx []string
		for _, rr := range results[t.name()] {
			own = append(own, fmt.Sprintf("%d/%d", rr.own, len(keys)))
			idx = append(idx, fmt.Sprintf("%d/%d", rr.index, len(keys)))
		}
		if t.name() == "manifesto" {
			verdict := "met"
			for _, rr := range results[t.name()] {
				if rr.own != len(keys) || rr.failed > 0 {
					verdict = "**missed**"
				}
			}
			fmt.Fprintf(&goal, "- manifesto kept %s per round by its own listing (fallback index: %s) → %s\n",
				strings.Join(own, ", "), strings.Join(idx, ", "), verdict)
			continue
		}
		fmt.Fprintf(&goal, "- for comparison, %s kept %s (own listing; fallback index: %s)\n", t.name(), strings.Join(own, ", "), strings.Join(idx, ", "))
		b.ReportMetric(float64(results[t.name()][0].own), t.name()+"-kept-round1")
	}
	b.ReportMetric(float64(results["manifesto"][0].own), "manifesto-kept-round1")
	pe.emit(b, "writers.md", md.String())
	pe.emit(b, "goal-writers.md", goal.String())
}

// countKeys counts the distinct keys of want present in got.
func countKeys(got, want []string) int {
	seen := map[string]bool{}
	for _, k := range got {
		if slices.Contains(want, k) {
			seen[k] = true
		}
	}
	return len(seen)
}

// fallbackIndexKeys reads the fallback index of subject in repo directly
// from the registry and returns the keys of its manifesto-type descriptors.
func fallbackIndexKeys(host, repo, subject string) ([]string, error) {
	tag := strings.Replace(subject, ":", "-", 1)
	req, err := http.NewRequest(http.MethodGet, "http://"+host+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", req.URL, resp.Status)
	}
	var idx v1.IndexManifest
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&idx); err != nil {
		return nil, errors.Join(fmt.Errorf("parse the fallback index"), err)
	}
	var keys []string
	for _, d := range idx.Manifests {
		if d.ArtifactType == peerArtifactType {
			keys = append(keys, d.Annotations[peerKeyAnnotation])
		}
	}
	return keys, nil
}
