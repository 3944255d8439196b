package sealing

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/ipos-dev/ipos/internal/store"
)

// KeySize is the size in bytes of the master key held in a key file.
const KeySize = 32

// maxKeyFile bounds how much of a key file is read; a real one is 45 bytes.
const maxKeyFile = 1024

// Subkey labels; see doc.go. Changing them changes every sealed value.
const (
	labelSeal        = "ipos/sealing/v1/secretbox"
	labelFingerprint = "ipos/sealing/v1/fingerprint"
)

// Key is a workspace sealing key. Its zero value is not usable; get one from
// LoadOrCreateKey. A Key is safe for concurrent use.
//
// The key material is reachable only through a closure. fmt cannot call
// Format on a Key held in an unexported field of another struct, and would
// print an array, slice or pointed-to struct found there (a bad verb such as
// %s even dereferences pointers); a func it prints only as an address.
type Key struct {
	keys func() *subkeys
}

type subkeys struct {
	seal [KeySize]byte // secretbox key
	mac  [KeySize]byte // Fingerprint HMAC key
}

// newKey derives the subkeys from a master key.
func newKey(master []byte) *Key {
	var s subkeys
	derive(s.seal[:], master, labelSeal)
	derive(s.mac[:], master, labelFingerprint)
	return &Key{keys: func() *subkeys { return &s }}
}

func derive(dst, master []byte, label string) {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(label))
	copy(dst, m.Sum(nil))
}

const redacted = "sealing.Key(REDACTED)"

// String returns a fixed placeholder, never the key.
func (Key) String() string { return redacted }

// GoString returns a fixed placeholder, never the key.
func (Key) GoString() string { return redacted }

// Format prints a fixed placeholder for every verb and flag (%v, %+v, %#v,
// %s, %x, %q, ...), never the key.
func (Key) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// LoadOrCreateKey reads the key file at path, or creates it with a fresh
// random key if it does not exist. See the package documentation for the
// file format and the checks made on an existing file.
func LoadOrCreateKey(path string) (*Key, error) {
	if path == "" {
		return nil, errors.New("sealing: key file path is empty")
	}
	k, err := loadKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path)
	}
	return k, err
}

func loadKey(path string) (*Key, error) {
	// Stat before opening so a FIFO or device is refused instead of read.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("sealing: key file: %w", err)
	}
	if err := checkKeyFileInfo(path, fi); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sealing: key file: %w", err)
	}
	defer f.Close()
	// Check again on the open file, in case path was swapped in between.
	if fi, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("sealing: key file: %w", err)
	}
	if err := checkKeyFileInfo(path, fi); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("sealing: key file: %w", err)
	}
	if len(data) > maxKeyFile {
		return nil, wrongKeyFile(path, fmt.Sprintf("it is larger than %d bytes", maxKeyFile))
	}
	text := bytes.TrimSpace(data)
	master := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Strict().Decode(master, text)
	if err != nil {
		// The base64 error names only an offset, never the content.
		return nil, wrongKeyFile(path, fmt.Sprintf("it is not base64 text (%v)", err))
	}
	if n != KeySize {
		return nil, wrongKeyFile(path, fmt.Sprintf("it decodes to %d bytes", n))
	}
	k := newKey(master[:n])
	clear(master)
	return k, nil
}

func checkKeyFileInfo(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("sealing: key file %s is not a regular file (mode %v)", path, fi.Mode())
	}
	// Windows does not keep Unix permission bits; os reports 0666 or 0444.
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := fi.Mode().Perm(); perm&^0o600 != 0 {
		return fmt.Errorf("sealing: key file %s has permissions %#o, wider than 0600; "+
			"anyone it lets in can open every sealed secret: run `chmod 600 %s`", path, perm, path)
	}
	return nil
}

func wrongKeyFile(path, why string) error {
	return fmt.Errorf("sealing: key file %s is not a sealing key: %s, want %d random bytes as base64 text; "+
		"restore the original file (moving it aside creates a new key, and values sealed with the old one will not open)",
		path, why, KeySize)
}

// createKey writes a fresh key to path without ever replacing an existing
// file: the key goes to a temporary file in the same folder, is synced, and
// is hard-linked into place. If another process got there first, its key is
// loaded and returned instead, so both agree on one key. (A rename would
// silently replace the other key, and whatever it sealed would be lost.)
func createKey(path string) (*Key, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sealing: creating key file %s: %w", path, err)
	}
	master := make([]byte, KeySize)
	rand.Read(master) // never fails (crypto/rand, Go 1.24+)
	defer clear(master)
	text := base64.StdEncoding.EncodeToString(master) + "\n"

	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("sealing: creating key file %s: %w", path, err)
	}
	name := tmp.Name()
	defer os.Remove(name) // after the link, only the extra name goes
	err = tmp.Chmod(0o600)
	if err == nil || runtime.GOOS == "windows" {
		_, err = tmp.WriteString(text)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("sealing: creating key file %s: %w", path, err)
	}

	switch err := os.Link(name, path); {
	case errors.Is(err, fs.ErrExist):
		return loadKey(path) // lost a race: use the winner's key
	case err != nil:
		// No hard links on this file system: fall back to rename, which
		// is atomic but may replace a key created concurrently.
		if err := os.Rename(name, path); err != nil {
			return nil, fmt.Errorf("sealing: creating key file %s: %w", path, err)
		}
	}
	if err := store.SyncDir(dir); err != nil {
		return nil, fmt.Errorf("sealing: creating key file %s: syncing folder: %w", path, err)
	}
	return newKey(master), nil
}
