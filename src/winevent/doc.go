// Package winevent parses Windows process-creation records into CIM
// Endpoint.Processes fields: Sysmon Event ID 1 and Security 4688 rendered
// as XML (XmlWinEventLog, one <Event> per line), JSON objects in the
// NXLog, Logstash, Winlogbeat, Azure Log Analytics and Defender
// DeviceProcessEvents shapes, and CSV records under a header of Windows,
// Defender or CIM column names. The modular input and the `score` tool
// read with it, so both understand the same files.
//
// A Sysmon line such as
//
//	<Event ...><System><EventID>1</EventID>...<Computer>ws-042</Computer></System>
//	<EventData><Data Name='Image'>C:\Windows\System32\cmd.exe</Data>
//	<Data Name='CommandLine'>cmd /c whoami</Data>...</EventData></Event>
//
// becomes a Record with Process "cmd /c whoami", ProcessPath
// `C:\Windows\System32\cmd.exe`, ProcessName "cmd.exe", Dest "ws-042" and
// VendorProduct "Microsoft Sysmon"; Record.Fill puts every field into an
// event.Event for scoring, Record.AppendJSON writes the CIM members of a
// verdict event.
//
// Each parser takes one record without its line end (ParseXML, ParseJSON,
// CSVHeader.Parse) and returns a Record, ErrSkipped for a well-formed
// record of another kind (a Sysmon network event, a 4624 logon), or a
// *SyntaxError with the byte offset where parsing stopped. Framing records
// out of a file (lines, CSV quoted newlines) is package follow's job;
// Sniff picks a file's format from its first bytes.
//
// Field mapping, per source:
//
//   - Sysmon: CommandLine, Image, ProcessId, ParentImage, ParentCommandLine,
//     ParentProcessId, User, Hashes, ProcessGuid, ParentProcessGuid,
//     CurrentDirectory, IntegrityLevel, OriginalFileName, Product, Company,
//     Description, FileVersion, ParentUser;
//   - 4688: NewProcessName is the path, ProcessId the parent's id (hex ids
//     become decimal), ParentProcessName the parent's path; the user is the
//     target account when set, else the subject, which is also ParentUser;
//   - Defender: ProcessCommandLine, FileName, FolderPath, Initiating*,
//     SHA256 (else SHA1, MD5) as the hash, AccountDomain\AccountName,
//     ProcessVersionInfo* for the version fields; only ActionType
//     ProcessCreated is a process creation;
//   - CSV with CIM names (process, parent_process_name, _time...,
//     optionally Processes.-prefixed as tstats writes them): taken as is.
package winevent
