package resource

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"

	"gopkg.in/yaml.v3"
)

// Canonical returns the object as compact JSON with object keys sorted
// and empty optional fields left out: equal objects give equal bytes
// whatever the layout of the manifests they came from. It is the form the
// resource store keeps, and Parse reads it back to an equal object.
//
// Canonical includes Secret values in plaintext; do not print it.
func (o *Object) Canonical() ([]byte, error) {
	n, err := objectNode(o)
	if err != nil {
		return nil, err
	}
	return canonicalJSON(n)
}

// SpecHash returns the hex SHA-256 of the spec's canonical JSON. It
// changes with any change to the spec and with nothing else (not labels,
// not status), so the store bumps metadata.generation exactly when it
// changes. A Secret's hash is a hash of its values: keep it private.
func (o *Object) SpecHash() (string, error) {
	n, err := specNode(o.Spec)
	if err != nil {
		return "", err
	}
	b, err := canonicalJSON(n)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// MarshalYAML prints the object as a manifest: apiVersion, kind,
// metadata, spec, status, in manifest field order, with sensitive values
// redacted (see Redacter). A printed Secret does not parse back to the
// same Secret; every other kind does.
func MarshalYAML(o *Object) ([]byte, error) {
	n, err := objectNode(o.Redacted())
	if err != nil {
		return nil, err
	}
	return printYAML(n)
}

// MarshalJSON prints the object like MarshalYAML, as indented JSON.
func MarshalJSON(o *Object) ([]byte, error) {
	n, err := objectNode(o.Redacted())
	if err != nil {
		return nil, err
	}
	return printJSON(n)
}

// MarshalJSON makes json.Marshal print the redacted manifest.
func (o *Object) MarshalJSON() ([]byte, error) { return MarshalJSON(o) }

// objectNode is the object's node tree in manifest order.
func objectNode(o *Object) (*yaml.Node, error) {
	if o == nil {
		return nil, errors.New("resource: nil object")
	}
	meta, err := encodeValue(reflect.ValueOf(o.Metadata))
	if err != nil {
		return nil, err
	}
	spec, err := specNode(o.Spec)
	if err != nil {
		return nil, err
	}
	n := mappingNode(
		strNode("apiVersion"), strNode(o.APIVersion),
		strNode("kind"), strNode(o.Kind),
		strNode("metadata"), meta,
		strNode("spec"), spec,
	)
	if o.Status != nil && (o.Status.ObservedGeneration != 0 || len(o.Status.Conditions) > 0) {
		status, err := encodeValue(reflect.ValueOf(o.Status))
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, strNode("status"), status)
	}
	return n, nil
}

func specNode(s Spec) (*yaml.Node, error) {
	if s == nil {
		return nil, errors.New("resource: object has no spec")
	}
	return encodeValue(reflect.ValueOf(s))
}
