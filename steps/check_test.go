package steps

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/policy"
	"github.com/manifesto-dev/manifesto/internal/secret"
	"github.com/manifesto-dev/manifesto/internal/testimage"
)

// clock is a settable clock: each reading is a millisecond after the last,
// and advance jumps ahead.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Millisecond)
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func mustPolicy(t *testing.T, doc string, requires ...string) *policy.Policy {
	t.Helper()
	p := &policy.Policy{}
	if doc != "" {
		q, err := policy.Parse([]byte(doc), "test policy")
		if err != nil {
			t.Fatal(err)
		}
		p.Join(q)
	}
	for _, r := range requires {
		req, err := policy.ParseRequire(r, "--require")
		if err != nil {
			t.Fatal(err)
		}
		p.Requirements = append(p.Requirements, req)
	}
	if err := p.Compile(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheck judges the newest version of each key, on every kind of
// storage.
func TestCheck(t *testing.T) {
	ctx := context.Background()
	for _, kind := range testimage.Kinds {
		t.Run(kind, func(t *testing.T) {
			image := testimage.Image(t, kind)
			c := &clock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
			env := Env{Now: c.Now}
			put := func(key, name, content string) {
				t.Helper()
				if _, err := Run(ctx, Request{Operation: OpPut, Image: image, Key: key, File: testimage.WriteValue(t, name, content)}, env); err != nil {
					t.Fatal(err)
				}
			}
			check := func(p *policy.Policy) (*CheckResult, error) {
				t.Helper()
				res, err := Run(ctx, Request{Operation: OpCheck, Image: image, Policy: p}, env)
				if res.Check == nil && (err == nil || errors.Is(err, errdef.ErrPolicyNotMet)) {
					t.Fatalf("no verdicts: %v", err)
				}
				return res.Check, err
			}
			gate := mustPolicy(t, `require:
  - key: test-results
    expr: value.failed == 0 && value.passed > 0
    max_age: 72h
  - key: seccomp
`)
			put("test-results", "results.json", `{"failed": 0, "passed": 12}`)

			// seccomp missing: not met, exit 5, the reason says so.
			got, err := check(gate)
			if errdef.ExitCode(err) != errdef.ExitPolicyNotMet || got.Passed || !got.Requirements[0].Passed ||
				got.Requirements[1].Reason != "no version" || strings.Join(got.Failed(), ",") != "seccomp" {
				t.Fatalf("missing key: %+v, %v", got, err)
			}
			if !strings.Contains(err.Error(), "1 of 2 requirements failed (seccomp)") {
				t.Errorf("error = %v", err)
			}

			put("seccomp", "profile.json", `{"defaultAction": "SCMP_ACT_ERRNO"}`)
			if got, err = check(gate); err != nil || !got.Passed || got.Requirements[0].Digest == "" || got.Requirements[0].Created.IsZero() {
				t.Fatalf("all met: %+v, %v", got, err)
			}

			// A newer failing verdict fails the gate.
			put("test-results", "results.json", `{"failed": 3, "passed": 9}`)
			got, err = check(gate)
			if errdef.ExitCode(err) != errdef.ExitPolicyNotMet || got.Requirements[0].Reason != "value.failed == 0 && value.passed > 0 was false (value.failed = 3, value.passed = 9)" {
				t.Fatalf("newer failing verdict: %+v, %v", got.Requirements[0], err)
			}

			// max_age: a passing verdict that has grown old.
			put("test-results", "results.json", `{"failed": 0, "passed": 12}`)
			c.advance(97 * time.Hour)
			got, _ = check(gate)
			if got.Requirements[0].Passed || got.Requirements[0].Reason != "newest version is 4d old, max_age 72h" {
				t.Fatalf("max_age: %+v", got.Requirements[0])
			}

			// YAML, JUnit and text values; entry and image variables.
			put("approval", "approval.yaml", "approved: true\nby: alice\n")
			put("junit", "junit.xml", `<testsuite name="unit" tests="4" failures="0"><testcase/><testcase/><testcase/><testcase/></testsuite>`)
			put("note", "note.txt", "ship it\n")
			p := mustPolicy(t, "",
				`approval: value.approved && value.by == "alice" && entry.media_type == "application/yaml" && !entry.verified`,
				`junit: value.tests == 4 && value.failures == 0 && value.suites[0].name == "unit"`,
				`note: value.startsWith("ship") && image.digest.startsWith("sha256:") && image.reference == "`+image+`"`)
			if got, err = check(p); err != nil || !got.Passed {
				t.Fatalf("yaml, junit, text: %+v, %v", got, err)
			}

			// A value over the evaluation cap fails its requirement only.
			put("big", "big.json", `{"pad": "`+strings.Repeat("x", policy.MaxValueSize)+`"}`)
			got, err = check(mustPolicy(t, "", "big: value.pad != ''", "big", "note"))
			if errdef.ExitCode(err) != errdef.ExitPolicyNotMet || got.Requirements[0].Passed || !got.Requirements[1].Passed || !got.Requirements[2].Passed ||
				!strings.Contains(got.Requirements[0].Reason, "over the 1024 KiB limit for policy evaluation") {
				t.Fatalf("big value: %+v, %v", got, err)
			}
		})
	}
}

// TestCheckNeedsRequirements: a check without a policy is a usage error.
func TestCheckNeedsRequirements(t *testing.T) {
	image := testimage.Image(t, testimage.Layout)
	_, err := Run(context.Background(), Request{Operation: OpCheck, Image: image}, Env{})
	if errdef.ExitCode(err) != errdef.ExitUsage {
		t.Fatalf("err = %v", err)
	}
}

// TestCheckReasonsRedacted: a reason quotes the value it judged, and a
// value may hold a secret of the run (a token a pipeline stored by
// mistake): the reason leaves Run redacted, like errors and warnings.
func TestCheckReasonsRedacted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	image := testimage.Image(t, testimage.Layout)
	env := Env{Now: testimage.Clock(), Secrets: secret.New("S3cr3t-T0ken")}
	if _, err := Run(ctx, Request{Operation: OpPut, Image: image, Key: "approval",
		File: testimage.WriteValue(t, "a.json", `{"by": "S3cr3t-T0ken"}`)}, env); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, Request{Operation: OpCheck, Image: image, Policy: mustPolicy(t, "", `approval: value.by == "alice"`)}, env)
	if errdef.ExitCode(err) != errdef.ExitPolicyNotMet || res.Check == nil {
		t.Fatalf("check: %+v, %v", res.Check, err)
	}
	reason := res.Check.Requirements[0].Reason
	if strings.Contains(reason, "S3cr3t-T0ken") || !strings.Contains(reason, secret.Placeholder) {
		t.Errorf("reason %q", reason)
	}
}
