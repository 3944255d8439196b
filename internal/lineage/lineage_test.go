package lineage

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/dataset"
	"github.com/ipos-dev/ipos/internal/odf"
)

// The graph of most cases: report reads cities.big (as big), cities and a
// dataset X that is not in the workspace; other stands alone.
var (
	cities = Record{ID: "A", Alias: "cities", Kind: KindRoot}
	big    = Record{ID: "B", Alias: "cities.big", Kind: KindDerivative, Inputs: []Input{{ID: "A", Alias: "cities"}}}
	report = Record{ID: "C", Alias: "report", Kind: KindDerivative, Inputs: []Input{
		{ID: "X", Alias: "remote"}, {ID: "B", Alias: "big"}, {ID: "A", Alias: "cities"},
	}}
	other     = Record{ID: "D", Alias: "other", Kind: KindRoot}
	workspace = []Record{report, other, big, cities}
)

var renderTests = []struct {
	name    string
	records []Record
	op, ref string            // op is "", "up", "down" or "around"
	want    map[string]string // by format
}{
	{
		name:    "whole workspace",
		records: workspace,
		want: map[string]string{
			"tree": `
cities: Root
cities.big: Derivative
└── cities: Root
other: Root
report: Derivative
├── cities: Root
├── cities.big: Derivative (as big)
│   └── cities: Root
└── X: Unknown (as remote)
`,
			"dot": `
digraph lineage {
  rankdir=LR;
  node [shape=box, fontname="Helvetica"];
  "A" [label="cities", style=filled, fillcolor="#dbeafe"];
  "B" [label="cities.big", style="rounded,filled", fillcolor="#fef3c7"];
  "D" [label="other", style=filled, fillcolor="#dbeafe"];
  "C" [label="report", style="rounded,filled", fillcolor="#fef3c7"];
  "X" [label="X", style=dashed];
  "A" -> "B";
  "A" -> "C";
  "B" -> "C" [label="big"];
  "X" -> "C" [label="remote"];
}
`,
			"mermaid": `
flowchart LR
  n0["cities"]:::root
  n1("cities.big"):::derivative
  n2["other"]:::root
  n3("report"):::derivative
  n4["X"]:::unknown
  n0 --> n1
  n0 --> n3
  n1 -->|"big"| n3
  n4 -->|"remote"| n3
  classDef root fill:#dbeafe,stroke:#1e40af
  classDef derivative fill:#fef3c7,stroke:#b45309
  classDef unknown fill:#ffffff,stroke:#6b7280,stroke-dasharray:5 5
`,
			"json": `
{
  "nodes": [
    {
      "id": "A",
      "name": "cities",
      "kind": "Root"
    },
    {
      "id": "B",
      "name": "cities.big",
      "kind": "Derivative"
    },
    {
      "id": "D",
      "name": "other",
      "kind": "Root"
    },
    {
      "id": "C",
      "name": "report",
      "kind": "Derivative"
    },
    {
      "id": "X",
      "kind": "Unknown"
    }
  ],
  "edges": [
    {
      "from": "A",
      "to": "B",
      "alias": "cities"
    },
    {
      "from": "A",
      "to": "C",
      "alias": "cities"
    },
    {
      "from": "B",
      "to": "C",
      "alias": "big"
    },
    {
      "from": "X",
      "to": "C",
      "alias": "remote"
    }
  ]
}
`,
		},
	},
	{
		name:    "lineage of one dataset leaves out unrelated ones",
		records: workspace,
		op:      "around", ref: "cities.big",
		want: map[string]string{
			"tree": `
cities.big: Derivative
└── cities: Root
report: Derivative
├── cities: Root
└── cities.big: Derivative (as big)
    └── cities: Root
`,
			"dot": `
digraph lineage {
  rankdir=LR;
  node [shape=box, fontname="Helvetica"];
  "A" [label="cities", style=filled, fillcolor="#dbeafe"];
  "B" [label="cities.big", style="rounded,filled", fillcolor="#fef3c7", penwidth=2];
  "C" [label="report", style="rounded,filled", fillcolor="#fef3c7"];
  "A" -> "B";
  "A" -> "C";
  "B" -> "C" [label="big"];
}
`,
			"mermaid": `
flowchart LR
  n0["cities"]:::root
  n1("cities.big"):::derivative
  n2("report"):::derivative
  n0 --> n1
  n0 --> n2
  n1 -->|"big"| n2
  classDef root fill:#dbeafe,stroke:#1e40af
  classDef derivative fill:#fef3c7,stroke:#b45309
  classDef unknown fill:#ffffff,stroke:#6b7280,stroke-dasharray:5 5
  classDef focus stroke-width:3px
  class n1 focus
`,
			"json": `
{
  "focus": "B",
  "nodes": [
    {
      "id": "A",
      "name": "cities",
      "kind": "Root"
    },
    {
      "id": "B",
      "name": "cities.big",
      "kind": "Derivative"
    },
    {
      "id": "C",
      "name": "report",
      "kind": "Derivative"
    }
  ],
  "edges": [
    {
      "from": "A",
      "to": "B",
      "alias": "cities"
    },
    {
      "from": "A",
      "to": "C",
      "alias": "cities"
    },
    {
      "from": "B",
      "to": "C",
      "alias": "big"
    }
  ]
}
`,
		},
	},
	{
		name:    "upstream keeps the unknown input",
		records: workspace,
		op:      "up", ref: "report",
		want: map[string]string{
			"tree": `
report: Derivative
├── cities: Root
├── cities.big: Derivative (as big)
│   └── cities: Root
└── X: Unknown (as remote)
`,
		},
	},
	{
		name:    "downstream by ID",
		records: workspace,
		op:      "down", ref: "A",
		want: map[string]string{
			"tree": `
cities: Root
cities.big: Derivative
└── cities: Root
report: Derivative
├── cities: Root
└── cities.big: Derivative (as big)
    └── cities: Root
`,
		},
	},
	{
		name: "a diamond lists shared inputs once per tree",
		records: []Record{
			{ID: "A", Alias: "a", Kind: KindRoot},
			{ID: "B", Alias: "b", Kind: KindDerivative, Inputs: []Input{{ID: "A", Alias: "a"}}},
			{ID: "C", Alias: "c", Kind: KindDerivative, Inputs: []Input{{ID: "B", Alias: "b"}}},
			{ID: "D", Alias: "d", Kind: KindDerivative, Inputs: []Input{{ID: "C", Alias: "c"}, {ID: "B", Alias: "b"}}},
		},
		op: "up", ref: "d",
		want: map[string]string{
			"tree": `
d: Derivative
├── b: Derivative
│   └── a: Root
└── c: Derivative
    └── b: Derivative (see above)
`,
		},
	},
	{
		name: "cycles end",
		records: []Record{
			{ID: "P", Alias: "p", Kind: KindDerivative, Inputs: []Input{{ID: "Q", Alias: "q"}}},
			{ID: "Q", Alias: "q", Kind: KindDerivative, Inputs: []Input{{ID: "P", Alias: "p"}}},
			{ID: "S", Alias: "self", Kind: KindDerivative, Inputs: []Input{{ID: "S", Alias: "me"}}},
		},
		want: map[string]string{
			"tree": `
p: Derivative
└── q: Derivative
    └── p: Derivative (cycle)
q: Derivative
└── p: Derivative
    └── q: Derivative (cycle)
self: Derivative
└── self: Derivative (as me) (cycle)
`,
			"mermaid": `
flowchart LR
  n0("p"):::derivative
  n1("q"):::derivative
  n2("self"):::derivative
  n0 --> n1
  n1 --> n0
  n2 -->|"me"| n2
  classDef root fill:#dbeafe,stroke:#1e40af
  classDef derivative fill:#fef3c7,stroke:#b45309
  classDef unknown fill:#ffffff,stroke:#6b7280,stroke-dasharray:5 5
`,
		},
	},
	{
		name: "cycles end in filtered graphs",
		records: []Record{
			{ID: "P", Alias: "p", Kind: KindDerivative, Inputs: []Input{{ID: "Q", Alias: "q"}}},
			{ID: "Q", Alias: "q", Kind: KindDerivative, Inputs: []Input{{ID: "P", Alias: "p"}}},
			{ID: "R", Alias: "r", Kind: KindRoot},
		},
		op: "around", ref: "q",
		want: map[string]string{
			"tree": `
p: Derivative
└── q: Derivative
    └── p: Derivative (cycle)
q: Derivative
└── p: Derivative
    └── q: Derivative (cycle)
`,
		},
	},
	{
		name: "quotes are escaped",
		records: []Record{
			{ID: `say "hi"`, Alias: `a\"b`, Kind: KindRoot},
			{ID: "E", Alias: "e", Kind: KindDerivative, Inputs: []Input{{ID: `say "hi"`, Alias: "in\nput"}}},
		},
		want: map[string]string{
			"dot": `
digraph lineage {
  rankdir=LR;
  node [shape=box, fontname="Helvetica"];
  "say \"hi\"" [label="a\\\"b", style=filled, fillcolor="#dbeafe"];
  "E" [label="e", style="rounded,filled", fillcolor="#fef3c7"];
  "say \"hi\"" -> "E" [label="in\nput"];
}
`,
			"mermaid": `
flowchart LR
  n0["a\#quot;b"]:::root
  n1("e"):::derivative
  n0 -->|"in put"| n1
  classDef root fill:#dbeafe,stroke:#1e40af
  classDef derivative fill:#fef3c7,stroke:#b45309
  classDef unknown fill:#ffffff,stroke:#6b7280,stroke-dasharray:5 5
`,
		},
	},
	{
		name: "empty workspace",
		want: map[string]string{
			"tree": "\n",
			"json": `
{
  "nodes": [],
  "edges": []
}
`,
		},
	},
}

