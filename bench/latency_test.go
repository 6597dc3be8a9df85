package bench

// # What BenchmarkLatency and BenchmarkScale measure (issue 14)
//
// On loopback a request costs well under a millisecond, so BenchmarkPeers
// hides what CI runners feel: a registry 10–50 ms away. Here every request
// to the registry waits a fixed delay in internal/faultproxy (its Latency
// rule: the delay is added before the request is forwarded, so parallel
// requests wait at the same time, as on a real network) in front of two
// real registry processes:
//
//   - "distribution": CNCF Distribution v3.1.2 (no referrers API);
//   - "olareg": olareg v0.2.2 (internal/testregistry.StartOlareg), a
//     registry with the referrers API that answers a manifest PUT with
//     OCI-Subject.
//
// BenchmarkLatency: at 10 and 25 ms per request, on a fresh image per tool
// and iteration: put (first key), get (that key), list — manifesto put/get/
// list against the peers' equivalents (as BenchmarkPeers: oras attach,
// discover + pull, discover; regctl artifact put, artifact get --latest,
// artifact list).
//
// BenchmarkScale: at 10 ms per request, on an image that already holds 1,
// 100 or 300 entries, put one more, get it, list all. The entries already
// there are written straight to the registry, unmeasured, the way oras
// writes them: entry manifests by digest and, on Distribution, one fallback
// index listing them all — no trace tags, so they are "untraced" for
// manifesto, the case whose reads used to cost one HEAD per entry.
//
// For each operation the benchmark records the wall time of the whole
// process (or processes: oras's get is discover, then pull), the requests
// the proxy saw, and the critical path: the longest chain of requests each
// of which started after the one before it ended (from the proxy's
// Record.Time and Record.End, delay included) — the sequential round trips
// a remote registry makes the user wait for. Iterations
// ($MANIFESTO_BENCH_LATENCY_ITERATIONS, default 3) rotate the tools' order;
// the report gives medians.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/manifesto-dev/manifesto/internal/faultproxy"
	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

// defaultLatencyIterations is the rounds of each scenario.
const defaultLatencyIterations = 3

func latencyIterations(b *testing.B) int {
	if s := os.Getenv("MANIFESTO_BENCH_LATENCY_ITERATIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("MANIFESTO_BENCH_LATENCY_ITERATIONS=%q: want a positive integer", s)
		}
		return n
	}
	return defaultLatencyIterations
}

// slowRegistry is a registry process behind a delaying, counting proxy.
type slowRegistry struct {
	name, title string
	host        string // the registry itself (unmeasured writes)
	url         string
	proxy       *faultproxy.Proxy
	referrers   bool // the registry has the referrers API
}

func startSlow(b *testing.B, kind string, delay time.Duration) *slowRegistry {
	b.Helper()
	var reg *testregistry.Registry
	r := &slowRegistry{name: kind}
	switch kind {
	case "distribution":
		reg = testregistry.Start(b)
		r.title = "CNCF Distribution " + testregistry.Version + " (no referrers API)"
	case "olareg":
		reg = testregistry.StartOlareg(b)
		r.title = "olareg v0.2.2 (referrers API)"
		r.referrers = true
	}
	r.host, r.url = reg.Addr, reg.URL
	r.proxy = faultproxy.Start(b, reg.URL, faultproxy.Latency(delay))
	return r
}

// peer is the peerRegistry view of r for the peer tools' commands.
func (r *slowRegistry) peer() *peerRegistry {
	return &peerRegistry{name: r.name, host: r.host, proxy: r.proxy, typeFilter: true}
}

// measured is one operation of one tool.
type measured struct {
	wall     time.Duration
	requests int
	critical int
	trace    []string
}

// criticalPath is the longest chain of requests each starting after the
// previous one ended.
func criticalPath(recs []faultproxy.Record) int {
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Time.Before(recs[j].Time) })
	chain := make([]int, len(recs))
	best := 0
	for i, r := range recs {
		chain[i] = 1
		for j := range i {
			if !recs[j].End.IsZero() && !recs[j].End.After(r.Time) && chain[j]+1 > chain[i] {
				chain[i] = chain[j] + 1
			}
		}
		best = max(best, chain[i])
	}
	return best
}

