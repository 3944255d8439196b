package odf

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"
)

// kamu's dataset-ID test vector (test_dataset_id.rs): one key as did:odf
// and as did:key.
const (
	vectorDIDODF = "did:odf:fed012e6fcce36701dc791488e0d0b1745cc1e33a4c1c9fcc41c63bd343dbbe0970e6"
	vectorDIDKey = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
)

func TestDatasetIDVector(t *testing.T) {
	a, err := ParseDatasetID(vectorDIDODF)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseDatasetID(vectorDIDKey)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("did:odf and did:key forms of kamu's vector differ")
	}
	if a.String() != vectorDIDODF || a.DIDKey() != vectorDIDKey {
		t.Fatalf("printed as %s and %s", a, a.DIDKey())
	}
	if a.Multibase() != vectorDIDODF[len("did:odf:"):] {
		t.Fatalf("multibase %s", a.Multibase())
	}
	again, err := ParseDatasetIDBytes(a.Bytes())
	if err != nil || again != a {
		t.Fatalf("binary round trip: %v", err)
	}
}

func TestParseDatasetIDErrors(t *testing.T) {
	for _, s := range []string{
		"", "did:odf:", "did:web:example.com", "did:odf:f00", "did:odf:fed01zz",
		"did:odf:fed022e6fcce36701dc791488e0d0b1745cc1e33a4c1c9fcc41c63bd343dbbe0970e6", // wrong codec
		"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2do0",                      // 0 is not base58
	} {
		if _, err := ParseDatasetID(s); !errors.Is(err, ErrMultiformat) {
			t.Errorf("%q: got %v, want ErrMultiformat", s, err)
		}
	}
}

func TestMultibaseForms(t *testing.T) {
	// sha3("prev") in each multibase ODF reads.
	want := SHA3([]byte("prev"))
	for _, s := range []string{
		"f16209eb949bd8ff0bb1d827f11809aebc6bd0d5955c7f368469a913c70d196620272",
		"F16209EB949BD8FF0BB1D827F11809AEBC6BD0D5955C7F368469A913C70D196620272",
		"u" + base64.RawURLEncoding.EncodeToString(want),
		"z" + Base58Encode(want),
	} {
		h, err := ParseMultihashString(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if !h.Equal(want) {
			t.Fatalf("%s decodes to %s", s, h)
		}
	}
	if got := want.String(); got != "f16209eb949bd8ff0bb1d827f11809aebc6bd0d5955c7f368469a913c70d196620272" {
		t.Fatalf("printed %s", got)
	}
	for _, s := range []string{"", "x00", "f1620", "f162", "fzz", "u!!", "z0OIl", "f1621" + "00"} {
		if _, err := ParseMultihashString(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}

func TestVarint(t *testing.T) {
	for _, v := range []uint64{0, 1, 0x7f, 0x80, 0x16, 0xed, 0x300016, 0x400000, 1<<63 - 1} {
		b := AppendUvarint(nil, v)
		got, n, err := Uvarint(b)
		if err != nil || got != v || n != len(b) {
			t.Fatalf("%#x: %v %v %d", v, got, err, n)
		}
	}
	if !bytes.Equal(AppendUvarint(nil, CodeArrow0SHA3_256), []byte{0x96, 0x80, 0xc0, 0x01}) {
		t.Fatal("arrow0-sha3-256 varint")
	}
	for _, b := range [][]byte{{}, {0x80}, {0x80, 0x00}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if _, _, err := Uvarint(b); err == nil {
			t.Errorf("% x accepted", b)
		}
	}
}
