package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
	"github.com/ipos-dev/ipos/internal/store/storetest"
)

func TestLocalObjectStore(t *testing.T) {
	storetest.TestObjectStore(t, func(t *testing.T) store.ObjectStore {
		s, err := store.NewLocal(filepath.Join(t.TempDir(), "objects"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestLocalRefs(t *testing.T) {
	storetest.TestRefs(t, func(t *testing.T) store.Refs {
		r, err := store.NewLocalRefs(filepath.Join(t.TempDir(), "refs"))
		if err != nil {
			t.Fatal(err)
		}
		return r
	})
}

func openDataset(t *testing.T) (*store.Dataset, string) {
	t.Helper()
	dir := t.TempDir()
	ds, err := store.OpenDataset(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ds, dir
}

// tempFiles returns the temporary files under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), store.TempPrefix) {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestOpenDatasetLayout(t *testing.T) {
	ctx := t.Context()
	ds, dir := openDataset(t)
	for _, sub := range []string{"blocks", "data", "checkpoints", "refs"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
			t.Errorf("%s: not a directory (%v)", sub, err)
		}
	}
	block, err := ds.Blocks.Put(ctx, []byte("block"))
	if err != nil {
		t.Fatal(err)
	}
	slice, err := ds.Data.Put(ctx, []byte("parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Refs.CompareAndSwap(ctx, store.Head, nil, block); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		filepath.Join(dir, "blocks", block.String()),
		filepath.Join(dir, "data", slice.String()),
	} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("object file: %v", err)
			continue
		}
		if fi.Mode().Perm() != 0o444 {
			t.Errorf("%s: mode %v, want read-only -r--r--r--", p, fi.Mode())
		}
	}
	head, err := os.ReadFile(filepath.Join(dir, "refs", "head"))
	if err != nil {
		t.Fatal(err)
	}
	if string(head) != block.String() {
		t.Errorf("refs/head = %q, want %q with no newline, as kamu writes it", head, block.String())
	}
	if p, err := ds.Data.(*store.Local).Path(slice); err != nil || p != filepath.Join(dir, "data", slice.String()) {
		t.Errorf("Path(%s) = %q, %v", slice, p, err)
	}
}

func TestOpenDatasetMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no-such-dataset")
	_, err := store.OpenDataset(dir)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenDataset of missing dir: err = %v, want fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name %s", err, dir)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenDataset created %s", dir)
	}
}

