package policy

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Bounds on a value decoded for an expression. A value is registry data:
// anyone who can push wrote it.
const (
	// MaxValueSize is the largest value read for evaluation; a larger
	// newest version fails its requirement.
	MaxValueSize = 1 << 20
	// MaxDepth is the deepest nesting of lists and maps decoded.
	MaxDepth = 64
	// MaxElements is the most scalars, lists and maps one value decodes to
	// (aliases in YAML count each time they are expanded).
	MaxElements = 100_000
)

// errBudget is a value over MaxDepth or MaxElements.
var errBudget = errors.New("over the decoding budget")

// Decode turns a value into what expressions see as `value`, by media type:
// JSON (application/json, +json) and YAML (application/yaml, +yaml, ...) as
// maps and lists (whole numbers as int, others as double), a JUnit XML
// report (XML whose root is testsuites or testsuite) as {tests, failures,
// errors, skipped, time, suites: [{name, tests, failures, errors, skipped}]},
// text/* as a string, anything else as bytes.
func Decode(mediaType string, data []byte) (any, error) {
	if len(data) > MaxValueSize {
		return nil, fmt.Errorf("value is %d bytes, over the %d KiB limit for policy evaluation", len(data), MaxValueSize>>10)
	}
	mt := strings.ToLower(mediaType)
	base, suffix := mt, ""
	if i := strings.LastIndexByte(mt, '+'); i >= 0 {
		suffix = mt[i+1:]
	}
	switch {
	case base == "application/json" || base == "text/json" || suffix == "json":
		v, err := decodeJSON(data)
		if err != nil {
			return nil, fmt.Errorf("value (%s) is not usable JSON: %w", mediaType, err)
		}
		return v, nil
	case base == "application/yaml" || base == "application/x-yaml" || base == "text/yaml" || base == "text/x-yaml" || suffix == "yaml":
		v, err := decodeYAML(data)
		if err != nil {
			return nil, fmt.Errorf("value (%s) is not usable YAML: %w", mediaType, err)
		}
		return v, nil
	case base == "application/xml" || base == "text/xml" || suffix == "xml":
		v, ok, err := decodeJUnit(data)
		if err != nil {
			return nil, fmt.Errorf("value (%s) is not a usable JUnit report: %w", mediaType, err)
		}
		if ok {
			return v, nil
		}
		return data, nil
	case strings.HasPrefix(base, "text/") && utf8.Valid(data):
		return string(data), nil
	}
	return data, nil
}

// budget counts the elements of one decoded value.
type budget struct{ n int }

func (b *budget) take(depth int) error {
	b.n++
	if b.n > MaxElements {
		return fmt.Errorf("more than %d elements: %w", MaxElements, errBudget)
	}
	if depth > MaxDepth {
		return fmt.Errorf("nested deeper than %d levels: %w", MaxDepth, errBudget)
	}
	return nil
}

func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var b budget
	v, err := jsonValue(dec, &b, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

// jsonValue reads one value token by token, so that depth and size are
// checked before anything is built.
func jsonValue(dec *json.Decoder, b *budget, depth int) (any, error) {
	if err := b.take(depth); err != nil {
		return nil, err
	}
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		switch t {
		case '[':
			list := []any{}
			for dec.More() {
				v, err := jsonValue(dec, b, depth+1)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			_, err := dec.Token()
			return list, err
		case '{':
			m := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := jsonValue(dec, b, depth+1)
				if err != nil {
					return nil, err
				}
				m[k] = v
			}
			_, err := dec.Token()
			return m, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		return number(string(t))
	default:
		return t, nil // string, bool, nil
	}
}

// number is a whole number as int64 when it fits, otherwise a double.
func number(s string) (any, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, fmt.Errorf("number %q: %w", cut(s, 40), err)
	}
	return f, nil
}

func decodeYAML(data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, errors.New(yamlError(err))
	}
	if doc.Kind == 0 {
		return nil, nil // empty document
	}
	var b budget
	return yamlValue(&doc, &b, 0)
}

func yamlValue(n *yaml.Node, b *budget, depth int) (any, error) {
	if err := b.take(depth); err != nil {
		return nil, err
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlValue(n.Content[0], b, depth)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("line %d: unknown alias", n.Line)
		}
		return yamlValue(n.Alias, b, depth+1)
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c, b, depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a mapping key must be a scalar", k.Line)
			}
			v, err := yamlValue(n.Content[i+1], b, depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.ScalarNode:
		return yamlScalar(n)
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

func yamlScalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var v bool
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		return v, nil
	case "!!int":
		var v int64
		if err := n.Decode(&v); err == nil {
			return v, nil
		}
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, err
		}
		return f, nil
	case "!!float":
		var v float64
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		return v, nil
	}
	return n.Value, nil // strings, timestamps, binary: as written
}

