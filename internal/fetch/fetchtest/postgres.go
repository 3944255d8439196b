package fetchtest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresDSNEnv names the environment variable that gives the test
// server's DSN.
const PostgresDSNEnv = "IPOS_TEST_POSTGRES_DSN"

// DefaultPostgresDSN is the server this machine kind runs (trust auth).
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresDSN is the test server's DSN.
func PostgresDSN() string {
	if dsn := os.Getenv(PostgresDSNEnv); dsn != "" {
		return dsn
	}
	return DefaultPostgresDSN
}

// ConnectPostgres connects to the test server, or says how to provide one.
func ConnectPostgres(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, PostgresDSN())
	if err == nil {
		if err = conn.Ping(ctx); err != nil {
			conn.Close(context.Background())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL at %s is not reachable: %v (start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or set $%s)", PostgresDSN(), err, PostgresDSNEnv)
	}
	return conn, nil
}

// CreateSchema creates a schema with a fresh name and returns the name
// and a function that drops it with everything in it.
func CreateSchema(ctx context.Context, conn *pgx.Conn) (string, func() error, error) {
	schema := "ipos_test_" + randHex(6)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", nil, err
	}
	drop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		return err
	}
	return schema, drop, nil
}

// NewPostgres connects to the test server and creates a schema for the
// test, both gone when it ends. Without a server it fails under CI=true
// and skips otherwise.
func NewPostgres(t testing.TB) (conn *pgx.Conn, schema string) {
	t.Helper()
	conn, err := ConnectPostgres(t.Context())
	if err != nil {
		missing(t, err)
	}
	schema, drop, err := CreateSchema(t.Context(), conn)
	if err != nil {
		conn.Close(context.Background())
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		conn.Close(context.Background())
	})
	return conn, schema
}
