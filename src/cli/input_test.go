package cli

import (
	"errors"
	"io"
	"strings"
	"testing"

	"scorecmdline/src/event"
)

// TestRecordReaderFields reads one record in each shape and checks the
// event it fills: the picked command line and parent, and the fields
// winevent finds in shapes it knows.
func TestRecordReaderFields(t *testing.T) {
	tests := []struct {
		name, file, in, field string
		want                  map[event.Field]string
	}{
		{name: "corpus shape", file: "a.jsonl", in: `{"cmdline":"whoami","label":"benign","parent_image":"C:\\W\\cmd.exe"}`,
			want: map[event.Field]string{event.Process: "whoami", event.ParentProcessPath: `C:\W\cmd.exe`, event.ParentProcessName: "cmd.exe"}},
		{name: "sysmon flat", file: "a.jsonl", in: `{"EventID":1,"CommandLine":"whoami /all","Image":"C:\\W\\whoami.exe","ParentImage":"C:\\W\\cmd.exe","User":"D\\u","IntegrityLevel":"High","Company":"Microsoft"}`,
			want: map[event.Field]string{event.Process: "whoami /all", event.ProcessPath: `C:\W\whoami.exe`, event.ProcessName: "whoami.exe",
				event.ParentProcessPath: `C:\W\cmd.exe`, event.ParentProcessName: "cmd.exe", event.User: `D\u`, event.ProcessIntegrityLevel: "High", event.Company: "Microsoft"}},
		{name: "winlogbeat nested", file: "a.jsonl", in: `{"winlog":{"event_id":1,"event_data":{"CommandLine":"net user","ParentImage":"C:\\W\\cmd.exe","OriginalFileName":"net.exe"}}}`,
			want: map[event.Field]string{event.Process: "net user", event.ParentProcessPath: `C:\W\cmd.exe`, event.ParentProcessName: "cmd.exe", event.OriginalFileName: "net.exe"}},
		{name: "parent name picked", file: "a.jsonl", in: `{"cmdline":"x","parent_process_name":"explorer.exe"}`,
			want: map[event.Field]string{event.Process: "x", event.ParentProcessName: "explorer.exe"}},
		{name: "field option", file: "a.jsonl", field: "cmd", in: `{"cmd":"y","CommandLine":"z"}`,
			want: map[event.Field]string{event.Process: "y"}},
		{name: "tstats csv", file: "a.csv", in: "Processes.process,Processes.dest,Processes.parent_process_name\nwhoami,h1,cmd.exe\n",
			want: map[event.Field]string{event.Process: "whoami", event.Dest: "h1", event.ParentProcessName: "cmd.exe"}},
		{name: "sysmon csv", file: "a.csv", in: "CommandLine,Image,ParentImage,EventID\n\"a \"\"b\"\"\",C:\\W\\a.exe,C:\\W\\p.exe,1\n",
			want: map[event.Field]string{event.Process: `a "b"`, event.ProcessPath: `C:\W\a.exe`, event.ProcessName: "a.exe",
				event.ParentProcessPath: `C:\W\p.exe`, event.ParentProcessName: "p.exe"}},
		{name: "plain csv", file: "a.csv", in: "cmdline,colour\nx,red\n", want: map[event.Field]string{event.Process: "x"}},
		{name: "lines", file: "a.txt", in: "cmd /c dir\n", want: map[event.Field]string{event.Process: "cmd /c dir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr, err := newRecordReader(tt.file, strings.NewReader(tt.in), formatAuto, tt.field, "")
			if err != nil {
				t.Fatal(err)
			}
			rec, err := rr.Next()
			if err != nil {
				t.Fatal(err)
			}
			var ev event.Event
			rec.Fill(&ev, nil)
			for f := range event.NumFields {
				if got := string(ev.Get(f)); got != tt.want[f] {
					t.Errorf("%s = %q, want %q", f, got, tt.want[f])
				}
			}
			if _, err := rr.Next(); err != io.EOF {
				t.Errorf("second Next: %v, want EOF", err)
			}
		})
	}
}

func TestRecordReaderErrors(t *testing.T) {
	for _, tc := range []struct{ name, file, in, field string }{
		{"no command line member", "a.jsonl", `{"message":"hello"}`, ""},
		{"not a process creation", "a.jsonl", `{"EventID":3,"Channel":"Sysmon","Image":"x"}`, ""},
		{"field option not there", "a.jsonl", `{"CommandLine":"x"}`, "cmd"},
	} {
		rr, err := newRecordReader(tc.file, strings.NewReader(tc.in), formatAuto, tc.field, "")
		if err != nil {
			t.Fatal(err)
		}
		var ie *inputError
		if _, err := rr.Next(); !errors.As(err, &ie) || !strings.Contains(err.Error(), "no string member") {
			t.Errorf("%s: err %v, want an inputError", tc.name, err)
		}
	}
	if _, err := newRecordReader("a.csv", strings.NewReader("colour,size\n"), formatAuto, "", ""); err == nil {
		t.Error("CSV without a command line column accepted")
	}
}
