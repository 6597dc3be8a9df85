// Package bench holds benchmarks that are not unit tests: nothing here runs
// during `go test ./...` (there are only Benchmark functions, which need
// -bench). Run them all with bench/run.sh, which writes bench/RESULTS.md,
// or one family at a time:
//
//	go test -run '^$' -bench Stream -benchtime 1x -timeout 60m ./bench/
//	go test -run '^$' -bench 'Peers|ConcurrentWriters' -benchtime 1x ./bench/   (peers_test.go)
//
// # What BenchmarkStream* prove
//
// The requirement: values of any size stream from the file to the registry
// and back with bounded memory (no whole-file buffering); the target is a
// 1 GiB value with a peak RSS under 64 MiB.
//
// Each benchmark builds the manifesto binary (or uses $MANIFESTO_BENCH_BIN),
// starts a real CNCF Distribution registry (internal/testregistry), pushes a
// small random image, writes a random file of the benchmark's size, and per
// iteration runs the binary as a child process for `put IMAGE KEY FILE` and
// for `get IMAGE KEY -o OUT`, measuring wall time, throughput and the
// child's peak RSS (wait4 Maxrss; see bench/peakrss for why children are
// started through a small launcher). It fails when a manifesto peak RSS is
// 64 MiB or more, or when the downloaded file differs from the source in
// size or sha256.
//
// # The peer: crane
//
// In the same run, the same file goes up and down with crane (the CLI of
// go-containerregistry, whose transport and auth manifesto also uses),
// installed by bench/install-crane.sh, and the benchmark reports the ratios
// manifesto/crane. The closest crane equivalents of put and get are:
//
//   - put: `crane push LAYOUT REPO:TAG`, where LAYOUT is an OCI image layout
//     whose one manifest has the shape of a manifesto entry (empty config,
//     the file as its only layer, byte for byte, a subject pointing at the
//     image) and whose layer blob is a hard link to the source file. crane
//     has no raw "blob upload" command: `crane append -f FILE` treats FILE
//     as a tarball layer and gzips it (and `crane append -f -` streams it
//     through gzip too), so it would upload different bytes and spend its
//     time compressing. `crane push` of a layout uploads the file as is,
//     plus the config and the manifest, and since the manifest has a
//     subject, crane also updates the referrers fallback tag on a registry
//     without the referrers API (CNCF Distribution), as manifesto does.
//     Unlike manifesto, crane trusts the layout's digests and does not hash
//     the file before uploading (manifesto reads it twice: hash, then
//     upload).
//   - get: `crane blob REPO@DIGEST > OUT`, which streams the blob and checks
//     its sha256 like manifesto does. manifesto also fsyncs its temporary
//     file before renaming it; to compare like with like the benchmark
//     fsyncs crane's output file right after crane exits and counts that in
//     crane's time (the fsync alone is logged).
//
// Each tool writes to its own fresh repository per iteration, so neither
// finds the blob already there and skips the upload. Before every measured
// command the benchmark calls sync(2) so that the previous command's dirty
// pages are not flushed on the next one's clock.
//
// Each benchmark runs 5 such rounds per b.N ($MANIFESTO_BENCH_STREAM_ITERATIONS
// changes it), the tools' order alternating, and reports the throughput of
// the median round: the machine may be shared, and one slow round should
// not decide a ratio.
//
// Where manifesto's put time goes is measured too: the benchmark times one
// sha256 pass over the file alone (v1.SHA256, what store.describeFile runs
// before the upload) and reports the put's throughput without it
// ("put-minus-hash"). With $MANIFESTO_BENCH_OUT set, the 1 GiB benchmark
// also runs one put and one get through the store package in this process
// under the CPU profiler and leaves put-1024MiB.pprof and get-1024MiB.pprof
// there (bench/run.sh prints their top functions).
//
// When crane is not installed the comparison is skipped (logged); the
// manifesto measurements and the 64 MiB check still run.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/manifesto-dev/manifesto/internal/testregistry"
	"github.com/manifesto-dev/manifesto/store"
)

