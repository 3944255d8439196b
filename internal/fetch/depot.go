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

// Depot is where a depot leads: a local folder, or an HTTP base URL with
// headers to send (secret values already unsealed by the caller).
type Depot struct {
	Local    string
	HTTPBase string
	Headers  []odf.RequestHeader
}

// resolveDepot rewrites a fetch step whose URL or glob names a depot into
// the plain step it stands for: a file:// URL or glob under a local depot,
// or an http(s) URL under an HTTP depot with its headers added.
func resolveDepot(ctx context.Context, step odf.FetchStep, opts Options) (odf.FetchStep, error) {
	switch s := step.(type) {
	case odf.FetchStepURL:
		name, rest, ok := depotOf(s.URL)
		if !ok {
			return step, nil
		}
		d, err := lookupDepot(ctx, name, opts)
		if err != nil {
			return nil, err
		}
		switch {
		case d.Local != "":
			s.URL = "file://" + filepath.ToSlash(filepath.Join(localRoot(d.Local, opts), filepath.FromSlash(rest)))
		case d.HTTPBase != "":
			s.URL = strings.TrimRight(d.HTTPBase, "/") + "/" + strings.TrimLeft(rest, "/")
			s.Headers = append(append([]odf.RequestHeader(nil), d.Headers...), s.Headers...)
		default:
			return nil, fmt.Errorf("depot %q: this kind of depot cannot serve URLs yet (local and http depots can)", name)
		}
		return s, nil
	case odf.FetchStepFilesGlob:
		name, rest, ok := depotOf(s.Path)
		if !ok {
			return step, nil
		}
		d, err := lookupDepot(ctx, name, opts)
		if err != nil {
			return nil, err
		}
		if d.Local == "" {
			return nil, fmt.Errorf("depot %q: a FilesGlob needs a local depot", name)
		}
		s.Path = filepath.Join(localRoot(d.Local, opts), filepath.FromSlash(rest))
		return s, nil
	}
	return step, nil
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
