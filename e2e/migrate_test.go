package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/legacyfixture"
	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

// registries are the two kinds of real registry the repository-wide
// commands must work on: CNCF Distribution (no referrers API) and olareg
// (referrers API).
var registries = []struct {
	name  string
	start func(testing.TB) *testregistry.Registry
}{
	{"distribution", func(t testing.TB) *testregistry.Registry { return testregistry.Start(t) }},
	{"olareg", testregistry.StartOlareg},
}

// migrateItem is one line of migrate --json's items.
type migrateItem struct {
	Image, Tag, Type, Key, Value, Form, MediaType, Action, Reason, Entry string
}

type migrateDoc struct {
	Legacy        string
	ByTag         bool
	DryRun        bool
	Items         []migrateItem
	LegacyDeleted bool
}

func migrateJSON(t *testing.T, args ...string) migrateDoc {
	t.Helper()
	var doc migrateDoc
	out := ok(t, append([]string{"migrate", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("migrate --json: %v: %q", err, out)
	}
	return doc
}

// byType indexes items by image and type.
func byType(items []migrateItem) map[string]migrateItem {
	m := map[string]migrateItem{}
	for _, it := range items {
		m[it.Image+" "+it.Type] = it
	}
	return m
}

// TestMigrate imports an index written exactly as the original tool wrote
// it: values as blobs uploaded by digest, one value as an image (its
// earliest form), a value whose blob is missing, an image that is gone, a
// type that is not a key, and a type that would forge a log line.
func TestMigrate(t *testing.T) {
	for _, kind := range registries {
		t.Run(kind.name, func(t *testing.T) {
			reg := kind.start(t)
			repo := reg.Ref("team/app")
			imgA := pushImage(t, repo+":v1").String()
			imgB := pushImage(t, repo+":v2").String()
			gone := legacyfixture.Digest([]byte("an image deleted long ago"))
			old := legacyfixture.New(t, reg.Addr, "team/app")
			seccomp := []byte(`{"defaultAction":"SCMP_ACT_ERRNO"}`)
			approvals := []byte("approved by QA on 2017-09-20\n")
			contact := []byte(`{"owner":"team-a"}`)
			sd, ad := old.UploadBlob(seccomp), old.UploadBlob(approvals)
			cd := old.PushDataImage("", contact) // the earliest form: an image
			missing := legacyfixture.Digest([]byte("never uploaded"))
			old.PushDataImage("_manifesto", legacyfixture.Index(
				legacyfixture.Image{ImageDigest: imgA, Manifesto: []legacyfixture.Value{
					{Type: "seccomp", Digest: sd}, {Type: "approvals", Digest: ad},
					{Type: "QA Approval", Digest: ad}, {Type: "evil\n::error::forged", Digest: ad}}},
				legacyfixture.Image{ImageDigest: imgB, Manifesto: []legacyfixture.Value{
					{Type: "contact", Digest: cd}, {Type: "docs", Digest: missing}}},
				legacyfixture.Image{ImageDigest: gone, Manifesto: []legacyfixture.Value{{Type: "seccomp", Digest: sd}}},
			))

			// A dry run reads everything and writes nothing.
			dry := migrateJSON(t, "--dry-run", repo)
			if !dry.DryRun || len(dry.Items) != 7 {
				t.Fatalf("dry run: %+v", dry)
			}
			for _, k := range []string{imgA + " seccomp", imgA + " approvals", imgB + " contact"} {
				if got := byType(dry.Items)[k]; got.Action != "would-import" {
					t.Errorf("dry run %s: %+v", k, got)
				}
			}
			if got := ok(t, "list", repo+":v1"); got != "" {
				t.Fatalf("the dry run wrote: list = %q", got)
			}

			// The real run, text: one line per value, the hostile type
			// escaped on its line.
			r := cli(t, nil, nil, "migrate", "--delete-legacy", repo)
			if r.code != 0 {
				t.Fatalf("migrate: %d %s", r.code, r.stderr)
			}
			out := lines(r.stdout)
			if len(out) != 7 {
				t.Fatalf("migrate printed %d lines, want 7: %q", len(out), r.stdout)
			}
			for _, l := range append(out, lines(r.stderr)...) {
				if strings.HasPrefix(l, "::") || strings.Contains(l, "\r") {
					t.Errorf("a line can be read as a workflow command: %q", l)
				}
			}
			if !strings.Contains(r.stdout, `"evil\n::error::forged": type "evil\n::error::forged" is not a valid key`) {
				t.Errorf("the invalid type is not reported escaped: %q", r.stdout)
			}
			if !strings.Contains(r.stderr, "left in place") {
				t.Errorf("--delete-legacy deleted while types could still be renamed: %q", r.stderr)
			}

			// Values read back, media types sniffed, the image form read.
			if got := ok(t, "get", repo+":v1", "seccomp"); got != string(seccomp) {
				t.Errorf("seccomp = %q", got)
			}
			if got := ok(t, "get", repo+":v1", "approvals"); got != string(approvals) {
				t.Errorf("approvals = %q", got)
			}
			if got := ok(t, "get", repo+":v2", "contact"); got != string(contact) {
				t.Errorf("contact (an image value) = %q", got)
			}
			var listed []struct{ Key, MediaType string }
			if err := json.Unmarshal([]byte(ok(t, "list", "--json", repo+":v1")), &listed); err != nil {
				t.Fatal(err)
			}
			if len(listed) != 2 || listed[0].Key != "approvals" || listed[0].MediaType != "application/octet-stream" ||
				listed[1].Key != "seccomp" || listed[1].MediaType != "application/json" {
				t.Errorf("list v1 = %+v", listed)
			}

			// Again, with the rename: what was imported is unchanged, the
			// renamed type is imported, and the legacy tag goes.
			doc := migrateJSON(t, "--rename", "QA Approval=qa-approval", repo)
			items := byType(doc.Items)
			want := map[string]struct{ action, form string }{
				imgA + " seccomp":     {"unchanged", "blob"},
				imgA + " approvals":   {"unchanged", "blob"},
				imgA + " QA Approval": {"imported", "blob"},
				imgB + " contact":     {"unchanged", "image"},
				imgB + " docs":        {"skipped", ""},
				gone + " seccomp":     {"skipped", ""},
			}
			for k, w := range want {
				if got := items[k]; got.Action != w.action || got.Form != w.form {
					t.Errorf("%s: %+v, want %s (%s)", k, got, w.action, w.form)
				}
			}
			if !strings.Contains(items[imgB+" docs"].Reason, "missing") || !strings.Contains(items[gone+" seccomp"].Reason, "no longer exists") {
				t.Errorf("reasons: %q, %q", items[imgB+" docs"].Reason, items[gone+" seccomp"].Reason)
			}
			if items[imgA+" evil\n::error::forged"].Action != "skipped" {
				t.Errorf("evil type: %+v", items[imgA+" evil\n::error::forged"])
			}
			if got := lines(ok(t, "history", repo+":v1", "seccomp")); len(got) != 1 {
				t.Errorf("a rerun added versions: %q", got)
			}
			if got := ok(t, "get", repo+":v1", "qa-approval"); got != string(approvals) {
				t.Errorf("qa-approval = %q", got)
			}

			// With every type that can be mapped mapped, --delete-legacy
			// removes the tag (a type with a line break cannot be).
			doc = migrateJSON(t, "--rename", "QA Approval=qa-approval", "--delete-legacy", repo)
			if !doc.LegacyDeleted {
				t.Fatalf("legacy tag kept: %+v", doc)
			}
			resp, err := http.Head(reg.URL + "/v2/team/app/manifests/_manifesto")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("_manifesto after --delete-legacy: %d", resp.StatusCode)
			}
			if r := cli(t, nil, nil, "migrate", repo); r.code != 3 {
				t.Errorf("migrate without _manifesto: exit %d, want 3: %s", r.code, r.stderr)
			}
		})
	}
}

// TestMigrateRefusals: a corrupt index fails with one line and writes
// nothing; the tag-keyed variant is resolved now and says so.
func TestMigrateRefusals(t *testing.T) {
	reg := testregistry.Start(t)

	t.Run("corrupt data", func(t *testing.T) {
		repo := reg.Ref("team/corrupt")
		pushImage(t, repo+":v1")
		old := legacyfixture.New(t, reg.Addr, "team/corrupt")
		old.PushDataImage("_manifesto", []byte(`{"images":[{"image_digest":`))
		r := cli(t, nil, nil, "migrate", repo)
		if r.code != 1 || len(lines(r.stderr)) != 1 || !strings.Contains(r.stderr, "not the original manifesto index") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("stdout %q", r.stdout)
		}
	})

	t.Run("not a data layer", func(t *testing.T) {
		repo := reg.Ref("team/nodata")
		old := legacyfixture.New(t, reg.Addr, "team/nodata")
		old.PushLayerImage("_manifesto", []byte("neither gzip nor tar"), nil)
		r := cli(t, nil, nil, "migrate", repo)
		if r.code != 1 || len(lines(r.stderr)) != 1 || !strings.Contains(r.stderr, "tar") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("tag-keyed variant", func(t *testing.T) {
		repo := reg.Ref("team/tags")
		img := pushImage(t, repo+":v1.0").String()
		old := legacyfixture.New(t, reg.Addr, "team/tags")
		sd := old.UploadBlob([]byte(`{"profile":1}`))
		old.PushDataImage("_manifesto", legacyfixture.TagIndex(
			legacyfixture.Tag{Tag: "team/tags:v1.0", Manifest: []legacyfixture.Value{{Type: "seccomp", Digest: sd}}},
			legacyfixture.Tag{Tag: "other/repo:v1.0", Manifest: []legacyfixture.Value{{Type: "seccomp", Digest: sd}}},
			legacyfixture.Tag{Tag: "team/tags:v9", Manifest: []legacyfixture.Value{{Type: "seccomp", Digest: sd}}},
		))
		r := cli(t, nil, nil, "migrate", "--json", repo)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, `names tag "team/tags:v1.0", not a digest: its values go to `+img) {
			t.Errorf("the resolution is not said: %q", r.stderr)
		}
		var doc migrateDoc
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatal(err)
		}
		if !doc.ByTag || len(doc.Items) != 3 || doc.Items[0].Action != "imported" || doc.Items[0].Image != img ||
			!strings.Contains(doc.Items[1].Reason, "another repository") || !strings.Contains(doc.Items[2].Reason, "no longer exists") {
			t.Errorf("items = %+v", doc.Items)
		}
		if got := ok(t, "get", repo+":v1.0", "seccomp"); got != `{"profile":1}` {
			t.Errorf("get = %q", got)
		}
	})

	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{
			{"migrate", reg.Ref("team/app:v1")},
			{"migrate", "oci:" + t.TempDir()},
			{"migrate", "--rename", "x", reg.Ref("team/app")},
			{"migrate", "--rename", "T=Not A Key", reg.Ref("team/app")},
			{"migrate", "--dry-run", "--delete-legacy", reg.Ref("team/app")},
			{"search", "--jobs", "0", reg.Ref("team/app")},
			{"search", "--key", "Bad Key", reg.Ref("team/app")},
		} {
			if r := cli(t, nil, nil, args...); r.code != 2 || len(lines(r.stderr)) != 1 {
				t.Errorf("%q: exit %d, stderr %q", args, r.code, r.stderr)
			}
		}
	})
}

