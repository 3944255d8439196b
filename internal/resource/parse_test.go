package resource

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

var update = flag.Bool("update", false, "rewrite the expected problems in testdata/bad.txtar")

// TestBadManifests runs the cases of testdata/bad.txtar: each file must
// fail to parse with exactly the problems listed.
func TestBadManifests(t *testing.T) {
	ar, err := txtar.ParseFile("testdata/bad.txtar")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, f := range ar.Files {
		if name, ok := strings.CutSuffix(f.Name, ".err"); ok {
			want[name] = string(f.Data)
		}
	}
	reg := DefaultRegistry()
	got := map[string]string{}
	cases := 0
	for _, f := range ar.Files {
		ext := filepath.Ext(f.Name)
		if ext != ".yaml" && ext != ".json" {
			continue
		}
		cases++
		name := strings.TrimSuffix(f.Name, ext)
		t.Run(name, func(t *testing.T) {
			exp, ok := want[name]
			if !ok {
				t.Fatalf("no %s.err in bad.txtar", name)
			}
			objs, err := reg.Parse(name+".yaml", f.Data)
			if err == nil {
				t.Fatalf("Parse succeeded with %d objects; want errors:\n%s", len(objs), exp)
			}
			if objs != nil {
				t.Errorf("Parse returned %d objects along with an error", len(objs))
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			got[name] = err.Error() + "\n"
			if got[name] != exp && !*update {
				t.Errorf("problems:\n%s\nwant:\n%s", got[name], exp)
			}
			for _, p := range pe.Problems {
				if p.Source != name+".yaml" || p.Document < 0 {
					t.Errorf("problem %+v: bad source or document", p)
				}
			}
		})
	}
	if cases == 0 {
		t.Fatal("no cases")
	}
	if *update {
		for i, f := range ar.Files {
			if name, ok := strings.CutSuffix(f.Name, ".err"); ok && got[name] != "" {
				ar.Files[i].Data = []byte(got[name])
			}
		}
		if err := os.WriteFile("testdata/bad.txtar", txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseErrorFields(t *testing.T) {
	data, err := txtar.ParseFile("testdata/bad.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var src []byte
	for _, f := range data.Files {
		if f.Name == "three-problems-two-documents.yaml" {
			src = f.Data
		}
	}
	_, err = DefaultRegistry().Parse("examples/x.yaml", src)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v", err)
	}
	want := []Problem{
		{Source: "examples/x.yaml", Document: 1, Line: 4, Path: "metadata.name"},
		{Source: "examples/x.yaml", Document: 1, Line: 7, Path: "spec.local"},
		{Source: "examples/x.yaml", Document: 2, Line: 21, Path: "spec.metadata[0].read.separator", Msg: "expected a string, got a mapping"},
	}
	if len(pe.Problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(pe.Problems), len(want), err)
	}
	for i, w := range want {
		g := pe.Problems[i]
		if w.Msg == "" {
			g.Msg = ""
		}
		if g != w {
			t.Errorf("problem %d = %+v, want %+v", i, g, w)
		}
	}
	var p Problem
	if !errors.As(err, &p) || p.Line != 4 {
		t.Errorf("errors.As(err, &Problem) = %+v", p)
	}
}

func TestParseFlowYAMLAndJSONStreams(t *testing.T) {
	reg := DefaultRegistry()
	// Starts like JSON but is YAML flow style, with a second document.
	flow := "{apiVersion: ipos.dev/v1alpha1, kind: Secret, metadata: {name: a}, spec: {data: {k: v}}}\n---\n" +
		"{apiVersion: ipos.dev/v1alpha1, kind: Secret, metadata: {name: b}, spec: {data: {k: v}}}\n"
	objs, err := reg.Parse("flow.yaml", []byte(flow))
	if err != nil || len(objs) != 2 || objs[1].Metadata.Name != "b" || objs[1].Origin.Line != 3 {
		t.Fatalf("flow YAML: %v, %d objects", err, len(objs))
	}
	// Concatenated JSON objects, which YAML cannot read.
	js := `{"apiVersion":"ipos.dev/v1alpha1","kind":"Secret","metadata":{"name":"a"},"spec":{"data":{"k":"v"}}}  {"apiVersion":"ipos.dev/v1alpha1","kind":"Secret","metadata":{"name":"b"},"spec":{"data":{"k":"v"}}}`
	objs, err = reg.Parse("s.json", []byte(js))
	if err != nil || len(objs) != 2 || objs[1].Origin.Document != 2 {
		t.Fatalf("JSON stream: %v, %d objects", err, len(objs))
	}
	bad := js[:len(js)-2] + `,"x":1}}`
	_, err = reg.Parse("s.json", []byte(bad))
	if err == nil || err.Error() != `s.json: document 2: line 1: spec: unknown field "x"; known fields: data` {
		t.Errorf("JSON stream error: %v", err)
	}
}
