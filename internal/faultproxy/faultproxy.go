// Package faultproxy is a fault-injecting reverse proxy for tests: an
// httputil.ReverseProxy on 127.0.0.1 in front of a registry (or any HTTP
// server) that answers, drops, cuts, truncates or delays chosen requests.
//
// Faults are programmed with rules and are deterministic: each rule counts
// the requests (or responses) it matches and fires on every Nth one; there
// is no randomness. The proxy also counts every request it receives by
// method and kind of OCI distribution endpoint (manifests, blobs, uploads,
// tags, referrers), for request-count assertions.
//
//	p := faultproxy.Start(t, reg.URL, faultproxy.ServiceUnavailable(4))
//	image := p.Ref("team/app:1.0") // 127.0.0.1:port/team/app:1.0
//
// The proxy keeps the client's Host header when forwarding, so absolute
// Location headers the upstream builds from it (upload URLs) point back at
// the proxy; any that still name the upstream are rewritten.
//
// Stall and Trickle slow a response's body down instead of breaking it: a
// body that stops sending (a client's idle watchdog must give up) and one
// that keeps sending, a little at a time (a client must never cut it).
//
// Besides faults, the proxy can play a hostile registry: EchoAuth replaces
// chosen answers with an error body that echoes the credentials the client
// sent, and Rewrite hands a response to a test's own function.
//
//	p := faultproxy.Start(t, reg.URL, faultproxy.EchoAuthResponses(0).OnStatus(401))
package faultproxy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Kind classifies a request path by OCI distribution endpoint.
type Kind string

// The endpoint kinds.
const (
	KindBase      Kind = "base"      // /v2/ (the ping)
	KindManifests Kind = "manifests" // /v2/<name>/manifests/<ref>
	KindBlobs     Kind = "blobs"     // /v2/<name>/blobs/<digest>
	KindUploads   Kind = "uploads"   // /v2/<name>/blobs/uploads/[<id>]
	KindTags      Kind = "tags"      // /v2/<name>/tags/list
	KindReferrers Kind = "referrers" // /v2/<name>/referrers/<digest>
	KindOther     Kind = "other"     // anything else (token endpoints, ...)
)

var kindPatterns = []struct {
	kind Kind
	re   *regexp.Regexp
}{
	{KindBase, regexp.MustCompile(`^/v2/?$`)},
	{KindUploads, regexp.MustCompile(`^/v2/.+/blobs/uploads/[^/]*$`)},
	{KindBlobs, regexp.MustCompile(`^/v2/.+/blobs/[^/]+$`)},
	{KindManifests, regexp.MustCompile(`^/v2/.+/manifests/[^/]+$`)},
	{KindTags, regexp.MustCompile(`^/v2/.+/tags/list$`)},
	{KindReferrers, regexp.MustCompile(`^/v2/.+/referrers/[^/]+$`)},
}

// KindOf returns the endpoint kind of a URL path.
func KindOf(path string) Kind {
	for _, p := range kindPatterns {
		if p.re.MatchString(path) {
			return p.kind
		}
	}
	return KindOther
}

// Action is what a rule does when it fires.
type Action int

