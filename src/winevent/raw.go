package winevent

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// flex is a JSON value read as text: strings as their content, numbers and
// booleans as written, null, objects and arrays as empty. Shippers disagree
// on types (ProcessId is "2008" in one, 2008 in another), so no type is an
// error.
type flex string

func (f *flex) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0:
		*f = ""
	case b[0] == '"':
		// Fast path: no escapes and valid UTF-8 need no decoding.
		if in := b[1 : len(b)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
			*f = flex(in)
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flex(s)
	case b[0] == '{' || b[0] == '[' || b[0] == 'n':
		*f = ""
	default:
		*f = flex(b)
	}
	return nil
}

// rawEvent holds the source fields of every supported shape under their
// source names: Windows event fields (System and EventData), NXLog and
// Logstash additions, Azure Log Analytics, Winlogbeat, Defender
// DeviceProcessEvents, and CIM names (CSV only). The XML and CSV parsers set
// fields by name through slot; JSON decodes straight into the struct (its
// case-insensitive key matching also takes ProcessID for ProcessId).
type rawEvent struct {
	EventID       flex `json:"EventID"`
	Channel       flex `json:"Channel"`
	SourceName    flex `json:"SourceName"`
	Provider      flex `json:"Provider"`
	TimeCreated   flex `json:"TimeCreated"`
	UtcTime       flex `json:"UtcTime"`
	AtTimestamp   flex `json:"@timestamp"`
	Timestamp     flex `json:"Timestamp"`
	TimeGenerated flex `json:"TimeGenerated"`
	Hostname      flex `json:"Hostname"`
	Computer      flex `json:"Computer"`

	// Sysmon Event ID 1.
	CommandLine       flex `json:"CommandLine"`
	Image             flex `json:"Image"`
	ProcessID         flex `json:"ProcessId"`
	ParentImage       flex `json:"ParentImage"`
	ParentCommandLine flex `json:"ParentCommandLine"`
	ParentProcessID   flex `json:"ParentProcessId"`
	User              flex `json:"User"`
	Hashes            flex `json:"Hashes"`
	ProcessGUID       flex `json:"ProcessGuid"`
	ParentProcessGUID flex `json:"ParentProcessGuid"`
	CurrentDirectory  flex `json:"CurrentDirectory"`
	IntegrityLevel    flex `json:"IntegrityLevel"`
	OriginalFileName  flex `json:"OriginalFileName"`
	Product           flex `json:"Product"`
	Company           flex `json:"Company"`
	Description       flex `json:"Description"`
	FileVersion       flex `json:"FileVersion"`
	ParentUser        flex `json:"ParentUser"`

	// Security 4688 (CommandLine and ProcessId shared with Sysmon; in 4688
	// ProcessId is the parent's).
	NewProcessName    flex `json:"NewProcessName"`
	NewProcessID      flex `json:"NewProcessId"`
	ParentProcessName flex `json:"ParentProcessName"`
	SubjectUserName   flex `json:"SubjectUserName"`
	SubjectDomainName flex `json:"SubjectDomainName"`
	TargetUserName    flex `json:"TargetUserName"`
	TargetUserSid     flex `json:"TargetUserSid"`
	TargetDomainName  flex `json:"TargetDomainName"`

	// Defender DeviceProcessEvents.
	DeviceName                         flex `json:"DeviceName"`
	ActionType                         flex `json:"ActionType"`
	FileName                           flex `json:"FileName"`
	FolderPath                         flex `json:"FolderPath"`
	SHA256                             flex `json:"SHA256"`
	SHA1                               flex `json:"SHA1"`
	MD5                                flex `json:"MD5"`
	ProcessCommandLine                 flex `json:"ProcessCommandLine"`
	ProcessIntegrityLevel              flex `json:"ProcessIntegrityLevel"`
	AccountDomain                      flex `json:"AccountDomain"`
	AccountName                        flex `json:"AccountName"`
	InitiatingProcessFileName          flex `json:"InitiatingProcessFileName"`
	InitiatingProcessFolderPath        flex `json:"InitiatingProcessFolderPath"`
	InitiatingProcessCommandLine       flex `json:"InitiatingProcessCommandLine"`
	InitiatingProcessID                flex `json:"InitiatingProcessId"`
	ProcessVersionInfoOriginalFileName flex `json:"ProcessVersionInfoOriginalFileName"`
	ProcessVersionInfoProductName      flex `json:"ProcessVersionInfoProductName"`
	ProcessVersionInfoCompanyName      flex `json:"ProcessVersionInfoCompanyName"`
	ProcessVersionInfoFileDescription  flex `json:"ProcessVersionInfoFileDescription"`
	InitiatingProcessAccountDomain     flex `json:"InitiatingProcessAccountDomain"`
	InitiatingProcessAccountName       flex `json:"InitiatingProcessAccountName"`

	// Nested shapes: Azure WindowsEvent keeps the event fields in EventData
	// (a JSON string), Winlogbeat in winlog.event_data, the Defender
	// streaming API in properties.
	EventData  json.RawMessage `json:"EventData"`
	Winlog     *winlogEvent    `json:"winlog"`
	Properties json.RawMessage `json:"properties"`
	Time       flex            `json:"time"`

	cim [nCIM]string // CIM-named columns, CSV only
}

