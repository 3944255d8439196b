package odf

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/ipos-dev/ipos/internal/yamldiag"
)

// This file is the human form of the model: YAML (and JSON) as kamu reads
// and writes it. Like the FlatBuffers codec it is driven by modelFields and
// unions, so a field added to the model needs no code here.
//
// Writing builds a *yaml.Node tree: mappings keep schema order and leave
// out absent optional fields; a union is a mapping whose first key is
// `kind: <Name>`; an enum is its name. The tree is printed the way kamu's
// serde_yaml prints it (two-space indent, sequences not indented under
// their key, single quotes where quoting is needed), so kamu's own test
// documents come out byte for byte.
//
// Reading walks the node tree and reports the first problem with its line,
// column and field path. It accepts what kamu accepts: kinds and enum
// values in PascalCase, camelCase or lower case; a bare kind name where a
// union is expected (`type: String` for `type: {kind: String}`); null for
// an absent optional field.

// Manifest versions of the YAML envelopes.
const (
	snapshotManifestVersion = 1 // kind: DatasetSnapshot
	eventManifestVersion    = 1 // kind: MetadataEvent (kamu's envelope for a bare event)
)

// Input limits. Manifests and printed blocks are small; the limits keep a
// hostile document from costing much more than its size.
const (
	maxYAMLSize = 16 << 20 // bytes
	// maxYAMLDepth caps nesting. It equals the FlatBuffers decoder's
	// maxDepth so that every block read from YAML can be stored and read
	// back.
	maxYAMLDepth = maxDepth
)

// YAMLError is a problem with a YAML or JSON document, saying where it is
// and what is wrong. Line and Column are 1-based, 0 when unknown.
type YAMLError struct {
	Source   string // file name given to ParseSnapshots, or ""
	Document int    // 1-based position in a multi-document stream, 0 when unknown
	Line     int
	Column   int
	Path     string // field path, such as content.metadata[0].read.separator
	Msg      string
}

