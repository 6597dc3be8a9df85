package e2e

// Fault injection (issue 6, "Faults"): the binary runs against a
// fault-injecting proxy (internal/faultproxy) in front of the real registry.
// Every operation must either succeed or fail with one clear line and a
// non-zero exit, and nothing may be left half-done. The registry's state is
// checked directly after every operation, never through the proxy: the
// fallback index lists no missing manifest, no entry lacks its value or
// config blob, a failed get leaves no file, a successful get wrote exactly
// the newest value.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/manifesto-dev/manifesto/internal/faultproxy"
	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

// faultOpLimit bounds one operation under faults: the store's retries are
// bounded, so nothing should take anywhere near this long.
const faultOpLimit = 45 * time.Second

// faultSequenceLimit bounds one scenario phase (9 operations and the
// checks).
const faultSequenceLimit = 3 * time.Minute

// faultScenario is one programmed fault pattern.
type faultScenario struct {
	name  string
	rules func(phase int) []faultproxy.Rule
	// phases: the scenario runs once per phase, the fault pattern shifted
	// by that many requests, so that each request of the sequence meets
	// the fault once.
	phases int
	// mustSucceed: every operation must succeed (oras attach failed 1 of 3
	// puts with every 4th request answered 503, and 3 of 3 with every 5th
	// connection dropped; manifesto must not). Without it a scenario only
	// holds the contract: succeed or fail cleanly, nothing half-done.
	mustSucceed bool
}

func faultScenarios() []faultScenario {
	return []faultScenario{
		{name: "503-every-4th", phases: 4, mustSucceed: true, rules: func(k int) []faultproxy.Rule {
			return []faultproxy.Rule{faultproxy.ServiceUnavailable(4).After(k)}
		}},
		{name: "drop-every-5th-connection", phases: 5, mustSucceed: true, rules: func(k int) []faultproxy.Rule {
			return []faultproxy.Rule{faultproxy.DropConnection(5).After(k)}
		}},
		// A response whose connection breaks mid-body: headers and half
		// the body, then EOF.
		{name: "cut-every-3rd-body", phases: 3, mustSucceed: true, rules: func(k int) []faultproxy.Rule {
			return []faultproxy.Rule{faultproxy.CutBodies(3).After(k)}
		}},
		// A clean, well-formed response with half the body: only the
		// digest and size checks can tell.
		{name: "truncate-every-3rd-body", phases: 3, mustSucceed: true, rules: func(k int) []faultproxy.Rule {
			return []faultproxy.Rule{faultproxy.TruncateBodies(3).After(k)}
		}},
		// One phase: once the store honours Retry-After, this scenario
		// waits about a second for every other request (80 s a phase).
		{name: "429-retry-after-every-2nd", phases: 1, mustSucceed: true, rules: func(k int) []faultproxy.Rule {
			return []faultproxy.Rule{faultproxy.TooManyRequests(2, 1).After(k)}
		}},
		{name: "latency-200ms", phases: 1, mustSucceed: true, rules: func(int) []faultproxy.Rule {
			return []faultproxy.Rule{faultproxy.Latency(200 * time.Millisecond)}
		}},
		// The registry does the work, the client never hears back: a lost
		// acknowledgement of a POST, PUT or DELETE.
		{name: "lose-every-4th-response", phases: 4, mustSucceed: true, rules: func(k int) []faultproxy.Rule {
			return []faultproxy.Rule{faultproxy.LoseResponses(4).After(k)}
		}},
	}
}

// TestFaults runs the operation sequence (3 puts, 3 gets, list, history,
// delete) under each scenario and phase.
func TestFaults(t *testing.T) {
	reg := testregistry.Start(t)
	for _, sc := range faultScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			// Scenarios are independent (each phase has its own repository
			// and proxy) and spend their time waiting on backoffs and
			// Retry-After: in parallel, up to go test's -parallel (GOMAXPROCS
			// by default), they take about half of their 170 s in sequence.
			t.Parallel()
			for phase := 0; phase < sc.phases; phase++ {
				t.Run(fmt.Sprintf("phase-%d", phase), func(t *testing.T) {
					runFaultSequence(t, reg, sc, phase)
				})
			}
		})
	}
}

