package features

import (
	"testing"
)

// FuzzExtract: any input extracts without panic, buckets stay in range,
// and the explain path sees exactly the fast path's buckets.
func FuzzExtract(f *testing.F) {
	for _, tt := range goldenInputs {
		f.Add(tt.in.Cmdline, tt.in.Deobfuscated, tt.in.Parent)
	}
	f.Add([]byte("powershell -e AAAAAAAAAAAAAAAAAAAAAAAA"), []byte(nil), []byte("\\"))
	fast, slow := New(16), New(16)
	slow.Names = true
	all := Set(Word, Bigram, Char, Struct, Context)
	f.Fuzz(func(t *testing.T, cmd, deob, parent []byte) {
		in := &Input{Cmdline: cmd, Deobfuscated: deob, Parent: parent, Image: parent, Techniques: uint64(len(cmd)), Undone: len(deob)}
		fast.Reset(in)
		fast.Extract(all)
		slow.Reset(in)
		slow.Extract(all)
		for g := Group(0); g < NumGroups; g++ {
			a, b := fast.Buckets(g), slow.Buckets(g)
			if len(a) != len(b) || len(slow.names[g]) != len(b) {
				t.Fatalf("%s: %d fast, %d slow buckets, %d names", g, len(a), len(b), len(slow.names[g]))
			}
			for i := range a {
				if a[i] != b[i] || a[i] >= 1<<16 {
					t.Fatalf("%s: bucket %d: %d vs %d", g, i, a[i], b[i])
				}
			}
		}
	})
}
