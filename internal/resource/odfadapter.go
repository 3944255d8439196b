package resource

import (
	"errors"
	"fmt"

	"github.com/ipos-dev/ipos/internal/odf"
	"gopkg.in/yaml.v3"
)

// The ODF codec (odf.UnmarshalEventYAML, odf.ParseSnapshots) reads bytes,
// not a yaml.Node, and stops at its first problem. A Dataset spec's events
// and a kamu DatasetSnapshot document are nodes inside a larger stream, so
// this adapter re-encodes the node as YAML text, runs the codec on it, and
// maps the line of a codec error back to the original stream: it re-parses
// the text, finds the node the error points at, and takes the line of the
// corresponding node in the original tree (both trees have the same shape).
// Each event is decoded on its own, so a stream with problems in several
// events reports one problem per event.
//
// An exported odf helper that decodes a *yaml.Node at a base path would
// make this unnecessary.

// decodeWithODF runs decode on YAML text equivalent to n. On failure it
// returns a problem whose Line is in n's stream and whose Path is the
// codec's path (relative to n).
func decodeWithODF[T any](n *yaml.Node, budget *int, decode func([]byte) (T, error)) (T, *Problem) {
	var zero T
	cp, err := expandNode(n, budget, 0)
	if err != nil {
		return zero, &Problem{Line: n.Line, Msg: err.Error()}
	}
	text, err := encodeNodeText(cp)
	if err != nil {
		return zero, &Problem{Line: n.Line, Msg: err.Error()}
	}
	v, err := decode(text)
	if err == nil {
		return v, nil
	}
	var ye *odf.YAMLError
	if !errors.As(err, &ye) {
		return zero, &Problem{Line: n.Line, Msg: err.Error()}
	}
	p := &Problem{Line: n.Line, Path: ye.Path, Msg: ye.Msg}
	if ye.Line > 0 {
		var re yaml.Node
		if yaml.Unmarshal(text, &re) == nil && len(re.Content) == 1 {
			if line, ok := correspondingLine(cp, re.Content[0], ye.Line, ye.Column); ok {
				p.Line = line
			}
		}
	}
	return zero, p
}

// expandNode copies n with aliases resolved and comments dropped, keeping
// the original lines and columns. budget bounds the nodes copied, so that
// aliases cannot blow a small document up; it is the decoder's budget,
// shared by every event of a document.
func expandNode(n *yaml.Node, budget *int, depth int) (*yaml.Node, error) {
	for i := 0; n.Kind == yaml.AliasNode; i++ {
		if n.Alias == nil || i > maxDepth {
			return nil, fmt.Errorf("unresolvable alias *%s", n.Value)
		}
		n = n.Alias
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	if *budget--; *budget < 0 {
		return nil, errors.New("document expands to too many values (through aliases?)")
	}
	c := &yaml.Node{Kind: n.Kind, Style: n.Style, Tag: n.Tag, Value: n.Value, Line: n.Line, Column: n.Column}
	if len(n.Content) > 0 {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, sub := range n.Content {
			var err error
			if c.Content[i], err = expandNode(sub, budget, depth+1); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// encodeNodeText prints a node tree without aliases as YAML.
func encodeNodeText(n *yaml.Node) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot re-encode document: %v", r)
		}
	}()
	return yaml.Marshal(n)
}

// correspondingLine walks a (the original copy) and b (its re-parsed text)
// together and returns the line in a of the node at line:col of b; with
// no exact match, of the first node on that line.
func correspondingLine(a, b *yaml.Node, line, col int) (int, bool) {
	var first int
	var walk func(a, b *yaml.Node) (int, bool)
	walk = func(a, b *yaml.Node) (int, bool) {
		if b.Line == line {
			if b.Column == col {
				return a.Line, true
			}
			if first == 0 {
				first = a.Line
			}
		}
		if len(a.Content) != len(b.Content) {
			return 0, false
		}
		for i := range a.Content {
			if l, ok := walk(a.Content[i], b.Content[i]); ok {
				return l, true
			}
		}
		return 0, false
	}
	if l, ok := walk(a, b); ok {
		return l, true
	}
	return first, first != 0
}

// decodeEvent reads one ODF metadata event.
func decodeEvent(n *yaml.Node, budget *int) (odf.MetadataEvent, *Problem) {
	return decodeWithODF(n, budget, odf.UnmarshalEventYAML)
}

// decodeSnapshot reads one kamu DatasetSnapshot document.
func decodeSnapshot(n *yaml.Node, budget *int) (*odf.DatasetSnapshot, *Problem) {
	return decodeWithODF(n, budget, func(text []byte) (*odf.DatasetSnapshot, error) {
		snaps, err := odf.ParseSnapshots("", text)
		if err != nil {
			return nil, err
		}
		if len(snaps) != 1 {
			return nil, fmt.Errorf("expected one DatasetSnapshot, found %d", len(snaps))
		}
		return snaps[0], nil
	})
}

// eventNode is the node tree of an event as the ODF codec prints it:
// kind first, fields in schema order.
func eventNode(e odf.MetadataEvent) (*yaml.Node, error) {
	text, err := odf.MarshalEventYAML(e)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, fmt.Errorf("resource: re-reading an ODF event: %w", err)
	}
	if len(doc.Content) != 1 {
		return nil, errors.New("resource: ODF event printed as an empty document")
	}
	return doc.Content[0], nil
}