func TestRender(t *testing.T) {
	for _, tc := range renderTests {
		t.Run(tc.name, func(t *testing.T) {
			g := New(tc.records)
			var err error
			switch tc.op {
			case "up":
				g, err = g.Upstream(tc.ref)
			case "down":
				g, err = g.Downstream(tc.ref)
			case "around":
				g, err = g.Around(tc.ref)
			}
			if err != nil {
				t.Fatal(err)
			}
			for format, want := range tc.want {
				var b bytes.Buffer
				if err := Write(&b, g, format); err != nil {
					t.Fatalf("%s: %v", format, err)
				}
				if want = strings.TrimPrefix(want, "\n"); b.String() != want {
					t.Errorf("%s:\ngot:\n%s\nwant:\n%s", format, b.String(), want)
				}
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	g := New(workspace)
	if _, err := g.Around("nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Around(nosuch) = %v, want ErrNotFound", err)
	}
	// Unknown inputs are nodes too: their lineage is what reads them.
	if _, err := g.Downstream("X"); err != nil {
		t.Errorf("Downstream(X): %v", err)
	}
	if err := Write(&bytes.Buffer{}, g, "svg"); err == nil {
		t.Error("Write in an unknown format succeeded")
	}
}

// Inputs stored as did:key find their dataset; duplicate records and
// duplicate inputs count once.
func TestIDs(t *testing.T) {
	pub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	id, err := odf.DatasetIDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	d := Record{ID: "E", Alias: "e", Kind: KindDerivative, Inputs: []Input{{ID: id.DIDKey(), Alias: "r"}, {ID: id.String(), Alias: "r"}}}
	g := New([]Record{{ID: id.String(), Alias: "r", Kind: KindRoot}, d, {ID: "E", Alias: "e2", Kind: KindRoot}})
	if n := len(g.Nodes()); n != 2 {
		t.Fatalf("%d nodes, want 2: %v", n, g.Nodes())
	}
	want := []Edge{{From: id.String(), To: "E", Alias: "r"}}
	if got := g.Edges(); len(got) != 1 || got[0] != want[0] {
		t.Errorf("edges %v, want %v", got, want)
	}
	if n, ok := g.Node(id.DIDKey()); !ok || n.Alias != "r" {
		t.Errorf("Node(did:key) = %v, %v", n, ok)
	}
	if n, _ := g.Node("e"); n.Kind != KindDerivative {
		t.Errorf("the first record of an ID should count, got %v", n)
	}
}

// Build reads kinds and inputs from real chains.
func TestBuild(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rootKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	rootID, _ := odf.DatasetIDFromPublicKey(rootKey.Public().(ed25519.PublicKey))
	remoteKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	remoteID, _ := odf.DatasetIDFromPublicKey(remoteKey.Public().(ed25519.PublicKey))
	root, err := dataset.Create(ctx, dir, rootKey, &odf.DatasetSnapshot{Name: "src", Kind: odf.DatasetKindRoot}, now)
	if err != nil {
		t.Fatal(err)
	}
	alias, remote, query := "s", "far", "SELECT * FROM s"
	deriv, err := dataset.Create(ctx, dir, ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize)), &odf.DatasetSnapshot{
		Name: "out",
		Kind: odf.DatasetKindDerivative,
		Metadata: []odf.MetadataEvent{odf.SetTransform{
			Inputs:    []odf.TransformInput{{DatasetRef: rootID.String(), Alias: &alias}, {DatasetRef: remoteID.String(), Alias: &remote}},
			Transform: odf.TransformSQL{Engine: "duckdb", Queries: []odf.SqlQueryStep{{Query: query}}},
		}},
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(ctx, []*dataset.Dataset{deriv, root})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteTree(&b, g); err != nil {
		t.Fatal(err)
	}
	want := "out: Derivative\n" +
		"├── src: Root (as s)\n" +
		"└── " + remoteID.String() + ": Unknown (as far)\n" +
		"src: Root\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
