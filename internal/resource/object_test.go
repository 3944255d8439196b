package resource

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func parseOne(t *testing.T, src string) *Object {
	t.Helper()
	objs, err := DefaultRegistry().Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%v\n%s", err, src)
	}
	if len(objs) != 1 {
		t.Fatalf("got %d objects", len(objs))
	}
	return objs[0]
}

func specHash(t *testing.T, src string) string {
	t.Helper()
	h, err := parseOne(t, src).SpecHash()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

const hashBase = `
apiVersion: ipos.dev/v1alpha1
kind: Dataset
metadata:
  name: org.example.a
  labels: {team: a}
spec:
  kind: Root
  schedule: "0 6 * * *"
  metadata:
    - kind: SetPollingSource
      fetch: {kind: Url, url: "depot://web/a.csv"}
      read: {kind: Csv, header: true, separator: ","}
      merge: {kind: Ledger, primaryKey: [date]}
`

func TestSpecHash(t *testing.T) {
	base := specHash(t, hashBase)
	if len(base) != 64 {
		t.Fatalf("hash %q is not hex SHA-256", base)
	}
	same := map[string]string{
		"reordered and reformatted": `{"kind": "Dataset", "apiVersion": "ipos.dev/v1alpha1",
		  "spec": {"metadata": [{"merge": {"primaryKey": ["date"], "kind": "ledger"},
		      "read": {"separator": ",", "header": true, "kind": "csv"},
		      "fetch": {"url": "depot://web/a.csv", "kind": "url"}, "kind": "SetPollingSource"}],
		    "schedule": "0 6 * * *", "kind": "Root"},
		  "metadata": {"name": "org.example.a"}}`,
		"other labels":               strings.Replace(hashBase, "team: a", "team: b, tier: gold", 1),
		"other name and description": strings.Replace(strings.Replace(hashBase, "name: org.example.a", "name: org.example.b\n  description: B", 1), "labels: {team: a}", "", 1),
		"with status": hashBase + `
status:
  observedGeneration: 3
  conditions: [{type: Ready, status: "True", reason: Pulled}]
`,
		"with generation": strings.Replace(hashBase, "labels: {team: a}", "generation: 7", 1),
		"comments":        strings.ReplaceAll(hashBase, "\n", " # note\n"),
	}
	for name, src := range same {
		if h := specHash(t, src); h != base {
			t.Errorf("%s: hash changed", name)
		}
	}
	changes := map[string][2]string{
		"schedule":   {`"0 6 * * *"`, `"0 7 * * *"`},
		"no sched":   {`  schedule: "0 6 * * *"` + "\n", ""},
		"url":        {"depot://web/a.csv", "depot://web/b.csv"},
		"separator":  {`separator: ","`, `separator: ";"`},
		"header":     {"header: true", "header: false"},
		"merge":      {"kind: Ledger", "kind: Snapshot"},
		"key":        {"[date]", "[date, id]"},
		"add event":  {"primaryKey: [date]}", "primaryKey: [date]}\n    - {kind: SetVocab, eventTimeColumn: date}"},
		"kind-order": {"read: {kind: Csv, header: true,", "read: {kind: Csv, inferSchema: true, header: true,"},
	}
	seen := map[string]string{base: "base"}
	for name, c := range changes {
		src := strings.Replace(hashBase, c[0], c[1], 1)
		if src == hashBase {
			t.Fatalf("%s: replacement did not apply", name)
		}
		h := specHash(t, src)
		if prev, dup := seen[h]; dup {
			t.Errorf("%s: same hash as %s", name, prev)
		}
		seen[h] = name
	}
}

func TestSpecHashSecretAndDepot(t *testing.T) {
	a := specHash(t, "apiVersion: ipos.dev/v1alpha1\nkind: Secret\nmetadata: {name: s}\nspec: {data: {a: '1', b: '2'}}")
	b := specHash(t, "apiVersion: ipos.dev/v1alpha1\nkind: Secret\nmetadata: {name: s}\nspec: {data: {b: '2', a: '1'}}")
	c := specHash(t, "apiVersion: ipos.dev/v1alpha1\nkind: Secret\nmetadata: {name: s}\nspec: {data: {b: '2', a: '3'}}")
	if a != b || a == c {
		t.Errorf("secret hashes: %s %s %s", a, b, c)
	}
	d1 := specHash(t, "apiVersion: ipos.dev/v1alpha1\nkind: Depot\nmetadata: {name: d}\nspec: {local: {path: /a}}")
	d2 := specHash(t, "apiVersion: ipos.dev/v1alpha1\nkind: Depot\nmetadata: {name: d}\nspec: {local: {path: /b}}")
	if d1 == d2 {
		t.Error("depot path change did not change the hash")
	}
}

func TestDependencies(t *testing.T) {
	tests := []struct {
		file string
		want [][]Ref // per object
	}{
		{"root-dataset.yaml", [][]Ref{{{"Depot", "fx-api"}}}},
		{"derivative-dataset.yaml", [][]Ref{{{"Dataset", "org.example.fx-rates"}}}},
		{"snapshot.yaml", [][]Ref{nil}},
		{"depots.yaml", [][]Ref{
			nil,
			{{"Secret", "fx-token"}},
			{{"Secret", "lake-creds"}},
			{{"Secret", "orders-db"}},
		}},
		{"secret.yaml", [][]Ref{nil}},
	}
	for _, tt := range tests {
		objs := mustParseFile(t, tt.file)
		for i, o := range objs {
			if got := o.Dependencies(); !reflect.DeepEqual(got, tt.want[i]) {
				t.Errorf("%s object %d: Dependencies() = %v, want %v", tt.file, i, got, tt.want[i])
			}
		}
	}
	o := parseOne(t, `
apiVersion: ipos.dev/v1alpha1
kind: Dataset
metadata: {name: x.joined}
spec:
  kind: Derivative
  metadata:
    - kind: SetTransform
      inputs: [{datasetRef: b.one}, {datasetRef: a.two}, {datasetRef: b.one, alias: again}]
      transform: {kind: Sql, engine: duckdb, query: SELECT 1}
`)
	want := []Ref{{"Dataset", "a.two"}, {"Dataset", "b.one"}}
	if got := o.Dependencies(); !reflect.DeepEqual(got, want) {
		t.Errorf("Dependencies() = %v, want %v (sorted, unique)", got, want)
	}
	if s := want[0].String(); s != "Dataset/a.two" {
		t.Errorf("Ref.String() = %q", s)
	}
}

// TestSecretNeverPrinted checks that no way of printing a Secret shows
// its values.
func TestSecretNeverPrinted(t *testing.T) {
	objs := mustParseFile(t, "secret.yaml")
	o := objs[0]
	spec := o.Spec.(*SecretSpec)
	values := []string{"AKIAEXAMPLEKEY", "hunter2-very-secret"}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%T %v"} {
		outputs = append(outputs,
			fmt.Sprintf(verb, spec), fmt.Sprintf(verb, *spec), fmt.Sprintf(verb, o), fmt.Sprintf(verb, *o),
			fmt.Sprintf(verb, objs), fmt.Sprintf(verb, []any{spec}))
	}
	outputs = append(outputs, fmt.Sprint(spec), fmt.Sprintln(o), spec.String(), spec.GoString())
	for _, v := range []any{spec, *spec, o, *o, objs, map[string]any{"s": spec}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(b))
	}
	y, err := MarshalYAML(o)
	if err != nil {
		t.Fatal(err)
	}
	j, err := MarshalJSON(o)
	if err != nil {
		t.Fatal(err)
	}
	yv, err := spec.MarshalYAML()
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(y), string(j), fmt.Sprint(yv))
	for _, out := range outputs {
		for _, v := range values {
			if strings.Contains(out, v) {
				t.Errorf("secret value %q printed in:\n%s", v, out)
			}
		}
	}
	if !strings.Contains(string(y), "access-key: <redacted>") || !strings.Contains(string(j), `"secret-key": "<redacted>"`) {
		t.Errorf("printed secret does not show its keys redacted:\n%s\n%s", y, j)
	}
	// The values are still there for the store, and Redacted copied.
	if spec.Data["secret-key"] != "hunter2-very-secret" {
		t.Error("printing changed the secret")
	}
	c, err := o.Canonical()
	if err != nil || !strings.Contains(string(c), "hunter2-very-secret") {
		t.Errorf("Canonical must keep the values for the store: %s, %v", c, err)
	}
}

