package resource

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
)

// Spec is the typed body of a resource: a pointer to a kind's spec struct.
//
// Parse decodes a spec from YAML or JSON by reflection over its fields'
// `json` tags (name, omitempty or omitzero, "-"), refusing unknown fields.
// Field types may be string kinds, bool, int/int32/int64, float64, time.Time,
// pointers, slices, maps with string keys, structs of these, and untagged
// embedded structs (inlined). A spec that needs more implements
// nodeDecoder and nodeEncoder inside this package, as Dataset does for
// ODF events.
type Spec interface {
	// Validate checks what decoding cannot: required fields, formats,
	// exclusive choices. Paths are relative to the spec.
	Validate() []FieldError
	// Dependencies returns the objects the spec refers to.
	Dependencies() []Ref
}

// Redacter is implemented by specs that hold sensitive values. Redacted
// returns a copy with those values replaced by "<redacted>"; MarshalYAML
// and MarshalJSON print that copy.
type Redacter interface {
	Redacted() Spec
}

// KindInfo describes one kind to a Registry. Adding a kind is a local
// change: write its spec type and register a KindInfo for it.
type KindInfo struct {
	// Name is the kind as written in manifests, in PascalCase.
	Name string
	// New returns a new, empty spec to decode into.
	New func() Spec
	// ValidateName checks metadata.name; nil means ValidateDNSLabel.
	ValidateName func(name string) error
	// Doc is one line describing the kind, for `ipos explain`-like help.
	Doc string
}

func (k *KindInfo) validateName(name string) error {
	if k.ValidateName != nil {
		return k.ValidateName(name)
	}
	return ValidateDNSLabel(name)
}

// Registry maps kind names to their KindInfo. It is built explicitly (no
// init-time self-registration) and is read-only once in use: Register is
// not safe to call concurrently with Parse.
type Registry struct {
	kinds map[string]*KindInfo
}

// NewRegistry returns a registry holding kinds.
func NewRegistry(kinds ...KindInfo) (*Registry, error) {
	r := &Registry{kinds: map[string]*KindInfo{}}
	for _, k := range kinds {
		if err := r.Register(k); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// DefaultRegistry returns a new registry of the kinds IPOS has now.
func DefaultRegistry() *Registry {
	r, err := NewRegistry(DatasetKind(), DepotKind(), SecretKind(), ContractKind(),
		AlgorithmKind(), AgreementKind(), JobKind(), PolicyKind())
	if err != nil {
		panic(err) // the built-in kinds are distinct and complete
	}
	return r
}

// Register adds a kind. It fails if the name is taken or malformed, or
// New is missing.
func (r *Registry) Register(k KindInfo) error {
	if k.Name == "" || k.Name[0] < 'A' || k.Name[0] > 'Z' {
		return fmt.Errorf("resource: kind name %q must start with an upper-case letter", k.Name)
	}
	if k.New == nil {
		return fmt.Errorf("resource: kind %s has no New function", k.Name)
	}
	if t := reflect.TypeOf(k.New()); t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("resource: kind %s: New must return a pointer to a struct", k.Name)
	}
	if _, ok := r.kinds[k.Name]; ok {
		return fmt.Errorf("resource: kind %s registered twice", k.Name)
	}
	if k.Name == snapshotKind {
		return errors.New("resource: kind DatasetSnapshot is reserved for kamu manifests")
	}
	r.kinds[k.Name] = &k
	return nil
}

// Lookup returns the kind called name.
func (r *Registry) Lookup(name string) (*KindInfo, bool) {
	k, ok := r.kinds[name]
	return k, ok
}

// Kinds returns the registered kind names, sorted.
func (r *Registry) Kinds() []string {
	names := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// sortRefs sorts refs by kind then name and drops duplicates.
func sortRefs(refs []Ref) []Ref {
	if len(refs) == 0 {
		return nil
	}
	out := slices.Clone(refs)
	slices.SortFunc(out, func(a, b Ref) int {
		if a.Kind != b.Kind {
			if a.Kind < b.Kind {
				return -1
			}
			return 1
		}
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return slices.Compact(out)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
