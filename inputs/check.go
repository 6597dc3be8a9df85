package inputs

// check's policy, from any mix of a policy file, an inline policy (step
// input policy) and requirement lines (--require, step input require),
// parsed and compiled before any network call.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/policy"
	"github.com/manifesto-dev/manifesto/steps"
)

// policyDoc is a policy document and where it came from, for messages.
type policyDoc struct {
	data  []byte
	where string
}

// buildPolicy parses docs and the requirement lines of requires (one per
// line; empty lines and lines starting with # are skipped; requireWhere
// names their source, e.g. "--require"), joins them in that order and
// compiles every expression. Every error is a usage error.
func buildPolicy(docs []policyDoc, requires, requireWhere string) (*policy.Policy, error) {
	p := &policy.Policy{}
	for _, d := range docs {
		q, err := policy.Parse(d.data, d.where)
		if err != nil {
			return nil, errdef.Usagef("%v", err)
		}
		p.Join(q)
	}
	n := 0
	for _, line := range strings.Split(requires, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		r, err := policy.ParseRequire(line, fmt.Sprintf("%s #%d", requireWhere, n))
		if err != nil {
			return nil, errdef.Usagef("%v", err)
		}
		p.Requirements = append(p.Requirements, r)
	}
	if len(p.Requirements) == 0 {
		return nil, errdef.Usagef("check needs requirements: give a policy file (--policy FILE, step input policy_file), an inline policy (step input policy) or --require 'KEY[: EXPR]' (step input require)")
	}
	if err := p.Compile(); err != nil {
		return nil, errdef.Usagef("%v", err)
	}
	return p, nil
}

// readPolicyFile reads a policy file of at most policy.MaxPolicySize
// bytes; label names the setting it came from.
func readPolicyFile(path, label string) ([]byte, error) {
	if err := checkPathChars(path, label); err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, errdef.Usagef("%s: policy file %q does not exist", label, path)
	case err != nil:
		return nil, errdef.Usagef("%s: policy file %q: %v", label, path, pathErr(err))
	case fi.IsDir():
		return nil, errdef.Usagef("%s: policy file %q is a directory", label, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, errdef.Usagef("%s: policy file %q cannot be read: %v", label, path, pathErr(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, policy.MaxPolicySize+1))
	if err != nil {
		return nil, errdef.Usagef("%s: policy file %q cannot be read: %v", label, path, pathErr(err))
	}
	if len(data) > policy.MaxPolicySize {
		return nil, errdef.Usagef("%s: policy file %q is larger than %d KiB", label, path, policy.MaxPolicySize>>10)
	}
	return data, nil
}

// checkInputs reads check's step inputs into spec: the policy (inputs
// policy_file, a file in the workspace; policy, inline YAML; require, one
// requirement per line), compiled, and fail_on_unmet (default true). For
// any other operation they do not apply.
func (b *stepBuilder) checkInputs(spec *opSpec) error {
	inline, file, require := b.in[inPolicy], b.in[inPolicyFile], b.in[inRequire]
	if spec.operation.value != steps.OpCheck {
		for _, in := range []string{inPolicy, inPolicyFile, inRequire} {
			if b.in[in].value != "" {
				return errdef.Usagef("%s does not apply to operation %q", b.label(in), spec.operation.value)
			}
		}
		if b.in[inFailOnUnmet].value != "" {
			if v, err := b.boolInput(inFailOnUnmet, true); err != nil {
				return err
			} else if !v {
				return errdef.Usagef("%s is false, but only check has requirements to leave unmet, not %q", b.label(inFailOnUnmet), spec.operation.value)
			}
		}
		return nil
	}
	var docs []policyDoc
	if file.value != "" {
		label := b.label(inPolicyFile)
		path, err := b.ws.inputFile(opField{name: inPolicyFile, value: file.value, where: label, named: true})
		if err != nil {
			return err
		}
		data, err := readPolicyFile(path, label)
		if err != nil {
			return err
		}
		docs = append(docs, policyDoc{data: data, where: fmt.Sprintf("%s %q", label, file.value)})
	}
	if inline.value != "" {
		docs = append(docs, policyDoc{data: []byte(inline.value), where: b.label(inPolicy)})
	}
	p, err := buildPolicy(docs, require.value, b.label(inRequire))
	if err != nil {
		return err
	}
	failOnUnmet, err := b.boolInput(inFailOnUnmet, true)
	if err != nil {
		return err
	}
	spec.policy, spec.failOnUnmet = p, failOnUnmet
	return nil
}
