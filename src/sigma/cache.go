package sigma

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"unsafe"

	"scorecmdline/src/event"
)

// The compiled cache (Options.CacheDir) is one file per key:
//
//	magic, key (32 bytes), payload length (8, little endian), payload,
//	SHA-256 of the payload
//
// The payload is the Ruleset and the Report in a varint encoding written
// and read by the functions below, field by field. Regexes are stored as
// source and compiled again on decoding (RE2 compiles are fast; a cached
// source that does not compile fails the decoding). Everything else the
// prefilter needs (automata, clauses) is stored as built, so a hit does no
// parsing and no analysis.

// cacheVersion changes whenever the encoding or the meaning of what is
// encoded (parsing, compiling, witnesses) changes: it is part of the key.
const cacheVersion = 1

var cacheMagic = []byte("scorecmdline sigma cache\n")

// key hashes everything the compiled ruleset depends on.
func (pk *pack) key(opts Options) [32]byte {
	h := sha256.New()
	var e enc
	e.uint(cacheVersion)
	e.str(pk.dir)
	e.bool(opts.IncludeDeprecated)
	e.uint(uint64(opts.MinLevel))
	if c := opts.Config; c != nil {
		e.str("config")
		for _, n := range slices.Sorted(maps.Keys(c.fields)) {
			e.str(n)
			e.uint(uint64(c.fields[n]))
		}
		e.str("placeholders")
		for _, n := range slices.Sorted(maps.Keys(c.Placeholders)) {
			e.str(n)
			e.strs(c.Placeholders[n])
		}
	} else {
		e.bool(pk.cfg != nil)
		e.bytes(pk.cfg)
	}
	h.Write(e.b)
	for _, f := range pk.files {
		e.b = e.b[:0]
		e.str(f.path)
		if f.err != nil {
			e.str(f.err.Error())
		}
		e.uint(uint64(len(f.data)))
		h.Write(e.b)
		h.Write(f.data)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func cachePath(dir string, key [32]byte) string {
	return filepath.Join(dir, fmt.Sprintf("sigma-%x.cache", key[:12]))
}

// CacheError is a cache file that cannot be used (then ignored).
type CacheError struct {
	Off int64 // byte offset in the payload where decoding failed; -1 if none
	Msg string
}

func (e *CacheError) Error() string {
	if e.Off >= 0 {
		return fmt.Sprintf("cache payload offset %d: %s", e.Off, e.Msg)
	}
	return "cache: " + e.Msg
}

// readCache decodes the cache file for key.
func readCache(file string, key [32]byte) (*Ruleset, *Report, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, &CacheError{-1, "absent"}
	}
	if err != nil {
		return nil, nil, &CacheError{-1, err.Error()}
	}
	head := len(cacheMagic) + 32 + 8
	if len(data) < head+32 || !bytes.Equal(data[:len(cacheMagic)], cacheMagic) {
		return nil, nil, &CacheError{-1, "not a cache file"}
	}
	if !bytes.Equal(data[len(cacheMagic):len(cacheMagic)+32], key[:]) {
		return nil, nil, &CacheError{-1, "stale (other key)"}
	}
	n := binary.LittleEndian.Uint64(data[head-8 : head])
	if n != uint64(len(data)-head-32) {
		return nil, nil, &CacheError{-1, "truncated"}
	}
	payload := data[head : len(data)-32]
	if sum := sha256.Sum256(payload); !bytes.Equal(sum[:], data[len(data)-32:]) {
		return nil, nil, &CacheError{-1, "checksum mismatch"}
	}
	d := &dec{b: payload}
	rs, rep := d.ruleset(), d.report()
	if d.err == nil && d.off != len(d.b) {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, nil, d.err
	}
	return rs, rep, nil
}

// writeCache writes the cache file atomically (a reader sees the old file
// or the whole new one).
func writeCache(dir, file string, key [32]byte, rs *Ruleset, rep *Report) error {
	var e enc
	e.ruleset(rs)
	e.report(rep)
	out := make([]byte, 0, len(cacheMagic)+32+8+len(e.b)+32)
	out = append(out, cacheMagic...)
	out = append(out, key[:]...)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(e.b)))
	out = append(out, e.b...)
	sum := sha256.Sum256(e.b)
	out = append(out, sum[:]...)
	tmp, err := os.CreateTemp(dir, "sigma-*.tmp")
	if err != nil {
		return err
	}
	_, err = tmp.Write(out)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// enc appends values; dec reads them back, with a sticky error and every
