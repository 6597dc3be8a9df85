package policy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// Limits of evaluation: a value crafted to make an expression expensive
// fails its requirement with a reason, never the process.
const (
	// CostLimit is CEL's runtime cost budget of one evaluation (the
	// per-expression limit Kubernetes admission policies use).
	CostLimit = 1_000_000
	// EvalTimeout bounds one evaluation's wall time as well.
	EvalTimeout = 2 * time.Second
	// parserRecursionLimit bounds the nesting of an expression.
	parserRecursionLimit = 64
)

// The variables every expression sees.
const (
	varValue = "value"
	varEntry = "entry"
	varImage = "image"
	varNow   = "now"
)

var (
	envOnce sync.Once
	celEnv  *cel.Env
	envErr  error
)

func env() (*cel.Env, error) {
	envOnce.Do(func() {
		celEnv, envErr = cel.NewEnv(
			cel.Variable(varValue, cel.DynType),
			cel.Variable(varEntry, cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable(varImage, cel.MapType(cel.StringType, cel.StringType)),
			cel.Variable(varNow, cel.TimestampType),
			cel.CrossTypeNumericComparisons(true),
			cel.ParserRecursionLimit(parserRecursionLimit),
			cel.ParserExpressionSizeLimit(MaxExprLen),
		)
	})
	return celEnv, envErr
}

type program struct {
	prg cel.Program
}

// path is a variable's field chain in an expression (value.failed), shown
// with its value when the expression is false.
type path struct {
	id   int64
	text string
	prg  cel.Program
}

func (r *Requirement) compile() error {
	r.prg, r.usesValue, r.paths = nil, false, nil
	if r.Expr == "" {
		return nil
	}
	e, err := env()
	if err != nil {
		return fmt.Errorf("expression environment: %w", err)
	}
	checked, iss := e.Compile(r.Expr)
	if iss != nil && iss.Err() != nil {
		return fmt.Errorf("%s: expression %q does not compile: %s", r.Where, r.Expr, oneLineIssues(iss.Err().Error()))
	}
	if t := checked.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return fmt.Errorf("%s: expression %q is of type %s; it must be a condition (bool)", r.Where, r.Expr, t)
	}
	// No cel.OptTrackState: together with cost tracking it turns the
	// cost limit off (cel-go v0.31); the values shown in a reason come
	// from programs of their own instead (paths).
	prg, err := e.Program(checked, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(100))
	if err != nil {
		return fmt.Errorf("%s: expression %q: %w", r.Where, r.Expr, err)
	}
	r.prg = &program{prg: prg}
	nav := ast.NavigateAST(checked.NativeRep())
	for _, id := range ast.MatchDescendants(nav, ast.KindMatcher(ast.IdentKind)) {
		if id.AsIdent() == varValue {
			r.usesValue = true
		}
	}
	for _, p := range fieldPaths(nav) {
		a, iss := e.Compile(p.text)
		if iss != nil && iss.Err() != nil {
			continue
		}
		if p.prg, err = e.Program(a, cel.CostLimit(CostLimit)); err == nil {
			r.paths = append(r.paths, p)
		}
	}
	return nil
}

// fieldPaths are the longest field chains on a variable (value.a.b, not
// also value.a), in the order they appear.
func fieldPaths(nav ast.NavigableExpr) []path {
	var all []path
	for _, s := range ast.MatchDescendants(nav, ast.KindMatcher(ast.SelectKind)) {
		if s.AsSelect().IsTestOnly() {
			continue
		}
		if t, ok := chain(s); ok {
			all = append(all, path{id: s.ID(), text: t})
		}
	}
	var out []path
	seen := map[string]bool{}
	for _, p := range all {
		longer := false
		for _, q := range all {
			if strings.HasPrefix(q.text, p.text+".") {
				longer = true
				break
			}
		}
		if !longer && !seen[p.text] {
			seen[p.text] = true
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func chain(e ast.Expr) (string, bool) {
	switch e.Kind() {
	case ast.IdentKind:
		switch n := e.AsIdent(); n {
		case varValue, varEntry, varImage:
			return n, true
		}
	case ast.SelectKind:
		s := e.AsSelect()
		if s.IsTestOnly() {
			return "", false
		}
		if t, ok := chain(s.Operand()); ok {
			return t + "." + s.FieldName(), true
		}
	}
	return "", false
}

// oneLineIssues folds CEL's multi-line issue report (message, source line,
// caret) onto one line, keeping the messages with their positions.
func oneLineIssues(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "ERROR:") {
			keep = append(keep, strings.TrimSpace(strings.TrimPrefix(l, "ERROR:")))
		}
	}
	if len(keep) == 0 {
		return strings.Join(strings.Fields(s), " ")
	}
	return strings.Join(keep, "; ")
}

// eval runs the compiled expression; ok is its result, why says what made
// it false or why it could not be judged.
func (r *Requirement) eval(ctx context.Context, vars map[string]any) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, EvalTimeout)
	defer cancel()
	out, _, err := r.prg.prg.ContextEval(ctx, vars)
	if err != nil {
		msg := err.Error()
		switch {
		case strings.Contains(msg, "cost limit exceeded"):
			return false, fmt.Sprintf("%s: evaluation stopped: over the cost limit of %d", r.Expr, CostLimit)
		case errors.Is(ctx.Err(), context.DeadlineExceeded), strings.Contains(msg, "operation interrupted"):
			return false, fmt.Sprintf("%s: evaluation stopped: still running after %v", r.Expr, EvalTimeout)
		}
		return false, fmt.Sprintf("%s failed: %s%s", r.Expr, cut(msg, 200), r.shown(ctx, vars))
	}
	b, isBool := out.(types.Bool)
	if !isBool {
		return false, fmt.Sprintf("%s is %s, not true or false", r.Expr, show(out))
	}
	if b {
		return true, ""
	}
	return false, fmt.Sprintf("%s was false%s", r.Expr, r.shown(ctx, vars))
}

// shown is " (value.failed = 3, ...)": the values of the expression's
// field chains that exist, at most four.
func (r *Requirement) shown(ctx context.Context, vars map[string]any) string {
	var parts []string
	for _, p := range r.paths {
		v, _, err := p.prg.ContextEval(ctx, vars)
		if err != nil || v == nil || types.IsError(v) || types.IsUnknown(v) {
			continue
		}
		parts = append(parts, p.text+" = "+show(v))
		if len(parts) == 4 {
			break
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// show is a short rendering of a CEL value for a reason.
func show(v ref.Val) string {
	var s string
	switch x := v.(type) {
	case types.String:
		s = fmt.Sprintf("%q", string(x))
	case types.Bytes:
		s = fmt.Sprintf("%d bytes", len(x))
	case types.Timestamp:
		s = x.Time.UTC().Format(time.RFC3339)
	case types.Duration:
		s = x.Duration.String()
	case types.Null:
		s = "null"
	case ref.Val:
		switch v.Type() {
		case types.ListType, types.MapType:
			s = v.Type().TypeName()
			if sz, ok := v.(interface{ Size() ref.Val }); ok {
				s = fmt.Sprintf("%s of %v", s, sz.Size().Value())
			}
		default:
			s = fmt.Sprint(v.Value())
		}
	}
	return cut(s, 80)
}

func cut(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "…"
}
