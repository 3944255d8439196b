package policy

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
	"gopkg.in/yaml.v3"

	"github.com/ipos-dev/ipos/internal/identity"
	"github.com/ipos-dev/ipos/internal/resource"
)

// loadPolicies parses a manifest file into the engine's input.
func loadPolicies(t testing.TB, name string, data []byte) ([]Policy, error) {
	t.Helper()
	objs, err := resource.DefaultRegistry().Parse(name, data)
	if err != nil {
		return nil, err
	}
	var out []Policy
	for _, o := range objs {
		spec, ok := o.Spec.(*resource.PolicySpec)
		if !ok {
			t.Fatalf("%s: %s is not a Policy", name, o.Ref())
		}
		out = append(out, Policy{Name: o.Metadata.Name, Spec: spec})
	}
	return out, nil
}

func testEngine(t testing.TB) *Engine {
	t.Helper()
	data, err := os.ReadFile("testdata/policies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := loadPolicies(t, "policies.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), ps, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type decisionTable struct {
	Subjects map[string]identity.Subject `yaml:"subjects"`
	Objects  map[string]Object           `yaml:"objects"`
	Cases    []struct {
		Subject string            `yaml:"subject"`
		Action  string            `yaml:"action"`
		Object  string            `yaml:"object"`
		Allow   bool              `yaml:"allow"`
		Policy  string            `yaml:"policy"`
		Reason  string            `yaml:"reason"`
		Masks   map[string]string `yaml:"masks"`
		Filters []string          `yaml:"filters"`
	} `yaml:"cases"`
}

// TestDecisionTable runs testdata/decisions.yaml against
// testdata/policies.yaml.
func TestDecisionTable(t *testing.T) {
	e := testEngine(t)
	data, err := os.ReadFile("testdata/decisions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var table decisionTable
	if err := yaml.Unmarshal(data, &table); err != nil {
		t.Fatal(err)
	}
	if len(table.Cases) == 0 {
		t.Fatal("no cases")
	}
	for i, c := range table.Cases {
		sub, ok := table.Subjects[c.Subject]
		obj, ok2 := table.Objects[c.Object]
		if !ok || !ok2 {
			t.Fatalf("case %d: unknown subject %q or object %q", i, c.Subject, c.Object)
		}
		d, err := e.Decide(context.Background(), sub, c.Action, obj)
		if err != nil {
			t.Errorf("case %d (%s %s %s): %v", i, c.Subject, c.Action, c.Object, err)
			continue
		}
		name := c.Subject + " " + c.Action + " " + obj.Name
		if d.Allow != c.Allow || d.Policy != c.Policy {
			t.Errorf("%s: allow=%v policy=%s, want allow=%v policy=%s; reasons %q", name, d.Allow, d.Policy, c.Allow, c.Policy, d.Reasons)
		}
		if len(d.Reasons) == 0 {
			t.Errorf("%s: no reasons", name)
		}
		if c.Reason != "" && !slices.Contains(d.Reasons, c.Reason) {
			t.Errorf("%s: reasons %q lack %q", name, d.Reasons, c.Reason)
		}
		masks := map[string]string{}
		for col, m := range d.ColumnMasks {
			masks[col] = m.Expression
		}
		if len(masks) == 0 {
			masks = nil
		}
		if !reflect.DeepEqual(masks, c.Masks) {
			t.Errorf("%s: masks\n got %q\nwant %q", name, masks, c.Masks)
		}
		var filters []string
		for _, f := range d.RowFilters {
			filters = append(filters, f.Expression)
		}
		if !reflect.DeepEqual(filters, c.Filters) {
			t.Errorf("%s: filters %q, want %q", name, filters, c.Filters)
		}
	}
}

// TestDecisionOrderIndependent: the same policies in any order decide the
// same.
func TestDecisionOrderIndependent(t *testing.T) {
	data, _ := os.ReadFile("testdata/policies.yaml")
	ps, err := loadPolicies(t, "policies.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(ps)
	rev, err := New(context.Background(), ps, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fwd := testEngine(t)
	sub := identity.Subject{Name: "mark", Attributes: identity.Attributes{Roles: []string{"analyst"}, Organisation: "acme", Purpose: "marketing"}}
	obj := Object{Name: "covid.cases", Columns: []Column{{Name: "email"}, {Name: "ssn", Tags: []string{"pii"}}}}
	for _, action := range resource.PolicyActions {
		a, _ := fwd.Decide(context.Background(), sub, action, obj)
		b, _ := rev.Decide(context.Background(), sub, action, obj)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: %+v != %+v", action, a, b)
		}
	}
}

func TestDecideUnknownAction(t *testing.T) {
	e := testEngine(t)
	d, err := e.Decide(context.Background(), identity.Subject{Name: "owner", Owner: true}, "drop", Object{Name: "x"})
	if !errors.Is(err, ErrUnknownAction) || d.Allow {
		t.Errorf("decision %+v, err %v", d, err)
	}
}

// TestHostilePolicies: every file of testdata/hostile.txtar is a policy
// that must be refused when parsed or applied (want-parse: …) or whose
// evaluation must fail closed (want-decide: …), never crash.
func TestHostilePolicies(t *testing.T) {
	ar, err := txtar.ParseFile("testdata/hostile.txtar")
	if err != nil {
		t.Fatal(err)
	}
	sub := identity.Subject{Name: "ann", DID: "did:key:z6MkAnn", Attributes: identity.Attributes{Roles: []string{"analyst"}}}
	obj := Object{Name: "covid.cases", Columns: []Column{{Name: "email", Tags: []string{"pii"}}}}
	for _, f := range ar.Files {
		t.Run(f.Name, func(t *testing.T) {
			text := string(f.Data)
			first, _, _ := strings.Cut(text, "\n")
			kind, want, ok := strings.Cut(strings.TrimPrefix(first, "# "), ": ")
			if !ok {
				t.Fatalf("first line must be '# want-parse: …' or '# want-decide: …'")
			}
			ps, err := loadPolicies(t, f.Name, f.Data)
			if kind == "want-parse" {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("parse error = %v, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			e, err := New(context.Background(), ps, Options{RegoTimeout: 300 * time.Millisecond, MaxRegoResult: 64 << 10})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			start := time.Now()
			d, err := e.Decide(context.Background(), sub, "query", obj)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("decide error = %v, want %q", err, want)
			}
			if d.Allow || len(d.Reasons) == 0 {
				t.Errorf("a failing policy must deny with a reason: %+v", d)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %s", el)
			}
		})
	}
}

func TestDecisionJSONShape(t *testing.T) {
	e := testEngine(t)
	sub := identity.Subject{Name: "ann", Attributes: identity.Attributes{Roles: []string{"analyst"}, Organisation: "acme"}}
	d, err := e.Decide(context.Background(), sub, "query", Object{Name: "covid.cases", Columns: []Column{{Name: "email"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"allow":true`, `"rowFilters":[{"expression":"org = 'acme'"}]`, `"email":{"expression":"CASE WHEN`, `"reasons":[`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}

// FuzzPolicy checks that any manifest either fails to parse with field
// errors or gives an engine whose decisions never panic and always carry
// a reason.
func FuzzPolicy(f *testing.F) {
	if data, err := os.ReadFile("testdata/policies.yaml"); err == nil {
		f.Add(data)
	}
	if ar, err := txtar.ParseFile("testdata/hostile.txtar"); err == nil {
		for _, file := range ar.Files {
			f.Add(file.Data)
		}
	}
	sub := identity.Subject{Name: "ann", Attributes: identity.Attributes{Roles: []string{"analyst"}, Organisation: "o'x"}}
	obj := Object{Name: "covid.cases", Tags: []string{"secret"}, Columns: []Column{{Name: "email", Tags: []string{"pii"}}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := resource.DefaultRegistry().Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		var ps []Policy
		for _, o := range objs {
			if spec, ok := o.Spec.(*resource.PolicySpec); ok {
				ps = append(ps, Policy{Name: o.Metadata.Name, Spec: spec})
			}
		}
		e, err := New(context.Background(), ps, Options{RegoTimeout: 50 * time.Millisecond, MaxRegoResult: 1 << 16})
		if err != nil {
			return
		}
		for _, a := range resource.PolicyActions {
			d, _ := e.Decide(context.Background(), sub, a, obj)
			if len(d.Reasons) == 0 {
				t.Fatalf("%s: decision without a reason: %+v", a, d)
			}
		}
	})
}
