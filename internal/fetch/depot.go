package fetch

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/ipos-dev/ipos/internal/odf"
)

// DepotScheme is the URL scheme that names a depot: depot://NAME/path.
const DepotScheme = "depot"

// Depot is where a depot leads: a local folder, an HTTP base URL with
// headers to send, an S3 bucket or a PostgreSQL database. Exactly one is
// set; secret values (headers, keys, DSNs) are already unsealed by the
// caller, and this package never prints them.
type Depot struct {
	Local    string
	HTTPBase string
	Headers  []odf.RequestHeader
	S3       *S3Depot
	Postgres *PostgresDepot
}

// depotRef is a fetch step that names an S3 or PostgreSQL depot, which no
// plain step can stand for.
type depotRef struct {
	name string // the depot's name, in every error about it
	rest string // the path after depot://NAME/
	d    *Depot
}

// resolveDepot rewrites a fetch step whose URL or glob names a depot into
// the plain step it stands for: a file:// URL or glob under a local depot,
// or an http(s) URL under an HTTP depot with its headers added. A step
// naming an S3 or PostgreSQL depot comes back unchanged with a depotRef
// for fetchRemote.
func resolveDepot(ctx context.Context, step odf.FetchStep, opts Options) (odf.FetchStep, *depotRef, error) {
	switch s := step.(type) {
	case odf.FetchStepURL:
		name, rest, ok := depotOf(s.URL)
		if !ok {
			return step, nil, nil
		}
		d, err := lookupDepot(ctx, name, opts)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case d.Local != "":
			s.URL = "file://" + filepath.ToSlash(filepath.Join(localRoot(d.Local, opts), filepath.FromSlash(rest)))
		case d.HTTPBase != "":
			s.URL = strings.TrimRight(d.HTTPBase, "/") + "/" + strings.TrimLeft(rest, "/")
			s.Headers = append(append([]odf.RequestHeader(nil), d.Headers...), s.Headers...)
		case d.S3 != nil, d.Postgres != nil:
			return step, &depotRef{name: name, rest: rest, d: d}, nil
		default:
			return nil, nil, fmt.Errorf("depot %q leads nowhere (no local, http, s3 or postgres settings)", name)
		}
		return s, nil, nil
	case odf.FetchStepFilesGlob:
		name, rest, ok := depotOf(s.Path)
		if !ok {
			return step, nil, nil
		}
		d, err := lookupDepot(ctx, name, opts)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case d.Local != "":
			s.Path = filepath.Join(localRoot(d.Local, opts), filepath.FromSlash(rest))
			return s, nil, nil
		case d.S3 != nil:
			return step, &depotRef{name: name, rest: rest, d: d}, nil
		case d.Postgres != nil:
			return nil, nil, fmt.Errorf("depot %q is a PostgreSQL database: a FilesGlob cannot list it; use a Url fetch depot://%s or depot://%s/schema.table", name, name, name)
		}
		return nil, nil, fmt.Errorf("depot %q: a FilesGlob needs a local or s3 depot", name)
	}
	return step, nil, nil
}

// fetchRemote fetches a step that names an S3 or PostgreSQL depot.
func fetchRemote(ctx context.Context, step odf.FetchStep, ref *depotRef, prev *odf.SourceState, opts Options) ([]Item, error) {
	switch s := step.(type) {
	case odf.FetchStepURL:
		if cached(s.Cache, prev) {
			return nil, nil
		}
		if ref.d.S3 != nil {
			return fetchS3Object(ctx, ref, s, prev, opts)
		}
		return fetchPostgres(ctx, ref, s, prev, opts)
	case odf.FetchStepFilesGlob:
		if cached(s.Cache, prev) {
			return nil, nil
		}
		return fetchS3Glob(ctx, ref, s, prev, opts)
	}
	return nil, fmt.Errorf("depot %q: %T fetch is %w", ref.name, step, ErrUnsupported)
}

func lookupDepot(ctx context.Context, name string, opts Options) (*Depot, error) {
	if opts.Depots == nil {
		return nil, fmt.Errorf("depot %q: depot:// URLs need the workspace's declared depots", name)
	}
	d, err := opts.Depots(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("depot %q: %w", name, err)
	}
	return d, nil
}

// depotOf splits depot://NAME/path into NAME and path.
func depotOf(raw string) (name, rest string, ok bool) {
	scheme, after, found := strings.Cut(raw, "://")
	if !found || !strings.EqualFold(scheme, DepotScheme) {
		return "", "", false
	}
	u, err := url.Parse(DepotScheme + "://" + after)
	if err != nil || u.Host == "" {
		name, rest, _ = strings.Cut(after, "/")
		return name, rest, name != ""
	}
	return u.Host, strings.TrimPrefix(after[len(u.Host):], "/"), true
}

func localRoot(dir string, opts Options) string {
	if filepath.IsAbs(dir) {
		return dir
	}
	return filepath.Join(opts.BaseDir, dir)
}