// Error prints "source: document N: line L: path: message", leaving out
// the parts that are unknown and the document number of the first
// document (line numbers count from the start of the stream).
func (e *YAMLError) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	if e.Document > 1 {
		fmt.Fprintf(&b, "document %d: ", e.Document)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ---- Public API ------------------------------------------------------------

// MarshalBlockYAML prints a block as kamu does (`kamu log -o yaml`):
// kind: MetadataBlock, version: 3, content: {systemTime, prevBlockHash,
// sequenceNumber, event}.
func MarshalBlockYAML(b *MetadataBlock) ([]byte, error) {
	n, err := blockNode(b)
	if err != nil {
		return nil, err
	}
	return printYAML(n)
}

// MarshalBlockJSON prints the same tree as MarshalBlockYAML as indented
// JSON, keys in schema order: {"kind": "MetadataBlock", "version": 3,
// "content": {…}}.
func MarshalBlockJSON(b *MetadataBlock) ([]byte, error) {
	n, err := blockNode(b)
	if err != nil {
		return nil, err
	}
	return printJSON(n)
}

// UnmarshalBlockYAML reads a block printed by MarshalBlockYAML or by kamu
// (manifest version 2 or 3). JSON works too.
func UnmarshalBlockYAML(data []byte) (*MetadataBlock, error) {
	root, err := singleDocument(data)
	if err != nil {
		return nil, err
	}
	d := newYAMLDecoder(len(data))
	content, err := d.manifest(root, "MetadataBlock", ManifestVersionSequenceNumbers, ManifestVersion)
	if err != nil {
		return nil, err
	}
	var b MetadataBlock
	if err := d.value(content, reflect.ValueOf(&b).Elem(), "content", 1); err != nil {
		return nil, err
	}
	return &b, nil
}

// MarshalEventYAML prints an event as a bare mapping, kind first.
func MarshalEventYAML(e MetadataEvent) ([]byte, error) {
	if e == nil {
		return nil, errors.New("odf: marshal YAML: nil event")
	}
	return marshalYAMLValue(&e)
}

// UnmarshalEventYAML reads an event printed by MarshalEventYAML. It also
// reads kamu's envelope form, kind: MetadataEvent, version: 1, content:
// {kind: …}.
func UnmarshalEventYAML(data []byte) (MetadataEvent, error) {
	root, err := singleDocument(data)
	if err != nil {
		return nil, err
	}
	d := newYAMLDecoder(len(data))
	path := ""
	if isEventEnvelope(root) {
		if root, err = d.manifest(root, "MetadataEvent", eventManifestVersion, eventManifestVersion); err != nil {
			return nil, err
		}
		path = "content"
	}
	var e MetadataEvent
	if err := d.value(root, reflect.ValueOf(&e).Elem(), path, 1); err != nil {
		return nil, err
	}
	return e, nil
}

// ParseSnapshots reads every document of a YAML (or JSON) stream as a
// DatasetSnapshot manifest in kamu's form: kind: DatasetSnapshot,
// version: 1, content: {name, kind: Root|Derivative, metadata: [events]}.
// Empty documents are skipped. Every error is a *YAMLError whose Source is
// source, printed as "examples/x.yaml: document 2: line 7: …".
func ParseSnapshots(source string, data []byte) ([]*DatasetSnapshot, error) {
	var out []*DatasetSnapshot
	d := newYAMLDecoder(len(data))
	err := eachDocument(data, func(root *yaml.Node) error {
		if root == nil {
			return nil
		}
		content, err := d.manifest(root, "DatasetSnapshot", snapshotManifestVersion, snapshotManifestVersion)
		if err != nil {
			return err
		}
		s := new(DatasetSnapshot)
		if err := d.value(content, reflect.ValueOf(s).Elem(), "content", 1); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	if err == nil && len(out) == 0 {
		err = &YAMLError{Msg: "no DatasetSnapshot document found"}
	}
	if err != nil {
		var ye *YAMLError
		if errors.As(err, &ye) {
			ye.Source = source
		}
		return nil, err
	}
	return out, nil
}

// MarshalSnapshotYAML prints a DatasetSnapshot manifest the way kamu does.
func MarshalSnapshotYAML(s *DatasetSnapshot) ([]byte, error) {
	if s == nil {
		return nil, errors.New("odf: marshal YAML: nil snapshot")
	}
	content, err := encodeValue(reflect.ValueOf(s).Elem(), "content")
	if err != nil {
		return nil, err
	}
	return printYAML(manifestNode("DatasetSnapshot", snapshotManifestVersion, content))
}

// marshalYAMLValue prints *ptr: a model struct, union, enum or scalar.
func marshalYAMLValue(ptr any) ([]byte, error) {
	n, err := encodeValue(reflect.ValueOf(ptr).Elem(), "")
	if err != nil {
		return nil, err
	}
	return printYAML(n)
}

// unmarshalYAMLValue reads one document into *ptr.
func unmarshalYAMLValue(data []byte, ptr any) error {
	root, err := singleDocument(data)
	if err != nil {
		return err
	}
	return newYAMLDecoder(len(data)).value(root, reflect.ValueOf(ptr).Elem(), "", 0)
}

func blockNode(b *MetadataBlock) (*yaml.Node, error) {
	if b == nil {
		return nil, errors.New("odf: marshal YAML: nil block")
	}
	content, err := encodeValue(reflect.ValueOf(b).Elem(), "content")
	if err != nil {
		return nil, err
	}
	return manifestNode("MetadataBlock", ManifestVersion, content), nil
}

func manifestNode(kind string, version int, content *yaml.Node) *yaml.Node {
	return mappingNode(
		strNode("kind"), strNode(kind),
		strNode("version"), intNode(strconv.Itoa(version)),
		strNode("content"), content,
	)
}

// ---- Documents ---------------------------------------------------------------

// eachDocument parses data as a YAML stream and calls fn with the root
// node of each document, nil for an empty one. Errors from fn and syntax
// errors are numbered with the document they are in.
func eachDocument(data []byte, fn func(root *yaml.Node) error) error {
	if len(data) > maxYAMLSize {
		return &YAMLError{Msg: fmt.Sprintf("input is %d bytes; the limit is %d", len(data), maxYAMLSize)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 1; ; doc++ {
		var n yaml.Node
		err := decodeDocument(dec, &n)
		if err == io.EOF {
			return nil
		}
		if err == nil {
			var root *yaml.Node
			if len(n.Content) == 1 && !yamldiag.IsNull(n.Content[0]) {
				root = n.Content[0]
			}
			err = fn(root)
		}
		if err != nil {
			var ye *YAMLError
			if errors.As(err, &ye) && ye.Document == 0 {
				ye.Document = doc
			}
			return err
		}
	}
}

// decodeDocument reads the next document. yaml.v3 reports errors by
// panicking and recovering; a panic it fails to recover from becomes an
// error here rather than reaching callers.
func decodeDocument(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &YAMLError{Msg: fmt.Sprintf("YAML parser failed: %v", r)}
		}
	}()
	if err := dec.Decode(n); err != nil {
		if err == io.EOF {
			return err
		}
		return syntaxError(err)
	}
	return nil
}

// singleDocument parses data that must hold exactly one document.
func singleDocument(data []byte) (*yaml.Node, error) {
	var root *yaml.Node
	docs := 0
	err := eachDocument(data, func(n *yaml.Node) error {
		docs++
		if docs > 1 {
			e := &YAMLError{Msg: "expected one YAML document, found more"}
			if n != nil {
				e.Line, e.Column = n.Line, n.Column
			}
			return e
		}
		root = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, &YAMLError{Msg: "empty document"}
	}
	return root, nil
}

var yamlLineError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error ("yaml: line 3: …") into a
// YAMLError.
func syntaxError(err error) *YAMLError {
	msg := err.Error()
	if m := yamlLineError.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &YAMLError{Line: line, Msg: m[2]}
	}
	return &YAMLError{Msg: strings.TrimPrefix(msg, "yaml: ")}
}

func isEventEnvelope(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "kind" {
			return v.Kind == yaml.ScalarNode && v.Value == "MetadataEvent"
		}
	}
	return false
}

// ---- Decoding ------------------------------------------------------------------

// yamlDecoder reads node trees into model values.
type yamlDecoder struct {
	// budget is the number of nodes left to visit. Aliases let a small
	// document name the same subtree many times; the budget keeps the
	// work proportional to the input's size.
	budget int
}

func newYAMLDecoder(size int) *yamlDecoder { return &yamlDecoder{budget: 4*size + 1024} }

func errAt(n *yaml.Node, path, format string, args ...any) *YAMLError {
	e := &YAMLError{Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// enter resolves aliases, charges the node budget and checks nesting.
func (d *yamlDecoder) enter(n *yaml.Node, path string, depth int) (*yaml.Node, error) {
	for i := 0; n.Kind == yaml.AliasNode; i++ {
		if n.Alias == nil || i > maxYAMLDepth {
			return nil, errAt(n, path, "unresolvable alias *%s", n.Value)
		}
		n = n.Alias
	}
	if depth > maxYAMLDepth {
		return nil, errAt(n, path, "nested deeper than %d levels", maxYAMLDepth)
	}
	d.budget--
	if d.budget < 0 {
		return nil, errAt(n, path, "document expands to too many values (through aliases?)")
	}
	return n, nil
}

// manifest checks an envelope {kind, version, content} and returns its
// content.
func (d *yamlDecoder) manifest(root *yaml.Node, kind string, minVersion, maxVersion int) (*yaml.Node, error) {
	root, err := d.enter(root, "", 0)
	if err != nil {
		return nil, err
	}
	if root.Kind != yaml.MappingNode {
		return nil, errAt(root, "", "expected a %s manifest (a mapping with kind, version and content), got %s", kind, yamldiag.Describe(root))
	}
	var kindNode, versionNode, content *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, err := d.key(root.Content[i], "", 1)
		if err != nil {
			return nil, err
		}
		var slot **yaml.Node
		switch key {
		case "kind":
			slot = &kindNode
		case "version":
			slot = &versionNode
		case "content":
			slot = &content
		default:
			return nil, errAt(root.Content[i], "", "unknown field %s in %s manifest; known fields: kind, version, content", yamldiag.Quote(key), kind)
		}
		if *slot != nil {
			return nil, errAt(root.Content[i], "", "field %s given twice (first on line %d)", yamldiag.Quote(key), (*slot).Line)
		}
		if *slot, err = d.enter(root.Content[i+1], key, 1); err != nil {
			return nil, err
		}
	}
	if kindNode == nil {
		return nil, errAt(root, "", "missing required field \"kind\" (want kind: %s)", kind)
	}
	got, err := d.text(kindNode, "kind", "a manifest kind")
	if err != nil {
		return nil, err
	}
	if got != kind {
		return nil, errAt(kindNode, "kind", "expected kind %s, found %s", kind, yamldiag.Quote(got))
	}
	if versionNode == nil {
		return nil, errAt(root, "", "missing required field \"version\" in %s manifest", kind)
	}
	var version int32
	if err := d.integer(versionNode, reflect.ValueOf(&version).Elem(), "version"); err != nil {
		return nil, err
	}
	if int(version) < minVersion || int(version) > maxVersion {
		supported := fmt.Sprintf("version %d", minVersion)
		if minVersion != maxVersion {
			supported = fmt.Sprintf("versions %d to %d", minVersion, maxVersion)
		}
		return nil, errAt(versionNode, "version", "unsupported %s version %d (supported: %s)", kind, version, supported)
	}
	if content == nil {
		return nil, errAt(root, "", "missing required field \"content\" in %s manifest", kind)
	}
	return content, nil
}

// value decodes n into v after resolving aliases and checking limits.
func (d *yamlDecoder) value(n *yaml.Node, v reflect.Value, path string, depth int) error {
	n, err := d.enter(n, path, depth)
	if err != nil {
		return err
	}
	return d.decode(n, v, path, depth)
}

// decode decodes the resolved node n into v.
func (d *yamlDecoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) error {
	t := v.Type()
	switch {
	case t == timeType:
		ts, err := d.timestamp(n, path)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(ts))
		return nil
	case t == multihashType:
		s, err := d.text(n, path, "a multihash such as f1620…")
		if err != nil {
			return err
		}
		h, err := ParseMultihashString(s)
		if err != nil {
			return errAt(n, path, "invalid multihash %s: %v", yamldiag.Quote(s), err)
		}
		v.Set(reflect.ValueOf(h))
		return nil
	case t == datasetIDType:
		s, err := d.text(n, path, "a dataset ID (did:odf:…)")
		if err != nil {
			return err
		}
		id, err := ParseDatasetID(s)
		if err != nil {
			return errAt(n, path, "invalid dataset ID %s: %v", yamldiag.Quote(s), err)
		}
		v.Set(reflect.ValueOf(id))
		return nil
	case t == bytesType:
		s, err := d.text(n, path, "base64 data")
		if err != nil {
			return err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return errAt(n, path, "invalid base64: %v", err)
		}
		v.SetBytes(b)
		return nil
	case t == extraType:
		if n.Kind != yaml.MappingNode {
			return errAt(n, path, "expected a mapping of extra attributes, got %s", yamldiag.Describe(n))
		}
		x, err := d.anyValue(n, path, depth)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(ExtraAttributes(x.(map[string]any))))
		return nil
	case isUnion(t):
		return d.union(n, v, path, depth)
	case enumNames[t] != nil:
		return d.enum(n, v, path)
	}
	switch t.Kind() {
	case reflect.Pointer:
		nv := reflect.New(t.Elem())
		if err := d.decode(n, nv.Elem(), path, depth); err != nil {
			return err
		}
		v.Set(nv)
	case reflect.Struct:
		if n.Kind == yaml.SequenceNode && t == typeOf[DataSchema]() {
			return errAt(n, path, "expected a DataSchema mapping {fields: [{name, type}]}, got a sequence; "+
				"a list of DDL columns belongs in ddlSchema (ODF 0.38 moved it there)")
		}
		if n.Kind != yaml.MappingNode {
			return errAt(n, path, "expected a %s mapping, got %s", t.Name(), yamldiag.Describe(n))
		}
		return d.fields(n, n.Content, v, t.Name(), "", path, depth)
	case reflect.Slice:
		return d.slice(n, v, path, depth)
	case reflect.String:
		s, err := d.text(n, path, "a string")
		if err != nil {
			return err
		}
		v.SetString(s)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			return errAt(n, path, "expected a boolean (true or false), got %s", yamldiag.Describe(n))
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			return errAt(n, path, "expected a boolean (true or false), got %s", yamldiag.Describe(n))
		}
		v.SetBool(b)
	case reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint8, reflect.Uint32, reflect.Uint64:
		return d.integer(n, v, path)
	default:
		return errAt(n, path, "cannot decode into %s", t)
	}
	return nil
}

