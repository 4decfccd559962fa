// Package modinput is the `scorecmdline` modular input: splunkd runs the
// binary with --scheme, with --validate-arguments, or with no arguments and
// an <input> XML document on stdin. In the last case each configured stanza
// follows the files its `path` glob matches, parses process-creation records
// (Sysmon Event ID 1 and Security 4688 as XmlWinEventLog lines, JSON Lines in
// the NXLog/Winlogbeat/Defender shapes, CSV with a header), scores each one
// and writes one `scorecmdline:verdict` event per record as <stream> XML on
// stdout:
//
//	<stream>
//	<event stanza="scorecmdline://sysmon" unbroken="1"><time>1602155026.617</time>
//	<source>/var/log/sysmon.xml</source><sourcetype>scorecmdline:verdict</sourcetype>
//	<data>{"process":"cmd.exe /c ...","process_name":"cmd.exe",...,"score":-3.2,...}</data><done/></event>
//
// The package is the glue between three others: package follow follows
// the files and keeps the checkpoints, package winevent parses the
// records into CIM fields, and package score scores the event each record
// fills. What is left here is the Splunk side: the scheme, argument
// validation, the <input> document, stanza parameters and the <stream>
// event writer.
//
// # Long-running loop
//
// inputs.conf sets interval = 0, so splunkd restarts the process whenever it
// exits; Run therefore never exits on its own while it has a valid stanza.
// It polls every stanza's files each poll_interval (default 1 s); only
// complete records are consumed (a record ends at a newline; in CSV at a
// newline outside quotes), so a half-written last line stays in the file
// until its newline arrives. Run returns 0 when its context is cancelled
// (the caller cancels it on SIGTERM/SIGINT) after flushing stdout and
// saving the checkpoints. Run installs no signal handlers and starts no
// goroutines that outlive it.
//
// # Files, checkpoints and the repeat window
//
// Each stanza's files are followed as package follow documents: by
// identity and fingerprint across rotation and truncation, start=end
// applying to a stanza's very first run only. checkpoint_dir holds one
// JSON file per stanza (sanitised stanza name plus a hash), saved only
// after the events it covers have been written to stdout and flushed,
// after every batch_size consumed records (default 500) and at the end of
// every poll that consumed anything. So a crash (kill -9) at any moment
// loses no record and repeats at most batch_size, all sent just before the
// crash; an event cut in half by the kill is part of that window. If a
// checkpoint cannot be saved the stanza pauses until a save succeeds; an
// unreadable one is renamed *.bad and the files are read from their start.
//
// # Logging
//
// stderr carries one line per message, "LEVEL message", with LEVEL one of
// DEBUG INFO WARN ERROR FATAL, which splunkd files into splunkd.log under
// ExecProcessor. A record that cannot be parsed is logged with file and line
// (the first 100 per file, then only counted) and never stops the
// input; records that are not process creations (other event ids) are
// counted as skipped. Counters are logged per stanza at most once a minute
// and at shutdown.
package modinput
