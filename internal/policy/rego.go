package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/ipos-dev/ipos/internal/identity"
	"github.com/ipos-dev/ipos/internal/resource"
)

// regoModule is one policy's compiled module, prepared once.
type regoModule struct {
	pq rego.PreparedEvalQuery
}

// regoResult is what a module said about one question.
type regoResult struct {
	allow, deny []string
	masks       map[string]*resource.ColumnMask
	maskColumns []string // sorted keys of masks
	rowFilters  []string
}

func prepareRego(ctx context.Context, src string, opts Options) (*regoModule, error) {
	mod, err := resource.ParseRego(src)
	if err != nil {
		return nil, err
	}
	unsafe := map[string]struct{}{}
	for _, b := range resource.RegoUnsafeBuiltins {
		unsafe[b] = struct{}{}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*opts.RegoTimeout)
	defer cancel()
	pq, err := rego.New(
		rego.Query("data."+resource.RegoPackage),
		rego.ParsedModule(mod),
		rego.UnsafeBuiltins(unsafe),
		rego.StrictBuiltinErrors(true),
		rego.SetRegoVersion(ast.RegoV1),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, err
	}
	return &regoModule{pq: pq}, nil
}

// regoInput is the input document of the Rego contract (see doc.go).
func regoInput(sub identity.Subject, action string, obj Object) map[string]any {
	strs := func(ss []string) []any {
		out := make([]any, len(ss))
		for i, s := range ss {
			out[i] = s
		}
		return out
	}
	cols := make([]any, len(obj.Columns))
	for i, c := range obj.Columns {
		cols[i] = map[string]any{"name": c.Name, "tags": strs(c.Tags)}
	}
	return map[string]any{
		"subject": map[string]any{
			"name": sub.Name, "did": sub.DID, "owner": sub.Owner,
			"roles": strs(sub.Attributes.Roles), "groups": strs(sub.Attributes.Groups),
			"org": sub.Attributes.Organisation, "purpose": sub.Attributes.Purpose,
		},
		"action": action,
		"object": map[string]any{"name": obj.Name, "tags": strs(obj.Tags), "columns": cols},
	}
}

// eval runs the module with a deadline and decodes its answer; a panic
// inside OPA is an error too.
func (m *regoModule) eval(ctx context.Context, input map[string]any, opts Options) (res *regoResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("evaluation failed: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, opts.RegoTimeout)
	defer cancel()
	rs, err := m.pq.Eval(ctx, rego.EvalInput(input))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("evaluation did not finish within %s", opts.RegoTimeout)
		}
		return nil, err
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return &regoResult{}, nil
	}
	doc := rs[0].Expressions[0].Value
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("result: %w", err)
	}
	if len(raw) > opts.MaxRegoResult {
		return nil, fmt.Errorf("result is %d bytes of JSON; the limit is %d", len(raw), opts.MaxRegoResult)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("data.%s is %T, want an object", resource.RegoPackage, doc)
	}
	return decodeRego(obj)
}

func decodeRego(doc map[string]any) (*regoResult, error) {
	res := &regoResult{}
	var errs []error
	var err error
	if res.allow, err = reasons("allow", doc["allow"]); err != nil {
		errs = append(errs, err)
	}
	if res.deny, err = reasons("deny", doc["deny"]); err != nil {
		errs = append(errs, err)
	}
	if v, ok := doc["row_filters"]; ok {
		list, ok := v.([]any)
		if !ok {
			errs = append(errs, fmt.Errorf("row_filters is %s, want a set or array of strings", typeName(v)))
		}
		for i, f := range list {
			s, ok := f.(string)
			if !ok {
				errs = append(errs, fmt.Errorf("row_filters[%d] is %s, want a string", i, typeName(f)))
				continue
			}
			res.rowFilters = append(res.rowFilters, s)
		}
		sort.Strings(res.rowFilters)
	}
	if v, ok := doc["masks"]; ok {
		obj, ok := v.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("masks is %s, want an object of column: {operator: …}", typeName(v)))
		}
		res.masks = map[string]*resource.ColumnMask{}
		for col, spec := range obj {
			m, err := decodeMask(col, spec)
			if err != nil {
				errs = append(errs, fmt.Errorf("masks[%q]: %w", col, err))
				continue
			}
			res.masks[col] = m
			res.maskColumns = append(res.maskColumns, col)
		}
		sort.Strings(res.maskColumns)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return res, nil
}

// reasons reads allow or deny: true, false, or a set of strings.
func reasons(name string, v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool:
		if x {
			return []string{name}, nil
		}
		return nil, nil
	case []any:
		var out []string
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s[%d] is %s, want a string", name, i, typeName(e))
			}
			out = append(out, s)
		}
		sort.Strings(out)
		return slices.Compact(out), nil
	}
	return nil, fmt.Errorf("%s is %s, want a boolean or a set of strings", name, typeName(v))
}

// decodeMask reads {operator, salt, value, buckets, precision, pattern,
// replacement} and validates it as a manifest mask on that column.
func decodeMask(col string, v any) (*resource.ColumnMask, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("is %s, want an object with an operator", typeName(v))
	}
	m := &resource.ColumnMask{Columns: []string{col}}
	strField := func(key string, dst *string) error {
		x, ok := obj[key]
		if !ok {
			return nil
		}
		s, ok := x.(string)
		if !ok {
			return fmt.Errorf("%s is %s, want a string", key, typeName(x))
		}
		*dst = s
		return nil
	}
	var errs []error
	for key := range obj {
		switch key {
		case "operator", "salt", "value", "precision", "pattern", "replacement", "buckets":
		default:
			errs = append(errs, fmt.Errorf("unknown field %q", key))
		}
	}
	for key, dst := range map[string]*string{"operator": &m.Operator, "salt": &m.Salt, "value": &m.Value,
		"precision": &m.Precision, "pattern": &m.Pattern, "replacement": &m.Replacement} {
		if err := strField(key, dst); err != nil {
			errs = append(errs, err)
		}
	}
	if b, ok := obj["buckets"]; ok {
		list, ok := b.([]any)
		if !ok {
			errs = append(errs, fmt.Errorf("buckets is %s, want an array of numbers", typeName(b)))
		}
		for i, e := range list {
			n, ok := e.(json.Number)
			f, err := n.Float64()
			if !ok || err != nil {
				errs = append(errs, fmt.Errorf("buckets[%d] is %s, want a number", i, typeName(e)))
				continue
			}
			m.Buckets = append(m.Buckets, resource.NewNumber(f))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if fes := m.Validate("mask"); len(fes) > 0 {
		for _, fe := range fes {
			errs = append(errs, fmt.Errorf("%s: %s", fe.Path, fe.Msg))
		}
		return nil, errors.Join(errs...)
	}
	return m, nil
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number, float64, int:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
