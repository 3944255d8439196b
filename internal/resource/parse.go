package resource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ipos-dev/ipos/internal/yamldiag"
)

// snapshotKind is kamu's manifest kind, accepted as a Dataset.
const snapshotKind = "DatasetSnapshot"

// envelopeFields are the top-level keys of a manifest, in printing order.
var envelopeFields = []string{"apiVersion", "kind", "metadata", "spec", "status"}

// Parse reads every document of a YAML stream, or of a JSON stream of
// one or more objects, as a manifest. Empty documents are skipped. A kamu
// DatasetSnapshot document (kind: DatasetSnapshot, version: 1, content:
// {name, kind, metadata}) becomes a Dataset object.
//
// Parse reports every problem it finds, in every document, as one
// *ParseError whose problems name source, document, line and field; it
// returns no objects then. Stopping early happens only at a syntax error,
// after which a YAML stream cannot be read further.
func (r *Registry) Parse(source string, data []byte) ([]*Object, error) {
	p := &parser{reg: r, size: len(data)}
	if len(data) > maxInputSize {
		p.problems = append(p.problems, Problem{Msg: fmt.Sprintf("input is %d bytes; the limit is %d", len(data), maxInputSize)})
	} else {
		docs, syntax := splitDocuments(data)
		var objs []*Object
		for i, root := range docs {
			if root == nil {
				continue
			}
			if o := p.document(root, i+1); o != nil {
				o.Origin.Source = source
				objs = append(objs, o)
			}
		}
		if syntax != nil {
			p.problems = append(p.problems, *syntax)
		}
		if len(p.problems) == 0 {
			if len(objs) == 0 {
				p.problems = append(p.problems, Problem{Msg: "no manifests found"})
			} else {
				return objs, nil
			}
		}
	}
	for i := range p.problems {
		p.problems[i].Source = source
	}
	slices.SortStableFunc(p.problems, func(a, b Problem) int {
		if a.Document != b.Document {
			return a.Document - b.Document
		}
		return a.Line - b.Line
	})
	return nil, &ParseError{Problems: p.problems}
}

type parser struct {
	reg      *Registry
	size     int
	problems []Problem
}

// document reads one non-empty document. It returns nil if the document
// has problems, which it records.
func (p *parser) document(root *yaml.Node, doc int) *Object {
	d := newDecoder(p.size)
	o, specPath := p.envelope(d, root)
	var fieldErrs []FieldError
	if o != nil {
		var kind *KindInfo
		if k, ok := p.reg.Lookup(o.Kind); ok {
			kind = k
		}
		fieldErrs = validateEnvelope(o, kind)
		if specPath == "content" { // kamu's snapshot: the name lives in the content
			for i := range fieldErrs {
				if fieldErrs[i].Path == "metadata.name" {
					fieldErrs[i].Path = "content.name"
				}
			}
		}
		if o.Spec != nil {
			for _, fe := range o.Spec.Validate() {
				fe.Path = joinPath(specPath, fe.Path)
				fieldErrs = append(fieldErrs, fe)
			}
		}
	}
	problems := d.problems
	if len(fieldErrs) > 0 {
		lines := map[string]int{}
		indexLines(root, "", lines, 0)
		for _, fe := range fieldErrs {
			// A field that failed to decode is not also reported as
			// invalid: its value is missing or partial.
			if slices.ContainsFunc(d.failed, func(f string) bool { return underPath(fe.Path, f) }) {
				continue
			}
			problems = append(problems, Problem{Line: lineOf(lines, fe.Path, root.Line), Path: fe.Path, Msg: fe.Msg})
		}
	}
	for i := range problems {
		problems[i].Document = doc
	}
	p.problems = append(p.problems, problems...)
	if len(problems) > 0 {
		return nil
	}
	o.Origin = Origin{Document: doc, Line: root.Line}
	return o
}

