package resource

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ipos-dev/ipos/internal/yamldiag"
)

const secretKindName = "Secret"

// RedactedValue is what printing shows in place of a secret value.
const RedactedValue = "<redacted>"

// SecretKind describes the Secret kind: named sensitive values that
// Depots (and later kinds) refer to by secretRef {name, key}.
func SecretKind() KindInfo {
	return KindInfo{
		Name: secretKindName,
		New:  func() Spec { return new(SecretSpec) },
		Doc:  "named sensitive values (passwords, tokens), encrypted at rest",
	}
}

// SecretSpec is a Secret's spec: plaintext values by key, as written in the
// manifest (Kubernetes' stringData).
//
// The values are plaintext in memory only. The resource store encrypts
// them before writing (that is the store's job, not this package's), and
// nothing here prints them: String, GoString, MarshalJSON and MarshalYAML
// show "<redacted>", and the package's MarshalYAML and MarshalJSON print a
// redacted copy. Only Object.Canonical and Object.SpecHash see the values,
// because the store needs them; treat their results as secret too.
type SecretSpec struct {
	Data map[string]string `json:"data"`
}

// Validate requires at least one key and checks key names.
func (s *SecretSpec) Validate() []FieldError {
	if len(s.Data) == 0 {
		return []FieldError{fieldErrorf("data", "a secret needs at least one key")}
	}
	var errs []FieldError
	for _, k := range sortedKeys(s.Data) {
		if !secretKeyRE.MatchString(k) || len(k) > 253 {
			errs = append(errs, fieldErrorf("data", "invalid key %s: use letters, digits, '-', '_' and '.'", yamldiag.Quote(k)))
		}
	}
	return errs
}

// Dependencies: a Secret refers to nothing.
func (s *SecretSpec) Dependencies() []Ref { return nil }

// Redacted returns a copy whose values are all "<redacted>".
func (s *SecretSpec) Redacted() Spec {
	r := &SecretSpec{}
	if s.Data != nil {
		r.Data = make(map[string]string, len(s.Data))
		for k := range s.Data {
			r.Data[k] = RedactedValue
		}
	}
	return r
}

// Keys returns the secret's keys, sorted.
func (s SecretSpec) Keys() []string { return sortedKeys(s.Data) }

// String shows the keys only: {data: [password user] (values redacted)}.
func (s SecretSpec) String() string {
	return fmt.Sprintf("{data: [%s] (values redacted)}", strings.Join(s.Keys(), " "))
}

// GoString is used by %#v; it shows the keys only.
func (s SecretSpec) GoString() string {
	var b strings.Builder
	b.WriteString("resource.SecretSpec{Data: map[string]string{")
	for i, k := range s.Keys() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q: %q", k, RedactedValue)
	}
	b.WriteString("}}")
	return b.String()
}

// Format makes every fmt verb (%v, %+v, %#v, %s, %q, %x …) print String
// or GoString, never the values.
func (s SecretSpec) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// MarshalJSON prints the keys with redacted values.
func (s SecretSpec) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Data map[string]string `json:"data"`
	}{s.Redacted().(*SecretSpec).Data})
}

// MarshalYAML (yaml.v3's Marshaler) prints the keys with redacted values.
func (s SecretSpec) MarshalYAML() (any, error) {
	return map[string]any{"data": s.Redacted().(*SecretSpec).Data}, nil
}
