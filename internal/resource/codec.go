package resource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/ipos-dev/ipos/internal/yamldiag"
)

// This file decodes yaml.Node trees into spec structs by reflection and
// encodes them back, keeping field order. Decoding collects every problem
// instead of stopping at the first; each problem carries the line of the
// node it is about and the field path from the document root.

// Limits keep a hostile document from costing much more than its size.
const (
	maxInputSize = 16 << 20 // bytes
	maxDepth     = 64       // nesting of mappings and sequences
)

// nodeDecoder is implemented by specs that decode themselves (Dataset,
// whose events go through the ODF codec).
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

// nodeEncoder is implemented by specs that encode themselves.
type nodeEncoder interface {
	encodeNode() (*yaml.Node, error)
}

// decoder reads node trees into Go values, collecting problems.
type decoder struct {
	problems []Problem
	// failed are the paths of values that could not be decoded, so
	// validation does not report them again as missing or invalid.
	failed []string
	// budget is the number of nodes left to visit; aliases let a small
	// document name one subtree many times.
	budget int
}

func newDecoder(size int) *decoder { return &decoder{budget: 4*size + 1024} }

// errorf reports that the value at path could not be decoded.
func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.notef(n, path, format, args...)
	d.failed = append(d.failed, path)
}

// missingf reports that field is missing from the mapping at path.
func (d *decoder) missingf(n *yaml.Node, path, field, format string, args ...any) {
	d.notef(n, path, format, args...)
	d.failed = append(d.failed, joinPath(path, field))
}

// notef reports a problem that leaves the decoded value usable (an
// unknown or repeated field).
func (d *decoder) notef(n *yaml.Node, path, format string, args ...any) {
	p := Problem{Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line = n.Line
	}
	d.problems = append(d.problems, p)
}

// enter resolves aliases, charges the node budget and checks nesting. It
// reports a problem and returns nil when the node cannot be read.
func (d *decoder) enter(n *yaml.Node, path string, depth int) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode; i++ {
		if n.Alias == nil || i > maxDepth {
			d.errorf(n, path, "unresolvable alias *%s", n.Value)
			return nil
		}
		n = n.Alias
	}
	if depth > maxDepth {
		d.errorf(n, path, "nested deeper than %d levels", maxDepth)
		return nil
	}
	d.budget--
	if d.budget < 0 {
		if d.budget == -1 {
			d.errorf(n, path, "document expands to too many values (through aliases?)")
		}
		return nil
	}
	return n
}

var timeType = reflect.TypeFor[time.Time]()

// decode reads n into v.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n = d.enter(n, path, depth); n == nil {
		return
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
			nd.decodeNode(d, n, path)
			return
		}
	}
	if yamldiag.IsNull(n) {
		v.SetZero()
		return
	}
	t := v.Type()
	if t == timeType {
		s, ok := d.text(n, path, "an RFC 3339 timestamp such as 2020-01-01T12:00:00Z")
		if !ok {
			return
		}
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || ts.Year() < 0 || ts.Year() > 9999 {
			d.errorf(n, path, "invalid timestamp %s: want an RFC 3339 timestamp such as 2020-01-01T12:00:00Z", yamldiag.Quote(s))
			return
		}
		v.Set(reflect.ValueOf(ts.UTC()))
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		nv := reflect.New(t.Elem())
		d.decode(n, nv.Elem(), path, depth)
		v.Set(nv)
	case reflect.Struct:
		d.structFields(n, v, path, depth)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, path, "expected a sequence, got %s", yamldiag.Describe(n))
			return
		}
		out := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, out.Index(i), indexPath(path, i), depth+1)
		}
		v.Set(out)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			d.errorf(n, path, "cannot decode into %s", t)
			return
		}
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "expected a mapping, got %s", yamldiag.Describe(n))
			return
		}
		out := reflect.MakeMapWithSize(t, len(n.Content)/2)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, ok := d.key(n.Content[i], path, depth+1)
			if !ok {
				continue
			}
			if line, dup := seen[key]; dup {
				d.notef(n.Content[i], path, "key %s given twice (first on line %d)", yamldiag.Quote(key), line)
				continue
			}
			seen[key] = n.Content[i].Line
			ev := reflect.New(t.Elem()).Elem()
			d.decode(n.Content[i+1], ev, mapPath(path, key), depth+1)
			out.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), ev)
		}
		v.Set(out)
	case reflect.String:
		if s, ok := d.text(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.errorf(n, path, "expected a boolean (true or false), got %s", yamldiag.Describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int32, reflect.Int64:
		var x int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&x) != nil {
			d.errorf(n, path, "expected an integer, got %s", yamldiag.Describe(n))
			return
		}
		if v.OverflowInt(x) {
			d.errorf(n, path, "%s is out of range", yamldiag.Quote(n.Value))
			return
		}
		v.SetInt(x)
	case reflect.Float64:
		var x float64
		tag := n.ShortTag()
		if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&x) != nil {
			d.errorf(n, path, "expected a number, got %s", yamldiag.Describe(n))
			return
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			d.errorf(n, path, "expected a finite number, got %s", yamldiag.Quote(n.Value))
			return
		}
		v.SetFloat(x)
	default:
		d.errorf(n, path, "cannot decode into %s", t)
	}
}

