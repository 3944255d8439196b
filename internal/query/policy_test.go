package query

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ipos-dev/ipos/internal/audit"
	"github.com/ipos-dev/ipos/internal/identity"
	"github.com/ipos-dev/ipos/internal/ingest/ingesttest"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/policy"
	"github.com/ipos-dev/ipos/internal/resource"
	"github.com/ipos-dev/ipos/internal/workspace"
)

const policyManifests = `
kind: DatasetSnapshot
version: 1
content:
  name: people
  kind: Root
  metadata:
    - kind: AddPushSource
      sourceName: default
      read:
        kind: NdJson
        schema:
          fields:
            - { name: name, type: String }
            - { name: email, type: String }
            - { name: org, type: String }
            - { name: amount, type: Int64 }
      merge:
        kind: Append
---
kind: DatasetSnapshot
version: 1
content:
  name: secret
  kind: Root
  metadata:
    - kind: AddPushSource
      sourceName: default
      read:
        kind: NdJson
        schema:
          fields:
            - { name: x, type: String }
      merge:
        kind: Append
`

var testSubjects = map[string]identity.Subject{
	"analyst":  {Name: "analyst", DID: "did:key:z6MkAnalyst", Attributes: identity.Attributes{Roles: []string{"analyst"}, Organisation: "acme"}},
	"injector": {Name: "injector", DID: "did:key:z6MkInjector", Attributes: identity.Attributes{Roles: []string{"analyst"}, Organisation: "acme' OR '1'='1"}},
	"owner":    {Name: "owner", DID: "did:key:z6MkOwner", Owner: true},
	"stranger": {Name: "stranger", DID: "did:key:z6MkStranger"},
}

type policyFixture struct {
	ctx      context.Context
	w        *workspace.Workspace
	policies *policy.Engine
	first    odf.Multihash // people's first AddData block
	file     string        // a data file of people
}

func newPolicyFixture(t testing.TB) *policyFixture {
	t.Helper()
	e := ingesttest.New(t, policyManifests, t0)
	ctx, w := e.Ctx, e.W
	f := &policyFixture{ctx: ctx, w: w}
	push := func(name, content string) odf.Multihash { return e.Push(t, name, content).Head }
	f.first = push("people", `{"name":"ann","email":"ann@acme","org":"acme","amount":10}
{"name":"bob","email":"bob@other","org":"other","amount":20}
{"name":"cy","email":"cy@acme","org":"acme","amount":30}
`)
	push("secret", `{"x":"s"}`+"\n")
	push("people", `{"name":"dee","email":"dee@other","org":"other","amount":40}`+"\n")
	d, err := w.Dataset(ctx, "people")
	if err != nil {
		t.Fatal(err)
	}
	files, err := d.DataFiles(ctx)
	d.Close()
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	f.file = files[0]
	data, err := os.ReadFile("testdata/policies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := resource.DefaultRegistry().Parse("policies.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	var ps []policy.Policy
	for _, o := range objs {
		ps = append(ps, policy.Policy{Name: o.Metadata.Name, Spec: o.Spec.(*resource.PolicySpec)})
	}
	if f.policies, err = policy.New(ctx, ps, policy.Options{}); err != nil {
		t.Fatal(err)
	}
	return f
}

// memAudit records entries in memory.
type memAudit struct {
	mu      sync.Mutex
	entries []audit.Entry
	fail    error
}

func (m *memAudit) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return audit.Entry{}, m.fail
	}
	m.entries = append(m.entries, e)
	return e, nil
}

