package policy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []Requirement // Key, Expr, MaxAge only
		err       string
	}{
		{name: "issue example", doc: `require:
  - key: test-results
    expr: value.failed == 0 && value.passed > 0
    max_age: 72h
  - key: approval
    expr: value.approved && entry.signer != ""
  - key: seccomp            # presence only
`, want: []Requirement{
			{Key: "test-results", Expr: "value.failed == 0 && value.passed > 0", MaxAge: 72 * time.Hour},
			{Key: "approval", Expr: `value.approved && entry.signer != ""`},
			{Key: "seccomp"},
		}},
		{name: "bare key item", doc: "require: [seccomp, {key: scan, max_age: 7d}]",
			want: []Requirement{{Key: "seccomp"}, {Key: "scan", MaxAge: 7 * 24 * time.Hour}}},
		{name: "unknown top field", doc: "require: [a]\nallow: [b]\n", err: `line 2: unknown field "allow"`},
		{name: "unknown requirement field", doc: "require:\n  - key: a\n    exprs: x\n", err: `line 3: unknown field "exprs"`},
		{name: "no key", doc: "require:\n  - expr: true\n", err: "line 2: a requirement needs a key"},
		{name: "bad key", doc: "require:\n  - key: Bad/Key\n", err: `line 2: key "Bad/Key" is invalid`},
		{name: "bad max_age", doc: "require:\n  - key: a\n    max_age: soon\n", err: `line 3: max_age: "soon" is not a duration`},
		{name: "negative max_age", doc: "require:\n  - {key: a, max_age: -1h}\n", err: `must be positive`},
		{name: "expr not a string", doc: "require:\n  - key: a\n    expr: [1]\n", err: "line 3: expr must be a string, got a list"},
		{name: "duplicate setting", doc: "require:\n  - key: a\n    key: b\n", err: "line 3: key given twice"},
		{name: "require twice", doc: "require: [a]\nrequire: [b]\n", err: "line 2: require given twice"},
		{name: "empty", doc: "", err: "EOF"},
		{name: "no requirement", doc: "require: []\n", err: "no requirement"},
		{name: "not a mapping", doc: "- a\n", err: "line 1: want a mapping"},
		{name: "two documents", doc: "require: [a]\n---\nrequire: [b]\n", err: "second YAML document"},
		{name: "syntax", doc: "require: [a\n", err: "policy file"},
		{name: "too many", doc: "require: [" + strings.Repeat("a,", MaxRequirements) + "a]", err: "more than 256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc), `policy file "p.yaml"`)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Requirements) != len(tt.want) {
				t.Fatalf("got %d requirements, want %d", len(p.Requirements), len(tt.want))
			}
			for i, w := range tt.want {
				g := p.Requirements[i]
				if g.Key != w.Key || g.Expr != w.Expr || g.MaxAge != w.MaxAge {
					t.Errorf("requirement %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestParseRequire(t *testing.T) {
	tests := []struct{ in, key, expr, err string }{
		{in: "seccomp", key: "seccomp"},
		{in: "test-results: value.failed == 0", key: "test-results", expr: "value.failed == 0"},
		{in: `approval: entry.signer != "" && value.note.contains(":")`, key: "approval", expr: `entry.signer != "" && value.note.contains(":")`},
		{in: "a:", err: "no expression"},
		{in: ": true", err: "key is empty"},
		{in: "UPPER", err: "invalid"},
	}
	for _, tt := range tests {
		r, err := ParseRequire(tt.in, "--require #1")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "--require #1: ") {
				t.Errorf("%q: err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || r.Key != tt.key || r.Expr != tt.expr {
			t.Errorf("%q = %+v, %v", tt.in, r, err)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"value.failed ==", "--require #1: expression \"value.failed ==\" does not compile: <input>:1:16: Syntax error"},
		{"valu.failed == 0", "undeclared reference to 'valu'"},
		{"1 + 2", "is of type int; it must be a condition"},
		{strings.Repeat("(", 100) + "true" + strings.Repeat(")", 100), "does not compile"},
		{strings.Repeat("a", MaxExprLen+1), "does not compile"},
	}
	for _, tt := range tests {
		p := &Policy{Requirements: []Requirement{{Key: "k", Expr: tt.expr, Where: "--require #1"}}}
		err := p.Compile()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%.40q: err = %v, want %q", tt.expr, err, tt.want)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("error spans lines: %q", err)
		}
	}
}

var (
	now     = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	subject = Subject{Digest: "sha256:" + strings.Repeat("a", 64), Reference: "localhost:5000/app:1"}
)

func version(mt, value string, age time.Duration) *Version {
	return &Version{Key: "k", Digest: "sha256:" + strings.Repeat("b", 64), MediaType: mt,
		Size: int64(len(value)), Created: now.Add(-age), Value: []byte(value)}
}

func judge(t *testing.T, r Requirement, v *Version, verified bool) Verdict {
	t.Helper()
	r.Where = "test"
	p := &Policy{Requirements: []Requirement{r}}
	if err := p.Compile(); err != nil {
		t.Fatal(err)
	}
	return p.Requirements[0].Judge(context.Background(), v, subject, verified, now)
}

func TestJudge(t *testing.T) {
	const jsonMT, yamlMT = "application/json", "application/yaml"
	junit := `<?xml version="1.0"?>
<testsuites>
  <testsuite name="unit" tests="3" failures="1" errors="0" skipped="1" time="1.5">
    <testcase name="a"/><testcase name="b"><failure/></testcase><testcase name="c"><skipped/></testcase>
  </testsuite>
  <testsuite name="e2e"><testcase name="d"/><testcase name="e"><error/></testcase></testsuite>
</testsuites>`
	tests := []struct {
		name     string
		r        Requirement
		v        *Version
		verified bool
		pass     bool
		reason   string
	}{
		{name: "missing", r: Requirement{Key: "k"}, reason: "no version"},
		{name: "missing verified", r: Requirement{Key: "k"}, verified: true, reason: "no verified version"},
		{name: "presence", r: Requirement{Key: "k"}, v: version("", "x", time.Hour), pass: true},
		{name: "max age met", r: Requirement{Key: "k", MaxAge: 72 * time.Hour, MaxAgeText: "72h"}, v: version("", "x", 71*time.Hour), pass: true},
		{name: "max age", r: Requirement{Key: "k", MaxAge: 72 * time.Hour, MaxAgeText: "72h"}, v: version("", "x", 97*time.Hour),
			reason: "newest version is 4d old, max_age 72h"},
		{name: "json pass", r: Requirement{Key: "k", Expr: "value.failed == 0 && value.passed > 0"},
			v: version(jsonMT, `{"failed":0,"passed":12}`, 0), pass: true},
		{name: "json fail shows values", r: Requirement{Key: "k", Expr: "value.failed == 0"},
			v: version(jsonMT, `{"failed":3,"passed":12}`, 0), reason: "value.failed == 0 was false (value.failed = 3)"},
		{name: "json double", r: Requirement{Key: "k", Expr: "value.coverage >= 80"},
			v: version(jsonMT, `{"coverage":79.5}`, 0), reason: "value.coverage >= 80 was false (value.coverage = 79.5)"},
		{name: "json nested and string", r: Requirement{Key: "k", Expr: `value.result.status == "ok"`},
			v: version("application/vnd.acme+json", `{"result":{"status":"bad\nline"}}`, 0), reason: `value.result.status == "ok" was false (value.result.status = "bad\nline")`},
		{name: "missing field", r: Requirement{Key: "k", Expr: "value.failed == 0"},
			v: version(jsonMT, `{}`, 0), reason: "value.failed == 0 failed: no such key: failed"},
		{name: "entry fields", r: Requirement{Key: "k", Expr: `value.approved && entry.signer != ""`},
			v: version(jsonMT, `{"approved":true}`, 0), reason: `value.approved && entry.signer != "" was false (value.approved = true, entry.signer = "")`},
		{name: "entry signer verified", r: Requirement{Key: "k", Expr: `entry.verified && entry.signer == "alice"`},
			v: func() *Version { v := version(jsonMT, `{}`, 0); v.Verified, v.Signer = true, "alice"; return v }(), verified: true, pass: true},
		{name: "entry created and now", r: Requirement{Key: "k", Expr: `now - entry.created < duration("2h")`},
			v: version("", "x", time.Hour), pass: true},
		{name: "image", r: Requirement{Key: "k", Expr: `image.digest.startsWith("sha256:") && image.reference.endsWith(":1")`},
			v: version("", "x", 0), pass: true},
		{name: "entry only does not parse value", r: Requirement{Key: "k", Expr: `entry.size > 0`},
			v: version(jsonMT, `{not json`, 0), pass: true},
		{name: "bad json", r: Requirement{Key: "k", Expr: "value.a == 1"},
			v: version(jsonMT, `{"a":1} trailing`, 0), reason: "value (application/json) is not usable JSON"},
		{name: "yaml", r: Requirement{Key: "k", Expr: `value.approved && value.by == "bob" && value.n == 2 && value.list.size() == 2`},
			v: version(yamlMT, "approved: true\nby: bob\nn: 2\nlist: [a, b]\n", 0), pass: true},
		{name: "yaml yes is a string in YAML 1.2", r: Requirement{Key: "k", Expr: `value.approved == true`},
			v: version(yamlMT, "approved: yes\n", 0), reason: "was false"},
		{name: "junit", r: Requirement{Key: "k", Expr: `value.tests == 5 && value.failures == 1 && value.errors == 1 && value.skipped == 1 && value.suites[1].name == "e2e" && value.suites[0].failures == 1`},
			v: version("application/xml", junit, 0), pass: true},
		{name: "junit failing", r: Requirement{Key: "k", Expr: `value.failures == 0`},
			v: version("application/xml", junit, 0), reason: "value.failures == 0 was false (value.failures = 1)"},
		{name: "junit single suite", r: Requirement{Key: "k", Expr: `value.tests == 2 && value.time == 0.25`},
			v: version("application/junit+xml", `<testsuite name="x" tests="2" time="0.25"><testcase/><testcase/></testsuite>`, 0), pass: true},
		{name: "junit bad count", r: Requirement{Key: "k", Expr: `value.tests > 0`},
			v: version("application/xml", `<testsuite tests="many"/>`, 0), reason: "not a usable JUnit report"},
		{name: "other xml is bytes", r: Requirement{Key: "k", Expr: `type(value) == bytes`},
			v: version("application/xml", `<html/>`, 0), pass: true},
		{name: "text", r: Requirement{Key: "k", Expr: `value.startsWith("ok")`},
			v: version("text/plain", "not ok", 0), reason: `value.startsWith("ok") was false`},
		{name: "text string", r: Requirement{Key: "k", Expr: `value == "ok\n"`}, v: version("text/plain", "ok\n", 0), pass: true},
		{name: "bytes", r: Requirement{Key: "k", Expr: `size(value) == 3`}, v: version("application/octet-stream", "\x00\x01\x02", 0), pass: true},
		{name: "not a bool", r: Requirement{Key: "k", Expr: `value.x`}, v: version(jsonMT, `{"x":"yes"}`, 0), reason: `value.x is "yes", not true or false`},
		{name: "unreadable", r: Requirement{Key: "k", Expr: `value.x`},
			v: func() *Version { v := version(jsonMT, ``, 0); v.Unreadable = "value is too large"; return v }(), reason: "value is too large"},
		{name: "unreadable but value unused", r: Requirement{Key: "k", Expr: `entry.key == "k"`},
			v: func() *Version { v := version(jsonMT, ``, 0); v.Unreadable = "value is too large"; return v }(), pass: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := judge(t, tt.r, tt.v, tt.verified)
			if got.Passed != tt.pass || !strings.Contains(got.Reason, tt.reason) || (tt.pass && got.Reason != "") {
				t.Errorf("got %+v, want passed=%v reason containing %q", got, tt.pass, tt.reason)
			}
		})
	}
}

// TestHostileValues: values crafted to blow up decoding or evaluation fail
// their requirement with a reason, quickly, never the process.
func TestHostileValues(t *testing.T) {
	deepJSON := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	hugeArray := "[" + strings.Repeat("0,", 300_000) + "0]"
	var alias strings.Builder
	alias.WriteString("a: &a [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 'b'; i <= 'j'; i++ {
		fmt.Fprintf(&alias, "%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	list := "[" + strings.Repeat("1,", 2000) + "1]"
	tests := []struct {
		name, mt, value, expr, reason string
	}{
		{"deep json", "application/json", deepJSON, "value.size() > 0", "nested deeper than 64 levels"},
		{"huge json array", "application/json", hugeArray, "value.size() > 0", "more than 100000 elements"},
		{"deep yaml", "application/yaml", strings.Repeat("[", 5000) + strings.Repeat("]", 5000), "value.size() > 0", "YAML"},
		{"yaml billion laughs", "application/yaml", alias.String(), "value.size() > 0", "more than 100000 elements"},
		{"deep junit", "application/xml", "<testsuites>" + strings.Repeat("<testsuite>", 200) + strings.Repeat("</testsuite>", 200) + "</testsuites>", "value.tests > 0", "nested deeper"},
		{"too large", "application/json", "[" + strings.Repeat(" ", MaxValueSize) + "]", "value.size() > 0", "over the 1024 KiB limit"},
		// CEL's cost limit stops what it counts; the wall-clock bound
		// stops loops whose bodies cost nothing.
		{"cost bomb", "application/json", `{"l":` + list + `, "s": "` + strings.Repeat("a", 100_000) + `"}`, `value.l.all(x, value.l.all(y, !value.s.contains("zz")))`, "evaluation stopped: over the cost limit"},
		{"map product", "application/json", `{"l":` + list + `}`, "value.l.map(x, value.l.map(y, x * y)).size() > 0", "evaluation stopped"},
		{"free loops", "application/json", `{"l":` + list + `}`, `value.l.all(x, value.l.all(y, value.l.all(z, true)))`, "evaluation stopped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			got := judge(t, Requirement{Key: "k", Expr: tt.expr}, version(tt.mt, tt.value, 0), false)
			if got.Passed || !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("got %+v, want a failure containing %q", got, tt.reason)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		97 * time.Hour: "4d", 30 * time.Hour: "30h", 90 * time.Minute: "90m", 150 * time.Minute: "2h", 45 * time.Second: "45s",
	} {
		if got := Age(d); got != want {
			t.Errorf("Age(%v) = %q, want %q", d, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("require:\n  - key: test-results\n    expr: value.failed == 0\n    max_age: 72h\n  - seccomp\n"))
	f.Add([]byte("require: [{key: a, expr: 'entry.signer != \"\"'}]"))
	f.Add([]byte("require: &x [*x]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, "fuzz")
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if len(p.Requirements) == 0 || len(p.Requirements) > MaxRequirements {
			t.Fatalf("%d requirements", len(p.Requirements))
		}
		if err := p.Compile(); err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("multi-line compile error %q", err)
			}
			return
		}
		for i := range p.Requirements {
			p.Requirements[i].Judge(context.Background(), version("application/json", `{"a":1}`, 0), subject, false, now)
		}
	})
}
