package cli

import (
	"context"
	"crypto/sha256"
	"crypto/sha3"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ipos-dev/ipos/internal/fetch/fetchtest"
)

// The CLI is tested end to end by txtar scripts in testdata/script, run
// against the real command in a fresh folder each, as the go command's own
// tests are.

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ipos": func() {
			// As cmd/ipos does: SIGINT and SIGTERM cancel the context.
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := Main(ctx, os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
			stop()
			os.Exit(code)
		},
	})
}

func TestScripts(t *testing.T) {
	cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"flipbyte":   cmdFlipByte,
		"firstfile":  cmdFirstFile,
		"sha3file":   cmdSHA3File,
		"filemode":   cmdFileMode,
		"datasetdir": cmdDatasetDir,
		"sleep":      cmdSleep,
		"buildwasm":  cmdBuildWasm,
		"sha256env":  cmdSHA256Env,
	}
	// S3 and PostgreSQL servers for depots.txtar: s3server, s3put,
	// pgschema, pgexec, expandenv and the conditions [s3], [postgres].
	maps.Copy(cmds, fetchtest.ScriptCommands())
	t.Cleanup(func() {
		if wasmBuilds.dir != "" {
			os.RemoveAll(wasmBuilds.dir)
		}
	})
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("IPOS_WORKSPACE", "")
			return nil
		},
		Cmds: cmds,
		Condition: func(cond string) (bool, error) {
			if v, ok, err := fetchtest.ScriptCondition(cond); ok {
				return v, err
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// flipbyte FILE OFFSET flips the lowest bit of one byte of a file.
func cmdFlipByte(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: flipbyte FILE OFFSET")
	}
	path := ts.MkAbs(args[0])
	off, err := strconv.Atoi(args[1])
	ts.Check(err)
	data, err := os.ReadFile(path)
	ts.Check(err)
	if off < 0 {
		off += len(data)
	}
	if off < 0 || off >= len(data) {
		ts.Fatalf("offset %d outside %s (%d bytes)", off, path, len(data))
	}
	data[off] ^= 0x01
	ts.Check(os.Chmod(path, 0o644))
	ts.Check(os.WriteFile(path, data, 0o644))
}

// firstfile DIR VAR sets $VAR to the path of the first file in DIR.
func cmdFirstFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: firstfile DIR VAR")
	}
	matches, err := filepath.Glob(filepath.Join(ts.MkAbs(args[0]), "*"))
	ts.Check(err)
	var files []string
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && !st.IsDir() && filepath.Base(m)[0] != '.' {
			files = append(files, m)
		}
	}
	if len(files) == 0 {
		ts.Fatalf("no files in %s", args[0])
	}
	ts.Setenv(args[1], files[0])
}

// sha3file FILE checks that a file's name is the multibase SHA3-256
// multihash of its content.
func cmdSHA3File(ts *testscript.TestScript, neg bool, args []string) {
	for _, a := range args {
		data, err := os.ReadFile(ts.MkAbs(a))
		ts.Check(err)
		sum := sha3.Sum256(data)
		want := "f1620" + hex.EncodeToString(sum[:])
		if got := filepath.Base(a); (got == want) == neg {
			ts.Fatalf("%s: content hashes to %s", a, want)
		}
	}
}

// filemode FILE MODE checks a file's permission bits, e.g. 0600.
func cmdFileMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: filemode FILE MODE")
	}
	st, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if got := fmt.Sprintf("%04o", st.Mode().Perm()); (got == args[1]) == neg {
		ts.Fatalf("%s has mode %s", args[0], got)
	}
}

// datasetdir ALIAS VAR sets $VAR to the folder of the dataset with that
// alias in the workspace of the current folder.
func cmdDatasetDir(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: datasetdir ALIAS VAR")
	}
	dirs, err := filepath.Glob(ts.MkAbs(".ipos/datasets/f*"))
	ts.Check(err)
	for _, d := range dirs {
		alias, err := os.ReadFile(filepath.Join(d, "info", "alias"))
		if err == nil && string(alias) == args[0] {
			ts.Setenv(args[1], d)
			return
		}
	}
	ts.Fatalf("no dataset %s", args[0])
}

// sleep DURATION waits, for scripts with commands in the background.
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}

// buildwasm PACKAGE FILE builds a Go package (a path relative to this
// package's folder) for WASI preview 1 into FILE. Builds are shared by
// every script of the run.
func cmdBuildWasm(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: buildwasm PACKAGE FILE")
	}
	wasmBuilds.Lock()
	defer wasmBuilds.Unlock()
	if wasmBuilds.dir == "" {
		dir, err := os.MkdirTemp("", "ipos-wasm-")
		ts.Check(err)
		wasmBuilds.dir = dir
	}
	out := filepath.Join(wasmBuilds.dir, strings.NewReplacer("/", "_", ".", "_").Replace(args[0])+".wasm")
	if _, err := os.Stat(out); err != nil {
		cmd := exec.Command("go", "build", "-o", out, args[0])
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if msg, err := cmd.CombinedOutput(); err != nil {
			ts.Fatalf("building %s for wasip1: %v\n%s", args[0], err, msg)
		}
	}
	data, err := os.ReadFile(out)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), data, 0o644))
}

var wasmBuilds struct {
	sync.Mutex
	dir string
}

// sha256env VAR FILE sets VAR to the hex SHA-256 of FILE.
func cmdSHA256Env(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: sha256env VAR FILE")
	}
	data, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	sum := sha256.Sum256(data)
	ts.Setenv(args[0], hex.EncodeToString(sum[:]))
}