// traceOf renders the requests of one operation, times relative to start.
func traceOf(recs []faultproxy.Record, start time.Time) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		path := r.Path
		if len(path) > 90 {
			path = path[:60] + "…" + path[len(path)-20:]
		}
		out = append(out, fmt.Sprintf("%7.1f–%7.1f ms  %-4s %s → %d", ms(r.Time.Sub(start)), ms(r.End.Sub(start)), r.Method, path, r.Status))
	}
	return out
}

// runOp runs one operation of tool t through f and measures it.
func runOp(b *testing.B, pe *peerEnv, reg *slowRegistry, t peerTool, f func(o *op)) measured {
	b.Helper()
	o := &op{b: b, pe: pe, dir: filepath.Join(pe.values, t.name())}
	reg.proxy.Reset()
	start := time.Now()
	f(o)
	recs := reg.proxy.Records()
	return measured{wall: o.wall, requests: len(recs), critical: criticalPath(recs), trace: traceOf(recs, start)}
}

// scaleOps are the operations of both scenarios.
var scaleOps = []string{"put", "get", "list"}

// latencyStats: [scenario][registry][op][tool] → samples.
type latencyStats map[string]map[string]map[string]map[string][]measured

func (s latencyStats) add(scenario, reg, op, tool string, m measured) {
	if s[scenario] == nil {
		s[scenario] = map[string]map[string]map[string][]measured{}
	}
	if s[scenario][reg] == nil {
		s[scenario][reg] = map[string]map[string][]measured{}
	}
	if s[scenario][reg][op] == nil {
		s[scenario][reg][op] = map[string][]measured{}
	}
	s[scenario][reg][op][tool] = append(s[scenario][reg][op][tool], m)
}

// med returns the median wall time (ms), median requests and median
// critical path of samples.
func med(ms []measured) (wall float64, reqs, crit float64) {
	var walls []time.Duration
	var rs, cs []int
	for _, m := range ms {
		walls = append(walls, m.wall)
		rs = append(rs, m.requests)
		cs = append(cs, m.critical)
	}
	return float64(medianDuration(walls)) / float64(time.Millisecond), medianInt(rs), medianInt(cs)
}

// writeValues writes each tool's value file for iteration i.
func writeValues(b *testing.B, pe *peerEnv, toolList []peerTool, i int) map[string]string {
	b.Helper()
	values := map[string]string{}
	for _, t := range toolList {
		v := fmt.Sprintf(`{"tool": %q, "iteration": %d, "passed": 41}`+"\n", t.name(), i)
		dir := filepath.Join(pe.values, t.name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "results.json"), []byte(v), 0o644); err != nil {
			b.Fatal(err)
		}
		values[t.name()] = v
	}
	return values
}

// putGetList runs put, get and list of tool t on image and records them;
// want is the number of keys list must show.
func putGetList(b *testing.B, pe *peerEnv, reg *slowRegistry, t peerTool, image, value string, want int, record func(op string, m measured)) {
	b.Helper()
	p := reg.peer()
	record("put", runOp(b, pe, reg, t, func(o *op) { put(o, t, p, image, "test-results", "results.json") }))
	record("get", runOp(b, pe, reg, t, func(o *op) {
		if got := t.get(o, p, image, "test-results"); got != value {
			b.Fatalf("%s get on %s: %q, want %q", t.name(), reg.name, got, value)
		}
	}))
	record("list", runOp(b, pe, reg, t, func(o *op) {
		got := t.list(o, p, image)
		if len(got) != want || !slices.Contains(got, "test-results") {
			b.Fatalf("%s list on %s: %d keys, want %d with test-results", t.name(), reg.name, len(got), want)
		}
	}))
}