// fields decodes the key/value pairs of a mapping into the struct v. n is
// the node the pairs came from, for positions; typeName names the struct
// in messages; a union member's pairs come without its kind.
func (d *yamlDecoder) fields(n *yaml.Node, pairs []*yaml.Node, v reflect.Value, typeName, kind, path string, depth int) error {
	fields := modelFields[v.Type()]
	seen := make([]*yaml.Node, len(fields))
	for i := 0; i+1 < len(pairs); i += 2 {
		key, err := d.key(pairs[i], path, depth+1)
		if err != nil {
			return err
		}
		fi := slices.IndexFunc(fields, func(f fieldInfo) bool { return f.name == key })
		if fi < 0 {
			return errAt(pairs[i], path, "unknown field %s in %s%s; known fields: %s",
				yamldiag.Quote(key), typeName, yamldiag.DidYouMean(key, fieldNames(fields)), knownFields(fields, kind))
		}
		if seen[fi] != nil {
			return errAt(pairs[i], path, "field %s given twice (first on line %d)", yamldiag.Quote(key), seen[fi].Line)
		}
		seen[fi] = pairs[i]
		f := fields[fi]
		fpath := joinPath(path, f.name)
		vn, err := d.enter(pairs[i+1], fpath, depth+1)
		if err != nil {
			return err
		}
		if yamldiag.IsNull(vn) && isOptional(v.Type(), f) {
			continue
		}
		if err := d.decode(vn, v.Field(f.index), fpath, depth+1); err != nil {
			return err
		}
	}
	for fi, f := range fields {
		if seen[fi] == nil && !isOptional(v.Type(), f) {
			return errAt(n, path, "missing required field %q in %s", f.name, typeName)
		}
	}
	return nil
}

