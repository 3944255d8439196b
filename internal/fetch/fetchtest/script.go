package fetchtest

import (
	"context"
	"os"
	"regexp"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// ScriptCommands are testscript commands for scripts that read from S3
// and PostgreSQL depots:
//
//	s3server BUCKET...      start versitygw with these buckets; set
//	                        $S3_ENDPOINT, $S3_ACCESS_KEY, $S3_SECRET_KEY
//	s3put BUCKET KEY FILE   store a file as an object
//	pgschema                create a fresh schema; set $PGSCHEMA, $PGDSN
//	pgexec SQL              run SQL on $PGDSN, with ${VAR} replaced (in
//	                        single quotes, which keep the SQL one word)
//	expandenv FILE...       replace ${VAR} in files with the script's env
//
// Servers and schemas are removed when the script ends.
func ScriptCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"s3server":  cmdS3Server,
		"s3put":     cmdS3Put,
		"pgschema":  cmdPGSchema,
		"pgexec":    cmdPGExec,
		"expandenv": cmdExpandEnv,
	}
}

// ScriptCondition answers the conditions [s3] (versitygw is installed) and
// [postgres] (the test server answers). A missing server is an error under
// CI=true, so that a script cannot skip it there; other conditions are
// not this package's (ok false).
func ScriptCondition(cond string) (value, ok bool, err error) {
	var cerr error
	switch cond {
	case "s3":
		_, cerr = FindVersityGW()
	case "postgres":
		var conn interface{ Close(context.Context) error }
		if conn, cerr = ConnectPostgres(context.Background()); cerr == nil {
			conn.Close(context.Background())
		}
	default:
		return false, false, nil
	}
	if cerr != nil && os.Getenv("CI") == "true" {
		return false, true, cerr
	}
	return cerr == nil, true, nil
}

func cmdS3Server(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: s3server BUCKET...")
	}
	dir, err := os.MkdirTemp("", "ipos-s3-")
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := StartS3(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		ts.Fatalf("%v", err)
	}
	ts.Defer(func() {
		s.Close()
		os.RemoveAll(dir)
	})
	for _, b := range args {
		ts.Check(s.MakeBucket(ctx, b))
	}
	ts.Setenv("S3_ENDPOINT", s.Endpoint)
	ts.Setenv("S3_ACCESS_KEY", s.AccessKey)
	ts.Setenv("S3_SECRET_KEY", s.SecretKey)
}

func scriptS3(ts *testscript.TestScript) *S3Server {
	s := &S3Server{Endpoint: ts.Getenv("S3_ENDPOINT"), AccessKey: ts.Getenv("S3_ACCESS_KEY"), SecretKey: ts.Getenv("S3_SECRET_KEY")}
	if s.Endpoint == "" {
		ts.Fatalf("no S3 server: run s3server first")
	}
	return s
}

func cmdS3Put(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: s3put BUCKET KEY FILE")
	}
	data, err := os.ReadFile(ts.MkAbs(args[2]))
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ts.Check(scriptS3(ts).Put(ctx, args[0], args[1], data))
}

func cmdPGSchema(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: pgschema")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := ConnectPostgres(ctx)
	ts.Check(err)
	schema, drop, err := CreateSchema(ctx, conn)
	if err != nil {
		conn.Close(ctx)
		ts.Fatalf("%v", err)
	}
	ts.Defer(func() {
		if err := drop(); err != nil {
			ts.Logf("drop schema %s: %v", schema, err)
		}
		conn.Close(context.Background())
	})
	ts.Setenv("PGSCHEMA", schema)
	ts.Setenv("PGDSN", PostgresDSN())
}

func cmdPGExec(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: pgexec SQL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := ConnectPostgres(ctx)
	ts.Check(err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, expandEnv(ts, args[0]))
	if (err != nil) != neg {
		ts.Fatalf("pgexec: %v", err)
	}
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func cmdExpandEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: expandenv FILE...")
	}
	for _, a := range args {
		p := ts.MkAbs(a)
		data, err := os.ReadFile(p)
		ts.Check(err)
		ts.Check(os.WriteFile(p, []byte(expandEnv(ts, string(data))), 0o644))
	}
}

// expandEnv replaces ${VAR} with the script's $VAR.
func expandEnv(ts *testscript.TestScript, s string) string {
	return envRef.ReplaceAllStringFunc(s, func(m string) string {
		return ts.Getenv(m[2 : len(m)-1])
	})
}