// BenchmarkLatency: put, get, list at 10 and 25 ms per request.
func BenchmarkLatency(b *testing.B) {
	pe := setupPeers(b)
	toolList := pe.peerTools()
	n := latencyIterations(b)
	stats := latencyStats{}
	var titles []string
	b.ResetTimer()
	for _, delay := range []time.Duration{10 * time.Millisecond, 25 * time.Millisecond} {
		scenario := fmt.Sprintf("%d ms", delay.Milliseconds())
		for _, kind := range []string{"distribution", "olareg"} {
			b.StopTimer()
			reg := startSlow(b, kind, delay)
			if delay == 10*time.Millisecond {
				titles = append(titles, reg.title)
			}
			b.StartTimer()
			for i := range n {
				values := writeValues(b, pe, toolList, i)
				for _, t := range rotate(toolList, i) {
					repo := fmt.Sprintf("latency/%s-%d", t.name(), i)
					pushImage(b, reg.host+"/"+repo+":v1", pe.img)
					putGetList(b, pe, reg, t, reg.proxy.Ref(repo+":v1"), values[t.name()], 1, func(op string, m measured) {
						stats.add(scenario, kind, op, t.name(), m)
					})
				}
			}
		}
	}
	b.StopTimer()
	writeLatencyReport(b, pe, stats, titles, n)
}

// BenchmarkScale: put, get, list at 10 ms per request on an image that
// holds 1, 100 or 300 entries already.
func BenchmarkScale(b *testing.B) {
	pe := setupPeers(b)
	toolList := pe.peerTools()
	n := latencyIterations(b)
	stats := latencyStats{}
	sizes := []int{1, 100, 300}
	b.ResetTimer()
	for _, kind := range []string{"distribution", "olareg"} {
		b.StopTimer()
		reg := startSlow(b, kind, 10*time.Millisecond)
		b.StartTimer()
		for _, size := range sizes {
			scenario := fmt.Sprintf("%d entries", size)
			for i := range n {
				values := writeValues(b, pe, toolList, i)
				for _, t := range rotate(toolList, i) {
					b.StopTimer()
					repo := fmt.Sprintf("scale/%s-%d-%d", t.name(), size, i)
					pushImage(b, reg.host+"/"+repo+":v1", pe.img)
					d, _ := pe.img.Digest()
					m, _ := pe.img.RawManifest()
					populate(b, reg, repo, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: d, Size: int64(len(m))}, size)
					b.StartTimer()
					putGetList(b, pe, reg, t, reg.proxy.Ref(repo+":v1"), values[t.name()], size+1, func(op string, m measured) {
						stats.add(scenario, kind, op, t.name(), m)
					})
				}
			}
		}
	}
	b.StopTimer()
	writeScaleReport(b, pe, stats, sizes, n)
}

// populate writes count entries on subject straight to the registry, as
// oras does: manifests by digest and, without the referrers API, one
// fallback index listing them (no trace tags).
func populate(b *testing.B, reg *slowRegistry, repo string, subject v1.Descriptor, count int) {
	b.Helper()
	base := reg.url + "/v2/" + repo
	value := []byte(`{"filler": true}`)
	valueDigest := pushBlob(b, base, value)
	pushBlob(b, base, []byte("{}"))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ds := make([]v1.Descriptor, count)
	var wg sync.WaitGroup
	errs := make(chan error, count)
	// olareg v0.2.2 drops referrers from its listing under concurrent
	// manifest PUTs (README "A put that says ok is there"): one at a time
	// there.
	parallel := 8
	if reg.referrers {
		parallel = 1
	}
	sem := make(chan struct{}, parallel)
	for i := range count {
		ann := map[string]string{
			peerKeyAnnotation:                fmt.Sprintf("filler-%03d", i),
			createdAnnotation:                t0.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano),
			"org.opencontainers.image.title": "filler.json",
			"dev.manifesto.media-type":       "application/json",
			"dev.manifesto.size":             strconv.Itoa(len(value)),
		}
		m := map[string]any{
			"schemaVersion": 2, "mediaType": types.OCIManifestSchema1, "artifactType": peerArtifactType,
			"config":      map[string]any{"mediaType": "application/vnd.oci.empty.v1+json", "digest": emptyConfigDigest, "size": 2},
			"layers":      []map[string]any{{"mediaType": "application/json", "digest": valueDigest, "size": len(value)}},
			"subject":     map[string]any{"mediaType": subject.MediaType, "digest": subject.Digest.String(), "size": subject.Size},
			"annotations": ann,
		}
		raw, _ := json.Marshal(m)
		h, sz, _ := v1.SHA256(bytes.NewReader(raw))
		ds[i] = v1.Descriptor{MediaType: types.OCIManifestSchema1, ArtifactType: peerArtifactType, Digest: h, Size: sz, Annotations: ann}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := putDoc(base+"/manifests/"+h.String(), string(types.OCIManifestSchema1), raw); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("populate %s: %v", repo, err)
	}
	if reg.referrers {
		return
	}
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": types.OCIImageIndex, "manifests": ds})
	if err := putDoc(base+"/manifests/sha256-"+subject.Digest.Hex, string(types.OCIImageIndex), idx); err != nil {
		b.Fatalf("populate %s: index: %v", repo, err)
	}
}

