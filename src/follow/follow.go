package follow

import (
	"context"
	"errors"
	"os"
	"path/filepath"
)

// Config sets up a Follower.
type Config struct {
	// Name prefixes every log message (the modular input's stanza name).
	Name string
	// Path is a file or a filepath.Match glob.
	Path string
	// Checkpoint is the checkpoint file (see CheckpointPath).
	Checkpoint string
	// StartAtEnd skips the files present at the first run (no checkpoint
	// yet) to their last complete record.
	StartAtEnd bool
	// BatchSize bounds the records consumed between checkpoints, so it
	// bounds what a crash can repeat.
	BatchSize int
	// NewDecoder returns the decoder of a file found at path, called when
	// the file is first followed and again when it is read from its start
	// after a truncation.
	NewDecoder func(path string) Decoder
	// Output is where the decoders write; it is flushed before every
	// checkpoint save, and its error stops the follower.
	Output Output
	Log    Logger
}

// A Decoder handles the records of one followed file.
type Decoder interface {
	// Frame decides how the file's records are framed from its first
	// bytes (up to 4 KiB, fewer when the file is shorter). A nil Framer
	// means the bytes cannot tell yet (a blank file): Frame is asked again
	// at the next poll. With header, the file's first record is a header
	// the decoder must see before any other: when a file is resumed past
	// it, the follower reads it again and passes it to Record first.
	Frame(head []byte) (fr Framer, header bool)
	// Record handles one complete record as framed, line end included. An
	// error makes it a bad record (counted, logged with its position; the
	// file goes on) unless it wraps ErrBroken (see Broken).
	Record(rec []byte, at Pos) error
}

// Pos is where a record starts.
type Pos struct {
	Path   string // the file's current name
	Offset int64  // byte offset in the file
	Line   int64  // 1-based line number
}

// Output is what a follower needs of the writer its decoders write to.
type Output interface {
	// Flush makes everything written so far durable downstream.
	Flush() error
	// Err returns the first write error, after which nothing is consumed.
	Err() error
}

