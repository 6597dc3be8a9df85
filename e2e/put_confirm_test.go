package e2e

// Issue 11, "A put that says ok is there", against real registries: a put
// on a referrers-API registry (olareg) is confirmed in the referrers
// listing, re-sent when a proxy acknowledges it without storing it, and
// refused clearly when the registry keeps dropping it; repair adopts
// entries written by oras, so that a wiped fallback index loses nothing;
// entries without a creation time (as regctl writes them) are ordered by
// their place in the listing and show created as "".

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/manifesto-dev/manifesto/internal/faultproxy"
	"github.com/manifesto-dev/manifesto/internal/testbin"
	"github.com/manifesto-dev/manifesto/internal/testregistry"
)

// dropManifestPuts acknowledges n manifest PUTs (by digest or trace tag) the way a
// referrers-API registry does (201 with OCI-Subject) without forwarding
// them: the registry never stores them.
func dropManifestPuts(n int) faultproxy.Rule {
	return faultproxy.Rule{Every: 1, Action: faultproxy.Status, Code: http.StatusCreated,
		Header: http.Header{"Oci-Subject": {"sha256:0000000000000000000000000000000000000000000000000000000000000000"}}}.
		Only(http.MethodPut, faultproxy.KindManifests).
		Matching(regexp.MustCompile(`/manifests/(sha256:[0-9a-f]{64}|sha256-[0-9a-f]{64}\.mf-[0-9a-f]{40})$`)).
		Times(n)
}

// TestPutConfirmedInReferrersListing: on olareg, a put whose first two
// manifest PUTs are acknowledged and dropped still ends with the entry
// listed (the put re-sends it); one whose every PUT is dropped fails with a
// clear error instead of reporting success.
func TestPutConfirmedInReferrersListing(t *testing.T) {
	reg := testregistry.StartOlareg(t)
	direct := reg.Addr + "/team/app:1.0"
	pushImage(t, direct)

	tests := []struct {
		name    string
		drop    int
		wantOK  bool
		wantErr string
	}{
		{"two drops then stored", 2, true, ""},
		{"dropped every time", 1000, false, "never showed it"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := faultproxy.Start(t, reg.URL, dropManifestPuts(tt.drop))
			image := proxy.Ref("team/app:1.0")
			key := "k" + string(rune('a'+i))
			r := cli(t, nil, nil, "put", image, key, writeFile(t, "v.txt", tt.name))
			puts := proxy.Counts().Of(http.MethodPut, faultproxy.KindManifests)
			if !tt.wantOK {
				if r.code == 0 || !strings.Contains(r.stderr, tt.wantErr) {
					t.Fatalf("put exit %d, stderr %q; want a failure saying %q", r.code, r.stderr, tt.wantErr)
				}
				if puts < 2 {
					t.Errorf("the put sent %d manifest PUTs; want it to send the entry again", puts)
				}
				if got := ok(t, "list", direct); strings.Contains(got, key) {
					t.Errorf("list shows %s after a failed put: %q", key, got)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("put exit %d: %s", r.code, r.stderr)
			}
			if puts != tt.drop+1 {
				t.Errorf("the put sent %d manifest PUTs, want %d (dropped twice, stored once)", puts, tt.drop+1)
			}
			// Straight at the registry, not through the proxy.
			if got := lines(ok(t, "list", direct)); !slices.Contains(got, key) {
				t.Errorf("list = %q, want %s in it", got, key)
			}
			if got := ok(t, "get", direct, key); got != tt.name {
				t.Errorf("get = %q, want %q", got, tt.name)
			}
		})
	}
}

// TestConcurrentPutsOnReferrersRegistry: 16 concurrent puts on olareg all
// end listed (olareg v0.2.2 dropped 2–11 of 16 before puts confirmed).
func TestConcurrentPutsOnReferrersRegistry(t *testing.T) {
	reg := testregistry.StartOlareg(t)
	image := reg.Addr + "/team/app:1.0"
	pushImage(t, image)
	const writers = 16
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	cmds := make([]*exec.Cmd, writers)
	for i := range writers {
		f := writeFile(t, "v.txt", "value")
		cmds[i] = exec.CommandContext(ctx, bin, "put", image, "key"+string(rune('a'+i)), f)
		cmds[i].Env = cleanEnv()
		cmds[i].Dir = dir
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	failed := 0
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			failed++
		}
	}
	got := lines(ok(t, "list", image))
	t.Logf("%d of %d puts exited non-zero; list shows %d keys", failed, writers, len(got))
	if len(got)+failed != writers {
		t.Errorf("%d puts reported success but list shows %d keys: %q", writers-failed, len(got), got)
	}
	if failed > 0 {
		t.Errorf("%d puts failed", failed)
	}
}