// faultValue is one put of the sequence.
type faultValue struct {
	key, file string
	content   []byte
}

func (v faultValue) digest() string {
	sum := sha256.Sum256(v.content)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func faultValues() []faultValue {
	big := make([]byte, 256<<10) // several reads and flushes: cuts land mid-stream
	for i := range big {
		big[i] = byte(i*7 + i/251)
	}
	return []faultValue{
		{"results", "results.json", []byte(`{"passed":1}`)},
		{"sbom", "sbom.bin", big},
		{"results", "results.json", []byte(`{"passed":2,"note":"second version"}`)},
	}
}

func runFaultSequence(t *testing.T, reg *testregistry.Registry, sc faultScenario, phase int) {
	repo := fmt.Sprintf("faults/%s-%d", sc.name, phase)
	subject := pushImage(t, reg.Ref(repo+":1.0"))
	direct := newFaultRegistry(t, reg, repo, subject)
	proxy := faultproxy.Start(t, reg.URL, sc.rules(phase)...)
	image := proxy.Ref(repo + ":1.0")
	started := time.Now()

	byDigest := map[string]faultValue{} // value digest → what was put
	var putOK, getOK int
	for _, v := range faultValues() {
		byDigest[v.digest()] = v
		before := direct.state()
		r := faultRun(t, sc, "put", image, v.key, writeFile(t, v.file, string(v.content)))
		after := direct.state()
		after.check(t, "after put "+v.key)
		if r.code == 0 {
			putOK++
			d := strings.TrimSpace(r.stdout)
			e := after.entries[d]
			switch {
			case e == nil:
				t.Errorf("put %s printed %s, but no such entry is in the registry", v.key, d)
			case e.valueDigest != v.digest():
				t.Errorf("put %s: entry %s holds value %s, want %s", v.key, d, e.valueDigest, v.digest())
			case !e.inIndex:
				t.Errorf("put %s succeeded but the fallback index does not list %s (other tools will not see it)", v.key, d)
			case !e.traced:
				t.Errorf("put %s succeeded but entry %s has no trace tag", v.key, d)
			}
		} else if added := after.added(before); len(added) > 0 {
			// Not half-done (the entry is complete), but the user was told
			// it failed and will likely put it again.
			t.Logf("NOTE: put %s failed (%s) yet left a complete, visible entry %v", v.key, r.stderrLine(), added)
		}
	}

	// Gets: each into a fresh, empty directory.
	gets := []struct{ key, digest string }{{"results", ""}, {"sbom", ""}, {"results", ""}}
	if st := direct.state(); len(st.versions("results")) > 1 {
		// The third get reads the oldest version by digest (no listing).
		gets[2].digest = st.versions("results")[len(st.versions("results"))-1].digest
	}
	for _, g := range gets {
		dir := t.TempDir()
		out := filepath.Join(dir, "value")
		args := []string{"get", image, g.key, "-o", out}
		if g.digest != "" {
			args = append(args, "--digest", g.digest)
		}
		want := direct.state().versions(g.key)
		r := faultRun(t, sc, args...)
		files, _ := os.ReadDir(dir)
		if r.code != 0 {
			if len(files) != 0 {
				t.Errorf("failed get %s left %v in the output directory", g.key, faultNames(files))
			}
			continue
		}
		getOK++
		if len(files) != 1 || files[0].Name() != "value" {
			t.Errorf("get %s: output directory holds %v, want just the value", g.key, faultNames(files))
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Errorf("get %s: %v", g.key, err)
			continue
		}
		var expect *faultEntry
		for _, e := range want {
			if g.digest == "" || e.digest == g.digest {
				expect = e
				break
			}
		}
		if expect == nil {
			t.Errorf("get %s succeeded but the registry holds no such version", g.key)
			continue
		}
		if v := byDigest[expect.valueDigest]; !bytes.Equal(b, v.content) {
			t.Errorf("get %s wrote %d bytes (sha256 %x), want the value of %s (%d bytes)", g.key, len(b), sha256.Sum256(b), expect.digest, len(v.content))
		}
	}

	// list and history: what the registry holds.
	if r := faultRun(t, sc, "list", image); r.code == 0 {
		if got, want := lines(r.stdout), direct.state().keys(); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("list = %v, the registry holds %v", got, want)
		}
	}
	if r := faultRun(t, sc, "history", image, "results"); r.code == 0 {
		var want []string
		for _, e := range direct.state().versions("results") {
			want = append(want, e.digest)
		}
		if got := lines(r.stdout); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("history = %v, the registry holds %v", got, want)
		}
	}

	// delete: all versions of a key go, or the failure leaves a
	// consistent state behind.
	before := direct.state()
	r := faultRun(t, sc, "delete", image, "results")
	after := direct.state()
	after.check(t, "after delete")
	if r.code == 0 {
		for d, e := range after.entries {
			if e.key == "results" {
				t.Errorf("delete succeeded but entry %s of results is still there (index %v, traced %v)", d, e.inIndex, e.traced)
			}
		}
		if n := len(lines(r.stdout)); n != len(before.versions("results")) {
			t.Errorf("delete printed %d digests, the registry had %d versions", n, len(before.versions("results")))
		}
	}

	// Without faults, the registry reads back consistently: manifesto
	// lists what is there and reads every key's newest value.
	final := direct.state()
	plain := reg.Ref(repo + ":1.0")
	if got, want := lines(ok(t, "list", plain)), final.keys(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("afterwards, without faults: list = %v, the registry holds %v", got, want)
	}
	for _, key := range final.keys() {
		got := ok(t, "get", plain, key)
		if want := byDigest[final.versions(key)[0].valueDigest].content; got != string(want) {
			t.Errorf("afterwards, without faults: get %s = %d bytes, want %d", key, len(got), len(want))
		}
	}

	t.Logf("%s phase %d: %d/3 puts, %d/3 gets ok; %d faults in %d requests; %s",
		sc.name, phase, putOK, getOK, proxy.Faults(), proxy.Counts().Total(), time.Since(started).Round(time.Millisecond))
	if took := time.Since(started); took > faultSequenceLimit {
		t.Errorf("the sequence took %s (limit %s)", took.Round(time.Millisecond), faultSequenceLimit)
	}
	faultRetryAfter(t, proxy)
	if t.Failed() {
		for _, rec := range proxy.Records() {
			t.Logf("  %s", rec)
		}
	}
	if sc.mustSucceed && (putOK != 3 || getOK != 3) {
		t.Errorf("%d of 3 puts and %d of 3 gets succeeded; all must", putOK, getOK)
	}
}