// The actions. Status, Drop and Delay act on the request before it is
// forwarded; LoseResponse, CutBody, Truncate, EchoAuth, Rewrite, Stall and
// Trickle act on the upstream's response, so the upstream has processed the
// request.
const (
	// Status answers with Rule.Code (and Rule.Header) and a registry-style
	// error body; the request is not forwarded.
	Status Action = iota + 1
	// Drop closes the client's connection without answering; the request
	// is not forwarded.
	Drop
	// Delay waits Rule.Latency, then lets the request go on (other rules
	// still apply).
	Delay
	// LoseResponse forwards the request, then closes the client's
	// connection without answering: the upstream did the work, the client
	// never hears of it.
	LoseResponse
	// CutBody forwards the request, sends the response headers (with the
	// upstream's Content-Length) and the first Rule.Keep bytes of the body,
	// then closes the connection: the client sees an unexpected EOF.
	CutBody
	// Truncate forwards the request and sends the first Rule.Keep bytes of
	// the body with a Content-Length that matches them: a complete,
	// well-formed HTTP exchange with a short body, which only a size or
	// digest check can catch.
	Truncate
	// EchoAuth forwards the request and replaces the response's body with
	// a registry-style error that echoes the request's Authorization header
	// (and, for Basic, the decoded "user:pass"): see EchoAuthBody. With
	// Rule.Code set the response gets that status too (say, a 201 turned
	// into a 400); otherwise it keeps the upstream's.
	EchoAuth
	// Rewrite forwards the request, sets the response's status to Rule.Code
	// when it is set, then calls Rule.Rewrite on the request and response,
	// which may change the status, headers and body (SetBody).
	Rewrite
	// Stall forwards the request, sends the response headers (with the
	// upstream's Content-Length) and the first Rule.Keep bytes of the body
	// (0: none; never the whole body), then sends nothing until the client
	// goes away, the proxy closes or Rule.Latency passes (0: maxStall),
	// and closes the connection: the body stalls.
	Stall
	// Trickle forwards the request and sends the whole response body
	// Rule.Keep bytes at a time (0: 1), pausing Rule.Latency before each
	// piece; it stops when the client goes away or the proxy closes. The
	// headers are the upstream's: a slow body, complete if read to its end.
	Trickle
)

// maxStall bounds a Stall with no Rule.Latency: the client should give up
// long before (and Close ends it at once).
const maxStall = time.Minute

