// Package lineage is the dataset graph: which datasets each derivative
// reads from, as its current SetTransform says, and renderings of that
// graph as an indented tree, Graphviz DOT, a Mermaid flowchart or JSON.
//
// Invariants:
//   - Nodes are named by dataset ID; an edge runs from an input to the
//     derivative that reads it and carries the name the query uses for it.
//   - An input that is not one of the given datasets is a node of kind
//     Unknown (a remote or deleted dataset), never an error.
//   - Cycles cannot be written by ipos, but a hand-made chain may declare
//     one; every walk keeps a visited set and every rendering terminates.
//   - Output is deterministic: nodes are ordered by alias (unknown nodes,
//     which have none, last by ID) and edges by their ends' order.
package lineage
