package resource

import (
	"strings"
	"testing"
)

// TestContractManifest parses a good contract and prints it back the
// same, numbers kept as written.
func TestContractManifest(t *testing.T) {
	src := `apiVersion: ipos.dev/v1alpha1
kind: Contract
metadata:
  name: rates
spec:
  dataset: org.example.rates
  version: 1.2.3
  columns:
    - name: rate
      logicalType: number
      required: true
      minimum: 0
      maximum: 2.5e3
  quality:
    - metric: rowCount
      mustBeBetween: [1, 10]
  sla:
    latency: 2d
`
	objs, err := DefaultRegistry().Parse("c.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s := objs[0].Spec.(*ContractSpec)
	if s.Columns[0].Maximum.Float() != 2500 || s.Quality[0].MustBeBetween[1].Float() != 10 || s.Major() != 1 {
		t.Errorf("spec: %+v", s)
	}
	if deps := objs[0].Dependencies(); len(deps) != 1 || deps[0] != (Ref{Kind: "Dataset", Name: "org.example.rates"}) {
		t.Errorf("dependencies %v", deps)
	}
	out, err := MarshalYAML(objs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "maximum: 2.5e3") || !strings.Contains(string(out), "- 10") {
		t.Errorf("printed:\n%s", out)
	}
	again, err := DefaultRegistry().Parse("printed.yaml", out)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := objs[0].Canonical()
	b, _ := again[0].Canonical()
	if string(a) != string(b) {
		t.Errorf("canonical forms differ:\n%s\n%s", a, b)
	}
}

// TestContractProblems checks that every problem of a bad contract is
// reported at once, each with its path and line.
func TestContractProblems(t *testing.T) {
	src := `apiVersion: ipos.dev/v1alpha1
kind: Contract
metadata:
  name: bad
spec:
  dataset: "not a name"
  version: v1
  columns:
    - {name: a, logicalType: text}
    - {name: a, pattern: "(", minimum: 5, maximum: 1}
    - {name: d, logicalType: date, minimum: 0}
  quality:
    - {metric: nullValues, mustBe: 0}
    - {metric: rowCount, column: a, unit: percent, mustBe: 1}
    - {metric: invalidValues, column: a, mustBe: 0}
    - {query: "SELECT 1", mustBetween: [1, 2]}
    - {metric: nullValues, column: zz, mustBe: x}
    - {metric: rowCount, mustBeBetween: [3, 1], severity: fatal, scope: all}
  sla: {latency: soon}
`
	_, err := DefaultRegistry().Parse("bad.yaml", []byte(src))
	if err == nil {
		t.Fatal("a bad contract parsed")
	}
	for _, want := range []string{
		`line 6: spec.dataset: invalid dataset name`,
		`line 7: spec.version: invalid version "v1"`,
		`line 9: spec.columns[0].logicalType: unknown value "text"`,
		`line 10: spec.columns[1].name: column "a" is declared twice`,
		`spec.columns[1].pattern: invalid regular expression`,
		`spec.columns[1].maximum: maximum 1 is below minimum 5`,
		`line 11: spec.columns[2]: minimum and maximum bound numbers`,
		`line 13: spec.quality[0].column: missing required field`,
		`line 14: spec.quality[1].column: rowCount counts rows`,
		`spec.quality[1].unit: rowCount is a number of rows`,
		`line 15: spec.quality[2]: invalidValues needs validValues or a pattern`,
		`line 16: spec.quality[3]: unknown field "mustBetween" (did you mean "mustBeBetween"?)`,
		`line 17: spec.quality[4].mustBe: expected a number`,
		`line 18: spec.quality[5].severity: unknown value "fatal"`,
		`spec.quality[5].scope: unknown value "all"`,
		`spec.quality[5].mustBeBetween: low 3 is above high 1`,
		`line 19: spec.sla.latency: invalid latency "soon"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing problem %q in:\n%v", want, err)
		}
	}
}

func TestParseLatency(t *testing.T) {
	for s, want := range map[string]float64{"90m": 5400, "6h": 21600, "1.5d": 129600, "2w": 1209600, "1h30m": 5400} {
		d, err := ParseLatency(s)
		if err != nil || d.Seconds() != want {
			t.Errorf("ParseLatency(%q) = %v, %v; want %vs", s, d, err, want)
		}
	}
	for _, s := range []string{"", "0s", "-1h", "soon", "1y"} {
		if _, err := ParseLatency(s); err == nil {
			t.Errorf("ParseLatency(%q) accepted", s)
		}
	}
}