// rssLimitMiB is the requirement: a manifesto put or get of any size peaks
// below this resident set size.
const rssLimitMiB = 64

// key is the metadata key the benchmark stores.
const key = "bench-value"

// childTimeout bounds one child process.
const childTimeout = 30 * time.Minute

func BenchmarkStream1GiB(b *testing.B)  { benchStream(b, 1<<30) }
func BenchmarkStream64MiB(b *testing.B) { benchStream(b, 64<<20) }

// tools is what one benchmark runs.
type tools struct {
	manifesto string // built from this checkout
	peakrss   string // the launcher, built from bench/peakrss
	crane     string // "" when not installed
	env       []string
}

// sample is one measured child process.
type sample struct {
	wall     time.Duration
	rssKiB   int64
	floorKiB int64
	stdout   string
}

// totals accumulates samples of one operation of one tool.
type totals struct {
	size   int64           // bytes per sample
	walls  []time.Duration // one per sample
	maxRSS int64           // KiB
	floor  int64           // KiB, the launcher's own peak: a figure at this level is not the child's
}

func (t *totals) add(size int64, s sample) {
	t.size = size
	t.walls = append(t.walls, s.wall)
	t.maxRSS = max(t.maxRSS, s.rssKiB)
	t.floor = max(t.floor, s.floorKiB)
}

// wall is the median wall time of the samples (robust against a noisy
// neighbour on a shared machine).
func (t *totals) wall() time.Duration { return medianDuration(t.walls) }

func (t *totals) mibPerSec() float64 { return float64(t.size) / (1 << 20) / t.wall().Seconds() }
func (t *totals) rssMiB() float64    { return float64(t.maxRSS) / 1024 }

