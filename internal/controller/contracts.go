package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ipos-dev/ipos/internal/contract"
	"github.com/ipos-dev/ipos/internal/resource"
	"github.com/ipos-dev/ipos/internal/resourcestore"
)

// Contracts returns the declared Contracts that bind the dataset called
// name, sorted by name.
func (c *Controller) Contracts(ctx context.Context, dataset string) ([]*resource.Object, error) {
	recs, err := c.Store.List(ctx, "Contract", nil)
	if err != nil {
		return nil, err
	}
	var out []*resource.Object
	for _, r := range recs {
		o, err := c.Object(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Ref(), err)
		}
		if spec, ok := o.Spec.(*resource.ContractSpec); ok && spec.Dataset == dataset {
			out = append(out, o)
		}
	}
	return out, nil
}

// RecordContractReport records a commit's contract violations as Warning
// events on each Contract that found them and on the Dataset, when it is
// a declared resource. A report without violations records nothing.
func (c *Controller) RecordContractReport(ctx context.Context, rep *contract.Report) error {
	v := rep.Violations("")
	if len(v) == 0 {
		return nil
	}
	now := c.now().UTC()
	byContract := map[string][]string{}
	var order []string
	for _, r := range v {
		if _, ok := byContract[r.Contract]; !ok {
			order = append(order, r.Contract)
		}
		byContract[r.Contract] = append(byContract[r.Contract], r.String())
	}
	reason := "ContractWarning"
	if rep.Rejected() {
		reason = "ContractRejected"
	}
	source := ""
	if rep.Source != "" {
		source = " from " + rep.Source
	}
	var errs []error
	for _, name := range order {
		contractName, _, _ := strings.Cut(name, "@")
		msg := fmt.Sprintf("%s: batch%s: %s", rep.Dataset, source, strings.Join(byContract[name], "; "))
		ev := resourcestore.Event{Kind: "Contract", Name: contractName, Time: now, Type: resourcestore.EventWarning, Reason: reason, Message: msg}
		errs = append(errs, c.Store.AddEvent(ctx, ev))
		if _, err := c.Store.Get(ctx, "Dataset", rep.Dataset); err == nil {
			ev.Kind, ev.Name, ev.Message = "Dataset", rep.Dataset, fmt.Sprintf("contract %s: batch%s: %s", name, source, strings.Join(byContract[name], "; "))
			errs = append(errs, c.Store.AddEvent(ctx, ev))
		} else if !errors.Is(err, resourcestore.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkContractVersions refuses, before anything is applied, a Contract
// whose new spec breaks the stored one without a new major version.
func (c *Controller) checkContractVersions(ctx context.Context, objs []*resource.Object) error {
	var problems []string
	for _, o := range objs {
		spec, ok := o.Spec.(*resource.ContractSpec)
		if !ok {
			continue
		}
		rec, err := c.Store.Get(ctx, o.Kind, o.Metadata.Name)
		if errors.Is(err, resourcestore.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		prev, err := c.Object(rec)
		if err != nil {
			return err
		}
		old, ok := prev.Spec.(*resource.ContractSpec)
		if !ok {
			continue
		}
		d := contract.Diff(old, spec)
		if d.NeedsMajor(old, spec) {
			var why []string
			for _, ch := range d.Breaking() {
				why = append(why, "  "+ch.What)
			}
			problems = append(problems, fmt.Sprintf("%s: version %s → %s makes breaking changes; give it a new major version (%d.0.0):\n%s",
				o.Ref(), old.Version, spec.Version, old.Major()+1, strings.Join(why, "\n")))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("nothing was applied:\n%s", strings.Join(problems, "\n"))
	}
	return nil
}
