package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/resource"
	"github.com/ipos-dev/ipos/internal/resourcestore"
	"github.com/ipos-dev/ipos/internal/workspace"
)

// Outcome is what one reconciliation of one resource found and did.
type Outcome struct {
	Ref    resource.Ref
	Ready  bool
	Reason string
	// Message describes the state found, for the Ready condition; it stays
	// the same while the state does, so a pass over an unchanged store
	// writes nothing.
	Message string
	// Action says what the pass changed, for the event; empty when nothing.
	Action  string
	Changed bool
	// Details go to status.details (see Observer).
	Details map[string]string
}

// Observer reports the state of a resource whose kind another package
// owns (an Agreement's standing, a Job's phase): whether it is ready,
// why not, and details for its status. It must not change the resource.
type Observer func(ctx context.Context, o *resource.Object) (Observation, error)

// Observation is what an Observer found.
type Observation struct {
	Ready           bool
	Reason, Message string
	Details         map[string]string
}

// ReconcileOnce makes one level-triggered pass over every stored resource:
// datasets are created or brought in line with their spec, dependencies are
// checked, and each resource's status and events are written. Errors of one
// resource are recorded in its status and do not stop the others.
func (c *Controller) ReconcileOnce(ctx context.Context) ([]Outcome, error) {
	return c.reconcileWhere(ctx, nil)
}

// ReconcileOnly is ReconcileOnce for the named resources alone, for a
// caller that changed what they observe (a job's record, an agreement's
// approvals) and wants their status to say so now.
func (c *Controller) ReconcileOnly(ctx context.Context, refs ...resource.Ref) ([]Outcome, error) {
	want := map[resource.Ref]bool{}
	for _, r := range refs {
		want[r] = true
	}
	return c.reconcileWhere(ctx, func(rec resourcestore.Record) bool {
		return want[resource.Ref{Kind: rec.Kind, Name: rec.Name}]
	})
}

// reconcileWhere is ReconcileOnce limited to the records only accepts;
// nil accepts all. Every resource is still read, since dependencies are
// checked against the whole store.
func (c *Controller) reconcileWhere(ctx context.Context, only func(resourcestore.Record) bool) ([]Outcome, error) {
	recs, err := c.Store.List(ctx, "", nil)
	if err != nil {
		return nil, err
	}
	objs := map[resource.Ref]*resource.Object{}
	var order []resource.Ref
	var out []Outcome
	for _, r := range recs {
		o, err := c.Object(r)
		if err != nil {
			ref := resource.Ref{Kind: r.Kind, Name: r.Name}
			if only == nil || only(r) {
				out = append(out, c.record(ctx, r, Outcome{Ref: ref, Reason: "Invalid", Message: err.Error()}))
			}
			continue
		}
		objs[o.Ref()] = o
		order = append(order, o.Ref())
	}
	// Datasets are created in dependency order: inputs first.
	order = dependencyOrder(order, objs)
	byRef := map[resource.Ref]resourcestore.Record{}
	for _, r := range recs {
		byRef[resource.Ref{Kind: r.Kind, Name: r.Name}] = r
	}
	for _, ref := range order {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if only != nil && !only(byRef[ref]) {
			continue
		}
		oc := c.reconcile(ctx, objs[ref], objs)
		out = append(out, c.record(ctx, byRef[ref], oc))
	}
	return out, nil
}

func (c *Controller) reconcile(ctx context.Context, o *resource.Object, all map[resource.Ref]*resource.Object) Outcome {
	oc := Outcome{Ref: o.Ref()}
	var missing []string
	for _, d := range o.Dependencies() {
		if _, ok := all[d]; !ok {
			missing = append(missing, d.String())
		}
	}
	if len(missing) > 0 {
		oc.Reason, oc.Message = "MissingDependency", "waiting for "+strings.Join(missing, ", ")
		return oc
	}
	switch spec := o.Spec.(type) {
	case *resource.DatasetSpec:
		action, state, err := c.reconcileDataset(ctx, o.Metadata.Name, spec)
		if err != nil {
			oc.Reason, oc.Message = "Failed", err.Error()
			return oc
		}
		oc.Changed, oc.Action, oc.Message = action != "", action, state
	default:
		if obs, ok := c.Observers[o.Kind]; ok {
			ob, err := obs(ctx, o)
			if err != nil {
				oc.Reason, oc.Message = "Failed", err.Error()
				return oc
			}
			oc.Details = ob.Details
			if !ob.Ready {
				oc.Reason, oc.Message = ob.Reason, ob.Message
				return oc
			}
			oc.Ready, oc.Reason, oc.Message = true, ob.Reason, ob.Message
			return oc
		}
		oc.Message = "declared"
	}
	oc.Ready, oc.Reason = true, "Reconciled"
	return oc
}

