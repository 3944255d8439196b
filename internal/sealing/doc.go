// Package sealing encrypts resource secrets at rest with a workspace key.
//
// A sealed value is a printable string that can sit in a manifest, a
// database row or a YAML file in place of the secret:
//
//	sealed:v1:<base64url(nonce || box), no padding>
//
// nonce is 24 random bytes, fresh for every call to [Key.Seal]; box is the
// NaCl secretbox (XSalsa20-Poly1305) of the plaintext, 16 bytes longer than
// it. Sealing the same plaintext twice gives two different strings.
//
// The key file holds 32 random bytes as standard base64 text plus a newline.
// [LoadOrCreateKey] creates it with mode 0600 and publishes it atomically
// (temporary file, fsync, hard link into place, fsync of the folder), so a
// reader never sees a half-written key and two processes racing to create
// it end up with the same key. It refuses a file that is not a regular file,
// has permissions wider than 0600, or does not decode to exactly 32 bytes.
//
// The file key is a master key and is never used directly. Two subkeys are
// derived from it, one per purpose, as HMAC-SHA256(master, label):
//
//	"ipos/sealing/v1/secretbox"    encrypts and authenticates sealed values
//	"ipos/sealing/v1/fingerprint"  keys [Key.Fingerprint]
//
// so a fingerprint can never be turned against the encryption or the other
// way round.
//
// Invariants:
//
//   - Open(Seal(p)) == p under the same key, for every p (including empty).
//   - Open succeeds only for strings Seal produced under the same key: any
//     edited, truncated or foreign value fails with [ErrTampered] or
//     [ErrMalformed]; Open never panics on any input.
//   - [IsSealed](s) reports whether s carries the "sealed:" marker;
//     Open returns [ErrNotSealed] exactly when IsSealed(s) is false. A
//     marked value of a format this build does not know is [ErrMalformed],
//     never treated as plaintext.
//   - Errors never contain the plaintext, the key or the sealed bytes.
//   - A [Key] never prints its bytes: String, GoString and every fmt verb
//     give "sealing.Key(REDACTED)", and the key material is held in a
//     closure so fmt does not reach it through an enclosing struct either.
//   - Fingerprint(data) is hex HMAC-SHA256(fingerprint subkey, data): stable
//     for one key, unrelated across keys, and useless for guessing a secret
//     without the key (unlike an unsalted hash).
package sealing
