package lineage

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats lists the renderings Write knows, the default first.
func Formats() []string { return []string{"tree", "dot", "mermaid", "json"} }

// Write renders g in one of Formats.
func Write(w io.Writer, g *Graph, format string) error {
	switch format {
	case "tree":
		return WriteTree(w, g)
	case "dot":
		return WriteDOT(w, g)
	case "mermaid":
		return WriteMermaid(w, g)
	case "json":
		return WriteJSON(w, g)
	}
	return fmt.Errorf("unknown lineage format %q; use one of %s", format, strings.Join(Formats(), ", "))
}

// tops are the datasets the tree starts from: the focus and everything
// downstream of it, or, unfocused, every dataset of the workspace.
func (g *Graph) tops() []Node {
	if g.focus == "" {
		var out []Node
		for _, n := range g.nodes {
			if n.Kind != KindUnknown {
				out = append(out, n)
			}
		}
		return out
	}
	keep := map[string]bool{g.focus: true}
	g.walk(g.focus, keep, func(id string) []Edge { return g.out[id] }, func(e Edge) string { return e.To })
	var out []Node
	for _, n := range g.nodes {
		if keep[n.ID] {
			out = append(out, n)
		}
	}
	return out
}

// WriteTree prints, as kamu does, one tree per dataset of interest with
// the datasets it reads from below it, recursively:
//
//	cities.big: Derivative
//	└── cities: Root
//
// An input read under another name is marked "(as NAME)". Within one
// tree a dataset's inputs are listed once; later it is marked
// "(see above)", and a dataset that reads from itself through a cycle is
// marked "(cycle)", so the output stays linear in the graph's size.
func WriteTree(w io.Writer, g *Graph) error {
	bw := bufio.NewWriter(w)
	for _, top := range g.tops() {
		fmt.Fprintf(bw, "%s: %s\n", top.Name(), top.Kind)
		t := treeWriter{g: g, w: bw, expanded: map[string]bool{top.ID: true}, path: map[string]bool{top.ID: true}}
		t.inputs(top.ID, "")
	}
	return bw.Flush()
}

type treeWriter struct {
	g        *Graph
	w        *bufio.Writer
	expanded map[string]bool // nodes whose inputs this tree has listed
	path     map[string]bool // nodes from the top down to here
}

func (t *treeWriter) inputs(id, prefix string) {
	in := t.g.in[id]
	for i, e := range in {
		branch, indent := "├── ", "│   "
		if i == len(in)-1 {
			branch, indent = "└── ", "    "
		}
		n := t.g.nodes[t.g.index[e.From]]
		line := prefix + branch + n.Name() + ": " + n.Kind.String()
		if e.Alias != "" && e.Alias != n.Name() {
			line += " (as " + e.Alias + ")"
		}
		recurse := false
		switch {
		case t.path[n.ID]:
			line += " (cycle)"
		case t.expanded[n.ID] && len(t.g.in[n.ID]) > 0:
			line += " (see above)"
		default:
			recurse = true
		}
		t.w.WriteString(line + "\n")
		if recurse {
			t.expanded[n.ID], t.path[n.ID] = true, true
			t.inputs(n.ID, prefix+indent)
			delete(t.path, n.ID)
		}
	}
}

// dotStyle styles nodes by kind: roots are filled blue boxes,
// derivatives rounded yellow boxes, unknown datasets dashed.
func dotStyle(k Kind) string {
	switch k {
	case KindDerivative:
		return `style="rounded,filled", fillcolor="#fef3c7"`
	case KindUnknown:
		return `style=dashed`
	}
	return `style=filled, fillcolor="#dbeafe"`
}

