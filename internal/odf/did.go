package odf

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strings"
)

// DatasetID is an ODF dataset identity: the public half of an ed25519 key.
// Its binary form (as stored in Seed) is varint(0xed) || key, printed as
// did:odf:fed01… and interchangeable with did:key:z6Mk….
type DatasetID struct {
	key [ed25519.PublicKeySize]byte
}

// DatasetIDFromPublicKey makes the dataset ID of an ed25519 public key.
func DatasetIDFromPublicKey(pub ed25519.PublicKey) (DatasetID, error) {
	var id DatasetID
	if len(pub) != ed25519.PublicKeySize {
		return id, fmt.Errorf("%w: ed25519 public key has %d bytes, want %d", ErrMultiformat, len(pub), ed25519.PublicKeySize)
	}
	copy(id.key[:], pub)
	return id, nil
}

var ed25519Prefix = []byte{0xed, 0x01}

// ParseDatasetIDBytes parses the binary form: 0xed 0x01 followed by 32 key bytes.
func ParseDatasetIDBytes(b []byte) (DatasetID, error) {
	if len(b) != 2+ed25519.PublicKeySize || !bytes.HasPrefix(b, ed25519Prefix) {
		return DatasetID{}, fmt.Errorf("%w: dataset ID must be 0xed01 followed by a 32-byte ed25519 key, got %d bytes", ErrMultiformat, len(b))
	}
	return DatasetIDFromPublicKey(b[2:])
}

// ParseDatasetID parses "did:odf:<multibase>" or "did:key:<multibase>".
func ParseDatasetID(s string) (DatasetID, error) {
	var body string
	switch {
	case strings.HasPrefix(s, "did:odf:"):
		body = s[len("did:odf:"):]
	case strings.HasPrefix(s, "did:key:"):
		body = s[len("did:key:"):]
	default:
		return DatasetID{}, fmt.Errorf("%w: %q is not a did:odf: or did:key: identifier", ErrMultiformat, s)
	}
	b, err := MultibaseDecode(body)
	if err != nil {
		return DatasetID{}, fmt.Errorf("dataset ID %q: %w", s, err)
	}
	id, err := ParseDatasetIDBytes(b)
	if err != nil {
		return DatasetID{}, fmt.Errorf("dataset ID %q: %w", s, err)
	}
	return id, nil
}

// Bytes returns the binary form stored in Seed blocks.
func (id DatasetID) Bytes() []byte {
	return append(append(make([]byte, 0, 34), ed25519Prefix...), id.key[:]...)
}

// PublicKey returns the ed25519 public key.
func (id DatasetID) PublicKey() ed25519.PublicKey { return ed25519.PublicKey(id.key[:]) }

// IsZero reports whether id is unset.
func (id DatasetID) IsZero() bool { return id.key == [ed25519.PublicKeySize]byte{} }

// String prints did:odf:fed01….
func (id DatasetID) String() string { return "did:odf:" + id.Multibase() }

// Multibase prints the base16 multibase form without the did:odf: prefix,
// which is also the dataset's directory name.
func (id DatasetID) Multibase() string { return "f" + hex.EncodeToString(id.Bytes()) }

// DIDKey prints the same key as did:key:z6Mk….
func (id DatasetID) DIDKey() string { return "did:key:z" + Base58Encode(id.Bytes()) }

// ParseDIDKey parses a did:key:z6Mk… identifier into its ed25519 public
// key.
func ParseDIDKey(s string) (ed25519.PublicKey, error) {
	if !strings.HasPrefix(s, "did:key:") {
		return nil, fmt.Errorf("%w: %q is not a did:key: identifier", ErrMultiformat, s)
	}
	id, err := ParseDatasetID(s)
	if err != nil {
		return nil, err
	}
	return id.PublicKey(), nil
}

// DIDKeyOf prints an ed25519 public key as did:key:z6Mk…, the form used for
// node and user identities.
func DIDKeyOf(pub ed25519.PublicKey) string {
	id, err := DatasetIDFromPublicKey(pub)
	if err != nil {
		return ""
	}
	return id.DIDKey()
}
