package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/ipos-dev/ipos/internal/resourcestore"
	"github.com/ipos-dev/ipos/internal/resourcestore/internal/change"
)

// SchemaVersion is the schema version this package writes and reads:
// len(migrations).
const SchemaVersion = 1

// migrations[i] moves the schema from version i to version i+1. Append
// only; never edit a released step.
var migrations = []string{
	// 1: resources, their labels, the resource version counter, events.
	`CREATE TABLE resources (
		id               INTEGER PRIMARY KEY,
		kind             TEXT    NOT NULL,
		name             TEXT    NOT NULL,
		generation       INTEGER NOT NULL,
		resource_version INTEGER NOT NULL,
		spec_hash        TEXT    NOT NULL,
		object           BLOB,
		status           BLOB,
		labels           TEXT    NOT NULL DEFAULT '{}',
		created_at       INTEGER NOT NULL,
		updated_at       INTEGER NOT NULL,
		UNIQUE (kind, name)
	) STRICT;
	CREATE TABLE resource_labels (
		resource_id INTEGER NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
		key         TEXT    NOT NULL,
		value       TEXT    NOT NULL,
		PRIMARY KEY (resource_id, key)
	) STRICT, WITHOUT ROWID;
	CREATE INDEX resource_labels_key_value ON resource_labels (key, value);
	CREATE TABLE counters (
		name  TEXT    PRIMARY KEY,
		value INTEGER NOT NULL
	) STRICT;
	INSERT INTO counters (name, value) VALUES ('resource_version', 0);
	CREATE TABLE events (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		kind       TEXT    NOT NULL,
		name       TEXT    NOT NULL,
		time       INTEGER NOT NULL,
		type       TEXT    NOT NULL,
		reason     TEXT    NOT NULL,
		message    TEXT    NOT NULL,
		generation INTEGER NOT NULL
	) STRICT;
	CREATE INDEX events_resource ON events (kind, name, id);`,
}

// Options configure a Store.
type Options struct {
	// EventsPerResource is how many events are kept per resource; older
	// ones are dropped. Zero means resourcestore.DefaultEventsPerResource.
	EventsPerResource int
	// BusyTimeout bounds how long a write waits for another process to
	// release the database's write lock. Zero means 5s.
	BusyTimeout time.Duration
}

// DefaultOptions returns the options Open uses for zero fields.
func DefaultOptions() Options {
	return Options{
		EventsPerResource: resourcestore.DefaultEventsPerResource,
		BusyTimeout:       5 * time.Second,
	}
}

// Store is a resourcestore.Store in one SQLite file.
type Store struct {
	db    *sql.DB
	path  string
	opts  Options
	write chan struct{} // one writer per process at a time
}

var _ resourcestore.Store = (*Store)(nil)

// Open opens the store in the SQLite file at path, creating the file, its
// directory and the schema if needed, and migrating an older schema.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	def := DefaultOptions()
	if opts.EventsPerResource <= 0 {
		opts.EventsPerResource = def.EventsPerResource
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = def.BusyTimeout
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open resource store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("open resource store %s: %w", path, err)
	}
	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Set("_busy_timeout", fmt.Sprint(opts.BusyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	q.Set("_foreign_keys", "1")
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open resource store %s: %w", path, err)
	}
	s := &Store{db: db, path: path, opts: opts, write: make(chan struct{}, 1)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open resource store %s: %w", path, err)
	}
	return s, nil
}

// Path returns the path the store was opened with.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) migrate(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT`); err != nil {
			return err
		}
		var v int
		err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if v > SchemaVersion {
			return fmt.Errorf("%w: schema version %d, this ipos knows up to %d; upgrade ipos", resourcestore.ErrSchemaTooNew, v, SchemaVersion)
		}
		for ; v < SchemaVersion; v++ {
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, v)
		return err
	})
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE) and commits it if
// fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	select {
	case s.write <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.write }()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return ctxErr(ctx, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return ctxErr(ctx, err)
	}
	return ctxErr(ctx, tx.Commit())
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

