package odf

import (
	"bytes"
	"crypto/sha3"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Run with: go test -run='^$' -fuzz=FuzzParseSnapshots -fuzztime=60s ./internal/odf/
// Inputs that failed once are kept in testdata/fuzz/<FuzzName>/.

// addYAMLSeeds seeds f with the testdata documents matching the globs and
// with the documents of errors.txtar.
func addYAMLSeeds(f *testing.F, globs ...string) {
	for _, g := range globs {
		files, err := filepath.Glob(filepath.Join("testdata", "yaml", g))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	for _, c := range errorCases(f) {
		f.Add(c.input)
	}
}

// FuzzParseSnapshots checks that ParseSnapshots fails only with a
// *YAMLError, and that whatever it reads prints and reads back equal, and
// prints the same again.
func FuzzParseSnapshots(f *testing.F) {
	addYAMLSeeds(f, "*.yaml", "*.golden", "kamu/snapshot-*.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		snaps, err := ParseSnapshots("fuzz.yaml", data)
		if err != nil {
			var ye *YAMLError
			if !errors.As(err, &ye) {
				t.Fatalf("%T is not a *YAMLError: %v", err, err)
			}
			return
		}
		printed := printSnapshots(t, snaps)
		again, err := ParseSnapshots("printed.yaml", printed)
		if err != nil {
			t.Fatalf("printed form does not read: %v\n%s", err, printed)
		}
		if !reflect.DeepEqual(again, snaps) {
			t.Fatalf("read back differs\n got %#v\nwant %#v\n%s", again, snaps, printed)
		}
		if reprinted := printSnapshots(t, again); !bytes.Equal(reprinted, printed) {
			t.Fatalf("printing is not stable:\n%s\nthen\n%s", printed, reprinted)
		}
	})
}

func printSnapshots(t *testing.T, snaps []*DatasetSnapshot) []byte {
	var out []byte
	for i, s := range snaps {
		text, err := MarshalSnapshotYAML(s)
		if err != nil {
			t.Fatalf("snapshot %d does not print: %v\n%#v", i, err, s)
		}
		if i > 0 {
			out = append(out, "---\n"...)
		}
		out = append(out, text...)
	}
	return out
}

// FuzzUnmarshalBlockYAML checks that UnmarshalBlockYAML fails only with a
// *YAMLError, and that a block it reads prints as YAML and as JSON that
// read back equal, and survives FlatBuffers.
func FuzzUnmarshalBlockYAML(f *testing.F) {
	addYAMLSeeds(f, "kamu/block-*.yaml")
	for _, c := range goldenCases(f) {
		text, err := MarshalBlockYAML(goldenBlock(c.event))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(text)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := UnmarshalBlockYAML(data)
		if err != nil {
			var ye *YAMLError
			if !errors.As(err, &ye) {
				t.Fatalf("%T is not a *YAMLError: %v", err, err)
			}
			return
		}
		text, err := MarshalBlockYAML(b)
		if err != nil {
			t.Fatalf("block does not print: %v\n%#v", err, b)
		}
		again, err := UnmarshalBlockYAML(text)
		if err != nil {
			t.Fatalf("printed form does not read: %v\n%s", err, text)
		}
		if !reflect.DeepEqual(again, b) {
			t.Fatalf("read back differs\n got %#v\nwant %#v\n%s", again, b, text)
		}
		js, err := MarshalBlockJSON(b)
		if err != nil {
			t.Fatalf("block does not print as JSON: %v", err)
		}
		fromJSON, err := UnmarshalBlockYAML(js)
		if err != nil {
			t.Fatalf("JSON form does not read: %v\n%s", err, js)
		}
		if !reflect.DeepEqual(fromJSON, b) {
			t.Fatalf("read back from JSON differs\n got %#v\nwant %#v\n%s", fromJSON, b, js)
		}
		stored, err := EncodeBlock(b)
		if err != nil {
			t.Fatalf("block does not encode: %v", err)
		}
		decoded, _, err := DecodeBlock(stored)
		if err != nil {
			t.Fatalf("encoded block does not decode: %v\n%s", err, text)
		}
		if !reflect.DeepEqual(normalised(decoded), normalised(b)) {
			t.Fatalf("FlatBuffers round trip differs\n got %#v\nwant %#v", decoded, b)
		}
	})
}

// FuzzPrintStrings checks the printer on arbitrary strings, where YAML's
// quoting rules are subtle: as values, sequence items, extra-attribute
// keys and nested values, every valid UTF-8 string reads back unchanged.
func FuzzPrintStrings(f *testing.F) {
	for _, s := range []string{"", "a", "true", "a: b", "x\n\n", "\n", " lead\nx", "\u2028", "<<", "a\r\nb", "#", "- x"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) {
			return
		}
		ev := MetadataEvent(AddData{Extra: ExtraAttributes{
			a:  map[string]any{b: []any{a, b}},
			b:  a,
			"": []any{map[string]any{a: []any{b}, b: map[string]any{}}, []any{a, []any{}}},
		}})
		if a != b {
			ev = SetInfo{Description: &a, Keywords: []string{b, a}}
		}
		text, err := MarshalEventYAML(ev)
		if err != nil {
			t.Fatalf("does not print: %v", err)
		}
		got, err := UnmarshalEventYAML(text)
		if err != nil {
			t.Fatalf("printed form does not read: %v\n%s", err, text)
		}
		if !reflect.DeepEqual(got, ev) {
			t.Fatalf("read back %#v, want %#v\n%s", got, ev, text)
		}
	})
}

