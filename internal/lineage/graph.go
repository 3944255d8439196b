package lineage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ipos-dev/ipos/internal/dataset"
	"github.com/ipos-dev/ipos/internal/odf"
)

// ErrNotFound is returned when a reference names no node of the graph.
var ErrNotFound = errors.New("dataset not in the lineage graph")

// Kind is a node's kind: an ODF dataset kind, or Unknown for an input
// that is not in the graph's workspace.
type Kind int

const (
	KindRoot Kind = iota
	KindDerivative
	KindUnknown
)

func (k Kind) String() string {
	switch k {
	case KindRoot:
		return "Root"
	case KindDerivative:
		return "Derivative"
	case KindUnknown:
		return "Unknown"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// MarshalText writes the kind by name, as JSON shows it.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Input is one input of a derivative: the dataset ID it names and the
// alias its query reads it by.
type Input struct {
	ID    string
	Alias string
}

// Record is what the graph needs to know of one dataset.
type Record struct {
	ID     string // did:odf:…
	Alias  string
	Kind   Kind
	Inputs []Input
}

// Node is a dataset of the graph.
type Node struct {
	ID    string
	Alias string // empty for unknown nodes
	Kind  Kind
}

// Name is how the node is shown: its alias, or its ID when it has none.
func (n Node) Name() string {
	if n.Alias == "" {
		return n.ID
	}
	return n.Alias
}

// Edge says that To reads From under the name Alias.
type Edge struct {
	From  string // the input's ID
	To    string // the derivative's ID
	Alias string
}

// Graph is an immutable dataset graph, possibly focused on one dataset.
type Graph struct {
	nodes []Node
	index map[string]int // ID -> position in nodes
	edges []Edge
	in    map[string][]Edge // by To
	out   map[string][]Edge // by From
	focus string
}

// Build reads each dataset's kind and current SetTransform and returns
// their graph.
func Build(ctx context.Context, datasets []*dataset.Dataset) (*Graph, error) {
	recs := make([]Record, 0, len(datasets))
	for _, d := range datasets {
		st, err := d.Chain.LoadState(ctx)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", d.Alias, err)
		}
		r := Record{ID: d.ID.String(), Alias: d.Alias, Kind: KindRoot}
		if st.Kind == odf.DatasetKindDerivative {
			r.Kind = KindDerivative
			if t, ok := st.Latest[odf.EventName(odf.SetTransform{})].(odf.SetTransform); ok {
				for _, in := range t.Inputs {
					alias := ""
					if in.Alias != nil {
						alias = *in.Alias
					}
					r.Inputs = append(r.Inputs, Input{ID: in.DatasetRef, Alias: alias})
				}
			}
		}
		recs = append(recs, r)
	}
	return New(recs), nil
}

// New makes the graph of records. Input IDs are compared in did:odf form,
// so a did:key input finds its dataset; an input naming no record becomes
// an Unknown node. Of records with the same ID, the first counts.
func New(records []Record) *Graph {
	nodes := map[string]Node{}
	var first []Record
	for _, r := range records {
		id := canonicalID(r.ID)
		if _, dup := nodes[id]; !dup {
			nodes[id] = Node{ID: id, Alias: r.Alias, Kind: r.Kind}
			first = append(first, r)
		}
	}
	var edges []Edge
	seen := map[Edge]bool{}
	for _, r := range first {
		to := canonicalID(r.ID)
		for _, in := range r.Inputs {
			from := canonicalID(in.ID)
			if _, ok := nodes[from]; !ok {
				nodes[from] = Node{ID: from, Kind: KindUnknown}
			}
			e := Edge{From: from, To: to, Alias: in.Alias}
			if !seen[e] {
				seen[e] = true
				edges = append(edges, e)
			}
		}
	}
	all := make([]Node, 0, len(nodes))
	for _, n := range nodes {
		all = append(all, n)
	}
	return newGraph(all, edges, "")
}

// canonicalID prints a dataset ID as did:odf:…; a string that is no
// dataset ID is kept as it is.
func canonicalID(s string) string {
	if id, err := odf.ParseDatasetID(s); err == nil {
		return id.String()
	}
	return s
}

// compareNodes orders known nodes by alias, then unknown nodes by ID.
func compareNodes(a, b Node) int {
	if (a.Kind == KindUnknown) != (b.Kind == KindUnknown) {
		if a.Kind == KindUnknown {
			return 1
		}
		return -1
	}
	return cmp.Or(cmp.Compare(a.Alias, b.Alias), cmp.Compare(a.ID, b.ID))
}

func newGraph(nodes []Node, edges []Edge, focus string) *Graph {
	slices.SortFunc(nodes, compareNodes)
	g := &Graph{
		nodes: nodes,
		index: make(map[string]int, len(nodes)),
		in:    map[string][]Edge{},
		out:   map[string][]Edge{},
		focus: focus,
	}
	for i, n := range nodes {
		g.index[n.ID] = i
	}
	slices.SortFunc(edges, func(a, b Edge) int {
		return cmp.Or(
			cmp.Compare(g.index[a.From], g.index[b.From]),
			cmp.Compare(g.index[a.To], g.index[b.To]),
			cmp.Compare(a.Alias, b.Alias))
	})
	g.edges = edges
	for _, e := range edges {
		g.out[e.From] = append(g.out[e.From], e)
	}
	// Inputs are listed in node order, which is not edge order.
	for _, e := range edges {
		g.in[e.To] = append(g.in[e.To], e)
	}
	for _, in := range g.in {
		slices.SortFunc(in, func(a, b Edge) int {
			return cmp.Or(cmp.Compare(g.index[a.From], g.index[b.From]), cmp.Compare(a.Alias, b.Alias))
		})
	}
	return g
}

// Nodes returns the nodes in order: by alias, unknown nodes last by ID.
func (g *Graph) Nodes() []Node { return slices.Clone(g.nodes) }

// Edges returns the edges ordered by input, then by derivative.
func (g *Graph) Edges() []Edge { return slices.Clone(g.edges) }

// Inputs returns the edges into the node with the given ID.
func (g *Graph) Inputs(id string) []Edge { return slices.Clone(g.in[id]) }

// Dependants returns the edges out of the node with the given ID.
func (g *Graph) Dependants(id string) []Edge { return slices.Clone(g.out[id]) }

// Focus returns the node a filtered graph was made for, if any.
func (g *Graph) Focus() (Node, bool) {
	if g.focus == "" {
		return Node{}, false
	}
	return g.nodes[g.index[g.focus]], true
}

// Node finds a node by ID (did:odf or did:key) or by alias.
func (g *Graph) Node(ref string) (Node, bool) {
	if i, ok := g.index[canonicalID(ref)]; ok {
		return g.nodes[i], true
	}
	for _, n := range g.nodes {
		if n.Alias == ref {
			return n, true
		}
	}
	return Node{}, false
}

// Upstream returns the graph of the dataset ref and everything it reads
// from, recursively, focused on ref.
func (g *Graph) Upstream(ref string) (*Graph, error) {
	return g.around(ref, true, false)
}

// Downstream returns the graph of the dataset ref and everything that
// reads from it, recursively, focused on ref.
func (g *Graph) Downstream(ref string) (*Graph, error) {
	return g.around(ref, false, true)
}

// Around returns the union of Upstream and Downstream: the lineage of one
// dataset. Other inputs of its dependants are left out.
func (g *Graph) Around(ref string) (*Graph, error) {
	return g.around(ref, true, true)
}

func (g *Graph) around(ref string, up, down bool) (*Graph, error) {
	n, ok := g.Node(ref)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, ref)
	}
	keep := map[string]bool{n.ID: true}
	if up {
		g.walk(n.ID, keep, func(id string) []Edge { return g.in[id] }, func(e Edge) string { return e.From })
	}
	if down {
		g.walk(n.ID, keep, func(id string) []Edge { return g.out[id] }, func(e Edge) string { return e.To })
	}
	var nodes []Node
	for _, m := range g.nodes {
		if keep[m.ID] {
			nodes = append(nodes, m)
		}
	}
	var edges []Edge
	for _, e := range g.edges {
		if keep[e.From] && keep[e.To] {
			edges = append(edges, e)
		}
	}
	return newGraph(nodes, edges, n.ID), nil
}

// walk adds to seen every node reachable from start along next, without
// recursion, so that neither cycles nor long chains are a problem.
func (g *Graph) walk(start string, seen map[string]bool, next func(string) []Edge, end func(Edge) string) {
	visited := map[string]bool{start: true}
	stack := []string{start}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, e := range next(id) {
			if m := end(e); !visited[m] {
				visited[m] = true
				seen[m] = true
				stack = append(stack, m)
			}
		}
	}
}