func (a Action) String() string {
	switch a {
	case Status:
		return "status"
	case Drop:
		return "drop"
	case Delay:
		return "delay"
	case LoseResponse:
		return "lose-response"
	case CutBody:
		return "cut-body"
	case Truncate:
		return "truncate"
	case EchoAuth:
		return "echo-auth"
	case Rewrite:
		return "rewrite"
	case Stall:
		return "stall"
	case Trickle:
		return "trickle"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

func (a Action) onResponse() bool {
	return a == LoseResponse || a == CutBody || a == Truncate || a == EchoAuth || a == Rewrite ||
		a == Stall || a == Trickle
}

// needsBody reports whether the action only makes sense on a response with
// a body; such rules count only responses that have one.
func (a Action) needsBody() bool {
	return a == CutBody || a == Truncate || a == Stall || a == Trickle
}

// Rule is one programmed fault.
//
// A rule matches requests by Method, Kind and Path (all optional). It fires
// on the Every-th matching request, then the 2*Every-th, and so on, after
// skipping the first Skip matches, at most Limit times (0: no limit).
// Rules whose action needs a body (CutBody, Truncate, Stall, Trickle)
// count only responses that have a non-empty body (not HEAD, not 204/304,
// Content-Length not 0).
// Response-phase rules can also be restricted to an upstream status
// (UpstreamStatus, OnStatus); a request-phase rule with one never fires.
//
// Rules are evaluated in order; every matching rule advances its counter.
// Delay rules add up; the first other request-phase rule that fires decides
// the request's fate, and likewise for the response phase.
type Rule struct {
	Method string         // "" matches any method
	Kind   Kind           // "" matches any kind
	Path   *regexp.Regexp // nil matches any path
	Every  int            // fire on every Every-th match; 0 and 1 mean every match
	Skip   int            // matches to let through before counting
	Limit  int            // at most this many fires; 0 means no limit

	// UpstreamStatus restricts a response-phase rule to responses the
	// upstream answered with this status; 0 matches any.
	UpstreamStatus int

	Action Action
	Code   int         // Status: the status code; EchoAuth, Rewrite: the new status (0 keeps it)
	Header http.Header // Status: extra response headers (e.g. Retry-After)
	// CutBody, Truncate: body bytes kept; 0 means half (at least 1 for
	// CutBody). Stall: body bytes sent before the stall (0: none).
	// Trickle: bytes sent at a time (0: 1).
	Keep int64
	// Delay: how long. Stall: the longest stall (0: maxStall). Trickle:
	// the pause before each piece.
	Latency time.Duration
	// Rewrite: called on the upstream's response (after Code is applied);
	// req is the request as forwarded (the client's headers).
	Rewrite func(req *http.Request, resp *http.Response)
}

// Only restricts r to a method ("" any) and endpoint kind ("" any).
func (r Rule) Only(method string, kind Kind) Rule {
	r.Method, r.Kind = method, kind
	return r
}

// Matching restricts r to URL paths matching re.
func (r Rule) Matching(re *regexp.Regexp) Rule {
	r.Path = re
	return r
}

// OnStatus restricts r, a response-phase rule, to responses the upstream
// answered with code.
func (r Rule) OnStatus(code int) Rule {
	r.UpstreamStatus = code
	return r
}

// After makes r let the first n matches through before it starts counting.
func (r Rule) After(n int) Rule {
	r.Skip = n
	return r
}

// Times makes r fire at most n times.
func (r Rule) Times(n int) Rule {
	r.Limit = n
	return r
}

func (r Rule) String() string {
	var b strings.Builder
	b.WriteString(r.Action.String())
	if r.Action == Status || (r.Code != 0 && (r.Action == EchoAuth || r.Action == Rewrite)) {
		fmt.Fprintf(&b, " %d", r.Code)
	}
	if r.Action == Delay || (r.Latency > 0 && (r.Action == Stall || r.Action == Trickle)) {
		fmt.Fprintf(&b, " %s", r.Latency)
	}
	if r.Every > 1 {
		fmt.Fprintf(&b, " every %d", r.Every)
	}
	if r.Method != "" || r.Kind != "" {
		fmt.Fprintf(&b, " of %s %s", r.Method, r.Kind)
	}
	if r.UpstreamStatus != 0 {
		fmt.Fprintf(&b, " on %d", r.UpstreamStatus)
	}
	if r.Skip > 0 {
		fmt.Fprintf(&b, " after %d", r.Skip)
	}
	return strings.TrimSpace(b.String())
}

// ServiceUnavailable answers every nth request with 503.
func ServiceUnavailable(n int) Rule {
	return Rule{Every: n, Action: Status, Code: http.StatusServiceUnavailable}
}

// TooManyRequests answers every nth request with 429 and a Retry-After of
// the given number of seconds (none when negative).
func TooManyRequests(n, retryAfter int) Rule {
	r := Rule{Every: n, Action: Status, Code: http.StatusTooManyRequests}
	if retryAfter >= 0 {
		r.Header = http.Header{"Retry-After": {strconv.Itoa(retryAfter)}}
	}
	return r
}

// DropConnection closes the connection carrying every nth request without
// answering it (the request is not forwarded).
func DropConnection(n int) Rule { return Rule{Every: n, Action: Drop} }

// LoseResponses forwards every nth request and closes the connection
// instead of answering.
func LoseResponses(n int) Rule { return Rule{Every: n, Action: LoseResponse} }

// CutBodies sends the headers and half the body of every nth response that
// has a body, then closes the connection.
func CutBodies(n int) Rule { return Rule{Every: n, Action: CutBody} }

// TruncateBodies sends every nth response that has a body with only half of
// it, and a Content-Length saying so.
func TruncateBodies(n int) Rule { return Rule{Every: n, Action: Truncate} }

// Latency delays every request by d.
func Latency(d time.Duration) Rule { return Rule{Every: 1, Action: Delay, Latency: d} }

// EchoAuthResponses answers every response with an error body echoing the
// request's credentials (EchoAuthBody), with status code (0 keeps the
// upstream's). Restrict it with Only, Matching and OnStatus.
func EchoAuthResponses(code int) Rule { return Rule{Every: 1, Action: EchoAuth, Code: code} }

// RewriteResponses calls f on every response.
func RewriteResponses(f func(req *http.Request, resp *http.Response)) Rule {
	return Rule{Every: 1, Action: Rewrite, Rewrite: f}
}

// StallBodies sends the headers and the first keep bytes of every response
// that has a body, then nothing until the client goes away (at most
// maxStall). Restrict it with Only, Matching and Times.
func StallBodies(keep int64) Rule { return Rule{Every: 1, Action: Stall, Keep: keep} }

// TrickleBodies sends every response body that has one chunk bytes at a
// time, pausing every before each piece.
func TrickleBodies(chunk int64, every time.Duration) Rule {
	return Rule{Every: 1, Action: Trickle, Keep: chunk, Latency: every}
}

// EchoAuthBody is the body EchoAuth sends: a registry-style JSON error
// echoing authz, the Authorization header of the request, as a hostile or
// careless registry might. The error's code is upstreamCode when it is not
// empty (the code the upstream's own error carried), else DENIED. For Basic
// credentials the message adds the decoded "user:pass", and the detail
// carries it again with every character outside [A-Za-z0-9] written as a
// JSON \u escape (a client must decode the JSON before it redacts). With no
// Authorization header the message says so.
//
//	{"errors":[{"code":"DENIED","message":"you sent Basic YWxp... i.e. alice:S3cr3t-P4ss","detail":"alice\u003aS3cr3t\u002dP4ss"}]}
func EchoAuthBody(authz, upstreamCode string) []byte {
	code := upstreamCode
	if code == "" {
		code = "DENIED"
	}
	msg, detail := "you sent no credentials", ""
	if authz != "" {
		msg = "you sent " + authz
		detail = authz
		if b64, ok := cutPrefixFold(authz, "Basic "); ok {
			if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64)); err == nil {
				msg += " i.e. " + string(dec)
				detail = string(dec)
			}
		}
	}
	m, _ := json.Marshal(msg)
	c, _ := json.Marshal(code)
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"errors":[{"code":%s,"message":%s`, c, m)
	if detail != "" {
		b.WriteString(`,"detail":"`)
		for _, r := range detail {
			if ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
				b.WriteRune(r)
			} else if r <= 0xFFFF {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				// Outside the BMP: let encoding/json write the rune.
				q, _ := json.Marshal(string(r))
				b.Write(q[1 : len(q)-1])
			}
		}
		b.WriteByte('"')
	}
	b.WriteString("}]}\n")
	return b.Bytes()
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// SetBody replaces resp's body with body (closing the old one), with
// matching Content-Length and the given Content-Type ("" leaves it), and
// no Content-Encoding or Transfer-Encoding. For a status that allows no
// body (1xx, 204, 304) the body is left empty.
func SetBody(resp *http.Response, contentType string, body []byte) {
	if resp.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}
	if !bodyAllowed(resp.StatusCode) {
		body = nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Del("Content-Encoding")
	resp.Header.Del("Transfer-Encoding")
	resp.TransferEncoding = nil
	if contentType != "" {
		resp.Header.Set("Content-Type", contentType)
	}
}

func bodyAllowed(status int) bool {
	return !(status >= 100 && status < 200) && status != http.StatusNoContent && status != http.StatusNotModified
}

// WriteEchoAuth does what EchoAuth does to a response, for Rewrite hooks
// that change more: it replaces resp's body with EchoAuthBody of req's
// Authorization header and the code of the error resp's body carried.
func WriteEchoAuth(req *http.Request, resp *http.Response) {
	var upstream []byte
	if resp.Body != nil {
		upstream, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	}
	SetBody(resp, "application/json", EchoAuthBody(req.Header.Get("Authorization"), upstreamErrorCode(upstream)))
}

// upstreamErrorCode reads the code of the first error of a registry-style
// error body ("" when there is none).
func upstreamErrorCode(body []byte) string {
	var doc struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &doc) != nil || len(doc.Errors) == 0 {
		return ""
	}
	return doc.Errors[0].Code
}

