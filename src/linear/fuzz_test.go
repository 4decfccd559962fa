package linear

import (
	"crypto/sha256"
	"errors"
	"testing"
)

// FuzzParse feeds the loader arbitrary bytes, and the same bytes with a
// valid checksum appended so that mutations reach the header and weights.
func FuzzParse(f *testing.F) {
	small := testModel(10)
	small.Stages[0].W = small.Stages[0].W[:1<<10]
	data, err := small.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte(magic + "\x01\x00\x00\x00\x02\x00\x00\x00{}"))
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
	if len(b) >= 32 {
		b = b[:len(b)-32]
	}
	s := sha256.Sum256(b)
	return append(append([]byte(nil), b...), s[:]...)
}