// widgetSpec is a kind this package does not have, registered by a test
// the way later kinds (Contract, Policy …) will be.
type widgetSpec struct {
	Size   int64           `json:"size"`
	Colour string          `json:"colour,omitempty"`
	Uses   []SecretKeyRef  `json:"uses,omitempty"`
	Extra  map[string]bool `json:"-"`
}

func (w *widgetSpec) Validate() []FieldError {
	if w.Size <= 0 {
		return []FieldError{{Path: "size", Msg: "must be positive"}}
	}
	return nil
}

func (w *widgetSpec) Dependencies() []Ref {
	var refs []Ref
	for _, u := range w.Uses {
		refs = append(refs, Ref{Kind: "Secret", Name: u.Name})
	}
	return refs
}

func TestRegistryExtension(t *testing.T) {
	reg := DefaultRegistry()
	widget := KindInfo{Name: "Widget", New: func() Spec { return new(widgetSpec) }, Doc: "a test kind"}
	if err := reg.Register(widget); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(widget); err == nil {
		t.Error("registering Widget twice succeeded")
	}
	for _, bad := range []KindInfo{
		{Name: "lower", New: widget.New},
		{Name: "NoNew"},
		{Name: "NotPointer", New: func() Spec { return nil }},
		{Name: "DatasetSnapshot", New: widget.New},
	} {
		if err := reg.Register(bad); err == nil {
			t.Errorf("Register(%s) succeeded", bad.Name)
		}
	}
	wantKinds := append(DefaultRegistry().Kinds(), "Widget")
	slices.Sort(wantKinds)
	if got := reg.Kinds(); !slices.Equal(got, wantKinds) {
		t.Errorf("Kinds() = %v, want %v", got, wantKinds)
	}
	objs, err := reg.Parse("w.yaml", []byte(`
apiVersion: ipos.dev/v1alpha1
kind: Widget
metadata: {name: w1}
spec: {size: 3, colour: red, uses: [{name: s, key: k}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if w := objs[0].Spec.(*widgetSpec); w.Size != 3 || w.Colour != "red" {
		t.Errorf("spec = %+v", w)
	}
	if deps := objs[0].Dependencies(); !reflect.DeepEqual(deps, []Ref{{"Secret", "s"}}) {
		t.Errorf("Dependencies() = %v", deps)
	}
	_, err = reg.Parse("w.yaml", []byte("apiVersion: ipos.dev/v1alpha1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 0, shape: round}\n"))
	want := "w.yaml: line 4: spec: unknown field \"shape\"; known fields: size, colour, uses\nw.yaml: line 4: spec.size: must be positive"
	if err == nil || err.Error() != want {
		t.Errorf("got error:\n%v\nwant:\n%s", err, want)
	}
	// The default registry is a new value each time: unchanged.
	if _, err := DefaultRegistry().Parse("w.yaml", []byte("apiVersion: ipos.dev/v1alpha1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 1}\n")); err == nil {
		t.Error("Widget leaked into DefaultRegistry")
	}
}

func TestNames(t *testing.T) {
	for _, n := range []string{"a", "a-b", "a1", "0", strings.Repeat("a", 63)} {
		if err := ValidateDNSLabel(n); err != nil {
			t.Errorf("ValidateDNSLabel(%q): %v", n, err)
		}
	}
	for _, n := range []string{"", "A", "a_b", "-a", "a-", "a.b", strings.Repeat("a", 64)} {
		if ValidateDNSLabel(n) == nil {
			t.Errorf("ValidateDNSLabel(%q) accepted", n)
		}
	}
	for _, n := range []string{"a", "org.example.fx-rates", "A1.b-2.C", "x-y"} {
		if err := ValidateDatasetName(n); err != nil {
			t.Errorf("ValidateDatasetName(%q): %v", n, err)
		}
	}
	for _, n := range []string{"", ".a", "a.", "a..b", "a-.b", "-a", "a_b", "a b", "a/b"} {
		if ValidateDatasetName(n) == nil {
			t.Errorf("ValidateDatasetName(%q) accepted", n)
		}
	}
}
