package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ipos-dev/ipos/internal/contract"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/resource"
)

// ruleCases is internal/contract/testdata/rules.yaml.
type ruleCases struct {
	Prev  string `yaml:"prev"`
	Slice string `yaml:"slice"`
	Now   string `yaml:"now"`
	Cases []struct {
		Name     string    `yaml:"name"`
		Rule     string    `yaml:"rule"`
		Pass     bool      `yaml:"pass"`
		Observed *float64  `yaml:"observed"`
		Samples  *int      `yaml:"samples"`
		Contract yaml.Node `yaml:"contract"`
	} `yaml:"cases"`
}

// csvToParquet writes CSV text as a Parquet file, as a slice would be.
func sliceFromCSV(t *testing.T, e *Engine, dir, name, csv string) string {
	t.Helper()
	src := writeFile(t, dir, name+".csv", csv)
	out := filepath.Join(dir, name+".parquet")
	q := fmt.Sprintf("COPY (SELECT * FROM read_csv(%s, header=true)) TO %s (FORMAT parquet)", quoteLit(src), quoteLit(out))
	if _, err := e.Query(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	return out
}

// parseContract reads a contract spec given as YAML through the resource
// registry, as apply does.
func parseContract(t *testing.T, spec *yaml.Node) *resource.ContractSpec {
	t.Helper()
	var block func(n *yaml.Node)
	block = func(n *yaml.Node) {
		n.Style &^= yaml.FlowStyle
		for _, c := range n.Content {
			block(c)
		}
	}
	block(spec)
	body, err := yaml.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("apiVersion: ipos.dev/v1alpha1\nkind: Contract\nmetadata: {name: c}\nspec:\n  dataset: t\n  version: 1.0.0\n")
	for _, line := range strings.Split(strings.TrimRight(string(body), "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	objs, err := resource.DefaultRegistry().Parse("case.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return objs[0].Spec.(*resource.ContractSpec)
}

// TestContractRules runs every rule type, passing and failing, on real
// Parquet: the table is internal/contract/testdata/rules.yaml.
func TestContractRules(t *testing.T) {
	data, err := os.ReadFile("../contract/testdata/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tc ruleCases
	if err := yaml.Unmarshal(data, &tc); err != nil {
		t.Fatal(err)
	}
	now, err := time.Parse(time.RFC3339, tc.Now)
	if err != nil {
		t.Fatal(err)
	}
	e := openTest(t)
	dir := t.TempDir()
	prev := sliceFromCSV(t, e, dir, "prev", tc.Prev)
	slice := sliceFromCSV(t, e, dir, "slice", tc.Slice)
	schema := &odf.DataSchema{Fields: []odf.DataField{
		{Name: "id", Type: odf.DataTypeInt64{}},
		{Name: "region", Type: odf.DataTypeOption{Inner: odf.DataTypeString{}}},
		{Name: "email", Type: odf.DataTypeOption{Inner: odf.DataTypeString{}}},
		{Name: "cases", Type: odf.DataTypeInt64{}},
	}}
	ctx := context.Background()
	for _, c := range tc.Cases {
		t.Run(c.Name, func(t *testing.T) {
			spec := parseContract(t, &c.Contract)
			plan, err := contract.Compile("c", spec, contract.DefaultSystemColumns())
			if err != nil {
				t.Fatal(err)
			}
			rep, err := CheckContract(ctx, Config{Threads: 2}, ContractRequest{
				Plans: []*contract.Plan{plan}, Slice: []string{slice}, Prev: []string{prev},
				Schema: schema, Now: now, Samples: 5, Dataset: "t",
			})
			if err != nil {
				t.Fatal(err)
			}
			var found *contract.Result
			var names []string
			for i, r := range rep.Results {
				names = append(names, r.Rule)
				if r.Rule == c.Rule {
					found = &rep.Results[i]
				}
			}
			if found == nil {
				t.Fatalf("no result for rule %q; results: %v", c.Rule, names)
			}
			if found.Passed != c.Pass {
				t.Errorf("%s: passed = %v, want %v", found, found.Passed, c.Pass)
			}
			if c.Observed != nil && (found.Observed == nil || *found.Observed != *c.Observed) {
				t.Errorf("%s: observed %v, want %v", found, found.Observed, *c.Observed)
			}
			if c.Samples != nil && len(found.Samples) != *c.Samples {
				t.Errorf("%s: %d samples, want %d: %v", found, len(found.Samples), *c.Samples, found.Samples)
			}
			if rep.Rejected() != (!c.Pass && found.Severity == contract.SeverityError) {
				t.Errorf("Rejected() = %v with %v", rep.Rejected(), found)
			}
		})
	}
	if _, err := os.Stat("/tmp/ipos-contract-escape.csv"); err == nil {
		t.Error("an SQL rule wrote a file")
	}
}

// TestContractRetractions checks the dataset relation is the rows in
// force: a key retracted and added again is not a duplicate.
func TestContractRetractions(t *testing.T) {
	e := openTest(t)
	dir := t.TempDir()
	prev := sliceFromCSV(t, e, dir, "prev", `offset,op,system_time,event_time,id,v
0,0,2026-11-01 00:00:00,2026-11-01 00:00:00,1,a
1,0,2026-11-01 00:00:00,2026-11-01 00:00:00,2,b
`)
	slice := sliceFromCSV(t, e, dir, "slice", `offset,op,system_time,event_time,id,v
2,2,2026-11-02 00:00:00,2026-11-01 00:00:00,1,a
3,3,2026-11-02 00:00:00,2026-11-01 00:00:00,1,z
`)
	spec := &resource.ContractSpec{Dataset: "t", Version: "1.0.0", Columns: []resource.ContractColumn{
		{Name: "id", PrimaryKey: true},
		{Name: "v", AllowedValues: []string{"b", "z"}},
	}}
	plan, err := contract.Compile("c", spec, contract.DefaultSystemColumns())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := CheckContract(context.Background(), Config{Threads: 1}, ContractRequest{
		Plans: []*contract.Plan{plan}, Slice: []string{slice}, Prev: []string{prev}, Samples: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := rep.Violations(""); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
	if rep.SliceRows != 1 || rep.DatasetRows != 2 {
		t.Errorf("rows: slice %d, dataset %d; want 1 (the +C) and 2", rep.SliceRows, rep.DatasetRows)
	}
}

// TestContractCancel checks that a cancelled context stops the check.
func TestContractCancel(t *testing.T) {
	e := openTest(t)
	dir := t.TempDir()
	slice := sliceFromCSV(t, e, dir, "slice", "offset,op,system_time,event_time,id\n0,0,2026-11-01 00:00:00,2026-11-01 00:00:00,1\n")
	spec := &resource.ContractSpec{Dataset: "t", Version: "1.0.0", Quality: []resource.QualityRule{{Metric: "rowCount", MustBe: ptrNumber(1)}}}
	plan, err := contract.Compile("c", spec, contract.DefaultSystemColumns())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CheckContract(ctx, Config{Threads: 1}, ContractRequest{Plans: []*contract.Plan{plan}, Slice: []string{slice}}); err == nil {
		t.Fatal("a cancelled check succeeded")
	}
}

func ptrNumber(f float64) *resource.Number {
	n := resource.NewNumber(f)
	return &n
}
