package modinput

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Run is the modular input's normal run: it reads the <input> document from
// stdin, then follows every valid stanza's files until ctx is cancelled,
// writing <stream> XML events to stdout and "LEVEL message" lines to stderr.
// On cancellation it finishes the batch in hand, flushes, checkpoints,
// closes </stream> and returns 0. It returns 1 when the configuration is
// unreadable, no stanza is valid, or stdout fails (nothing is checkpointed
// past what reached stdout). A configuration with no stanza returns 0 at
// once.
func Run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) int {
	log := logger{stderr}
	var in inputDoc
	if err := decodeConfig(stdin, &in); err != nil {
		log.Errorf("reading the input configuration from stdin: %v", err)
		return 1
	}
	dir := strings.TrimSpace(in.CheckpointDir)
	if dir == "" {
		log.Errorf("the input configuration has no checkpoint_dir")
		return 1
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		log.Errorf("checkpoint_dir: %v", err)
		return 1
	}
	if len(in.Stanzas) == 0 {
		log.Infof("no input stanza configured; nothing to do")
		return 0
	}
	out := newEventWriter(stdout)
	var stanzas []*stanza
	for i := range in.Stanzas {
		st := &in.Stanzas[i]
		cfg, errs := parseStanza(st.Name, st.params())
		if len(errs) == 0 {
			eng, err := cfg.newEngine()
			if err == nil {
				s := newStanza(cfg, eng, dir, out, log)
				stanzas = append(stanzas, s)
				p := &cfg.Params
				log.Infof("%s: started: path=%s format=%s emit=%s model=%s rules=%s start=%s poll_interval=%gs batch_size=%d checkpoint=%s",
					cfg.Name, p.Path, cfg.format, p.Emit, p.Model, strings.Join(p.Rules, ","), p.Start, p.PollInterval, p.BatchSize, filepath.Base(s.cpPath))
				continue
			}
			errs = append(errs, err)
		}
		log.Errorf("%s: %s; this input is not started", st.Name, joinErrors(errs))
	}
	if len(stanzas) == 0 {
		return 1
	}
	out.begin()
	if err := out.Flush(); err != nil {
		log.Errorf("writing to stdout: %v", err)
		return 1
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for ctx.Err() == nil {
		for _, s := range stanzas {
			if ctx.Err() != nil || time.Now().Before(s.next) {
				continue
			}
			if err := s.poll(ctx); err != nil {
				log.Errorf("writing events to stdout: %v; stopping", err)
				for _, s := range stanzas {
					s.close()
				}
				return 1
			}
			s.next = time.Now().Add(s.cfg.poll)
			if s.f.Busy() {
				s.next = time.Now()
			}
		}
		next := stanzas[0].next
		for _, s := range stanzas[1:] {
			if s.next.Before(next) {
				next = s.next
			}
		}
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
	}
	code := 0
	for _, s := range stanzas {
		if err := s.f.Commit(); err != nil || s.f.Paused() {
			code = 1
		}
		s.maybeLogStats(true)
		s.close()
	}
	if err := out.end(); err != nil {
		log.Errorf("writing to stdout: %v", err)
		code = 1
	}
	log.Infof("stopped")
	return code
}

func joinErrors(errs []error) string {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}