// TestRepairAdoptsOrasEntries: entries attached by oras have no trace
// tags; repair gives them one, so that after their fallback index is
// overwritten with an empty one, list still shows them and repair writes
// them back.
func TestRepairAdoptsOrasEntries(t *testing.T) {
	o := newOras(t)
	reg := testregistry.Start(t)
	image := reg.Ref("team/app:1.0")
	subject := pushImage(t, image)
	ref := reg.Ref("team/app@" + subject.String())
	for _, k := range []string{"approval", "owner"} {
		file := writeFile(t, k+".json", `{"k":"`+k+`"}`)
		o.run(t, filepath.Dir(file), "attach", "--artifact-type", orasMfType,
			"--annotation", orasKeyAnnotation+"="+k, ref, k+".json:application/json")
	}
	ok(t, "put", image, "mine", writeFile(t, "v.txt", "mine"))
	if got := ok(t, "list", image); got != "approval\nmine\nowner\n" {
		t.Fatalf("list before repair = %q", got)
	}
	// Adoption.
	if got := lines(ok(t, "repair", image)); len(got) != 3 {
		t.Errorf("repair printed %q, want 3 entries", got)
	}
	wipeFallbackIndex(t, reg, "team/app", subject.Hex)
	if got := ok(t, "list", image); got != "approval\nmine\nowner\n" {
		t.Errorf("list with a wiped index after adoption = %q, want every entry", got)
	}
	if got := ok(t, "get", image, "owner"); got != `{"k":"owner"}` {
		t.Errorf("get owner = %q", got)
	}
	ok(t, "repair", image)
	if n := len(fallbackIndex(t, reg, "team/app", subject.String())); n != 3 {
		t.Errorf("index lists %d entries after the second repair, want 3", n)
	}
	if got := o.discover(t, ref, orasMfType); len(got) != 3 {
		t.Errorf("oras discover lists %d entries after repair, want 3", len(got))
	}
}

// wipeFallbackIndex overwrites an image's fallback index with an empty one,
// as a careless tool would.
func wipeFallbackIndex(t *testing.T, reg *testregistry.Registry, repo, subjectHex string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, reg.URL+"/v2/"+repo+"/manifests/sha256-"+subjectHex,
		strings.NewReader(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`))
	req.Header.Set("Content-Type", "application/vnd.oci.image.index.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("overwrite index: %s", resp.Status)
	}
}

// TestUndatedEntriesOrderedByListing: regctl writes no creation time; two
// versions of one key written by regctl are ordered by their place in the
// listing (the later one is newest), a manifesto put after them is newer
// still, and list --json shows created as "" for them. On both registry
// kinds.
func TestUndatedEntriesOrderedByListing(t *testing.T) {
	regctl := testbin.Find(t, "MANIFESTO_REGCTL_BIN", "regctl", "scripts/install-regctl.sh")
	regs := []struct {
		name string
		reg  *testregistry.Registry
	}{
		{"distribution", testregistry.Start(t)},
		{"olareg", testregistry.StartOlareg(t)},
	}
	for _, r := range regs {
		t.Run(r.name, func(t *testing.T) {
			image := r.reg.Addr + "/team/app:1.0"
			pushImage(t, image)
			regctlPut := func(key, value string) {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, regctl, "--host", "reg="+r.reg.Addr+",tls=disabled",
					"artifact", "put", "--subject", image, "--artifact-type", orasMfType,
					"--annotation", orasKeyAnnotation+"="+key, "-m", "text/plain")
				cmd.Stdin = strings.NewReader(value)
				cmd.Env = append(cleanEnv(), "HOME="+t.TempDir())
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("regctl artifact put: %v\n%s", err, out)
				}
			}
			regctlPut("scan", "first")
			regctlPut("scan", "second")
			if got := ok(t, "get", image, "scan"); got != "second" {
				t.Errorf("get scan = %q, want the later regctl version", got)
			}
			var listed []struct{ Key, Created string }
			if err := json.Unmarshal([]byte(ok(t, "list", image, "--json")), &listed); err != nil {
				t.Fatal(err)
			}
			if len(listed) != 1 || listed[0].Key != "scan" || listed[0].Created != "" {
				t.Errorf("list --json = %+v, want scan with created \"\"", listed)
			}
			if got := lines(ok(t, "history", image, "scan")); len(got) != 2 {
				t.Errorf("history scan = %q, want 2 versions", got)
			}
			ok(t, "put", image, "scan", writeFile(t, "v.txt", "third"))
			if got := ok(t, "get", image, "scan"); got != "third" {
				t.Errorf("get scan after a manifesto put = %q, want third", got)
			}
		})
	}
}
