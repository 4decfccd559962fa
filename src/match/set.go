package match

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"scorecmdline/src/normalize"
	"scorecmdline/src/rules"
)

// Set is the compiled form of one or more packs. It is read-only once
// compiled and may be shared by any number of Matchers and goroutines.
type Set struct {
	rules []*rules.Rule
	flags []string

	// The automaton and filter tables are built on first use (Prepare),
	// not in Compile: building them takes milliseconds, and the search
	// command must answer getinfo, which only needs the validated rules,
	// within a few milliseconds of starting.
	prepare *sync.Once // a pointer so that tests may copy a prepared Set
	needles []string
	ac      *automaton
	filter  *wordFilter // nil when it cannot rule phrases out
	pieces  []pieceInfo
	phrases []phraseInfo
	checks  []ruleCheck // parallel to rules

	byProgram map[string][]int32 // program name -> rules with that process_name
	byParent  map[string][]int32 // parent name -> rules with that parent
	always    []int32            // rules no phrase or name can trigger (regex only)
}

// pieceInfo describes one distinct piece of text the automaton looks for.
type pieceInfo struct {
	text       []byte
	n          int32 // length in bytes
	alnumStart bool  // must start on a word boundary
	alnumEnd   bool  // must end on a word boundary
	inGaps     bool  // part of a phrase with "...": occurrences are kept
	phrases    []int32
}

type phraseInfo struct {
	pieces   []int32
	triggers []int32 // rules that may match once this phrase does (any, all)
}

// ruleCheck is what decides a rule once it is a candidate.
type ruleCheck struct {
	any, all, none []int32
	programs       map[string]bool
	parents        map[string]bool
	re             *regexp.Regexp
}

// Compile joins packs into one Set. Rules keep the order of the packs and,
// within a pack, the order of the file. The packs are checked first with
// rules.Validate: two rules of the same name, or a malformed rule built by
// hand, are a *rules.PackError naming the rule.
func Compile(packs ...*rules.Pack) (*Set, error) {
	if err := rules.Validate(packs...); err != nil {
		return nil, err
	}
	s := &Set{prepare: new(sync.Once)}
	b := setBuilder{s: s, pieceID: map[string]int32{}, phraseID: map[string]int32{}}
	flagSeen := map[string]bool{}
	for _, p := range packs {
		for _, r := range p.Rules {
			if err := b.add(r); err != nil { // not expected after Validate
				return nil, &rules.PackError{File: p.File, Line: r.Line, Rule: r.Name, Err: err}
			}
			if r.Flag != "" && !flagSeen[r.Flag] {
				flagSeen[r.Flag] = true
				s.flags = append(s.flags, r.Flag)
			}
		}
	}
	s.needles = b.needles
	return s, nil
}

// Prepare builds the matching tables if that has not happened yet. Matchers
// call it; a caller may call it early, in a goroutine, to have the tables
// ready when the first line arrives. It is safe for concurrent use.
func (s *Set) Prepare() {
	s.prepare.Do(func() {
		if len(s.needles) > 0 {
			s.ac = buildAutomaton(s.needles)
			s.filter = buildFilter(s.needles, s.phrases)
		}
	})
}

type setBuilder struct {
	s        *Set
	needles  []string
	pieceID  map[string]int32
	phraseID map[string]int32
}

// add compiles one rule, which rules.Validate has vetted.
func (b *setBuilder) add(r *rules.Rule) error {
	s := b.s
	idx := int32(len(s.rules))
	var c ruleCheck
	trig := false
	for _, list := range []struct {
		key     string
		phrases []string
		dst     *[]int32
		trigger bool
	}{{"any", r.Any, &c.any, true}, {"all", r.All, &c.all, true}, {"none", r.None, &c.none, false}} {
		for k, text := range list.phrases {
			ph, err := rules.ParsePhrase(text)
			if err != nil {
				return fmt.Errorf("%s[%d]: %w", list.key, k, err)
			}
			id := b.phrase(ph)
			*list.dst = append(*list.dst, id)
			if list.trigger {
				s.phrases[id].triggers = appendOnce(s.phrases[id].triggers, idx)
				trig = true
			}
		}
	}
	names := func(list []string, index *map[string][]int32) map[string]bool {
		if len(list) == 0 {
			return nil
		}
		set := map[string]bool{}
		for _, n := range list {
			key := normalize.Name(n)
			if set[key] {
				continue
			}
			set[key] = true
			if *index == nil {
				*index = map[string][]int32{}
			}
			(*index)[key] = append((*index)[key], idx)
		}
		trig = true
		return set
	}
	c.programs = names(r.ProcessName, &s.byProgram)
	c.parents = names(r.Parent, &s.byParent)
	if r.Regex != "" {
		var err error
		if c.re, err = regexp.Compile(r.Regex); err != nil {
			return fmt.Errorf("regex: %w", err)
		}
	}
	if !trig {
		if c.re == nil {
			return errors.New("the rule matches nothing")
		}
		s.always = append(s.always, idx)
	}
	s.rules = append(s.rules, r)
	s.checks = append(s.checks, c)
	return nil
}

// phrase returns the id of a phrase, adding it and its pieces when new.
func (b *setBuilder) phrase(ph rules.Phrase) int32 {
	key := strings.Join(ph.Pieces, "\x00")
	if id, ok := b.phraseID[key]; ok {
		return id
	}
	s := b.s
	id := int32(len(s.phrases))
	b.phraseID[key] = id
	info := phraseInfo{}
	for _, text := range ph.Pieces {
		pid, ok := b.pieceID[text]
		if !ok {
			pid = int32(len(s.pieces))
			b.pieceID[text] = pid
			b.needles = append(b.needles, text)
			s.pieces = append(s.pieces, pieceInfo{
				text:       []byte(text),
				n:          int32(len(text)),
				alnumStart: isAlnum(text[0]),
				alnumEnd:   isAlnum(text[len(text)-1]),
			})
		}
		if len(ph.Pieces) > 1 {
			s.pieces[pid].inGaps = true
		}
		s.pieces[pid].phrases = appendOnce(s.pieces[pid].phrases, id)
		info.pieces = append(info.pieces, pid)
	}
	s.phrases = append(s.phrases, info)
	return id
}

func appendOnce(list []int32, v int32) []int32 {
	if n := len(list); n > 0 && list[n-1] == v {
		return list
	}
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || 'A' <= c && c <= 'Z'
}

// Rules returns the rules of the set in order; Match reports indexes into it.
func (s *Set) Rules() []*rules.Rule { return s.rules }

// Flags returns the distinct flag names of the rules, in rule order.
func (s *Set) Flags() []string { return s.flags }