// faultRetryAfter logs requests repeated sooner than a 429's Retry-After
// asked.
func faultRetryAfter(t *testing.T, proxy *faultproxy.Proxy) {
	t.Helper()
	recs := proxy.Records()
	early, total := 0, 0
	kinds := map[string]int{}
	for i, r := range recs {
		if r.Status != http.StatusTooManyRequests {
			continue
		}
		for _, next := range recs[i+1:] {
			if next.Method == r.Method && next.Path == r.Path {
				total++
				if gap := next.Time.Sub(r.Time); gap < time.Second {
					early++
					kinds[r.Method+" "+string(r.Kind)]++
				}
				break
			}
		}
	}
	if early > 0 {
		t.Logf("NOTE: %d of %d retries after a 429 came sooner than its Retry-After: 1 (%v)", early, total, kinds)
	}
}

// faultResult is a run of the binary under faults.
type faultResult struct {
	result
	args []string
}

// stderrLine is the error line of a failed run (warnings skipped).
func (r faultResult) stderrLine() string {
	for _, l := range lines(r.stderr) {
		if !strings.HasPrefix(l, "manifesto: warning: ") {
			return l
		}
	}
	return ""
}

// faultRun runs one operation and checks the contract every operation has
// under faults: success, or a non-zero exit with exactly one error line
// (warnings aside) and nothing on stdout; within faultOpLimit.
func faultRun(t *testing.T, sc faultScenario, args ...string) faultResult {
	t.Helper()
	start := time.Now()
	r := faultResult{result: cli(t, nil, nil, args...), args: args}
	took := time.Since(start)
	op := strings.Join(args[:1], "") + " " + strings.Join(args[2:], " ")
	if took > faultOpLimit {
		t.Errorf("%s took %s (limit %s)", op, took.Round(time.Millisecond), faultOpLimit)
	}
	if r.code == 0 {
		for _, l := range lines(r.stderr) {
			t.Logf("%s: %s", op, l)
		}
		return r
	}
	var errLines []string
	for _, l := range lines(r.stderr) {
		if !strings.HasPrefix(l, "manifesto: warning: ") {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) != 1 || !strings.HasPrefix(errLines[0], "manifesto: ") {
		t.Errorf("%s: exit %d with stderr %q, want one line starting with \"manifesto: \"", op, r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("%s failed (exit %d) but printed %q", op, r.code, r.stdout)
	}
	if r.code < 0 {
		t.Errorf("%s was killed (timeout)", op)
	}
	if sc.mustSucceed {
		t.Errorf("%s: exit %d after %s: %s", op, r.code, took.Round(time.Millisecond), r.stderrLine())
	} else {
		t.Logf("%s: exit %d after %s: %s", op, r.code, took.Round(time.Millisecond), r.stderrLine())
	}
	return r
}

func faultNames(files []os.DirEntry) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Name())
	}
	return out
}

