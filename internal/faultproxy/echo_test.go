package faultproxy

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// authUpstream answers like a registry asking for credentials: 401 with an
// UNAUTHORIZED error on /v2/, 201 to manifest PUTs, 204 to DELETEs, 200
// "ok" to anything else.
func authUpstream(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		switch {
		case r.URL.Path == "/v2/":
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			if r.Method != http.MethodHead {
				_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			}
		case r.Method == http.MethodPut:
			w.Header().Set("Docker-Content-Digest", "sha256:00")
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Content-Length", "2")
			_, _ = io.WriteString(w, "ok")
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

type echoError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  string `json:"detail"`
}

func parseEcho(t *testing.T, body []byte) echoError {
	t.Helper()
	var doc struct{ Errors []echoError }
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Errors) != 1 {
		t.Fatalf("body %q is not one registry error: %v", body, err)
	}
	return doc.Errors[0]
}

func TestFaultEchoAuth(t *testing.T) {
	const pass = "S3cr3t-P4ss"
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+pass))
	bearer := "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln"
	rewrite := RewriteResponses(func(req *http.Request, resp *http.Response) {
		resp.Header.Set("X-Seen", req.Header.Get("Authorization"))
		SetBody(resp, "text/plain", []byte("rewritten"))
	})
	rewrite.Code = http.StatusTeapot
	challenge := RewriteResponses(func(req *http.Request, resp *http.Response) {
		resp.Header.Set("WWW-Authenticate", strings.Replace(resp.Header.Get("WWW-Authenticate"), "test", "elsewhere", 1))
		WriteEchoAuth(req, resp)
	}).OnStatus(401)
	cases := []struct {
		name         string
		rule         Rule
		method, path string
		authz        string
		code         int
		echo         *echoError // the echoed error; nil: body must be want
		want         string     // the body when echo is nil
		raw          []string   // substrings of the raw body
		notRaw       []string   // not in the raw body
		fault        string     // Record.Fault
		header       [2]string  // a response header and its value
	}{
		{
			name: "basic on 401 keeps status and the upstream's code", rule: EchoAuthResponses(0).OnStatus(401),
			method: "GET", path: "/v2/", authz: basic, code: 401,
			echo: &echoError{Code: "UNAUTHORIZED", Message: "you sent " + basic + " i.e. alice:" + pass, Detail: "alice:" + pass},
			raw:  []string{`alice\u003aS3cr3t\u002dP4ss`}, fault: "echo-auth on 401",
			header: [2]string{"WWW-Authenticate", `Basic realm="test"`},
		},
		{
			name: "OnStatus leaves other statuses alone", rule: EchoAuthResponses(0).OnStatus(401),
			method: "GET", path: "/v2/a/manifests/x", authz: basic, code: 200, want: "ok",
		},
		{
			name: "manifest PUT turned into 400 echoing the bearer token", rule: EchoAuthResponses(400).Only("PUT", KindManifests),
			method: "PUT", path: "/v2/a/manifests/x", authz: bearer, code: 400,
			echo:  &echoError{Code: "DENIED", Message: "you sent " + bearer, Detail: bearer},
			fault: "echo-auth 400 of PUT manifests",
		},
		{
			name: "Only leaves other methods alone", rule: EchoAuthResponses(400).Only("PUT", KindManifests),
			method: "GET", path: "/v2/a/manifests/x", authz: bearer, code: 200, want: "ok",
		},
		{
			name: "no credentials", rule: EchoAuthResponses(403),
			method: "GET", path: "/v2/a/tags/list", code: 403,
			echo:   &echoError{Code: "DENIED", Message: "you sent no credentials"},
			notRaw: []string{"detail"}, fault: "echo-auth 403",
		},
		{
			name: "lower-case basic scheme is decoded", rule: EchoAuthResponses(401),
			method: "GET", path: "/v2/a/blobs/sha256:00", authz: "basic " + base64.StdEncoding.EncodeToString([]byte("bob:pä$s")), code: 401,
			echo: &echoError{Code: "DENIED", Message: "you sent basic Ym9iOnDDpCRz i.e. bob:pä$s", Detail: "bob:pä$s"},
			raw:  []string{`bob\u003ap\u00e4\u0024s`}, fault: "echo-auth 401",
		},
		{
			name: "HEAD gets the status and no body", rule: EchoAuthResponses(0).OnStatus(401),
			method: "HEAD", path: "/v2/", authz: basic, code: 401, want: "", fault: "echo-auth on 401",
		},
		{
			name: "a 204 keeps no body", rule: EchoAuthResponses(0),
			method: "DELETE", path: "/v2/a/manifests/sha256:00", authz: basic, code: 204, want: "", fault: "echo-auth",
		},
		{
			name: "request-phase rule with an upstream status never fires", rule: ServiceUnavailable(1).OnStatus(200),
			method: "GET", path: "/v2/a/manifests/x", code: 200, want: "ok",
		},
		{
			name: "Rewrite hook with a new status", rule: rewrite,
			method: "GET", path: "/v2/a/manifests/x", authz: bearer, code: 418, want: "rewritten",
			fault: "rewrite 418", header: [2]string{"X-Seen", bearer},
		},
		{
			name: "Rewrite hook with WriteEchoAuth", rule: challenge,
			method: "GET", path: "/v2/", authz: bearer, code: 401,
			echo:  &echoError{Code: "UNAUTHORIZED", Message: "you sent " + bearer, Detail: bearer},
			fault: "rewrite on 401", header: [2]string{"WWW-Authenticate", `Basic realm="elsewhere"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up, hits := authUpstream(t)
			p := Start(t, up.URL, tc.rule)
			req, err := http.NewRequest(tc.method, p.URL()+tc.path, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.authz != "" {
				req.Header.Set("Authorization", tc.authz)
			}
			resp, err := client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if resp.StatusCode != tc.code {
				t.Errorf("status %d, want %d (body %q)", resp.StatusCode, tc.code, body)
			}
			if hits.Load() != 1 {
				t.Errorf("upstream saw %d requests, want 1", hits.Load())
			}
			if tc.echo != nil {
				if got := parseEcho(t, body); got != *tc.echo {
					t.Errorf("echo = %+v, want %+v", got, *tc.echo)
				}
				if resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
				}
			} else if string(body) != tc.want {
				t.Errorf("body %q, want %q", body, tc.want)
			}
			if tc.method != "HEAD" && resp.ContentLength >= 0 && resp.ContentLength != int64(len(body)) {
				t.Errorf("Content-Length %d for a %d-byte body", resp.ContentLength, len(body))
			}
			for _, s := range tc.raw {
				if !strings.Contains(string(body), s) {
					t.Errorf("raw body %q lacks %q", body, s)
				}
			}
			for _, s := range tc.notRaw {
				if strings.Contains(string(body), s) {
					t.Errorf("raw body %q has %q", body, s)
				}
			}
			if h := tc.header; h[0] != "" && resp.Header.Get(h[0]) != h[1] {
				t.Errorf("%s = %q, want %q", h[0], resp.Header.Get(h[0]), h[1])
			}
			recs := p.Records()
			if len(recs) != 1 {
				t.Fatalf("records = %v", recs)
			}
			rec := recs[0]
			if rec.Authorization != tc.authz || rec.Status != tc.code || rec.Fault != tc.fault {
				t.Errorf("record = %+v; want Authorization %q, Status %d, Fault %q", rec, tc.authz, tc.code, tc.fault)
			}
			if tc.authz != "" && strings.Contains(rec.String(), tc.authz) {
				t.Errorf("Record.String shows the credentials: %s", rec)
			}
		})
	}
}

// TestFaultEchoAuthCounts: an EchoAuth rule counts like any other rule
// (Every, Skip, Limit) among the responses it matches.
func TestFaultEchoAuthCounts(t *testing.T) {
	up, _ := authUpstream(t)
	r := EchoAuthResponses(400).Only("PUT", "").After(1).Times(2)
	r.Every = 1
	p := Start(t, up.URL, r)
	c := client()
	var codes []int
	for i := 0; i < 5; i++ {
		req, _ := http.NewRequest("PUT", p.URL()+"/v2/a/manifests/x", strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer t")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if want := []int{201, 400, 400, 201, 201}; !equalInts(codes, want) {
		t.Errorf("codes = %v, want %v", codes, want)
	}
	if p.Faults() != 2 {
		t.Errorf("faults = %d", p.Faults())
	}
}

// TestFaultEchoAuthBody pins the body's shape: valid JSON whatever the
// credentials hold, the header verbatim in the message.
func TestFaultEchoAuthBody(t *testing.T) {
	for _, authz := range []string{
		"", "Bearer abc", `Basic "quoted"`, "Basic !!notbase64", "Token x\ny",
		"Basic " + base64.StdEncoding.EncodeToString([]byte("u:p\"\\\u2028😀")),
	} {
		b := EchoAuthBody(authz, "")
		var doc struct{ Errors []echoError }
		if err := json.Unmarshal(b, &doc); err != nil || len(doc.Errors) != 1 {
			t.Errorf("EchoAuthBody(%q) = %q: %v", authz, b, err)
			continue
		}
		if authz != "" && !strings.Contains(doc.Errors[0].Message, authz) {
			t.Errorf("EchoAuthBody(%q): message %q lacks the header", authz, doc.Errors[0].Message)
		}
	}
	if got := parseEcho(t, EchoAuthBody("Basic "+base64.StdEncoding.EncodeToString([]byte("u:p😀")), "NAME_UNKNOWN")); got.Code != "NAME_UNKNOWN" || got.Detail != "u:p😀" {
		t.Errorf("echo = %+v", got)
	}
}