// count and index checked against what is left or what it indexes.
type enc struct{ b []byte }

func (e *enc) uint(x uint64) { e.b = binary.AppendUvarint(e.b, x) }
func (e *enc) int(x int)     { e.b = binary.AppendVarint(e.b, int64(x)) }
func (e *enc) bool(x bool) {
	if x {
		e.int(1)
	} else {
		e.int(0)
	}
}
func (e *enc) bytes(x []byte) {
	e.uint(uint64(len(x)))
	e.b = append(e.b, x...)
}
func (e *enc) str(x string) { e.bytes([]byte(x)) }
func (e *enc) strs(x []string) {
	e.uint(uint64(len(x)))
	for _, s := range x {
		e.str(s)
	}
}
func (e *enc) ints(x []int32) {
	e.uint(uint64(len(x)))
	for _, v := range x {
		e.int(int(v))
	}
}
func (e *enc) words(x []uint64) {
	e.uint(uint64(len(x)))
	for _, v := range x {
		e.b = binary.LittleEndian.AppendUint64(e.b, v)
	}
}

type dec struct {
	b   []byte
	off int
	err *CacheError
}

func (d *dec) fail(msg string, a ...any) {
	if d.err == nil {
		d.err = &CacheError{int64(d.off), fmt.Sprintf(msg, a...)}
	}
}

func (d *dec) uint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return x
}

func (d *dec) int() int {
	if d.err != nil {
		return 0
	}
	x, n := binary.Varint(d.b[d.off:])
	if n <= 0 || x != int64(int32(x)) {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return int(x)
}

// idx reads an index below n (or -1 when neg).
func (d *dec) idx(n int, neg bool) int {
	x := d.int()
	if x >= n || x < 0 && !(neg && x == -1) {
		d.fail("index %d out of range [0,%d)", x, n)
		return 0
	}
	return x
}

// count reads a length of items of at least size bytes each.
func (d *dec) count(size int) int {
	n := d.uint()
	if n > uint64(len(d.b)-d.off)/uint64(size) {
		d.fail("count %d exceeds the data", n)
		return 0
	}
	return int(n)
}

func (d *dec) bool() bool { return d.idx(2, false) == 1 }

func (d *dec) bytes() []byte {
	n := d.count(1)
	if d.err != nil {
		return nil
	}
	b := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return b
}

// str returns a string sharing the payload's memory (one allocation per
// cache file instead of one per string): the payload is never written.
func (d *dec) str() string {
	b := d.bytes()
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (d *dec) strs() []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, d.str())
	}
	return out
}

func (d *dec) ints(below int, neg bool) []int32 {
	n := d.count(1)
	out := make([]int32, 0, n)
	for range n {
		out = append(out, int32(d.idx(below, neg)))
	}
	return out
}

func (d *dec) words() []uint64 {
	n := d.count(8)
	out := make([]uint64, 0, n)
	for range n {
		out = append(out, binary.LittleEndian.Uint64(d.b[d.off:]))
		d.off += 8
	}
	return out
}

func (d *dec) field() int { return d.idx(int(event.NumFields), true) }

// The Ruleset.

