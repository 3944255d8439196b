package contract

import (
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/resource"
)

// specOf reads a spec body (a YAML node) through the resource registry,
// as apply does, filling in dataset d and version 1.0.0 when absent.
func specOf(t *testing.T, n *yaml.Node) *resource.ContractSpec {
	t.Helper()
	var body map[string]any
	if err := n.Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body == nil {
		body = map[string]any{}
	}
	if _, ok := body["dataset"]; !ok {
		body["dataset"] = "d"
	}
	if _, ok := body["version"]; !ok {
		body["version"] = "1.0.0"
	}
	doc := map[string]any{"apiVersion": resource.APIVersion, "kind": "Contract", "metadata": map[string]any{"name": "c"}, "spec": body}
	data, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := resource.DefaultRegistry().Parse("case.yaml", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return objs[0].Spec.(*resource.ContractSpec)
}

// TestDiff runs the table of contract changes in testdata/diff.yaml.
func TestDiff(t *testing.T) {
	data, err := os.ReadFile("testdata/diff.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var table struct {
		Cases []struct {
			Name string    `yaml:"name"`
			Old  yaml.Node `yaml:"old"`
			New  yaml.Node `yaml:"new"`
			Want []string  `yaml:"want"`
		} `yaml:"cases"`
	}
	if err := yaml.Unmarshal(data, &table); err != nil {
		t.Fatal(err)
	}
	for _, c := range table.Cases {
		t.Run(c.Name, func(t *testing.T) {
			d := Diff(specOf(t, &c.Old), specOf(t, &c.New))
			var got []string
			for _, ch := range d.Changes {
				got = append(got, ch.String())
			}
			if strings.Join(got, "\n") != strings.Join(c.Want, "\n") {
				t.Errorf("changes:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(c.Want, "\n  "))
			}
		})
	}
}

func TestNeedsMajor(t *testing.T) {
	old := &resource.ContractSpec{Dataset: "d", Version: "1.4.0", Columns: []resource.ContractColumn{{Name: "a"}}}
	for _, tc := range []struct {
		version string
		cols    []resource.ContractColumn
		want    bool
	}{
		{"1.5.0", nil, true},
		{"2.0.0", nil, false},
		{"1.5.0", []resource.ContractColumn{{Name: "a"}, {Name: "b"}}, false},
	} {
		n := &resource.ContractSpec{Dataset: "d", Version: tc.version, Columns: tc.cols}
		if got := Diff(old, n).NeedsMajor(old, n); got != tc.want {
			t.Errorf("1.4.0 → %s with %v: NeedsMajor = %v, want %v", tc.version, tc.cols, got, tc.want)
		}
	}
}

func TestThresholds(t *testing.T) {
	for _, tc := range []struct {
		th   Threshold
		v    float64
		want bool
	}{
		{Threshold{Op: "mustBe", A: 0}, 0, true},
		{Threshold{Op: "mustBe", A: 0}, 1, false},
		{Threshold{Op: "mustNotBe", A: 0}, 1, true},
		{Threshold{Op: "mustNotBe", A: 0}, 0, false},
		{Threshold{Op: "mustBeGreaterThan", A: 5}, 6, true},
		{Threshold{Op: "mustBeGreaterThan", A: 5}, 5, false},
		{Threshold{Op: "mustBeGreaterOrEqualTo", A: 5}, 5, true},
		{Threshold{Op: "mustBeGreaterOrEqualTo", A: 5}, 4.9, false},
		{Threshold{Op: "mustBeLessThan", A: 5}, 4, true},
		{Threshold{Op: "mustBeLessThan", A: 5}, 5, false},
		{Threshold{Op: "mustBeLessOrEqualTo", A: 5}, 5, true},
		{Threshold{Op: "mustBeLessOrEqualTo", A: 5}, 6, false},
		{Threshold{Op: "mustBeBetween", A: 1, B: 3}, 3, true},
		{Threshold{Op: "mustBeBetween", A: 1, B: 3}, 0, false},
		{Threshold{Op: "mustNotBeBetween", A: 1, B: 3}, 4, true},
		{Threshold{Op: "mustNotBeBetween", A: 1, B: 3}, 2, false},
		{Threshold{Op: "mustBe", A: 0}, math.NaN(), false},
	} {
		if got := tc.th.Holds(tc.v); got != tc.want {
			t.Errorf("%s holds for %v = %v, want %v", tc.th, tc.v, got, tc.want)
		}
	}
}

// TestQuotedSQL checks that names and values from a contract cannot
// change the SQL around them.
func TestQuotedSQL(t *testing.T) {
	spec := &resource.ContractSpec{Dataset: "d", Version: "1.0.0", Columns: []resource.ContractColumn{
		{Name: `a" OR 1=1 --`, Required: true, AllowedValues: []string{`x' OR '1'='1`}, Pattern: `'; DROP TABLE t; --`},
	}}
	p, err := Compile("c", spec, DefaultSystemColumns())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Checks {
		agg := c.Aggregate()
		for _, want := range []string{`"a"" OR 1=1 --"`} {
			if !strings.Contains(agg, want) {
				t.Errorf("%s: %s does not quote the column as %s", c.Rule, agg, want)
			}
		}
		if strings.Contains(agg, `'x' OR`) || strings.Contains(agg, `''; DROP`) && !strings.Contains(agg, `'''; DROP`) {
			t.Errorf("%s: literal not quoted: %s", c.Rule, agg)
		}
	}
	if got := QuoteLit(`x' OR '1'='1`); got != `'x'' OR ''1''=''1'` {
		t.Errorf("QuoteLit = %s", got)
	}
}

func TestCheckSchema(t *testing.T) {
	spec := &resource.ContractSpec{Dataset: "d", Version: "1.0.0", Columns: []resource.ContractColumn{
		{Name: "day", LogicalType: "date", Required: true},
		{Name: "n", LogicalType: "number"},
		{Name: "s", LogicalType: "string"},
		{Name: "gone", Required: true},
		{Name: "maybe"},
	}}
	p, err := Compile("c", spec, SystemColumns{EventTime: "day"})
	if err != nil {
		t.Fatal(err)
	}
	schema := &odf.DataSchema{Fields: []odf.DataField{
		{Name: "day", Type: odf.DataTypeTimestamp{}},
		{Name: "n", Type: odf.DataTypeOption{Inner: odf.DataTypeInt32{}}},
		{Name: "s", Type: odf.DataTypeInt64{}},
	}}
	got := map[string]bool{}
	for _, r := range CheckSchema(p, schema) {
		got[r.Column] = r.Passed
	}
	want := map[string]bool{"day": true, "n": true, "s": false, "gone": false, "maybe": true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("passed by column = %v, want %v", got, want)
	}
	if CheckSchema(p, nil) != nil {
		t.Error("a dataset without a schema yet has schema results")
	}
}

// TestODCSRoundTrip exports a contract as ODCS and imports it back: the
// same contract, with no changes between them.
func TestODCSRoundTrip(t *testing.T) {
	data, err := os.ReadFile("testdata/contract.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := resource.DefaultRegistry().Parse("contract.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	spec := objs[0].Spec.(*resource.ContractSpec)
	out, err := ExportODCS(objs[0].Metadata.Name, spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"apiVersion: v3.0.2", "kind: DataContract", "physicalName: covid.cases", "classification: pii",
		"metric: duplicateValues", "type: sql", "property: latency", "element: covid.cases.date"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("export lacks %q:\n%s", want, out)
		}
	}
	back, err := ImportODCS("export.yaml", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if back.Metadata.Name != objs[0].Metadata.Name {
		t.Errorf("name %q, want %q", back.Metadata.Name, objs[0].Metadata.Name)
	}
	if d := Diff(spec, back.Spec.(*resource.ContractSpec)); len(d.Changes) > 0 {
		t.Errorf("round trip changed the contract: %v\n%s", d.Changes, out)
	}
}

func TestODCSImport(t *testing.T) {
	data, err := os.ReadFile("testdata/orders.odcs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o, err := ImportODCS("orders.odcs.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	s := o.Spec.(*resource.ContractSpec)
	if o.Metadata.Name != "orders" || s.Dataset != "shop.orders" || s.Version != "1.2.0" {
		t.Errorf("name %s, dataset %s, version %s", o.Metadata.Name, s.Dataset, s.Version)
	}
	if len(s.Columns) != 4 || !s.Columns[0].PrimaryKey || s.Columns[2].Classification != "restricted" {
		t.Errorf("columns: %+v", s.Columns)
	}
	if len(s.Quality) != 3 || s.Quality[0].Metric != "duplicateValues" || s.Quality[0].Column != "order_id" ||
		s.Quality[1].Metric != "invalidValues" || len(s.Quality[1].ValidValues) != 3 || s.Quality[2].Metric != "rowCount" {
		t.Errorf("quality: %+v", s.Quality)
	}
	if s.SLA == nil || s.SLA.Latency != "4h" || s.SLA.Element != "placed_at" {
		t.Errorf("sla: %+v", s.SLA)
	}
	for _, bad := range []string{
		"apiVersion: v2.2.0\nkind: DataContract\nid: x\nversion: 1.0.0\nschema: [{name: t}]\n",
		"apiVersion: v3.0.0\nkind: DataContract\nid: x\nversion: 1.0.0\nschema: [{name: t}, {name: u}]\n",
		"apiVersion: v3.0.0\nkind: DataContract\nid: x\nversion: 1.0.0\nschema: [{name: t, quality: [{type: custom}]}]\n",
		"apiVersion: v3.0.0\nkind: DataContract\nid: x\nversion: 1.0.0\nschema: [{name: t}]\nslaProperties: [{property: latency, value: 2, unit: fortnights}]\n",
	} {
		if _, err := ImportODCS("bad.yaml", []byte(bad)); err == nil {
			t.Errorf("imported %q", bad)
		}
	}
}

func TestFreshnessObserved(t *testing.T) {
	spec := &resource.ContractSpec{Dataset: "d", Version: "1.0.0", SLA: &resource.ContractSLA{Latency: "1d"}}
	p, err := Compile("c", spec, DefaultSystemColumns())
	if err != nil {
		t.Fatal(err)
	}
	c := &p.Checks[0]
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	newest := float64(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Unix())
	r := Evaluate(p, c, c.Observed(newest, 1, now))
	if r.Passed || r.Severity != SeverityWarning || *r.Observed != 36*3600 {
		t.Errorf("freshness: %v", r.String())
	}
}