func (f *policyFixture) open(t testing.TB, subject, asAt string, rec Recorder) *Session {
	t.Helper()
	sub, ok := testSubjects[subject]
	if !ok {
		t.Fatalf("unknown subject %s", subject)
	}
	s, err := Open(f.ctx, f.w, Options{AsAt: asAt, Access: &Access{
		Subject: sub, Action: policy.ActionQuery, Policies: f.policies, Audit: rec,
		Object: func(name string) policy.Object {
			if name == "people" {
				return policy.Object{Columns: []policy.Column{{Name: "email", Tags: []string{"pii"}}}}
			}
			return policy.Object{}
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestPolicyBypass runs testdata/bypass.yaml: every attempt to reach
// unmasked or filtered-out data gets masked, filtered rows or a refusal.
func TestPolicyBypass(t *testing.T) {
	f := newPolicyFixture(t)
	data, err := os.ReadFile("testdata/bypass.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name    string   `yaml:"name"`
		Subject string   `yaml:"subject"`
		AsAt    string   `yaml:"asAt"`
		SQL     string   `yaml:"sql"`
		Rows    []string `yaml:"rows"`
		Error   string   `yaml:"error"`
		OK      bool     `yaml:"ok"`
	}
	if err := yaml.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	sessions := map[string]*Session{}
	outer := t
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Subject == "" {
				c.Subject = "analyst"
			}
			at := ""
			if c.AsAt == "first" {
				at = f.first.String()
			}
			key := c.Subject + "@" + at
			s := sessions[key]
			if s == nil {
				s = f.open(outer, c.Subject, at, nil)
				sessions[key] = s
			}
			q := strings.NewReplacer("$FILE", f.file, "$DIR", filepath.Dir(f.file)).Replace(c.SQL)
			res, err := s.Query(f.ctx, q)
			switch {
			case c.Error != "":
				if err == nil || !strings.Contains(err.Error(), c.Error) {
					t.Fatalf("err = %v, want %q (rows %v)", err, c.Error, res)
				}
				return
			case err != nil:
				t.Fatalf("%s: %v", q, err)
			case c.OK:
				return
			}
			got := []string{}
			for _, r := range res.Rows {
				parts := make([]string, len(r))
				for i, v := range r {
					parts[i] = fmt.Sprint(v)
				}
				got = append(got, strings.Join(parts, " "))
			}
			if c.Rows == nil {
				c.Rows = []string{}
			}
			if !reflect.DeepEqual(got, c.Rows) {
				t.Errorf("rows\n got %q\nwant %q", got, c.Rows)
			}
		})
	}
	// Sessions are opened lazily per subject; make sure the cases ran
	// against at least the analyst, the owner and as-at.
	if len(sessions) < 4 {
		t.Errorf("only %d sessions", len(sessions))
	}
}

// TestPolicyAudit: a query records the decision behind every dataset it
// reads, denied ones included; a failing audit log refuses the query.
func TestPolicyAudit(t *testing.T) {
	f := newPolicyFixture(t)
	rec := &memAudit{}
	s := f.open(t, "analyst", "", rec)
	if _, err := s.Query(f.ctx, `SELECT count(*) FROM people a JOIN people b USING (name)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Query(f.ctx, `SELECT * FROM secret`); err == nil {
		t.Fatal("secret was readable")
	}
	if len(rec.entries) != 2 {
		t.Fatalf("entries = %+v", rec.entries)
	}
	allow, deny := rec.entries[0], rec.entries[1]
	if allow.Outcome != audit.Allow || allow.Object != "people" || allow.Policy != "Policy/analysts" ||
		allow.Details["masked"] != "amount,email" || allow.Details["rowFilters"] != "1" || allow.Actor.Name != "analyst" {
		t.Errorf("allow entry = %+v", allow)
	}
	if deny.Outcome != audit.Deny || deny.Object != "secret" || deny.Policy != "default" || len(deny.Reasons) == 0 {
		t.Errorf("deny entry = %+v", deny)
	}
	rec.fail = fmt.Errorf("disk full")
	if _, err := s.Query(f.ctx, `SELECT count(*) FROM people`); err == nil || !strings.Contains(err.Error(), "could not be recorded") {
		t.Errorf("err = %v", err)
	}
}

// TestPolicyTable: the session says why a dataset has no view.
func TestPolicyTable(t *testing.T) {
	f := newPolicyFixture(t)
	s := f.open(t, "analyst", "", nil)
	tb, err := s.Table("secret")
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Columns) != 0 || !strings.HasPrefix(tb.Note, "denied: default deny") || tb.Decision == nil || tb.Decision.Allow {
		t.Errorf("secret = %+v", tb)
	}
	tb, _ = s.Table("people")
	if tb.Decision == nil || !tb.Decision.Allow || len(tb.Columns) != 8 {
		t.Errorf("people = %+v", tb)
	}
}

// TestMaskPruned: a query that does not use a masked column does not
// read it, so its mask costs nothing; one that does, reads it.
func TestMaskPruned(t *testing.T) {
	f := newPolicyFixture(t)
	s := f.open(t, "analyst", "", nil)
	plan := func(sql string) string {
		t.Helper()
		res, err := s.Query(f.ctx, "EXPLAIN "+sql)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(res.Rows)
	}
	if p := plan(`SELECT max(name), count(*) FROM people`); strings.Contains(p, "email") || strings.Contains(p, "md5") {
		t.Errorf("a query without email reads it:\n%s", p)
	}
	if p := plan(`SELECT max(email) FROM people`); !strings.Contains(p, "email") {
		t.Errorf("a query of email does not read it:\n%s", p)
	}
}