func (e *enc) ruleset(rs *Ruleset) {
	e.uint(uint64(len(rs.rules)))
	for _, r := range rs.rules {
		e.str(r.Title)
		e.str(r.ID)
		e.str(r.Status)
		e.int(int(r.Level))
		e.strs(r.Techniques)
		e.str(r.File)
		e.int(r.Line)
	}
	// Filters are shared between rules: stored once, referred to by index.
	var filters []*filterDoc
	fidx := map[*filterDoc]int{}
	for _, r := range rs.compiled {
		for _, f := range r.filters {
			if _, ok := fidx[f]; !ok {
				fidx[f] = len(filters)
				filters = append(filters, f)
			}
		}
	}
	e.uint(uint64(len(filters)))
	for _, f := range filters {
		e.str(f.title)
		e.str(f.file)
		e.int(f.line)
		e.strs(f.rules)
		e.searches(f.searches, f.cond)
	}
	for _, r := range rs.compiled {
		e.searches(r.searches, r.cond)
		e.uint(uint64(len(r.filters)))
		for _, f := range r.filters {
			e.int(fidx[f])
		}
		e.strs(r.unmapped)
	}
	e.uint(uint64(rs.needs))
	e.b = append(e.b, rs.views[:]...)
	e.uint(uint64(len(rs.clauses)))
	for i, cl := range rs.clauses {
		e.clause(cl)
		e.ints(rs.primary[i])
	}
	e.words(rs.always)
	e.words(rs.scanned)
	e.ints(rs.reqs)
	e.ints(rs.reqAt)
	e.uint(uint64(len(rs.prefs)))
	for _, p := range rs.prefs {
		e.int(p.field)
		e.b = append(e.b, p.class[:]...)
		e.int(int(p.shift))
		e.uint(uint64(len(p.next)))
		for _, t := range p.next {
			e.b = binary.LittleEndian.AppendUint16(e.b, t)
		}
		e.ints(p.outAt)
		e.ints(p.outs)
		e.ints(p.dict)
	}
}

func (d *dec) ruleset() *Ruleset {
	rs := &Ruleset{}
	n := d.count(7)
	rs.rules = make([]Rule, 0, n)
	rs.compiled = make([]*rule, 0, n)
	for range n {
		r := Rule{Title: d.str(), ID: d.str(), Status: d.str(), Level: Level(d.idx(int(Critical)+1, false)),
			Techniques: d.strs(), File: d.str(), Line: d.int()}
		rs.rules = append(rs.rules, r)
	}
	var filters []*filterDoc
	for range d.count(5) {
		f := &filterDoc{title: d.str(), file: d.str(), line: d.int(), rules: d.strs()}
		f.searches, f.cond = d.searches()
		filters = append(filters, f)
	}
	for range n {
		r := &rule{}
		r.searches, r.cond = d.searches()
		for range d.count(1) {
			if i := d.idx(len(filters), false); d.err == nil {
				r.filters = append(r.filters, filters[i])
			}
		}
		r.unmapped = d.strs()
		rs.compiled = append(rs.compiled, r)
	}
	rs.needs = event.Set(d.uint())
	if d.err == nil && len(d.b)-d.off >= len(rs.views) {
		copy(rs.views[:], d.b[d.off:])
		d.off += len(rs.views)
	} else {
		d.fail("short views")
	}
	nc := d.count(2)
	for range nc {
		rs.clauses = append(rs.clauses, d.clause())
		rs.primary = append(rs.primary, d.ints(n, false))
	}
	rs.always = d.words()
	rs.scanned = d.words()
	rs.reqs = d.ints(nc, false)
	rs.reqAt = d.ints(len(rs.reqs)+1, false)
	if d.err == nil && (len(rs.always) != (n+63)/64 || len(rs.scanned) != (nc+63)/64 || len(rs.reqAt) != n+1) {
		d.fail("inconsistent rule tables")
	}
	if d.err == nil && (tailBits(rs.always, n) || tailBits(rs.scanned, nc)) {
		d.fail("bits beyond the rules or clauses")
	}
	for i := 1; d.err == nil && i < len(rs.reqAt); i++ {
		if rs.reqAt[i] < rs.reqAt[i-1] {
			d.fail("inconsistent rule tables")
		}
	}
	for range d.count(256) {
		rs.prefs = append(rs.prefs, d.prefilter(nc))
	}
	rs.needles = newGramReq(rs.clauses)
	if d.err != nil {
		return nil
	}
	return rs
}

// tailBits reports whether a bit set of n bits has bits set beyond n.
func tailBits(ws []uint64, n int) bool {
	return n%64 != 0 && len(ws) > 0 && ws[len(ws)-1]>>(n%64) != 0
}

func (e *enc) clause(cl clause) {
	e.uint(uint64(len(cl)))
	for _, l := range cl {
		e.int(l.field)
		e.str(l.s)
	}
}

func (d *dec) clause() clause {
	var cl clause
	for range d.count(2) {
		l := lit{d.field(), d.str()}
		if l.s == "" || len(l.s) > maxWitness {
			d.fail("bad literal")
		}
		cl = append(cl, l)
	}
	return cl
}

