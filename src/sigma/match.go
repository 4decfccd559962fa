package sigma

import (
	"bytes"
	"fmt"
	"math/bits"
	"slices"

	"scorecmdline/src/event"
)

// maxWitness bounds the literals the prefilter looks for, in bytes.
const maxWitness = 8

// compile computes each rule's req, the fields and views the rules read,
// and one prefilter per witnessed field over the rules' cheapest clauses.
// A rule's other clauses are tested only when it is a candidate (once per
// row however many rules share them): the automaton stays small enough to
// stay in the cache.
func (rs *Ruleset) compile() {
	n := len(rs.compiled)
	rs.always = make([]uint64, (n+63)/64)
	rs.reqAt = make([]int32, n+1)
	ids := map[string]int32{}
	for i, r := range rs.compiled {
		walkConds(r, func(c *fieldCond) {
			rs.noteField(c.field, c.view)
			if c.kind == kRef {
				rs.noteField(c.ref, c.view)
			}
		})
		rq := r.cond.req(r.searches)
		// The cheapest clause without a one-byte literal makes the rule a
		// candidate (one-byte literals hold on nearly every row: they
		// would only slow the scan); the others are tested after it.
		prim := slices.IndexFunc(rq, func(cl clause) bool {
			return !slices.ContainsFunc(cl, func(l lit) bool { return len(l.s) < 2 })
		})
		if prim < 0 {
			rs.always[i>>6] |= 1 << (i & 63)
		}
		for k, cl := range rq {
			key := fmt.Sprint(cl)
			id, ok := ids[key]
			if !ok {
				id = int32(len(rs.clauses))
				ids[key] = id
				rs.clauses = append(rs.clauses, cl)
				rs.primary = append(rs.primary, nil)
			}
			if k == prim {
				rs.primary[id] = append(rs.primary[id], int32(i))
			} else {
				rs.reqs = append(rs.reqs, id)
			}
		}
		rs.reqAt[i+1] = int32(len(rs.reqs))
	}
	rs.scanned = make([]uint64, (len(rs.clauses)+63)/64)
	lits := map[int][]string{}
	clauseOf := map[int][]int32{}
	for id, cl := range rs.clauses {
		if rs.primary[id] == nil {
			continue
		}
		rs.scanned[id>>6] |= 1 << (id & 63)
		for _, l := range cl {
			lits[l.field] = append(lits[l.field], l.s)
			clauseOf[l.field] = append(clauseOf[l.field], int32(id))
		}
	}
	for f := range event.NumFields {
		if ls := lits[int(f)]; len(ls) > 0 {
			rs.prefs = append(rs.prefs, buildPrefilters(int(f), ls, clauseOf[int(f)])...)
			rs.views[f] |= 1 << vLower
		}
	}
	rs.needles = newGramReq(rs.clauses)
	for _, cl := range rs.clauses {
		for _, l := range cl {
			rs.views[l.field] |= 1 << vLower
		}
	}
}

func walkConds(r *rule, fn func(*fieldCond)) {
	walk := func(ss []*search) {
		for _, s := range ss {
			for _, alt := range s.alts {
				for _, c := range alt {
					fn(c)
				}
			}
		}
	}
	walk(r.searches)
	for _, f := range r.filters {
		walk(f.searches)
	}
}

// Matcher evaluates a Ruleset on events; one per goroutine.
//
// Before matching it completes the event (without changing it):
//   - Image (process_path), when absent, is the command line's first token:
//     up to the closing quote if it starts with `"`, else up to the first
//     space or tab. A bare name (no `\`) is taken to be where a PATH
//     search most often finds it, `C:\Windows\System32\`; `.exe` is
//     appended to a name without extension, as CreateProcess does. So
//     "schtasks /create" has Image `C:\Windows\System32\schtasks.exe`
//     (the reference evaluator of ../sigma/oracle derives the same).
//   - process_name, when absent, is the base name of Image.
//   - ParentImage (parent_process_path), when absent and parent_process_name
//     is known, is `\` + that name: `ParentImage|endswith: '\x.exe'` rules
//     work, rules on the parent's folder do not (the folder is unknown).
//   - parent_process_name, when absent, is the base name of ParentImage.
type Matcher struct {
	rs    *Ruleset
	vals  [event.NumFields][]byte
	have  [event.NumFields]uint8 // views computed for this row (bits)
	views [event.NumFields][4][]byte
	bufs  [event.NumFields][4][]byte
	img   []byte // scratch for derived paths
	pimg  []byte
	cand  []uint64 // rules to evaluate
	hit   []uint64 // clauses the prefilter found
	// pre enables the gram tests (off for the plain evaluation).
	pre      bool
	gramHave uint64 // fields whose gram set is built for this row
	gram     [event.NumFields]grams
}

// NewMatcher returns a Matcher for rs.
func (rs *Ruleset) NewMatcher() *Matcher {
	return &Matcher{rs: rs, cand: make([]uint64, len(rs.always)), hit: make([]uint64, len(rs.scanned))}
}