type winlogEvent struct {
	EventID      flex            `json:"event_id"`
	Channel      flex            `json:"channel"`
	ComputerName flex            `json:"computer_name"`
	ProviderName flex            `json:"provider_name"`
	EventData    json.RawMessage `json:"event_data"`
}

// CIM field slots for CSV exports of already-normalised data.
const (
	cimProcess = iota
	cimProcessName
	cimProcessPath
	cimProcessID
	cimParentProcess
	cimParentProcessName
	cimParentProcessPath
	cimParentProcessID
	cimUser
	cimDest
	cimProcessHash
	cimTime
	cimOriginalFileName
	cimIntegrityLevel
	cimCurrentDirectory
	nCIM
)

var cimNames = [nCIM]string{"process", "process_name", "process_path", "process_id",
	"parent_process", "parent_process_name", "parent_process_path", "parent_process_id",
	"user", "dest", "process_hash", "_time", "original_file_name", "process_integrity_level",
	"process_current_directory"}

// sourceNames lists the names slot accepts, for case-insensitive CSV header
// matching.
var sourceNames = []string{"EventID", "EventCode", "Channel", "SourceName", "Provider", "TimeCreated", "UtcTime",
	"@timestamp", "Timestamp", "TimeGenerated", "Hostname", "Computer", "CommandLine", "Image", "ProcessId",
	"ParentImage", "ParentCommandLine", "ParentProcessId", "User", "Hashes", "ProcessGuid", "ParentProcessGuid",
	"CurrentDirectory", "IntegrityLevel", "OriginalFileName", "NewProcessName", "NewProcessId",
	"ParentProcessName", "SubjectUserName", "SubjectDomainName", "TargetUserName", "TargetUserSid", "TargetDomainName",
	"DeviceName", "ActionType", "FileName", "FolderPath", "SHA256", "SHA1", "MD5", "ProcessCommandLine",
	"ProcessIntegrityLevel", "AccountDomain", "AccountName", "InitiatingProcessFileName",
	"InitiatingProcessFolderPath", "InitiatingProcessCommandLine", "InitiatingProcessId",
	"ProcessVersionInfoOriginalFileName", "Product", "Company", "Description", "FileVersion", "ParentUser",
	"ProcessVersionInfoProductName", "ProcessVersionInfoCompanyName", "ProcessVersionInfoFileDescription",
	"InitiatingProcessAccountDomain", "InitiatingProcessAccountName"}

// describing are the source names that describe a process without making
// a record of their own: a CSV header naming only these is not recognised.
var describing = map[string]bool{"Product": true, "Company": true, "Description": true, "FileVersion": true,
	"ParentUser": true, "ProcessVersionInfoProductName": true, "ProcessVersionInfoCompanyName": true,
	"ProcessVersionInfoFileDescription": true, "InitiatingProcessAccountDomain": true, "InitiatingProcessAccountName": true}

