package linear

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
	"testing"
)

// FuzzParse feeds the loader arbitrary bytes, and the same bytes with a
// valid checksum appended so that mutations reach the header and weights.
func FuzzParse(f *testing.F) {
	data, err := testModel(8).MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte(magic + "\x02\x00\x00\x00\x02\x00\x00\x00{}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, d := range [][]byte{in, withSum(in)} {
			m, err := Parse("fuzz.bin", d)
			var fe *FormatError
			if err != nil && !errors.As(err, &fe) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			if err == nil {
				if _, err := m.MarshalBinary(); err != nil {
					t.Fatalf("parsed model does not marshal: %v", err)
				}
			}
		}
	})
}

func withSum(b []byte) []byte {
	if len(b) >= crcSize {
		b = b[:len(b)-crcSize]
	}
	return binary.LittleEndian.AppendUint32(slices.Clone(b), crc32.Checksum(b, castagnoli))
}