// faultRegistry reads one repository straight from the registry, with no
// proxy in between.
type faultRegistry struct {
	t       *testing.T
	base    string
	repo    string
	subject v1.Hash
	hc      *http.Client
}

func newFaultRegistry(t *testing.T, reg *testregistry.Registry, repo string, subject v1.Hash) *faultRegistry {
	return &faultRegistry{t: t, base: reg.URL, repo: repo, subject: subject,
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}}
}

const faultManifestAccept = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"

// get returns the status and body of GET (or HEAD) /v2/<repo>/<path>.
func (r *faultRegistry) get(method, path string) (int, []byte) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.base+"/v2/"+r.repo+"/"+path, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Accept", faultManifestAccept)
	resp, err := r.hc.Do(req)
	if err != nil {
		r.t.Fatalf("direct %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("direct %s %s: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// faultEntry is an entry as the registry holds it.
type faultEntry struct {
	digest, key string
	created     time.Time
	valueDigest string
	inIndex     bool // listed in the fallback index
	traced      bool // has its trace tag
}

// faultState is the repository's bookkeeping for the subject, read
// directly, with every inconsistency found.
type faultState struct {
	entries  map[string]*faultEntry // by manifest digest
	problems []string
}

// state reads the fallback index and the trace tags, and checks every
// entry they name: manifest present, of this subject, value and config
// blobs present with the sizes the manifest says.
func (r *faultRegistry) state() *faultState {
	r.t.Helper()
	st := &faultState{entries: map[string]*faultEntry{}}
	fallback := "sha256-" + r.subject.Hex
	var listed []string
	code, b := r.get(http.MethodGet, "manifests/"+fallback)
	switch code {
	case http.StatusOK:
		var idx struct {
			Manifests []struct {
				Digest string `json:"digest"`
			} `json:"manifests"`
		}
		if err := json.Unmarshal(b, &idx); err != nil {
			st.problems = append(st.problems, fmt.Sprintf("fallback index is not JSON: %v", err))
		}
		for _, m := range idx.Manifests {
			listed = append(listed, m.Digest)
		}
	case http.StatusNotFound:
	default:
		r.t.Fatalf("direct GET fallback index: %d %s", code, b)
	}
	indexed := len(listed)
	code, b = r.get(http.MethodGet, "tags/list?n=10000")
	var tl struct {
		Tags []string `json:"tags"`
	}
	if code == http.StatusOK {
		if err := json.Unmarshal(b, &tl); err != nil {
			r.t.Fatalf("direct tags/list: %v", err)
		}
	}
	traced := map[string]bool{} // first 40 hex
	for _, tag := range tl.Tags {
		if short, ok := strings.CutPrefix(tag, fallback+".mf-"); ok {
			traced[short] = true
			code, b := r.get(http.MethodGet, "manifests/"+tag)
			if code != http.StatusOK {
				st.problems = append(st.problems, fmt.Sprintf("trace tag %s answers %d", tag, code))
				continue
			}
			sum := sha256.Sum256(b)
			d := "sha256:" + hex.EncodeToString(sum[:])
			if !strings.HasPrefix(d, "sha256:"+short) {
				st.problems = append(st.problems, fmt.Sprintf("trace tag %s holds manifest %s", tag, d))
			}
			listed = append(listed, d)
		}
	}
	for _, d := range listed {
		e := st.entries[d]
		if e == nil {
			e = r.entry(st, d)
			if e == nil {
				continue
			}
			st.entries[d] = e
		}
		if len(d) >= 47 && traced[d[7:47]] {
			e.traced = true
		}
	}
	for _, d := range listed[:indexed] {
		if e := st.entries[d]; e != nil {
			e.inIndex = true
		}
	}
	return st
}

// entry reads and checks the entry manifest d.
func (r *faultRegistry) entry(st *faultState, d string) *faultEntry {
	code, b := r.get(http.MethodGet, "manifests/"+d)
	if code != http.StatusOK {
		st.problems = append(st.problems, fmt.Sprintf("entry %s is listed but its manifest answers %d", d, code))
		return nil
	}
	var m v1.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		st.problems = append(st.problems, fmt.Sprintf("entry %s: %v", d, err))
		return nil
	}
	if m.Subject == nil || m.Subject.Digest != r.subject {
		st.problems = append(st.problems, fmt.Sprintf("entry %s has subject %v, want %s", d, m.Subject, r.subject))
	}
	blobs := append([]v1.Descriptor{m.Config}, m.Layers...)
	for _, bd := range blobs {
		code, body := r.get(http.MethodGet, "blobs/"+bd.Digest.String())
		switch {
		case code != http.StatusOK:
			st.problems = append(st.problems, fmt.Sprintf("entry %s: blob %s answers %d", d, bd.Digest, code))
		case int64(len(body)) != bd.Size:
			st.problems = append(st.problems, fmt.Sprintf("entry %s: blob %s is %d bytes, want %d", d, bd.Digest, len(body), bd.Size))
		}
	}
	e := &faultEntry{digest: d, key: m.Annotations["dev.manifesto.key"]}
	e.created, _ = time.Parse(time.RFC3339Nano, m.Annotations["org.opencontainers.image.created"])
	if len(m.Layers) == 1 {
		e.valueDigest = m.Layers[0].Digest.String()
	} else {
		st.problems = append(st.problems, fmt.Sprintf("entry %s has %d layers", d, len(m.Layers)))
	}
	return e
}

// check fails the test for every inconsistency.
func (s *faultState) check(t *testing.T, when string) {
	t.Helper()
	for _, p := range s.problems {
		t.Errorf("%s: half-done: %s", when, p)
	}
}

// added returns the entries in s that were not in before.
func (s *faultState) added(before *faultState) []string {
	var out []string
	for d := range s.entries {
		if before.entries[d] == nil {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// versions returns key's entries, newest first (README: latest created,
// ties broken by the larger digest).
func (s *faultState) versions(key string) []*faultEntry {
	var out []*faultEntry
	for _, e := range s.entries {
		if e.key == key {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].created.Equal(out[j].created) {
			return out[i].created.After(out[j].created)
		}
		return out[i].digest > out[j].digest
	})
	return out
}

// keys returns the keys present, sorted.
func (s *faultState) keys() []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range s.entries {
		if !seen[e.key] {
			seen[e.key] = true
			out = append(out, e.key)
		}
	}
	sort.Strings(out)
	return out
}

// faultIndexTag matches manifest requests for a fallback tag
// (sha256-<hex>), not its trace tags.
var faultIndexTag = regexp.MustCompile(`/manifests/sha256-[0-9a-f]{64}$`)

// TestFaultIndexOutage aims faults at single steps of put and delete: the
// fallback index cannot be written, or one of several manifest deletes
// keeps failing. The operation may fail, but must leave nothing half-done:
// in particular no fallback index listing a manifest that is gone.
func TestFaultIndexOutage(t *testing.T) {
	reg := testregistry.Start(t)
	noFaults := faultScenario{name: "targeted"}
	indexDown := faultproxy.ServiceUnavailable(1).Only(http.MethodPut, faultproxy.KindManifests).Matching(faultIndexTag)
	cases := []struct {
		name string
		op   string // put or delete
		rule faultproxy.Rule
	}{
		{"index-write-outage-during-put", "put", indexDown},
		{"index-write-outage-during-delete", "delete", indexDown},
		// The first version's manifest is deleted, every later DELETE
		// answers 503.
		{"second-manifest-delete-fails", "delete", faultproxy.ServiceUnavailable(1).Only(http.MethodDelete, faultproxy.KindManifests).After(1)},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			repo := fmt.Sprintf("faults/outage-%d", i)
			subject := pushImage(t, reg.Ref(repo+":1.0"))
			direct := newFaultRegistry(t, reg, repo, subject)
			proxy := faultproxy.Start(t, reg.URL)
			image := proxy.Ref(repo + ":1.0")
			for _, v := range []string{"one", "two"} {
				ok(t, "put", image, "results", writeFile(t, "r.txt", v))
			}
			before := direct.state()
			before.check(t, "before")
			proxy.SetRules(tc.rule)

			var r faultResult
			if tc.op == "put" {
				r = faultRun(t, noFaults, "put", image, "results", writeFile(t, "r.txt", "three"))
			} else {
				r = faultRun(t, noFaults, "delete", image, "results")
			}
			after := direct.state()
			t.Logf("%s: exit %d %s; %d faults", tc.op, r.code, r.stderrLine(), proxy.Faults())
			if added := after.added(before); r.code != 0 && len(added) > 0 {
				t.Logf("NOTE: %s failed yet left a complete, visible entry %v", tc.op, added)
			}
			for _, p := range after.problems {
				t.Errorf("after %s: half-done: %s", tc.op, p)
			}

			// Without faults, repair brings the index back in line.
			proxy.SetRules()
			ok(t, "repair", image)
			direct.state().check(t, "after repair")

		})
	}
}