// slot returns where the field called name (exact source spelling) goes, or
// nil for fields the input does not use.
func (r *rawEvent) slot(name string) *flex {
	switch name {
	case "EventID", "EventCode":
		return &r.EventID
	case "Channel":
		return &r.Channel
	case "SourceName":
		return &r.SourceName
	case "Provider":
		return &r.Provider
	case "TimeCreated":
		return &r.TimeCreated
	case "UtcTime":
		return &r.UtcTime
	case "@timestamp":
		return &r.AtTimestamp
	case "Timestamp":
		return &r.Timestamp
	case "TimeGenerated":
		return &r.TimeGenerated
	case "Hostname":
		return &r.Hostname
	case "Computer":
		return &r.Computer
	case "CommandLine":
		return &r.CommandLine
	case "Image":
		return &r.Image
	case "ProcessId":
		return &r.ProcessID
	case "ParentImage":
		return &r.ParentImage
	case "ParentCommandLine":
		return &r.ParentCommandLine
	case "ParentProcessId":
		return &r.ParentProcessID
	case "User":
		return &r.User
	case "Hashes":
		return &r.Hashes
	case "ProcessGuid":
		return &r.ProcessGUID
	case "ParentProcessGuid":
		return &r.ParentProcessGUID
	case "CurrentDirectory":
		return &r.CurrentDirectory
	case "IntegrityLevel":
		return &r.IntegrityLevel
	case "OriginalFileName":
		return &r.OriginalFileName
	case "NewProcessName":
		return &r.NewProcessName
	case "NewProcessId":
		return &r.NewProcessID
	case "ParentProcessName":
		return &r.ParentProcessName
	case "SubjectUserName":
		return &r.SubjectUserName
	case "SubjectDomainName":
		return &r.SubjectDomainName
	case "TargetUserName":
		return &r.TargetUserName
	case "TargetUserSid":
		return &r.TargetUserSid
	case "TargetDomainName":
		return &r.TargetDomainName
	case "DeviceName":
		return &r.DeviceName
	case "ActionType":
		return &r.ActionType
	case "FileName":
		return &r.FileName
	case "FolderPath":
		return &r.FolderPath
	case "SHA256":
		return &r.SHA256
	case "SHA1":
		return &r.SHA1
	case "MD5":
		return &r.MD5
	case "ProcessCommandLine":
		return &r.ProcessCommandLine
	case "ProcessIntegrityLevel":
		return &r.ProcessIntegrityLevel
	case "AccountDomain":
		return &r.AccountDomain
	case "AccountName":
		return &r.AccountName
	case "InitiatingProcessFileName":
		return &r.InitiatingProcessFileName
	case "InitiatingProcessFolderPath":
		return &r.InitiatingProcessFolderPath
	case "InitiatingProcessCommandLine":
		return &r.InitiatingProcessCommandLine
	case "InitiatingProcessId":
		return &r.InitiatingProcessID
	case "ProcessVersionInfoOriginalFileName":
		return &r.ProcessVersionInfoOriginalFileName
	case "Product":
		return &r.Product
	case "Company":
		return &r.Company
	case "Description":
		return &r.Description
	case "FileVersion":
		return &r.FileVersion
	case "ParentUser":
		return &r.ParentUser
	case "ProcessVersionInfoProductName":
		return &r.ProcessVersionInfoProductName
	case "ProcessVersionInfoCompanyName":
		return &r.ProcessVersionInfoCompanyName
	case "ProcessVersionInfoFileDescription":
		return &r.ProcessVersionInfoFileDescription
	case "InitiatingProcessAccountDomain":
		return &r.InitiatingProcessAccountDomain
	case "InitiatingProcessAccountName":
		return &r.InitiatingProcessAccountName
	}
	return nil
}