const columns = `id, kind, name, generation, resource_version, spec_hash, object, status, labels, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanRecord(row scanner) (id int64, r resourcestore.Record, err error) {
	var labels string
	var created, updated int64
	err = row.Scan(&id, &r.Kind, &r.Name, &r.Generation, &r.ResourceVersion, &r.SpecHash,
		&r.Object, &r.Status, &labels, &created, &updated)
	if err != nil {
		return 0, r, err
	}
	if err := json.Unmarshal([]byte(labels), &r.Labels); err != nil {
		return 0, r, fmt.Errorf("%s: labels: %w", r.Ref(), err)
	}
	r.Labels = change.Labels(r.Labels)
	r.CreatedAt = time.UnixMicro(created).UTC()
	r.UpdatedAt = time.UnixMicro(updated).UTC()
	return id, r, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// get returns the record and its row id, or a nil record if there is none.
func get(ctx context.Context, q querier, kind, name string) (int64, *resourcestore.Record, error) {
	id, r, err := scanRecord(q.QueryRowContext(ctx, `SELECT `+columns+` FROM resources WHERE kind = ? AND name = ?`, kind, name))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	return id, &r, nil
}

func nextVersion(ctx context.Context, tx *sql.Tx) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, `UPDATE counters SET value = value + 1 WHERE name = 'resource_version' RETURNING value`).Scan(&v)
	return v, err
}

func (s *Store) fail(ctx context.Context, op, kind, name string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, resourcestore.ErrNotFound) || errors.Is(err, resourcestore.ErrConflict) {
		return err
	}
	return fmt.Errorf("%s %s in %s: %w", op, resourcestore.Ref(kind, name), s.path, ctxErr(ctx, err))
}

// Apply implements resourcestore.Store.
func (s *Store) Apply(ctx context.Context, rec resourcestore.Record, expectVersion int64) (resourcestore.Record, bool, error) {
	if err := change.CheckRef(rec.Kind, rec.Name); err != nil {
		return resourcestore.Record{}, false, err
	}
	var out resourcestore.Record
	var changed bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		id, cur, err := get(ctx, tx, rec.Kind, rec.Name)
		if err != nil {
			return err
		}
		next, ch, err := change.Apply(cur, rec, expectVersion, change.Now())
		if err != nil || !ch {
			out, changed = next, false
			return err
		}
		if next.ResourceVersion, err = nextVersion(ctx, tx); err != nil {
			return err
		}
		labels := []byte("{}")
		if len(next.Labels) > 0 {
			if labels, err = json.Marshal(next.Labels); err != nil {
				return err
			}
		}
		if cur == nil {
			err = tx.QueryRowContext(ctx, `INSERT INTO resources (kind, name, generation, resource_version, spec_hash, object, status, labels, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?) RETURNING id`,
				next.Kind, next.Name, next.Generation, next.ResourceVersion, next.SpecHash, next.Object, string(labels),
				next.CreatedAt.UnixMicro(), next.UpdatedAt.UnixMicro()).Scan(&id)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE resources SET generation = ?, resource_version = ?, spec_hash = ?, object = ?, labels = ?, updated_at = ? WHERE id = ?`,
				next.Generation, next.ResourceVersion, next.SpecHash, next.Object, string(labels), next.UpdatedAt.UnixMicro(), id)
			if err == nil {
				_, err = tx.ExecContext(ctx, `DELETE FROM resource_labels WHERE resource_id = ?`, id)
			}
		}
		if err != nil {
			return err
		}
		for k, v := range next.Labels {
			if _, err := tx.ExecContext(ctx, `INSERT INTO resource_labels (resource_id, key, value) VALUES (?, ?, ?)`, id, k, v); err != nil {
				return err
			}
		}
		out, changed = next, true
		return nil
	})
	if err != nil {
		return resourcestore.Record{}, false, s.fail(ctx, "apply", rec.Kind, rec.Name, err)
	}
	return out, changed, nil
}

// Get implements resourcestore.Store.
func (s *Store) Get(ctx context.Context, kind, name string) (resourcestore.Record, error) {
	if err := change.CheckRef(kind, name); err != nil {
		return resourcestore.Record{}, err
	}
	_, r, err := get(ctx, s.db, kind, name)
	if err != nil {
		return resourcestore.Record{}, s.fail(ctx, "get", kind, name, err)
	}
	if r == nil {
		return resourcestore.Record{}, resourcestore.NotFound(kind, name)
	}
	return *r, nil
}