// TestFaultRequestCounts logs the HTTP requests each operation makes on a
// registry without the referrers API (the fallback schema), counted by the
// proxy with no fault programmed.
func TestFaultRequestCounts(t *testing.T) {
	reg := testregistry.Start(t)
	repo := "faults/counts"
	pushImage(t, reg.Ref(repo+":1.0"))
	proxy := faultproxy.Start(t, reg.URL)
	image := proxy.Ref(repo + ":1.0")
	big := writeFile(t, "big.bin", strings.Repeat("x", 1<<20))
	steps := []struct {
		name string
		args []string
	}{
		{"put (first entry)", []string{"put", image, "results", writeFile(t, "r.json", `{"v":1}`)}},
		{"put (second key)", []string{"put", image, "sbom", big}},
		{"put (same value again)", []string{"put", image, "sbom", big}},
		{"put (new version)", []string{"put", image, "results", writeFile(t, "r.json", `{"v":2}`)}},
		{"get -o", []string{"get", image, "results", "-o", filepath.Join(t.TempDir(), "v")}},
		{"get --digest", nil}, // filled below
		{"list", []string{"list", image}},
		{"history", []string{"history", image, "results"}},
		{"delete (2 versions)", []string{"delete", image, "results"}},
	}
	var lastResults string
	for _, s := range steps {
		if s.args == nil {
			s.args = []string{"get", image, "results", "--digest", lastResults}
		}
		before := proxy.Counts()
		out := ok(t, s.args...)
		if s.args[0] == "put" && s.args[2] == "results" {
			lastResults = strings.TrimSpace(out)
		}
		c := proxy.Counts().Sub(before)
		t.Logf("%-24s %3d requests: %s", s.name, c.Total(), c)
		// A guard against loops, far above what any operation needs.
		if c.Total() > 40 {
			t.Errorf("%s made %d requests", s.name, c.Total())
		}
	}
}
