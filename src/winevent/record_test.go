package winevent

import (
	"errors"
	"reflect"
	"testing"

	"scorecmdline/src/event"
	"scorecmdline/src/internal/race"
)

// TestFillEveryField sets every string field of a Record to its own name
// and checks that each event field gets the Record field of the same name:
// a field added to one side and not mapped fails here.
func TestFillEveryField(t *testing.T) {
	var r Record
	v := reflect.ValueOf(&r).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.String {
			f.SetString(v.Type().Field(i).Name)
		}
	}
	want := map[event.Field]string{
		event.Process: "Process", event.ProcessPath: "ProcessPath", event.ProcessName: "ProcessName",
		event.OriginalFileName: "OriginalFileName", event.ParentProcess: "ParentProcess",
		event.ParentProcessPath: "ParentProcessPath", event.ParentProcessName: "ParentProcessName",
		event.User: "User", event.ProcessIntegrityLevel: "ProcessIntegrityLevel", event.ProcessHash: "ProcessHash",
		event.ProcessCurrentDirectory: "ProcessCurrentDirectory", event.ProcessID: "ProcessID",
		event.ParentProcessID: "ParentProcessID", event.Dest: "Dest", event.Product: "Product",
		event.Company: "Company", event.Description: "Description", event.FileVersion: "FileVersion",
		event.ParentUser: "ParentUser",
	}
	if len(want) != int(event.NumFields) {
		t.Fatalf("the test maps %d fields, event has %d", len(want), event.NumFields)
	}
	var ev event.Event
	buf := r.Fill(&ev, nil)
	for f := range event.NumFields {
		if got := string(ev.Get(f)); got != want[f] {
			t.Errorf("%s = %q, want %q", f, got, want[f])
		}
	}
	// Refilling from a shorter record clears what it lacks and keeps the
	// values apart: appending to one must not overwrite the next.
	short := Record{Process: "p", User: "u"}
	short.Fill(&ev, buf)
	if string(ev.Get(event.Process)) != "p" || string(ev.Get(event.User)) != "u" || ev.Has(event.Dest) {
		t.Errorf("refill: process %q user %q dest %q", ev.Get(event.Process), ev.Get(event.User), ev.Get(event.Dest))
	}
	_ = append(ev.Get(event.Process), 'X')
	if string(ev.Get(event.User)) != "u" {
		t.Errorf("values share capacity: user %q", ev.Get(event.User))
	}
}

func TestFillAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("skipping: the race detector allocates")
	}
	r := Record{Process: "cmd /c whoami", ProcessPath: `C:\w\cmd.exe`, ProcessName: "cmd.exe", User: `D\u`, Product: "Windows"}
	var ev event.Event
	buf := r.Fill(&ev, nil)
	if n := testing.AllocsPerRun(100, func() { buf = r.Fill(&ev, buf) }); n != 0 {
		t.Errorf("%v allocations per Fill with a reused buffer, want 0", n)
	}
}

// TestRecordExtras covers the fields beyond the phase 1 CIM set: version
// information and parent account from Defender, and the optional CIM
// columns.
func TestRecordExtras(t *testing.T) {
	got, err := ParseJSON([]byte(`{"ActionType":"ProcessCreated","ProcessCommandLine":"a.exe","ProcessVersionInfoProductName":"P","ProcessVersionInfoCompanyName":"C","ProcessVersionInfoFileDescription":"D","InitiatingProcessAccountDomain":"dom","InitiatingProcessAccountName":"svc"}`))
	want := Record{Process: "a.exe", Product: "P", Company: "C", Description: "D", ParentUser: `dom\svc`, VendorProduct: "Microsoft Defender for Endpoint"}
	checkParse(t, got, err, want, nil)

	h, err := ParseCSVHeader([]byte("Processes.process,Processes.original_file_name,process_integrity_level,process_current_directory\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err = h.Parse([]byte(`whoami,whoami.exe,High,C:\w` + "\n"))
	checkParse(t, got, err, Record{Process: "whoami", OriginalFileName: "whoami.exe", ProcessIntegrityLevel: "High", ProcessCurrentDirectory: `C:\w`}, nil)

	// An optional CIM column does not turn a Windows header into CIM.
	h, err = ParseCSVHeader([]byte("EventID,CommandLine,original_file_name\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err = h.Parse([]byte("1,x,y\n"))
	checkParse(t, got, err, Record{Process: "x", VendorProduct: "Microsoft Sysmon"}, nil)

	// Columns that only describe a process do not make a header known.
	if _, err := ParseCSVHeader([]byte("Description,Company\n")); !errors.Is(err, ErrSyntax) {
		t.Errorf("describing-only header: err = %v, want ErrSyntax", err)
	}
}

func TestNewCSVHeaderRecord(t *testing.T) {
	h, err := NewCSVHeader([]string{"process", "parent_process_name", "colour"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.Record([]string{"whoami", "cmd.exe", "red"})
	checkParse(t, got, err, Record{Process: "whoami", ParentProcessName: "cmd.exe"}, nil)
	if _, err := h.Record([]string{"a"}); !errors.Is(err, ErrFieldCount) {
		t.Errorf("short record: err = %v, want ErrFieldCount", err)
	}
}
