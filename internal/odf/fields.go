package odf

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// fieldInfo is what the codecs need to know of one model field.
type fieldInfo struct {
	index int          // index in the Go struct
	slot  int          // FlatBuffers vtable slot (a union's type slot)
	opt   bool         // a slice that is absent when nil
	name  string       // YAML / JSON key
	typ   reflect.Type // Go type
}

var (
	timeType        = typeOf[time.Time]()
	multihashType   = typeOf[Multihash]()
	datasetIDType   = typeOf[DatasetID]()
	extraType       = typeOf[ExtraAttributes]()
	bytesType       = typeOf[[]byte]()
	stringSliceType = typeOf[[]string]()
)

// modelFields maps every struct type of the model to its tagged fields in
// schema order. It is computed once from the struct tags and never changed.
var modelFields = buildModelFields()

func buildModelFields() map[reflect.Type][]fieldInfo {
	m := map[reflect.Type][]fieldInfo{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice:
			visit(t.Elem())
			return
		case reflect.Interface:
			if u, ok := unions[t]; ok {
				for _, mem := range u.members {
					visit(mem.typ)
				}
			}
			return
		case reflect.Struct:
		default:
			return
		}
		if t == timeType || t == datasetIDType {
			return
		}
		if _, seen := m[t]; seen {
			return
		}
		m[t] = nil // mark before recursing: DataType is recursive
		var fields []fieldInfo
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, ok := f.Tag.Lookup("fb")
			if !ok {
				panic(fmt.Sprintf("odf: %s.%s has no fb tag", t.Name(), f.Name))
			}
			parts := strings.Split(tag, ",")
			slot, err := strconv.Atoi(parts[0])
			if err != nil {
				panic(fmt.Sprintf("odf: %s.%s: bad fb tag %q", t.Name(), f.Name, tag))
			}
			fields = append(fields, fieldInfo{
				index: i,
				slot:  slot,
				opt:   len(parts) > 1 && parts[1] == "opt",
				name:  f.Tag.Get("yaml"),
				typ:   f.Type,
			})
			visit(f.Type)
		}
		m[t] = fields
	}
	visit(typeOf[MetadataBlock]())
	visit(typeOf[DatasetSnapshot]())
	return m
}

// slotCount is the number of vtable slots a table of type t uses.
func slotCount(t reflect.Type) int {
	n := 0
	for _, f := range modelFields[t] {
		end := f.slot + 1
		if f.typ.Kind() == reflect.Interface {
			end++
		}
		if end > n {
			n = end
		}
	}
	return n
}

func isUnion(t reflect.Type) bool {
	_, ok := unions[t]
	return ok
}
