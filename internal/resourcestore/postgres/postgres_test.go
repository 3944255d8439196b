package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ipos-dev/ipos/internal/resourcestore"
	"github.com/ipos-dev/ipos/internal/resourcestore/storetest"
)

const defaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var (
	poolOnce sync.Once
	pool     *pgxpool.Pool
	poolErr  error
)

// testPool connects to the test server once per test binary. If it cannot,
// the test fails under CI=true and is skipped otherwise.
func testPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	dsn := os.Getenv("IPOS_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = defaultDSN
	}
	poolOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pool, poolErr = pgxpool.New(ctx, dsn)
		if poolErr == nil {
			if poolErr = pool.Ping(ctx); poolErr != nil {
				pool.Close()
			}
		}
	})
	if poolErr != nil {
		msg := fmt.Sprintf("PostgreSQL at %s is not reachable: %v", dsn, poolErr)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s\nCI must provide PostgreSQL for these tests (or set IPOS_TEST_POSTGRES_DSN)", msg)
		}
		t.Skipf("%s\nStart it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or set IPOS_TEST_POSTGRES_DSN", msg)
	}
	return pool
}

// testSchema returns a fresh schema name, dropped when the test ends.
func testSchema(t *testing.T, p *pgxpool.Pool) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	schema := "ipos_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := p.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	return schema
}

func openTest(t *testing.T, opts Options) *Store {
	t.Helper()
	p := testPool(t)
	if opts.Schema == "" {
		opts.Schema = testSchema(t, p)
	}
	s, err := New(t.Context(), p, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	testPool(t) // skip or fail once, not in every subtest
	storetest.Run(t, func(t *testing.T) resourcestore.Store { return openTest(t, Options{}) })
}

func TestMigrations(t *testing.T) {
	if len(migrations) != SchemaVersion {
		t.Fatalf("SchemaVersion = %d, but there are %d migrations", SchemaVersion, len(migrations))
	}
}

func TestReopenAndRefuseNewerSchema(t *testing.T) {
	p := testPool(t)
	schema := testSchema(t, p)
	ctx := t.Context()
	s := openTest(t, Options{Schema: schema})
	if _, _, err := s.Apply(ctx, resourcestore.Record{Kind: "Dataset", Name: "a", SpecHash: "h"}, 0); err != nil {
		t.Fatal(err)
	}
	// Opening again (another node) keeps the data.
	s2 := openTest(t, Options{Schema: schema})
	if _, err := s2.Get(ctx, "Dataset", "a"); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
	if _, err := p.Exec(ctx, `UPDATE `+pgx.Identifier{schema}.Sanitize()+`.schema_version SET version = $1`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	_, err := New(ctx, p, Options{Schema: schema})
	if !errors.Is(err, resourcestore.ErrSchemaTooNew) {
		t.Fatalf("New on a newer schema: err = %v, want ErrSchemaTooNew", err)
	}
	for _, want := range []string{schema, fmt.Sprint("version ", SchemaVersion+1), "upgrade ipos"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestConcurrentOpen(t *testing.T) {
	p := testPool(t)
	schema := testSchema(t, p)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := New(t.Context(), p, Options{Schema: schema}); err != nil {
				t.Errorf("New: %v", err)
			}
		})
	}
	wg.Wait()
}

func TestEventsPerResource(t *testing.T) {
	s := openTest(t, Options{EventsPerResource: 3})
	ctx := t.Context()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if err := s.AddEvent(ctx, resourcestore.Event{Kind: "K", Name: "n", Reason: fmt.Sprint(i)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := s.AddEvent(ctx, resourcestore.Event{Kind: "K", Name: "n", Reason: "last"}); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, "K", "n", 0)
	if err != nil || len(evs) != 3 || evs[0].Reason != "last" {
		t.Fatalf("Events = %+v, %v; want 3, newest \"last\"", evs, err)
	}
}

func TestOpenDSN(t *testing.T) {
	p := testPool(t)
	schema := testSchema(t, p)
	s, err := Open(t.Context(), p.Config().ConnString(), Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Apply(t.Context(), resourcestore.Record{Kind: "K", Name: "n"}, 0); err != nil {
		t.Error(err)
	}
	s.Close()
	if _, err := s.Get(t.Context(), "K", "n"); err == nil {
		t.Error("Get after Close succeeded")
	}
}