// pushBlob uploads b (monolithic POST then PUT) and returns its digest.
func pushBlob(b *testing.B, base string, data []byte) string {
	b.Helper()
	h, _, _ := v1.SHA256(bytes.NewReader(data))
	resp, err := http.Post(base+"/blobs/uploads/", "", nil)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || loc == "" {
		b.Fatalf("start upload: %s", resp.Status)
	}
	if strings.HasPrefix(loc, "/") {
		loc = base[:strings.Index(base, "/v2/")] + loc
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	req, _ := http.NewRequest(http.MethodPut, loc+sep+"digest="+h.String(), bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("upload blob: %s", resp.Status)
	}
	return h.String()
}

func putDoc(url, mediaType string, body []byte) error {
	req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", mediaType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("PUT %s: %s %s", url, resp.Status, msg)
	}
	return nil
}

// verdict renders a goal check.
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// writeLatencyReport emits latency.md and goal-latency.md.
func writeLatencyReport(b *testing.B, pe *peerEnv, stats latencyStats, titles []string, n int) {
	var sb, goal strings.Builder
	fmt.Fprintf(&sb, "Registries: %s; each behind internal/faultproxy delaying every request. %d iterations, medians; "+
		"wall = the whole process(es); reqs = requests the proxy saw; crit = sequential round trips on the critical path.\n\n", strings.Join(titles, "; "), n)
	tools := []string{"manifesto", "oras", "regctl"}
	for _, scenario := range []string{"10 ms", "25 ms"} {
		for _, reg := range []string{"distribution", "olareg"} {
			s := stats[scenario][reg]
			if s == nil {
				continue
			}
			fmt.Fprintf(&sb, "#### %s per request, %s\n\n", scenario, reg)
			sb.WriteString("| operation | manifesto ms (reqs, crit) | oras ms (reqs, crit) | regctl ms (reqs, crit) |\n|---|---:|---:|---:|\n")
			total := map[string]float64{}
			for _, op := range scaleOps {
				fmt.Fprintf(&sb, "| %s |", op)
				for _, t := range tools {
					w, r, c := med(s[op][t])
					total[t] += w
					fmt.Fprintf(&sb, " %.0f (%.0f, %.0f) |", w, r, c)
				}
				sb.WriteString("\n")
			}
			fmt.Fprintf(&sb, "| **put+get+list** | **%.0f** | **%.0f** (%.2f×) | **%.0f** (%.2f×) |\n\n", total["manifesto"],
				total["oras"], ratio(total["manifesto"], total["oras"]), total["regctl"], ratio(total["manifesto"], total["regctl"]))
			if scenario == "25 ms" {
				r := ratio(total["manifesto"], total["oras"])
				fmt.Fprintf(&goal, "- %s, 25 ms: put+get+list %.0f ms vs oras %.0f ms = **%.2f×** (goal ≤ 0.80) → %s\n", reg, total["manifesto"], total["oras"], r, verdict(r <= 0.8))
				for _, op := range scaleOps {
					_, _, cm := med(s[op]["manifesto"])
					_, _, co := med(s[op]["oras"])
					_, _, cr := med(s[op]["regctl"])
					fmt.Fprintf(&goal, "  - %s critical path: manifesto %.0f, oras %.0f, regctl %.0f sequential round trips → %s\n", op, cm, co, cr, verdict(cm <= co && cm <= cr))
				}
			}
		}
	}
	sb.WriteString("Request traces of manifesto's last iteration at 25 ms (start–end relative to the command's start):\n\n")
	writeTraces(&sb, stats["25 ms"])
	pe.emit(b, "latency.md", sb.String())
	pe.emit(b, "goal-latency.md", goal.String())
}