// reconcileDataset creates the dataset or appends the events that differ.
// It returns what it did ("" for nothing) and the state it leaves.
func (c *Controller) reconcileDataset(ctx context.Context, name string, spec *resource.DatasetSpec) (action, state string, err error) {
	snap := spec.Snapshot(name)
	d, err := c.W.Dataset(ctx, name)
	if errors.Is(err, workspace.ErrDatasetNotFound) {
		made, err := c.W.AddDatasets(ctx, []*odf.DatasetSnapshot{snap}, c.now())
		if err != nil {
			return "", "", err
		}
		return "created " + made[0].ID.String(), "dataset " + made[0].ID.String() + " matches its spec", nil
	}
	if err != nil {
		return "", "", err
	}
	appended, err := c.W.UpdateDataset(ctx, d, snap, c.now())
	if err != nil {
		return "", "", err
	}
	state = "dataset " + d.ID.String() + " matches its spec"
	if len(appended) == 0 {
		return "", state, nil
	}
	return "appended " + strings.Join(appended, ", "), state, nil
}

// observed says whether the controller has reconciled the record's
// current generation.
func observed(rec resourcestore.Record) bool {
	var st resource.Status
	if len(rec.Status) == 0 || json.Unmarshal(rec.Status, &st) != nil {
		return false
	}
	return st.ObservedGeneration == rec.Generation
}

// record writes an outcome as the resource's status (Ready condition,
// observed generation) and, when something changed or failed, an event.
func (c *Controller) record(ctx context.Context, rec resourcestore.Record, oc Outcome) Outcome {
	now := c.now().UTC().Truncate(time.Second)
	cond := resource.Condition{Type: "Ready", Status: resource.ConditionFalse, Reason: oc.Reason, Message: oc.Message, LastTransitionTime: now}
	if oc.Ready {
		cond.Status = resource.ConditionTrue
	}
	var prev resource.Status
	if len(rec.Status) > 0 {
		_ = json.Unmarshal(rec.Status, &prev)
	}
	for _, p := range prev.Conditions {
		if p.Type == cond.Type && p.Status == cond.Status {
			cond.LastTransitionTime = p.LastTransitionTime // no transition
		}
	}
	st := resource.Status{ObservedGeneration: rec.Generation, Conditions: []resource.Condition{cond}, Details: oc.Details}
	for _, p := range prev.Conditions {
		if p.Type != cond.Type {
			st.Conditions = append(st.Conditions, p) // other writers' conditions stay
		}
	}
	data, err := json.Marshal(st)
	if err == nil {
		_, err = c.Store.UpdateStatus(ctx, rec.Kind, rec.Name, data, 0)
	}
	if err != nil {
		oc.Ready, oc.Reason, oc.Message = false, "StatusNotWritten", fmt.Sprintf("%s (and writing the status failed: %v)", oc.Message, err)
	}
	switch {
	case !oc.Ready:
		_ = c.Store.AddEvent(ctx, resourcestore.Event{Kind: rec.Kind, Name: rec.Name, Time: now, Type: resourcestore.EventWarning, Reason: oc.Reason, Message: oc.Message, Generation: rec.Generation})
	case oc.Changed:
		_ = c.Store.AddEvent(ctx, resourcestore.Event{Kind: rec.Kind, Name: rec.Name, Time: now, Type: resourcestore.EventNormal, Reason: oc.Reason, Message: oc.Action, Generation: rec.Generation})
	}
	return oc
}

// dependencyOrder sorts refs so that each comes after what it depends on;
// cycles keep their input order.
func dependencyOrder(refs []resource.Ref, objs map[resource.Ref]*resource.Object) []resource.Ref {
	state := map[resource.Ref]int{}
	var out []resource.Ref
	var visit func(r resource.Ref)
	visit = func(r resource.Ref) {
		if state[r] != 0 {
			return
		}
		state[r] = 1
		if o, ok := objs[r]; ok {
			for _, d := range o.Dependencies() {
				visit(d)
			}
			out = append(out, r)
		}
		state[r] = 2
	}
	for _, r := range refs {
		visit(r)
	}
	return out
}
