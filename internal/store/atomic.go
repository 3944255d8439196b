package store

import (
	"os"
	"path/filepath"
)

// WriteFileAtomic replaces path with data, so that a reader, or a crash
// at any moment, sees the old content or the new, never part of either:
// a temporary file in the same folder, fsync, rename, fsync of the folder.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, TempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	renamed = true
	return SyncDir(dir)
}

// WriteSynced writes data to the file at path, opened write-only with the
// extra flags given (os.O_APPEND|os.O_CREATE to add to a log,
// os.O_CREATE|os.O_EXCL for a new file), and fsyncs it before closing, so
// that what it wrote is durable when it returns nil.
func WriteSynced(path string, flag int, perm os.FileMode, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|flag, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