// rule is a Rule with its counters.
type rule struct {
	Rule
	matched, fired int
}

func (r *rule) matches(method, path string, kind Kind, status int) bool {
	return (r.UpstreamStatus == 0 || r.UpstreamStatus == status) &&
		(r.Method == "" || strings.EqualFold(r.Method, method)) &&
		(r.Kind == "" || r.Kind == kind) &&
		(r.Path == nil || r.Path.MatchString(path))
}

// count advances the rule on a match and reports whether it fires.
func (r *rule) count() bool {
	r.matched++
	n := r.matched - r.Skip
	if n <= 0 || (r.Limit > 0 && r.fired >= r.Limit) {
		return false
	}
	every := max(r.Every, 1)
	if n%every != 0 {
		return false
	}
	r.fired++
	return true
}

// Record is one request the proxy received.
type Record struct {
	Time time.Time // arrival
	// End is when the proxy finished answering (the response body sent, or
	// the connection closed); zero while the request is under way. Time
	// and End include a Delay rule's wait, so they are the request's span
	// as the client sees it: benchmarks derive the sequential round trips
	// of an operation from them.
	End    time.Time
	Method string
	Path   string
	Kind   Kind
	Status int    // the status the client got; 0 when it got none
	Fault  string // the injected fault, "" for none
	// Authorization is the request's Authorization header as the client
	// sent it (tests collect the bearer tokens a client was issued from
	// it). String leaves it out.
	Authorization string
}