// TestSearch: one line per image with metadata, tags then keys; --key
// keeps images carrying all of them; --json; the step's outputs.
func TestSearch(t *testing.T) {
	for _, kind := range registries {
		t.Run(kind.name, func(t *testing.T) {
			reg := kind.start(t)
			repo := reg.Ref("team/app")
			a := pushImage(t, repo+":v1").String()
			ok(t, "put", repo+":v1", "qa-passed", writeFile(t, "qa.json", `{"ok":true}`))
			// A second tag on the same image.
			ok(t, "put", repo+":v1", "deployed", writeFile(t, "d.txt", "prod"))
			b := pushImage(t, repo+":v2").String()
			ok(t, "put", repo+":v2", "qa-passed", writeFile(t, "qa.json", `{"ok":false}`))
			pushImage(t, repo+":v3") // no metadata: not listed
			tagAgain(t, reg, "team/app", "v1", "latest")

			got := lines(ok(t, "search", repo))
			want := []string{a + " latest,v1 deployed,qa-passed", b + " v2 qa-passed"}
			if a > b {
				want[0], want[1] = want[1], want[0]
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("search =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if got := ok(t, "search", "--key", "qa-passed", "--key", "deployed", repo); got != a+" latest,v1 deployed,qa-passed\n" {
				t.Errorf("search --key --key = %q", got)
			}
			if got := ok(t, "search", "--key", "nothing", repo); got != "" {
				t.Errorf("search --key nothing = %q", got)
			}

			var doc []struct {
				Digest string
				Tags   []string
				Keys   []struct{ Key, Digest, Created string }
			}
			if err := json.Unmarshal([]byte(ok(t, "search", "--json", "--jobs", "2", repo)), &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc) != 2 {
				t.Fatalf("search --json = %+v", doc)
			}
			for _, im := range doc {
				for _, k := range im.Keys {
					if !strings.HasPrefix(k.Digest, "sha256:") || k.Created == "" {
						t.Errorf("key %+v", k)
					}
				}
			}

			// The step: images output.
			ws := t.TempDir()
			outFile := filepath.Join(t.TempDir(), "outputs.jsonl")
			r := step(t, ws, "GITLAB_CI=true", "CI_PROJECT_DIR="+ws, "MANIFESTO_OPERATION=search", "MANIFESTO_IMAGE="+repo,
				"MANIFESTO_KEY=deployed", "MANIFESTO_OUTPUTS_FORMAT=jsonl", "MANIFESTO_OUTPUTS_FILE="+outFile)
			if r.code != 0 {
				t.Fatalf("step: exit %d: %s", r.code, r.stderr)
			}
			outs := map[string]string{}
			data, _ := os.ReadFile(outFile)
			for _, l := range lines(string(data)) {
				var kv struct{ Name, Value string }
				if err := json.Unmarshal([]byte(l), &kv); err != nil {
					t.Fatal(err)
				}
				outs[kv.Name] = kv.Value
			}
			if outs["images"] != a || !strings.Contains(outs["json"], `"digest":"`+a+`"`) {
				t.Errorf("step outputs = %v", outs)
			}
		})
	}
}

// tagAgain tags the manifest under tag from as to, as `crane tag` does.
func tagAgain(t *testing.T, reg *testregistry.Registry, repo, from, to string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, reg.URL+"/v2/"+repo+"/manifests/"+from, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	if _, err := io.Copy(&body, resp.Body); err != nil {
		t.Fatal(err)
	}
	put, _ := http.NewRequest(http.MethodPut, reg.URL+"/v2/"+repo+"/manifests/"+to, strings.NewReader(body.String()))
	put.Header.Set("Content-Type", resp.Header.Get("Content-Type"))
	presp, err := http.DefaultClient.Do(put)
	if err != nil {
		t.Fatal(err)
	}
	presp.Body.Close()
	if presp.StatusCode != http.StatusCreated {
		t.Fatalf("tag %s: %d", to, presp.StatusCode)
	}
}

// TestMigrateSigned: migrate --trust sigstore signs every entry it imports,
// and a verified get returns them.
func TestMigrateSigned(t *testing.T) {
	reg := testregistry.Start(t)
	repo := reg.Ref("team/signed")
	img := pushImage(t, repo+":v1").String()
	old := legacyfixture.New(t, reg.Addr, "team/signed")
	v := old.UploadBlob([]byte(`{"approved":true}`))
	old.PushDataImage("_manifesto", legacyfixture.Index(legacyfixture.Image{ImageDigest: img,
		Manifesto: []legacyfixture.Value{{Type: "approval", Digest: v}}}))
	key, pub := plainKeyPair(t, t.TempDir())

	var doc struct {
		Items []struct{ Action, Signer string }
	}
	out := ok(t, "migrate", "--json", "--trust", "sigstore", "--sigstore-key", key, repo)
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Items) != 1 || doc.Items[0].Action != "imported" || !strings.HasPrefix(doc.Items[0].Signer, "sha256:") {
		t.Fatalf("migrate --trust = %s", out)
	}
	if got := ok(t, "get", "--trust", "sigstore", "--public-key", pub, repo+":v1", "approval"); got != `{"approved":true}` {
		t.Errorf("verified get = %q", got)
	}
}
