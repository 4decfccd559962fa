package deobfuscate

import (
	"bytes"
	"testing"
)

// FuzzDeobfuscate checks that Run never panics, keeps its output within the
// size limit, and is idempotent: the output, run again, comes back the same
// with no technique outside Neutral. A run stopped by a limit is exempt from
// idempotence (its output is a partial rewrite by design).
func FuzzDeobfuscate(f *testing.F) {
	for _, tt := range deobTests {
		f.Add([]byte(tt.in))
	}
	for _, l := range benignLines {
		f.Add([]byte(l))
	}
	f.Add([]byte(`cmd /V:ON /C "for /L %i in (1,1,9) do set x=!x!%i&&if %i==9 call %x%"`))
	f.Add([]byte(`%x:*x!=% !a:~-1,5! %COMSPEC:~  -7, +3%`))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096 {
			return
		}
		var d Deobfuscator
		r := d.Run(in)
		if lim := min(max(MaxGrowth*len(in), MinOutput), MaxOutput); len(r.Text) > lim {
			t.Fatalf("output %d > limit %d", len(r.Text), lim)
		}
		if r.Techniques&Limits != 0 || r.Layers == MaxLayers {
			return
		}
		out := append([]byte(nil), r.Text...)
		again := d.Run(out)
		if !bytes.Equal(again.Text, out) || again.Techniques&^Neutral != 0 {
			t.Fatalf("not idempotent:\n in  %q\n out %q\n 2nd %q (%v)", in, out, again.Text, again.Techniques)
		}
	})
}
