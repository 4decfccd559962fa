package modinput

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"scorecmdline/src/event"
	"scorecmdline/src/follow"
	"scorecmdline/src/score"
	"scorecmdline/src/winevent"
)

// stanza is one configured input: a follower over its files whose
// decoders parse each record, score it and write its verdict event.
type stanza struct {
	cfg      *stanzaConfig
	log      logger
	out      *eventWriter
	meta     eventMeta
	scorer   *score.Scorer
	emitAll  bool
	minScore float64
	f        *follow.Follower
	cpPath   string

	ev    event.Event
	evBuf []byte // the event's values
	json  []byte

	stats    stats
	logged   stats
	loggedAt time.Time
	next     time.Time
}

// stats are a stanza's counters; the follower keeps the file ones.
type stats struct {
	Records, Events, Alerts, Skipped int64
	follow.Stats
}

func newStanza(cfg *stanzaConfig, eng *score.Engine, dir string, out *eventWriter, log logger) *stanza {
	s := &stanza{
		cfg: cfg, log: log, out: out,
		meta:     newEventMeta(cfg.Name, cfg.Index, cfg.Host),
		scorer:   eng.NewScorer(),
		emitAll:  cfg.Params.Emit == "all",
		minScore: cfg.minScore,
		cpPath:   follow.CheckpointPath(dir, cfg.Name),
		loggedAt: time.Now(),
	}
	s.f = follow.New(follow.Config{
		Name:       cfg.Name,
		Path:       cfg.Params.Path,
		Checkpoint: s.cpPath,
		StartAtEnd: cfg.Params.Start == "end",
		BatchSize:  cfg.Params.BatchSize,
		NewDecoder: func(string) follow.Decoder { return &decoder{s: s, format: cfg.format} },
		Output:     out,
		Log:        log,
	})
	return s
}

// decoder reads one followed file in its format.
type decoder struct {
	s      *stanza
	format winevent.Format
	header *winevent.CSVHeader
	path   string // the file name source was made for
	source []byte // escaped <source> element
}

// Frame decides an auto format from the file's first bytes; CSV records
// may hold quoted newlines and follow a header.
func (d *decoder) Frame(head []byte) (follow.Framer, bool) {
	if d.format == winevent.FormatAuto {
		if d.format = winevent.Sniff(head); d.format == winevent.FormatAuto {
			return nil, false
		}
	}
	if d.format == winevent.FormatCSV {
		return follow.CSV(), true
	}
	return follow.Lines(), false
}

// Record parses, scores and writes one record. A CSV header naming no
// known column makes the file unreadable.
func (d *decoder) Record(raw []byte, at follow.Pos) error {
	b := trimRecord(raw, at.Offset)
	if len(bytes.Trim(b, " \t\r")) == 0 {
		return nil
	}
	var (
		rec winevent.Record
		err error
	)
	switch d.format {
	case winevent.FormatXML:
		rec, err = winevent.ParseXML(b)
	case winevent.FormatJSONL:
		rec, err = winevent.ParseJSON(b)
	case winevent.FormatCSV:
		if d.header == nil {
			h, err := winevent.ParseCSVHeader(b)
			if err != nil {
				return follow.Broken(err)
			}
			d.header = h
			return nil
		}
		rec, err = d.header.Parse(b)
	}
	switch {
	case errors.Is(err, winevent.ErrSkipped):
		d.s.stats.Skipped++
		return nil
	case err != nil:
		return err
	}
	if at.Path != d.path || d.source == nil {
		d.path, d.source = at.Path, sourceElement(at.Path)
	}
	d.s.emit(&rec, d.source)
	return nil
}

// trimRecord drops the record's line end, and a UTF-8 byte order mark at
// the start of the file.
func trimRecord(rec []byte, off int64) []byte {
	rec = bytes.TrimSuffix(rec, []byte{'\n'})
	rec = bytes.TrimSuffix(rec, []byte{'\r'})
	if off == 0 {
		rec = bytes.TrimPrefix(rec, winevent.BOM)
	}
	return rec
}

// emit scores rec with every field it has and writes its event, unless
// emit=alerts and it is no alert.
func (s *stanza) emit(rec *winevent.Record, source []byte) {
	s.evBuf = rec.Fill(&s.ev, s.evBuf)
	res := s.scorer.Score(&s.ev)
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
	s.out.event(&s.meta, source, rec.Time, js)
	s.stats.Events++
}

// maybeLogStats logs the counters when they changed, at most once a minute
// (or now, with force).
func (s *stanza) maybeLogStats(force bool) {
	st := s.stats
	st.Stats = s.f.Stats()
	if st == s.logged || (!force && time.Since(s.loggedAt) < time.Minute) {
		return
	}
	s.log.Infof("%s: %s", s.cfg.Name, fmt.Sprintf("records=%d events=%d alerts=%d skipped=%d bad=%d truncated=%d rotated=%d files=%d",
		st.Records, st.Events, st.Alerts, st.Skipped, st.Bad, st.Truncated, st.Rotated, s.f.Files()))
	s.logged, s.loggedAt = st, time.Now()
}

// poll reads what is new in the stanza's files; an error is an output
// failure, which ends the run.
func (s *stanza) poll(ctx context.Context) error {
	if err := s.f.Poll(ctx); err != nil {
		return err
	}
	s.maybeLogStats(false)
	return nil
}

// close releases the stanza's files.
func (s *stanza) close() { s.f.Close() }