// WriteDOT prints g as a Graphviz digraph whose node names are the
// quoted dataset IDs, labelled by alias. Edges run from input to
// derivative, labelled with the query's name for the input when it
// differs from the input's alias. The focus, if any, is drawn bold.
func WriteDOT(w io.Writer, g *Graph) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("digraph lineage {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n")
	for _, n := range g.nodes {
		attrs := "label=" + dotQuote(n.Name()) + ", " + dotStyle(n.Kind)
		if n.ID == g.focus {
			attrs += ", penwidth=2"
		}
		fmt.Fprintf(bw, "  %s [%s];\n", dotQuote(n.ID), attrs)
	}
	for _, e := range g.edges {
		fmt.Fprintf(bw, "  %s -> %s", dotQuote(e.From), dotQuote(e.To))
		if l := g.edgeLabel(e); l != "" {
			fmt.Fprintf(bw, " [label=%s]", dotQuote(l))
		}
		bw.WriteString(";\n")
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// edgeLabel is the query's name for an input, when it is not the name
// the input is shown by.
func (g *Graph) edgeLabel(e Edge) string {
	if e.Alias == g.nodes[g.index[e.From]].Name() {
		return ""
	}
	return e.Alias
}

// dotQuote makes a DOT double-quoted string.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`)
	return `"` + r.Replace(s) + `"`
}

// WriteMermaid prints g as a Mermaid left-to-right flowchart. Nodes are
// n0, n1, … in node order: roots as boxes, derivatives rounded, unknown
// datasets dashed; the focus, if any, has a thick border.
func WriteMermaid(w io.Writer, g *Graph) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("flowchart LR\n")
	for i, n := range g.nodes {
		label := mermaidQuote(n.Name())
		switch n.Kind {
		case KindDerivative:
			fmt.Fprintf(bw, "  n%d(%s):::derivative\n", i, label)
		case KindUnknown:
			fmt.Fprintf(bw, "  n%d[%s]:::unknown\n", i, label)
		default:
			fmt.Fprintf(bw, "  n%d[%s]:::root\n", i, label)
		}
	}
	for _, e := range g.edges {
		fmt.Fprintf(bw, "  n%d -->", g.index[e.From])
		if l := g.edgeLabel(e); l != "" {
			fmt.Fprintf(bw, "|%s|", mermaidQuote(l))
		}
		fmt.Fprintf(bw, " n%d\n", g.index[e.To])
	}
	bw.WriteString("  classDef root fill:#dbeafe,stroke:#1e40af\n")
	bw.WriteString("  classDef derivative fill:#fef3c7,stroke:#b45309\n")
	bw.WriteString("  classDef unknown fill:#ffffff,stroke:#6b7280,stroke-dasharray:5 5\n")
	if g.focus != "" {
		fmt.Fprintf(bw, "  classDef focus stroke-width:3px\n  class n%d focus\n", g.index[g.focus])
	}
	return bw.Flush()
}

// mermaidQuote makes a Mermaid quoted label; quotes become entity codes.
func mermaidQuote(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "\n", " ", "\r", " ")
	return `"` + r.Replace(s) + `"`
}

type jsonGraph struct {
	Focus string     `json:"focus,omitempty"`
	Nodes []jsonNode `json:"nodes"`
	Edges []jsonEdge `json:"edges"`
}

type jsonNode struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Kind Kind   `json:"kind"`
}

type jsonEdge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Alias string `json:"alias,omitempty"`
}

// WriteJSON prints g as {"focus", "nodes": [{id, name, kind}], "edges":
// [{from, to, alias}]}, indented; from is the input, to the derivative.
func WriteJSON(w io.Writer, g *Graph) error {
	out := jsonGraph{Focus: g.focus, Nodes: []jsonNode{}, Edges: []jsonEdge{}}
	for _, n := range g.nodes {
		out.Nodes = append(out.Nodes, jsonNode{ID: n.ID, Name: n.Alias, Kind: n.Kind})
	}
	for _, e := range g.edges {
		out.Edges = append(out.Edges, jsonEdge{From: e.From, To: e.To, Alias: e.Alias})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}