// structFields reads a mapping into the struct v, refusing unknown and
// repeated fields.
func (d *decoder) structFields(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", yamldiag.Describe(n))
		return
	}
	fields := structFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, ok := d.key(n.Content[i], path, depth+1)
		if !ok {
			continue
		}
		f, found := findField(fields, key)
		if !found {
			d.unknownField(n.Content[i], path, key, fieldNames(fields))
			continue
		}
		if line, dup := seen[key]; dup {
			d.notef(n.Content[i], path, "field %s given twice (first on line %d)", yamldiag.Quote(key), line)
			continue
		}
		seen[key] = n.Content[i].Line
		d.decode(n.Content[i+1], v.FieldByIndex(f.index), joinPath(path, f.name), depth+1)
	}
}

// unknownField reports an unknown key. When it is a near miss of a known
// field, that field counts as failed: "missing path" after "unknown
// field pth (did you mean path?)" would say the same thing twice.
func (d *decoder) unknownField(k *yaml.Node, path, key string, known []string) {
	d.notef(k, path, "unknown field %s%s; known fields: %s", yamldiag.Quote(key), yamldiag.DidYouMean(key, known), strings.Join(known, ", "))
	if best := yamldiag.Closest(key, known); best != "" {
		d.failed = append(d.failed, joinPath(path, best))
	}
}

// text returns the text of a scalar. As in the ODF codec, any plain
// scalar will do (`version: 1` is the string "1"); null, collections,
// binary and custom tags will not.
func (d *decoder) text(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "expected %s, got %s", want, yamldiag.Describe(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!bool", "!!timestamp", "!!merge":
	default:
		d.errorf(n, path, "expected %s, got %s", want, yamldiag.Describe(n))
		return "", false
	}
	if !utf8.ValidString(n.Value) {
		d.errorf(n, path, "string is not valid UTF-8")
		return "", false
	}
	return n.Value, true
}

// key returns the text of a mapping key.
func (d *decoder) key(n *yaml.Node, path string, depth int) (string, bool) {
	if n = d.enter(n, path, depth); n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || yamldiag.IsNull(n) {
		d.errorf(n, path, "mapping keys must be strings, got %s", yamldiag.Describe(n))
		return "", false
	}
	if !utf8.ValidString(n.Value) {
		d.errorf(n, path, "key is not valid UTF-8")
		return "", false
	}
	return n.Value, true
}

// ---- Struct fields -------------------------------------------------------------

type fieldInfo struct {
	name      string
	index     []int
	omitEmpty bool
}

// structFields lists t's fields by their json tag, in declaration order;
// an untagged embedded struct's fields are inlined.
func structFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			for _, sub := range structFields(f.Type) {
				sub.index = append([]int{i}, sub.index...)
				out = append(out, sub)
			}
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out = append(out, fieldInfo{
			name:      name,
			index:     []int{i},
			omitEmpty: strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero"),
		})
	}
	return out
}

func findField(fields []fieldInfo, name string) (fieldInfo, bool) {
	for _, f := range fields {
		if f.name == name {
			return f, true
		}
	}
	return fieldInfo{}, false
}

func fieldNames(fields []fieldInfo) []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return names
}

// ---- Encoding -------------------------------------------------------------------

