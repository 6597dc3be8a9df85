package outputs

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/secret"
	"github.com/manifesto-dev/manifesto/steps"
)

// MaxSummary is the most GitHubSummary writes, in bytes: GitHub drops a
// step's summary above 1 MiB.
const MaxSummary = 1 << 20

// maxSummaryCell bounds one table cell, in characters (runes).
const maxSummaryCell = 300

// SummaryRow is one operation for GitHubSummary: its result and the error it
// ended with (nil on success).
type SummaryRow struct {
	Result steps.Result
	Err    error
}

// GitHubSummary writes rows as GitHub-flavoured Markdown for the file named by
// $GITHUB_STEP_SUMMARY:
//
//	## Manifesto
//
//	| operation | image | key | result | digest |
//	| --- | --- | --- | --- | --- |
//	| put | `ghcr.io/o/app:1` | `sbom` | stored | `sha256:...` |
//
//	**Failures**
//
//	- `ghcr.io/o/app:1`: get scan: key "scan" not found on sha256:...
//
// The result cell is "stored" (put), "found" or "not found" (get, history),
// "3 keys" (list), "2 versions" (history), "deleted 2" (delete), "re-indexed
// 1" (repair); a row with an error says "not found" for errors of class
// errdef.ErrNotFound and "failed" otherwise, and every row with an error also
// gets a line under "Failures": the image, then the error made one line as
// Error does. The error names the operation and key itself (steps.Run's
// errors begin with them), so the line does not repeat them.
// The digest cell is the entry's digest (put, get) or the newest version's
// (history).
//
// Text from the user, the registry or an error cannot change the layout:
// control characters become spaces, cells are cut to 300 characters, image,
// key and digest are code spans with a backtick fence longer than any run of
// backticks inside, other text has every ASCII punctuation character
// backslash-escaped, and every '|' in a table cell is written "\|".
//
// Every secret of secrets (nil: none) is redacted from every cell and
// message before it is escaped, and its escaped form after (a secret must
// never reach the summary: escaped, the runner's mask no longer matches
// it).
//
// The output stays within MaxSummary bytes: failure lines are kept first,
// then table rows in order; what does not fit is left out and replaced by a
// note saying how many rows or failures are not shown.
func GitHubSummary(w io.Writer, rows []SummaryRow, secrets *secret.Set) error {
	_, err := io.WriteString(w, githubSummary(rows, MaxSummary, secrets))
	return err
}

// GitHubInputsSummary writes the step summary of a step that ran nothing
// because its inputs are not valid: the heading, a sentence saying so, and
// err under "Failures" as GitHubSummary writes a failure line (one line,
// redacted, escaped).
func GitHubInputsSummary(w io.Writer, err error, secrets *secret.Set) error {
	_, werr := io.WriteString(w, "## Manifesto\n\nNothing was run: the step's inputs are not valid.\n\n**Failures**\n\n"+
		summaryFailure(SummaryRow{Err: err}, secrets))
	return werr
}

// githubSummary renders rows in at most limit bytes (limit must leave room
// for the fixed text, a few hundred bytes).
func githubSummary(rows []SummaryRow, limit int, secrets *secret.Set) string {
	const (
		heading = "## Manifesto\n\n"
		header  = "| operation | image | key | result | digest |\n| --- | --- | --- | --- | --- |\n"
		failed  = "\n**Failures**\n\n"
		none    = "No operations.\n"
		// reserve covers the two truncation notes.
		reserve = 200
	)
	if len(rows) == 0 {
		return heading + none
	}
	var table, failures, checks []string
	for _, row := range rows {
		table = append(table, summaryRow(row, secrets))
		checks = append(checks, checkSummaryLines(row.Result, secrets)...)
		if row.Err != nil {
			failures = append(failures, summaryFailure(row, secrets))
		}
	}

	budget := limit - len(heading) - len(header) - reserve
	if len(failures) > 0 {
		budget -= len(failed)
	}
	keptFailures := fit(failures, &budget)
	keptRows := fit(table, &budget)
	keptChecks := fit(checks, &budget)

	var b strings.Builder
	b.WriteString(heading)
	b.WriteString(header)
	for _, s := range table[:keptRows] {
		b.WriteString(s)
	}
	if n := len(table) - keptRows; n > 0 {
		fmt.Fprintf(&b, "\n_%s not shown: the summary is limited to 1 MiB._\n", plural(n, "more operation", "more operations"))
	}
	for _, s := range checks[:keptChecks] {
		b.WriteString(s)
	}
	if len(failures) > 0 {
		b.WriteString(failed)
		for _, s := range failures[:keptFailures] {
			b.WriteString(s)
		}
		if n := len(failures) - keptFailures; n > 0 {
			fmt.Fprintf(&b, "\n_%s not shown: the summary is limited to 1 MiB._\n", plural(n, "more failure", "more failures"))
		}
	}
	return b.String()
}

