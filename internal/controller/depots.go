package controller

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/ipos-dev/ipos/internal/fetch"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/resource"
)

// Depot resolves a declared Depot for fetch steps that name it: a local
// folder (relative paths are under the workspace root) or an HTTP base URL
// with its headers, secret values unsealed.
func (c *Controller) Depot(ctx context.Context, name string) (*fetch.Depot, error) {
	rec, err := c.Store.Get(ctx, "Depot", name)
	if err != nil {
		return nil, err
	}
	o, err := c.Object(rec)
	if err != nil {
		return nil, err
	}
	spec, ok := o.Spec.(*resource.DepotSpec)
	if !ok {
		return nil, fmt.Errorf("Depot/%s has a %T spec", name, o.Spec)
	}
	switch {
	case spec.Local != nil:
		dir := spec.Local.Path
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(c.W.Root, dir)
		}
		return &fetch.Depot{Local: dir}, nil
	case spec.HTTP != nil:
		d := &fetch.Depot{HTTPBase: spec.HTTP.BaseURL}
		for _, h := range spec.HTTP.Headers {
			v, err := c.value(ctx, h.StringSource)
			if err != nil {
				return nil, fmt.Errorf("Depot/%s: header %s: %w", name, h.Name, err)
			}
			d.Headers = append(d.Headers, odf.RequestHeader{Name: h.Name, Value: v})
		}
		return d, nil
	}
	return &fetch.Depot{}, nil // S3 and PostgreSQL depots: fetch says they cannot serve yet
}

// value reads a string given inline or from a Secret.
func (c *Controller) value(ctx context.Context, src resource.StringSource) (string, error) {
	if src.ValueFrom == nil || src.ValueFrom.SecretRef == nil {
		return src.Value, nil
	}
	ref := src.ValueFrom.SecretRef
	rec, err := c.Store.Get(ctx, "Secret", ref.Name)
	if err != nil {
		return "", err
	}
	o, err := c.Object(rec)
	if err != nil {
		return "", err
	}
	sealed, ok := o.Spec.(*resource.SecretSpec).Data[ref.Key]
	if !ok {
		return "", fmt.Errorf("Secret/%s has no key %q", ref.Name, ref.Key)
	}
	plain, err := c.Key.Open(sealed)
	if err != nil {
		return "", fmt.Errorf("Secret/%s: key %q: %w", ref.Name, ref.Key, err)
	}
	return string(plain), nil
}