func (r Record) String() string {
	s := fmt.Sprintf("%s %s -> %d", r.Method, r.Path, r.Status)
	if r.Fault != "" {
		s += " [" + r.Fault + "]"
	}
	return s
}

// Counts maps "METHOD kind" (e.g. "GET manifests") to a number of requests.
type Counts map[string]int

// Of returns the count for method and kind.
func (c Counts) Of(method string, kind Kind) int { return c[method+" "+string(kind)] }

// Kind returns the count of kind over all methods.
func (c Counts) Kind(kind Kind) int {
	n := 0
	for k, v := range c {
		if strings.HasSuffix(k, " "+string(kind)) {
			n += v
		}
	}
	return n
}

// Total returns the number of requests.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// String lists the counts sorted: "GET manifests=3 HEAD blobs=2 (total 5)".
func (c Counts) String() string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, c[k])
	}
	fmt.Fprintf(&b, "(total %d)", c.Total())
	return b.String()
}

// Sub returns c minus before, per key (for the requests of one operation).
func (c Counts) Sub(before Counts) Counts {
	out := Counts{}
	for k, v := range c {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// maxRecords bounds the request log.
const maxRecords = 10000

// closeTimeout bounds how long Close waits for handlers to finish.
const closeTimeout = 10 * time.Second

// errLose makes the error handler drop the connection (LoseResponse).
var errLose = errors.New("faultproxy: response lost on purpose")

// errCut ends a cut body.
var errCut = errors.New("faultproxy: body cut on purpose")

// errSlowEnd ends a stalled or trickled body (the stall is over, the client
// went away, or the proxy closed).
var errSlowEnd = errors.New("faultproxy: slow body ended")

type recordKey struct{}

// Proxy is a running fault-injecting reverse proxy.
type Proxy struct {
	target *url.URL
	ln     net.Listener
	srv    *http.Server
	rp     *httputil.ReverseProxy
	tr     *http.Transport

	closing   chan struct{}
	served    chan struct{}
	handlers  sync.WaitGroup
	closeOnce sync.Once

	mu      sync.Mutex
	rules   []*rule
	counts  Counts
	faults  int
	records []*Record
	dropped int // records not kept (over maxRecords)
}

// New starts a proxy on 127.0.0.1 (a free port) in front of target (e.g.
// "http://127.0.0.1:5000") with the given rules. Close stops it.
func New(target string, rules ...Rule) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q is not an http(s) URL", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{
		target:  u,
		ln:      ln,
		closing: make(chan struct{}),
		served:  make(chan struct{}),
		counts:  Counts{},
	}
	p.setRules(rules)
	p.tr = &http.Transport{
		Proxy:               nil, // never through an environment proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	discard := log.New(io.Discard, "", 0)
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // upload Locations come back to us
		},
		Transport:      p.tr,
		FlushInterval:  -1, // flush every write, so a cut body reaches the client
		ErrorLog:       discard,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.errorHandler,
	}
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(p.serve),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       30 * time.Second,
		ErrorLog:          discard,
	}
	go func() {
		defer close(p.served)
		_ = p.srv.Serve(ln)
	}()
	return p, nil
}

