package store

import (
	"context"
	"fmt"
	"os"
)

// LockFile takes an exclusive advisory lock on the file at path, creating
// it if needed, and waits until the lock is free or ctx is done. The lock
// holds across goroutines and processes; the returned func releases it.
func LockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := lockFile(ctx, f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		unlockFile(f)
		f.Close()
	}, nil
}
