package resource

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestODFSnapshots reads the ODF package's DatasetSnapshot documents
// (kamu's own among them) as resources: each becomes a Dataset whose
// canonical JSON, printed as a Dataset manifest, reads back the same.
func TestODFSnapshots(t *testing.T) {
	paths, _ := filepath.Glob("../odf/testdata/yaml/*.yaml")
	more, _ := filepath.Glob("../odf/testdata/yaml/kamu/*.yaml")
	n := 0
	for _, path := range append(paths, more...) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte("kind: DatasetSnapshot")) {
			continue
		}
		objs, err := DefaultRegistry().Parse(path, data)
		if err != nil {
			// Snapshots that IPOS refuses as manifests (a root dataset
			// with a transform …) must say why, with a line.
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("%s: %v", path, err)
			}
			t.Logf("%s: %v", path, err)
			continue
		}
		for _, o := range objs {
			n++
			c1, err := o.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			y, err := MarshalYAML(o)
			if err != nil {
				t.Fatal(err)
			}
			again, err := DefaultRegistry().Parse("printed.yaml", y)
			if err != nil {
				t.Fatalf("%s: printed manifest does not parse: %v\n%s", path, err, y)
			}
			if c2, _ := again[0].Canonical(); !bytes.Equal(c1, c2) {
				t.Errorf("%s: round trip changed the dataset:\n%s\n%s", path, c1, c2)
			}
		}
	}
	if n == 0 {
		t.Fatal("no snapshots read")
	}
}
