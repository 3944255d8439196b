package odf

import (
	"crypto/sha3"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Multicodec codes used by ODF.
const (
	CodeSHA3_256         = 0x16
	CodeEd25519Pub       = 0xed
	CodeArrow0SHA3_256   = 0x300016
	CodeODFMetadataBlock = 0x400000
	CodeODFSnapshot      = 0x400001
)

// ErrMultiformat is wrapped by every varint, multihash and multibase
// parse error.
var ErrMultiformat = errors.New("invalid multiformat value")

// AppendUvarint appends the unsigned-varint encoding of v.
func AppendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// Uvarint decodes an unsigned varint from the start of b and returns the
// value and the number of bytes read. Only minimal encodings of at most
// nine bytes are accepted, as the multiformats spec requires.
func Uvarint(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b) && i < 9; i++ {
		c := b[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				return 0, 0, fmt.Errorf("%w: varint is not minimal", ErrMultiformat)
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: truncated varint", ErrMultiformat)
}

// Multihash is a binary multihash: varint(code) || varint(len) || digest.
// The zero value (nil) means "no hash".
type Multihash []byte

// SHA3 returns the SHA3-256 multihash of data.
func SHA3(data []byte) Multihash {
	sum := sha3.Sum256(data)
	return NewMultihash(CodeSHA3_256, sum[:])
}

// NewMultihash wraps a digest made by the hash function with the given code.
func NewMultihash(code uint64, digest []byte) Multihash {
	b := AppendUvarint(make([]byte, 0, len(digest)+6), code)
	b = AppendUvarint(b, uint64(len(digest)))
	return append(b, digest...)
}

// ParseMultihash validates a binary multihash and returns it.
func ParseMultihash(b []byte) (Multihash, error) {
	_, _, err := Multihash(b).Decode()
	if err != nil {
		return nil, err
	}
	return Multihash(b), nil
}

// ParseMultihashString parses a multibase-encoded multihash such as
// "f1620…".
func ParseMultihashString(s string) (Multihash, error) {
	b, err := MultibaseDecode(s)
	if err != nil {
		return nil, err
	}
	return ParseMultihash(b)
}

// Decode splits the multihash into its code and digest.
func (h Multihash) Decode() (code uint64, digest []byte, err error) {
	code, n, err := Uvarint(h)
	if err != nil {
		return 0, nil, fmt.Errorf("multihash code: %w", err)
	}
	size, m, err := Uvarint(h[n:])
	if err != nil {
		return 0, nil, fmt.Errorf("multihash length: %w", err)
	}
	digest = h[n+m:]
	if uint64(len(digest)) != size {
		return 0, nil, fmt.Errorf("%w: multihash says %d digest bytes, has %d", ErrMultiformat, size, len(digest))
	}
	return code, digest, nil
}

// Code returns the hash function's multicodec, or 0 if h is malformed.
func (h Multihash) Code() uint64 {
	code, _, err := h.Decode()
	if err != nil {
		return 0
	}
	return code
}

// String prints the multihash in ODF's default multibase, base16 lower.
func (h Multihash) String() string {
	if h == nil {
		return ""
	}
	return "f" + hex.EncodeToString(h)
}

// Equal reports whether two multihashes are the same bytes.
func (h Multihash) Equal(o Multihash) bool { return string(h) == string(o) }

// IsZero reports whether h holds no hash.
func (h Multihash) IsZero() bool { return len(h) == 0 }

// MultibaseDecode decodes base16 ('f', 'F'), base64url without padding
// ('u') and base58btc ('z'), the multibases ODF reads.
func MultibaseDecode(s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty multibase string", ErrMultiformat)
	}
	body := s[1:]
	switch s[0] {
	case 'f', 'F':
		b, err := hex.DecodeString(strings.ToLower(body))
		if err != nil {
			return nil, fmt.Errorf("%w: base16: %v", ErrMultiformat, err)
		}
		return b, nil
	case 'u':
		b, err := base64.RawURLEncoding.DecodeString(body)
		if err != nil {
			return nil, fmt.Errorf("%w: base64url: %v", ErrMultiformat, err)
		}
		return b, nil
	case 'z':
		return Base58Decode(body)
	default:
		return nil, fmt.Errorf("%w: unsupported multibase prefix %q (want f, u or z)", ErrMultiformat, s[0])
	}
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// Base58Encode encodes b in the Bitcoin base58 alphabet.
func Base58Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	n := new(big.Int).SetBytes(b)
	radix := big.NewInt(58)
	mod := new(big.Int)
	var out []byte
	for n.Sign() > 0 {
		n.DivMod(n, radix, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for i := 0; i < zeros; i++ {
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

// Base58Decode decodes Bitcoin base58.
func Base58Decode(s string) ([]byte, error) {
	if len(s) > 1024 {
		return nil, fmt.Errorf("%w: base58 string too long", ErrMultiformat)
	}
	n := new(big.Int)
	radix := big.NewInt(58)
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(base58Alphabet, s[i])
		if d < 0 {
			return nil, fmt.Errorf("%w: base58: invalid character %q", ErrMultiformat, s[i])
		}
		n.Mul(n, radix)
		n.Add(n, big.NewInt(int64(d)))
	}
	body := n.Bytes()
	out := make([]byte, zeros+len(body))
	copy(out[zeros:], body)
	return out, nil
}
