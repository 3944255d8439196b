// Package change holds the write rules every resourcestore implementation
// shares: what Apply, UpdateStatus and Delete do to a record given what is
// stored, so that the SQLite and PostgreSQL stores cannot drift apart.
// It does no I/O; an implementation reads the current record under a
// write lock, asks this package for the next one, assigns the next
// ResourceVersion and writes it.
//
// Invariants: functions here never modify their arguments, and a
// returned record shares no slices or maps with them.
package change

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ipos-dev/ipos/internal/resourcestore"
)

// Now returns the current time as stores keep it: UTC, microseconds (the
// precision PostgreSQL has).
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// CheckRef reports an empty kind or name.
func CheckRef(kind, name string) error {
	switch {
	case kind == "" && name == "":
		return fmt.Errorf("resource kind and name are empty")
	case kind == "":
		return fmt.Errorf("resource %q: kind is empty", name)
	case name == "":
		return fmt.Errorf("resource of kind %s: name is empty", kind)
	case !printable(kind) || !printable(name):
		return fmt.Errorf("resource %q/%q: kind and name must be valid UTF-8 without control characters", kind, name)
	}
	return nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func checkJSON(kind, name, field string, b []byte) error {
	if len(b) > 0 && !json.Valid(b) {
		return fmt.Errorf("%s: %s is not valid JSON", resourcestore.Ref(kind, name), field)
	}
	return nil
}

func checkVersion(cur *resourcestore.Record, kind, name string, expect int64) error {
	switch {
	case expect < 0:
		return fmt.Errorf("%s: expected resource version %d is negative", resourcestore.Ref(kind, name), expect)
	case cur == nil && expect != 0:
		return resourcestore.Conflict(kind, name, expect, 0)
	case cur != nil && expect != 0 && expect != cur.ResourceVersion:
		return resourcestore.Conflict(kind, name, expect, cur.ResourceVersion)
	}
	return nil
}

// Labels returns labels, or nil if it is empty.
func Labels(labels map[string]string) map[string]string {
	if len(labels) == 0 {
		return nil
	}
	return maps.Clone(labels)
}

// Apply returns the record to store when in is applied over cur (nil if
// none is stored) with expectVersion, and whether it differs from cur.
// The returned record's ResourceVersion is cur's; the caller assigns the
// next one when changed is true.
func Apply(cur *resourcestore.Record, in resourcestore.Record, expectVersion int64, now time.Time) (next resourcestore.Record, changed bool, err error) {
	if err := CheckRef(in.Kind, in.Name); err != nil {
		return resourcestore.Record{}, false, err
	}
	if err := checkJSON(in.Kind, in.Name, "object", in.Object); err != nil {
		return resourcestore.Record{}, false, err
	}
	if err := checkVersion(cur, in.Kind, in.Name, expectVersion); err != nil {
		return resourcestore.Record{}, false, err
	}
	if cur == nil {
		return resourcestore.Record{
			Kind:       in.Kind,
			Name:       in.Name,
			Generation: 1,
			SpecHash:   in.SpecHash,
			Object:     bytes.Clone(in.Object),
			Labels:     Labels(in.Labels),
			CreatedAt:  now,
			UpdatedAt:  now,
		}, true, nil
	}
	if cur.SpecHash == in.SpecHash && bytes.Equal(cur.Object, in.Object) && maps.Equal(cur.Labels, in.Labels) {
		return cur.Clone(), false, nil
	}
	next = cur.Clone()
	if next.SpecHash != in.SpecHash {
		next.Generation++
	}
	next.SpecHash = in.SpecHash
	next.Object = bytes.Clone(in.Object)
	next.Labels = Labels(in.Labels)
	next.UpdatedAt = now
	return next, true, nil
}

// Status returns cur with status in place of its status, and whether
// that differs from cur.
func Status(cur *resourcestore.Record, kind, name string, status []byte, expectVersion int64, now time.Time) (next resourcestore.Record, changed bool, err error) {
	if err := CheckRef(kind, name); err != nil {
		return resourcestore.Record{}, false, err
	}
	if err := checkJSON(kind, name, "status", status); err != nil {
		return resourcestore.Record{}, false, err
	}
	if cur == nil {
		return resourcestore.Record{}, false, resourcestore.NotFound(kind, name)
	}
	if err := checkVersion(cur, kind, name, expectVersion); err != nil {
		return resourcestore.Record{}, false, err
	}
	if bytes.Equal(cur.Status, status) {
		return cur.Clone(), false, nil
	}
	next = cur.Clone()
	next.Status = bytes.Clone(status)
	next.UpdatedAt = now
	return next, true, nil
}

// Delete reports whether cur (nil if none is stored) may be deleted with
// expectVersion.
func Delete(cur *resourcestore.Record, kind, name string, expectVersion int64) error {
	if err := CheckRef(kind, name); err != nil {
		return err
	}
	if cur == nil {
		return resourcestore.NotFound(kind, name)
	}
	return checkVersion(cur, kind, name, expectVersion)
}

// Event checks ev and fills in its defaults: Type Normal, Time now (and
// always UTC, microseconds).
func Event(ev resourcestore.Event, now time.Time) (resourcestore.Event, error) {
	if err := CheckRef(ev.Kind, ev.Name); err != nil {
		return resourcestore.Event{}, fmt.Errorf("event: %w", err)
	}
	switch ev.Type {
	case "":
		ev.Type = resourcestore.EventNormal
	case resourcestore.EventNormal, resourcestore.EventWarning:
	default:
		return resourcestore.Event{}, fmt.Errorf("%s: event type %q is neither %s nor %s", resourcestore.Ref(ev.Kind, ev.Name), ev.Type, resourcestore.EventNormal, resourcestore.EventWarning)
	}
	if ev.Time.IsZero() {
		ev.Time = now
	}
	ev.Time = ev.Time.UTC().Truncate(time.Microsecond)
	return ev, nil
}