func TestLocalNoTempFilesLeft(t *testing.T) {
	ctx := t.Context()
	ds, dir := openDataset(t)
	src := filepath.Join(t.TempDir(), "slice.parquet")
	if err := os.WriteFile(src, bytes.Repeat([]byte("x"), 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	var prev odf.Multihash
	for i := range 5 {
		h, err := ds.Blocks.Put(ctx, fmt.Appendf(nil, "block %d", i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ds.Blocks.Put(ctx, fmt.Appendf(nil, "block %d", i)); err != nil {
			t.Fatal(err)
		}
		if err := ds.Refs.CompareAndSwap(ctx, store.Head, prev, h); err != nil {
			t.Fatal(err)
		}
		prev = h
	}
	for range 2 {
		if _, _, err := ds.Data.PutFile(ctx, src); err != nil {
			t.Fatal(err)
		}
	}
	if err := ds.Blocks.Delete(ctx, prev); err != nil {
		t.Fatal(err)
	}
	if left := tempFiles(t, dir); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// TestLocalCrashedWrite simulates a crash between writing a temporary file
// and renaming it: the half-written object must be invisible.
func TestLocalCrashedWrite(t *testing.T) {
	ctx := t.Context()
	ds, dir := openDataset(t)
	content := []byte("a block that was being written when the power went")
	h := odf.SHA3(content)
	tmp := filepath.Join(dir, "blocks", store.TempPrefix+"123456")
	if err := os.WriteFile(tmp, content[:10], 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := ds.Blocks.Has(ctx, h); err != nil || ok {
		t.Errorf("Has = %v, %v; want false, nil", ok, err)
	}
	if _, err := ds.Blocks.Get(ctx, h); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get: err = %v, want ErrNotFound", err)
	}
	if list, err := ds.Blocks.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List = %v, %v; want empty", list, err)
	}
	// A ref write that crashed leaves a temporary file too.
	if err := os.WriteFile(filepath.Join(dir, "refs", store.TempPrefix+"head-1"), []byte("f16"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Refs.Get(ctx, store.Head); !errors.Is(err, store.ErrRefNotFound) {
		t.Errorf("head: err = %v, want ErrRefNotFound", err)
	}
	// Writing the object again works, and the leftover is not in the way.
	if got, err := ds.Blocks.Put(ctx, content); err != nil || !got.Equal(h) {
		t.Fatalf("Put after crash = %s, %v", got, err)
	}
	if data, err := ds.Blocks.Get(ctx, h); err != nil || !bytes.Equal(data, content) {
		t.Errorf("Get after re-Put: %q, %v", data, err)
	}
	if err := ds.Refs.CompareAndSwap(ctx, store.Head, nil, h); err != nil {
		t.Errorf("CAS after crashed ref write: %v", err)
	}
}

func TestLocalDamagedFileNamed(t *testing.T) {
	ctx := t.Context()
	ds, dir := openDataset(t)
	h, err := ds.Blocks.Put(ctx, []byte("a block"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "blocks", h.String())
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("a bloc"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ds.Blocks.Get(ctx, h)
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Get of truncated object: err = %v, want ErrCorrupt", err)
	}
	if msg := err.Error(); !strings.Contains(msg, h.String()) || !strings.Contains(msg, p) {
		t.Errorf("error %q does not name the object and its file %s", msg, p)
	}
}

func TestLocalStrayFile(t *testing.T) {
	ds, dir := openDataset(t)
	p := filepath.Join(dir, "blocks", "README")
	if err := os.WriteFile(p, []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ds.Blocks.List(t.Context())
	if err == nil || !strings.Contains(err.Error(), "README") {
		t.Errorf("List with a stray file: err = %v, want an error naming README", err)
	}
}

func TestLocalHeadFromKamu(t *testing.T) {
	ds, dir := openDataset(t)
	h := odf.SHA3([]byte("kamu block"))
	// Written by hand or another tool: tolerate a trailing newline.
	if err := os.WriteFile(filepath.Join(dir, "refs", "head"), []byte(h.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ds.Refs.Get(t.Context(), store.Head)
	if err != nil || !got.Equal(h) {
		t.Fatalf("Get = %s, %v; want %s", got, err, h)
	}
	if err := ds.Refs.CompareAndSwap(t.Context(), store.Head, h, odf.SHA3([]byte("next"))); err != nil {
		t.Fatalf("CAS from a newline-terminated head: %v", err)
	}
}

func TestLocalHeadMalformed(t *testing.T) {
	for name, content := range map[string]string{
		"empty":     "",
		"text":      "not a hash",
		"truncated": odf.SHA3([]byte("x")).String()[:20],
		"sha2":      odf.NewMultihash(0x12, make([]byte, 32)).String(),
		"huge":      strings.Repeat("f", 10000),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			ds, dir := openDataset(t)
			p := filepath.Join(dir, "refs", "head")
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ds.Refs.Get(ctx, store.Head)
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("Get: err = %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name %s", err, p)
			}
			err = ds.Refs.CompareAndSwap(ctx, store.Head, nil, odf.SHA3([]byte("x")))
			if !errors.Is(err, store.ErrCorrupt) {
				t.Errorf("CAS over malformed head: err = %v, want ErrCorrupt", err)
			}
			if got, _ := os.ReadFile(p); string(got) != content {
				t.Errorf("refused CAS changed the head file to %q", got)
			}
		})
	}
}

// TestLocalRefsSeparateValues moves one head through several LocalRefs
// values on the same directory, as separate commands would: only the
// file lock keeps them apart.
func TestLocalRefsSeparateValues(t *testing.T) {
	dir := t.TempDir()
	blocks, err := store.NewLocal(filepath.Join(dir, "blocks"))
	if err != nil {
		t.Fatal(err)
	}
	workers := []string{"a", "b", "c", "d"}
	var dss []*store.Dataset
	for range workers {
		refs, err := store.NewLocalRefs(filepath.Join(dir, "refs"))
		if err != nil {
			t.Fatal(err)
		}
		dss = append(dss, &store.Dataset{Blocks: blocks, Refs: refs})
	}
	errs := make(chan error, len(workers))
	for i, w := range workers {
		go func() {
			_, err := hammer(t.Context(), dss[i], w, 50)
			errs <- err
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	checkChain(t, dss[0], workers, 50)
}

// Environment of the cross-process hammer's child processes.
const (
	envHammerDir    = "IPOS_STORE_HAMMER_DIR"
	envHammerWorker = "IPOS_STORE_HAMMER_WORKER"
	envHammerN      = "IPOS_STORE_HAMMER_N"
)

// TestCrossProcessHelper is the child side of TestLocalRefsCrossProcess;
// run normally, it does nothing.
func TestCrossProcessHelper(t *testing.T) {
	dir := os.Getenv(envHammerDir)
	if dir == "" {
		return
	}
	n, err := strconv.Atoi(os.Getenv(envHammerN))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := store.OpenDataset(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Start together: wait for the parent's signal.
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no start signal from the parent")
		}
		time.Sleep(time.Millisecond)
	}
	conflicts, err := hammer(t.Context(), ds, os.Getenv(envHammerWorker), n)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("conflicts: %d\n", conflicts)
}

// TestLocalRefsCrossProcess moves one head from two OS processes (and
// this one) at once; no successful swap may be lost.
func TestLocalRefsCrossProcess(t *testing.T) {
	const n = 100
	_, dir := openDataset(t)
	children := []string{"child1", "child2"}
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for _, w := range children {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrossProcessHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(),
			envHammerDir+"="+dir,
			envHammerWorker+"="+w,
			envHammerN+"="+strconv.Itoa(n),
		)
		out := new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		outs = append(outs, out)
	}
	// Start the children's work, and join in from this process.
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := store.OpenDataset(dir)
	if err != nil {
		t.Fatal(err)
	}
	conflicts, herr := hammer(t.Context(), ds, "parent", n)
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%s: %v\n%s", children[i], err, outs[i])
		}
		t.Logf("%s: %s", children[i], bytes.TrimSpace(outs[i].Bytes()))
	}
	if herr != nil {
		t.Fatalf("parent: %v", herr)
	}
	t.Logf("parent conflicts: %d", conflicts)
	checkChain(t, ds, append(children, "parent"), n)
	if left := tempFiles(t, dir); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
