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
// folder (relative paths are under the workspace root), an HTTP base URL
// with its headers, an S3 bucket with its keys or a PostgreSQL DSN, secret
// values unsealed. Errors name the Secret and key, never the value.
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
	case spec.S3 != nil:
		s3 := spec.S3
		d := &fetch.S3Depot{Endpoint: s3.Endpoint, Region: s3.Region, Bucket: s3.Bucket, Prefix: s3.Prefix}
		if s3.AccessKey != nil {
			if d.AccessKey, err = c.value(ctx, resource.StringSource{ValueFrom: s3.AccessKey}); err != nil {
				return nil, fmt.Errorf("Depot/%s: accessKey: %w", name, err)
			}
		}
		if s3.SecretKey != nil {
			if d.SecretKey, err = c.value(ctx, resource.StringSource{ValueFrom: s3.SecretKey}); err != nil {
				return nil, fmt.Errorf("Depot/%s: secretKey: %w", name, err)
			}
		}
		return &fetch.Depot{S3: d}, nil
	case spec.Postgres != nil:
		pg := spec.Postgres
		dsn, err := c.value(ctx, pg.DSN)
		if err != nil {
			return nil, fmt.Errorf("Depot/%s: dsn: %w", name, err)
		}
		return &fetch.Depot{Postgres: &fetch.PostgresDepot{DSN: dsn, Table: pg.Table, Query: pg.Query}}, nil
	}
	return nil, fmt.Errorf("Depot/%s has none of local, http, s3, postgres", name)
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
