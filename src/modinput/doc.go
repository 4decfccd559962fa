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
// # Long-running loop
//
// inputs.conf sets interval = 0, so splunkd restarts the process whenever it
// exits; Run therefore never exits on its own while it has a valid stanza.
// It polls every stanza's files each poll_interval (default 1 s): a file is
// opened once and kept open, read with pread from its checkpointed offset,
// and only complete records are consumed (a record ends at a newline; in CSV
// at a newline outside quotes). A half-written last line stays in the file
// until its newline arrives. Run returns 0 when its context is cancelled (the
// caller cancels it on SIGTERM/SIGINT) after flushing stdout and saving the
// checkpoints. Run installs no signal handlers and starts no goroutines that
// outlive it.
//
// # Files, rotation and truncation
//
// A followed file is identified by device and inode (on Unix) plus a
// fingerprint: a hash of its first bytes (up to 1 KiB, only bytes already
// consumed). Each poll re-globs the path:
//   - a new identity under a known name (rename + create rotation) is a new
//     file, read from its beginning; the renamed file stays open and is
//     drained to its end, then closed once it has been idle for rotateGrace
//     polls, its final unterminated line, if any, taken as a record then,
//     since its writer has moved on;
//   - a file renamed to another name the glob matches is the same file and
//     is not read twice;
//   - a file smaller than the consumed offset, or whose fingerprint changed,
//     was truncated (or copy-truncated and rewritten) and is read again from
//     its beginning; a rewrite that keeps the first KiB identical and is
//     already longer than the old offset when the input looks cannot be
//     told from an append;
//   - a new file is entered in the checkpoint before anything is read from
//     it, and after a restart a checkpointed file that no longer matches the
//     glob is looked for by identity in its old directory, so a rotation
//     while the input was stopped loses nothing as long as the rotated file
//     stays in that directory. A file created and rotated away while the
//     input is stopped (or between two polls) is never seen; a glob that
//     also matches rotated names (sysmon.log*) closes that gap.
//
// Every matched file is kept open. Off Unix, files are identified by path
// and fingerprint only.
//
// start=end applies only to a stanza's very first run (no checkpoint file
// yet): the files present then are skipped to their last complete record.
// Files that appear later are new data and are always read from the start.
//
// # Checkpoints and the repeat window
//
// checkpoint_dir holds one JSON file per stanza (sanitised stanza name plus
// a hash), listing each followed file's identity, fingerprint, offset and
// line number. It is replaced atomically (temp file, fsync, rename, fsync
// of the directory) and only after the events it covers have been written
// to stdout and flushed. It is saved after every batch_size consumed
// records (default 500) and at the end of every poll that consumed
// anything. So a crash (kill -9) at any moment loses no record, and leaves
// at most batch_size records sent but not covered by the checkpoint, all
// sent just before the crash; those, and only those, are sent again after
// the restart. An event cut in half by the kill is part of that window. If
// the input is killed again before a later save covers them, the windows
// of successive crashes add up until it completes a poll.
//
// If a checkpoint cannot be saved (disk full), the stanza stops reading
// until a save succeeds, so the window stays bounded. An unreadable
// checkpoint is renamed *.bad and the files are read from their start:
// repeats rather than losses.
//
// # Logging
//
// stderr carries one line per message, "LEVEL message", with LEVEL one of
// DEBUG INFO WARN ERROR FATAL, which splunkd files into splunkd.log under
// ExecProcessor. A record that cannot be parsed is logged with file and line
// (the first maxRecordLogs per file, then only counted) and never stops the
// input; records that are not process creations (other event ids) are
// counted as skipped. Counters are logged per stanza at most once a minute
// and at shutdown.
package modinput