func benchStream(b *testing.B, size int64) {
	work := b.TempDir()
	tl := setupTools(b, work)
	reg := testregistry.Start(b)

	src := filepath.Join(work, "value.bin")
	began := time.Now()
	srcSum := writeRandomFile(b, src, size)
	b.Logf("source: %d bytes, sha256:%s, written in %s", size, srcSum, time.Since(began).Round(time.Millisecond))

	img, err := random.Image(1024, 1)
	if err != nil {
		b.Fatal(err)
	}
	var layoutDir string
	if tl.crane != "" {
		layoutDir = craneLayout(b, work, src, srcSum, size, img)
	}

	// What the binaries take doing nothing (`version`): the floor a
	// streaming transfer adds to.
	mIdle := tl.run(b, work, nil, tl.manifesto, "version")
	var cIdle sample
	if tl.crane != "" {
		cIdle = tl.run(b, work, nil, tl.crane, "version")
	}

	var mPut, mGet, cPut, cGet totals
	var fsyncTime time.Duration
	out := filepath.Join(work, "out.bin")

	n := streamIterations(b)
	b.ResetTimer()
	for i := 0; i < n; i++ {
		b.StopTimer()
		mRepo := fmt.Sprintf("bench/m%d-%d", size>>20, i)
		cRepo := fmt.Sprintf("bench/c%d-%d", size>>20, i)
		pushImage(b, reg.Ref(mRepo+":v1"), img)
		if tl.crane != "" {
			pushImage(b, reg.Ref(cRepo+":v1"), img)
		}
		b.StartTimer()

		// Alternate which tool goes first, in case order matters.
		manifestoFirst := i%2 == 0
		putManifesto := func() {
			s := tl.run(b, work, nil, tl.manifesto, "put", reg.Ref(mRepo+":v1"), key, src)
			mPut.add(size, s)
		}
		putCrane := func() {
			s := tl.run(b, work, nil, tl.crane, "push", layoutDir, reg.Ref(cRepo+":value"))
			cPut.add(size, s)
		}
		getManifesto := func() {
			s := tl.run(b, work, nil, tl.manifesto, "get", reg.Ref(mRepo+":v1"), key, "-o", out)
			mGet.add(size, s)
			verify(b, "manifesto get", out, size, srcSum)
		}
		getCrane := func() {
			f, err := os.Create(out)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			s := tl.run(b, work, f, tl.crane, "blob", reg.Ref(cRepo+"@sha256:"+srcSum))
			t0 := time.Now()
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			d := time.Since(t0)
			fsyncTime += d
			s.wall += d
			cGet.add(size, s)
			verify(b, "crane blob", out, size, srcSum)
		}

		puts := []func(){putManifesto}
		gets := []func(){getManifesto}
		if tl.crane != "" {
			if manifestoFirst {
				puts, gets = append(puts, putCrane), append(gets, getCrane)
			} else {
				puts, gets = []func(){putCrane, putManifesto}, []func(){getCrane, getManifesto}
			}
		}
		for _, f := range append(puts, gets...) {
			b.StopTimer()
			syscall.Sync()
			b.StartTimer()
			f()
		}
	}
	b.StopTimer()

	b.ReportMetric(float64(mIdle.rssKiB)/1024, "version-peak-RSS-MiB")
	b.ReportMetric(mPut.mibPerSec(), "put-MiB/s")
	b.ReportMetric(mPut.rssMiB(), "put-peak-RSS-MiB")
	b.ReportMetric(mGet.mibPerSec(), "get-MiB/s")
	b.ReportMetric(mGet.rssMiB(), "get-peak-RSS-MiB")
	b.Logf("manifesto put: %.1f MiB/s, peak RSS %.1f MiB (%d KiB); get: %.1f MiB/s, peak RSS %.1f MiB (%d KiB)",
		mPut.mibPerSec(), mPut.rssMiB(), mPut.maxRSS, mGet.mibPerSec(), mGet.rssMiB(), mGet.maxRSS)
	if tl.crane != "" {
		b.ReportMetric(float64(cIdle.rssKiB)/1024, "crane-version-peak-RSS-MiB")
		b.ReportMetric(cPut.mibPerSec(), "crane-put-MiB/s")
		b.ReportMetric(cPut.rssMiB(), "crane-put-peak-RSS-MiB")
		b.ReportMetric(cGet.mibPerSec(), "crane-get-MiB/s")
		b.ReportMetric(cGet.rssMiB(), "crane-get-peak-RSS-MiB")
		// Ratios manifesto/crane: above 1 means manifesto is faster
		// (speed) or uses more memory (RSS).
		b.ReportMetric(mPut.mibPerSec()/cPut.mibPerSec(), "put-speed-ratio")
		b.ReportMetric(mPut.rssMiB()/cPut.rssMiB(), "put-RSS-ratio")
		b.ReportMetric(mGet.mibPerSec()/cGet.mibPerSec(), "get-speed-ratio")
		b.ReportMetric(mGet.rssMiB()/cGet.rssMiB(), "get-RSS-ratio")
		b.Logf("crane put: %.1f MiB/s, peak RSS %.1f MiB (%d KiB); get: %.1f MiB/s (fsync included; %s of fsync over %d rounds), peak RSS %.1f MiB (%d KiB)",
			cPut.mibPerSec(), cPut.rssMiB(), cPut.maxRSS, cGet.mibPerSec(), fsyncTime.Round(time.Millisecond), len(cGet.walls), cGet.rssMiB(), cGet.maxRSS)
		b.Logf("manifesto/crane: put speed %.2f, put RSS %.2f, get speed %.2f, get RSS %.2f",
			mPut.mibPerSec()/cPut.mibPerSec(), mPut.rssMiB()/cPut.rssMiB(),
			mGet.mibPerSec()/cGet.mibPerSec(), mGet.rssMiB()/cGet.rssMiB())
	}
	// Where manifesto's put time goes: it reads the file twice, a sha256
	// pass (describeFile in store/store.go) before the upload. Time that
	// pass alone, the same way (v1.SHA256 over the file, which is in the
	// page cache as it is for the put), to separate it from the transfer.
	hashWall := hashPass(b, src)
	uploadRate := float64(size) / (1 << 20) / (mPut.wall() - hashWall).Seconds()
	b.ReportMetric(float64(size)/(1<<20)/hashWall.Seconds(), "hash-pass-MiB/s")
	b.ReportMetric(uploadRate, "put-minus-hash-MiB/s")
	b.Logf("sha256 pass over the file alone: %s (%.1f MiB/s); manifesto put without it: %.1f MiB/s",
		hashWall.Round(time.Millisecond), float64(size)/(1<<20)/hashWall.Seconds(), uploadRate)
	if tl.crane != "" {
		b.ReportMetric(uploadRate/cPut.mibPerSec(), "put-minus-hash-speed-ratio")
		b.Logf("manifesto put without the sha256 pass / crane push: %.2f", uploadRate/cPut.mibPerSec())
	}
	if dir := os.Getenv("MANIFESTO_BENCH_OUT"); dir != "" && size >= 1<<30 {
		profilePutGet(b, dir, reg, img, src, size, srcSum, filepath.Join(work, "profiled.bin"))
	}

	floor := max(mPut.floor, mGet.floor, cPut.floor, cGet.floor)
	b.Logf("launcher floor (peak RSS of bench/peakrss itself; a figure at this level would not be the child's): %d KiB", floor)
	for _, t := range []struct {
		what string
		tot  *totals
	}{{"put", &mPut}, {"get", &mGet}, {"crane push", &cPut}, {"crane blob", &cGet}} {
		if len(t.tot.walls) > 0 && t.tot.maxRSS <= t.tot.floor {
			b.Errorf("%s: peak RSS %d KiB is not above the launcher's own %d KiB, so it is not the child's", t.what, t.tot.maxRSS, t.tot.floor)
		}
	}
	if mPut.rssMiB() >= rssLimitMiB || mGet.rssMiB() >= rssLimitMiB {
		b.Fatalf("peak RSS of a %d MiB value: put %.1f MiB, get %.1f MiB; the requirement is under %d MiB",
			size>>20, mPut.rssMiB(), mGet.rssMiB(), rssLimitMiB)
	}
}

