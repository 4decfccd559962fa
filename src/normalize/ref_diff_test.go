package normalize

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"scorecmdline/src/internal/testlines"
)

// TestNormalizeRef compares the Normalizer with refNormalizer, alone and
// after a prefix, on the corpus, the tests' lines and generated ones.
func TestNormalizeRef(t *testing.T) {
	lines := testlines.Corpus(t)
	for _, tt := range normalizeTests {
		lines = append(lines, []byte(tt.in))
	}
	lines = append(lines, []byte(benchLine), []byte(strings.Repeat("x", 300)), []byte(strings.Repeat("certutil", 40)),
		[]byte("net user "+strings.Repeat("a^", 100)+" /add"), []byte(strings.Repeat("-add ", 60)))
	generated := 20000
	if testing.Short() {
		generated = 2000
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range generated {
		lines = append(lines, testlines.Gen(r))
	}
	for _, l := range lines {
		checkNormalize(t, l)
	}
}

func FuzzNormalizeRef(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 50 {
		f.Add(testlines.Gen(r))
	}
	for _, tt := range normalizeTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(checkNormalize)
}

func checkNormalize(t *testing.T, in []byte) {
	for _, pre := range []string{"", "pre: "} {
		n := Normalizer{Out: []byte(pre)}
		ref := refNormalizer{Out: []byte(pre)}
		n.Run(in)
		ref.run(in)
		if !bytes.Equal(n.Out, ref.Out) || !slices.Equal(n.Soft, ref.Soft) || !slices.Equal(n.Seps, ref.Seps) {
			t.Fatalf("normalize(%q) = %q soft %v seps %v, want %q soft %v seps %v",
				in, n.Out, n.Soft, n.Seps, ref.Out, ref.Soft, ref.Seps)
		}
		if plain := Append([]byte(pre), in); !bytes.Equal(plain, ref.Out) {
			t.Fatalf("Append(%q) = %q, want %q", in, plain, ref.Out)
		}
	}
}
