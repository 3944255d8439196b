package cli

import (
	"context"
	"crypto/sha3"
	"encoding/hex"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
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
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("IPOS_WORKSPACE", "")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"flipbyte":   cmdFlipByte,
			"firstfile":  cmdFirstFile,
			"sha3file":   cmdSHA3File,
			"filemode":   cmdFileMode,
			"datasetdir": cmdDatasetDir,
			"sleep":      cmdSleep,
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
