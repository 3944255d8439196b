package sealing

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"
)

// testKey returns a key whose master bytes all equal b.
func testKey(b byte) *Key {
	return newKey(bytes.Repeat([]byte{b}, KeySize))
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := testKey(1)
	for _, p := range [][]byte{
		nil,
		{},
		[]byte("hunter2"),
		[]byte("postgres://user:p@ss@db:5432/x?sslmode=require"),
		{0, 0xff, '\n', 0},
		bytes.Repeat([]byte("x"), 1<<16),
	} {
		s := k.Seal(p)
		if !strings.HasPrefix(s, "sealed:v1:") || !IsSealed(s) {
			t.Fatalf("Seal(%d bytes) = %.20q..., want sealed:v1: prefix", len(p), s)
		}
		if strings.ContainsAny(s[len(prefix):], "+/=") {
			t.Errorf("payload is not unpadded base64url: %.40q", s)
		}
		if len(p) > 3 && strings.Contains(s, string(p)) {
			t.Errorf("sealed value contains the plaintext")
		}
		got, err := k.Open(s)
		if err != nil {
			t.Fatalf("Open(Seal(%d bytes)): %v", len(p), err)
		}
		if got == nil || !bytes.Equal(got, p) {
			t.Fatalf("Open(Seal(p)) = %q, want %q", trunc(got), trunc(p))
		}
	}
}

func trunc(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}

func TestSealFreshNonce(t *testing.T) {
	k := testKey(1)
	seen := map[string]bool{}
	for range 100 {
		s := k.Seal([]byte("same"))
		if seen[s] {
			t.Fatalf("Seal gave the same string twice: %s", s)
		}
		seen[s] = true
	}
}

// TestGolden pins the byte format: a fixed master key and nonce must give
// these strings, and the strings must open with plain secretbox under the
// documented subkey derivation.
func TestGolden(t *testing.T) {
	master := make([]byte, KeySize)
	for i := range master {
		master[i] = byte(i)
	}
	var nonce [nonceSize]byte
	for i := range nonce {
		nonce[i] = byte(0xa0 + i)
	}
	k := newKey(master)
	cases := []struct{ plain, sealed string }{
		{"hunter2", "sealed:v1:oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3a1tEyiQseX4_uliKp8oGjSwumj8-ubY"},
		{"", "sealed:v1:oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3aD7C8CWBAzL1Gjbf2Dk7Vw"},
	}
	for _, c := range cases {
		if got := k.sealWithNonce(&nonce, []byte(c.plain)); got != c.sealed {
			t.Errorf("seal(%q) = %s, want %s", c.plain, got, c.sealed)
		}
		// Independent decoding, following doc.go only.
		m := hmac.New(sha256.New, master)
		m.Write([]byte("ipos/sealing/v1/secretbox"))
		var sub [32]byte
		copy(sub[:], m.Sum(nil))
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(c.sealed, "sealed:v1:"))
		if err != nil {
			t.Fatal(err)
		}
		var n [24]byte
		copy(n[:], raw)
		plain, ok := secretbox.Open(nil, raw[24:], &n, &sub)
		if !ok || string(plain) != c.plain {
			t.Errorf("secretbox.Open(%s) = %q, %v; want %q", c.sealed, plain, ok, c.plain)
		}
	}

	m := hmac.New(sha256.New, master)
	m.Write([]byte("ipos/sealing/v1/fingerprint"))
	m = hmac.New(sha256.New, m.Sum(nil))
	m.Write([]byte("hunter2"))
	want := hex.EncodeToString(m.Sum(nil))
	const golden = "d34d64837c8f32e2389e8e71428d84cc5c614eb6353d75e7856a913e2b8930c7"
	if got := k.Fingerprint([]byte("hunter2")); got != want || got != golden {
		t.Errorf("Fingerprint = %s, want %s (independent) and %s (golden)", got, want, golden)
	}
}

