package sealing

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/nacl/secretbox"
)

const (
	// marker starts every sealed value, of any format version.
	marker = "sealed:"
	// prefix starts a sealed value of the one format this build writes.
	prefix = marker + "v1:"

	nonceSize = 24
	// minPayload is the decoded size of a sealed empty plaintext.
	minPayload = nonceSize + secretbox.Overhead
)

// payloadEncoding is strict so each payload has exactly one spelling: a
// non-strict decoder ignores the unused low bits of the last character,
// which would let two different strings open to the same value. (Line
// breaks, which every decoder skips, are refused separately in Open.)
var payloadEncoding = base64.RawURLEncoding.Strict()

var (
	// ErrNotSealed is returned by Open for a value without the "sealed:"
	// marker, such as a plaintext secret.
	ErrNotSealed = errors.New(`sealing: value is not sealed (no "sealed:" prefix)`)
	// ErrMalformed is returned by Open for a marked value that is not a
	// well-formed sealed value: unknown version, bad base64, too short.
	ErrMalformed = errors.New("sealing: malformed sealed value")
	// ErrTampered is returned by Open when a well-formed value fails
	// authentication: it was sealed with another key, or edited.
	ErrTampered = errors.New("sealing: sealed value failed authentication (sealed with a different key, or modified)")
)

// IsSealed reports whether s is marked as a sealed value, that is, whether
// it must be opened rather than used as it is. It does not check that s is
// well formed; Open does.
func IsSealed(s string) bool { return strings.HasPrefix(s, marker) }

// Seal encrypts and authenticates plaintext under a fresh random nonce and
// returns it as a "sealed:v1:" string.
func (k *Key) Seal(plaintext []byte) string {
	var nonce [nonceSize]byte
	rand.Read(nonce[:]) // never fails (crypto/rand, Go 1.24+)
	return k.sealWithNonce(&nonce, plaintext)
}

func (k *Key) sealWithNonce(nonce *[nonceSize]byte, plaintext []byte) string {
	out := make([]byte, nonceSize, minPayload+len(plaintext))
	copy(out, nonce[:])
	out = secretbox.Seal(out, plaintext, nonce, &k.keys().seal)
	return prefix + payloadEncoding.EncodeToString(out)
}

// Open checks and decrypts a value made by Seal. It returns ErrNotSealed if
// sealed lacks the "sealed:" marker, an error wrapping ErrMalformed if it is
// not a well-formed v1 value, and ErrTampered if it does not authenticate
// under k. Errors never quote the input.
func (k *Key) Open(sealed string) ([]byte, error) {
	if !IsSealed(sealed) {
		return nil, ErrNotSealed
	}
	if !strings.HasPrefix(sealed, prefix) {
		return nil, fmt.Errorf("%w: unknown format version; this build reads only %q values", ErrMalformed, prefix)
	}
	payload := sealed[len(prefix):]
	// The decoder skips line breaks; refuse them so one value has one spelling.
	if i := strings.IndexAny(payload, "\r\n"); i >= 0 {
		return nil, fmt.Errorf("%w: line break at character %d", ErrMalformed, len(prefix)+i)
	}
	raw, err := payloadEncoding.DecodeString(payload)
	if err != nil {
		// CorruptInputError names an offset only; count it from the start.
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("%w: invalid base64url at character %d", ErrMalformed, int64(ce)+int64(len(prefix)))
		}
		return nil, fmt.Errorf("%w: invalid base64url", ErrMalformed)
	}
	if len(raw) < minPayload {
		return nil, fmt.Errorf("%w: %d bytes after decoding, fewer than the %d of an empty secret (truncated?)",
			ErrMalformed, len(raw), minPayload)
	}
	var nonce [nonceSize]byte
	copy(nonce[:], raw)
	plaintext, ok := secretbox.Open(nil, raw[nonceSize:], &nonce, &k.keys().seal)
	if !ok {
		return nil, ErrTampered
	}
	if plaintext == nil {
		plaintext = []byte{}
	}
	return plaintext, nil
}

// Fingerprint returns hex HMAC-SHA256 of data under k's fingerprint subkey:
// the same for the same key and data, so a store can tell whether a secret
// changed, and worthless for guessing the secret without the key.
func (k *Key) Fingerprint(data []byte) string {
	m := hmac.New(sha256.New, k.keys().mac[:])
	m.Write(data)
	return hex.EncodeToString(m.Sum(nil))
}
