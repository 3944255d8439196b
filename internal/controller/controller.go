package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"time"

	"github.com/ipos-dev/ipos/internal/resource"
	"github.com/ipos-dev/ipos/internal/resourcestore"
	"github.com/ipos-dev/ipos/internal/sealing"
	"github.com/ipos-dev/ipos/internal/workspace"
)

// Controller applies and reconciles resources of one workspace.
type Controller struct {
	W     *workspace.Workspace
	Store resourcestore.Store
	Reg   *resource.Registry
	Key   *sealing.Key
	Now   func() time.Time
	// Observers report the state of kinds other packages own, by kind.
	Observers map[string]Observer
}

// Change says what Apply did, or would do, to one resource.
type Change struct {
	Ref    resource.Ref
	Action string // "created", "configured", "unchanged"
}

// Apply records the desired state of objs. With dryRun it only reports
// what it would change.
func (c *Controller) Apply(ctx context.Context, objs []*resource.Object, dryRun bool) ([]Change, error) {
	if err := c.checkContractVersions(ctx, objs); err != nil {
		return nil, err
	}
	var out []Change
	for _, o := range objs {
		prev, err := c.Store.Get(ctx, o.Kind, o.Metadata.Name)
		found := err == nil
		if err != nil && !errors.Is(err, resourcestore.ErrNotFound) {
			return out, err
		}
		stored, hash, err := c.storable(o, prev)
		if err != nil {
			return out, fmt.Errorf("%s: %w", o.Ref(), err)
		}
		action := "created"
		switch {
		case !found:
		case prev.SpecHash == hash && maps.Equal(prev.Labels, o.Metadata.Labels) && string(prev.Object) == string(stored):
			action = "unchanged"
		default:
			action = "configured"
		}
		if !dryRun && action != "unchanged" {
			if _, _, err := c.Store.Apply(ctx, resourcestore.Record{
				Kind: o.Kind, Name: o.Metadata.Name, SpecHash: hash, Object: stored, Labels: o.Metadata.Labels,
			}, 0); err != nil {
				return out, fmt.Errorf("%s: %w", o.Ref(), err)
			}
		}
		out = append(out, Change{Ref: o.Ref(), Action: action})
	}
	return out, nil
}

// storable is the canonical JSON the store keeps for o, with status and
// generation (the system's to write) left out and secret values sealed,
// and its spec hash (keyed, for secrets). A secret value that prev (the
// stored record, if any) already holds keeps its sealed form: sealing
// again would give new bytes for the same value, and then a change to
// the secret's metadata alone could not be told from no change at all.
func (c *Controller) storable(o *resource.Object, prev resourcestore.Record) ([]byte, string, error) {
	cp := *o
	cp.Status = nil
	cp.Metadata.Generation = 0
	if s, ok := o.Spec.(*resource.SecretSpec); ok {
		plain, err := cp.Canonical()
		if err != nil {
			return nil, "", err
		}
		before := c.sealedValues(prev)
		sealed := &resource.SecretSpec{Data: map[string]string{}}
		for k, v := range s.Data {
			if sealing.IsSealed(v) {
				return nil, "", fmt.Errorf("spec.data.%s: already sealed; give the plain value", k)
			}
			if old, ok := before[k]; ok {
				if plain, err := c.Key.Open(old); err == nil && string(plain) == v {
					sealed.Data[k] = old
					continue
				}
			}
			sealed.Data[k] = c.Key.Seal([]byte(v))
		}
		cp.Spec = sealed
		data, err := cp.Canonical()
		return data, "keyed:" + c.Key.Fingerprint(plain), err
	}
	data, err := cp.Canonical()
	if err != nil {
		return nil, "", err
	}
	hash, err := cp.SpecHash()
	return data, hash, err
}

// sealedValues returns the sealed values of a stored Secret record, or
// nil when there is none.
func (c *Controller) sealedValues(rec resourcestore.Record) map[string]string {
	if rec.Kind != "Secret" || len(rec.Object) == 0 {
		return nil
	}
	o, err := c.Object(rec)
	if err != nil {
		return nil
	}
	if s, ok := o.Spec.(*resource.SecretSpec); ok {
		return s.Data
	}
	return nil
}

// Object decodes a stored record.
func (c *Controller) Object(rec resourcestore.Record) (*resource.Object, error) {
	objs, err := c.Reg.Parse(rec.Kind+"/"+rec.Name, rec.Object)
	if err != nil {
		return nil, err
	}
	if len(objs) != 1 {
		return nil, fmt.Errorf("%s/%s: stored object holds %d documents", rec.Kind, rec.Name, len(objs))
	}
	o := objs[0]
	o.Metadata.Generation = rec.Generation
	if len(rec.Status) > 0 {
		var st resource.Status
		if err := json.Unmarshal(rec.Status, &st); err != nil {
			return nil, fmt.Errorf("%s/%s: status: %w", rec.Kind, rec.Name, err)
		}
		o.Status = &st
	}
	return o, nil
}

// Dependents lists the stored resources that depend on ref.
func (c *Controller) Dependents(ctx context.Context, ref resource.Ref) ([]resource.Ref, error) {
	recs, err := c.Store.List(ctx, "", nil)
	if err != nil {
		return nil, err
	}
	var out []resource.Ref
	for _, r := range recs {
		o, err := c.Object(r)
		if err != nil {
			continue
		}
		for _, d := range o.Dependencies() {
			if d == ref {
				out = append(out, o.Ref())
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

func (c *Controller) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
