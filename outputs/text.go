package outputs

import (
	"fmt"
	"io"
	"strings"

	"github.com/manifesto-dev/manifesto/steps"
)

// Text writes r for people and scripts, one item per line:
//
//   - put: the new entry's digest alone (so d=$(manifesto put ...) works);
//   - get: nothing (see below);
//   - list: one key per line, in the order of r.Entries;
//   - history: one entry digest per line, in the order of r.Entries (newest
//     first);
//   - delete: one deleted entry digest per line;
//   - repair: one re-indexed entry digest per line;
//   - trust init: the root key ID readers pin;
//   - check: a table of the requirements, ✓ or ✗, and why (checkText);
//   - search: one line per image, digest, tags and keys (searchText);
//   - migrate: one line per value and what was done with it (migrateText).
//   - copy, prune: a line per entry copied or removed and a summary
//     (transferText).
//
// Warnings are not written here; see Warnings. An unknown operation, or a put
// without an entry, is an error and writes nothing.
//
// Every item is printed as is, for scripts, so an item that cannot be is an
// error and nothing is written: one that is empty, has a control character,
// line separator or surrounding white space, or starts with "::" (which the
// GitHub runner would read as a workflow command). Keys, digests and key IDs
// never do; only a broken registry or store could hand one over.
func Text(w io.Writer, r steps.Result) error {
	var items []string
	switch r.Operation {
	case steps.OpPut:
		if r.Entry == nil {
			return fmt.Errorf("outputs: put result has no entry")
		}
		items = append(items, r.Entry.Digest)
	case steps.OpGet:
		// get prints nothing on purpose: either the value itself went to
		// stdout (r.Path == "") and anything more would corrupt it, or the
		// value went to a file and that file is the result.
		return nil
	case steps.OpList:
		for _, e := range r.Entries {
			items = append(items, e.Key)
		}
	case steps.OpHistory, steps.OpDelete, steps.OpRepair:
		for _, e := range r.Entries {
			items = append(items, e.Digest)
		}
	case steps.OpTrustInit:
		items = append(items, r.RootKeyID)
	case steps.OpCheck:
		return checkText(w, r.Check)
	case steps.OpSearch:
		return searchText(w, r.Images)
	case steps.OpMigrate:
		return migrateText(w, r.Migrate)
	case steps.OpCopy, steps.OpPrune:
		return transferText(w, r)
	default:
		return fmt.Errorf("outputs: unknown operation %q", r.Operation)
	}
	for _, s := range items {
		if !printable(s) {
			return fmt.Errorf("outputs: %s: %q cannot be printed as a line of its own", r.Operation, s)
		}
	}
	var b strings.Builder
	for _, s := range items {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// printable reports whether s can be printed as it is, for scripts: it is
// not empty and the one path for text in output (redactedLine) would leave
// it unchanged.
func printable(s string) bool {
	return s != "" && redactedLine(nil, s, len(s)+1) == s
}