func TestOpenFlippedByte(t *testing.T) {
	k := testKey(1)
	s := k.Seal([]byte("hunter2"))
	raw, err := payloadEncoding.DecodeString(s[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	// Every bit of nonce, tag and ciphertext is covered by authentication.
	for i := range raw {
		for bit := range 8 {
			edited := bytes.Clone(raw)
			edited[i] ^= 1 << bit
			got, err := k.Open(prefix + payloadEncoding.EncodeToString(edited))
			if !errors.Is(err, ErrTampered) || got != nil {
				t.Fatalf("flip byte %d bit %d: Open = %q, %v; want ErrTampered", i, bit, got, err)
			}
		}
	}
	// Editing any character of the string fails too, with one of our errors.
	for i := range len(s) {
		for _, c := range []byte("Aa0-_:~") {
			if s[i] == c {
				continue
			}
			edited := s[:i] + string(c) + s[i+1:]
			got, err := k.Open(edited)
			if err == nil || got != nil {
				t.Fatalf("edit char %d to %q: Open succeeded: %q", i, c, got)
			}
			if !errors.Is(err, ErrTampered) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotSealed) {
				t.Fatalf("edit char %d to %q: unexpected error %v", i, c, err)
			}
		}
	}
}

func TestOpenWrongKey(t *testing.T) {
	s := testKey(1).Seal([]byte("hunter2"))
	got, err := testKey(2).Open(s)
	if !errors.Is(err, ErrTampered) || got != nil {
		t.Fatalf("Open under another key = %q, %v; want ErrTampered", got, err)
	}
}

func TestOpenBadInput(t *testing.T) {
	k := testKey(1)
	good := k.Seal([]byte("hunter2"))
	empty := k.Seal(nil)
	goodRaw, err := payloadEncoding.DecodeString(good[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrNotSealed},
		{"plaintext", "hunter2", ErrNotSealed},
		{"upper-case marker", "SEALED:v1:" + good[len(prefix):], ErrNotSealed},
		{"leading space", " " + good, ErrNotSealed},
		{"marker only", "sealed:", ErrMalformed},
		{"unknown version", "sealed:v2:" + good[len(prefix):], ErrMalformed},
		{"prefix only", "sealed:v1:", ErrMalformed},
		{"garbage", "sealed:v1:!!!not base64!!!", ErrMalformed},
		{"padding", good + "=", ErrMalformed},
		{"std alphabet", "sealed:v1:" + strings.NewReplacer("-", "+", "_", "/").Replace(good[len(prefix):]) + "+/", ErrMalformed},
		{"trailing newline", good + "\n", ErrMalformed},
		{"inner CR", good[:20] + "\r" + good[20:], ErrMalformed},
		{"short", "sealed:v1:AAAA", ErrMalformed},
		{"one byte short", empty[:len(empty)-2], ErrMalformed},
		{"last byte cut", prefix + payloadEncoding.EncodeToString(goodRaw[:len(goodRaw)-1]), ErrTampered},
		{"cut to minimum", prefix + payloadEncoding.EncodeToString(goodRaw[:minPayload]), ErrTampered},
		{"cut below minimum", prefix + payloadEncoding.EncodeToString(goodRaw[:minPayload-1]), ErrMalformed},
		{"byte appended", prefix + payloadEncoding.EncodeToString(append(bytes.Clone(goodRaw), 0)), ErrTampered},
		{"zeros", "sealed:v1:" + payloadEncoding.EncodeToString(make([]byte, 64)), ErrTampered},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := k.Open(c.in)
			if !errors.Is(err, c.want) || got != nil {
				t.Fatalf("Open(%q) = %q, %v; want %v", c.in, got, err, c.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error quotes the plaintext: %v", err)
			}
			if len(c.in) > 20 && strings.Contains(err.Error(), c.in[len(prefix):len(prefix)+8]) {
				t.Errorf("error quotes the input: %v", err)
			}
		})
	}
}

func TestOpenTruncatedString(t *testing.T) {
	k := testKey(1)
	s := k.Seal([]byte("hunter2"))
	for n := range len(s) {
		got, err := k.Open(s[:n])
		if err == nil || got != nil {
			t.Fatalf("Open(first %d characters) = %q, %v; want an error", n, got, err)
		}
		if !errors.Is(err, ErrNotSealed) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTampered) {
			t.Fatalf("Open(first %d characters): error %v wraps none of the sentinels", n, err)
		}
	}
}