// Start is New for tests: it fails t on error and closes the proxy when the
// test ends.
func Start(t testing.TB, target string, rules ...Rule) *Proxy {
	t.Helper()
	p, err := New(target, rules...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("faultproxy: %v", err)
		}
	})
	return p
}

// Addr returns the proxy's host:port on 127.0.0.1.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL returns "http://" + Addr().
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// Ref returns Addr() + "/" + s, for image references through the proxy.
func (p *Proxy) Ref(s string) string { return p.Addr() + "/" + s }

// SetRules replaces the rules; their counters start from zero.
func (p *Proxy) SetRules(rules ...Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setRules(rules)
}

func (p *Proxy) setRules(rules []Rule) {
	p.rules = make([]*rule, len(rules))
	for i, r := range rules {
		p.rules[i] = &rule{Rule: r}
	}
}

// Counts returns a copy of the request counts so far.
func (p *Proxy) Counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(Counts, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// Faults returns the number of faults injected so far (delays included).
func (p *Proxy) Faults() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

// Records returns the requests received so far, in arrival order (at most
// the first 10000).
func (p *Proxy) Records() []Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Record, len(p.records))
	for i, r := range p.records {
		out[i] = *r
	}
	return out
}

// Reset zeroes the counts, the request log, the fault count and every
// rule's counters.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts = Counts{}
	p.records = nil
	p.dropped = 0
	p.faults = 0
	for _, r := range p.rules {
		r.matched, r.fired = 0, 0
	}
}

// Close stops the proxy: no new connections, open ones closed, pending
// delays cut short, idle upstream connections closed. It waits (bounded)
// for every handler to return.
func (p *Proxy) Close() error {
	var err error
	p.closeOnce.Do(func() {
		close(p.closing)
		err = p.srv.Close()
		done := make(chan struct{})
		go func() {
			p.handlers.Wait()
			<-p.served
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(closeTimeout):
			err = errors.Join(err, fmt.Errorf("faultproxy: handlers still running %s after Close", closeTimeout))
		}
		p.tr.CloseIdleConnections()
	})
	return err
}

// decide counts one request or response (with the upstream's status; 0
// for a request) against the rules of a phase and returns the delay to add
// and the rule that fires, if any.
func (p *Proxy) decide(method, path string, status int, response, hasBody bool, rec *Record) (delay time.Duration, fire *Rule) {
	kind := KindOf(path)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.rules {
		if r.Action.onResponse() != response || !r.matches(method, path, kind, status) {
			continue
		}
		if r.Action.needsBody() && !hasBody {
			continue
		}
		if !r.count() {
			continue
		}
		if r.Action == Delay {
			delay += r.Latency
			p.faults++
			continue
		}
		if fire == nil {
			rr := r.Rule
			fire = &rr
			p.faults++
			rec.Fault = appendFault(rec.Fault, r.Rule.String())
		}
	}
	if delay > 0 {
		rec.Fault = appendFault(rec.Fault, "delay "+delay.String())
	}
	return delay, fire
}

