package modinput

import (
	"encoding/xml"
	"io"
)

// The scheme name is the executable's name, as splunkd requires; the app's
// README/inputs.conf.spec declares [scorecmdline://<name>] with the
// arguments below.

type schemeDoc struct {
	XMLName               xml.Name    `xml:"scheme"`
	Title                 string      `xml:"title"`
	Description           string      `xml:"description"`
	UseExternalValidation bool        `xml:"use_external_validation"`
	UseSingleInstance     bool        `xml:"use_single_instance"`
	StreamingMode         string      `xml:"streaming_mode"`
	Args                  []schemeArg `xml:"endpoint>args>arg"`
}

type schemeArg struct {
	Name             string `xml:"name,attr"`
	Title            string `xml:"title"`
	Description      string `xml:"description"`
	DataType         string `xml:"data_type"`
	RequiredOnCreate bool   `xml:"required_on_create"`
	RequiredOnEdit   bool   `xml:"required_on_edit"`
}

// schemeArgs are the stanza parameters, in the order the UI shows them.
var schemeArgs = []schemeArg{
	{Name: "path", Title: "Path", DataType: "string", RequiredOnCreate: true,
		Description: "Absolute path of a file, or a glob (*, ?, [...]), of process-creation logs to follow. $VARIABLES are expanded."},
	{Name: "format", Title: "Format", DataType: "string",
		Description: "auto (default: decided per file from its first byte), xml (Sysmon Event ID 1 / Security 4688 XmlWinEventLog, one event per line), jsonl (NXLog, Winlogbeat, Defender DeviceProcessEvents) or csv (with a header)."},
	{Name: "emit", Title: "Emit", DataType: "string",
		Description: "all (default: one verdict event per process) or alerts (only processes that hit a rule or that the model alerts on)."},
	{Name: "min_score", Title: "Minimum score", DataType: "number",
		Description: "Model score above which a process is an alert with emit=alerts, in place of the model's own threshold (default: empty, the model's deployed decision, model_alert)."},
	{Name: "model", Title: "Model", DataType: "string",
		Description: "Model in the app's lookups (default escu), or none."},
	{Name: "rules", Title: "Rule packs", DataType: "string",
		Description: "Comma-separated rule packs in the app's lookups (default sentinel_cmd): TOML packs NAME.rules.toml and Sigma packs (folders NAME/), or none."},
	{Name: "min_level", Title: "Minimum rule level", DataType: "string",
		Description: "Hide rule hits below this level: informational, low, medium, high or critical (default: empty, every level)."},
	{Name: "start", Title: "Start", DataType: "string",
		Description: "beginning (default) or end: where the input's first run starts in the files it finds. Files that appear later are always read from their beginning."},
	{Name: "poll_interval", Title: "Poll interval", DataType: "number",
		Description: "Seconds between looks for new data (default 1)."},
	{Name: "batch_size", Title: "Batch size", DataType: "number",
		Description: "Records between checkpoints (default 500); at most this many can be sent twice after a crash."},
}

// Scheme writes the --scheme document: XML streaming, external validation
// (--validate-arguments), one process per stanza.
func Scheme(w io.Writer) error {
	doc := schemeDoc{
		Title:                 "Command line scorer",
		Description:           "Follows Windows process-creation logs (Sysmon Event ID 1, Security 4688, Defender DeviceProcessEvents; XML, JSON Lines or CSV), scores each command line with the ESCU model and rule packs, and indexes one scorecmdline:verdict event per process.",
		UseExternalValidation: true,
		UseSingleInstance:     false,
		StreamingMode:         "xml",
		Args:                  schemeArgs,
	}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