// A payload differing only in the unused low bits of its last character
// would decode to the same bytes under a lax decoder; it must be refused.
func TestOpenNonCanonicalBase64(t *testing.T) {
	k := testKey(1)
	for range 20 {
		s := k.Seal([]byte("hunter2")) // 7+40 = 47 bytes: last char has 2 spare bits
		last := strings.IndexByte(base64URLAlphabet, s[len(s)-1])
		alt := s[:len(s)-1] + string(base64URLAlphabet[last^1])
		if _, err := k.Open(alt); err == nil {
			t.Fatalf("Open accepted a second spelling of %s: %s", s, alt)
		}
	}
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func TestIsSealed(t *testing.T) {
	k := testKey(1)
	for s, want := range map[string]bool{
		"":                true,
		"hunter2":         false,
		"sealed":          false,
		"sealed:":         true,
		"sealed:v1:":      true,
		"sealed:v9:xyz":   true,
		k.Seal(nil):       true,
		" sealed:v1:AAAA": false,
	} {
		if s == "" {
			want = false
		}
		if got := IsSealed(s); got != want {
			t.Errorf("IsSealed(%q) = %v, want %v", s, got, want)
		}
		_, err := k.Open(s)
		if errors.Is(err, ErrNotSealed) == IsSealed(s) {
			t.Errorf("IsSealed(%q) = %v but Open error is %v", s, IsSealed(s), err)
		}
	}
}

func TestFingerprint(t *testing.T) {
	k1, k1again, k2 := testKey(1), testKey(1), testKey(2)
	a := k1.Fingerprint([]byte("hunter2"))
	if len(a) != 64 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("Fingerprint = %q, want 64 lower-case hex digits", a)
	}
	if b := k1.Fingerprint([]byte("hunter2")); b != a {
		t.Errorf("Fingerprint not stable: %s then %s", a, b)
	}
	if b := k1again.Fingerprint([]byte("hunter2")); b != a {
		t.Errorf("Fingerprint differs for the same key bytes: %s and %s", a, b)
	}
	if b := k2.Fingerprint([]byte("hunter2")); b == a {
		t.Errorf("Fingerprint the same under different keys: %s", a)
	}
	if b := k1.Fingerprint([]byte("hunter3")); b == a {
		t.Errorf("Fingerprint the same for different data: %s", a)
	}
	if k1.Fingerprint(nil) != k1.Fingerprint([]byte{}) {
		t.Errorf("Fingerprint(nil) != Fingerprint(empty)")
	}
	// Not an unkeyed hash of the data.
	sum := sha256.Sum256([]byte("hunter2"))
	if a == hex.EncodeToString(sum[:]) {
		t.Errorf("Fingerprint is a plain SHA-256")
	}
}

func FuzzOpen(f *testing.F) {
	k := testKey(1)
	for _, s := range []string{
		"", "sealed:", "sealed:v1:", "sealed:v2:AAAA", "sealed:v1:AAAA", "hunter2",
		k.Seal(nil), k.Seal([]byte("hunter2")), testKey(2).Seal([]byte("x")),
		"sealed:v1:" + strings.Repeat("A", 54) + "=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := k.Open(s)
		if errors.Is(err, ErrNotSealed) == IsSealed(s) {
			t.Fatalf("IsSealed(%q) = %v but Open error is %v", s, IsSealed(s), err)
		}
		if err != nil {
			if got != nil {
				t.Fatalf("Open(%q) returned %q with error %v", s, got, err)
			}
			if !errors.Is(err, ErrNotSealed) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTampered) {
				t.Fatalf("Open(%q): error %v wraps none of the sentinels", s, err)
			}
			return
		}
		// Only a value sealed under k opens; it must reseal and reopen.
		again, err := k.Open(k.Seal(got))
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("reseal of opened %q: %q, %v", s, again, err)
		}
	})
}

func FuzzSealOpen(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("hunter2"))
	k := testKey(1)
	f.Fuzz(func(t *testing.T, p []byte) {
		s := k.Seal(p)
		got, err := k.Open(s)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("Open(Seal(%q)) = %q, %v", p, got, err)
		}
		if _, err := testKey(2).Open(s); !errors.Is(err, ErrTampered) {
			t.Fatalf("Open under another key: %v, want ErrTampered", err)
		}
	})
}
