package resource

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// FuzzParse checks that Parse never panics, that every failure is a
// *ParseError with at least one problem, and that every object it returns
// survives Canonical → Parse → Canonical and MarshalYAML → Parse unchanged
// (Secrets, whose printed values are redacted, only the first).
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	seeds = append(seeds, "testdata/depots.json")
	odfSeeds, _ := filepath.Glob("../odf/testdata/yaml/*.yaml")
	seeds = append(seeds, odfSeeds...)
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	ar, err := txtar.ParseFile("testdata/bad.txtar")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range ar.Files {
		f.Add(file.Data)
	}
	reg := DefaultRegistry()
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := reg.Parse("fuzz.yaml", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || len(pe.Problems) == 0 || objs != nil {
				t.Fatalf("bad failure: %T %v, %d objects", err, err, len(objs))
			}
			return
		}
		for _, o := range objs {
			c1, err := o.Canonical()
			if err != nil {
				t.Fatalf("Canonical: %v", err)
			}
			if _, err := o.SpecHash(); err != nil {
				t.Fatalf("SpecHash: %v", err)
			}
			again, err := reg.Parse("canonical.json", c1)
			if err != nil {
				t.Fatalf("canonical JSON does not parse: %v\n%s", err, c1)
			}
			if len(again) != 1 {
				t.Fatalf("canonical JSON gave %d objects", len(again))
			}
			c2, err := again[0].Canonical()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c1, c2) {
				t.Fatalf("canonical round trip changed the object:\n%s\n%s", c1, c2)
			}
			y, err := MarshalYAML(o)
			if err != nil {
				t.Fatalf("MarshalYAML: %v", err)
			}
			if _, err := MarshalJSON(o); err != nil {
				t.Fatalf("MarshalJSON: %v", err)
			}
			if o.Kind == "Secret" {
				continue
			}
			printed, err := reg.Parse("printed.yaml", y)
			if err != nil {
				t.Fatalf("printed YAML does not parse: %v\n%s", err, y)
			}
			if c3, _ := printed[0].Canonical(); !bytes.Equal(c1, c3) {
				t.Fatalf("YAML round trip changed the object:\n%s\n%s", c1, c3)
			}
		}
	})
}
