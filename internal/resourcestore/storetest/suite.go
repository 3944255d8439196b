package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/ipos-dev/ipos/internal/resourcestore"
)

// Run runs the conformance suite, one subtest per behaviour, each on a
// fresh store from newStore.
func Run(t *testing.T, newStore func(t *testing.T) resourcestore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s resourcestore.Store)
	}{
		{"ApplyCreateUpdateNoop", testApply},
		{"ApplyConflict", testApplyConflict},
		{"UpdateStatus", testUpdateStatus},
		{"List", testList},
		{"Delete", testDelete},
		{"Events", testEvents},
		{"EventsCapped", testEventsCapped},
		{"InvalidInput", testInvalidInput},
		{"ConcurrentUpdateStatus", testConcurrentUpdateStatus},
		{"ConcurrentApply", testConcurrentApply},
		{"Canceled", testCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// manifest returns a record for kind/name whose spec is spec.
func manifest(kind, name, spec string, labels map[string]string) resourcestore.Record {
	obj := fmt.Sprintf(`{"apiVersion":"ipos.dev/v1","kind":%q,"metadata":{"name":%q},"spec":%s}`, kind, name, spec)
	return resourcestore.Record{Kind: kind, Name: name, SpecHash: "sha:" + spec, Object: []byte(obj), Labels: labels}
}

func equal(a, b resourcestore.Record) bool {
	return a.Kind == b.Kind && a.Name == b.Name && a.Generation == b.Generation &&
		a.ResourceVersion == b.ResourceVersion && a.SpecHash == b.SpecHash &&
		bytes.Equal(a.Object, b.Object) && bytes.Equal(a.Status, b.Status) &&
		maps.Equal(a.Labels, b.Labels) && a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func show(r resourcestore.Record) string {
	return fmt.Sprintf("%s gen=%d rv=%d hash=%q object=%s status=%s labels=%v created=%v updated=%v",
		r.Ref(), r.Generation, r.ResourceVersion, r.SpecHash, r.Object, r.Status, r.Labels, r.CreatedAt, r.UpdatedAt)
}

func mustApply(t *testing.T, s resourcestore.Store, rec resourcestore.Record, expect int64) (resourcestore.Record, bool) {
	t.Helper()
	got, changed, err := s.Apply(t.Context(), rec, expect)
	if err != nil {
		t.Fatalf("Apply(%s, %d): %v", rec.Ref(), expect, err)
	}
	return got, changed
}

func mustGet(t *testing.T, s resourcestore.Store, kind, name string) resourcestore.Record {
	t.Helper()
	got, err := s.Get(t.Context(), kind, name)
	if err != nil {
		t.Fatalf("Get(%s/%s): %v", kind, name, err)
	}
	return got
}

// checkStored fails unless Get returns want.
func checkStored(t *testing.T, s resourcestore.Store, want resourcestore.Record) {
	t.Helper()
	if got := mustGet(t, s, want.Kind, want.Name); !equal(got, want) {
		t.Fatalf("Get(%s):\n got  %s\n want %s", want.Ref(), show(got), show(want))
	}
}

func wantErr(t *testing.T, err, target error, ref string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
	if !strings.Contains(err.Error(), ref) {
		t.Errorf("error %q does not name %s", err, ref)
	}
}

func testApply(t *testing.T, s resourcestore.Store) {
	in := manifest("Dataset", "sales", `{"rows":1}`, map[string]string{"team": "a"})
	// Fields Apply does not own are ignored.
	in.Status, in.Generation, in.ResourceVersion = []byte(`{"bogus":true}`), 42, 42
	created, changed := mustApply(t, s, in, 0)
	if !changed {
		t.Error("create: changed = false")
	}
	if created.Generation != 1 || created.ResourceVersion <= 0 {
		t.Errorf("create: generation %d, resource version %d; want 1 and > 0", created.Generation, created.ResourceVersion)
	}
	if created.Status != nil {
		t.Errorf("create: status = %s, want none", created.Status)
	}
	if !bytes.Equal(created.Object, in.Object) || created.SpecHash != in.SpecHash || !maps.Equal(created.Labels, in.Labels) {
		t.Errorf("create stored %s", show(created))
	}
	if created.CreatedAt.IsZero() || !created.CreatedAt.Equal(created.UpdatedAt) {
		t.Errorf("create: CreatedAt %v, UpdatedAt %v; want equal and set", created.CreatedAt, created.UpdatedAt)
	}
	checkStored(t, s, created)

	// The same manifest again: nothing changes.
	again, changed := mustApply(t, s, in, 0)
	if changed || !equal(again, created) {
		t.Errorf("no-op apply: changed = %v, record %s; want false and unchanged", changed, show(again))
	}
	again, changed = mustApply(t, s, in, created.ResourceVersion)
	if changed || !equal(again, created) {
		t.Errorf("no-op apply with version: changed = %v, record %s; want false and unchanged", changed, show(again))
	}
	checkStored(t, s, created)

	// Same spec hash, different object bytes (metadata): a new version,
	// same generation.
	meta := in
	meta.Object = append(bytes.Clone(in.Object[:len(in.Object)-1]), `,"x":1}`...)
	m, changed := mustApply(t, s, meta, created.ResourceVersion)
	if !changed || m.Generation != 1 || m.ResourceVersion <= created.ResourceVersion || !bytes.Equal(m.Object, meta.Object) {
		t.Errorf("metadata apply: changed = %v, %s; want changed, generation 1, newer version", changed, show(m))
	}
	if !m.CreatedAt.Equal(created.CreatedAt) || m.UpdatedAt.Before(created.UpdatedAt) {
		t.Errorf("metadata apply: CreatedAt %v UpdatedAt %v after %v", m.CreatedAt, m.UpdatedAt, created.CreatedAt)
	}
	checkStored(t, s, m)

	// Labels only.
	relabeled := meta
	relabeled.Labels = map[string]string{"team": "b", "env": "prod"}
	l, changed := mustApply(t, s, relabeled, 0)
	if !changed || l.Generation != 1 || l.ResourceVersion <= m.ResourceVersion || !maps.Equal(l.Labels, relabeled.Labels) {
		t.Errorf("label apply: changed = %v, %s", changed, show(l))
	}
	checkStored(t, s, l)

	// A new spec: a new generation.
	spec := manifest("Dataset", "sales", `{"rows":2}`, relabeled.Labels)
	g, changed := mustApply(t, s, spec, l.ResourceVersion)
	if !changed || g.Generation != 2 || g.ResourceVersion <= l.ResourceVersion || g.SpecHash != spec.SpecHash {
		t.Errorf("spec apply: changed = %v, %s; want generation 2", changed, show(g))
	}
	checkStored(t, s, g)

	// Removing all labels.
	spec.Labels = nil
	nl, changed := mustApply(t, s, spec, 0)
	if !changed || len(nl.Labels) != 0 || nl.Generation != 2 {
		t.Errorf("unlabel apply: changed = %v, %s", changed, show(nl))
	}
	checkStored(t, s, nl)
	if _, changed := mustApply(t, s, spec, 0); changed {
		t.Error("no-op apply without labels: changed = true")
	}
}

func testApplyConflict(t *testing.T, s resourcestore.Store) {
	ctx := t.Context()
	in := manifest("Dataset", "sales", `{"rows":1}`, nil)
	_, _, err := s.Apply(ctx, in, 7)
	wantErr(t, err, resourcestore.ErrConflict, "Dataset/sales")
	if _, err := s.Get(ctx, "Dataset", "sales"); !errors.Is(err, resourcestore.ErrNotFound) {
		t.Fatalf("after a conflicting create, Get: err = %v, want ErrNotFound", err)
	}

	v1, _ := mustApply(t, s, in, 0)
	v2, _ := mustApply(t, s, manifest("Dataset", "sales", `{"rows":2}`, nil), v1.ResourceVersion)
	// v1's version is stale now.
	_, _, err = s.Apply(ctx, manifest("Dataset", "sales", `{"rows":3}`, nil), v1.ResourceVersion)
	wantErr(t, err, resourcestore.ErrConflict, "Dataset/sales")
	// Even a no-op apply checks the version.
	_, _, err = s.Apply(ctx, manifest("Dataset", "sales", `{"rows":2}`, nil), v1.ResourceVersion)
	wantErr(t, err, resourcestore.ErrConflict, "Dataset/sales")
	checkStored(t, s, v2)
	v3, changed := mustApply(t, s, manifest("Dataset", "sales", `{"rows":3}`, nil), v2.ResourceVersion)
	if !changed || v3.Generation != 3 {
		t.Errorf("apply with current version: changed = %v, %s", changed, show(v3))
	}
}

func testUpdateStatus(t *testing.T, s resourcestore.Store) {
	ctx := t.Context()
	_, err := s.UpdateStatus(ctx, "Dataset", "missing", []byte(`{}`), 0)
	wantErr(t, err, resourcestore.ErrNotFound, "Dataset/missing")

	in := manifest("Dataset", "sales", `{"rows":1}`, map[string]string{"team": "a"})
	created, _ := mustApply(t, s, in, 0)
	status := []byte(`{"observedGeneration":1, "phase":"Ready"}`) // kept byte for byte
	st, err := s.UpdateStatus(ctx, "Dataset", "sales", status, created.ResourceVersion)
	if err != nil {
		t.Fatalf("UpdateStatus: %v", err)
	}
	if st.Generation != 1 || st.ResourceVersion <= created.ResourceVersion || !bytes.Equal(st.Status, status) ||
		!bytes.Equal(st.Object, created.Object) || st.SpecHash != created.SpecHash || !maps.Equal(st.Labels, created.Labels) ||
		!st.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("UpdateStatus stored %s", show(st))
	}
	checkStored(t, s, st)

	// The same status again: nothing changes.
	same, err := s.UpdateStatus(ctx, "Dataset", "sales", status, st.ResourceVersion)
	if err != nil || !equal(same, st) {
		t.Errorf("no-op UpdateStatus: %v, %s", err, show(same))
	}
	// A stale version.
	_, err = s.UpdateStatus(ctx, "Dataset", "sales", []byte(`{"phase":"Failed"}`), created.ResourceVersion)
	wantErr(t, err, resourcestore.ErrConflict, "Dataset/sales")
	checkStored(t, s, st)

	// Apply keeps the status; a no-op apply is still a no-op.
	a, changed := mustApply(t, s, in, 0)
	if changed || !equal(a, st) {
		t.Errorf("no-op apply after status: changed = %v, %s", changed, show(a))
	}
	g2, _ := mustApply(t, s, manifest("Dataset", "sales", `{"rows":2}`, nil), st.ResourceVersion)
	if g2.Generation != 2 || !bytes.Equal(g2.Status, status) {
		t.Errorf("apply after status: %s; want generation 2 and the status kept", show(g2))
	}
	// Status with no version check, and clearing it.
	cleared, err := s.UpdateStatus(ctx, "Dataset", "sales", nil, 0)
	if err != nil || cleared.Status != nil || cleared.Generation != 2 || cleared.ResourceVersion <= g2.ResourceVersion {
		t.Errorf("clearing status: %v, %s", err, show(cleared))
	}
	checkStored(t, s, cleared)
}

func testList(t *testing.T, s resourcestore.Store) {
	ctx := t.Context()
	for _, r := range []resourcestore.Record{
		manifest("Dataset", "sales", `1`, map[string]string{"team": "a", "env": "prod"}),
		manifest("Dataset", "B", `2`, map[string]string{"team": "a", "env": "dev"}),
		manifest("Dataset", "a", `3`, map[string]string{"team": "b", "env": "prod"}),
		manifest("Agreement", "z", `4`, map[string]string{"team": "a", "env": "prod"}),
		manifest("Algorithm", "m", `5`, nil),
	} {
		mustApply(t, s, r, 0)
	}
	names := func(kind string, sel map[string]string) string {
		t.Helper()
		rs, err := s.List(ctx, kind, sel)
		if err != nil {
			t.Fatalf("List(%q, %v): %v", kind, sel, err)
		}
		var out []string
		for _, r := range rs {
			if !equal(r, mustGet(t, s, r.Kind, r.Name)) {
				t.Errorf("List returned %s, Get another", show(r))
			}
			out = append(out, r.Ref())
		}
		return strings.Join(out, " ")
	}
	for _, tt := range []struct {
		kind string
		sel  map[string]string
		want string
	}{
		{"", nil, "Agreement/z Algorithm/m Dataset/B Dataset/a Dataset/sales"},
		{"", map[string]string{}, "Agreement/z Algorithm/m Dataset/B Dataset/a Dataset/sales"},
		{"Dataset", nil, "Dataset/B Dataset/a Dataset/sales"},
		{"", map[string]string{"team": "a"}, "Agreement/z Dataset/B Dataset/sales"},
		{"Dataset", map[string]string{"team": "a", "env": "prod"}, "Dataset/sales"},
		{"", map[string]string{"env": "prod"}, "Agreement/z Dataset/a Dataset/sales"},
		{"", map[string]string{"team": ""}, ""},
		{"", map[string]string{"nope": "x"}, ""},
		{"Missing", nil, ""},
	} {
		if got := names(tt.kind, tt.sel); got != tt.want {
			t.Errorf("List(%q, %v) = %q, want %q", tt.kind, tt.sel, got, tt.want)
		}
	}
	// Relabeling moves a resource in and out of a selection.
	mustApply(t, s, manifest("Dataset", "sales", `1`, map[string]string{"team": "b"}), 0)
	if got, want := names("", map[string]string{"team": "b"}), "Dataset/a Dataset/sales"; got != want {
		t.Errorf("after relabel, List(team=b) = %q, want %q", got, want)
	}
	if got, want := names("", map[string]string{"env": "prod"}), "Agreement/z Dataset/a"; got != want {
		t.Errorf("after relabel, List(env=prod) = %q, want %q", got, want)
	}
}

func testDelete(t *testing.T, s resourcestore.Store) {
	ctx := t.Context()
	wantErr(t, s.Delete(ctx, "Dataset", "sales", 0), resourcestore.ErrNotFound, "Dataset/sales")
	v1, _ := mustApply(t, s, manifest("Dataset", "sales", `1`, map[string]string{"team": "a"}), 0)
	other, _ := mustApply(t, s, manifest("Dataset", "other", `1`, map[string]string{"team": "a"}), 0)
	v2, _ := mustApply(t, s, manifest("Dataset", "sales", `2`, map[string]string{"team": "a"}), 0)

	wantErr(t, s.Delete(ctx, "Dataset", "sales", v1.ResourceVersion), resourcestore.ErrConflict, "Dataset/sales")
	checkStored(t, s, v2)
	if err := s.Delete(ctx, "Dataset", "sales", v2.ResourceVersion); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := s.Get(ctx, "Dataset", "sales")
	wantErr(t, err, resourcestore.ErrNotFound, "Dataset/sales")
	wantErr(t, s.Delete(ctx, "Dataset", "sales", 0), resourcestore.ErrNotFound, "Dataset/sales")
	_, err = s.UpdateStatus(ctx, "Dataset", "sales", []byte(`{}`), 0)
	wantErr(t, err, resourcestore.ErrNotFound, "Dataset/sales")
	rs, err := s.List(ctx, "", map[string]string{"team": "a"})
	if err != nil || len(rs) != 1 || !equal(rs[0], other) {
		t.Fatalf("List after delete: %v, %d records; want only %s", err, len(rs), other.Ref())
	}

	// Recreated: a fresh generation, and a version no earlier token matches.
	re, changed := mustApply(t, s, manifest("Dataset", "sales", `2`, nil), 0)
	if !changed || re.Generation != 1 || re.ResourceVersion <= v2.ResourceVersion {
		t.Errorf("recreate: changed = %v, %s; want generation 1 and a version after %d", changed, show(re), v2.ResourceVersion)
	}
	for _, stale := range []int64{v1.ResourceVersion, v2.ResourceVersion} {
		_, _, err = s.Apply(ctx, manifest("Dataset", "sales", `3`, nil), stale)
		wantErr(t, err, resourcestore.ErrConflict, "Dataset/sales")
	}
	if err := s.Delete(ctx, "Dataset", "sales", 0); err != nil {
		t.Fatalf("Delete without version: %v", err)
	}
}

func testEvents(t *testing.T, s resourcestore.Store) {
	ctx := t.Context()
	if evs, err := s.Events(ctx, "", "", 0); err != nil || len(evs) != 0 {
		t.Fatalf("Events of an empty store: %v, %v", evs, err)
	}
	add := func(kind, name, reason string) {
		t.Helper()
		typ := resourcestore.EventNormal
		if strings.HasPrefix(reason, "Fail") {
			typ = resourcestore.EventWarning
		}
		if err := s.AddEvent(ctx, resourcestore.Event{Kind: kind, Name: name, Type: typ, Reason: reason, Message: "m " + reason, Generation: 3}); err != nil {
			t.Fatalf("AddEvent: %v", err)
		}
	}
	add("Dataset", "sales", "Applied1")
	add("Dataset", "other", "Applied2")
	add("Dataset", "sales", "Failed3")
	add("Agreement", "sales", "Applied4")
	add("Dataset", "sales", "Applied5")
	reasons := func(kind, name string, limit int) string {
		t.Helper()
		evs, err := s.Events(ctx, kind, name, limit)
		if err != nil {
			t.Fatalf("Events(%q, %q, %d): %v", kind, name, limit, err)
		}
		var out []string
		for _, ev := range evs {
			out = append(out, ev.Reason)
		}
		return strings.Join(out, " ")
	}
	for _, tt := range []struct {
		kind, name string
		limit      int
		want       string
	}{
		{"Dataset", "sales", 0, "Applied5 Failed3 Applied1"},
		{"Dataset", "sales", 2, "Applied5 Failed3"},
		{"Dataset", "", 0, "Applied5 Failed3 Applied2 Applied1"},
		{"", "", 0, "Applied5 Applied4 Failed3 Applied2 Applied1"},
		{"", "", 1, "Applied5"},
		{"Dataset", "missing", 0, ""},
	} {
		if got := reasons(tt.kind, tt.name, tt.limit); got != tt.want {
			t.Errorf("Events(%q, %q, %d) = %q, want %q", tt.kind, tt.name, tt.limit, got, tt.want)
		}
	}
	evs, err := s.Events(ctx, "Dataset", "sales", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range evs {
		if ev.Time.IsZero() || ev.Kind != "Dataset" || ev.Name != "sales" || ev.Generation != 3 || ev.Message != "m "+ev.Reason {
			t.Errorf("event %d: %+v", i, ev)
		}
		if i > 0 && ev.Time.After(evs[i-1].Time) {
			t.Errorf("event %d at %v is newer than event %d at %v", i, ev.Time, i-1, evs[i-1].Time)
		}
	}
	if evs[1].Type != resourcestore.EventWarning || evs[0].Type != resourcestore.EventNormal {
		t.Errorf("types %q %q, want Normal Warning", evs[0].Type, evs[1].Type)
	}
	// An event's own time is kept; a missing type means Normal.
	at := evs[0].Time.Add(-1e9)
	if err := s.AddEvent(ctx, resourcestore.Event{Kind: "Dataset", Name: "x", Time: at, Reason: "Old"}); err != nil {
		t.Fatal(err)
	}
	evs, err = s.Events(ctx, "Dataset", "x", 0)
	if err != nil || len(evs) != 1 || !evs[0].Time.Equal(at) || evs[0].Type != resourcestore.EventNormal {
		t.Errorf("Events(Dataset/x) = %+v, %v; want one Normal event at %v", evs, err, at)
	}
}

func testEventsCapped(t *testing.T, s resourcestore.Store) {
	ctx := t.Context()
	n := resourcestore.DefaultEventsPerResource
	for i := range n + 10 {
		if err := s.AddEvent(ctx, resourcestore.Event{Kind: "Dataset", Name: "busy", Reason: fmt.Sprint("R", i)}); err != nil {
			t.Fatalf("AddEvent %d: %v", i, err)
		}
	}
	if err := s.AddEvent(ctx, resourcestore.Event{Kind: "Dataset", Name: "quiet", Reason: "Only"}); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, "Dataset", "busy", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != n {
		t.Fatalf("kept %d events of Dataset/busy, want %d", len(evs), n)
	}
	for i, ev := range evs {
		if want := fmt.Sprint("R", n+9-i); ev.Reason != want {
			t.Fatalf("event %d is %s, want %s (newest first, oldest dropped)", i, ev.Reason, want)
		}
	}
	// The cap is per resource.
	if evs, err := s.Events(ctx, "Dataset", "quiet", 0); err != nil || len(evs) != 1 {
		t.Errorf("Events(Dataset/quiet) = %d events, %v; want 1", len(evs), err)
	}
}

func testInvalidInput(t *testing.T, s resourcestore.Store) {
	ctx := t.Context()
	type result struct {
		name string
		err  error
	}
	var bad []result
	add := func(name string, err error) { bad = append(bad, result{name, err}) }
	_, _, err := s.Apply(ctx, manifest("", "x", `1`, nil), 0)
	add("Apply without kind", err)
	_, _, err = s.Apply(ctx, manifest("Dataset", "", `1`, nil), 0)
	add("Apply without name", err)
	_, _, err = s.Apply(ctx, resourcestore.Record{Kind: "Dataset", Name: "x", Object: []byte("{not json")}, 0)
	add("Apply with bad JSON", err)
	_, _, err = s.Apply(ctx, manifest("Dataset", "x", `1`, nil), -1)
	add("Apply with negative version", err)
	_, err = s.Get(ctx, "", "")
	add("Get without kind and name", err)
	_, _, err = s.Apply(ctx, manifest("Dataset", "a\x00b", `1`, nil), 0)
	add("Apply with NUL in name", err)
	_, _, err = s.Apply(ctx, manifest("Data\xffset", "x", `1`, nil), 0)
	add("Apply with invalid UTF-8 in kind", err)
	mustApply(t, s, manifest("Dataset", "x", `1`, nil), 0)
	_, err = s.UpdateStatus(ctx, "Dataset", "x", []byte("not json"), 0)
	add("UpdateStatus with bad JSON", err)
	err = s.Delete(ctx, "", "x", 0)
	add("Delete without kind", err)
	err = s.AddEvent(ctx, resourcestore.Event{Kind: "Dataset", Name: "x", Type: "Error"})
	add("AddEvent with bad type", err)
	err = s.AddEvent(ctx, resourcestore.Event{Kind: "Dataset", Type: "Normal"})
	add("AddEvent without name", err)
	for _, b := range bad {
		if b.err == nil {
			t.Errorf("%s: no error", b.name)
		} else if errors.Is(b.err, resourcestore.ErrConflict) || errors.Is(b.err, resourcestore.ErrNotFound) {
			t.Errorf("%s: %v; want a validation error, not a sentinel", b.name, b.err)
		}
	}
	// Nothing bad was stored.
	rs, err := s.List(ctx, "", nil)
	if err != nil || len(rs) != 1 {
		t.Errorf("List after invalid input: %d records, %v; want 1", len(rs), err)
	}
	if evs, err := s.Events(ctx, "", "", 0); err != nil || len(evs) != 0 {
		t.Errorf("Events after invalid input: %v, %v; want none", evs, err)
	}
	if st := mustGet(t, s, "Dataset", "x").Status; st != nil {
		t.Errorf("status after invalid UpdateStatus: %s", st)
	}
}

// counters reads a JSON object of integers (a status or a spec).
func counters(t *testing.T, b []byte) map[string]int {
	m := map[string]int{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("bad counters %s: %v", b, err)
		}
	}
	return m
}

const (
	workers   = 8
	perWorker = 50
)

// runWorkers runs fn(worker, step) for every step of every worker, each
// worker in its own goroutine, and fails the test on the first error.
func runWorkers(t *testing.T, fn func(w, i int) error) {
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				if err := fn(w, i); err != nil {
					errs <- fmt.Errorf("worker %d step %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// versions collects the resource versions of successful writes: each
// must be new.
type versions struct {
	mu   sync.Mutex
	seen map[int64]bool
}

func (v *versions) add(rv int64) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil {
		v.seen = map[int64]bool{}
	}
	if v.seen[rv] {
		return fmt.Errorf("resource version %d returned by two writes", rv)
	}
	v.seen[rv] = true
	return nil
}

// testConcurrentUpdateStatus has workers increment their own counter in
// the status by read-modify-write with a version check, retrying on
// conflict: every increment must land exactly once.
func testConcurrentUpdateStatus(t *testing.T, s resourcestore.Store) {
	ctx := t.Context()
	created, _ := mustApply(t, s, manifest("Dataset", "hot", `1`, nil), 0)
	var vs versions
	var mu sync.Mutex
	conflicts := 0
	runWorkers(t, func(w, i int) error {
		key := fmt.Sprint("w", w)
		for {
			cur, err := s.Get(ctx, "Dataset", "hot")
			if err != nil {
				return err
			}
			m := counters(t, cur.Status)
			if m[key] != i {
				return fmt.Errorf("counter %s = %d before increment %d", key, m[key], i)
			}
			m[key]++
			b, _ := json.Marshal(m)
			next, err := s.UpdateStatus(ctx, "Dataset", "hot", b, cur.ResourceVersion)
			if errors.Is(err, resourcestore.ErrConflict) {
				mu.Lock()
				conflicts++
				mu.Unlock()
				continue
			}
			if err != nil {
				return err
			}
			if next.ResourceVersion <= cur.ResourceVersion {
				return fmt.Errorf("version went from %d to %d", cur.ResourceVersion, next.ResourceVersion)
			}
			return vs.add(next.ResourceVersion)
		}
	})
	final := mustGet(t, s, "Dataset", "hot")
	m := counters(t, final.Status)
	for w := range workers {
		if got := m[fmt.Sprint("w", w)]; got != perWorker {
			t.Errorf("counter w%d = %d, want %d", w, got, perWorker)
		}
	}
	if final.Generation != 1 || final.SpecHash != created.SpecHash || !bytes.Equal(final.Object, created.Object) {
		t.Errorf("status updates touched the spec: %s", show(final))
	}
	t.Logf("%d status updates, %d conflicts retried", workers*perWorker, conflicts)
}

// testConcurrentApply does the same with the spec through Apply: every
// change of spec must land once and bump the generation once.
func testConcurrentApply(t *testing.T, s resourcestore.Store) {
	ctx := t.Context()
	mustApply(t, s, resourcestore.Record{Kind: "Dataset", Name: "hot", SpecHash: "{}", Object: []byte(`{}`)}, 0)
	var vs versions
	const statusWorker = 0 // one worker writes the status meanwhile
	runWorkers(t, func(w, i int) error {
		key := fmt.Sprint("w", w)
		for {
			cur, err := s.Get(ctx, "Dataset", "hot")
			if err != nil {
				return err
			}
			if w == statusWorker {
				st := counters(t, cur.Status)
				st[key]++
				b, _ := json.Marshal(st)
				next, err := s.UpdateStatus(ctx, "Dataset", "hot", b, cur.ResourceVersion)
				if errors.Is(err, resourcestore.ErrConflict) {
					continue
				}
				if err != nil {
					return err
				}
				return vs.add(next.ResourceVersion)
			}
			m := counters(t, cur.Object)
			m[key]++
			b, _ := json.Marshal(m)
			next, changed, err := s.Apply(ctx, resourcestore.Record{Kind: "Dataset", Name: "hot", SpecHash: string(b), Object: b}, cur.ResourceVersion)
			if errors.Is(err, resourcestore.ErrConflict) {
				continue
			}
			if err != nil {
				return err
			}
			if !changed || next.Generation != cur.Generation+1 {
				return fmt.Errorf("apply: changed = %v, generation %d after %d", changed, next.Generation, cur.Generation)
			}
			return vs.add(next.ResourceVersion)
		}
	})
	final := mustGet(t, s, "Dataset", "hot")
	spec, status := counters(t, final.Object), counters(t, final.Status)
	for w := range workers {
		key := fmt.Sprint("w", w)
		want, got := perWorker, spec[key]
		if w == statusWorker {
			got = status[key]
		}
		if got != want {
			t.Errorf("counter %s = %d, want %d", key, got, want)
		}
	}
	if want := int64(1 + (workers-1)*perWorker); final.Generation != want {
		t.Errorf("generation %d, want %d", final.Generation, want)
	}
}

func testCanceled(t *testing.T, s resourcestore.Store) {
	rec, _ := mustApply(t, s, manifest("Dataset", "sales", `1`, nil), 0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: err = %v, want context.Canceled", op, err)
		}
	}
	_, _, err := s.Apply(ctx, manifest("Dataset", "new", `1`, nil), 0)
	check("Apply", err)
	_, _, err = s.Apply(ctx, manifest("Dataset", "sales", `2`, nil), 0)
	check("Apply (update)", err)
	_, err = s.Get(ctx, "Dataset", "sales")
	check("Get", err)
	_, err = s.List(ctx, "", nil)
	check("List", err)
	_, err = s.UpdateStatus(ctx, "Dataset", "sales", []byte(`{}`), 0)
	check("UpdateStatus", err)
	check("Delete", s.Delete(ctx, "Dataset", "sales", 0))
	check("AddEvent", s.AddEvent(ctx, resourcestore.Event{Kind: "Dataset", Name: "sales", Reason: "X"}))
	_, err = s.Events(ctx, "", "", 0)
	check("Events", err)

	// Nothing happened.
	checkStored(t, s, rec)
	if _, err := s.Get(t.Context(), "Dataset", "new"); !errors.Is(err, resourcestore.ErrNotFound) {
		t.Errorf("Get of a resource applied with a canceled context: %v", err)
	}
	if evs, err := s.Events(t.Context(), "", "", 0); err != nil || len(evs) != 0 {
		t.Errorf("Events after canceled AddEvent: %v, %v", evs, err)
	}
}
