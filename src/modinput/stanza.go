package modinput

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"scorecmdline/src/score"
)

// stanza follows the files of one configured input.
type stanza struct {
	cfg      *stanzaConfig
	log      logger
	out      *eventWriter
	meta     eventMeta
	scorer   *score.Scorer
	emitAll  bool
	minScore float64

	cpPath     string
	firstRun   bool        // no checkpoint existed: start=end applies to the first discovery
	restore    []fileState // checkpoint entries not yet matched to a file
	discovered bool
	files      []*tracked
	dirty      bool // offsets changed since the last checkpoint
	pending    int  // records consumed since the last checkpoint
	cpFailed   bool // the last save failed: consume nothing until one succeeds
	warned     map[string]bool

	buf  []byte
	json []byte
	cmd  []byte
	par  []byte

	stats    stats
	logged   stats
	loggedAt time.Time
	next     time.Time
	busy     bool // the last poll stopped at pollBudget with data left
}

// pollBudget bounds the records one poll consumes, so that a stanza with a
// large backlog lets the other stanzas (and a shutdown) have their turn; a
// busy stanza is polled again at once.
const pollBudget = 50_000

type stats struct {
	Records, Events, Alerts, Skipped, Bad, Truncated, Rotated int64
}

func newStanza(cfg *stanzaConfig, eng *score.Engine, dir string, out *eventWriter, log logger) *stanza {
	s := &stanza{
		cfg: cfg, log: log, out: out,
		meta:     newEventMeta(cfg.Name, cfg.Index, cfg.Host),
		scorer:   eng.NewScorer(),
		emitAll:  cfg.Params.Emit == "all",
		minScore: cfg.Params.MinScore,
		cpPath:   checkpointPath(dir, cfg.Name),
		warned:   map[string]bool{},
		loggedAt: time.Now(),
	}
	removeStaleTemps(s.cpPath)
	doc, exists, err := loadCheckpoint(s.cpPath)
	if err != nil {
		// Re-reading from the start repeats records; guessing loses them.
		log.errorf("%s: %v; files will be read from their beginning", cfg.Name, err)
		if errors.Is(err, ErrCheckpoint) {
			os.Rename(s.cpPath, s.cpPath+".bad")
		}
	}
	s.firstRun = !exists
	s.restore = doc.Files
	return s
}

// poll looks for files, reads what is new and checkpoints. It returns an
// error only when stdout fails, which ends the run.
func (s *stanza) poll(ctx context.Context) error {
	if s.cpFailed {
		if err := s.save(); err != nil {
			return nil // still failing; logged by save
		}
	}
	s.discover()
	for _, t := range s.files {
		t.gotData = false
		s.verify(t)
	}
	batch := s.cfg.Params.BatchSize
	s.busy = false
	consumed := 0
	for progressed := true; progressed && ctx.Err() == nil; {
		if consumed >= pollBudget {
			s.busy = true
			break
		}
		progressed = false
		for _, t := range s.files {
			if ctx.Err() != nil || s.cpFailed {
				break
			}
			n, err := s.consume(t, batch-s.pending, false)
			if s.out.err != nil {
				return s.out.err
			}
			if err != nil {
				s.warnOnce(t.path+"\x00read", "%s: reading %s: %v", s.cfg.Name, t.path, err)
			}
			if n > 0 {
				progressed, t.gotData = true, true
				consumed += n
			}
			if s.pending += n; s.pending >= batch {
				if err := s.commit(); err != nil {
					return err
				}
			}
		}
	}
	s.retire(ctx)
	if s.out.err != nil {
		return s.out.err
	}
	if err := s.commit(); err != nil {
		return err
	}
	s.maybeLogStats(false)
	return nil
}