// defaultStreamIterations is the number of put/get rounds per b.N
// ($MANIFESTO_BENCH_STREAM_ITERATIONS overrides it); throughput comes from
// the median round.
const defaultStreamIterations = 5

func streamIterations(b *testing.B) int {
	n := defaultStreamIterations
	if s := os.Getenv("MANIFESTO_BENCH_STREAM_ITERATIONS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("MANIFESTO_BENCH_STREAM_ITERATIONS=%q: want a positive number", s)
		}
		n = v
	}
	return n * b.N
}

// hashPass times one v1.SHA256 pass over path, as manifesto's put makes
// before uploading.
func hashPass(b *testing.B, path string) time.Duration {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	began := time.Now()
	if _, _, err := v1.SHA256(f); err != nil {
		b.Fatal(err)
	}
	return time.Since(began)
}

// profilePutGet runs one put and one get of the value through the store
// package in this process (what the binary's put and get call) under the
// CPU profiler, and writes put-<size>.pprof and get-<size>.pprof into dir
// (bench/run.sh prints their top functions).
func profilePutGet(b *testing.B, dir string, reg *testregistry.Registry, img v1.Image, src string, size int64, srcSum, out string) {
	b.Helper()
	ctx := context.Background()
	image := reg.Ref(fmt.Sprintf("bench/profile%d:v1", size>>20))
	pushImage(b, image, img)
	profile := func(name string, f func() error) time.Duration {
		pf, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%dMiB.pprof", name, size>>20)))
		if err != nil {
			b.Fatal(err)
		}
		defer pf.Close()
		syscall.Sync()
		if err := pprof.StartCPUProfile(pf); err != nil {
			b.Fatal(err)
		}
		began := time.Now()
		err = f()
		took := time.Since(began)
		pprof.StopCPUProfile()
		if err != nil {
			b.Fatalf("profiled %s: %v", name, err)
		}
		return took
	}
	putTook := profile("put", func() error {
		t, err := store.Open(ctx, image, store.WithAccess(store.Write))
		if err != nil {
			return err
		}
		_, err = t.Put(ctx, key, store.Value{Path: src})
		return err
	})
	getTook := profile("get", func() error {
		t, err := store.Open(ctx, image)
		if err != nil {
			return err
		}
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := t.Read(ctx, key, "", f); err != nil {
			return err
		}
		return f.Sync()
	})
	verify(b, "profiled get", out, size, srcSum)
	b.Logf("profiled in process (store package): put %s, get %s (incl. fsync); CPU profiles in %s", putTook.Round(time.Millisecond), getTook.Round(time.Millisecond), dir)
}

