package deobfuscate

import (
	"bytes"
	"path/filepath"
	"testing"
)

// TestReuse runs one Deobfuscator over lines of every kind, huge ones
// between them, and checks each result against a fresh Deobfuscator's:
// the buffers it keeps (output, nodes, variables, PowerShell scratch) must
// carry nothing from one line to the next.
func TestReuse(t *testing.T) {
	var lines [][]byte
	for _, tt := range deobTests {
		lines = append(lines, []byte(tt.in))
	}
	for _, l := range benignLines {
		lines = append(lines, []byte(l))
	}
	for _, tt := range inertTests {
		lines = append(lines, []byte(tt.in))
	}
	for i, l := range readLines(t, filepath.Join("testdata", "stream_sample.txt")) {
		lines = append(lines, l)
		if i < len(worstCases) { // big scratch, and variables set, before the next line
			lines = append(lines, []byte(worstCases[i].make(20000)))
		}
	}
	lines = append(lines,
		[]byte(`cmd /c "set A=x&&set b=y&&call echo %a%%B%"`),
		[]byte(`echo %a%%B% !a!`), // the variables above are not set here
	)
	var d Deobfuscator
	for _, l := range lines {
		want := Deobfuscate(l)
		got := d.Run(l)
		if !bytes.Equal(got.Text, want.Text) || got.Techniques != want.Techniques ||
			got.Undone != want.Undone || got.Layers != want.Layers {
			t.Errorf("%.80q: reused %q %v %d %d, fresh %q %v %d %d", l,
				got.Text, got.Techniques, got.Undone, got.Layers,
				want.Text, want.Techniques, want.Undone, want.Layers)
		}
	}
}

// TestStagedAllocs bounds the allocations of lines that run the stages:
// strings that the stages keep are copied once, scratch is reused.
func TestStagedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	tests := []struct {
		name string
		line string
		max  float64
	}{
		{"caret", `c^m^d /c p^o^w^e^r^s^h^e^l^l -nop -w hidden -c "whoami"`, 4},
		{"operators", `mshta.exe x64 && report.xlsx "quoted arg" -Command | ; && C:\Windows\System32\ --verbose`, 4},
		{"encoded", "powershell -enc " + encUTF16(`IEX ('Inv'+'oke-Exp'+"ression") 'whoami'`), 8},
	}
	var d Deobfuscator
	for _, tt := range tests {
		line := []byte(tt.line)
		if d.Run(line).Layers == 0 {
			t.Fatalf("%s: nothing undone, the test line is wrong", tt.name)
		}
		if n := testing.AllocsPerRun(50, func() { d.Run(line) }); n > tt.max {
			t.Errorf("%s: %v allocations, want at most %v", tt.name, n, tt.max)
		}
	}
	var staged [][]byte
	for _, l := range readLines(t, filepath.Join("testdata", "stream_sample.txt")) {
		if suspicious(l) && !inert(view(l)) {
			staged = append(staged, l)
		}
	}
	if len(staged) == 0 {
		t.Fatal("no staged line in the stream sample")
	}
	n := testing.AllocsPerRun(20, func() {
		for _, l := range staged {
			d.Run(l)
		}
	})
	if per := n / float64(len(staged)); per > 6 {
		t.Errorf("stream sample: %.1f allocations per staged line, want at most 6", per)
	}
}

func TestDefaultVar(t *testing.T) {
	for _, tt := range []struct {
		name string
		want string // the name in defaultEnv, or ""
	}{
		{"ComSpec", "ComSpec"},
		{"COMSPEC", "ComSpec"},
		{"comspec", "ComSpec"},
		{"windir", "windir"},
		{"ProgramFiles(x86)", "ProgramFiles(x86)"},
		{"\u017fystemRoot", "SystemRoot"}, // ſ folds to s, as strings.EqualFold has it
		{"ComSpe", ""},
		{"ComSpecs", ""},
		{"", ""},
		{"x\u00e9", ""},
		{"APPDATAAPPDATAAPPDATAAPPDATAAPPDATAAPPDATA", ""},
	} {
		got := ""
		if i := defaultVar(tt.name); i >= 0 {
			got = defaultEnv[i][0]
		}
		if got != tt.want {
			t.Errorf("defaultVar(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCommandIs(t *testing.T) {
	for _, tt := range []struct {
		word, prog string
		want       bool
	}{
		{"cmd", "cmd", true},
		{"CMD.EXE", "cmd", true},
		{`C:\WINDOWS\system32\cmd.exe`, "cmd", true},
		{`"C:\Windows\System32\cmd.exe"`, "cmd", true},
		{`c"m"d`, "cmd", true},
		{"cmd.exe.exe", "cmd", false},
		{"cmdx", "cmd", false},
		{"cm", "cmd", false},
		{"cmd.ex", "cmd", false},
		{`x\pwsh`, "pwsh", true},
		{"powershell.exe", "powershell", true},
		{"", "cmd", false},
	} {
		if got := commandIs(tt.word, tt.prog); got != tt.want {
			t.Errorf("commandIs(%q, %q) = %v, want %v", tt.word, tt.prog, got, tt.want)
		}
	}
}

func TestKeyword(t *testing.T) {
	for _, tt := range []struct {
		s    string
		i    int
		want string
	}{
		{"cmd /c x", 0, "cmd"},
		{`C:\cmd.exe`, 3, "cmd"},
		{"CALL x", 0, "call"},
		{"set a=b", 0, "set"},
		{"SetLocal x", 0, "setlocal"},
		{"settings", 0, ""},
		{"for %i", 0, "for"},
		{"format", 0, ""},
		{"if", 0, "if"},
		{"iffy", 0, ""},
		{"c", 0, ""},
		{"calls", 0, ""},
	} {
		if got := keyword(tt.s, tt.i); got != tt.want {
			t.Errorf("keyword(%q, %d) = %q, want %q", tt.s, tt.i, got, tt.want)
		}
	}
}