// The JUnit XML report, as the common tools write it: a testsuites root
// with testsuite children, or a single testsuite root.
type junitSuite struct {
	XMLName  xml.Name
	Name     string       `xml:"name,attr"`
	Tests    string       `xml:"tests,attr"`
	Failures string       `xml:"failures,attr"`
	Errors   string       `xml:"errors,attr"`
	Skipped  string       `xml:"skipped,attr"`
	Disabled string       `xml:"disabled,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
	Cases    []junitCase  `xml:"testcase"`
}

type junitCase struct {
	Failures []struct{} `xml:"failure"`
	Errors   []struct{} `xml:"error"`
	Skipped  []struct{} `xml:"skipped"`
}

// maxSuites bounds the suites of a report.
const maxSuites = 10_000

// decodeJUnit reads a JUnit report; ok is false for XML that is not one.
func decodeJUnit(data []byte) (any, bool, error) {
	root, err := xmlRoot(data)
	if err != nil {
		return nil, false, err
	}
	if root != "testsuites" && root != "testsuite" {
		return nil, false, nil
	}
	var top junitSuite
	if err := xml.Unmarshal(data, &top); err != nil {
		return nil, true, err
	}
	var suites []junitSuite
	if root == "testsuite" {
		suites = []junitSuite{top}
	} else {
		suites = top.Suites
	}
	var flat []map[string]any
	var sum [4]int64
	var sumTime float64
	var walk func(ss []junitSuite, depth int) error
	walk = func(ss []junitSuite, depth int) error {
		if depth > MaxDepth {
			return fmt.Errorf("testsuites nested deeper than %d levels", MaxDepth)
		}
		for _, s := range ss {
			if len(flat) >= maxSuites {
				return fmt.Errorf("more than %d test suites", maxSuites)
			}
			var c [4]int64
			counted := [4]int64{int64(len(s.Cases)), 0, 0, 0}
			for _, tc := range s.Cases {
				counted[1] += int64(len(tc.Failures))
				counted[2] += int64(len(tc.Errors))
				counted[3] += int64(len(tc.Skipped))
			}
			for i, a := range []string{s.Tests, s.Failures, s.Errors, s.Skipped} {
				if i == 3 && a == "" {
					a = s.Disabled
				}
				n, err := attrInt(a, counted[i])
				if err != nil {
					return fmt.Errorf("testsuite %q: %w", cut(s.Name, 60), err)
				}
				c[i] = n
				sum[i] += n
			}
			t, err := attrFloat(s.Time)
			if err != nil {
				return fmt.Errorf("testsuite %q: %w", cut(s.Name, 60), err)
			}
			sumTime += t
			flat = append(flat, map[string]any{"name": s.Name, "tests": c[0], "failures": c[1], "errors": c[2], "skipped": c[3], "time": t})
			if err := walk(s.Suites, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(suites, 0); err != nil {
		return nil, true, err
	}
	out := map[string]any{"tests": sum[0], "failures": sum[1], "errors": sum[2], "skipped": sum[3], "time": sumTime}
	if root == "testsuites" {
		// The root's own totals win where it states them.
		for k, a := range map[string]string{"tests": top.Tests, "failures": top.Failures, "errors": top.Errors, "skipped": top.Skipped} {
			if a != "" {
				n, err := attrInt(a, 0)
				if err != nil {
					return nil, true, fmt.Errorf("testsuites: %w", err)
				}
				out[k] = n
			}
		}
		if top.Time != "" {
			t, err := attrFloat(top.Time)
			if err != nil {
				return nil, true, fmt.Errorf("testsuites: %w", err)
			}
			out["time"] = t
		}
	}
	suitesList := make([]any, len(flat))
	for i, s := range flat {
		suitesList[i] = s
	}
	out["suites"] = suitesList
	return out, true, nil
}

func xmlRoot(data []byte) (string, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		t, err := dec.Token()
		if err != nil {
			return "", fmt.Errorf("no root element: %w", err)
		}
		if se, ok := t.(xml.StartElement); ok {
			return se.Name.Local, nil
		}
	}
}

func attrInt(s string, def int64) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("count %q is not a whole number", cut(s, 40))
	}
	return n, nil
}

func attrFloat(s string) (float64, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", ""))
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("time %q is not a number", cut(s, 40))
	}
	return f, nil
}
