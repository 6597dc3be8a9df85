package outputs

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/manifesto-dev/manifesto/steps"
	"github.com/manifesto-dev/manifesto/store"
)

// FuzzPrinting drives every writer that prints for people or for the log
// (Text, Info, Warning, Warnings, Error, GitHubAnnotation, progress on and
// off a terminal, the step summary) with results whose keys, paths, media
// types, annotations, digests, warnings and errors are arbitrary strings, as a
// hostile input or registry could make them, and checks two properties of
// what comes out, neither of which looks at how the writers escape:
//
//   - the only lines of stdout that the GitHub runner would read as workflow
//     commands (a "::" after leading white space) are the two commands the
//     test itself issued, in order;
//   - no printed line holds a control character or a Unicode line or
//     paragraph separator (the runner, a terminal or a log viewer could break
//     the line there), and each call writes at most the lines it documents:
//     no field can add one.
func FuzzPrinting(f *testing.F) {
	for _, s := range []struct{ key, path, mediaType, title, warning, msg string }{
		{"sbom", "out/sbom.json", "application/json", "sbom.json", "index rebuilt", "get sbom: not found"},
		{"k1", "v\n::add-mask::sha256\n::error title=pwned::fake failure\n::stop-commands::abc", "a/b", "t", "w", "e"},
		{"::error::x", "::warning::y", "::add-mask::z", "::notice::n", "::error title=a::b", "::stop-commands::tok"},
		{" ::error::x", "\t::debug::d", "\r\n::error::cr", "\u2028::error::ls", "\x85::error::nel", "  \n  ::group::g"},
		{"a\rb", "c\x1b[2Jd", "e\x00f", "g\u2029h", "bad\xffutf8", "%0A::error::enc"},
		{"", "", "", "", "", ""},
		{strings.Repeat("k", 300), strings.Repeat("p\n", 600), "x", "y", strings.Repeat("::", 700), strings.Repeat("\n::error::z", 200)},
	} {
		f.Add(s.key, s.path, s.mediaType, s.title, s.warning, s.msg, uint8(0), false)
		f.Add(s.key, s.path, s.mediaType, s.title, s.warning, s.msg, uint8(2), true)
	}
	ops := []string{steps.OpPut, steps.OpGet, steps.OpList, steps.OpHistory, steps.OpDelete, steps.OpRepair, steps.OpTrustInit, steps.OpSearch, steps.OpMigrate}
	f.Fuzz(func(t *testing.T, key, path, mediaType, title, warning, msg string, op uint8, terminal bool) {
		e := store.Entry{Key: key, Digest: title, MediaType: mediaType, Title: title, Size: int64(len(path))}
		r := steps.Result{
			Operation: ops[int(op)%len(ops)], Image: path, Subject: mediaType, Key: key, Found: true,
			Entry: &e, Entries: []store.Entry{e, {Key: path, Digest: warning}}, Path: path,
			Warnings: []string{warning, mediaType, title}, RootKeyID: key,
			Images: []store.ImageKeys{{Digest: title, Tags: []string{key, path}, Keys: []store.Entry{e}}},
			Migrate: &steps.MigrateReport{Legacy: title, LegacyDeleted: terminal, Items: []steps.MigrateItem{
				{Image: path, Type: key, Key: key, Action: steps.MigrateSkipped, Reason: msg},
				{Image: title, Type: warning, Key: mediaType, Action: steps.MigrateImported, Entry: title}}},
		}
		err := errors.New(msg)

		var stdout, stderr bytes.Buffer
		// writes runs one call and checks it wrote between lo and hi
		// whole lines.
		writes := func(buf *bytes.Buffer, what string, lo, hi int, call func()) {
			before := buf.Len()
			call()
			out := buf.String()[before:]
			n := strings.Count(out, "\n")
			if n < lo || n > hi || (out != "" && !strings.HasSuffix(out, "\n")) {
				t.Fatalf("%s wrote %d lines, want %d to %d: %q", what, n, lo, hi, out)
			}
		}
		// The step's stdout: the two commands the tool issues itself, and
		// what a step prints around them.
		writes(&stdout, "GitHubAnnotation warning", 1, 1, func() { GitHubAnnotation(&stdout, "warning", "", warning, nil) })
		writes(&stdout, "Info", 0, 1, func() { Info(&stdout, "g: get "+key+": wrote "+path+" ("+title+")", nil) })
		writes(&stdout, "GitHubAnnotation error", 1, 1, func() { GitHubAnnotation(&stdout, "error", "manifesto", msg, nil) })
		textLines := 1
		switch r.Operation {
		case steps.OpList, steps.OpHistory, steps.OpDelete, steps.OpRepair:
			textLines = len(r.Entries)
		case steps.OpGet:
			textLines = 0
		case steps.OpSearch:
			textLines = len(r.Images)
		case steps.OpMigrate:
			textLines = len(r.Migrate.Items) + 1
		}
		writes(&stdout, "Text", 0, textLines, func() { Text(&stdout, r) })

		writes(&stderr, "Warnings", 0, len(r.Warnings), func() { Warnings(&stderr, r, nil) })
		writes(&stderr, "Warning", 0, 1, func() { Warning(&stderr, msg, nil) })
		writes(&stderr, "Error", 1, 1, func() { Error(&stderr, err, nil) })

		var commands []string
		for _, l := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
			checkPrintedLine(t, "stdout", l)
			if strings.HasPrefix(strings.TrimLeft(l, " \t"), "::") {
				commands = append(commands, l)
			}
		}
		if len(commands) != 2 || !strings.HasPrefix(commands[0], "::warning::") || !strings.HasPrefix(commands[1], "::error title=manifesto::") {
			t.Fatalf("stdout holds the workflow commands %q; the tool issued one warning and one error", commands)
		}
		for _, l := range strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n") {
			checkPrintedLine(t, "stderr", l)
			if !strings.HasPrefix(l, "manifesto: ") {
				t.Fatalf("stderr line %q does not start with manifesto: ", l)
			}
		}

		// Progress: a terminal redraws with "\r", which starts a line on
		// screen as much as "\n" does.
		var progress bytes.Buffer
		clock := time.Unix(0, 0)
		wc := newProgress(&progress, terminal, 0, func() time.Time { clock = clock.Add(6 * time.Second); return clock })(key+path, 100)
		wc.Write(make([]byte, 60))
		wc.Write(make([]byte, 40))
		wc.Close()
		for _, l := range strings.FieldsFunc(progress.String(), func(r rune) bool { return r == '\n' || r == '\r' }) {
			checkPrintedLine(t, "progress", l)
			if strings.HasPrefix(strings.TrimLeft(l, " \t"), "::") {
				t.Fatalf("progress line %q reads as a workflow command", l)
			}
		}

		// Progress of many lookups (search).
		var counts bytes.Buffer
		count := NewCount(&counts, terminal)
		for i := range 25 {
			count(key+path, i+1, 25)
		}
		for _, l := range strings.FieldsFunc(counts.String(), func(r rune) bool { return r == '\n' || r == '\r' }) {
			checkPrintedLine(t, "count", l)
			if strings.HasPrefix(strings.TrimLeft(l, " \t"), "::") {
				t.Fatalf("count line %q reads as a workflow command", l)
			}
		}

		// The summary is a file, but a Markdown file people read: the same
		// rules hold for it.
		var summary bytes.Buffer
		GitHubSummary(&summary, []SummaryRow{{Result: r}, {Result: r, Err: err}}, nil)
		for _, l := range strings.Split(strings.TrimSuffix(summary.String(), "\n"), "\n") {
			checkPrintedLine(t, "summary", l)
			if strings.HasPrefix(strings.TrimLeft(l, " \t"), "::") {
				t.Fatalf("summary line %q reads as a workflow command", l)
			}
		}
	})
}

// checkPrintedLine fails on a line that is not valid UTF-8 or holds a C0 or
// C1 control character (CR, LF, ESC, NUL, NEL, ...), DEL, or U+2028/U+2029.
func checkPrintedLine(t *testing.T, where, l string) {
	t.Helper()
	if !utf8.ValidString(l) {
		t.Fatalf("%s line %q is not valid UTF-8", where, l)
	}
	for _, r := range l {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x2028 || r == 0x2029 {
			t.Fatalf("%s line %q holds the control character %U", where, l, r)
		}
	}
}