func appendFault(s, f string) string {
	if s == "" {
		return f
	}
	return s + ", " + f
}

func (p *Proxy) record(r *http.Request) *Record {
	rec := &Record{Time: time.Now(), Method: r.Method, Path: r.URL.Path, Kind: KindOf(r.URL.Path),
		Authorization: r.Header.Get("Authorization")}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[r.Method+" "+string(rec.Kind)]++
	if len(p.records) < maxRecords {
		p.records = append(p.records, rec)
	} else {
		p.dropped++
	}
	return rec
}

func (p *Proxy) setStatus(rec *Record, code int) {
	p.mu.Lock()
	rec.Status = code
	p.mu.Unlock()
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.handlers.Add(1)
	defer p.handlers.Done()
	select {
	case <-p.closing:
		hijackClose(w)
		return
	default:
	}
	rec := p.record(r)
	defer func() {
		p.mu.Lock()
		rec.End = time.Now()
		p.mu.Unlock()
	}()
	delay, fire := p.decide(r.Method, r.URL.Path, 0, false, false, rec)
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-p.closing:
			t.Stop()
			hijackClose(w)
			return
		}
	}
	if fire != nil {
		switch fire.Action {
		case Status:
			for k, vs := range fire.Header {
				for _, v := range vs {
					w.Header().Add(k, v)
				}
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fire.Code)
			if r.Method != http.MethodHead {
				fmt.Fprintf(w, `{"errors":[{"code":"UNAVAILABLE","message":"faultproxy: injected %d"}]}`+"\n", fire.Code)
			}
			p.setStatus(rec, fire.Code)
			return
		case Drop:
			hijackClose(w)
			return
		}
	}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), recordKey{}, rec)))
}

// hijackClose closes the client's connection without a response.
func hijackClose(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

func (p *Proxy) modifyResponse(resp *http.Response) error {
	rec, _ := resp.Request.Context().Value(recordKey{}).(*Record)
	if rec == nil {
		rec = &Record{}
	}
	p.rewriteLocation(resp)
	hasBody := resp.Request.Method != http.MethodHead && resp.StatusCode != http.StatusNoContent &&
		resp.StatusCode != http.StatusNotModified && resp.ContentLength != 0
	_, fire := p.decide(resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, true, hasBody, rec)
	if fire == nil {
		p.setStatus(rec, resp.StatusCode)
		return nil
	}
	switch fire.Action {
	case LoseResponse:
		return errLose
	case CutBody:
		keep := fire.Keep
		if keep <= 0 {
			keep = max(resp.ContentLength/2, 1)
		}
		if resp.ContentLength > 0 && keep >= resp.ContentLength {
			keep = resp.ContentLength - 1
		}
		resp.Body = &cutBody{rc: resp.Body, left: keep}
		p.setStatus(rec, resp.StatusCode)
	case Truncate:
		keep := fire.Keep
		if keep <= 0 {
			keep = max(resp.ContentLength/2, 0)
		}
		if resp.ContentLength > 0 && keep >= resp.ContentLength {
			keep = resp.ContentLength - 1
		}
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, keep), resp.Body}
		resp.ContentLength = keep
		resp.Header.Set("Content-Length", strconv.FormatInt(keep, 10))
		resp.Header.Del("Transfer-Encoding")
		p.setStatus(rec, resp.StatusCode)
	case EchoAuth:
		setCode(resp, fire.Code)
		WriteEchoAuth(resp.Request, resp)
		p.setStatus(rec, resp.StatusCode)
	case Rewrite:
		setCode(resp, fire.Code)
		if fire.Rewrite != nil {
			fire.Rewrite(resp.Request, resp)
		}
		p.setStatus(rec, resp.StatusCode)
	case Stall:
		keep := max(fire.Keep, 0)
		if resp.ContentLength > 0 && keep >= resp.ContentLength {
			keep = resp.ContentLength - 1
		}
		hold := fire.Latency
		if hold <= 0 {
			hold = maxStall
		}
		resp.Body = &stallBody{rc: resp.Body, left: keep, hold: hold, ctx: resp.Request.Context(), closing: p.closing}
		p.setStatus(rec, resp.StatusCode)
	case Trickle:
		resp.Body = &trickleBody{rc: resp.Body, chunk: max(fire.Keep, 1), every: fire.Latency,
			ctx: resp.Request.Context(), closing: p.closing}
		p.setStatus(rec, resp.StatusCode)
	}
	return nil
}