// union decodes a union: a mapping with a kind, or a bare kind name.
func (d *yamlDecoder) union(n *yaml.Node, v reflect.Value, path string, depth int) error {
	u := unions[v.Type()]
	var kindNode *yaml.Node
	var pairs []*yaml.Node
	switch {
	case n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, err := d.key(n.Content[i], path, depth+1)
			if err != nil {
				return err
			}
			if key != "kind" {
				pairs = append(pairs, n.Content[i], n.Content[i+1])
				continue
			}
			if kindNode != nil {
				return errAt(n.Content[i], path, "field \"kind\" given twice (first on line %d)", kindNode.Line)
			}
			if kindNode, err = d.enter(n.Content[i+1], joinPath(path, "kind"), depth+1); err != nil {
				return err
			}
		}
		if kindNode == nil {
			return errAt(n, path, "%s has no kind; valid kinds: %s", u.name, strings.Join(u.names(), ", "))
		}
	case n.Kind == yaml.ScalarNode && !yamldiag.IsNull(n):
		kindNode = n // short form: `type: String` is {kind: String}
	default:
		return errAt(n, path, "expected a %s (a mapping with a kind, or a kind name), got %s", u.name, yamldiag.Describe(n))
	}
	kpath := path
	if kindNode != n {
		kpath = joinPath(path, "kind")
	}
	name, err := d.text(kindNode, kpath, "a "+u.name+" kind")
	if err != nil {
		return err
	}
	m, ok := memberByKind(u, name)
	if !ok {
		return errAt(kindNode, kpath, "unknown %s kind %s%s; valid kinds: %s",
			u.name, yamldiag.Quote(name), yamldiag.DidYouMean(name, u.names()), strings.Join(u.names(), ", "))
	}
	nv := reflect.New(m.typ).Elem()
	if err := d.fields(n, pairs, nv, m.name, "kind", path, depth); err != nil {
		return err
	}
	v.Set(nv)
	return nil
}

func (d *yamlDecoder) slice(n *yaml.Node, v reflect.Value, path string, depth int) error {
	if n.Kind != yaml.SequenceNode {
		return errAt(n, path, "expected a sequence, got %s", yamldiag.Describe(n))
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		ipath := path + "[" + strconv.Itoa(i) + "]"
		if err := d.value(item, out.Index(i), ipath, depth+1); err != nil {
			return err
		}
	}
	v.Set(out)
	return nil
}

func (d *yamlDecoder) enum(n *yaml.Node, v reflect.Value, path string) error {
	names := enumNames[v.Type()]
	s, err := d.text(n, path, "one of "+strings.Join(names, ", "))
	if err != nil {
		return err
	}
	for i, name := range names {
		if kindMatches(name, s) {
			v.SetInt(int64(i))
			return nil
		}
	}
	return errAt(n, path, "unknown %s %s%s; valid values: %s",
		v.Type().Name(), yamldiag.Quote(s), yamldiag.DidYouMean(s, names), strings.Join(names, ", "))
}

