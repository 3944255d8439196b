// Package storetest is the conformance suite for store.ObjectStore and
// store.Refs. Every implementation runs it in a few lines:
//
//	func TestLocalObjectStore(t *testing.T) {
//		storetest.TestObjectStore(t, func(t *testing.T) store.ObjectStore { ... })
//	}
//
// Each subtest gets a fresh, empty store from the constructor.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

// TestObjectStore checks that the stores made by newStore behave as
// store.ObjectStore promises. Corruption is checked when the store
// implements store.Corrupter.
func TestObjectStore(t *testing.T, newStore func(t *testing.T) store.ObjectStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.ObjectStore)
	}{
		{"RoundTrip", testRoundTrip},
		{"HashNaming", testHashNaming},
		{"IdempotentPut", testIdempotentPut},
		{"Isolation", testIsolation},
		{"Has", testHas},
		{"List", testList},
		{"Delete", testDelete},
		{"NotFound", testNotFound},
		{"InvalidHash", testInvalidHash},
		{"Corrupt", testCorrupt},
		{"PutFile", testPutFile},
		{"PutFileMissing", testPutFileMissing},
		{"Open", testOpen},
		{"ConcurrentPut", testConcurrentPut},
		{"Canceled", testObjectStoreCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

// randomBytes returns n bytes that depend only on seed.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x1905))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustPut(t *testing.T, s store.ObjectStore, data []byte) odf.Multihash {
	t.Helper()
	h, err := s.Put(t.Context(), data)
	if err != nil {
		t.Fatalf("Put(%d bytes): %v", len(data), err)
	}
	return h
}

func testRoundTrip(t *testing.T, s store.ObjectStore) {
	ctx := t.Context()
	for i, n := range []int{0, 1, 31, 1000, 64 << 10} {
		data := randomBytes(uint64(i), n)
		h := mustPut(t, s, data)
		got, err := s.Get(ctx, h)
		if err != nil {
			t.Fatalf("Get(%s) after Put(%d bytes): %v", h, n, err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("Get(%s) = %d bytes, want the %d bytes put", h, len(got), n)
		}
	}
}

func testHashNaming(t *testing.T, s store.ObjectStore) {
	data := []byte("hello, open data fabric\n")
	h := mustPut(t, s, data)
	if want := odf.SHA3(data); !h.Equal(want) {
		t.Errorf("Put returned %s, want SHA3-256 multihash %s", h, want)
	}
	if !strings.HasPrefix(h.String(), "f1620") {
		t.Errorf("hash %s does not print as a base16 SHA3-256 multihash (f1620…)", h)
	}
}

func testIdempotentPut(t *testing.T, s store.ObjectStore) {
	data := randomBytes(7, 4096)
	h1 := mustPut(t, s, data)
	h2 := mustPut(t, s, data)
	if !h1.Equal(h2) {
		t.Fatalf("second Put returned %s, first %s", h2, h1)
	}
	list, err := s.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !list[0].Equal(h1) {
		t.Errorf("List after putting one object twice = %v, want [%s]", list, h1)
	}
	got, err := s.Get(t.Context(), h1)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("Get after second Put: %d bytes, err %v", len(got), err)
	}
}

// testIsolation checks that callers cannot change stored objects through
// the slices they passed to Put or got from Get.
func testIsolation(t *testing.T, s store.ObjectStore) {
	ctx := t.Context()
	data := []byte("immutable")
	h := mustPut(t, s, data)
	data[0] = 'X'
	got, err := s.Get(ctx, h)
	if err != nil {
		t.Fatalf("Get after changing the slice given to Put: %v", err)
	}
	got[1] = 'Y'
	again, err := s.Get(ctx, h)
	if err != nil {
		t.Fatalf("Get after changing the slice returned by Get: %v", err)
	}
	if string(again) != "immutable" {
		t.Errorf("object changed through a caller's slice: %q", again)
	}
}

func testHas(t *testing.T, s store.ObjectStore) {
	ctx := t.Context()
	data := []byte("has")
	h := odf.SHA3(data)
	if ok, err := s.Has(ctx, h); err != nil || ok {
		t.Fatalf("Has before Put = %v, %v; want false, nil", ok, err)
	}
	mustPut(t, s, data)
	if ok, err := s.Has(ctx, h); err != nil || !ok {
		t.Fatalf("Has after Put = %v, %v; want true, nil", ok, err)
	}
}

func testList(t *testing.T, s store.ObjectStore) {
	ctx := t.Context()
	list, err := s.List(ctx)
	if err != nil {
		t.Fatalf("List of empty store: %v", err)
	}
	if len(list) != 0 {
		t.Fatalf("List of empty store = %v", list)
	}
	var want []string
	for i := range 20 {
		want = append(want, mustPut(t, s, randomBytes(uint64(100+i), 10+i)).String())
	}
	list, err = s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range list {
		got = append(got, h.String())
	}
	if !slices.IsSorted(got) {
		t.Errorf("List is not in ascending order: %v", got)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("List = %v\nwant %v", got, want)
	}
}

func testDelete(t *testing.T, s store.ObjectStore) {
	ctx := t.Context()
	keep := mustPut(t, s, []byte("keep"))
	gone := mustPut(t, s, []byte("gone"))
	if err := s.Delete(ctx, gone); err != nil {
		t.Fatalf("Delete(%s): %v", gone, err)
	}
	if ok, err := s.Has(ctx, gone); err != nil || ok {
		t.Errorf("Has after Delete = %v, %v; want false, nil", ok, err)
	}
	if _, err := s.Get(ctx, gone); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, gone); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Delete: err = %v, want ErrNotFound", err)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !list[0].Equal(keep) {
		t.Errorf("List after Delete = %v, want [%s]", list, keep)
	}
	// Deleted content can be stored again.
	if h := mustPut(t, s, []byte("gone")); !h.Equal(gone) {
		t.Errorf("Put after Delete returned %s, want %s", h, gone)
	}
	if _, err := s.Get(ctx, gone); err != nil {
		t.Errorf("Get after re-Put: %v", err)
	}
}