// setCode gives resp the status code (0: leaves it).
func setCode(resp *http.Response, code int) {
	if code == 0 || code == resp.StatusCode {
		return
	}
	resp.StatusCode = code
	resp.Status = fmt.Sprintf("%d %s", code, http.StatusText(code))
}

// rewriteLocation points a Location that names the upstream back at the
// proxy.
func (p *Proxy) rewriteLocation(resp *http.Response) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return
	}
	u, err := url.Parse(loc)
	if err != nil || u.Host != p.target.Host {
		return
	}
	u.Scheme, u.Host = "http", p.Addr()
	resp.Header.Set("Location", u.String())
}

func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errLose) {
		hijackClose(w)
		return
	}
	rec, _ := r.Context().Value(recordKey{}).(*Record)
	w.WriteHeader(http.StatusBadGateway)
	if rec != nil {
		p.setStatus(rec, http.StatusBadGateway)
	}
}

// cutBody yields left bytes, then an error that makes the ReverseProxy
// abort the connection (http.ErrAbortHandler) after flushing what it sent.
type cutBody struct {
	rc   io.ReadCloser
	left int64
}

func (c *cutBody) Read(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, errCut
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.rc.Read(b)
	c.left -= int64(n)
	if err == io.EOF {
		// The upstream body was shorter than the cut: still cut.
		return n, errCut
	}
	return n, err
}

func (c *cutBody) Close() error { return c.rc.Close() }

// wait pauses d; false when ctx ended or closing closed first.
func wait(ctx context.Context, closing <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		select {
		case <-ctx.Done():
			return false
		case <-closing:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-closing:
		return false
	}
}

// stallBody yields left bytes, then blocks until hold passes, ctx ends (the
// client went away) or the proxy closes, then fails, which makes the
// ReverseProxy abort the connection.
type stallBody struct {
	rc      io.ReadCloser
	left    int64
	hold    time.Duration
	ctx     context.Context
	closing <-chan struct{}
}

func (s *stallBody) Read(b []byte) (int, error) {
	if s.left > 0 {
		if int64(len(b)) > s.left {
			b = b[:s.left]
		}
		n, err := s.rc.Read(b)
		s.left -= int64(n)
		if err == io.EOF {
			s.left = 0 // the upstream body was shorter: stall now
		} else if err != nil {
			return n, err
		}
		if n > 0 {
			return n, nil
		}
	}
	wait(s.ctx, s.closing, s.hold)
	return 0, errSlowEnd
}

func (s *stallBody) Close() error { return s.rc.Close() }

// trickleBody yields the body chunk bytes at a time, pausing every before
// each piece; it fails when ctx ends or the proxy closes.
type trickleBody struct {
	rc      io.ReadCloser
	chunk   int64
	every   time.Duration
	ctx     context.Context
	closing <-chan struct{}
}

func (t *trickleBody) Read(b []byte) (int, error) {
	if !wait(t.ctx, t.closing, t.every) {
		return 0, errSlowEnd
	}
	if int64(len(b)) > t.chunk {
		b = b[:t.chunk]
	}
	return t.rc.Read(b)
}

func (t *trickleBody) Close() error { return t.rc.Close() }
