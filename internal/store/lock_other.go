//go:build !unix

package store

import (
	"context"
	"errors"
	"os"
)

// lockFile is not implemented here: refs need flock, which this platform
// lacks.
func lockFile(ctx context.Context, f *os.File) error {
	return &os.PathError{Op: "flock", Path: f.Name(), Err: errors.ErrUnsupported}
}

func unlockFile(f *os.File) {}