// integer decodes an integer scalar into v, an integer of any width,
// refusing values that do not fit.
func (d *yamlDecoder) integer(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" && isIntegerText(n.Value) {
		// Too long for 64 bits, so YAML took it for a float.
		return errAt(n, path, "%s is out of range for %s", yamldiag.Quote(n.Value), v.Kind())
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return errAt(n, path, "expected an integer, got %s", yamldiag.Describe(n))
	}
	var x any
	if err := n.Decode(&x); err != nil {
		return errAt(n, path, "expected an integer, got %s", yamldiag.Describe(n))
	}
	var neg bool
	var mag uint64 // absolute value
	switch x := x.(type) {
	case int:
		neg, mag = x < 0, absInt(int64(x))
	case int64:
		neg, mag = x < 0, absInt(x)
	case uint64:
		mag = x
	default:
		return errAt(n, path, "expected an integer, got %s", yamldiag.Describe(n))
	}
	kind := v.Kind()
	switch kind {
	case reflect.Int16, reflect.Int32, reflect.Int64:
		bits := v.Type().Bits()
		limit := uint64(1) << (bits - 1) // |min|; max is limit-1
		if (neg && mag > limit) || (!neg && mag >= limit) {
			return errAt(n, path, "%s is out of range for %s (%d to %d)", n.Value, kind, -int64(limit-1)-1, limit-1)
		}
		i := int64(mag) // wraps to math.MinInt64 for -2^63, which is right
		if neg {
			i = -i
		}
		v.SetInt(i)
	default:
		max := uint64(math.MaxUint64) >> (64 - v.Type().Bits())
		if neg || mag > max {
			return errAt(n, path, "%s is out of range for %s (0 to %d)", n.Value, kind, max)
		}
		v.SetUint(mag)
	}
	return nil
}

func isIntegerText(s string) bool {
	s = strings.TrimLeft(s, "+-")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func absInt(x int64) uint64 {
	if x < 0 {
		return uint64(-(x + 1)) + 1
	}
	return uint64(x)
}

// text returns the text of a scalar read as a string. As in kamu, any
// plain scalar will do (`version: 1.0` is the string "1.0", `<<` is not a
// merge); null, collections, binary and custom tags will not.
func (d *yamlDecoder) text(n *yaml.Node, path, want string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", errAt(n, path, "expected %s, got %s", want, yamldiag.Describe(n))
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!bool", "!!timestamp", "!!merge":
	default:
		return "", errAt(n, path, "expected %s, got %s", want, yamldiag.Describe(n))
	}
	if !utf8.ValidString(n.Value) {
		return "", errAt(n, path, "string is not valid UTF-8")
	}
	return n.Value, nil
}

func (d *yamlDecoder) timestamp(n *yaml.Node, path string) (time.Time, error) {
	const want = "an RFC 3339 timestamp such as 2020-01-01T12:00:00Z"
	s, err := d.text(n, path, want)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errAt(n, path, "invalid timestamp %s: want %s", yamldiag.Quote(s), want)
	}
	t = t.UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return time.Time{}, errAt(n, path, "timestamp %s is outside years 0000 to 9999 in UTC", yamldiag.Quote(s))
	}
	return t, nil
}

// key returns the text of a mapping key.
func (d *yamlDecoder) key(n *yaml.Node, path string, depth int) (string, error) {
	n, err := d.enter(n, path, depth)
	if err != nil {
		return "", err
	}
	if n.Kind != yaml.ScalarNode {
		return "", errAt(n, path, "mapping keys must be strings, got %s", yamldiag.Describe(n))
	}
	if !utf8.ValidString(n.Value) {
		return "", errAt(n, path, "key is not valid UTF-8")
	}
	return n.Value, nil
}

// anyValue reads extra attributes: any YAML that has a JSON equivalent.
// Numbers become json.Number holding the number as written when that is
// valid JSON (so 1.0 stays 1.0, as kamu keeps it), else in canonical form.
func (d *yamlDecoder) anyValue(n *yaml.Node, path string, depth int) (any, error) {
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, err := d.key(n.Content[i], path, depth+1)
			if err != nil {
				return nil, err
			}
			if _, dup := m[k]; dup {
				return nil, errAt(n.Content[i], path, "key %s given twice", yamldiag.Quote(k))
			}
			kpath := extraPath(path, k)
			vn, err := d.enter(n.Content[i+1], kpath, depth+1)
			if err != nil {
				return nil, err
			}
			if m[k], err = d.anyValue(vn, kpath, depth+1); err != nil {
				return nil, err
			}
		}
		return m, nil
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, item := range n.Content {
			ipath := path + "[" + strconv.Itoa(i) + "]"
			vn, err := d.enter(item, ipath, depth+1)
			if err != nil {
				return nil, err
			}
			if out[i], err = d.anyValue(vn, ipath, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, errAt(n, path, "invalid boolean %s", yamldiag.Quote(n.Value))
			}
			return b, nil
		case "!!int":
			var x any
			if err := n.Decode(&x); err == nil {
				switch x := x.(type) {
				case int:
					return json.Number(strconv.Itoa(x)), nil
				case int64:
					return json.Number(strconv.FormatInt(x, 10)), nil
				case uint64:
					return json.Number(strconv.FormatUint(x, 10)), nil
				}
			}
			return nil, errAt(n, path, "invalid integer %s", yamldiag.Quote(n.Value))
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, errAt(n, path, "invalid number %s", yamldiag.Quote(n.Value))
			}
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, errAt(n, path, "%s has no JSON form", yamldiag.Describe(n))
			}
			if isJSONNumber(n.Value) {
				return json.Number(n.Value), nil
			}
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
		case "!!str", "!!timestamp", "!!merge":
			if !utf8.ValidString(n.Value) {
				return nil, errAt(n, path, "string is not valid UTF-8")
			}
			return n.Value, nil
		}
	}
	return nil, errAt(n, path, "%s has no JSON form", yamldiag.Describe(n))
}

