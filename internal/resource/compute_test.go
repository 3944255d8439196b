package resource

import (
	"strings"
	"testing"
	"time"
)

const computeManifests = `
apiVersion: ipos.dev/v1alpha1
kind: Algorithm
metadata: {name: cohort-stats}
spec:
  description: counts and means per group
  wasm:
    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    multihash: f1620741efa311f97686956946758e0d95f70f11ff2da4f2feb7c54314f44134ac49f
  arguments: [{name: group-by, required: true}]
---
apiVersion: ipos.dev/v1alpha1
kind: Agreement
metadata: {name: cohort-study}
spec:
  consumer: analyst
  inputs: [{dataset: patients}]
  algorithm: {name: cohort-stats, sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08}
  arguments: [{name: group-by, values: [region, sex]}]
  limits: {memoryMiB: 128, wallTime: 30s, runs: 3, expires: "2027-01-01T00:00:00Z"}
  output: {maxBytes: 65536, fileTypes: [csv], minCount: 5, smallCounts: suppress, epsilon: 0.5, epsilonBudget: 2}
  price: {perRun: 2, perComputeSecond: 0.25, currency: EUR}
---
apiVersion: ipos.dev/v1alpha1
kind: Job
metadata: {name: cohort-study-1}
spec:
  agreement: cohort-study
  arguments: {group-by: region}
`

func TestComputeKindsParseAndRoundTrip(t *testing.T) {
	reg := DefaultRegistry()
	objs, err := reg.Parse("compute.yaml", []byte(computeManifests))
	if err != nil {
		t.Fatal(err)
	}
	ag := objs[1].Spec.(*AgreementSpec)
	if ag.Output.Epsilon != 0.5 || ag.Output.EpsilonBudget != 2 || ag.Price.PerComputeSecond != 0.25 {
		t.Fatalf("numbers: %+v %+v", ag.Output, ag.Price)
	}
	if ag.Limits.WallTimeOrDefault() != 30*time.Second || ag.Limits.MemoryOrDefault() != 128 {
		t.Fatalf("limits: %+v", ag.Limits)
	}
	if got := refsString(objs[1].Dependencies()); got != "Algorithm/cohort-stats,Dataset/patients" {
		t.Fatalf("agreement dependencies: %s", got)
	}
	if got := refsString(objs[2].Dependencies()); got != "Agreement/cohort-study" {
		t.Fatalf("job dependencies: %s", got)
	}
	// The canonical form reads back to the same objects, floats included.
	for _, o := range objs {
		data, err := o.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		back, err := reg.Parse("canonical.json", data)
		if err != nil {
			t.Fatalf("%s: %v\n%s", o.Ref(), err, data)
		}
		again, _ := back[0].Canonical()
		if string(again) != string(data) {
			t.Fatalf("%s: round trip changed\n%s\n%s", o.Ref(), data, again)
		}
		y, err := MarshalYAML(o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Parse("printed.yaml", y); err != nil {
			t.Fatalf("%s: printed YAML does not parse: %v\n%s", o.Ref(), err, y)
		}
	}
	if y, _ := MarshalYAML(objs[1]); !strings.Contains(string(y), "perRun: 2.0") {
		t.Fatalf("a whole float prints as an int:\n%s", y)
	}
}

func refsString(refs []Ref) string {
	var s []string
	for _, r := range refs {
		s = append(s, r.String())
	}
	return strings.Join(s, ",")
}