// retire closes files that no longer match the path once they have been
// idle for rotateGrace polls, taking their unterminated last line first.
func (s *stanza) retire(ctx context.Context) {
	kept := s.files[:0]
	for _, t := range s.files {
		if !t.gone || ctx.Err() != nil || s.cpFailed || s.busy {
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
		if s.pending >= s.cfg.Params.BatchSize {
			if s.commit() != nil || s.cpFailed {
				kept = append(kept, t)
				continue
			}
		}
		n, err := s.consume(t, s.cfg.Params.BatchSize-s.pending, true)
		if err != nil {
			s.log.warnf("%s: reading %s: %v", s.cfg.Name, t.path, err)
		}
		s.pending += n
		if fi, err := t.f.Stat(); err == nil && fi.Size() > t.off && t.broken == nil && t.format != FormatAuto {
			kept = append(kept, t) // not drained within this batch: next poll
			continue
		}
		s.log.infof("%s: closed %s (no longer matches path %s) at offset %d", s.cfg.Name, t.path, s.cfg.Params.Path, t.off)
		t.f.Close()
		s.dirty = true
	}
	clear(s.files[len(kept):])
	s.files = kept
}

// discover globs the path, adopts new files and marks vanished ones.
func (s *stanza) discover() {
	matches, err := filepath.Glob(s.cfg.Params.Path)
	if err != nil {
		s.warnOnce("glob", "%s: path %s: %v", s.cfg.Name, s.cfg.Params.Path, err)
	}
	seen := make(map[*tracked]bool, len(s.files))
	for _, p := range matches {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		t := s.find(identity(fi), p)
		if t == nil {
			nt, err := openTracked(p, s.cfg.format)
			if err != nil {
				s.warnOnce(p, "%s: cannot open %s: %v", s.cfg.Name, p, err)
				continue
			}
			// The name may have been replaced between Stat and Open.
			if t = s.find(nt.id, p); t != nil {
				nt.f.Close()
			} else {
				t = nt
				s.place(t)
				s.files = append(s.files, t)
				s.dirty = true
				s.log.infof("%s: following %s from offset %d (line %d)", s.cfg.Name, p, t.off, t.line+1)
			}
		}
		if t.path != p {
			s.log.infof("%s: %s was renamed to %s", s.cfg.Name, t.path, p)
			t.path, t.source = p, sourceElement(p)
			s.dirty = true
		}
		t.gone = false
		seen[t] = true
	}
	for _, t := range s.files {
		if !seen[t] && !t.gone {
			t.gone, t.idle = true, 0
			s.stats.Rotated++
			s.log.infof("%s: %s no longer matches path (rotated or deleted); reading it to its end", s.cfg.Name, t.path)
		}
	}
	if !s.discovered {
		s.discovered = true
		s.recoverMissing()
		s.restore = nil
	}
	// Record new files before reading them: if the input dies after
	// emitting some of a file's records and the file is rotated away while
	// it is down, the checkpoint must still lead to it.
	if s.dirty && s.pending == 0 {
		s.commit()
	}
}

func (s *stanza) find(id fileID, path string) *tracked {
	for _, t := range s.files {
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
// with start=end on a stanza's first run, else its beginning.
func (s *stanza) place(t *tracked) {
	if s.discovered {
		return // appeared while running: new data
	}
	for i, e := range s.restore {
		if !e.matches(t) {
			continue
		}
		s.restore = append(s.restore[:i], s.restore[i+1:]...)
		s.adopt(t, e)
		return
	}
	if s.firstRun && s.cfg.Params.Start == "end" {
		if ok, err := s.resolve(t); ok && err == nil {
			t.off, t.line, _ = s.endOfRecords(t)
			s.updateFingerprint(t)
		}
	}
}

// adopt resumes t at its checkpoint entry unless its content changed.
func (s *stanza) adopt(t *tracked, e fileState) {
	fi, err := t.f.Stat()
	if err != nil {
		return
	}
	sum, ok, err := fingerprint(t.f, e.FPLen)
	if err != nil || !ok || sum != e.FPHash || fi.Size() < e.Offset {
		s.log.warnf("%s: %s changed while the input was stopped (truncated or replaced); reading it from the start", s.cfg.Name, t.path)
		s.stats.Truncated++
		return
	}
	t.off, t.line, t.fpLen, t.fpHash = e.Offset, e.Line, e.FPLen, e.FPHash
}

// recoverMissing looks for checkpointed files that the glob no longer
// matches in their old directory, by identity: a file rotated while the
// input was stopped is read to its end instead of losing its tail.
func (s *stanza) recoverMissing() {
	for _, e := range s.restore {
		if e.Dev == 0 && e.Ino == 0 {
			s.log.infof("%s: checkpointed file %s is gone", s.cfg.Name, e.Path)
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
			t, err := openTracked(p, s.cfg.format)
			if err != nil || !e.matches(t) {
				if t != nil {
					t.f.Close()
				}
				continue
			}
			s.adopt(t, e)
			t.gone = true
			s.files = append(s.files, t)
			s.log.infof("%s: found %s (was %s, rotated while stopped); reading it to its end from offset %d", s.cfg.Name, p, e.Path, t.off)
			found = true
			break
		}
		if !found {
			s.log.warnf("%s: checkpointed file %s (offset %d) is gone; records written to it after that offset, if any, were not read", s.cfg.Name, e.Path, e.Offset)
		}
		s.dirty = true
	}
}

// commit makes the events written so far reach stdout, then saves the
// checkpoint that covers them. Only a stdout failure is returned.
func (s *stanza) commit() error {
	if !s.dirty {
		s.pending = 0
		return nil
	}
	if err := s.out.flush(); err != nil {
		return err
	}
	if err := s.save(); err != nil {
		return nil
	}
	s.pending = 0
	return nil
}

// save writes the checkpoint; on failure the stanza stops consuming (so
// the repeat window stays bounded) until a later save succeeds.
func (s *stanza) save() error {
	doc := checkpointDoc{Version: checkpointVersion, Stanza: s.cfg.Name, Files: make([]fileState, 0, len(s.files))}
	for _, t := range s.files {
		doc.Files = append(doc.Files, t.state())
	}
	if err := saveCheckpoint(s.cpPath, doc); err != nil {
		if !s.cpFailed {
			s.log.errorf("%s: %v; pausing until the checkpoint can be saved", s.cfg.Name, err)
		}
		s.cpFailed = true
		return err
	}
	if s.cpFailed {
		s.log.infof("%s: checkpoint saved again; resuming", s.cfg.Name)
	}
	s.cpFailed, s.dirty = false, false
	return nil
}

// record handles one raw record at t's offset: parse, score, write.
func (s *stanza) record(t *tracked, raw []byte) {
	b := trimRecord(raw, t.off)
	if len(bytesTrimSpace(b)) == 0 {
		return
	}
	var (
		rec Record
		err error
	)
	switch t.format {
	case FormatXML:
		rec, err = ParseXML(b)
	case FormatJSONL:
		rec, err = ParseJSON(b)
	case FormatCSV:
		if t.header == nil {
			h, err := ParseCSVHeader(b)
			if err != nil {
				s.markBroken(t, &RecordError{File: t.path, Line: t.line + 1, Offset: t.off, Err: err})
			}
			t.header = h
			return
		}
		rec, err = t.header.Parse(b)
	}
	switch {
	case errors.Is(err, ErrSkipped):
		s.stats.Skipped++
		return
	case err != nil:
		s.badRecord(t, &RecordError{File: t.path, Line: t.line + 1, Offset: t.off, Err: err})
		return
	}
	parent := rec.ParentProcessName
	if parent == "" {
		parent = rec.ParentProcessPath
	}
	s.cmd = append(s.cmd[:0], rec.Process...)
	s.par = append(s.par[:0], parent...)
	res := s.scorer.Score(s.cmd, s.par)
	s.stats.Records++
	alert := res.Alert(s.minScore)
	if alert {
		s.stats.Alerts++
	}
	if !s.emitAll && !alert {
		return
	}
	js := append(s.json[:0], '{')
	js = rec.AppendJSON(js)
	mark := len(js)
	js = res.AppendJSON(append(js, ','))
	if len(js) == mark+1 { // an empty command line has no scoring fields
		js = js[:mark]
	}
	js = append(js, '}')
	s.json = js
	s.out.event(&s.meta, t.source, rec.Time, js)
	s.stats.Events++
}

func bytesTrimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func (s *stanza) badRecord(t *tracked, err *RecordError) {
	s.stats.Bad++
	if t.errsLogged < maxRecordLogs {
		t.errsLogged++
		s.log.warnf("%s: skipping bad record: %v", s.cfg.Name, err)
		if t.errsLogged == maxRecordLogs {
			s.log.warnf("%s: further bad records in %s are counted, not logged", s.cfg.Name, t.path)
		}
	}
}

func (s *stanza) markBroken(t *tracked, err error) {
	t.broken = err
	// Fingerprint what is there now (beyond the offset) so that verify
	// notices when the file is rewritten and gives it another chance.
	if fi, serr := t.f.Stat(); serr == nil {
		n := int(min(fi.Size(), fingerprintMax))
		if sum, ok, ferr := fingerprint(t.f, n); ferr == nil && ok {
			t.fpLen, t.fpHash = n, sum
			s.dirty = true
		}
	}
	s.log.errorf("%s: cannot read %s: %v; it is skipped until it is truncated or replaced", s.cfg.Name, t.path, err)
}

func (s *stanza) warnOnce(key, format string, args ...any) {
	if !s.warned[key] {
		s.warned[key] = true
		s.log.warnf(format, args...)
	}
}

// maybeLogStats logs the counters when they changed, at most once a minute
// (or now, with force).
func (s *stanza) maybeLogStats(force bool) {
	if s.stats == s.logged || (!force && time.Since(s.loggedAt) < time.Minute) {
		return
	}
	st := s.stats
	s.log.infof("%s: %s", s.cfg.Name, fmt.Sprintf("records=%d events=%d alerts=%d skipped=%d bad=%d truncated=%d rotated=%d files=%d",
		st.Records, st.Events, st.Alerts, st.Skipped, st.Bad, st.Truncated, st.Rotated, len(s.files)))
	s.logged, s.loggedAt = st, time.Now()
}

// close releases the stanza's files.
func (s *stanza) close() {
	for _, t := range s.files {
		t.f.Close()
	}
	s.files = nil
}
