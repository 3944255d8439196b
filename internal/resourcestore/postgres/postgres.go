package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ipos-dev/ipos/internal/resourcestore"
	"github.com/ipos-dev/ipos/internal/resourcestore/internal/change"
)

// SchemaVersion is the schema version this package writes and reads:
// len(migrations).
const SchemaVersion = 1

// migrations[i] moves the schema from version i to version i+1; {s} is
// the quoted schema name. Append only; never edit a released step.
var migrations = []string{
	// 1: resources, the resource version sequence, events.
	`CREATE TABLE {s}.resources (
		kind             text        NOT NULL,
		name             text        NOT NULL,
		generation       bigint      NOT NULL,
		resource_version bigint      NOT NULL,
		spec_hash        text        NOT NULL,
		object           bytea,
		status           bytea,
		labels           jsonb       NOT NULL DEFAULT '{}',
		created_at       timestamptz NOT NULL,
		updated_at       timestamptz NOT NULL,
		PRIMARY KEY (kind, name)
	);
	CREATE INDEX resources_labels ON {s}.resources USING gin (labels jsonb_path_ops);
	CREATE SEQUENCE {s}.resource_version;
	CREATE TABLE {s}.events (
		id         bigserial   PRIMARY KEY,
		kind       text        NOT NULL,
		name       text        NOT NULL,
		time       timestamptz NOT NULL,
		type       text        NOT NULL,
		reason     text        NOT NULL,
		message    text        NOT NULL,
		generation bigint      NOT NULL
	);
	CREATE INDEX events_resource ON {s}.events (kind, name, id);`,
}

// Options configure a Store.
type Options struct {
	// Schema is the PostgreSQL schema holding the tables. Empty means
	// "ipos".
	Schema string
	// EventsPerResource is how many events are kept per resource; older
	// ones are dropped. Zero means resourcestore.DefaultEventsPerResource.
	EventsPerResource int
}

// DefaultOptions returns the options Open uses for zero fields.
func DefaultOptions() Options {
	return Options{Schema: "ipos", EventsPerResource: resourcestore.DefaultEventsPerResource}
}

// Store is a resourcestore.Store in a PostgreSQL schema.
type Store struct {
	pool     *pgxpool.Pool
	ownsPool bool
	opts     Options
	where    string // "schema S" for errors
	queries  map[string]string
}

var _ resourcestore.Store = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// URL or key=value
// string) and opens the store in it, creating or migrating the schema.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("open resource store: %w", err)
	}
	s, err := New(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownsPool = true
	return s, nil
}

// New opens the store on an existing pool, creating or migrating the
// schema. Close does not close the pool.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	def := DefaultOptions()
	if opts.Schema == "" {
		opts.Schema = def.Schema
	}
	if opts.EventsPerResource <= 0 {
		opts.EventsPerResource = def.EventsPerResource
	}
	s := &Store{pool: pool, opts: opts, where: fmt.Sprintf("schema %q", opts.Schema)}
	quoted := pgx.Identifier{opts.Schema}.Sanitize()
	s.queries = map[string]string{}
	for name, q := range queries {
		s.queries[name] = strings.ReplaceAll(q, "{s}", quoted)
	}
	if err := s.migrate(ctx, quoted); err != nil {
		return nil, fmt.Errorf("open resource store in %s: %w", s.where, ctxErr(ctx, err))
	}
	return s, nil
}

// Close closes the pool if Open made it.
func (s *Store) Close() error {
	if s.ownsPool {
		s.pool.Close()
	}
	return nil
}

func (s *Store) migrate(ctx context.Context, quoted string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Serialize migrations of this schema between processes.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "ipos resourcestore "+s.opts.Schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+quoted+`;
			CREATE TABLE IF NOT EXISTS `+quoted+`.schema_version (version integer NOT NULL)`); err != nil {
			return err
		}
		var v int
		err := tx.QueryRow(ctx, `SELECT version FROM `+quoted+`.schema_version`).Scan(&v)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if _, err := tx.Exec(ctx, `INSERT INTO `+quoted+`.schema_version (version) VALUES (0)`); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if v > SchemaVersion {
			return fmt.Errorf("%w: schema version %d, this ipos knows up to %d; upgrade ipos", resourcestore.ErrSchemaTooNew, v, SchemaVersion)
		}
		for ; v < SchemaVersion; v++ {
			if _, err := tx.Exec(ctx, strings.ReplaceAll(migrations[v], "{s}", quoted)); err != nil {
				return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
			}
		}
		_, err = tx.Exec(ctx, `UPDATE `+quoted+`.schema_version SET version = $1`, v)
		return err
	})
}

const columns = `kind, name, generation, resource_version, spec_hash, object, status, labels, created_at, updated_at`

