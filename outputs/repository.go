package outputs

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/store"
)

// SearchImageJSON is one image of search's JSON output. Its fields are a
// public contract.
type SearchImageJSON struct {
	// Digest is the image digest.
	Digest string `json:"digest"`
	// Tags are the tags naming it, sorted; [] when none.
	Tags []string `json:"tags"`
	// Keys is the newest entry of each key, sorted by key.
	Keys []SearchKeyJSON `json:"keys"`
}

// SearchKeyJSON is one key of an image in search's JSON output.
type SearchKeyJSON struct {
	Key string `json:"key"`
	// Digest is the newest entry's digest.
	Digest string `json:"digest"`
	// Created is its write time, as in EntryJSON.
	Created string `json:"created"`
}

// searchJSON is search's document: [] when nothing matched.
func searchJSON(images []store.ImageKeys) []SearchImageJSON {
	out := make([]SearchImageJSON, 0, len(images))
	for _, im := range images {
		j := SearchImageJSON{Digest: im.Digest, Tags: append([]string{}, im.Tags...), Keys: []SearchKeyJSON{}}
		for _, e := range im.Keys {
			j.Keys = append(j.Keys, SearchKeyJSON{Key: e.Key, Digest: e.Digest, Created: entryJSON(e).Created})
		}
		out = append(out, j)
	}
	return out
}

// searchText writes one line per image, "DIGEST TAGS KEYS": tags and keys
// comma-separated, "-" for no tags. Tags, keys and digests come from the
// registry: each must be printable as it is (the store keeps only valid
// tags, keys and digests), or nothing is written.
func searchText(w io.Writer, images []store.ImageKeys) error {
	var b strings.Builder
	for _, im := range images {
		items := append([]string{im.Digest}, im.Tags...)
		keys := make([]string, 0, len(im.Keys))
		for _, e := range im.Keys {
			keys = append(keys, e.Key)
		}
		items = append(items, keys...)
		for _, s := range items {
			if !printable(s) || strings.ContainsAny(s, ", ") {
				return fmt.Errorf("outputs: search: %q cannot be printed as part of a line", s)
			}
		}
		tags := "-"
		if len(im.Tags) > 0 {
			tags = strings.Join(im.Tags, ",")
		}
		fmt.Fprintf(&b, "%s %s %s\n", im.Digest, tags, strings.Join(keys, ","))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// MigrateJSON is migrate's JSON output. Its fields are a public contract.
type MigrateJSON struct {
	// Legacy is the digest of the _manifesto image read.
	Legacy string `json:"legacy"`
	// ByTag: the index named images by tag; each was resolved now.
	ByTag  bool `json:"byTag"`
	DryRun bool `json:"dryRun"`
	// Items: one per (image, type) of the index, in its order.
	Items []steps.MigrateItem `json:"items"`
	// LegacyDeleted: --delete-legacy removed the _manifesto tag.
	LegacyDeleted bool `json:"legacyDeleted"`
}

func migrateJSON(r *steps.MigrateReport) MigrateJSON {
	if r == nil {
		return MigrateJSON{Items: []steps.MigrateItem{}}
	}
	doc := MigrateJSON{Legacy: r.Legacy, ByTag: r.ByTag, DryRun: r.DryRun, Items: r.Items, LegacyDeleted: r.LegacyDeleted}
	if doc.Items == nil {
		doc.Items = []steps.MigrateItem{}
	}
	return doc
}

// migrateText writes one line per value: ACTION IMAGE KEY ENTRY, or for a
// skipped value "skipped IMAGE TYPE: REASON". Types and reasons quote the
// registry's index: every line goes through redactedLine (the type Go-
// quoted), so none can forge another.
func migrateText(w io.Writer, r *steps.MigrateReport) error {
	if r == nil {
		return fmt.Errorf("outputs: migrate result has no report")
	}
	var b strings.Builder
	for _, it := range r.Items {
		image := it.Image
		if image == "" {
			image = "-"
		}
		var line string
		switch it.Action {
		case steps.MigrateSkipped:
			line = fmt.Sprintf("%s %s %s: %s", it.Action, image, strconv.Quote(it.Type), it.Reason)
		default:
			line = fmt.Sprintf("%s %s %s", it.Action, image, it.Key)
			if it.Entry != "" {
				line += " " + it.Entry
			}
			if it.Type != it.Key {
				line += " (type " + strconv.Quote(it.Type) + ")"
			}
		}
		b.WriteString(redactedLine(nil, line, MaxMessageLen))
		b.WriteByte('\n')
	}
	if r.LegacyDeleted {
		b.WriteString(redactedLine(nil, "deleted "+store.LegacyTag+" "+r.Legacy, MaxMessageLen) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// joinImages is search's images output: the digests, comma-separated.
func joinImages(images []store.ImageKeys) string {
	ds := make([]string, 0, len(images))
	for _, im := range images {
		ds = append(ds, im.Digest)
	}
	return strings.Join(ds, ",")
}

// NewCount returns the progress report of an operation made of many
// lookups (steps.Env.Count) on w: on a terminal one line redrawn in place
// ("label 120/400"), at most every 100 ms, ended with a newline at the
// last; elsewhere a plain line every 5 s and one at the end. Reports of
// fewer than 20 lookups in all print nothing. The label goes through
// redactedLine.
func NewCount(w io.Writer, terminal bool) func(label string, done, total int) {
	var mu sync.Mutex
	var last time.Time
	every := plainEvery
	if terminal {
		every = terminalEvery
	}
	return func(label string, done, total int) {
		if total < 20 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		end := done >= total
		if !end && now.Sub(last) < every {
			return
		}
		last = now
		line := fmt.Sprintf("%s: %d/%d lookups", labelLine(nil, label, maxLabelPlain), done, total)
		switch {
		case terminal && end:
			io.WriteString(w, "\r"+line+"\n")
		case terminal:
			io.WriteString(w, "\r"+line)
		default:
			io.WriteString(w, line+"\n")
		}
	}
}
