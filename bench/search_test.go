package bench

// BenchmarkSearch (issue 12): "which images of this repository carry which
// keys", answered by `manifesto search REPO` against what a user does today
// without it: `crane ls REPO`, then `oras discover` for every tag it lists
// (a shell loop, one process per tag; the sha256-* tags of the referrers
// tag schema filtered out first, which only helps the loop).
//
// The repository: 200 images, each tagged (img-000 … img-199) and carrying
// 5 keys put by manifesto (1,000 entries), on CNCF Distribution (no
// referrers API: fallback indexes and trace tags) and on olareg (referrers
// API). Each round times both, in alternating order, in the same run; the
// figures are medians over the rounds. Both outputs are checked: manifesto
// must list 200 images with 5 keys each, the loop must see 5 referrers on
// each of the 200 tags. Goal: manifesto at most 0.1× the loop's wall time.
//
//	go test -run '^$' -bench Search -benchtime 1x ./bench/
//	MANIFESTO_BENCH_SEARCH_ROUNDS=5   # rounds per registry (default 3)
//
// With $MANIFESTO_BENCH_OUT set it writes the Markdown fragment search.md
// there (bench/run.sh appends it to bench/RESULTS.md).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/manifesto-dev/manifesto/internal/testregistry"
	"github.com/manifesto-dev/manifesto/store"
)

const (
	searchImages = 200
	searchKeys   = 5
	searchGoal   = 0.1
)

func BenchmarkSearch(b *testing.B) {
	work := b.TempDir()
	tl := setupTools(b, work)
	oras := findPeer(b, "oras", "MANIFESTO_ORAS_BIN", "scripts/install-oras.sh")
	rounds := 3
	if v := os.Getenv("MANIFESTO_BENCH_SEARCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("MANIFESTO_BENCH_SEARCH_ROUNDS=%q: want a whole number from 1", v)
		}
		rounds = n
	}
	var md strings.Builder
	fmt.Fprintf(&md, "A repository of %d tagged images × %d keys (%d entries). `manifesto search REPO` against `crane ls REPO`, then `oras discover --depth 1` for each tag that is not a `sha256-*` tag, one process after another; %d rounds per registry, alternating which runs first; medians. Goal: at most %.1f× the loop's wall time.\n\n",
		searchImages, searchKeys, searchImages*searchKeys, rounds, searchGoal)
	md.WriteString("| registry | manifesto search (s) | crane ls + oras discover × 200 (s) | ratio | goal |\n|---|---:|---:|---:|---|\n")
	for _, kind := range []struct {
		name, title string
		start       func(testing.TB) *testregistry.Registry
	}{
		{"distribution", "CNCF Distribution " + testregistry.Version + " (no referrers API)", func(t testing.TB) *testregistry.Registry { return testregistry.Start(t) }},
		{"olareg", "olareg " + testregistry.OlaregVersion + " (referrers API)", testregistry.StartOlareg},
	} {
		b.Run(kind.name, func(b *testing.B) {
			reg := kind.start(b)
			repo := reg.Ref("bench/search")
			began := time.Now()
			populateSearch(b, repo)
			b.Logf("%s: %d images × %d keys put in %v", kind.name, searchImages, searchKeys, time.Since(began).Round(time.Millisecond))
			var ours, loop []time.Duration
			for r := range rounds {
				first, second := func() { ours = append(ours, timeSearch(b, tl, repo)) }, func() { loop = append(loop, timeLoop(b, tl, oras, repo)) }
				if r%2 == 1 {
					first, second = second, first
				}
				first()
				second()
			}
			m, l := medianDuration(ours), medianDuration(loop)
			ratio := m.Seconds() / l.Seconds()
			b.ReportMetric(m.Seconds(), "search-s")
			b.ReportMetric(l.Seconds(), "loop-s")
			b.ReportMetric(ratio, "ratio")
			b.Logf("%s: manifesto search %v (rounds %v), crane ls + oras discover loop %v (rounds %v): ratio %.3f",
				kind.name, m, ours, l, loop, ratio)
			verdict := "met"
			if ratio > searchGoal {
				verdict = "**missed**"
			}
			fmt.Fprintf(&md, "| %s | %.3f | %.2f | %.3f | %s |\n", kind.title, m.Seconds(), l.Seconds(), ratio, verdict)
		})
	}
	if dir := os.Getenv("MANIFESTO_BENCH_OUT"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "search.md"), []byte(md.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// populateSearch pushes the images and puts the keys (through the store,
// in process, 8 images at a time: setting up is not what is measured).
func populateSearch(b *testing.B, repo string) {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	var values []string
	for k := range searchKeys {
		p := filepath.Join(dir, fmt.Sprintf("v%d.json", k))
		if err := os.WriteFile(p, fmt.Appendf(nil, `{"key":%d}`, k), 0o644); err != nil {
			b.Fatal(err)
		}
		values = append(values, p)
	}
	work := make(chan int)
	errs := make(chan error, searchImages)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				errs <- populateOne(ctx, repo, i, values)
			}
		}()
	}
	for i := range searchImages {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}

func populateOne(ctx context.Context, repo string, i int, values []string) error {
	image := fmt.Sprintf("%s:img-%03d", repo, i)
	img, err := random.Image(256, 1)
	if err != nil {
		return err
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		return err
	}
	if err := remote.Write(ref, img); err != nil {
		return err
	}
	t, err := store.Open(ctx, image, store.WithAccess(store.Write))
	if err != nil {
		return err
	}
	for k, v := range values {
		if _, err := t.Put(ctx, fmt.Sprintf("key-%d", k), store.Value{Path: v}); err != nil {
			return fmt.Errorf("put on %s: %w", image, err)
		}
	}
	return nil
}

// runTool runs one process with the benchmark's clean environment and
// returns its stdout; a failure fails the benchmark.
func runTool(b *testing.B, tl *tools, prog string, args ...string) []byte {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = tl.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %s: %v\n%s", filepath.Base(prog), strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes()
}

// timeSearch times one `manifesto search` and checks what it found.
func timeSearch(b *testing.B, tl *tools, repo string) time.Duration {
	b.Helper()
	began := time.Now()
	out := runTool(b, tl, tl.manifesto, "search", repo)
	took := time.Since(began)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != searchImages {
		b.Fatalf("manifesto search listed %d images, want %d", len(lines), searchImages)
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 || len(strings.Split(f[2], ",")) != searchKeys {
			b.Fatalf("manifesto search line %q: want digest, tag and %d keys", l, searchKeys)
		}
	}
	return took
}

// timeLoop times crane ls, then oras discover for each tag, one after
// another, and checks every tag shows its keys.
func timeLoop(b *testing.B, tl *tools, oras, repo string) time.Duration {
	b.Helper()
	began := time.Now()
	var tags []string
	for _, t := range strings.Fields(string(runTool(b, tl, tl.crane, "ls", repo))) {
		if !strings.HasPrefix(t, "sha256-") {
			tags = append(tags, t)
		}
	}
	if len(tags) != searchImages {
		b.Fatalf("crane ls listed %d image tags, want %d", len(tags), searchImages)
	}
	for _, t := range tags {
		out := runTool(b, tl, oras, "discover", "--plain-http", "--format", "json", "--depth", "1", repo+":"+t)
		var doc struct {
			Referrers []json.RawMessage `json:"referrers"`
		}
		if err := json.Unmarshal(out, &doc); err != nil || len(doc.Referrers) != searchKeys {
			b.Fatalf("oras discover %s: %d referrers (%v), want %d", t, len(doc.Referrers), err, searchKeys)
		}
	}
	return time.Since(began)
}