func isJSONNumber(s string) bool {
	return s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') && json.Valid([]byte(s))
}

// isOptional reports whether field f of struct type t may be absent:
// pointers, and slices, maps and unions tagged opt.
func isOptional(t reflect.Type, f fieldInfo) bool {
	switch f.typ.Kind() {
	case reflect.Pointer:
		return true
	case reflect.Interface:
		return f.opt
	}
	return f.opt
}

// kindMatches reports whether s spells name in one of the forms kamu
// accepts: as written (PascalCase), camelCase, or all lower case. Other
// mixtures of case ("nDjson") are refused, as kamu refuses them.
func kindMatches(name, s string) bool {
	if s == name || s == strings.ToLower(name) {
		return true
	}
	return name != "" && s == strings.ToLower(name[:1])+name[1:]
}

func memberByKind(u *unionInfo, s string) (unionMember, bool) {
	for _, m := range u.members {
		if kindMatches(m.name, s) {
			return m, true
		}
	}
	return unionMember{}, false
}

func fieldNames(fields []fieldInfo) []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return names
}

func knownFields(fields []fieldInfo, kind string) string {
	names := fieldNames(fields)
	if kind != "" {
		names = append([]string{kind}, names...)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// extraPath appends an extra-attribute key, bracketed unless it is a
// plain identifier (keys are usually "domain/name").
func extraPath(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			plain = false
			break
		}
	}
	if plain {
		return joinPath(path, key)
	}
	return path + "[" + strconv.Quote(key) + "]"
}

// ---- Encoding ------------------------------------------------------------------

func scalarNode(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

func strNode(s string) *yaml.Node { return scalarNode("!!str", s) }
func intNode(s string) *yaml.Node { return scalarNode("!!int", s) }

func mappingNode(kv ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: kv}
}

func encodeError(path, format string, args ...any) error {
	if path == "" {
		path = "value"
	}
	return fmt.Errorf("odf: marshal YAML: %s: %s", path, fmt.Sprintf(format, args...))
}

// encodeValue builds the node tree of a model value.
func encodeValue(v reflect.Value, path string) (*yaml.Node, error) {
	t := v.Type()
	switch {
	case t == timeType:
		ts := v.Interface().(time.Time).UTC()
		if ts.Year() < 0 || ts.Year() > 9999 {
			return nil, encodeError(path, "timestamp %v is outside years 0000 to 9999", ts)
		}
		return scalarNode("!!timestamp", formatTimestamp(ts)), nil
	case t == multihashType:
		return strNode(v.Interface().(Multihash).String()), nil
	case t == datasetIDType:
		return strNode(v.Interface().(DatasetID).String()), nil
	case t == bytesType:
		return strNode(base64.StdEncoding.EncodeToString(v.Bytes())), nil
	case t == extraType:
		return extraNode(v.Interface().(ExtraAttributes), path)
	case isUnion(t):
		if v.IsNil() {
			return nil, encodeError(path, "nil %s", unions[t].name)
		}
		u := unions[t]
		tag, ok := u.tagOf(v.Elem().Type())
		if !ok {
			return nil, encodeError(path, "%s is not a %s", v.Elem().Type(), u.name)
		}
		return structNode(v.Elem(), u.members[tag-1].name, path)
	case enumNames[t] != nil:
		names := enumNames[t]
		if i := v.Int(); i < 0 || i >= int64(len(names)) {
			return nil, encodeError(path, "%s has no value %d", t.Name(), i)
		}
		return strNode(names[v.Int()]), nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil, encodeError(path, "nil %s", t)
		}
		return encodeValue(v.Elem(), path)
	case reflect.Struct:
		return structNode(v, "", path)
	case reflect.Slice:
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: make([]*yaml.Node, v.Len())}
		for i := range v.Len() {
			n, err := encodeValue(v.Index(i), path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			seq.Content[i] = n
		}
		return seq, nil
	case reflect.String:
		if !utf8.ValidString(v.String()) {
			return nil, encodeError(path, "string is not valid UTF-8")
		}
		return strNode(v.String()), nil
	case reflect.Bool:
		return scalarNode("!!bool", strconv.FormatBool(v.Bool())), nil
	case reflect.Int16, reflect.Int32, reflect.Int64:
		return intNode(strconv.FormatInt(v.Int(), 10)), nil
	case reflect.Uint8, reflect.Uint32, reflect.Uint64:
		return intNode(strconv.FormatUint(v.Uint(), 10)), nil
	}
	return nil, encodeError(path, "cannot encode %s", t)
}