// setupTools builds manifesto and the launcher into work and finds crane.
func setupTools(b *testing.B, work string) *tools {
	b.Helper()
	tl := &tools{
		manifesto: filepath.Join(work, "manifesto"),
		peakrss:   filepath.Join(work, "peakrss"),
		crane:     findCrane(b),
	}
	builds := [][]string{{"go", "build", "-o", tl.peakrss, "./peakrss"}}
	if p := os.Getenv("MANIFESTO_BENCH_BIN"); p != "" {
		// A prebuilt binary, e.g. of another revision (while the working
		// tree does not build, or to compare two versions).
		tl.manifesto = p
		b.Logf("manifesto binary: %s (MANIFESTO_BENCH_BIN)", p)
	} else {
		builds = append(builds, []string{"go", "build", "-o", tl.manifesto, ".."})
	}
	for _, c := range builds {
		cmd := exec.Command(c[0], c[1:]...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", strings.Join(c, " "), err, out)
		}
	}
	// A clean, equal environment for both tools: no credentials or
	// configuration from the caller, no Go runtime tuning.
	home := filepath.Join(work, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		b.Fatal(err)
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "MANIFESTO_"), strings.HasPrefix(k, "REGISTRY_"), strings.HasPrefix(k, "DOCKER_"),
			k == "HOME", k == "XDG_CONFIG_HOME", k == "XDG_RUNTIME_DIR", k == "GITHUB_TOKEN",
			k == "GOGC", k == "GOMEMLIMIT", k == "GODEBUG", k == "GOMAXPROCS":
			continue
		}
		tl.env = append(tl.env, kv)
	}
	tl.env = append(tl.env, "HOME="+home, "DOCKER_CONFIG="+filepath.Join(home, ".docker"))
	return tl
}

// findCrane returns $MANIFESTO_CRANE_BIN, the cached install of
// bench/install-crane.sh, or crane on PATH; "" when there is none.
func findCrane(b *testing.B) string {
	if p := os.Getenv("MANIFESTO_CRANE_BIN"); p != "" {
		return p
	}
	cache := os.Getenv("MANIFESTO_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			base = filepath.Join(os.Getenv("HOME"), ".cache")
		}
		cache = filepath.Join(base, "manifesto")
	}
	if p := filepath.Join(cache, "bin", "crane"); isExecutable(p) {
		return p
	}
	if p, err := exec.LookPath("crane"); err == nil {
		return p
	}
	b.Logf("crane not installed (bash bench/install-crane.sh): no comparison")
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// run starts prog through the launcher, waits for it and returns its wall
// time (launcher included: a few milliseconds) and peak RSS. stdout, when
// not nil, receives the child's standard output directly (a file
// descriptor, not through this process).
func (tl *tools) run(b *testing.B, work string, stdout *os.File, prog string, args ...string) sample {
	b.Helper()
	report := filepath.Join(work, "peakrss.report")
	_ = os.Remove(report)
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tl.peakrss, append([]string{report, prog}, args...)...)
	cmd.Env = tl.env
	cmd.Dir = work
	var outBuf bytes.Buffer
	errBuf := &tailBuffer{max: 16 << 10}
	if stdout != nil {
		cmd.Stdout = stdout
	} else {
		cmd.Stdout = &outBuf
	}
	cmd.Stderr = errBuf
	began := time.Now()
	err := cmd.Run()
	wall := time.Since(began)
	what := filepath.Base(prog) + " " + strings.Join(args, " ")
	if err != nil {
		b.Fatalf("%s: %v\nstderr:\n%s", what, err, errBuf.String())
	}
	s := sample{wall: wall, stdout: strings.TrimSpace(outBuf.String())}
	raw, err := os.ReadFile(report)
	if err != nil {
		b.Fatalf("%s: no peak RSS report: %v", what, err)
	}
	if _, err := fmt.Sscanf(string(raw), "maxrss_kib=%d floor_kib=%d", &s.rssKiB, &s.floorKiB); err != nil {
		b.Fatalf("%s: peak RSS report %q: %v", what, raw, err)
	}
	b.Logf("%s: %s, peak RSS %d KiB", what, wall.Round(time.Millisecond), s.rssKiB)
	return s
}

