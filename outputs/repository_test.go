package outputs

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/store"
)

const dg = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestSearchOutputs(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 29, 12, 0, 0, 5, time.UTC)
	images := []store.ImageKeys{
		{Digest: dg, Tags: []string{"latest", "v1"}, Keys: []store.Entry{{Key: "deployed", Digest: dg, Created: created}, {Key: "qa", Digest: dg, Created: created}}},
		{Digest: dg, Keys: []store.Entry{{Key: "qa", Digest: dg, Created: created}}},
	}
	r := steps.Result{Operation: steps.OpSearch, Images: images}
	var b bytes.Buffer
	if err := Text(&b, r); err != nil {
		t.Fatal(err)
	}
	if want := dg + " latest,v1 deployed,qa\n" + dg + " - qa\n"; b.String() != want {
		t.Errorf("text = %q, want %q", b.String(), want)
	}
	b.Reset()
	if err := JSON(&b, steps.Result{Operation: steps.OpSearch}); err != nil || b.String() != "[]\n" {
		t.Errorf("empty JSON = %q, %v", b.String(), err)
	}
	b.Reset()
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc []SearchImageJSON
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil || len(doc) != 2 || doc[1].Tags == nil || len(doc[0].Keys) != 2 ||
		doc[0].Keys[0].Created != "2026-11-29T12:00:00.000000005Z" {
		t.Errorf("JSON = %s (%v)", b.String(), err)
	}
	outs := map[string]string{}
	for _, o := range StepOutputs(r) {
		outs[o.Name] = o.Value
	}
	if outs["images"] != dg+","+dg || !strings.HasPrefix(outs["json"], "[{") {
		t.Errorf("step outputs = %v", outs)
	}

	// Anything the store should never have let through is refused, not
	// printed.
	for _, bad := range []string{"v1\n::error::x", "a,b", "a b", ""} {
		b.Reset()
		r := steps.Result{Operation: steps.OpSearch, Images: []store.ImageKeys{{Digest: dg, Tags: []string{bad}}}}
		if err := Text(&b, r); err == nil || b.Len() != 0 {
			t.Errorf("tag %q: printed %q, %v", bad, b.String(), err)
		}
	}
}

func TestMigrateText(t *testing.T) {
	t.Parallel()
	rep := &steps.MigrateReport{Legacy: dg, LegacyDeleted: true, Items: []steps.MigrateItem{
		{Image: dg, Type: "seccomp", Key: "seccomp", Action: steps.MigrateImported, Entry: dg},
		{Image: dg, Type: "QA", Key: "qa", Action: steps.MigrateUnchanged, Entry: dg},
		{Image: dg, Type: "x\n::error::forged\u2028y", Action: steps.MigrateSkipped, Reason: "type \"x\\n\" is not a valid key"},
		{Type: "t", Action: steps.MigrateSkipped, Reason: "image_digest \"bad\r\" is not a sha256 digest\r\n::warning::z"},
	}}
	var b bytes.Buffer
	if err := Text(&b, steps.Result{Operation: steps.OpMigrate, Migrate: rep}); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := []string{
		"imported " + dg + " seccomp " + dg,
		"unchanged " + dg + " qa " + dg + ` (type "QA")`,
		"skipped " + dg + ` "x\n::error::forged\u2028y": type "x\n" is not a valid key`,
		`skipped - "t": image_digest "bad " is not a sha256 digest ::warning::z`,
		"deleted _manifesto " + dg,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("text =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