// structNode builds a mapping of a struct's fields in schema order,
// leaving out absent optional fields; kind, when not empty, comes first.
func structNode(v reflect.Value, kind, path string) (*yaml.Node, error) {
	m := mappingNode()
	if kind != "" {
		m.Content = append(m.Content, strNode("kind"), strNode(kind))
	}
	for _, f := range modelFields[v.Type()] {
		fv := v.Field(f.index)
		switch fv.Kind() {
		case reflect.Pointer, reflect.Interface:
			if fv.IsNil() {
				continue
			}
		case reflect.Slice, reflect.Map:
			if fv.IsNil() && f.opt {
				continue
			}
		}
		n, err := encodeValue(fv, joinPath(path, f.name))
		if err != nil {
			return nil, err
		}
		m.Content = append(m.Content, strNode(f.name), n)
	}
	return m, nil
}

// extraNode builds extra attributes from their canonical JSON (the form
// stored in blocks), so that every value the FlatBuffers codec accepts
// prints, keys sorted.
func extraNode(x ExtraAttributes, path string) (*yaml.Node, error) {
	js, err := extraJSON(x)
	if err != nil {
		return nil, encodeError(path, "%v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var val any
	if err := dec.Decode(&val); err != nil {
		return nil, encodeError(path, "%v", err)
	}
	return jsonNode(val), nil
}

func jsonNode(val any) *yaml.Node {
	switch val := val.(type) {
	case map[string]any:
		keys := make([]string, 0, len(val))
		for k := range val {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		m := mappingNode()
		for _, k := range keys {
			m.Content = append(m.Content, strNode(k), jsonNode(val[k]))
		}
		return m
	case []any:
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, item := range val {
			seq.Content = append(seq.Content, jsonNode(item))
		}
		return seq
	case string:
		return strNode(val)
	case bool:
		return scalarNode("!!bool", strconv.FormatBool(val))
	case json.Number:
		return numberNode(string(val))
	}
	return scalarNode("!!null", "null")
}

// numberNode tags a JSON number as YAML resolves it when printed plain:
// integers that fit 64 bits are !!int, everything else !!float.
func numberNode(s string) *yaml.Node {
	if !strings.ContainsAny(s, ".eE") {
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return intNode(s)
		}
		if _, err := strconv.ParseUint(s, 10, 64); err == nil {
			return intNode(s)
		}
	}
	return scalarNode("!!float", s)
}

// formatTimestamp prints RFC 3339 in UTC with 0, 3, 6 or 9 fractional
// digits, as kamu (chrono's SecondsFormat::AutoSi) does.
func formatTimestamp(t time.Time) string {
	t = t.UTC()
	s := t.Format("2006-01-02T15:04:05")
	switch ns := t.Nanosecond(); {
	case ns == 0:
	case ns%1e6 == 0:
		s += fmt.Sprintf(".%03d", ns/1e6)
	case ns%1e3 == 0:
		s += fmt.Sprintf(".%06d", ns/1e3)
	default:
		s += fmt.Sprintf(".%09d", ns)
	}
	return s + "Z"
}

// ---- Printing ------------------------------------------------------------------

// printYAML prints a node tree in block style as serde_yaml does: two
// spaces of indent, a sequence under a mapping key at the key's own
// indentation. yaml.v3 always indents such sequences, so the structure is
// printed here and only scalars are left to yaml.v3.
func printYAML(root *yaml.Node) ([]byte, error) {
	var p yamlPrinter
	var err error
	switch {
	case root.Kind == yaml.MappingNode && len(root.Content) > 0:
		err = p.mapping(root, 0, false)
	case root.Kind == yaml.SequenceNode && len(root.Content) > 0:
		err = p.sequence(root, 0, false)
	case root.Kind == yaml.MappingNode:
		p.buf.WriteString("{}\n")
	case root.Kind == yaml.SequenceNode:
		p.buf.WriteString("[]\n")
	default:
		err = p.scalar(root, 0)
	}
	if err != nil {
		return nil, err
	}
	return p.buf.Bytes(), nil
}

type yamlPrinter struct{ buf bytes.Buffer }

func (p *yamlPrinter) indent(n int) {
	for range n {
		p.buf.WriteByte(' ')
	}
}

// mapping prints a non-empty mapping at column indent; inline means the
// first key follows a "- " already written.
func (p *yamlPrinter) mapping(n *yaml.Node, indent int, inline bool) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if i > 0 || !inline {
			p.indent(indent)
		}
		key, explicit, err := renderKey(n.Content[i])
		if err != nil {
			return err
		}
		if explicit {
			// A key too long for an implicit key: "? key" then ": value".
			p.buf.WriteString("? ")
			p.buf.WriteString(key)
			p.buf.WriteByte('\n')
			p.indent(indent)
			p.buf.WriteByte(':')
		} else {
			p.buf.WriteString(key)
			p.buf.WriteByte(':')
		}
		if err := p.value(n.Content[i+1], indent, explicit); err != nil {
			return err
		}
	}
	return nil
}

// value prints a mapping value after the "key:" written at column indent.
func (p *yamlPrinter) value(v *yaml.Node, indent int, explicitKey bool) error {
	switch {
	case v.Kind == yaml.MappingNode && len(v.Content) == 0:
		p.buf.WriteString(" {}\n")
	case v.Kind == yaml.MappingNode:
		p.buf.WriteByte('\n')
		return p.mapping(v, indent+2, false)
	case v.Kind == yaml.SequenceNode && len(v.Content) == 0:
		p.buf.WriteString(" []\n")
	case v.Kind == yaml.SequenceNode:
		p.buf.WriteByte('\n')
		if explicitKey {
			return p.sequence(v, indent+2, false)
		}
		return p.sequence(v, indent, false)
	default:
		p.buf.WriteByte(' ')
		return p.scalar(v, indent)
	}
	return nil
}