// fit counts how many of lines, taken in order, fit in *budget bytes, and
// takes their size from it.
func fit(lines []string, budget *int) int {
	for i, s := range lines {
		if len(s) > *budget {
			return i
		}
		*budget -= len(s)
	}
	return len(lines)
}

// summaryRow is the table row of row, ending in a newline.
func summaryRow(row SummaryRow, secrets *secret.Set) string {
	r := row.Result
	digest := ""
	switch {
	case r.Entry != nil:
		digest = r.Entry.Digest
	case r.Operation == steps.OpHistory && len(r.Entries) > 0:
		digest = r.Entries[0].Digest
	}
	cells := []string{
		escapeMarkdown(secrets.RedactEncoded(redactedLine(secrets, r.Operation, maxSummaryCell), escapeMarkdown)),
		codeSpan(redactedLine(secrets, r.Image, maxSummaryCell)),
		codeSpan(redactedLine(secrets, r.Key, maxSummaryCell)),
		escapeMarkdown(summaryResult(row)),
		codeSpan(redactedLine(secrets, digest, maxSummaryCell)),
	}
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(secrets.RedactEncoded(c, escapeMarkdown), "|", `\|`)
	}
	return "| " + strings.Join(cells, " | ") + " |\n"
}

// summaryFailure is the failure line of row, ending in a newline.
func summaryFailure(row SummaryRow, secrets *secret.Set) string {
	s := "-"
	if image := codeSpan(redactedLine(secrets, row.Result.Image, maxSummaryCell)); image != "" {
		s += " " + image + ":"
	}
	// A registry may send a secret pre-escaped: that form goes too.
	msg := secrets.RedactEncoded(redactedLine(secrets, errorText(row.Err), MaxMessageLen), escapeMarkdown)
	if msg == "" {
		msg = "unknown error"
	}
	return secrets.RedactEncoded(s+" "+escapeMarkdown(msg), escapeMarkdown) + "\n"
}

// summaryResult is the result cell of row.
func summaryResult(row SummaryRow) string {
	r := row.Result
	if row.Err != nil {
		switch {
		case errors.Is(row.Err, errdef.ErrNotFound):
			return "not found"
		case errors.Is(row.Err, errdef.ErrPolicyNotMet):
			return "not met"
		}
		return "failed"
	}
	switch r.Operation {
	case steps.OpPut:
		return "stored"
	case steps.OpGet:
		if r.Found {
			return "found"
		}
		return "not found"
	case steps.OpList:
		return plural(len(r.Entries), "key", "keys")
	case steps.OpHistory:
		if !r.Found && len(r.Entries) == 0 {
			return "not found"
		}
		return plural(len(r.Entries), "version", "versions")
	case steps.OpDelete:
		return "deleted " + strconv.Itoa(len(r.Entries))
	case steps.OpRepair:
		return "re-indexed " + strconv.Itoa(len(r.Entries))
	case steps.OpCopy:
		if r.Copy != nil {
			return "copied " + strconv.Itoa(len(r.Copy.Copied))
		}
		return "done"
	case steps.OpPrune:
		if r.Prune != nil && r.Prune.DryRun {
			return "would remove " + strconv.Itoa(len(r.Prune.Removed))
		}
		if r.Prune != nil {
			return "removed " + strconv.Itoa(len(r.Prune.Removed))
		}
		return "done"
	case steps.OpCheck:
		if r.Check != nil && !r.Check.Passed {
			return "not met"
		}
		return "passed"
	case steps.OpSearch:
		return plural(len(r.Images), "image", "images")
	case steps.OpMigrate:
		if r.Migrate != nil {
			return r.Migrate.Summary()
		}
		return "done"
	default:
		return "done"
	}
}

// plural is "1 key", "2 keys", "0 keys".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// escapeMarkdown backslash-escapes every ASCII punctuation character of s,
// which CommonMark then shows literally: no emphasis, link, HTML, code span
// or table pipe can start inside s.
func escapeMarkdown(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(`!"#$%&'()*+,-./:;<=>?@[\]^_{|}~`+"`", c) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// codeSpan is s as a CommonMark code span: the fence is one backtick more than
// the longest run of backticks in s, and s is padded with spaces when it
// starts or ends with a backtick or a space (the parser strips one space from
// each end). An empty s gives "".
func codeSpan(s string) string {
	if s == "" {
		return ""
	}
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if s[0] == '`' || s[0] == ' ' || s[len(s)-1] == '`' || s[len(s)-1] == ' ' {
		s = " " + s + " "
	}
	return fence + s + fence
}