func testNotFound(t *testing.T, s store.ObjectStore) {
	ctx := t.Context()
	h := odf.SHA3([]byte("never stored"))
	_, err := s.Get(ctx, h)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of missing object: err = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), h.String()) {
		t.Errorf("error %q does not name the object %s", err, h)
	}
	if errors.Is(err, store.ErrCorrupt) {
		t.Errorf("missing object reported as corrupt: %v", err)
	}
	if _, err := store.Open(ctx, s, h); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Open of missing object: err = %v, want ErrNotFound", err)
	}
}

// testInvalidHash checks that hashes which cannot name an object are
// refused with an error, not a panic and not "not found".
func testInvalidHash(t *testing.T, s store.ObjectStore) {
	ctx := t.Context()
	bad := map[string]odf.Multihash{
		"nil":        nil,
		"truncated":  odf.SHA3([]byte("x"))[:10],
		"not sha3":   odf.NewMultihash(0x12, make([]byte, 32)), // sha2-256
		"short sha3": odf.NewMultihash(odf.CodeSHA3_256, make([]byte, 4)),
		"garbage":    odf.Multihash{0xff, 0xff, 0xff},
	}
	for name, h := range bad {
		if _, err := s.Get(ctx, h); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%s hash): err = %v, want an invalid-hash error", name, err)
		}
		if _, err := s.Has(ctx, h); err == nil {
			t.Errorf("Has(%s hash): no error", name)
		}
		if err := s.Delete(ctx, h); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("Delete(%s hash): err = %v, want an invalid-hash error", name, err)
		}
	}
}

func testCorrupt(t *testing.T, s store.ObjectStore) {
	c, ok := s.(store.Corrupter)
	if !ok {
		t.Skipf("%T does not implement store.Corrupter", s)
	}
	ctx := t.Context()
	for _, data := range [][]byte{[]byte("precious"), {}} {
		h := mustPut(t, s, data)
		if err := c.Corrupt(h); err != nil {
			t.Fatalf("Corrupt(%s): %v", h, err)
		}
		_, err := s.Get(ctx, h)
		if !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Get of corrupted object: err = %v, want ErrCorrupt", err)
		}
		if !strings.Contains(err.Error(), h.String()) {
			t.Errorf("error %q does not name the object %s", err, h)
		}
		if ok, err := s.Has(ctx, h); err != nil || !ok {
			t.Errorf("Has of corrupted object = %v, %v; want true, nil", ok, err)
		}
		r, err := store.Open(ctx, s, h)
		if err == nil {
			_, err = io.ReadAll(r)
			r.Close()
		}
		if !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("reading corrupted object through Open: err = %v, want ErrCorrupt", err)
		}
	}
	if err := c.Corrupt(odf.SHA3([]byte("absent"))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Corrupt of missing object: err = %v, want ErrNotFound", err)
	}
}

