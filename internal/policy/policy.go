// Package policy is the gate of `manifesto check`: a list of requirements,
// each on the newest (verified) version of one key, judged by an optional CEL
// expression and an optional maximum age.
//
// Everything here is pure: parsing a policy (strict YAML, or one
// `--require 'KEY: EXPR'` line), compiling its expressions (before any
// network call), decoding a value read from the registry into CEL-native data
// with bounds on size, depth and element count, and evaluating an expression
// under a cost limit. Package steps fetches the versions; package outputs
// prints the verdicts.
package policy

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/manifesto-dev/manifesto/store"
)

// Limits of a policy.
const (
	// MaxPolicySize is the largest policy file or inline policy read.
	MaxPolicySize = 256 << 10
	// MaxRequirements is the most requirements one check may have.
	MaxRequirements = 256
	// MaxExprLen is the longest expression, in code points.
	MaxExprLen = 4096
)

// Requirement is one line of a policy: the newest version of Key must exist,
// be at most MaxAge old (0: any age) and, when Expr is set, make it true.
type Requirement struct {
	Key    string
	Expr   string
	MaxAge time.Duration
	// MaxAgeText is max_age as written (72h).
	MaxAgeText string
	// Where locates the requirement in messages: `policy file "p.yaml",
	// line 3` or `--require #2`.
	Where string

	prg       *program
	usesValue bool
	paths     []path
}

// Policy is the requirements of one check, in the order given.
type Policy struct {
	Requirements []Requirement
}

// Name is how a verdict names the requirement: the key, with its
// expression when there is one.
func (r *Requirement) Name() string {
	if r.Expr == "" {
		return r.Key
	}
	return r.Key + ": " + r.Expr
}

// NeedsValue reports whether judging r needs the value itself (its
// expression reads `value`), not only the entry. Valid after Compile.
func (r *Requirement) NeedsValue() bool { return r.usesValue }

// Parse reads a policy document (strict YAML: unknown fields, wrong types
// and duplicate settings are errors naming their line). where names the
// document in messages (`policy file "gate.yaml"`). The expressions are not
// compiled yet: see Compile.
func Parse(data []byte, where string) (*Policy, error) {
	if len(data) > MaxPolicySize {
		return nil, fmt.Errorf("%s: larger than %d KiB", where, MaxPolicySize>>10)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %s", where, yamlError(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s: line %d: a second YAML document; a policy is one document", where, extra.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: line %d: want a mapping with a require list, got %s", where, root.Line, kindName(root))
	}
	p := &Policy{}
	var seenRequire bool
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "require":
			if seenRequire {
				return nil, fmt.Errorf("%s: line %d: require given twice", where, k.Line)
			}
			seenRequire = true
			if v.Kind != yaml.SequenceNode {
				return nil, fmt.Errorf("%s: line %d: require must be a list, got %s", where, v.Line, kindName(v))
			}
			for _, item := range v.Content {
				r, err := parseItem(item, where)
				if err != nil {
					return nil, err
				}
				p.Requirements = append(p.Requirements, r)
			}
		default:
			return nil, fmt.Errorf("%s: line %d: unknown field %q (a policy has only require)", where, k.Line, k.Value)
		}
	}
	if len(p.Requirements) == 0 {
		return nil, fmt.Errorf("%s: no requirement (want require: [{key: ...}, ...])", where)
	}
	if len(p.Requirements) > MaxRequirements {
		return nil, fmt.Errorf("%s: %d requirements, more than %d", where, len(p.Requirements), MaxRequirements)
	}
	return p, nil
}

func parseItem(n *yaml.Node, where string) (Requirement, error) {
	at := func(line int) string { return fmt.Sprintf("%s: line %d", where, line) }
	r := Requirement{Where: at(n.Line)}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		// "- seccomp": a presence-only requirement, as on the command line.
		r.Key = n.Value
		return r, checkKey(r)
	}
	if n.Kind != yaml.MappingNode {
		return r, fmt.Errorf("%s: a requirement must be a mapping {key, expr, max_age}, got %s", r.Where, kindName(n))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return r, fmt.Errorf("%s: %s given twice", at(k.Line), k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "key", "expr", "max_age":
		default:
			return r, fmt.Errorf("%s: unknown field %q (a requirement has key, expr and max_age)", at(k.Line), k.Value)
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			return r, fmt.Errorf("%s: %s must be a string, got %s", at(v.Line), k.Value, kindName(v))
		}
		switch k.Value {
		case "key":
			r.Key = v.Value
		case "expr":
			r.Expr = strings.TrimSpace(v.Value)
			if r.Expr == "" {
				return r, fmt.Errorf("%s: expr is empty (leave it out for a presence-only requirement)", at(v.Line))
			}
		case "max_age":
			d, err := parseAge(v.Value)
			if err != nil {
				return r, fmt.Errorf("%s: max_age: %v", at(v.Line), err)
			}
			r.MaxAge, r.MaxAgeText = d, strings.TrimSpace(v.Value)
		}
	}
	if !seen["key"] {
		return r, fmt.Errorf("%s: a requirement needs a key", r.Where)
	}
	return r, checkKey(r)
}

// ParseRequire reads one --require argument (or one line of the require
// step input): `KEY` (presence only) or `KEY: EXPR`.
func ParseRequire(s, where string) (Requirement, error) {
	r := Requirement{Where: where}
	key, expr, hasExpr := strings.Cut(s, ":")
	r.Key = strings.TrimSpace(key)
	if hasExpr {
		r.Expr = strings.TrimSpace(expr)
		if r.Expr == "" {
			return r, fmt.Errorf("%s: %q has no expression after ':' (give just the key for presence only)", where, s)
		}
	}
	return r, checkKey(r)
}

func checkKey(r Requirement) error {
	if r.Key == "" {
		return fmt.Errorf("%s: the key is empty", r.Where)
	}
	if err := store.CheckKey(r.Key); err != nil {
		return fmt.Errorf("%s: %w", r.Where, err)
	}
	return nil
}

// parseAge reads a Go duration, also accepting a whole number of days
// ("7d"), and requires it to be positive.
func parseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok && n != "" && !strings.ContainsAny(n, "hmsuµn.") {
		var days time.Duration
		days, err = time.ParseDuration(n + "h")
		d = days * 24
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 72h, 30m, 7d)", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be positive", s)
	}
	return d, nil
}

// Compile compiles every expression of p, in order. The first error names
// its requirement and the position in the expression.
func (p *Policy) Compile() error {
	if len(p.Requirements) > MaxRequirements {
		return fmt.Errorf("%d requirements, more than %d", len(p.Requirements), MaxRequirements)
	}
	for i := range p.Requirements {
		if err := p.Requirements[i].compile(); err != nil {
			return err
		}
	}
	return nil
}

// Join appends q's requirements to p's (a policy file plus --require).
func (p *Policy) Join(q *Policy) {
	if q != nil {
		p.Requirements = append(p.Requirements, q.Requirements...)
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// yamlError is a yaml.v3 error on one line, without its "yaml: " prefix.
func yamlError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}