// writeTraces writes the request trace of manifesto's last iteration of
// each operation of one scenario, per registry.
func writeTraces(sb *strings.Builder, scenario map[string]map[string]map[string][]measured) {
	for _, reg := range []string{"distribution", "olareg"} {
		for _, op := range scaleOps {
			ms := scenario[reg][op]["manifesto"]
			if len(ms) == 0 {
				continue
			}
			fmt.Fprintf(sb, "%s, %s:\n\n```\n%s\n```\n\n", reg, op, strings.Join(ms[len(ms)-1].trace, "\n"))
		}
	}
}

// writeScaleReport emits scale.md and goal-scale.md.
func writeScaleReport(b *testing.B, pe *peerEnv, stats latencyStats, sizes []int, n int) {
	var sb, goal strings.Builder
	fmt.Fprintf(&sb, "10 ms per request; the image holds N entries (untraced, written as oras writes them) before the put. %d iterations, medians; ms (reqs, crit).\n\n", n)
	tools := []string{"manifesto", "oras", "regctl"}
	for _, reg := range []string{"distribution", "olareg"} {
		fmt.Fprintf(&sb, "#### %s\n\n| N | operation | manifesto | oras | regctl |\n|---:|---|---:|---:|---:|\n", reg)
		for _, size := range sizes {
			s := stats[fmt.Sprintf("%d entries", size)][reg]
			for _, op := range scaleOps {
				fmt.Fprintf(&sb, "| %d | %s |", size, op)
				for _, t := range tools {
					w, r, c := med(s[op][t])
					fmt.Fprintf(&sb, " %.0f (%.0f, %.0f) |", w, r, c)
				}
				sb.WriteString("\n")
			}
		}
		sb.WriteString("\n")
		s1 := stats["1 entries"][reg]
		s300 := stats["300 entries"][reg]
		p1, _, _ := med(s1["put"]["manifesto"])
		p300, _, _ := med(s300["put"]["manifesto"])
		g300, gr300, _ := med(s300["get"]["manifesto"])
		_, gr1, _ := med(s1["get"]["manifesto"])
		rg, _, _ := med(s300["get"]["regctl"])
		l300, lr300, _ := med(s300["list"]["manifesto"])
		_, lr1, _ := med(s1["list"]["manifesto"])
		od, _, _ := med(s300["list"]["oras"])
		fmt.Fprintf(&goal, "- %s: put at 300 entries %.0f ms vs at 1 entry %.0f ms = **%.2f×** (goal ≤ 1.3) → %s\n", reg, p300, p1, ratio(p300, p1), verdict(ratio(p300, p1) <= 1.3))
		fmt.Fprintf(&goal, "- %s: get at 300 entries %.0f ms vs regctl artifact get --latest %.0f ms = **%.2f×** (goal ≤ 0.5) → %s\n", reg, g300, rg, ratio(g300, rg), verdict(ratio(g300, rg) <= 0.5))
		fmt.Fprintf(&goal, "- %s: list at 300 entries %.0f ms vs oras discover --depth 1 %.0f ms = **%.2f×** (goal ≤ 1.0) → %s\n", reg, l300, od, ratio(l300, od), verdict(ratio(l300, od) <= 1.0))
		fmt.Fprintf(&goal, "- %s: requests of get / list at 1 and at 300 untraced entries: %.0f / %.0f and %.0f / %.0f (goal: no growth) → %s\n", reg, gr1, lr1, gr300, lr300, verdict(gr300 <= gr1 && lr300 <= lr1))
	}
	sb.WriteString("Request traces of manifesto at 300 entries, last iteration (start–end relative to the command's start):\n\n")
	writeTraces(&sb, stats["300 entries"])
	pe.emit(b, "scale.md", sb.String())
	pe.emit(b, "goal-scale.md", goal.String())
}
