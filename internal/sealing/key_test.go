package sealing

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateKeyCreatesAndReuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "sealing.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %#o, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	master, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(master) != KeySize {
		t.Fatalf("key file holds %q: %d bytes, %v; want %d bytes of base64", data, len(master), err, KeySize)
	}
	if bytes.Equal(master, make([]byte, KeySize)) {
		t.Fatal("key is all zeros")
	}
	// Only the key file is left behind: no temporary files.
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("folder holds %d entries, want just the key file", len(ents))
	}

	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	s := k1.Seal([]byte("hunter2"))
	if got, err := k2.Open(s); err != nil || string(got) != "hunter2" {
		t.Fatalf("reloaded key cannot open a value sealed before: %q, %v", got, err)
	}
	if k1.Fingerprint([]byte("x")) != k2.Fingerprint([]byte("x")) {
		t.Error("reloaded key has a different fingerprint")
	}
	if k := newKey(master); k.Fingerprint([]byte("x")) != k1.Fingerprint([]byte("x")) {
		t.Error("key file content does not match the returned key")
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, data) {
		t.Error("loading rewrote the key file")
	}

	// A different workspace gets a different key.
	other, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "sealing.key"))
	if err != nil {
		t.Fatal(err)
	}
	if other.Fingerprint([]byte("x")) == k1.Fingerprint([]byte("x")) {
		t.Error("two new key files hold the same key")
	}
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sealing.key")
	const n = 16
	fps := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := LoadOrCreateKey(path)
			errs[i] = err
			if err == nil {
				fps[i] = k.Fingerprint([]byte("x"))
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if fps[i] != fps[0] {
			t.Fatalf("callers %d and 0 got different keys", i)
		}
	}
}

func TestLoadOrCreateKeyAcceptsNoNewlineAndReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sealing.key")
	master := bytes.Repeat([]byte{7}, KeySize)
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(master)), 0o400); err != nil {
		t.Fatal(err)
	}
	k, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if k.Fingerprint([]byte("x")) != testKey(7).Fingerprint([]byte("x")) {
		t.Error("loaded the wrong key")
	}
}

func TestLoadOrCreateKeyRefuses(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, KeySize)) + "\n"
	cases := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string // in the error, besides the path
		unix    bool   // permission checks only where the OS keeps them
	}{
		{"mode 0644", good, 0o644, "chmod 600", true},
		{"mode 0640", good, 0o640, "wider than 0600", true},
		{"mode 0604", good, 0o604, "wider than 0600", true},
		{"mode 0700", good, 0o700, "wider than 0600", true},
		{"16 bytes", base64.StdEncoding.EncodeToString(make([]byte, 16)), 0o600, "decodes to 16 bytes", false},
		{"33 bytes", base64.StdEncoding.EncodeToString(make([]byte, 33)), 0o600, "decodes to 33 bytes", false},
		{"empty", "", 0o600, "decodes to 0 bytes", false},
		{"raw bytes", string(bytes.Repeat([]byte{0xfe}, KeySize)), 0o600, "not base64", false},
		{"hex", hex.EncodeToString(make([]byte, KeySize)), 0o600, "decodes to 48 bytes", false},
		{"huge", strings.Repeat("A", 4096), 0o600, "larger than", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.unix && runtime.GOOS == "windows" {
				t.Skip("no Unix permissions on Windows")
			}
			path := filepath.Join(t.TempDir(), "sealing.key")
			if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, c.mode); err != nil { // not subject to umask
				t.Fatal(err)
			}
			k, err := LoadOrCreateKey(path)
			if err == nil || k != nil {
				t.Fatalf("LoadOrCreateKey accepted a key file with %s", c.name)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, c.want) {
				t.Errorf("error = %q, want it to name %s and say %q", msg, path, c.want)
			}
			if c.content != "" && strings.Contains(err.Error(), strings.TrimSpace(c.content)[:8]) {
				t.Errorf("error quotes the key file: %v", err)
			}
			after, _ := os.ReadFile(path)
			if string(after) != c.content {
				t.Error("refused key file was modified")
			}
		})
	}
}

func TestLoadOrCreateKeyRefusesFolder(t *testing.T) {
	path := t.TempDir()
	if _, err := LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("LoadOrCreateKey(folder) = %v, want a not-a-regular-file error", err)
	}
	if _, err := LoadOrCreateKey(""); err == nil {
		t.Fatal("LoadOrCreateKey(\"\") succeeded")
	}
}

// TestKeyNeverPrints checks every way fmt can reach a Key, including through
// structs and unexported fields where fmt cannot call Format.
func TestKeyNeverPrints(t *testing.T) {
	master := make([]byte, KeySize)
	for i := range master {
		master[i] = byte(0x41 + i) // printable, so a leak as %s shows too
	}
	k := newKey(master)
	var secrets [][]byte
	for _, b := range [][]byte{master, k.keys().seal[:], k.keys().mac[:]} {
		secrets = append(secrets, b,
			[]byte(hex.EncodeToString(b)),
			[]byte(strings.ToUpper(hex.EncodeToString(b))),
			[]byte(base64.StdEncoding.EncodeToString(b)),
			[]byte(base64.RawURLEncoding.EncodeToString(b)),
			[]byte(fmt.Sprint(b)), // [65 66 ...]
			[]byte(fmt.Sprintf("%#v", b)),
		)
	}
	type exported struct{ K *Key }
	type hidden struct {
		k  *Key
		kv Key
	}
	values := []any{k, *k, exported{k}, hidden{k, *k}, &hidden{k, *k}, []*Key{k}, map[string]Key{"k": *k}}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%d", "%T %v"}
	for _, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				// Short decimal runs can match by chance; the whole run cannot.
				if bytes.Contains([]byte(out), s) {
					t.Fatalf("fmt.Sprintf(%q, %T) = %q leaks key material", verb, v, out)
				}
			}
			// The 4-byte runs of hex of the master catch partial leaks.
			for i := 0; i+4 <= KeySize; i += 4 {
				if strings.Contains(strings.ToLower(out), hex.EncodeToString(master[i:i+4])) {
					t.Fatalf("fmt.Sprintf(%q, %T) = %q leaks key bytes", verb, v, out)
				}
			}
		}
	}
	if got := fmt.Sprintf("%v|%+v|%#v", k, *k, k); got != "sealing.Key(REDACTED)|sealing.Key(REDACTED)|sealing.Key(REDACTED)" {
		t.Errorf("Key prints as %q", got)
	}
	if k.String() != "sealing.Key(REDACTED)" || k.GoString() != "sealing.Key(REDACTED)" {
		t.Errorf("String/GoString = %q/%q", k.String(), k.GoString())
	}
}