// view returns field f's value in view kind (vLower and vDash bits).
func (m *Matcher) view(f int, kind uint8) []byte {
	if f == noField {
		return nil
	}
	if m.have[f]&(1<<kind) != 0 {
		return m.views[f][kind]
	}
	v := m.vals[f]
	if kind != 0 {
		b := m.bufs[f][kind][:0]
		if kind&vLower != 0 {
			b = appendLower(b, v)
		} else {
			b = append(b, v...)
		}
		if kind&vDash != 0 {
			// Folding dashes never lengthens: fold in place.
			b = b[:len(appendDashFold(b[:0], b))]
		}
		m.bufs[f][kind] = b
		v = b
	}
	m.views[f][kind] = v
	m.have[f] |= 1 << kind
	return v
}

// load sets the row: the event's fields plus the derived ones.
func (m *Matcher) load(ev *event.Event) {
	m.have = [event.NumFields]uint8{}
	m.gramHave = 0
	for f := range event.NumFields {
		m.vals[f] = ev.Get(f)
	}
	if len(m.vals[event.ProcessPath]) == 0 {
		if tok := firstToken(m.vals[event.Process]); len(tok) > 0 {
			m.img = m.img[:0]
			if bytes.IndexByte(tok, '\\') < 0 {
				m.img = append(m.img, systemDir...)
			}
			m.img = append(m.img, tok...)
			if !hasExt(tok) {
				m.img = append(m.img, ".exe"...)
			}
			m.vals[event.ProcessPath] = m.img
		}
	}
	if len(m.vals[event.ProcessName]) == 0 {
		m.vals[event.ProcessName] = event.BaseName(m.vals[event.ProcessPath])
	}
	if len(m.vals[event.ParentProcessPath]) == 0 && len(m.vals[event.ParentProcessName]) > 0 {
		m.pimg = append(append(m.pimg[:0], '\\'), m.vals[event.ParentProcessName]...)
		m.vals[event.ParentProcessPath] = m.pimg
	}
	if len(m.vals[event.ParentProcessName]) == 0 {
		m.vals[event.ParentProcessName] = event.BaseName(m.vals[event.ParentProcessPath])
	}
}

// hasExt reports whether a program path ends in an extension: a dot and
// one to four letters or digits.
func hasExt(p []byte) bool {
	for i := len(p) - 1; i >= 0 && i >= len(p)-5; i-- {
		switch c := p[i]; {
		case c == '.':
			return i < len(p)-1
		case !('a' <= c|0x20 && c|0x20 <= 'z' || '0' <= c && c <= '9'):
			return false
		}
	}
	return false
}

const systemDir = `C:\Windows\System32\`

// firstToken returns the program part of a command line.
func firstToken(cl []byte) []byte {
	i := 0
	for i < len(cl) && (cl[i] == ' ' || cl[i] == '\t') {
		i++
	}
	cl = cl[i:]
	if len(cl) > 0 && cl[0] == '"' {
		cl = cl[1:]
		for j, c := range cl {
			if c == '"' {
				return cl[:j]
			}
		}
		return cl
	}
	for j, c := range cl {
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			return cl[:j]
		}
	}
	return cl
}

// Match appends to hits the indexes of the rules that match ev, in rule
// order, and returns it. ev's values must stay valid until the next Match
// (Explain reads them).
func (m *Matcher) Match(ev *event.Event, hits []int) []int {
	m.load(ev)
	rs := m.rs
	copy(m.cand, rs.always)
	clear(m.hit)
	m.pre = true
	for _, p := range rs.prefs {
		p.scan(m.view(p.field, vLower), m.hit, m.cand, rs.primary)
	}
	for wi, w := range m.cand {
		for ; w != 0; w &= w - 1 {
			i := wi<<6 | bits.TrailingZeros64(w)
			if m.reqsHold(i) && rs.compiled[i].eval(m) {
				hits = append(hits, i)
			}
		}
	}
	return hits
}

// reqsHold reports whether every clause rule i needs besides the one that
// made it a candidate may hold.
func (m *Matcher) reqsHold(i int) bool {
	rs := m.rs
	for _, c := range rs.reqs[rs.reqAt[i]:rs.reqAt[i+1]] {
		if rs.scanned[c>>6]&(1<<(c&63)) != 0 {
			if m.hit[c>>6]&(1<<(c&63)) == 0 {
				return false
			}
		} else if !m.mayHold(rs.needles[c : c+1]) {
			return false
		}
	}
	return true
}

// matchPlain is Match without the prefilter: every rule is evaluated (the
// reference for differential tests).
func (m *Matcher) matchPlain(ev *event.Event, hits []int) []int {
	m.load(ev)
	m.pre = false
	for i, r := range m.rs.compiled {
		if r.eval(m) {
			hits = append(hits, i)
		}
	}
	return hits
}

// Explain returns the search identifiers of rule that hold on the event of
// the last Match, comma-separated in rule order (e.g.
// "selection_img,selection_cli"); a filter that holds is listed as
// "filter:" + its title.
func (m *Matcher) Explain(rule int) string {
	return string(m.AppendExplain(nil, rule))
}

// AppendExplain is Explain appending to dst.
func (m *Matcher) AppendExplain(dst []byte, rule int) []byte {
	r := m.rs.compiled[rule]
	first := true
	add := func(s string) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, s...)
	}
	for _, s := range r.searches {
		if s.eval(m) {
			add(s.name)
		}
	}
	for _, f := range r.filters {
		if f.cond.eval(m, f.searches) {
			add("filter:" + f.title)
		}
	}
	return dst
}
