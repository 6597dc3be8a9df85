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

func TestTransferOutputs(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := store.Entry{Key: "sbom", Digest: "sha256:" + strings.Repeat("a", 64), Size: 3, Created: at}
	b := store.Entry{Key: "scan", Digest: "sha256:" + strings.Repeat("b", 64), Size: -1, Created: at}
	copied := steps.Result{Operation: steps.OpCopy, Subject: "sha256:" + strings.Repeat("c", 64),
		Copy: &steps.CopyResult{Destination: "oci:export", ImageCopied: true, Copied: []store.Entry{a}, Skipped: []store.Entry{b}, Signatures: 1}}
	nothing := steps.Result{Operation: steps.OpCopy, Copy: &steps.CopyResult{Destination: "reg/app:1", Skipped: []store.Entry{a, b}}}
	pruned := steps.Result{Operation: steps.OpPrune, Prune: &steps.PruneResult{Started: at, Removed: []store.Entry{b}, Kept: []store.Entry{a}, Signatures: 2}}
	dry := steps.Result{Operation: steps.OpPrune, Prune: &steps.PruneResult{Started: at, DryRun: true, Removed: []store.Entry{b}}}
	none := steps.Result{Operation: steps.OpPrune, Prune: &steps.PruneResult{Started: at, Kept: []store.Entry{a}}}

	for _, tc := range []struct {
		name string
		r    steps.Result
		text []string
		outs map[string]string
	}{
		{"copy", copied, []string{"copied image sha256:ccc", "copied sbom " + a.Digest, "copied 1 entry and 1 signature; 1 already there"},
			map[string]string{"copied": a.Digest, "skipped": b.Digest}},
		{"copy nothing", nothing, []string{"nothing to copy: reg/app:1 has the image and all 2 entries"},
			map[string]string{"copied": "", "skipped": a.Digest + "," + b.Digest}},
		{"prune", pruned, []string{"removed scan " + b.Digest, "removed 1 entry and 2 signatures, kept 1"},
			map[string]string{"removed": b.Digest, "kept": a.Digest}},
		{"dry run", dry, []string{"would remove scan " + b.Digest, "dry run: would remove 1 entry, keep 0"},
			map[string]string{"removed": b.Digest, "kept": ""}},
		{"prune nothing", none, []string{"nothing to prune: kept 1 entry"}, map[string]string{"removed": "", "kept": a.Digest}},
	} {
		var buf bytes.Buffer
		if err := Text(&buf, tc.r); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, want := range tc.text {
			if !strings.Contains(buf.String(), want) {
				t.Errorf("%s: text %q lacks %q", tc.name, buf.String(), want)
			}
		}
		got := map[string]string{}
		for _, o := range StepOutputs(tc.r) {
			got[o.Name] = o.Value
		}
		for k, v := range tc.outs {
			if got[k] != v {
				t.Errorf("%s: output %s = %q, want %q", tc.name, k, got[k], v)
			}
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(got["json"]), &doc); err != nil {
			t.Errorf("%s: json output %q: %v", tc.name, got["json"], err)
		}
	}
	var buf bytes.Buffer
	if err := JSON(&buf, copied); err != nil || !strings.Contains(buf.String(), `"imageCopied":true`) || !strings.Contains(buf.String(), `"skipped":[{"key":"scan"`) {
		t.Errorf("copy JSON = %s, %v", buf.String(), err)
	}
	buf.Reset()
	if err := JSON(&buf, none); err != nil || !strings.Contains(buf.String(), `"removed":[]`) || !strings.Contains(buf.String(), `"started":"2026-01-02T03:04:05Z"`) {
		t.Errorf("prune JSON = %s, %v", buf.String(), err)
	}
	// A result without its part is an error, and writes nothing.
	buf.Reset()
	if err := Text(&buf, steps.Result{Operation: steps.OpPrune}); err == nil || buf.Len() != 0 {
		t.Errorf("prune without a result: %v, %q", err, buf.String())
	}
}
