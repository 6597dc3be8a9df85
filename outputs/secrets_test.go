package outputs

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/manifesto-dev/manifesto/internal/secret"
	"github.com/manifesto-dev/manifesto/steps"
)

// TestSecretsRedacted: every writer of text a person reads redacts the
// run's secrets, also a secret split over lines or between punctuation the
// summary escapes.
func TestSecretsRedacted(t *testing.T) {
	t.Parallel()
	const pw = "s3cr3t-Passw0rd!value"
	s := secret.New(pw, "multi\nline-secret-value")
	s.AddBasic("ci", pw)
	leaks := func(what, out string) {
		t.Helper()
		for _, bad := range []string{pw, "s3cr3t", "line-secret-value", "Y2k6czNjcjN0"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s shows %q: %q", what, bad, out)
			}
		}
		if !strings.Contains(out, secret.Placeholder) {
			t.Errorf("%s: no %s in %q", what, secret.Placeholder, out)
		}
	}

	var buf bytes.Buffer
	Error(&buf, errors.New("login as ci:"+pw+" failed\nwith multi\nline-secret-value"), s)
	leaks("Error", buf.String())

	buf.Reset()
	Warnings(&buf, steps.Result{Warnings: []string{"header Basic Y2k6czNjcjN0LVBhc3N3MHJkIXZhbHVl"}}, s)
	leaks("Warnings", buf.String())

	buf.Reset()
	row := SummaryRow{Result: steps.Result{Operation: steps.OpList, Image: "registry.example.com/" + pw}, Err: errors.New("denied: " + pw)}
	if err := GitHubSummary(&buf, []SummaryRow{row}, s); err != nil {
		t.Fatal(err)
	}
	leaks("GitHubSummary", buf.String())

	buf.Reset()
	if err := GitHubMasks(&buf, s); err != nil {
		t.Fatal(err)
	}
	want := "::add-mask::" + pw + "\n::add-mask::multi\n::add-mask::line-secret-value\n::add-mask::Y2k6czNjcjN0LVBhc3N3MHJkIXZhbHVl\n"
	if buf.String() != want {
		t.Errorf("GitHubMasks wrote\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	if err := GitHubMasks(&buf, nil); err != nil || buf.Len() != 0 {
		t.Errorf("GitHubMasks(nil) wrote %q, %v", buf.String(), err)
	}
}

// TestSummaryNeverHoldsEscapedSecret: a secret in the summary's escaped
// form (a registry sending it pre-escaped, "S3cr3t\-P4ss", which renders
// as the password with a backslash) never reaches the summary, escaped or
// not.
func TestSummaryNeverHoldsEscapedSecret(t *testing.T) {
	t.Parallel()
	s := secret.New("S3cr3t-P4ss")
	rows := []SummaryRow{{Result: steps.Result{Operation: steps.OpGet, Image: "r.example/a:1", Key: "k"},
		Err: errors.New(`registry said: S3cr3t\-P4ss`)}}
	var buf bytes.Buffer
	if err := GitHubSummary(&buf, rows, s); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); strings.Contains(out, "S3cr3t") || strings.Contains(out, "P4ss") {
		t.Errorf("summary holds the secret:\n%s", out)
	}
}
