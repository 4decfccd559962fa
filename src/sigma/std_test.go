package sigma

import (
	"testing"

	"scorecmdline/src/event"
	"scorecmdline/src/internal/stdstream"
)

// stdRows reads the standard benchmark stream as events of process,
// process_name and parent_process_name, the fields it carries.
func stdRows(b testing.TB) []*event.Event {
	b.Helper()
	var evs []*event.Event
	for _, row := range stdstream.Rows(b, 0) {
		ev := &event.Event{}
		ev.Set(event.Process, row["process"])
		ev.Set(event.ProcessName, row["process_name"])
		ev.Set(event.ParentProcessName, row["parent_process_name"])
		evs = append(evs, ev)
	}
	return evs
}
