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
