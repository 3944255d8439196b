//go:build unix

package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

// TestLocalRefsLockHonoursContext holds the head's lock as another
// process would and checks that a waiting CAS gives up when its context
// ends, then succeeds once the lock is free.
func TestLocalRefsLockHonoursContext(t *testing.T) {
	ds, dir := openDataset(t)
	f, err := os.OpenFile(filepath.Join(dir, "refs", ".head.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	h := odf.SHA3([]byte("block"))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err = ds.Refs.CompareAndSwap(ctx, store.Head, nil, h)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CAS while locked: err = %v, want context.DeadlineExceeded", err)
	}
	if _, err := ds.Refs.Get(t.Context(), store.Head); !errors.Is(err, store.ErrRefNotFound) {
		t.Errorf("head after timed-out CAS: err = %v, want ErrRefNotFound", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if err := ds.Refs.CompareAndSwap(t.Context(), store.Head, nil, h); err != nil {
		t.Fatalf("CAS after unlock: %v", err)
	}
}
