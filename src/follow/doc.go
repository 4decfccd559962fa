// Package follow follows the files a path glob matches, as `tail -F`
// would, and remembers in a checkpoint how far it got, so that a restart
// or a crash neither loses nor (beyond a bounded window) repeats records.
// What a record is and what becomes of it is the caller's: a Decoder per
// file picks the framing (Lines, CSV, or any Framer: an EVTX reader can
// plug in here) and handles each complete record.
//
// A Follower is polled: each Poll re-globs the path, reads every file with
// pread from its offset and hands only complete records to the decoder. A
// half-written last record stays in the file until its end arrives. A
// file is opened once and kept open.
//
// # Files, rotation and truncation
//
// A followed file is identified by device and inode (on Unix) plus a
// fingerprint: a hash of its first bytes (up to 1 KiB, only bytes already
// consumed).
//   - a new identity under a known name (rename + create rotation) is a new
//     file, read from its beginning; the renamed file stays open and is
//     drained to its end, then closed once it has been idle for rotateGrace
//     polls, its final unterminated record, if any, taken then, since its
//     writer has moved on;
//   - a file renamed to another name the glob matches is the same file and
//     is not read twice;
//   - a file smaller than the consumed offset, or whose fingerprint changed,
//     was truncated (or copy-truncated and rewritten) and is read again from
//     its beginning with a new decoder; a rewrite that keeps the first KiB
//     identical and is already longer than the old offset when the
//     follower looks cannot be told from an append;
//   - a new file is entered in the checkpoint before anything is read from
//     it, and after a restart a checkpointed file that no longer matches the
//     glob is looked for by identity in its old directory, so a rotation
//     while the follower was stopped loses nothing as long as the rotated
//     file stays in that directory. A file created and rotated away while
//     the follower is stopped (or between two polls) is never seen; a glob
//     that also matches rotated names (sysmon.log*) closes that gap.
//
// Off Unix, files are identified by path and fingerprint only.
//
// StartAtEnd applies only to the very first run (no checkpoint file yet):
// the files present then are skipped to their last complete record. Files
// that appear later are new data and are always read from the start.
//
// A record longer than MaxRecordBytes is skipped without being buffered
// and counted as a bad record (ErrTooLong). A decoder's error for a record
// makes it a bad record, logged with file, line and byte offset (the first
// 100 per file, then only counted); Broken errors stop the file until it
// is truncated or replaced (a CSV file whose header names nothing known).
//
// # Checkpoints and the repeat window
//
// The checkpoint is a JSON file listing each followed file's identity,
// fingerprint, offset and line number. It is replaced atomically (temp
// file, fsync, rename, fsync of the directory) and only after the records
// it covers have been flushed by the Output. It is saved after every
// BatchSize consumed records and at the end of every poll that consumed
// anything. So a crash (kill -9) at any moment loses no record, and leaves
// at most BatchSize records handled but not covered by the checkpoint, all
// handled just before the crash; those, and only those, are handled again
// after the restart. If the process is killed again before a later save
// covers them, the windows of successive crashes add up until it completes
// a poll.
//
// If a checkpoint cannot be saved (disk full), the follower stops reading
// until a save succeeds, so the window stays bounded. An unreadable
// checkpoint is renamed *.bad and the files are read from their start:
// repeats rather than losses.
package follow
