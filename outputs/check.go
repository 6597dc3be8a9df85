package outputs

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/manifesto-dev/manifesto/internal/secret"
	"github.com/manifesto-dev/manifesto/steps"
)

// CheckJSON is the JSON output of check. Its fields are a public contract.
type CheckJSON struct {
	// Passed is true when every requirement was met.
	Passed bool `json:"passed"`
	// Requirements are the verdicts, in the policy's order; [] when none.
	Requirements []RequirementJSON `json:"requirements"`
}

// RequirementJSON is the verdict on one requirement.
type RequirementJSON struct {
	Key string `json:"key"`
	// Expr is the requirement's expression; "" for presence only.
	Expr string `json:"expr"`
	// MaxAge is max_age as written; absent when not set.
	MaxAge string `json:"max_age,omitempty"`
	Passed bool   `json:"passed"`
	// Reason says why it failed; "" when it passed.
	Reason string `json:"reason"`
	// Digest and Created describe the version judged; "" when there was
	// none.
	Digest  string `json:"digest"`
	Created string `json:"created"`
	// Verified is true when that version was verified (--trust).
	Verified bool   `json:"verified"`
	Signer   string `json:"signer"`
}

// checkJSON is c as its JSON document.
func checkJSON(c *steps.CheckResult) CheckJSON {
	doc := CheckJSON{Requirements: []RequirementJSON{}}
	if c == nil {
		return doc
	}
	doc.Passed = c.Passed
	for _, r := range c.Requirements {
		rj := RequirementJSON{Key: r.Key, Expr: r.Expr, MaxAge: r.MaxAge, Passed: r.Passed, Reason: r.Reason,
			Digest: r.Digest, Verified: r.Verified, Signer: r.Signer}
		if !r.Created.IsZero() {
			rj.Created = r.Created.UTC().Format(time.RFC3339Nano)
		}
		doc.Requirements = append(doc.Requirements, rj)
	}
	return doc
}

// Check marks of the table.
const (
	markPass = "✓"
	markFail = "✗"
)

// maxRequirementColumn is the widest the requirement column gets; longer
// requirements are cut.
const maxRequirementColumn = 60

// checkText writes check's verdicts as a table for people: requirement,
// ✓ or ✗, reason. Every cell is text from outside (a policy, a registry
// value in a reason) and goes through redactedLine.
func checkText(w io.Writer, c *steps.CheckResult) error {
	if c == nil {
		return fmt.Errorf("outputs: check result has no verdicts")
	}
	names := make([]string, len(c.Requirements))
	width := len("REQUIREMENT")
	for i, r := range c.Requirements {
		names[i] = redactedLine(nil, requirementName(r), maxRequirementColumn)
		width = max(width, utf8.RuneCountInString(names[i]))
	}
	var b strings.Builder
	pad := func(s string) string { return s + strings.Repeat(" ", width-utf8.RuneCountInString(s)) }
	b.WriteString(pad("REQUIREMENT") + "  OK  REASON\n")
	for i, r := range c.Requirements {
		mark, reason := markPass, ""
		if !r.Passed {
			mark, reason = markFail, redactedLine(nil, r.Reason, MaxMessageLen)
		}
		b.WriteString(strings.TrimRight(pad(names[i])+"  "+mark+"   "+reason, " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// requirementName is how tables name a requirement: key, expression and
// max_age.
func requirementName(r steps.RequirementResult) string {
	s := r.Key
	if r.Expr != "" {
		s += ": " + r.Expr
	}
	if r.MaxAge != "" {
		s += " (max_age " + r.MaxAge + ")"
	}
	return s
}

// checkSummaryLines are the Markdown lines of a check's verdicts for the
// step summary: a table (requirement, ✓ or ✗, reason) under a heading,
// each line ending in a newline; none when r is not a check. Cells are
// made safe as summaryRow's are.
func checkSummaryLines(r steps.Result, secrets *secret.Set) []string {
	if r.Check == nil {
		return nil
	}
	cell := func(s string) string {
		c := escapeMarkdown(secrets.RedactEncoded(redactedLine(secrets, s, maxSummaryCell), escapeMarkdown))
		return strings.ReplaceAll(secrets.RedactEncoded(c, escapeMarkdown), "|", `\|`)
	}
	verdict := "passed"
	if !r.Check.Passed {
		verdict = "not met"
	}
	lines := []string{"\n**check** " + codeSpan(redactedLine(secrets, r.Image, maxSummaryCell)) + ": " + verdict + "\n\n| requirement | | reason |\n| --- | --- | --- |\n"}
	for _, q := range r.Check.Requirements {
		mark := markPass
		if !q.Passed {
			mark = markFail
		}
		lines = append(lines, "| "+cell(requirementName(q))+" | "+mark+" | "+cell(q.Reason)+" |\n")
	}
	return lines
}