// envelope decodes the top level of a document. It returns the object
// (nil when the document is not a manifest at all) and the path of its
// spec: "spec", or "content" for a kamu DatasetSnapshot.
func (p *parser) envelope(d *decoder, root *yaml.Node) (*Object, string) {
	root = d.enter(root, "", 0)
	if root == nil {
		return nil, ""
	}
	if root.Kind != yaml.MappingNode {
		d.errorf(root, "", "expected a manifest (a mapping with apiVersion, kind, metadata and spec), got %s", yamldiag.Describe(root))
		return nil, ""
	}
	keys, fields := map[string]*yaml.Node{}, map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := d.enter(root.Content[i], "", 1)
		if k != nil && k.Kind == yaml.ScalarNode && k.Value == "kind" {
			if v := d.enter(root.Content[i+1], "kind", 1); v != nil && v.Kind == yaml.ScalarNode && v.Value == snapshotKind {
				return p.snapshot(d, root), "content"
			}
		}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, ok := d.key(root.Content[i], "", 1)
		if !ok {
			continue
		}
		if !slices.Contains(envelopeFields, key) {
			d.unknownField(root.Content[i], "", key, envelopeFields)
			continue
		}
		if prev, dup := keys[key]; dup {
			d.notef(root.Content[i], "", "field %s given twice (first on line %d)", yamldiag.Quote(key), prev.Line)
			continue
		}
		keys[key], fields[key] = root.Content[i], root.Content[i+1]
	}
	o := &Object{}
	if n := fields["apiVersion"]; n == nil {
		d.missingf(root, "", "apiVersion", "missing required field \"apiVersion\" (want apiVersion: %s)", APIVersion)
	} else if v := d.enter(n, "apiVersion", 1); v != nil {
		if s, ok := d.text(v, "apiVersion", "an API version"); ok {
			if s != APIVersion {
				d.errorf(v, "apiVersion", "unsupported API version %s; this version of IPOS reads %s", yamldiag.Quote(s), APIVersion)
			}
			o.APIVersion = s
		}
	}
	var kind *KindInfo
	if n := fields["kind"]; n == nil {
		d.missingf(root, "", "kind", "missing required field \"kind\"; known kinds: %s", strings.Join(p.reg.Kinds(), ", "))
	} else if v := d.enter(n, "kind", 1); v != nil {
		if s, ok := d.text(v, "kind", "a kind"); ok {
			o.Kind = s
			var found bool
			if kind, found = p.reg.Lookup(s); !found {
				d.errorf(v, "kind", "unknown kind %s%s; known kinds: %s", yamldiag.Quote(s), yamldiag.DidYouMean(s, p.reg.Kinds()), strings.Join(p.reg.Kinds(), ", "))
			}
		}
	}
	if n := fields["metadata"]; n == nil {
		d.missingf(root, "", "metadata", "missing required field \"metadata\"")
	} else {
		d.decode(n, reflectValue(&o.Metadata), "metadata", 1)
	}
	if n := fields["status"]; n != nil {
		d.decode(n, reflectValue(&o.Status), "status", 1)
	}
	if kind != nil {
		if n := fields["spec"]; n == nil {
			d.missingf(root, "", "spec", "missing required field \"spec\"")
		} else {
			o.Spec = kind.New()
			d.decode(n, reflectValue(o.Spec), "spec", 1)
		}
	}
	return o, "spec"
}

// snapshot reads a kamu DatasetSnapshot document as a Dataset.
func (p *parser) snapshot(d *decoder, root *yaml.Node) *Object {
	kind, ok := p.reg.Lookup(datasetKindName)
	if !ok {
		d.errorf(root, "kind", "a DatasetSnapshot becomes a Dataset, a kind this registry does not have; known kinds: %s", strings.Join(p.reg.Kinds(), ", "))
		return nil
	}
	snap, prob := decodeSnapshot(root, &d.budget)
	if prob != nil {
		d.problems = append(d.problems, *prob)
		d.failed = append(d.failed, "")
		return nil
	}
	spec, ok := kind.New().(*DatasetSpec)
	if !ok {
		d.errorf(root, "kind", "the registry's Dataset kind does not use DatasetSpec")
		return nil
	}
	spec.Kind, spec.Metadata = snap.Kind, snap.Metadata
	return &Object{
		APIVersion: APIVersion,
		Kind:       datasetKindName,
		Metadata:   Metadata{Name: snap.Name},
		Spec:       spec,
	}
}

