package outputs

import (
	"bufio"
	"fmt"
	"io"

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
//   - trust init: the root key ID readers pin.
//
// Warnings are not written here; see Warnings. An unknown operation, or a put
// without an entry, is an error and writes nothing.
func Text(w io.Writer, r steps.Result) error {
	bw := bufio.NewWriter(w)
	switch r.Operation {
	case steps.OpPut:
		if r.Entry == nil {
			return fmt.Errorf("outputs: put result has no entry")
		}
		line(bw, r.Entry.Digest)
	case steps.OpGet:
		// get prints nothing on purpose: either the value itself went to
		// stdout (r.Path == "") and anything more would corrupt it, or the
		// value went to a file and that file is the result.
		return nil
	case steps.OpList:
		for _, e := range r.Entries {
			line(bw, e.Key)
		}
	case steps.OpHistory, steps.OpDelete, steps.OpRepair:
		for _, e := range r.Entries {
			line(bw, e.Digest)
		}
	case steps.OpTrustInit:
		line(bw, r.RootKeyID)
	default:
		return fmt.Errorf("outputs: unknown operation %q", r.Operation)
	}
	return bw.Flush()
}

// line writes s and a newline; bufio.Writer keeps the first error for Flush.
func line(bw *bufio.Writer, s string) {
	bw.WriteString(s)
	bw.WriteByte('\n')
}