func (d *dec) prefilter(nclauses int) *prefilter {
	p := &prefilter{field: d.field()}
	if d.err != nil || len(d.b)-d.off < 256 {
		d.fail("short prefilter")
		return p
	}
	copy(p.class[:], d.b[d.off:])
	d.off += 256
	p.shift = uint8(d.idx(9, false))
	nt := d.count(2)
	if nt == 0 || nt%(1<<p.shift) != 0 {
		d.fail("bad automaton size")
		return p
	}
	ns := nt >> p.shift
	p.next = make([]uint16, nt)
	for i := range p.next {
		p.next[i] = binary.LittleEndian.Uint16(d.b[d.off:])
		d.off += 2
		if int(p.next[i]&^accept) >= ns {
			d.fail("bad automaton state")
			return p
		}
	}
	for _, c := range p.class {
		if int(c) >= 1<<p.shift {
			d.fail("bad byte class")
		}
	}
	p.outAt = d.ints(math.MaxInt32, false)
	p.outs = d.ints(nclauses, false)
	p.dict = d.ints(ns, true)
	if d.err == nil && (len(p.outAt) != ns+1 || len(p.dict) != ns || p.outAt[0] != 0 || int(p.outAt[ns]) != len(p.outs)) {
		d.fail("inconsistent automaton")
	}
	for i := 1; d.err == nil && i < len(p.outAt); i++ {
		if p.outAt[i] < p.outAt[i-1] {
			d.fail("inconsistent automaton")
		}
	}
	for i := range p.dict {
		// Each suffix link is a shorter literal suffix: a chain longer
		// than a literal is a cycle, which would never end.
		n := 0
		for f := p.dict[i]; d.err == nil && f >= 0; f = p.dict[f] {
			if n++; n > maxWitness {
				d.fail("bad suffix link")
			}
		}
	}
	return p
}

// searches and their condition.
func (e *enc) searches(ss []*search, c *cond) {
	e.uint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s.name)
		e.uint(uint64(len(s.alts)))
		for _, alt := range s.alts {
			e.uint(uint64(len(alt)))
			for _, fc := range alt {
				e.fieldCond(fc)
			}
		}
	}
	e.cond(c)
}

func (d *dec) searches() ([]*search, *cond) {
	ss := make([]*search, d.count(2))
	for i := range ss {
		s := &search{name: d.str()}
		ss[i] = s
		for range d.count(1) {
			alt := make([]*fieldCond, 0, 1)
			for range d.count(8) {
				alt = append(alt, d.fieldCond())
			}
			s.alts = append(s.alts, alt)
		}
	}
	return ss, d.cond(len(ss), 0)
}

func (e *enc) cond(c *cond) {
	e.b = append(e.b, c.op)
	e.int(c.s)
	e.uint(uint64(len(c.kids)))
	for _, k := range c.kids {
		e.cond(k)
	}
}

func (d *dec) cond(nsearch, depth int) *cond {
	if d.err != nil || d.off >= len(d.b) || depth > 2*maxCondDepth+8 {
		d.fail("bad condition")
		return &cond{op: 'f'}
	}
	c := &cond{op: d.b[d.off]}
	d.off++
	c.s = d.int()
	nk := d.count(3)
	for range nk {
		c.kids = append(c.kids, d.cond(nsearch, depth+1))
	}
	ok := false
	switch c.op {
	case 's':
		ok = c.s >= 0 && c.s < nsearch && nk == 0
	case 'a', 'o':
		ok = nk > 0
	case 'n':
		ok = nk == 1
	case 't', 'f':
		ok = nk == 0
	}
	if !ok {
		d.fail("bad condition node %q", c.op)
		return &cond{op: 'f'}
	}
	return c
}