// queries, with {s} for the quoted schema.
var queries = map[string]string{
	"get":          `SELECT ` + columns + ` FROM {s}.resources WHERE kind = $1 AND name = $2`,
	"getForUpdate": `SELECT ` + columns + ` FROM {s}.resources WHERE kind = $1 AND name = $2 FOR UPDATE`,
	"list": `SELECT ` + columns + ` FROM {s}.resources WHERE ($1 = '' OR kind = $1) AND labels @> $2::jsonb
		ORDER BY kind COLLATE "C", name COLLATE "C"`,
	"nextVersion": `SELECT nextval('{s}.resource_version')`,
	"insert": `INSERT INTO {s}.resources (kind, name, generation, resource_version, spec_hash, object, status, labels, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, NULL, $7::jsonb, $8, $9) ON CONFLICT (kind, name) DO NOTHING`,
	"update": `UPDATE {s}.resources SET generation = $3, resource_version = $4, spec_hash = $5, object = $6, labels = $7::jsonb, updated_at = $8
		WHERE kind = $1 AND name = $2`,
	"updateStatus": `UPDATE {s}.resources SET status = $3, resource_version = $4, updated_at = $5 WHERE kind = $1 AND name = $2`,
	"delete":       `DELETE FROM {s}.resources WHERE kind = $1 AND name = $2`,
	"lockEvents":   `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
	"addEvent":     `INSERT INTO {s}.events (kind, name, time, type, reason, message, generation) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
	"capEvents": `DELETE FROM {s}.events WHERE kind = $1 AND name = $2 AND id <= (
		SELECT id FROM {s}.events WHERE kind = $1 AND name = $2 ORDER BY id DESC OFFSET $3 LIMIT 1)`,
	"events": `SELECT kind, name, time, type, reason, message, generation FROM {s}.events
		WHERE ($1 = '' OR kind = $1) AND ($2 = '' OR name = $2) ORDER BY id DESC LIMIT $3`,
}

// ctxErr makes sure an error caused by a canceled context wraps the
// context's error.
func ctxErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

func (s *Store) fail(ctx context.Context, op, kind, name string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, resourcestore.ErrNotFound) || errors.Is(err, resourcestore.ErrConflict) {
		return err
	}
	return fmt.Errorf("%s %s in %s: %w", op, resourcestore.Ref(kind, name), s.where, ctxErr(ctx, err))
}

func scanRecord(row pgx.Row) (resourcestore.Record, error) {
	var r resourcestore.Record
	err := row.Scan(&r.Kind, &r.Name, &r.Generation, &r.ResourceVersion, &r.SpecHash,
		&r.Object, &r.Status, &r.Labels, &r.CreatedAt, &r.UpdatedAt)
	r.Labels = change.Labels(r.Labels)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, err
}