// encodeValue builds the node tree of v: mappings in field order, map
// keys sorted, empty optional fields left out.
func encodeValue(v reflect.Value) (*yaml.Node, error) {
	if v.CanInterface() {
		if ne, ok := v.Interface().(nodeEncoder); ok {
			if v.Kind() == reflect.Pointer && v.IsNil() {
				return nullNode(), nil
			}
			return ne.encodeNode()
		}
	}
	if v.Type() == timeType {
		return strNode(v.Interface().(time.Time).UTC().Format(time.RFC3339Nano)), nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nullNode(), nil
		}
		return encodeValue(v.Elem())
	case reflect.Struct:
		n := mappingNode()
		for _, f := range structFields(v.Type()) {
			fv := v.FieldByIndex(f.index)
			if f.omitEmpty && isEmptyValue(fv) {
				continue
			}
			c, err := encodeValue(fv)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, strNode(f.name), c)
		}
		return n, nil
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := range v.Len() {
			c, err := encodeValue(v.Index(i))
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	case reflect.Map:
		n := mappingNode()
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		for _, k := range keys {
			c, err := encodeValue(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key())))
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, strNode(k), c)
		}
		return n, nil
	case reflect.String:
		return strNode(v.String()), nil
	case reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Bool())}, nil
	case reflect.Int, reflect.Int32, reflect.Int64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v.Int(), 10)}, nil
	case reflect.Float64:
		f := strconv.FormatFloat(v.Float(), 'g', -1, 64)
		if !strings.ContainsAny(f, ".eE") {
			f += ".0" // so that it reads back as a float, not an int
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: f}, nil
	}
	return nil, fmt.Errorf("resource: cannot encode %s", v.Type())
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map, reflect.String:
		return v.Len() == 0
	}
	return v.IsZero()
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func nullNode() *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"} }

func mappingNode(kv ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: kv}
}

// ---- Canonical and printed JSON ---------------------------------------------------

// canonicalJSON is n as compact JSON with object keys sorted: the same
// bytes for the same value whatever the key order or formatting of the
// manifest it came from.
func canonicalJSON(n *yaml.Node) ([]byte, error) {
	v, err := nodeToAny(n, 0)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// nodeToAny converts a tree without aliases into JSON values: maps,
// slices, strings, booleans, nil and json.Number.
func nodeToAny(n *yaml.Node, depth int) (any, error) {
	if depth > 4*maxDepth {
		return nil, fmt.Errorf("resource: value nested too deeply")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, fmt.Errorf("resource: empty document")
		}
		return nodeToAny(n.Content[0], depth)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("resource: unresolved alias")
		}
		return nodeToAny(n.Alias, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := nodeToAny(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := nodeToAny(c, depth+1)
			if err != nil {
				return nil, err
			}
			s[i] = v
		}
		return s, nil
	case yaml.ScalarNode:
		return scalarToAny(n), nil
	}
	return nil, fmt.Errorf("resource: unexpected YAML node kind %d", n.Kind)
}

// scalarToAny maps a scalar by its tag. Numbers keep their text when it is
// valid JSON (so 1.0 stays 1.0, as the ODF codec keeps it) and become
// strings otherwise (.inf, 0x1F).
func scalarToAny(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int", "!!float":
		if isJSONNumber(n.Value) {
			return json.Number(n.Value)
		}
		var f float64
		if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	}
	return n.Value
}

func isJSONNumber(s string) bool {
	if s == "" {
		return false
	}
	var x json.Number
	return json.Unmarshal([]byte(s), &x) == nil && string(x) == s
}

// printJSON prints n as indented JSON, keys in the node's order.
func printJSON(n *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeJSON(&buf, n, 0); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > 4*maxDepth {
		return fmt.Errorf("resource: value nested too deeply")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("resource: empty document")
		}
		return writeJSON(buf, n.Content[0], depth)
	case yaml.AliasNode:
		if n.Alias == nil {
			return fmt.Errorf("resource: unresolved alias")
		}
		return writeJSON(buf, n.Alias, depth+1)
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, n.Content[i].Value)
			buf.WriteByte(':')
			if err := writeJSON(buf, n.Content[i+1], depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, c, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		switch v := scalarToAny(n).(type) {
		case nil:
			buf.WriteString("null")
		case bool:
			buf.WriteString(strconv.FormatBool(v))
		case json.Number:
			buf.WriteString(string(v))
		case string:
			writeJSONString(buf, v)
		}
	default:
		return fmt.Errorf("resource: unexpected YAML node kind %d", n.Kind)
	}
	return nil
}

func writeJSONString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	buf.Truncate(buf.Len() - 1)
}

// printYAML prints n with two-space indentation.
func printYAML(n *yaml.Node) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("resource: print YAML: %v", r)
		}
	}()
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ---- Small helpers ------------------------------------------------------------------

// mapPath appends a map key to a path, bracketed unless it is a plain
// identifier.
func mapPath(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			plain = false
			break
		}
	}
	if plain {
		return joinPath(path, key)
	}
	return path + "[" + strconv.Quote(key) + "]"
}
