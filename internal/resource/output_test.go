package resource

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrintGolden prints every good manifest as YAML and JSON and
// compares with testdata/print/*.golden (go test -update rewrites them).
func TestPrintGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "testdata/depots.json")
	for _, path := range files {
		name := filepath.Base(path)
		objs := mustParseFile(t, name)
		var y, j bytes.Buffer
		for _, o := range objs {
			b, err := MarshalYAML(o)
			if err != nil {
				t.Fatal(err)
			}
			y.WriteString("---\n")
			y.Write(b)
			if b, err = MarshalJSON(o); err != nil {
				t.Fatal(err)
			}
			j.Write(b)
		}
		golden(t, filepath.Join("testdata", "print", name+".yaml.golden"), y.Bytes())
		golden(t, filepath.Join("testdata", "print", name+".json.golden"), j.Bytes())

		// What is printed parses back to the same objects, Secrets
		// apart (their values are redacted).
		for _, out := range [][]byte{y.Bytes(), j.Bytes()} {
			again, err := DefaultRegistry().Parse(name, out)
			if err != nil {
				t.Fatalf("%s: printed form does not parse: %v\n%s", name, err, out)
			}
			for i, o := range again {
				if o.Kind == "Secret" {
					continue
				}
				a, _ := objs[i].Canonical()
				b, _ := o.Canonical()
				if !bytes.Equal(a, b) {
					t.Errorf("%s object %d: round trip changed it:\n%s\n%s", name, i, a, b)
				}
			}
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestCanonical(t *testing.T) {
	o := parseOne(t, `
apiVersion: ipos.dev/v1alpha1
kind: Depot
metadata: {name: web, labels: {b: "2", a: "1"}, generation: 2}
spec:
  http:
    headers: [{value: "<&>", name: X-A}]
    baseUrl: https://example.org/
status:
  conditions:
    - {type: Ready, status: "True", lastTransitionTime: "2024-01-02T03:04:05+01:00"}
  observedGeneration: 2
`)
	got, err := o.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"apiVersion":"ipos.dev/v1alpha1","kind":"Depot","metadata":{"generation":2,"labels":{"a":"1","b":"2"},"name":"web"},` +
		`"spec":{"http":{"baseUrl":"https://example.org/","headers":[{"name":"X-A","value":"<&>"}]}},` +
		`"status":{"conditions":[{"lastTransitionTime":"2024-01-02T02:04:05Z","status":"True","type":"Ready"}],"observedGeneration":2}}`
	if string(got) != want {
		t.Errorf("Canonical:\n%s\nwant:\n%s", got, want)
	}
	y, err := MarshalYAML(o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(y), "apiVersion: ipos.dev/v1alpha1\nkind: Depot\nmetadata:\n  name: web\n  labels:\n    a: \"1\"\n") {
		t.Errorf("MarshalYAML is not in manifest order:\n%s", y)
	}
}