// hasCIM reports whether any CIM-named column was set.
func (r *rawEvent) hasCIM() bool {
	for _, v := range r.cim {
		if v != "" {
			return true
		}
	}
	return false
}

// record maps the source fields to a Record, or returns ErrSkipped for
// records that are not process creations. The shape is decided in order:
// CIM columns, Defender (ActionType/ProcessCommandLine/Initiating*), then the
// Windows event id (1 from Sysmon, 4688 from Security).
func (r *rawEvent) record() (Record, error) {
	var rec Record
	switch {
	case r.hasCIM():
		r.cimRecord(&rec)
	case r.ActionType != "" || r.ProcessCommandLine != "" || r.InitiatingProcessFileName != "":
		if r.ActionType != "" && !strings.EqualFold(string(r.ActionType), "ProcessCreated") {
			return rec, ErrSkipped
		}
		r.defenderRecord(&rec)
	default:
		switch strings.TrimSpace(string(r.EventID)) {
		case "1":
			if !r.fromSource("sysmon") {
				return rec, ErrSkipped
			}
			r.sysmonRecord(&rec)
		case "4688":
			if !r.fromSource("security") {
				return rec, ErrSkipped
			}
			r.securityRecord(&rec)
		case "":
			// No id: a bare Sysmon-shaped record is still usable.
			if r.CommandLine == "" && r.Image == "" {
				return rec, ErrSkipped
			}
			r.sysmonRecord(&rec)
		default:
			return rec, ErrSkipped
		}
	}
	rec.Time = r.time()
	return rec, nil
}

// fromSource reports whether the channel or provider names the expected
// source (Event ID 1 is used by other providers too), or names none at all.
func (r *rawEvent) fromSource(want string) bool {
	names := [...]flex{r.Channel, r.SourceName, r.Provider}
	named := false
	for _, n := range names {
		if n == "" {
			continue
		}
		named = true
		if strings.Contains(strings.ToLower(string(n)), want) {
			return true
		}
	}
	return !named
}

func (r *rawEvent) dest() string {
	for _, v := range [...]flex{r.Hostname, r.Computer, r.DeviceName} {
		if v != "" {
			return string(v)
		}
	}
	return ""
}

func (r *rawEvent) time() time.Time {
	for _, v := range [...]string{string(r.TimeCreated), string(r.UtcTime), string(r.Timestamp),
		string(r.TimeGenerated), string(r.AtTimestamp), string(r.Time), r.cim[cimTime]} {
		if t, ok := parseTime(v); ok {
			return t
		}
	}
	return time.Time{}
}

func (r *rawEvent) sysmonRecord(rec *Record) {
	rec.Process = string(r.CommandLine)
	rec.ProcessPath = string(r.Image)
	rec.ProcessName = baseName(rec.ProcessPath)
	rec.ProcessID = decimalID(string(r.ProcessID))
	rec.ParentProcess = string(r.ParentCommandLine)
	rec.ParentProcessPath = string(r.ParentImage)
	rec.ParentProcessName = baseName(rec.ParentProcessPath)
	rec.ParentProcessID = decimalID(string(r.ParentProcessID))
	rec.User = string(r.User)
	rec.Dest = r.dest()
	rec.ProcessHash = string(r.Hashes)
	rec.ProcessGUID = string(r.ProcessGUID)
	rec.ParentProcessGUID = string(r.ParentProcessGUID)
	rec.ProcessCurrentDirectory = string(r.CurrentDirectory)
	rec.ProcessIntegrityLevel = string(r.IntegrityLevel)
	rec.OriginalFileName = string(r.OriginalFileName)
	rec.Product = string(r.Product)
	rec.Company = string(r.Company)
	rec.Description = string(r.Description)
	rec.FileVersion = string(r.FileVersion)
	rec.ParentUser = string(r.ParentUser)
	rec.VendorProduct = "Microsoft Sysmon"
}

