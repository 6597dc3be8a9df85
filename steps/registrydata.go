package steps

import (
	"fmt"

	"github.com/manifesto-dev/manifesto/internal/mediatype"
	"github.com/manifesto-dev/manifesto/store"
)

// checkRegistryData applies put's media type rule (package mediatype) to the
// entries of r, which come from the registry's manifests and annotations:
// anyone who can push can write any string there. An entry whose media type
// breaks the rule gets "" (unknown, which every output already handles:
// no media_type output, "mediaType": "" in JSON) and r a warning, so that
// no output ever carries it raw, however it is quoted or substituted
// downstream (a dotenv file sourced by a shell, a Tekton result pasted into
// a script).
//
// The other registry strings that reach outputs are checked by the store:
// keys (store.CheckKey), digests (parsed), created and size (parsed).
func checkRegistryData(r *Result) {
	if r.Entry != nil {
		checkMediaType(r, r.Entry.Digest, r.Entry.Key, &r.Entry.MediaType)
	}
	lists := [][]store.Entry{r.Entries}
	if r.Copy != nil {
		lists = append(lists, r.Copy.Copied, r.Copy.Skipped)
	}
	if r.Prune != nil {
		lists = append(lists, r.Prune.Removed, r.Prune.Kept)
	}
	for _, es := range lists {
		for i := range es {
			e := &es[i]
			checkMediaType(r, e.Digest, e.Key, &e.MediaType)
		}
	}
}

// checkMediaType is the rule for one media type read from the registry
// (entry digest of key): kept when it passes put's rule, else made ""
// with a warning on r.
func checkMediaType(r *Result, digest, key string, mt *string) {
	if *mt == "" || mediatype.Valid(*mt) {
		return
	}
	r.Warnings = append(r.Warnings, fmt.Sprintf("entry %s of key %q has an invalid media type %s in the registry; reported as unknown",
		digest, key, quoteShort(*mt)))
	*mt = ""
}

// quoteShort is s Go-quoted (control characters and invalid UTF-8
// escaped), cut to a length a warning can show.
func quoteShort(s string) string {
	const max = 80
	if len(s) > max {
		return fmt.Sprintf("%q…", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
