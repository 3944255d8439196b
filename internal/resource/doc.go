// Package resource reads and prints IPOS's declarative manifests: the
// objects a user applies (Dataset, Depot, Secret, Contract, Policy,
// Algorithm, Agreement and Job now; Workflow, Service, Member, Proposal
// later), shaped like Kubernetes objects:
//
//	apiVersion: ipos.dev/v1alpha1
//	kind: Depot
//	metadata: {name, labels, annotations, description, owner, generation}
//	spec: {…}          # the kind's typed spec
//	status: {observedGeneration, conditions: [{type, status, reason, message, lastTransitionTime}], details}
//
// A Registry maps kind names to KindInfo; DefaultRegistry holds the kinds
// that exist. A new kind is a spec type (implementing Spec) plus one
// KindInfo passed to NewRegistry or Register: nothing registers itself.
// Registry.Parse reads a multi-document YAML or JSON stream into Objects;
// a kamu DatasetSnapshot document is read with the ODF codec and becomes
// a Dataset.
//
// Invariants:
//   - Parse reports every problem in the input at once, each naming the
//     file, document, line and field path, and returns no objects when
//     there is any. Unknown fields, unknown kinds and other API versions
//     are problems. Parse never panics, on any input.
//   - Parse(Canonical(o)) gives an object with the same Canonical bytes.
//   - SpecHash depends on the spec only, not on key order, formatting,
//     metadata or status: the store bumps metadata.generation exactly
//     when it changes.
//   - metadata.generation and status are written by the system. A
//     manifest may contain them (printed objects do) and Parse reads and
//     checks them, but apply ignores them.
//   - Secret values are never printed: SecretSpec's String, GoString,
//     Format, MarshalJSON and MarshalYAML, Object.MarshalJSON and the
//     package's MarshalYAML and MarshalJSON show "<redacted>". Only
//     Canonical and SpecHash, which the store needs, see the values. The
//     store encrypts Secrets at rest; this package does not encrypt.
//
// Names are lower-case DNS labels (at most 63 characters) for every kind
// but Dataset, whose names follow the ODF grammar (org.example.rates).
// Dependencies lists what an object refers to — a Dataset the Depots of
// its depot:// fetch URLs and its transform inputs, a Depot its Secrets —
// so a reconciler can order its work.
package resource