// FuzzModelRoundTrip builds arbitrary valid blocks from the fuzzer's bytes
// and checks that they print as YAML and read back equal, and that the
// YAML form survives FlatBuffers. Where the other fuzzers mutate text,
// this one reaches every type of the model.
func FuzzModelRoundTrip(f *testing.F) {
	for _, seed := range []string{"", "\x00", "\x01\x02\x03", "\xff\xfe\xfd\xfc\xfb\xfa", "abcdefghijklmnopqrstuvwxyz0123456789"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &modelGen{data: data}
		var b MetadataBlock
		g.fill(reflect.ValueOf(&b).Elem(), false, 0)
		text, err := MarshalBlockYAML(&b)
		if err != nil {
			t.Fatalf("does not print: %v\n%#v", err, b)
		}
		got, err := UnmarshalBlockYAML(text)
		if err != nil {
			t.Fatalf("printed form does not read: %v\n%s", err, text)
		}
		if !reflect.DeepEqual(got, &b) {
			t.Fatalf("read back\n got %#v\nwant %#v\n%s", got, &b, text)
		}
		stored, err := EncodeBlock(got)
		if err != nil {
			t.Fatalf("does not encode: %v", err)
		}
		decoded, _, err := DecodeBlock(stored)
		if err != nil {
			t.Fatalf("does not decode: %v", err)
		}
		if !reflect.DeepEqual(normalised(decoded), normalised(got)) {
			t.Fatalf("FlatBuffers round trip\n got %#v\nwant %#v", decoded, got)
		}
	})
}

// modelGen fills model values from a byte stream, choosing only values
// that the YAML form can hold: valid UTF-8, years 0 to 9999, no nil
// required unions, no empty hashes.
type modelGen struct{ data []byte }

func (g *modelGen) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

func (g *modelGen) uint64() uint64 {
	var x uint64
	for range 1 + g.byte()%8 {
		x = x<<8 | uint64(g.byte())
	}
	return x
}

func (g *modelGen) string() string {
	n := min(int(g.byte()%12), len(g.data))
	s := string(g.data[:n])
	g.data = g.data[n:]
	return strings.ToValidUTF8(s, "\uFFFD")
}

func (g *modelGen) json(depth int) any {
	switch g.byte() % 7 {
	case 0:
		return nil
	case 1:
		return g.byte()%2 == 0
	case 2:
		return json.Number(strconv.FormatInt(int64(g.uint64()), 10))
	case 3:
		return json.Number(strconv.FormatInt(int64(g.uint64()), 10) + ".50")
	case 4:
		if depth < 4 {
			var xs []any
			for range g.byte() % 3 {
				xs = append(xs, g.json(depth+1))
			}
			return append([]any{}, xs...)
		}
	case 5:
		if depth < 4 {
			m := map[string]any{}
			for range g.byte() % 3 {
				m[g.string()] = g.json(depth + 1)
			}
			return m
		}
	}
	return g.string()
}

func (g *modelGen) fill(v reflect.Value, optional bool, depth int) {
	t := v.Type()
	switch {
	case t == timeType:
		v.Set(reflect.ValueOf(time.Unix(int64(g.uint64()%253402300800), int64(g.uint64()%1e9)).UTC()))
		return
	case t == multihashType:
		v.Set(reflect.ValueOf(SHA3([]byte(g.string()))))
		return
	case t == datasetIDType:
		key := sha3.Sum256([]byte(g.string()))
		id, err := DatasetIDFromPublicKey(key[:])
		if err != nil {
			panic(err)
		}
		v.Set(reflect.ValueOf(id))
		return
	case t == bytesType:
		v.SetBytes([]byte(g.string()))
		return
	case t == extraType:
		x := ExtraAttributes{}
		for range g.byte() % 3 {
			x[g.string()] = g.json(0)
		}
		v.Set(reflect.ValueOf(x))
		return
	case isUnion(t):
		if optional && g.byte()%3 == 0 {
			return
		}
		members := unions[t].members
		m := members[int(g.byte())%len(members)]
		if depth > 8 { // stop recursion: take a member without unions
			for _, c := range members {
				if !slices.ContainsFunc(modelFields[c.typ], func(f fieldInfo) bool { return isUnion(f.typ) }) {
					m = c
					break
				}
			}
		}
		nv := reflect.New(m.typ).Elem()
		g.fill(nv, false, depth+1)
		v.Set(nv)
		return
	case enumNames[t] != nil:
		v.SetInt(int64(int(g.byte()) % len(enumNames[t])))
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if g.byte()%2 == 0 {
			return
		}
		nv := reflect.New(t.Elem())
		g.fill(nv.Elem(), false, depth+1)
		v.Set(nv)
	case reflect.Struct:
		for _, f := range modelFields[t] {
			g.fill(v.Field(f.index), isOptional(t, f), depth+1)
		}
	case reflect.Slice:
		if optional && g.byte()%3 == 0 {
			return
		}
		n := 0
		if depth < 8 {
			n = int(g.byte() % 3)
		}
		out := reflect.MakeSlice(t, n, n)
		for i := range n {
			g.fill(out.Index(i), false, depth+1)
		}
		v.Set(out)
	case reflect.String:
		v.SetString(g.string())
	case reflect.Bool:
		v.SetBool(g.byte()%2 == 1)
	case reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(g.uint64()) >> (64 - t.Bits()))
	case reflect.Uint8, reflect.Uint32, reflect.Uint64:
		v.SetUint(g.uint64() >> (64 - t.Bits()))
	}
}