// indexLines records the line of every field path in a document: a
// mapping entry's key line, a sequence item's line.
func indexLines(n *yaml.Node, path string, lines map[string]int, depth int) {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i <= maxDepth; i++ {
		n = n.Alias
	}
	if depth > maxDepth || len(lines) > 1<<16 {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := joinPath(path, k.Value)
			if _, ok := lines[p]; !ok {
				lines[p] = k.Line
			}
			if mp := mapPath(path, k.Value); mp != p { // the path of a Go map's key
				if _, ok := lines[mp]; !ok {
					lines[mp] = k.Line
				}
			}
			indexLines(n.Content[i+1], p, lines, depth+1)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := indexPath(path, i)
			lines[p] = item.Line
			indexLines(item, p, lines, depth+1)
		}
	}
}

// lineOf returns the line of path, or of its nearest ancestor that has one.
func lineOf(lines map[string]int, path string, def int) int {
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return def
}

// ---- Documents ---------------------------------------------------------------

var yamlLineError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlSyntaxProblem turns a yaml.v3 error ("yaml: line 3: …") into a
// Problem. yaml.v3 numbers the lines of its parser errors (as opposed to
// scanner errors) from 0, and all of those say "did not find expected …":
// their line is one more than printed.
func yamlSyntaxProblem(err error) Problem {
	msg := err.Error()
	m := yamlLineError.FindStringSubmatch(msg)
	if m == nil {
		return Problem{Msg: strings.TrimPrefix(msg, "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	if strings.HasPrefix(m[2], "did not find expected") {
		line++
	}
	return Problem{Line: line, Msg: m[2]}
}

// splitDocuments parses a stream into document roots (nil for an empty
// document). A JSON stream may hold several objects one after another,
// which YAML cannot read; YAML is tried when JSON fails. A syntax error
// ends the stream: the documents before it are returned with it.
func splitDocuments(data []byte) ([]*yaml.Node, *Problem) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		docs, jsonErr := splitJSON(data)
		if jsonErr == nil {
			return docs, nil
		}
		if ydocs, yerr := splitYAML(data); yerr == nil {
			return ydocs, nil
		}
		return docs, jsonErr
	}
	return splitYAML(data)
}

func splitYAML(data []byte) ([]*yaml.Node, *Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for doc := 1; ; doc++ {
		var n yaml.Node
		err := decodeYAML(dec, &n)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			p := yamlSyntaxProblem(err)
			p.Document = doc
			return docs, &p
		}
		var root *yaml.Node
		if len(n.Content) == 1 && !yamldiag.IsNull(n.Content[0]) {
			root = n.Content[0]
		}
		docs = append(docs, root)
	}
}

// decodeYAML reads the next document. yaml.v3 reports errors by
// panicking and recovering; a panic it fails to recover from becomes an
// error here.
func decodeYAML(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("YAML parser failed: %v", r)
		}
	}()
	return dec.Decode(n)
}

// splitJSON reads a stream of JSON values. Each value is parsed by the
// YAML parser (JSON is YAML) behind padding that keeps its line numbers.
func splitJSON(data []byte) ([]*yaml.Node, *Problem) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for doc := 1; ; doc++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			p := Problem{Document: doc, Msg: "invalid JSON: " + err.Error()}
			var se *json.SyntaxError
			if errors.As(err, &se) {
				p.Line = 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
			}
			return docs, &p
		}
		end := int(dec.InputOffset())
		start := end - len(raw)
		nl := bytes.Count(data[:start], []byte("\n"))
		col := start - (bytes.LastIndexByte(data[:start], '\n') + 1)
		text := make([]byte, 0, nl+col+len(raw))
		text = append(text, bytes.Repeat([]byte("\n"), nl)...)
		text = append(text, bytes.Repeat([]byte(" "), col)...)
		text = append(text, raw...)
		var n yaml.Node
		if err := decodeYAML(yaml.NewDecoder(bytes.NewReader(text)), &n); err != nil {
			p := yamlSyntaxProblem(err)
			p.Document = doc
			if p.Line == 0 {
				p.Line = nl + 1
			}
			return docs, &p
		}
		var root *yaml.Node
		if len(n.Content) == 1 && !yamldiag.IsNull(n.Content[0]) {
			root = n.Content[0]
		}
		docs = append(docs, root)
	}
}

// reflectValue returns the value ptr points to, settable.
func reflectValue(ptr any) reflect.Value { return reflect.ValueOf(ptr).Elem() }