func testPutFile(t *testing.T, s store.ObjectStore) {
	ctx := t.Context()
	data := randomBytes(42, 5<<20+123)
	path := filepath.Join(t.TempDir(), "slice.parquet")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	h, n, err := s.PutFile(ctx, path)
	if err != nil {
		t.Fatalf("PutFile: %v", err)
	}
	if want := odf.SHA3(data); !h.Equal(want) {
		t.Errorf("PutFile hash = %s, want %s", h, want)
	}
	if n != int64(len(data)) {
		t.Errorf("PutFile size = %d, want %d", n, len(data))
	}
	got, err := s.Get(ctx, h)
	if err != nil {
		t.Fatalf("Get after PutFile: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("Get after PutFile returned %d different bytes", len(got))
	}
	// The source is left alone, and putting it again changes nothing.
	if _, err := os.Stat(path); err != nil {
		t.Errorf("source file after PutFile: %v", err)
	}
	h2, n2, err := s.PutFile(ctx, path)
	if err != nil || !h2.Equal(h) || n2 != n {
		t.Errorf("second PutFile = %s, %d, %v; want %s, %d, nil", h2, n2, err, h, n)
	}
	if list, err := s.List(ctx); err != nil || len(list) != 1 {
		t.Errorf("List after PutFile twice = %v, %v; want one object", list, err)
	}
}

func testPutFileMissing(t *testing.T, s store.ObjectStore) {
	path := filepath.Join(t.TempDir(), "missing.parquet")
	_, _, err := s.PutFile(t.Context(), path)
	if err == nil {
		t.Fatal("PutFile of a missing file: no error")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file %s", err, path)
	}
	if list, err := s.List(t.Context()); err != nil || len(list) != 0 {
		t.Errorf("List after failed PutFile = %v, %v; want empty", list, err)
	}
}

func testOpen(t *testing.T, s store.ObjectStore) {
	ctx := t.Context()
	data := randomBytes(9, 300<<10)
	h := mustPut(t, s, data)
	r, err := store.Open(ctx, s, h)
	if err != nil {
		t.Fatalf("Open(%s): %v", h, err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading %s: %v", h, err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("Open read %d different bytes", len(got))
	}
}

func testConcurrentPut(t *testing.T, s store.ObjectStore) {
	ctx := t.Context()
	const workers = 16
	same := randomBytes(1, 10000)
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for i := range workers {
		wg.Go(func() {
			h, err := s.Put(ctx, same)
			if err == nil && !h.Equal(odf.SHA3(same)) {
				err = fmt.Errorf("Put of shared content returned %s", h)
			}
			errs <- err
			_, err = s.Put(ctx, randomBytes(uint64(1000+i), 1000))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != workers+1 {
		t.Errorf("List after concurrent Puts has %d objects, want %d", len(list), workers+1)
	}
	if got, err := s.Get(ctx, odf.SHA3(same)); err != nil || !bytes.Equal(got, same) {
		t.Errorf("Get of concurrently put object: %d bytes, %v", len(got), err)
	}
}

func testObjectStoreCanceled(t *testing.T, s store.ObjectStore) {
	h := mustPut(t, s, []byte("present"))
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("file"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with canceled context: err = %v, want context.Canceled", op, err)
		}
	}
	_, err := s.Put(ctx, []byte("new"))
	check("Put", err)
	_, _, err = s.PutFile(ctx, path)
	check("PutFile", err)
	_, err = s.Get(ctx, h)
	check("Get", err)
	_, err = s.Has(ctx, h)
	check("Has", err)
	_, err = s.List(ctx)
	check("List", err)
	check("Delete", s.Delete(ctx, h))
	_, err = store.Open(ctx, s, h)
	check("Open", err)

	// Nothing changed.
	list, err := s.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !list[0].Equal(h) {
		t.Errorf("List after canceled calls = %v, want [%s]", list, h)
	}
}
