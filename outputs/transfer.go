package outputs

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/manifesto-dev/manifesto/steps"
)

// CopyJSON is the JSON output of copy. Its fields are a public contract.
type CopyJSON struct {
	// Subject is the image digest the entries belong to (at both ends).
	Subject string `json:"subject"`
	// Destination is DST as given.
	Destination string `json:"destination"`
	// ImageCopied is true when DST lacked the image and copy copied it.
	ImageCopied bool `json:"imageCopied"`
	// Copied are the entries copied; Skipped those DST had already.
	Copied  []EntryJSON `json:"copied"`
	Skipped []EntryJSON `json:"skipped"`
	// Signatures is the number of signature bundles copied; Signed the
	// number of entries signed at DST (--trust notary).
	Signatures int `json:"signatures"`
	Signed     int `json:"signed"`
}

// PruneJSON is the JSON output of prune. Its fields are a public contract.
type PruneJSON struct {
	// Subject is the image digest.
	Subject string `json:"subject"`
	// Started is when prune started (RFC 3339 UTC): no entry created at or
	// after it is removed.
	Started string `json:"started"`
	// DryRun is true when nothing was removed: Removed is what would be.
	DryRun bool `json:"dryRun"`
	// Removed and Kept are entries, newest first.
	Removed []EntryJSON `json:"removed"`
	Kept    []EntryJSON `json:"kept"`
	// Signatures is the number of signature bundles removed.
	Signatures int `json:"signatures"`
}

func copyJSON(r steps.Result) (any, error) {
	c := r.Copy
	if c == nil {
		return nil, fmt.Errorf("outputs: copy result has no copy")
	}
	return CopyJSON{Subject: r.Subject, Destination: c.Destination, ImageCopied: c.ImageCopied,
		Copied: entriesJSON(c.Copied), Skipped: entriesJSON(c.Skipped), Signatures: c.Signatures, Signed: c.Signed}, nil
}

func pruneJSON(r steps.Result) (any, error) {
	p := r.Prune
	if p == nil {
		return nil, fmt.Errorf("outputs: prune result has no prune")
	}
	return PruneJSON{Subject: r.Subject, Started: p.Started.UTC().Format(time.RFC3339Nano), DryRun: p.DryRun, Removed: entriesJSON(p.Removed),
		Kept: entriesJSON(p.Kept), Signatures: p.Signatures}, nil
}

// transferText writes copy's and prune's report for people: one line per
// entry copied or removed ("copied KEY DIGEST", "removed KEY DIGEST", or
// "would remove" on a dry run), then one summary line, which says so when
// nothing was done. Every line goes through redactedLine.
func transferText(w io.Writer, r steps.Result) error {
	var lines []string
	switch {
	case r.Operation == steps.OpCopy && r.Copy != nil:
		c := r.Copy
		if c.ImageCopied {
			lines = append(lines, "copied image "+r.Subject)
		}
		for _, e := range c.Copied {
			lines = append(lines, "copied "+e.Key+" "+e.Digest)
		}
		switch {
		case !c.ImageCopied && len(c.Copied) == 0 && c.Signatures == 0 && c.Signed == 0:
			lines = append(lines, fmt.Sprintf("nothing to copy: %s has the image and all %s", c.Destination, plural(len(c.Skipped), "entry", "entries")))
		default:
			s := fmt.Sprintf("copied %s and %s", plural(len(c.Copied), "entry", "entries"), plural(c.Signatures, "signature", "signatures"))
			if c.Signed > 0 {
				s += fmt.Sprintf(", signed %s at the destination", plural(c.Signed, "entry", "entries"))
			}
			lines = append(lines, s+fmt.Sprintf("; %d already there", len(c.Skipped)))
		}
	case r.Operation == steps.OpPrune && r.Prune != nil:
		p := r.Prune
		verb := "removed"
		if p.DryRun {
			verb = "would remove"
		}
		for _, e := range p.Removed {
			lines = append(lines, verb+" "+e.Key+" "+e.Digest)
		}
		switch {
		case len(p.Removed) == 0:
			lines = append(lines, fmt.Sprintf("nothing to prune: kept %s", plural(len(p.Kept), "entry", "entries")))
		case p.DryRun:
			lines = append(lines, fmt.Sprintf("dry run: would remove %s, keep %d", plural(len(p.Removed), "entry", "entries"), len(p.Kept)))
		default:
			lines = append(lines, fmt.Sprintf("removed %s and %s, kept %d", plural(len(p.Removed), "entry", "entries"),
				plural(p.Signatures, "signature", "signatures"), len(p.Kept)))
		}
	default:
		return fmt.Errorf("outputs: %s result has nothing to report", r.Operation)
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(redactedLine(nil, l, MaxMessageLen))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
