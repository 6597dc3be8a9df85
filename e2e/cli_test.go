package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

// TestRoundTrip walks every command against the real registry.
func TestRoundTrip(t *testing.T) {
	reg := testregistry.Start(t)
	image := reg.Ref("team/app:1.0")
	subject := pushImage(t, image)

	d1 := strings.TrimSpace(ok(t, "put", image, "test-results", writeFile(t, "results.json", `{"passed":1}`)))
	if !strings.HasPrefix(d1, "sha256:") || len(d1) != 71 {
		t.Fatalf("put printed %q, want a digest", d1)
	}
	// From stdin, with an explicit media type.
	r := cli(t, strings.NewReader("Owner: team-a\n"), nil, "put", image, "owner", "-", "--media-type", "text/plain")
	if r.code != 0 {
		t.Fatalf("put from stdin: %d %s", r.code, r.stderr)
	}
	d2 := strings.TrimSpace(ok(t, "put", image, "test-results", writeFile(t, "results.json", `{"passed":2}`)))

	if got := ok(t, "list", image); got != "owner\ntest-results\n" {
		t.Errorf("list = %q", got)
	}
	if got := ok(t, "get", image, "test-results"); got != `{"passed":2}` {
		t.Errorf("get = %q", got)
	}
	if got := ok(t, "get", image, "owner"); got != "Owner: team-a\n" {
		t.Errorf("get stdin value = %q", got)
	}
	if got := lines(ok(t, "history", image, "test-results")); len(got) != 2 || got[0] != d2 || got[1] != d1 {
		t.Errorf("history = %q, want [%s %s]", got, d2, d1)
	}
	// By digest: the image pinned, the old version selected.
	pinned := reg.Ref("team/app@" + subject.String())
	if got := ok(t, "get", pinned, "test-results", "--digest", d1); got != `{"passed":1}` {
		t.Errorf("get --digest = %q", got)
	}

	// get -o writes the file and, with --json, describes it.
	out := filepath.Join(t.TempDir(), "v.json")
	var meta struct {
		Key, Digest, MediaType, Subject, Path string
		Size                                  int64
	}
	if err := json.Unmarshal([]byte(ok(t, "get", image, "test-results", "-o", out, "--json")), &meta); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != `{"passed":2}` {
		t.Errorf("get -o wrote %q", b)
	}
	if meta.Key != "test-results" || meta.Digest != d2 || meta.MediaType != "application/json" || meta.Size != 12 ||
		meta.Subject != subject.String() || meta.Path != out {
		t.Errorf("get --json = %+v", meta)
	}

	var listed []struct {
		Key, Digest, MediaType, Created string
		Size                            int64
	}
	if err := json.Unmarshal([]byte(ok(t, "list", image, "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 2 || listed[1].Key != "test-results" || listed[1].Digest != d2 || listed[1].Size != 12 ||
		listed[0].MediaType != "text/plain" || listed[0].Created == "" {
		t.Errorf("list --json = %+v", listed)
	}

	// Delete one version, then the key.
	if got := strings.TrimSpace(ok(t, "delete", image, "test-results", "--digest", d2)); got != d2 {
		t.Errorf("delete --digest printed %q", got)
	}
	if got := ok(t, "get", image, "test-results"); got != `{"passed":1}` {
		t.Errorf("after deleting the newest, get = %q", got)
	}
	ok(t, "delete", image, "test-results")
	if got := ok(t, "list", image); got != "owner\n" {
		t.Errorf("after delete, list = %q", got)
	}
	// The fallback index no longer lists deleted entries (other tools
	// read it).
	idx := fallbackIndex(t, reg, "team/app", subject.String())
	if len(idx) != 1 {
		t.Errorf("fallback index lists %d entries after delete, want 1", len(idx))
	}
}

// TestRepair: an index damaged by another tool is rebuilt from the traces.
func TestRepair(t *testing.T) {
	reg := testregistry.Start(t)
	image := reg.Ref("team/app:1.0")
	subject := pushImage(t, image)
	for _, k := range []string{"a", "b", "c"} {
		ok(t, "put", image, k, writeFile(t, "v.txt", k))
	}
	// Another tool overwrites the fallback index with an empty one.
	tag := "sha256-" + subject.Hex
	req, _ := http.NewRequest(http.MethodPut, reg.URL+"/v2/team/app/manifests/"+tag,
		strings.NewReader(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`))
	req.Header.Set("Content-Type", "application/vnd.oci.image.index.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("overwrite index: %v %v", resp, err)
	}
	resp.Body.Close()
	// Manifesto still finds every entry through the traces...
	if got := ok(t, "list", image); got != "a\nb\nc\n" {
		t.Errorf("list with a wiped index = %q", got)
	}
	// ...and repair puts them back for other tools.
	if got := lines(ok(t, "repair", image)); len(got) != 3 {
		t.Errorf("repair printed %q", got)
	}
	if n := len(fallbackIndex(t, reg, "team/app", subject.String())); n != 3 {
		t.Errorf("index lists %d entries after repair, want 3", n)
	}
}

// fallbackIndex reads the fallback tag index straight from the registry.
func fallbackIndex(t *testing.T, reg *testregistry.Registry, repo, subject string) []map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, reg.URL+"/v2/"+repo+"/manifests/"+strings.Replace(subject, ":", "-", 1), nil)
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	var idx struct {
		Manifests []map[string]any `json:"manifests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil {
		t.Fatal(err)
	}
	return idx.Manifests
}

// TestErrors: every bad input gets one line on stderr and its exit code.
func TestErrors(t *testing.T) {
	reg := testregistry.Start(t)
	image := reg.Ref("team/app:1.0")
	pushImage(t, image)
	ok(t, "put", image, "present", writeFile(t, "v.txt", "x"))
	dir := t.TempDir()
	file := writeFile(t, "v.txt", "x")

	// A port nothing listens on.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()

	// A registry that refuses every credential.
	deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer deny.Close()
	denied := strings.TrimPrefix(deny.URL, "http://") + "/team/app:1.0"

	cases := []struct {
		name string
		args []string
		code int
		msg  string // part of the message
	}{
		{"bad key", []string{"put", image, "Bad_Key", file}, 2, "key"},
		{"malformed image", []string{"list", "UPPER/Case:tag:x"}, 2, "image"},
		{"missing file", []string{"put", image, "k", filepath.Join(dir, "nope.json")}, 2, "nope.json"},
		{"directory as file", []string{"put", image, "k", dir}, 2, dir},
		{"unknown command", []string{"frobnicate"}, 2, "frobnicate"},
		{"image not found", []string{"list", reg.Ref("team/nothing:1.0")}, 3, "not found"},
		{"tag not found", []string{"get", reg.Ref("team/app:2.0"), "present"}, 3, "not found"},
		{"key not found", []string{"get", image, "absent"}, 3, "absent"},
		{"history of absent key", []string{"history", image, "absent"}, 3, "absent"},
		{"delete absent key", []string{"delete", image, "absent"}, 3, "absent"},
		{"version not found", []string{"get", image, "present", "--digest", "sha256:" + strings.Repeat("ab", 32)}, 3, "version"},
		{"registry unreachable", []string{"list", closed + "/team/app:1.0"}, 1, closed},
		{"unauthorized", []string{"list", denied, "--username", "u", "--password", "s3cret-pw"}, 4, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, nil, nil, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", r.code, tc.code, r.stderr)
			}
			if got := lines(r.stderr); len(got) != 1 || !strings.HasPrefix(got[0], "manifesto: ") || !strings.Contains(got[0], tc.msg) {
				t.Errorf("stderr = %q, want one line mentioning %q", r.stderr, tc.msg)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			if strings.Contains(r.stderr, "s3cret-pw") {
				t.Errorf("password leaked: %s", r.stderr)
			}
		})
	}

	t.Run("failed get leaves no file", func(t *testing.T) {
		out := filepath.Join(dir, "out.json")
		if r := cli(t, nil, nil, "get", image, "absent", "-o", out); r.code != 3 {
			t.Fatalf("exit %d", r.code)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 0 {
			t.Errorf("left behind: %v", entries)
		}
	})
}
