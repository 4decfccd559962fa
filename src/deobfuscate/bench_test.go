package deobfuscate

import "testing"

var sink *Result

func BenchmarkRun(b *testing.B) {
	for _, bc := range []struct{ name, line string }{
		{"plain", benignLine300},
		{"caret", `c^m^d /c p^o^w^e^r^s^h^e^l^l -nop -w hidden -c "whoami"`},
		{"reversal", `cmd /V:ON /C "set s=resu ten&&for /L %i in (7,-1,0) do set r=!r!!s:~%i,1!&&if %i==0 call %r:~-8%"`},
		{"encoded", "powershell -enc " + encUTF16(`IEX ('Inv'+'oke-Exp'+"ression") 'whoami'`)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var d Deobfuscator
			line := []byte(bc.line)
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				sink = d.Run(line)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