// current returns the stored record, locked until the end of tx, or nil.
func (s *Store) current(ctx context.Context, tx pgx.Tx, kind, name string) (*resourcestore.Record, error) {
	r, err := scanRecord(tx.QueryRow(ctx, s.queries["getForUpdate"], kind, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func labelsJSON(labels map[string]string) (string, error) {
	if len(labels) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(labels)
	return string(b), err
}

// errRaced reports a create that lost to a concurrent one; the write is
// retried.
var errRaced = errors.New("concurrent create")

// Apply implements resourcestore.Store.
func (s *Store) Apply(ctx context.Context, rec resourcestore.Record, expectVersion int64) (resourcestore.Record, bool, error) {
	if err := change.CheckRef(rec.Kind, rec.Name); err != nil {
		return resourcestore.Record{}, false, err
	}
	for {
		var out resourcestore.Record
		var changed bool
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			cur, err := s.current(ctx, tx, rec.Kind, rec.Name)
			if err != nil {
				return err
			}
			next, ch, err := change.Apply(cur, rec, expectVersion, change.Now())
			if err != nil || !ch {
				out = next
				return err
			}
			if err := tx.QueryRow(ctx, s.queries["nextVersion"]).Scan(&next.ResourceVersion); err != nil {
				return err
			}
			labels, err := labelsJSON(next.Labels)
			if err != nil {
				return err
			}
			if cur == nil {
				tag, err := tx.Exec(ctx, s.queries["insert"], next.Kind, next.Name, next.Generation, next.ResourceVersion,
					next.SpecHash, next.Object, labels, next.CreatedAt, next.UpdatedAt)
				if err != nil {
					return err
				}
				if tag.RowsAffected() == 0 {
					return errRaced
				}
			} else if _, err := tx.Exec(ctx, s.queries["update"], next.Kind, next.Name, next.Generation, next.ResourceVersion,
				next.SpecHash, next.Object, labels, next.UpdatedAt); err != nil {
				return err
			}
			out, changed = next, true
			return nil
		})
		if errors.Is(err, errRaced) {
			continue
		}
		if err != nil {
			return resourcestore.Record{}, false, s.fail(ctx, "apply", rec.Kind, rec.Name, err)
		}
		return out, changed, nil
	}
}

// Get implements resourcestore.Store.
func (s *Store) Get(ctx context.Context, kind, name string) (resourcestore.Record, error) {
	if err := change.CheckRef(kind, name); err != nil {
		return resourcestore.Record{}, err
	}
	r, err := scanRecord(s.pool.QueryRow(ctx, s.queries["get"], kind, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return resourcestore.Record{}, resourcestore.NotFound(kind, name)
	}
	if err != nil {
		return resourcestore.Record{}, s.fail(ctx, "get", kind, name, err)
	}
	return r, nil
}

// List implements resourcestore.Store.
func (s *Store) List(ctx context.Context, kind string, labels map[string]string) ([]resourcestore.Record, error) {
	fail := func(err error) error {
		what := "all kinds"
		if kind != "" {
			what = "kind " + kind
		}
		return fmt.Errorf("list %s in %s: %w", what, s.where, ctxErr(ctx, err))
	}
	sel, err := labelsJSON(labels)
	if err != nil {
		return nil, fail(err)
	}
	rows, err := s.pool.Query(ctx, s.queries["list"], kind, sel)
	if err != nil {
		return nil, fail(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (resourcestore.Record, error) { return scanRecord(row) })
	if err != nil {
		return nil, fail(err)
	}
	return out, nil
}

// UpdateStatus implements resourcestore.Store.
func (s *Store) UpdateStatus(ctx context.Context, kind, name string, status []byte, expectVersion int64) (resourcestore.Record, error) {
	if err := change.CheckRef(kind, name); err != nil {
		return resourcestore.Record{}, err
	}
	var out resourcestore.Record
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := s.current(ctx, tx, kind, name)
		if err != nil {
			return err
		}
		next, ch, err := change.Status(cur, kind, name, status, expectVersion, change.Now())
		if err != nil || !ch {
			out = next
			return err
		}
		if err := tx.QueryRow(ctx, s.queries["nextVersion"]).Scan(&next.ResourceVersion); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.queries["updateStatus"], kind, name, next.Status, next.ResourceVersion, next.UpdatedAt); err != nil {
			return err
		}
		out = next
		return nil
	})
	if err != nil {
		return resourcestore.Record{}, s.fail(ctx, "update status of", kind, name, err)
	}
	return out, nil
}

// Delete implements resourcestore.Store.
func (s *Store) Delete(ctx context.Context, kind, name string, expectVersion int64) error {
	if err := change.CheckRef(kind, name); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := s.current(ctx, tx, kind, name)
		if err != nil {
			return err
		}
		if err := change.Delete(cur, kind, name, expectVersion); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, s.queries["delete"], kind, name)
		return err
	})
	return s.fail(ctx, "delete", kind, name, err)
}

// AddEvent implements resourcestore.Store.
func (s *Store) AddEvent(ctx context.Context, ev resourcestore.Event) error {
	ev, err := change.Event(ev, change.Now())
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		key := fmt.Sprintf("ipos resourcestore events %q %q %q", s.opts.Schema, ev.Kind, ev.Name)
		if _, err := tx.Exec(ctx, s.queries["lockEvents"], key); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.queries["addEvent"], ev.Kind, ev.Name, ev.Time, ev.Type, ev.Reason, ev.Message, ev.Generation); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, s.queries["capEvents"], ev.Kind, ev.Name, s.opts.EventsPerResource)
		return err
	})
	return s.fail(ctx, "add event to", ev.Kind, ev.Name, err)
}

// Events implements resourcestore.Store.
func (s *Store) Events(ctx context.Context, kind, name string, limit int) ([]resourcestore.Event, error) {
	fail := func(err error) error {
		what := "all resources"
		switch {
		case kind != "" && name != "":
			what = resourcestore.Ref(kind, name)
		case kind != "":
			what = "kind " + kind
		}
		return fmt.Errorf("list events of %s in %s: %w", what, s.where, ctxErr(ctx, err))
	}
	var lim *int // NULL: no limit
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, s.queries["events"], kind, name, lim)
	if err != nil {
		return nil, fail(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (resourcestore.Event, error) {
		var ev resourcestore.Event
		err := row.Scan(&ev.Kind, &ev.Name, &ev.Time, &ev.Type, &ev.Reason, &ev.Message, &ev.Generation)
		ev.Time = ev.Time.UTC()
		return ev, err
	})
	if err != nil {
		return nil, fail(err)
	}
	return out, nil
}