// Logger receives the follower's messages, one line each.
type Logger interface {
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Stats are a follower's counters.
type Stats struct {
	Bad       int64 // records a decoder rejected, or too long
	Truncated int64 // files read again from their start
	Rotated   int64 // files that stopped matching the path
}

// Follower follows the files a path matches.
type Follower struct {
	cfg Config
	log Logger

	firstRun   bool        // no checkpoint existed: StartAtEnd applies to the first discovery
	restore    []fileState // checkpoint entries not yet matched to a file
	discovered bool
	files      []*tracked
	dirty      bool // offsets changed since the last checkpoint
	pending    int  // records consumed since the last checkpoint
	cpFailed   bool // the last save failed: consume nothing until one succeeds
	warned     map[string]bool
	busy       bool // the last poll stopped at pollBudget with data left

	buf   []byte
	stats Stats
}

// pollBudget bounds the records one poll consumes, so that a follower with
// a large backlog lets the others (and a shutdown) have their turn; a busy
// follower is polled again at once.
const pollBudget = 50_000

// New returns a follower resuming from cfg.Checkpoint. An unreadable
// checkpoint is logged and renamed *.bad, and the files are read from
// their start: repeats rather than losses.
func New(cfg Config) *Follower {
	f := &Follower{cfg: cfg, log: cfg.Log, warned: map[string]bool{}}
	removeStaleTemps(cfg.Checkpoint)
	doc, exists, err := loadCheckpoint(cfg.Checkpoint)
	if err != nil {
		// Re-reading from the start repeats records; guessing loses them.
		f.log.Errorf("%s: %v; files will be read from their beginning", cfg.Name, err)
		if errors.Is(err, ErrCheckpoint) {
			os.Rename(cfg.Checkpoint, cfg.Checkpoint+".bad")
		}
	}
	f.firstRun = !exists
	f.restore = doc.Files
	return f
}

// Stats returns the counters.
func (f *Follower) Stats() Stats { return f.stats }

// Files returns how many files are open.
func (f *Follower) Files() int { return len(f.files) }

// Busy reports that the last poll stopped at its budget with data left:
// poll again without waiting.
func (f *Follower) Busy() bool { return f.busy }

// Paused reports that the last checkpoint save failed; nothing is consumed
// until one succeeds.
func (f *Follower) Paused() bool { return f.cpFailed }

// Poll looks for files, reads what is new and checkpoints. It returns an
// error only when the output fails, which should end the run.
func (f *Follower) Poll(ctx context.Context) error {
	if f.cpFailed {
		if err := f.save(); err != nil {
			return nil // still failing; logged by save
		}
	}
	f.discover()
	for _, t := range f.files {
		t.gotData = false
		f.verify(t)
	}
	batch := f.cfg.BatchSize
	f.busy = false
	consumed := 0
	for progressed := true; progressed && ctx.Err() == nil; {
		if consumed >= pollBudget {
			f.busy = true
			break
		}
		progressed = false
		for _, t := range f.files {
			if ctx.Err() != nil || f.cpFailed {
				break
			}
			n, err := f.consume(t, batch-f.pending, false)
			if err := f.cfg.Output.Err(); err != nil {
				return err
			}
			if err != nil {
				f.warnOnce(t.path+"\x00read", "%s: reading %s: %v", f.cfg.Name, t.path, err)
			}
			if n > 0 {
				progressed, t.gotData = true, true
				consumed += n
			}
			if f.pending += n; f.pending >= batch {
				if err := f.Commit(); err != nil {
					return err
				}
			}
		}
	}
	f.retire(ctx)
	if err := f.cfg.Output.Err(); err != nil {
		return err
	}
	return f.Commit()
}

// retire closes files that no longer match the path once they have been
// idle for rotateGrace polls, taking their unterminated last line first.
func (f *Follower) retire(ctx context.Context) {
	kept := f.files[:0]
	for _, t := range f.files {
		if !t.gone || ctx.Err() != nil || f.cpFailed || f.busy {
			kept = append(kept, t)
			continue
		}
		if t.gotData {
			t.idle = 0
		} else {
			t.idle++
		}
		if t.idle < rotateGrace {
			kept = append(kept, t)
			continue
		}
		if f.pending >= f.cfg.BatchSize {
			if f.Commit() != nil || f.cpFailed {
				kept = append(kept, t)
				continue
			}
		}
		n, err := f.consume(t, f.cfg.BatchSize-f.pending, true)
		if err != nil {
			f.log.Warnf("%s: reading %s: %v", f.cfg.Name, t.path, err)
		}
		f.pending += n
		if fi, err := t.f.Stat(); err == nil && fi.Size() > t.off && t.broken == nil && t.framer != nil {
			kept = append(kept, t) // not drained within this batch: next poll
			continue
		}
		f.log.Infof("%s: closed %s (no longer matches path %s) at offset %d", f.cfg.Name, t.path, f.cfg.Path, t.off)
		t.f.Close()
		f.dirty = true
	}
	clear(f.files[len(kept):])
	f.files = kept
}

// discover globs the path, adopts new files and marks vanished ones.
func (f *Follower) discover() {
	matches, err := filepath.Glob(f.cfg.Path)
	if err != nil {
		f.warnOnce("glob", "%s: path %s: %v", f.cfg.Name, f.cfg.Path, err)
	}
	seen := make(map[*tracked]bool, len(f.files))
	for _, p := range matches {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		t := f.find(identity(fi), p)
		if t == nil {
			nt, err := f.open(p)
			if err != nil {
				f.warnOnce(p, "%s: cannot open %s: %v", f.cfg.Name, p, err)
				continue
			}
			// The name may have been replaced between Stat and Open.
			if t = f.find(nt.id, p); t != nil {
				nt.f.Close()
			} else {
				t = nt
				f.place(t)
				f.files = append(f.files, t)
				f.dirty = true
				f.log.Infof("%s: following %s from offset %d (line %d)", f.cfg.Name, p, t.off, t.line+1)
			}
		}
		if t.path != p {
			f.log.Infof("%s: %s was renamed to %s", f.cfg.Name, t.path, p)
			t.path = p
			f.dirty = true
		}
		t.gone = false
		seen[t] = true
	}
	for _, t := range f.files {
		if !seen[t] && !t.gone {
			t.gone, t.idle = true, 0
			f.stats.Rotated++
			f.log.Infof("%s: %s no longer matches path (rotated or deleted); reading it to its end", f.cfg.Name, t.path)
		}
	}
	if !f.discovered {
		f.discovered = true
		f.recoverMissing()
		f.restore = nil
	}
	// Record new files before reading them: if the input dies after
	// emitting some of a file's records and the file is rotated away while
	// it is down, the checkpoint must still lead to it.
	if f.dirty && f.pending == 0 {
		f.Commit()
	}
}

func (f *Follower) find(id fileID, path string) *tracked {
	for _, t := range f.files {
		if (!id.zero() && t.id == id) || (id.zero() && t.path == path) {
			return t
		}
	}
	return nil
}

func (e fileState) matches(t *tracked) bool {
	if e.Dev != 0 || e.Ino != 0 {
		return e.Dev == t.id.Dev && e.Ino == t.id.Ino
	}
	return t.id.zero() && e.Path == t.path
}

// place sets where a newly found file is read from: its checkpoint entry
// if it has one whose fingerprint still matches, its last complete record
// with StartAtEnd on a first run, else its beginning.
func (f *Follower) place(t *tracked) {
	if f.discovered {
		return // appeared while running: new data
	}
	for i, e := range f.restore {
		if !e.matches(t) {
			continue
		}
		f.restore = append(f.restore[:i], f.restore[i+1:]...)
		f.adopt(t, e)
		return
	}
	if f.firstRun && f.cfg.StartAtEnd {
		if ok, err := f.resolve(t); ok && err == nil {
			t.off, t.line, _ = t.endOfRecords()
			f.updateFingerprint(t)
		}
	}
}

// adopt resumes t at its checkpoint entry unless its content changed.
func (f *Follower) adopt(t *tracked, e fileState) {
	fi, err := t.f.Stat()
	if err != nil {
		return
	}
	sum, ok, err := fingerprint(t.f, e.FPLen)
	if err != nil || !ok || sum != e.FPHash || fi.Size() < e.Offset {
		f.log.Warnf("%s: %s changed while the input was stopped (truncated or replaced); reading it from the start", f.cfg.Name, t.path)
		f.stats.Truncated++
		return
	}
	t.off, t.line, t.fpLen, t.fpHash = e.Offset, e.Line, e.FPLen, e.FPHash
}

// recoverMissing looks for checkpointed files that the glob no longer
// matches in their old directory, by identity: a file rotated while the
// input was stopped is read to its end instead of losing its tail.
func (f *Follower) recoverMissing() {
	for _, e := range f.restore {
		if e.Dev == 0 && e.Ino == 0 {
			f.log.Infof("%s: checkpointed file %s is gone", f.cfg.Name, e.Path)
			continue
		}
		dir := filepath.Dir(e.Path)
		ents, _ := os.ReadDir(dir)
		found := false
		for _, de := range ents {
			if !de.Type().IsRegular() {
				continue
			}
			fi, err := de.Info()
			if err != nil || identity(fi) != (fileID{e.Dev, e.Ino}) {
				continue
			}
			p := filepath.Join(dir, de.Name())
			t, err := f.open(p)
			if err != nil || !e.matches(t) {
				if t != nil {
					t.f.Close()
				}
				continue
			}
			f.adopt(t, e)
			t.gone = true
			f.files = append(f.files, t)
			f.log.Infof("%s: found %s (was %s, rotated while stopped); reading it to its end from offset %d", f.cfg.Name, p, e.Path, t.off)
			found = true
			break
		}
		if !found {
			f.log.Warnf("%s: checkpointed file %s (offset %d) is gone; records written to it after that offset, if any, were not read", f.cfg.Name, e.Path, e.Offset)
		}
		f.dirty = true
	}
}

// Commit makes the records handled so far reach the output, then saves
// the checkpoint that covers them. Only an output failure is returned; a
// failed save pauses the follower (see Paused).
func (f *Follower) Commit() error {
	if !f.dirty {
		f.pending = 0
		return nil
	}
	if err := f.cfg.Output.Flush(); err != nil {
		return err
	}
	if err := f.save(); err != nil {
		return nil
	}
	f.pending = 0
	return nil
}

// save writes the checkpoint; on failure the follower stops consuming (so
// the repeat window stays bounded) until a later save succeeds.
func (f *Follower) save() error {
	doc := checkpointDoc{Version: checkpointVersion, Stanza: f.cfg.Name, Files: make([]fileState, 0, len(f.files))}
	for _, t := range f.files {
		doc.Files = append(doc.Files, t.state())
	}
	if err := saveCheckpoint(f.cfg.Checkpoint, doc); err != nil {
		if !f.cpFailed {
			f.log.Errorf("%s: %v; pausing until the checkpoint can be saved", f.cfg.Name, err)
		}
		f.cpFailed = true
		return err
	}
	if f.cpFailed {
		f.log.Infof("%s: checkpoint saved again; resuming", f.cfg.Name)
	}
	f.cpFailed, f.dirty = false, false
	return nil
}

// handle passes one record at t's offset to its decoder.
func (f *Follower) handle(t *tracked, rec []byte) {
	at := Pos{Path: t.path, Offset: t.off, Line: t.line + 1}
	if t.off == 0 {
		t.headerSeen = true
	}
	switch err := t.dec.Record(rec, at); {
	case err == nil:
	case errors.Is(err, ErrBroken):
		f.markBroken(t, &RecordError{File: t.path, Line: at.Line, Offset: at.Offset, Err: err})
	default:
		f.badRecord(t, &RecordError{File: t.path, Line: at.Line, Offset: at.Offset, Err: err})
	}
}

func (f *Follower) badRecord(t *tracked, err *RecordError) {
	f.stats.Bad++
	if t.errsLogged < maxRecordLogs {
		t.errsLogged++
		f.log.Warnf("%s: skipping bad record: %v", f.cfg.Name, err)
		if t.errsLogged == maxRecordLogs {
			f.log.Warnf("%s: further bad records in %s are counted, not logged", f.cfg.Name, t.path)
		}
	}
}

func (f *Follower) markBroken(t *tracked, err error) {
	t.broken = err
	// Fingerprint what is there now (beyond the offset) so that verify
	// notices when the file is rewritten and gives it another chance.
	if fi, serr := t.f.Stat(); serr == nil {
		n := int(min(fi.Size(), fingerprintMax))
		if sum, ok, ferr := fingerprint(t.f, n); ferr == nil && ok {
			t.fpLen, t.fpHash = n, sum
			f.dirty = true
		}
	}
	f.log.Errorf("%s: cannot read %s: %v; it is skipped until it is truncated or replaced", f.cfg.Name, t.path, err)
}

func (f *Follower) warnOnce(key, format string, args ...any) {
	if !f.warned[key] {
		f.warned[key] = true
		f.log.Warnf(format, args...)
	}
}

// Close releases the files.
func (f *Follower) Close() {
	for _, t := range f.files {
		t.f.Close()
	}
	f.files = nil
}