// writeRandomFile writes size pseudo-random bytes (ChaCha8, streamed in
// 1 MiB chunks, every block written, so nothing is sparse) and returns their
// sha256 hex.
func writeRandomFile(b *testing.B, path string, size int64) string {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var seed [32]byte
	copy(seed[:], fmt.Sprintf("manifesto bench %d", size))
	rng := rand.NewChaCha8(seed)
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		_, _ = rng.Read(buf[:n])
		if _, err := w.Write(buf[:n]); err != nil {
			b.Fatal(err)
		}
		left -= n
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// verify checks that path has the given size and sha256, then removes it.
func verify(b *testing.B, what, path string, size int64, sum string) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	f, err := os.Open(path)
	if err != nil {
		b.Fatalf("%s: %v", what, err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	f.Close()
	if err != nil {
		b.Fatalf("%s: read %s: %v", what, path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != size || got != sum {
		b.Fatalf("%s: downloaded %d bytes with sha256:%s, the source is %d bytes with sha256:%s", what, n, got, size, sum)
	}
	if err := os.Remove(path); err != nil {
		b.Fatal(err)
	}
}

// pushImage pushes img to ref.
func pushImage(b *testing.B, ref string, img v1.Image) {
	b.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		b.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		b.Fatalf("push %s: %v", ref, err)
	}
}

// craneLayout writes an OCI image layout for `crane push`: one manifest
// shaped like a manifesto entry whose only layer is the source file (a hard
// link, no copy), with img as its subject.
func craneLayout(b *testing.B, work, src, srcSum string, size int64, img v1.Image) string {
	b.Helper()
	dir := filepath.Join(work, "crane-layout")
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.Link(src, filepath.Join(blobs, srcSum)); err != nil {
		if err := os.Symlink(src, filepath.Join(blobs, srcSum)); err != nil {
			b.Fatal(err)
		}
	}
	writeBlob := func(data []byte) v1.Hash {
		sum := sha256.Sum256(data)
		hx := hex.EncodeToString(sum[:])
		if err := os.WriteFile(filepath.Join(blobs, hx), data, 0o644); err != nil {
			b.Fatal(err)
		}
		return v1.Hash{Algorithm: "sha256", Hex: hx}
	}
	emptyConfig := []byte("{}")
	cfg := writeBlob(emptyConfig)
	subjectDigest, err := img.Digest()
	if err != nil {
		b.Fatal(err)
	}
	subjectManifest, err := img.RawManifest()
	if err != nil {
		b.Fatal(err)
	}
	subjectType, err := img.MediaType()
	if err != nil {
		b.Fatal(err)
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"artifactType":  "application/vnd.manifesto.metadata.v1",
		"config": map[string]any{
			"mediaType": "application/vnd.oci.empty.v1+json", "digest": cfg.String(), "size": len(emptyConfig),
		},
		"layers": []any{map[string]any{
			"mediaType": "application/octet-stream", "digest": "sha256:" + srcSum, "size": size,
			"annotations": map[string]string{"org.opencontainers.image.title": filepath.Base(src)},
		}},
		"subject": map[string]any{
			"mediaType": string(subjectType), "digest": subjectDigest.String(), "size": len(subjectManifest),
		},
		"annotations": map[string]string{"dev.manifesto.key": key},
	})
	if err != nil {
		b.Fatal(err)
	}
	m := writeBlob(manifest)
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests": []any{map[string]any{
			"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": m.String(), "size": len(manifest),
		}},
	})
	if err != nil {
		b.Fatal(err)
	}
	for file, data := range map[string][]byte{
		"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`),
		"index.json": index,
	} {
		if err := os.WriteFile(filepath.Join(dir, file), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }
