package resourcestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"time"
)

// Sentinel errors; test for them with errors.Is.
var (
	// ErrNotFound means no resource has the given kind and name.
	ErrNotFound = errors.New("resource not found")
	// ErrConflict means expectVersion did not match the stored
	// ResourceVersion: someone else wrote the resource first. Read it
	// again, reapply the change and retry.
	ErrConflict = errors.New("resource version conflict")
	// ErrSchemaTooNew means the database was written by a newer IPOS
	// whose schema this one does not know; upgrade IPOS to use it.
	ErrSchemaTooNew = errors.New("resource store schema is newer than this ipos supports")
)

// Event types.
const (
	EventNormal  = "Normal"
	EventWarning = "Warning"
)

// DefaultEventsPerResource is how many events a store keeps per resource
// unless configured otherwise.
const DefaultEventsPerResource = 100

// Record is one stored resource. The store treats Object and Status as
// opaque JSON.
type Record struct {
	Kind, Name string
	// Generation is 1 on create and bumped by Apply only when SpecHash
	// changes.
	Generation int64
	// ResourceVersion changes on every write (spec, metadata or status);
	// it is the optimistic-concurrency token.
	ResourceVersion int64
	SpecHash        string
	// Object is the canonical JSON of the manifest (envelope and spec),
	// written by Apply.
	Object []byte
	// Status is the JSON status, written by UpdateStatus only.
	Status []byte
	Labels map[string]string
	// CreatedAt and UpdatedAt are UTC, with microsecond precision.
	CreatedAt, UpdatedAt time.Time
}

// Ref returns "Kind/Name", the way errors and logs name a resource.
func (r Record) Ref() string { return Ref(r.Kind, r.Name) }

// Clone returns a deep copy of r.
func (r Record) Clone() Record {
	r.Object = bytes.Clone(r.Object)
	r.Status = bytes.Clone(r.Status)
	if r.Labels != nil {
		r.Labels = maps.Clone(r.Labels)
	}
	return r
}

// Event is something that happened to a resource, for `ipos describe`
// and the reconciler's history.
type Event struct {
	Kind, Name string
	// Time is when it happened; AddEvent sets it to now when zero.
	Time time.Time
	// Type is EventNormal or EventWarning.
	Type string
	// Reason is a short CamelCase word ("Applied", "ReconcileFailed").
	Reason  string
	Message string
	// Generation is the resource generation the event refers to.
	Generation int64
}

// Store keeps resources and their events. Implementations are safe for
// concurrent use by several goroutines.
type Store interface {
	// Apply creates or updates the desired state of rec.Kind/rec.Name
	// from rec.Object, rec.SpecHash and rec.Labels; other fields of rec
	// are ignored. expectVersion 0 means no check; otherwise it must equal
	// the stored ResourceVersion (creating requires 0), or Apply fails
	// with ErrConflict. It returns the stored record and whether anything
	// changed.
	Apply(ctx context.Context, rec Record, expectVersion int64) (Record, bool, error)
	// Get returns the resource or an error wrapping ErrNotFound.
	Get(ctx context.Context, kind, name string) (Record, error)
	// List returns the resources of kind (all kinds if kind is "") whose
	// labels include every key and value of labels, sorted by kind, then
	// name (byte order).
	List(ctx context.Context, kind string, labels map[string]string) ([]Record, error)
	// UpdateStatus replaces the status. It does not touch Generation.
	// expectVersion works as for Apply.
	UpdateStatus(ctx context.Context, kind, name string, status []byte, expectVersion int64) (Record, error)
	// Delete removes the resource (not its events). expectVersion works
	// as for Apply.
	Delete(ctx context.Context, kind, name string, expectVersion int64) error
	// AddEvent records an event, dropping the oldest events of the same
	// resource beyond the store's cap.
	AddEvent(ctx context.Context, ev Event) error
	// Events returns up to limit events (all if limit <= 0), newest
	// first: of all resources if kind is "", of all resources of kind if
	// name is "", else of kind/name.
	Events(ctx context.Context, kind, name string, limit int) ([]Event, error)
	// Close releases the store's resources.
	Close() error
}

// Ref returns "kind/name".
func Ref(kind, name string) string { return kind + "/" + name }

// NotFound returns the error for a missing kind/name; it wraps
// ErrNotFound.
func NotFound(kind, name string) error {
	return fmt.Errorf("%s: %w", Ref(kind, name), ErrNotFound)
}

// Conflict returns the error for a failed version check on kind/name; it
// wraps ErrConflict. stored is 0 when the resource does not exist.
func Conflict(kind, name string, expected, stored int64) error {
	if stored == 0 {
		return fmt.Errorf("%s: %w: expected resource version %d but the resource does not exist", Ref(kind, name), ErrConflict, expected)
	}
	return fmt.Errorf("%s: %w: expected resource version %d, stored is %d; read it again and retry", Ref(kind, name), ErrConflict, expected, stored)
}

// MatchLabels reports whether labels has every key of selector with the
// same value. An empty selector matches everything.
func MatchLabels(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