func (e *enc) fieldCond(c *fieldCond) {
	e.str(c.name)
	e.int(c.field)
	e.int(int(c.view))
	e.int(int(c.kind))
	e.bool(c.all)
	e.bool(c.neq)
	e.bool(c.onEmpty)
	e.uint(uint64(len(c.globs)))
	for _, g := range c.globs {
		e.bool(g.start)
		e.bool(g.end)
		e.uint(uint64(len(g.segs)))
		for _, sg := range g.segs {
			e.uint(uint64(len(sg)))
			for _, part := range sg {
				e.bytes(part)
			}
		}
	}
	e.strs(c.reSrc)
	for i := range c.reSrc {
		e.int(c.reMin[i])
		e.words(c.runs[i].set[:])
		e.int(c.runs[i].n)
	}
	e.uint(uint64(len(c.nets)))
	for _, n := range c.nets {
		e.str(n.String())
	}
	e.uint(uint64(len(c.nums)))
	for _, x := range c.nums {
		e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(x))
	}
	e.str(c.op)
	e.int(c.ref)
	e.str(c.refM)
	e.bool(c.exist)
	e.uint(uint64(len(c.reqs)))
	for _, r := range c.reqs {
		e.uint(uint64(len(r)))
		for _, cl := range r {
			e.clause(cl)
		}
	}
}

func (d *dec) fieldCond() *fieldCond {
	c := &fieldCond{name: d.str(), field: d.field(), view: uint8(d.idx(4, false)), kind: condKind(d.idx(int(kExists)+1, false)),
		all: d.bool(), neq: d.bool(), onEmpty: d.bool()}
	for range d.count(3) {
		g := glob{start: d.bool(), end: d.bool()}
		for range d.count(1) {
			var sg seg
			for range d.count(1) {
				sg = append(sg, d.bytes())
			}
			if len(sg) == 0 {
				d.fail("empty glob segment")
			}
			g.segs = append(g.segs, sg)
		}
		if len(g.segs) == 0 && (g.start || g.end) {
			d.fail("anchored glob without a segment")
		}
		c.globs = append(c.globs, g)
	}
	c.reSrc = d.strs()
	for _, src := range c.reSrc {
		if d.err != nil {
			break
		}
		rx, err := regexp.Compile(src)
		if err != nil {
			d.fail("regex %q: %v", src, err)
			break
		}
		c.res = append(c.res, rx)
		c.reMin = append(c.reMin, d.int())
		var br byteRun
		if w := d.words(); len(w) == len(br.set) {
			copy(br.set[:], w)
		} else {
			d.fail("bad byte run")
		}
		br.n = d.int()
		c.runs = append(c.runs, br)
	}
	for range d.count(1) {
		p, err := netip.ParsePrefix(d.str())
		if err != nil && d.err == nil {
			d.fail("%v", err)
		}
		c.nets = append(c.nets, p)
	}
	for range d.count(8) {
		c.nums = append(c.nums, math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.off:])))
		d.off += 8
	}
	c.op = d.str()
	c.ref = d.field()
	c.refM = d.str()
	c.exist = d.bool()
	for range d.count(1) {
		var r req
		for range d.count(1) {
			r = append(r, d.clause())
		}
		c.reqs = append(c.reqs, r)
	}
	if d.err == nil && (c.kind == kGlob || c.kind == kRegex || c.kind == kCIDR || c.kind == kNum) && len(c.reqs) != c.count() {
		d.fail("values and their needs differ in number")
	}
	for _, r := range c.reqs {
		c.pre = append(c.pre, newGramReq(r))
	}
	return c
}

// The Report.

func (e *enc) report(r *Report) {
	e.int(r.Files)
	e.int(r.Rules)
	e.int(r.Filters)
	keys := slices.Sorted(maps.Keys(r.Skipped))
	e.uint(uint64(len(keys)))
	for _, k := range keys {
		e.str(k)
		e.int(r.Skipped[k])
	}
	e.int(r.Failed)
	e.int(r.Unmapped)
	e.strs(r.UnmappedFields)
	e.uint(uint64(len(r.Problems)))
	for _, p := range r.Problems {
		e.str(p.File)
		e.int(p.Line)
		e.str(p.Rule)
		e.str(p.Reason)
	}
}

func (d *dec) report() *Report {
	r := &Report{Files: d.int(), Rules: d.int(), Filters: d.int(), Skipped: map[string]int{}}
	for range d.count(2) {
		k := d.str()
		r.Skipped[k] = d.int()
	}
	r.Failed, r.Unmapped, r.UnmappedFields = d.int(), d.int(), d.strs()
	for range d.count(4) {
		r.Problems = append(r.Problems, Problem{File: d.str(), Line: d.int(), Rule: d.str(), Reason: d.str()})
	}
	return r
}
