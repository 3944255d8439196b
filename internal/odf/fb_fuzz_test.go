package odf

import (
	"bytes"
	"testing"
)

// FuzzDecodeBlock feeds arbitrary bytes to the block decoder. It must
// return an error or a block, never panic or hang, and a block it accepts
// must survive a re-encode/decode round trip unchanged in meaning.
func FuzzDecodeBlock(f *testing.F) {
	for _, c := range goldenCases(f) {
		for _, v := range []int32{2, 3} {
			data, err := encodeBlockVersion(goldenBlock(c.event), v)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{4, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, _, err := DecodeBlock(data)
		if err != nil {
			return
		}
		again, err := EncodeBlock(b)
		if err != nil {
			// A decoded block the encoder refuses is a bug only if it
			// could have been written by us; hostile blocks may carry
			// unions without values and the like.
			return
		}
		b2, _, err := DecodeBlock(again)
		if err != nil {
			t.Fatalf("re-encoded block does not decode: %v", err)
		}
		third, err := EncodeBlock(b2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, third) {
			t.Fatal("encoding is not stable across a decode")
		}
	})
}
