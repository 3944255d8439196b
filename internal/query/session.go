package query

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/engine"
	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/policy"
	"github.com/ipos-dev/ipos/internal/workspace"
)

// Options configure a session.
type Options struct {
	// AsAt is the point of history to see, as ParseAsAt reads it; empty
	// means every dataset's head.
	AsAt string
	// Engine sizes DuckDB; the zero value means engine.DefaultConfig().
	Engine engine.Config
	// Access, when set, decides what the session shows (see Access); nil
	// shows every dataset as it is.
	Access *Access
	// Only, when not empty, limits the session to the datasets named.
	Only []string
}

// Table is a dataset as a session shows it.
type Table struct {
	// Name is the view's name, the dataset's alias: quote it in SQL when
	// it has dots ("covid.cases").
	Name string
	ID   odf.DatasetID
	// Head is the newest block seen (nil if none) and SystemTime its time.
	Head       odf.Multihash
	SystemTime time.Time
	// Files is the number of data slices the view reads.
	Files int
	// Columns are the view's columns; empty when there is no view.
	Columns []engine.Column
	// Note says why there is no view, or that it has no data yet.
	Note string
	// Decision is the policy decision the view was made under, when the
	// session has Access.
	Decision *policy.Decision
}

// Session is a locked-down SQL session over a workspace's datasets. It is
// for sequential use.
type Session struct {
	eng    *engine.Engine
	tables []Table
	asAt   *AsAt
	access *Access
}

// Open makes a view for every dataset of w as at opts.AsAt, then locks
// the session down.
func Open(ctx context.Context, w *workspace.Workspace, opts Options) (*Session, error) {
	datasets, err := w.Datasets(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, d := range datasets {
			d.Close()
		}
	}()
	var at *AsAt
	if opts.AsAt != "" {
		if at, err = ParseAsAt(ctx, datasets, opts.AsAt); err != nil {
			return nil, err
		}
	}
	cfg := opts.Engine
	if cfg == (engine.Config{}) {
		cfg = engine.DefaultConfig()
	}
	eng, err := engine.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Session{eng: eng, asAt: at}
	if opts.Access != nil {
		a := *opts.Access
		if a.Policies == nil {
			if a.Policies, err = policy.New(ctx, nil, policy.Options{}); err != nil {
				eng.Close()
				return nil, err
			}
		}
		if a.Action == "" {
			a.Action = policy.ActionQuery
		}
		s.access = &a
	}
	var allowed []string
	for _, d := range datasets {
		if len(opts.Only) > 0 && !slices.Contains(opts.Only, d.Alias) {
			continue
		}
		snap, err := Resolve(ctx, d, at)
		if err != nil {
			eng.Close()
			return nil, err
		}
		t := Table{Name: d.Alias, ID: d.ID, Head: snap.Head, SystemTime: snap.SystemTime, Files: len(snap.Files)}
		if opts.Access != nil && (len(snap.Files) > 0 || snap.Schema != nil) {
			files, err := s.policyView(ctx, &t, snap)
			if err != nil {
				eng.Close()
				return nil, err
			}
			allowed = append(allowed, files...)
			s.tables = append(s.tables, t)
			continue
		}
		switch {
		case len(snap.Files) > 0:
			err = eng.CreateParquetView(ctx, d.Alias, snap.Files)
			allowed = append(allowed, snap.Files...)
		case snap.Schema != nil:
			err = eng.CreateEmptyView(ctx, d.Alias, snap.Schema)
			t.Note = "no data yet"
		case snap.Head == nil && at != nil:
			t.Note = "skipped: the dataset did not exist yet as at " + at.String()
		default:
			t.Note = "skipped: no data and no schema yet"
		}
		if err != nil {
			eng.Close()
			return nil, fmt.Errorf("%s: %w", d.Alias, err)
		}
		if t.Note == "" || snap.Schema != nil && len(snap.Files) == 0 {
			if t.Columns, err = eng.Columns(ctx, d.Alias); err != nil {
				eng.Close()
				return nil, fmt.Errorf("%s: %w", d.Alias, err)
			}
		}
		s.tables = append(s.tables, t)
	}
	if err := eng.Lockdown(ctx, nil, allowed); err != nil {
		eng.Close()
		return nil, err
	}
	return s, nil
}

// Query runs one SQL statement, which must be a query (SELECT, EXPLAIN,
// DESCRIBE, SHOW, SUMMARIZE). Anything else is refused with an error
// wrapping engine.ErrRefused; so is reading any file but the datasets'.
func (s *Session) Query(ctx context.Context, sql string) (*engine.Result, error) {
	if s.eng == nil {
		return nil, errors.New("query: session closed")
	}
	if err := s.guard(ctx, sql); err != nil {
		if errors.Is(err, engine.ErrNotQuery) {
			// Say what kind of statement it is, as the engine does.
			if cerr := s.eng.CheckQueryStatement(ctx, sql); cerr != nil {
				return nil, s.hint(cerr)
			}
		}
		return nil, err
	}
	res, err := s.eng.QueryStatement(ctx, sql)
	if err != nil {
		return nil, s.hint(err)
	}
	return res, nil
}

// hint adds advice to an error that comes from a dataset name with dots
// left unquoted, which DuckDB reads as schema.table, or from a type
// mismatch while the session masks columns: a masked column holds its
// mask's output (a hash is an integer pseudonym, a bucket a label), so a
// comparison or function written for the raw values may not fit it.
func (s *Session) hint(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "Conversion Error") || strings.Contains(msg, "No function matches") {
		var masked []string
		for _, t := range s.tables {
			if t.Decision == nil || len(t.Decision.ColumnMasks) == 0 {
				continue
			}
			cols := slices.Sorted(maps.Keys(t.Decision.ColumnMasks))
			masked = append(masked, t.Name+" ("+strings.Join(cols, ", ")+")")
		}
		if len(masked) > 0 {
			return fmt.Errorf("%w\nnote: columns masked for you hold the mask's output, not the values (a hash is an integer pseudonym): %s",
				err, strings.Join(masked, ", "))
		}
		return err
	}
	i := strings.Index(msg, `" does not exist because schema "`)
	if i < 0 {
		return err
	}
	j := strings.LastIndex(msg[:i], `"`)
	if j < 0 {
		return err
	}
	name := msg[j+1 : i]
	for _, t := range s.tables {
		if strings.EqualFold(t.Name, name) {
			return fmt.Errorf("%w\nquote dataset names that have dots: SELECT * FROM \"%s\"", err, t.Name)
		}
	}
	return err
}

// Datasets lists the workspace's datasets as the session shows them,
// sorted by name.
func (s *Session) Datasets() []Table { return s.tables }

// Table returns the dataset named name.
func (s *Session) Table(name string) (Table, error) {
	for _, t := range s.tables {
		if t.Name == name {
			return t, nil
		}
	}
	return Table{}, fmt.Errorf("%w: %q", workspace.ErrDatasetNotFound, name)
}

// AsAt is the point of history the session shows; nil means the heads.
func (s *Session) AsAt() *AsAt { return s.asAt }

// Close releases the session's engine.
func (s *Session) Close() error {
	if s.eng == nil {
		return errors.New("query: session already closed")
	}
	err := s.eng.Close()
	s.eng = nil
	return err
}
