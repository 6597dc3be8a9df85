package outputs

import (
	"bytes"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/store"
)

// Output is one step output: a name and its value. The CI writers of this
// package (GitHubOutput, Dotenv, JSONLines, TektonResults) take a list of
// them, in the order they should be written.
type Output struct{ Name, Value string }

// StepOutputs is the standard output set of r, in this order:
//
//   - digest: the entry's digest (put, get);
//   - subject: the image digest the operation worked on;
//   - key: the KEY of the operation (put, get, history, delete);
//   - found: "true" or "false" (r.Found); always present;
//   - path: where get wrote the value, when it went to a file;
//   - value: the value get read, when r.Value is set (valid UTF-8 of at most
//     steps.MaxTextValue bytes; possibly "");
//   - media_type: the entry's media type (put, get), when known;
//   - created: the entry's write time (put, get), RFC 3339 in UTC with up to
//     nine fractional digits, as in JSON;
//   - passed: check: "true" when every requirement was met, else "false";
//   - failed: check: the keys whose requirement failed, comma-separated,
//     each once (possibly empty);
//   - keys: list: the keys, comma-separated, in the order of r.Entries;
//     delete: the deleted keys, comma-separated, each once;
//   - digests: history: every version's digest, comma-separated, newest
//     first; delete: the deleted entries' digests; repair: the re-indexed
//     entries' digests;
//   - images: search: the image digests found, comma-separated;
//   - copied, skipped: copy: the digests of the entries copied, and of
//     those the destination had, comma-separated, newest first;
//   - removed, kept: prune: the digests of the entries removed (on a dry
//     run: that would be), and of those kept;
//   - json: the JSON document of r (see JSON) as one line, without the
//     trailing newline.
//
// An output that does not apply to the operation, or has nothing to say for
// this result (no entry because get did not find the key, no subject because
// the image could not be opened, a JSON document JSON refuses to write), is
// left out; found is always present. keys and digests are present, possibly
// empty, for every operation they apply to.
func StepOutputs(r steps.Result) []Output {
	var outs []Output
	add := func(name, value string) { outs = append(outs, Output{Name: name, Value: value}) }

	if r.Entry != nil {
		add("digest", r.Entry.Digest)
	}
	if r.Subject != "" {
		add("subject", r.Subject)
	}
	key := r.Key
	if key == "" && r.Entry != nil {
		key = r.Entry.Key
	}
	if key != "" {
		add("key", key)
	}
	add("found", strconv.FormatBool(r.Found))
	if r.Operation == steps.OpGet && r.Path != "" {
		add("path", r.Path)
	}
	if r.Value != nil {
		add("value", string(r.Value))
	}
	if r.Entry != nil && r.Entry.MediaType != "" {
		add("media_type", r.Entry.MediaType)
	}
	if r.Entry != nil && !r.Entry.Created.IsZero() {
		add("created", entryJSON(*r.Entry).Created)
	}
	if r.Operation == steps.OpGet || r.Operation == steps.OpList || r.Operation == steps.OpHistory {
		add("verified", strconv.FormatBool(r.Verified))
	}
	if r.Signer != "" {
		add("signer", r.Signer)
	}
	if r.Operation == steps.OpCheck && r.Check != nil {
		add("passed", strconv.FormatBool(r.Check.Passed))
		add("failed", strings.Join(r.Check.Failed(), ","))
	}
	switch r.Operation {
	case steps.OpList, steps.OpDelete:
		add("keys", joinKeys(r.Entries))
	}
	switch r.Operation {
	case steps.OpHistory, steps.OpDelete, steps.OpRepair:
		add("digests", joinDigests(r.Entries))
	case steps.OpSearch:
		add("images", joinImages(r.Images))
	}
	if r.Operation == steps.OpCopy && r.Copy != nil {
		add("copied", joinDigests(r.Copy.Copied))
		add("skipped", joinDigests(r.Copy.Skipped))
	}
	if r.Operation == steps.OpPrune && r.Prune != nil {
		add("removed", joinDigests(r.Prune.Removed))
		add("kept", joinDigests(r.Prune.Kept))
	}
	var doc bytes.Buffer
	if JSON(&doc, r) == nil {
		add("json", strings.TrimSuffix(doc.String(), "\n"))
	}
	return outs
}

// joinKeys is the keys of es, comma-separated, each once, in order of first
// appearance.
func joinKeys(es []store.Entry) string {
	seen := make(map[string]bool, len(es))
	keys := make([]string, 0, len(es))
	for _, e := range es {
		if !seen[e.Key] {
			seen[e.Key] = true
			keys = append(keys, e.Key)
		}
	}
	return strings.Join(keys, ",")
}

// joinDigests is the digests of es, comma-separated, in order.
func joinDigests(es []store.Entry) string {
	ds := make([]string, 0, len(es))
	for _, e := range es {
		ds = append(ds, e.Digest)
	}
	return strings.Join(ds, ",")
}

// Prefixed returns outs renamed to "<id>_<name>", for the outputs of a steps
// file entry that has an id. outs is not modified. An empty id returns a copy
// of outs unchanged.
func Prefixed(id string, outs []Output) []Output {
	out := make([]Output, len(outs))
	for i, o := range outs {
		if id != "" {
			o.Name = id + "_" + o.Name
		}
		out[i] = o
	}
	return out
}

// outputName is a step output name GitHub Actions, GitLab CI/CD Functions
// and expressions such as steps.<id>.outputs.<name> accept.
var outputName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// importance ranks the standard outputs for formats with tight limits
// (GitLab dotenv: 20 variables, 5 KB; Tekton: 4 KB): what a later job needs
// most comes first, so that what a limit drops is the least useful (json
// repeats everything else).
var importance = []string{"passed", "failed", "digest", "found", "path", "verified", "keys", "digests", "images", "copied", "removed", "skipped", "kept", "key", "signer", "value", "media_type", "subject", "created", "json"}

// Names returns the name of every standard output StepOutputs may write
// (before any id prefix), for checks that must cover all of them (no output
// variable may be read back as an input).
func Names() []string { return append([]string(nil), importance...) }

func rank(name string) int {
	for i, base := range importance {
		if name == base || strings.HasSuffix(name, "_"+base) {
			return i
		}
	}
	return len(importance)
}

// ByImportance returns outs ordered by the importance of their base names
// (prefixed or not), keeping the given order among equals.
func ByImportance(outs []Output) []Output {
	sorted := append([]Output(nil), outs...)
	sort.SliceStable(sorted, func(i, j int) bool { return rank(sorted[i].Name) < rank(sorted[j].Name) })
	return sorted
}