// List implements resourcestore.Store.
func (s *Store) List(ctx context.Context, kind string, labels map[string]string) ([]resourcestore.Record, error) {
	var q strings.Builder
	q.WriteString(`SELECT ` + columns + ` FROM resources r WHERE (?1 = '' OR kind = ?1)`)
	args := []any{kind}
	for k, v := range labels {
		args = append(args, k, v)
		fmt.Fprintf(&q, ` AND EXISTS (SELECT 1 FROM resource_labels l WHERE l.resource_id = r.id AND l.key = ?%d AND l.value = ?%d)`, len(args)-1, len(args))
	}
	q.WriteString(` ORDER BY kind, name`)
	rows, err := s.db.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, s.listErr(ctx, kind, err)
	}
	defer rows.Close()
	var out []resourcestore.Record
	for rows.Next() {
		_, r, err := scanRecord(rows)
		if err != nil {
			return nil, s.listErr(ctx, kind, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.listErr(ctx, kind, err)
	}
	return out, nil
}

func (s *Store) listErr(ctx context.Context, kind string, err error) error {
	what := "all kinds"
	if kind != "" {
		what = "kind " + kind
	}
	return fmt.Errorf("list %s in %s: %w", what, s.path, ctxErr(ctx, err))
}

// UpdateStatus implements resourcestore.Store.
func (s *Store) UpdateStatus(ctx context.Context, kind, name string, status []byte, expectVersion int64) (resourcestore.Record, error) {
	if err := change.CheckRef(kind, name); err != nil {
		return resourcestore.Record{}, err
	}
	var out resourcestore.Record
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		id, cur, err := get(ctx, tx, kind, name)
		if err != nil {
			return err
		}
		next, ch, err := change.Status(cur, kind, name, status, expectVersion, change.Now())
		if err != nil || !ch {
			out = next
			return err
		}
		if next.ResourceVersion, err = nextVersion(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE resources SET status = ?, resource_version = ?, updated_at = ? WHERE id = ?`,
			next.Status, next.ResourceVersion, next.UpdatedAt.UnixMicro(), id); err != nil {
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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		id, cur, err := get(ctx, tx, kind, name)
		if err != nil {
			return err
		}
		if err := change.Delete(cur, kind, name, expectVersion); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM resources WHERE id = ?`, id)
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
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO events (kind, name, time, type, reason, message, generation) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			ev.Kind, ev.Name, ev.Time.UnixMicro(), ev.Type, ev.Reason, ev.Message, ev.Generation); err != nil {
			return err
		}
		// Drop everything older than the newest EventsPerResource.
		_, err := tx.ExecContext(ctx, `DELETE FROM events WHERE kind = ?1 AND name = ?2 AND id <= (
			SELECT id FROM events WHERE kind = ?1 AND name = ?2 ORDER BY id DESC LIMIT 1 OFFSET ?3)`,
			ev.Kind, ev.Name, s.opts.EventsPerResource)
		return err
	})
	return s.fail(ctx, "add event to", ev.Kind, ev.Name, err)
}

// Events implements resourcestore.Store.
func (s *Store) Events(ctx context.Context, kind, name string, limit int) ([]resourcestore.Event, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.db.QueryContext(ctx, `SELECT kind, name, time, type, reason, message, generation FROM events
		WHERE (?1 = '' OR kind = ?1) AND (?2 = '' OR name = ?2) ORDER BY id DESC LIMIT ?3`, kind, name, limit)
	if err != nil {
		return nil, s.eventsErr(ctx, kind, name, err)
	}
	defer rows.Close()
	var out []resourcestore.Event
	for rows.Next() {
		var ev resourcestore.Event
		var t int64
		if err := rows.Scan(&ev.Kind, &ev.Name, &t, &ev.Type, &ev.Reason, &ev.Message, &ev.Generation); err != nil {
			return nil, s.eventsErr(ctx, kind, name, err)
		}
		ev.Time = time.UnixMicro(t).UTC()
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, s.eventsErr(ctx, kind, name, err)
	}
	return out, nil
}

func (s *Store) eventsErr(ctx context.Context, kind, name string, err error) error {
	what := "all resources"
	switch {
	case kind != "" && name != "":
		what = resourcestore.Ref(kind, name)
	case kind != "":
		what = "kind " + kind
	}
	return fmt.Errorf("list events of %s in %s: %w", what, s.path, ctxErr(ctx, err))
}