// sequence prints a non-empty sequence with its dashes at column indent.
func (p *yamlPrinter) sequence(n *yaml.Node, indent int, inline bool) error {
	for i, item := range n.Content {
		if i > 0 || !inline {
			p.indent(indent)
		}
		p.buf.WriteByte('-')
		var err error
		switch {
		case item.Kind == yaml.MappingNode && len(item.Content) == 0:
			p.buf.WriteString(" {}\n")
		case item.Kind == yaml.MappingNode:
			p.buf.WriteByte(' ')
			err = p.mapping(item, indent+2, true)
		case item.Kind == yaml.SequenceNode && len(item.Content) == 0:
			p.buf.WriteString(" []\n")
		case item.Kind == yaml.SequenceNode:
			p.buf.WriteByte(' ')
			err = p.sequence(item, indent+2, true)
		default:
			p.buf.WriteByte(' ')
			err = p.scalar(item, indent)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// scalar prints a scalar whose parent is at column indent. A block
// scalar's lines, which yaml.v3 indents by two, are shifted by indent.
func (p *yamlPrinter) scalar(n *yaml.Node, indent int) error {
	text, err := renderScalar(n, false)
	if err != nil {
		return err
	}
	for i, line := range strings.Split(text, "\n") {
		if i > 0 {
			p.buf.WriteByte('\n')
			if line != "" {
				p.indent(indent)
			}
		}
		p.buf.WriteString(line)
	}
	p.buf.WriteByte('\n')
	return nil
}

// maxImplicitKey is the longest key printed as "key:"; YAML parsers refuse
// implicit keys over 1024 characters, and libyaml switches at 128.
const maxImplicitKey = 128

func renderKey(n *yaml.Node) (string, bool, error) {
	text, err := renderScalar(n, true)
	if err != nil {
		return "", false, err
	}
	return text, len(text) > maxImplicitKey, nil
}

// yamlBreaks are the characters YAML 1.1 parsers, yaml.v3 among them,
// take as line breaks.
const yamlBreaks = "\n\r\u0085\u2028\u2029"

// renderScalar prints one scalar. Strings are left to yaml.v3, preferring
// single quotes to double as serde_yaml does, and checked by reading them
// back: yaml.v3 prints a few strings (a lone "\n", U+2028 …) in forms it
// cannot read back, and those fall back to double quotes.
func renderScalar(n *yaml.Node, singleLine bool) (string, error) {
	if n.Tag != "!!str" {
		return n.Value, nil // numbers, booleans, timestamps and null, in canonical form
	}
	s := n.Value
	if isPlainSafe(s) {
		return s, nil
	}
	style := yaml.Style(0)
	if singleLine && strings.ContainsAny(s, yamlBreaks) {
		style = yaml.DoubleQuotedStyle // an implicit key is one line
	}
	text, err := encodeScalar(s, style)
	if err != nil {
		return "", err
	}
	if text == s && isPrintableASCII(s) {
		return text, nil // plain, and yaml.v3 has checked it reads back as this string
	}
	if strings.HasPrefix(text, `"`) && !strings.ContainsAny(s, yamlBreaks) {
		if alt, err := encodeScalar(s, yaml.SingleQuotedStyle); err == nil && strings.HasPrefix(alt, "'") {
			text = alt
		}
	}
	if readsBack(text, s) {
		return text, nil
	}
	if text, err = encodeScalar(s, yaml.DoubleQuotedStyle); err != nil {
		return "", err
	}
	if readsBack(text, s) {
		return text, nil
	}
	return "", fmt.Errorf("odf: marshal YAML: cannot print string %s", yamldiag.Quote(s))
}

// isPlainSafe reports, cheaply and conservatively, whether s prints as a
// plain scalar that reads back as the same string: a letter followed by
// letters, digits and _ . / - or a colon not followed by a space, and not a
// word YAML reads as a boolean or null. Keys, kinds, hashes and DIDs all
// qualify, which spares printing them through yaml.v3.
func isPlainSafe(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	if c := s[0]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '.', c == '/', c == '-':
		case c == ':' && i+1 < len(s) && s[i+1] != ' ':
		default:
			return false
		}
	}
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "true", "false", "on", "off", "null":
		return false
	}
	return true
}

func encodeScalar(s string, style yaml.Style) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: style}); err != nil {
		return "", fmt.Errorf("odf: marshal YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("odf: marshal YAML: %w", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// readsBack reports whether text, a printed scalar less its final line
// break, parses as the string s.
func readsBack(text, s string) bool {
	text += "\n"
	if strings.Contains(text, "\n...") || strings.Contains(text, "\n---") {
		return false // a document marker would end the enclosing document
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil || len(doc.Content) != 1 {
		return false
	}
	n := doc.Content[0]
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && n.Value == s
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// printJSON prints a node tree as indented JSON, keys in tree order.
func printJSON(root *yaml.Node) ([]byte, error) {
	var compact bytes.Buffer
	if err := writeJSON(&compact, root); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("odf: marshal JSON: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSONString(buf, n.Content[i].Value); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := writeJSON(buf, n.Content[i+1]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	default:
		switch n.Tag {
		case "!!int", "!!float", "!!bool", "!!null":
			buf.WriteString(n.Value)
		default:
			return writeJSONString(buf, n.Value)
		}
	}
	return nil
}

func writeJSONString(buf *bytes.Buffer, s string) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("odf: marshal JSON: %w", err)
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}