func (r *rawEvent) securityRecord(rec *Record) {
	rec.Process = string(r.CommandLine)
	rec.ProcessPath = string(r.NewProcessName)
	rec.ProcessName = baseName(rec.ProcessPath)
	rec.ProcessID = decimalID(string(r.NewProcessID))
	rec.ParentProcessPath = string(r.ParentProcessName)
	rec.ParentProcessName = baseName(rec.ParentProcessPath)
	rec.ParentProcessID = decimalID(string(r.ProcessID))
	// The new process runs as the target account when one is set (runas,
	// services), else as the subject that created it; the NULL SID
	// S-1-0-0 marks an unset target. The subject is the account of the
	// process that asked for the creation: the parent's.
	rec.ParentUser = joinAccount(string(r.SubjectDomainName), string(r.SubjectUserName))
	if t := string(r.TargetUserName); t != "" && t != "-" && r.TargetUserSid != "S-1-0-0" {
		rec.User = joinAccount(string(r.TargetDomainName), t)
	} else {
		rec.User = rec.ParentUser
	}
	rec.Dest = r.dest()
	rec.VendorProduct = "Microsoft Windows"
}

func (r *rawEvent) defenderRecord(rec *Record) {
	rec.Process = string(r.ProcessCommandLine)
	rec.ProcessName = string(r.FileName)
	rec.ProcessPath = string(r.FolderPath)
	if rec.ProcessName == "" {
		rec.ProcessName = baseName(rec.ProcessPath)
	}
	rec.ProcessID = decimalID(string(r.ProcessID))
	rec.ParentProcess = string(r.InitiatingProcessCommandLine)
	rec.ParentProcessName = string(r.InitiatingProcessFileName)
	rec.ParentProcessPath = string(r.InitiatingProcessFolderPath)
	if rec.ParentProcessName == "" {
		rec.ParentProcessName = baseName(rec.ParentProcessPath)
	}
	rec.ParentProcessID = decimalID(string(r.InitiatingProcessID))
	rec.User = joinAccount(string(r.AccountDomain), string(r.AccountName))
	rec.Dest = r.dest()
	for _, h := range [...]flex{r.SHA256, r.SHA1, r.MD5} {
		if h != "" {
			rec.ProcessHash = string(h)
			break
		}
	}
	rec.ProcessIntegrityLevel = string(r.ProcessIntegrityLevel)
	rec.OriginalFileName = string(r.ProcessVersionInfoOriginalFileName)
	rec.Product = string(r.ProcessVersionInfoProductName)
	rec.Company = string(r.ProcessVersionInfoCompanyName)
	rec.Description = string(r.ProcessVersionInfoFileDescription)
	rec.ParentUser = joinAccount(string(r.InitiatingProcessAccountDomain), string(r.InitiatingProcessAccountName))
	rec.VendorProduct = "Microsoft Defender for Endpoint"
}

func (r *rawEvent) cimRecord(rec *Record) {
	c := &r.cim
	rec.Process = c[cimProcess]
	rec.ProcessPath = c[cimProcessPath]
	rec.ProcessName = c[cimProcessName]
	if rec.ProcessName == "" {
		rec.ProcessName = baseName(rec.ProcessPath)
	}
	rec.ProcessID = c[cimProcessID]
	rec.ParentProcess = c[cimParentProcess]
	rec.ParentProcessPath = c[cimParentProcessPath]
	rec.ParentProcessName = c[cimParentProcessName]
	if rec.ParentProcessName == "" {
		rec.ParentProcessName = baseName(rec.ParentProcessPath)
	}
	rec.ParentProcessID = c[cimParentProcessID]
	rec.User = c[cimUser]
	rec.Dest = c[cimDest]
	rec.ProcessHash = c[cimProcessHash]
	rec.OriginalFileName = c[cimOriginalFileName]
	rec.ProcessIntegrityLevel = c[cimIntegrityLevel]
	rec.ProcessCurrentDirectory = c[cimCurrentDirectory]
}

func joinAccount(domain, name string) string {
	switch {
	case name == "" || name == "-":
		return ""
	case domain == "" || domain == "-":
		return name
	}
	return domain + `\` + name
}
