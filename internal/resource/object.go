package resource

import (
	"fmt"
	"regexp"
	"time"
)

// APIVersion is the only manifest API version this package reads.
const APIVersion = "ipos.dev/v1alpha1"

// Object is one resource: the envelope every manifest shares and its
// kind's typed spec.
//
// Status and Metadata.Generation are written by the system. A manifest
// may carry them (a manifest printed by `ipos get` does); Parse reads and
// checks them, and `apply` ignores them: only the spec and the
// user-written metadata are desired state.
type Object struct {
	APIVersion string
	Kind       string
	Metadata   Metadata
	Spec       Spec
	Status     *Status

	// Origin is where Parse read the object. It is not part of the
	// object: Canonical and SpecHash leave it out.
	Origin Origin
}

// Metadata is the envelope's metadata section.
type Metadata struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Description string            `json:"description,omitempty"`
	Owner       string            `json:"owner,omitempty"`
	// Generation counts spec changes; the store sets it, bumping it when
	// SpecHash changes.
	Generation int64 `json:"generation,omitempty"`
}

// Status is what the reconciler observed, written by the system only.
type Status struct {
	// ObservedGeneration is the generation the conditions describe.
	ObservedGeneration int64       `json:"observedGeneration,omitempty"`
	Conditions         []Condition `json:"conditions,omitempty"`
	// Details are facts of the kind's own that the system observed (an
	// Agreement's state, a Job's phase and receipt), shown by describe.
	Details map[string]string `json:"details,omitempty"`
}

// ConditionStatus is True, False or Unknown.
type ConditionStatus string

const (
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)

// Condition is one aspect of an object's observed state (Ready, Synced
// …), at most one per Type, in Kubernetes' metav1.Condition shape.
type Condition struct {
	Type               string          `json:"type"`
	Status             ConditionStatus `json:"status"`
	Reason             string          `json:"reason,omitempty"`
	Message            string          `json:"message,omitempty"`
	LastTransitionTime time.Time       `json:"lastTransitionTime,omitzero"`
}

// Origin says where an object was read from.
type Origin struct {
	Source   string // file name given to Parse
	Document int    // 1-based
	Line     int    // line of the document's first key
}

// Ref names an object: a dependency, or a key in a store.
type Ref struct {
	Kind string
	Name string
}

// String prints Kind/Name.
func (r Ref) String() string { return r.Kind + "/" + r.Name }

// Ref returns the object's kind and name.
func (o *Object) Ref() Ref { return Ref{Kind: o.Kind, Name: o.Metadata.Name} }

// Dependencies returns the objects this one refers to, sorted and without
// duplicates: what must exist (and be ready) before it can be reconciled.
func (o *Object) Dependencies() []Ref {
	if o.Spec == nil {
		return nil
	}
	return sortRefs(o.Spec.Dependencies())
}

// Redacted returns a shallow copy of o whose spec hides sensitive values
// (see Redacter); o itself is unchanged.
func (o *Object) Redacted() *Object {
	c := *o
	if r, ok := o.Spec.(Redacter); ok {
		c.Spec = r.Redacted()
	}
	return &c
}

// ---- Names -------------------------------------------------------------------

var (
	dnsLabelRE    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	datasetNameRE = regexp.MustCompile(`^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*(\.[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*)*$`)
)

const maxNameLen = 63

// ValidateDNSLabel accepts the names of most kinds: lower-case letters,
// digits and inner hyphens, at most 63 characters (an RFC 1123 label), so
// that a name fits in a URL host such as depot://NAME/.
func ValidateDNSLabel(name string) error {
	if len(name) > maxNameLen {
		return fmt.Errorf("name %q is %d characters long; the limit is %d", name, len(name), maxNameLen)
	}
	if !dnsLabelRE.MatchString(name) {
		return fmt.Errorf("invalid name %q: use lower-case letters, digits and '-', starting and ending with a letter or digit", name)
	}
	return nil
}

// ValidateDatasetName accepts ODF dataset names: dot-separated parts of
// letters and digits with inner hyphens, such as org.example.fx-rates.
func ValidateDatasetName(name string) error {
	if len(name) > 255 {
		return fmt.Errorf("dataset name is %d characters long; the limit is 255", len(name))
	}
	if !datasetNameRE.MatchString(name) {
		return fmt.Errorf("invalid dataset name %q: use dot-separated parts of letters, digits and inner '-', such as org.example.rates", name)
	}
	return nil
}

// Label keys are an optional DNS-subdomain prefix and a name; values are
// short identifiers, as in Kubernetes, so that selectors can match them.
var (
	labelKeyRE   = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$`)
	labelValueRE = regexp.MustCompile(`^([a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?)?$`)
)

func validateLabelKey(k string) error {
	if len(k) > 253+1+maxNameLen || !labelKeyRE.MatchString(k) {
		return fmt.Errorf("invalid key %q: use [prefix/]name, the name of letters, digits, '-', '_' and '.'", k)
	}
	return nil
}

func validateLabelValue(v string) error {
	if len(v) > maxNameLen || !labelValueRE.MatchString(v) {
		return fmt.Errorf("invalid label value %q: at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit", v)
	}
	return nil
}

// validateEnvelope checks the parts of the envelope that do not depend on
// the decoder: names, labels, conditions. Paths are absolute.
func validateEnvelope(o *Object, kind *KindInfo) []FieldError {
	var errs []FieldError
	if o.Metadata.Name == "" {
		errs = append(errs, fieldErrorf("metadata.name", "missing required field"))
	} else if kind != nil {
		if err := kind.validateName(o.Metadata.Name); err != nil {
			errs = append(errs, FieldError{Path: "metadata.name", Msg: err.Error()})
		}
	}
	for _, k := range sortedKeys(o.Metadata.Labels) {
		if err := validateLabelKey(k); err != nil {
			errs = append(errs, FieldError{Path: "metadata.labels", Msg: err.Error()})
		} else if err := validateLabelValue(o.Metadata.Labels[k]); err != nil {
			errs = append(errs, FieldError{Path: mapPath("metadata.labels", k), Msg: err.Error()})
		}
	}
	for _, k := range sortedKeys(o.Metadata.Annotations) {
		if err := validateLabelKey(k); err != nil {
			errs = append(errs, FieldError{Path: "metadata.annotations", Msg: err.Error()})
		}
	}
	if o.Metadata.Generation < 0 {
		errs = append(errs, fieldErrorf("metadata.generation", "must not be negative"))
	}
	if o.Status != nil {
		seen := map[string]bool{}
		for i, c := range o.Status.Conditions {
			p := indexPath("status.conditions", i)
			if c.Type == "" {
				errs = append(errs, fieldErrorf(p+".type", "missing required field"))
			} else if seen[c.Type] {
				errs = append(errs, fieldErrorf(p+".type", "condition type %q appears twice; there is at most one condition per type", c.Type))
			}
			seen[c.Type] = true
			switch c.Status {
			case ConditionTrue, ConditionFalse, ConditionUnknown:
			case "":
				errs = append(errs, fieldErrorf(p+".status", "missing required field"))
			default:
				errs = append(errs, fieldErrorf(p+".status", "invalid condition status %q; valid values: True, False, Unknown", c.Status))
			}
		}
	}
	return errs
}
