package searchcmd

import (
	"bytes"
	"fmt"
	"io"
	"slices"
)

var bom = []byte("\xef\xbb\xbf")

// bodyState is what the current request's header row means, reused
// across chunks.
type bodyState struct {
	lay       layout
	hdr       []byte // the reply's header row
	rowsStart int    // where the data rows begin in the body
	active    int    // workers holding rows for the reply
	bounds    []int
	names     []string
}

func (b *bodyState) reset() {
	b.hdr = b.hdr[:0]
	b.active = 0
	b.rowsStart = 0
}

// layout maps the columns of one chunk to the command's inputs and outputs.
type layout struct {
	ncols    int
	names    []string
	slot     []int // per column: where its span is kept in a row, or -1
	nslots   int
	inSlot   []int     // per input: its slot, or -1 when the column is absent
	reps     []replace // outputs that replace input columns, by column
	plain    []int     // outputs appended as new columns
	mv       []int     // outputs whose __mv_ column is appended
	term     []byte    // the input's line terminator
	maxField int
}

// replace is an output overwriting an input column of the same name.
type replace struct {
	col, slot, out int
	mv             bool // the column is the output's __mv_ companion
}

// span is one parsed field: value bounds (inside any quotes) and raw bounds.
type span struct {
	vs, ve, rs, re int
	esc            bool // the value holds doubled quotes
}

// parseHeader reads the header row and builds the layout and the reply's
// header row: the input header unchanged, then the added columns.
func (b *bodyState) parseHeader(body []byte, plan *Plan, maxField int) error {
	p := 0
	if bytes.HasPrefix(body, bom) {
		p = len(bom)
	}
	hstart := p
	names := b.names[:0]
	nl := -1
	var f fieldEnd
	for {
		var err error
		f, err = scanField(body, p, len(body), &nl, maxField)
		if err != nil {
			return &RowError{Row: 0, Column: len(names) + 1, Err: err}
		}
		name := body[f.vs:f.ve]
		if f.esc {
			name = unquote(nil, name)
		}
		names = append(names, string(name))
		if f.last {
			break
		}
		p = f.next
	}
	b.names = names
	b.rowsStart = f.next
	term := []byte("\n")
	if f.next-f.re == 2 {
		term = []byte("\r\n")
	}

	lay := &b.lay
	*lay = layout{names: names, ncols: len(names), term: term, maxField: maxField,
		slot:   slices.Grow(lay.slot[:0], len(names))[:len(names)],
		inSlot: lay.inSlot[:0], reps: lay.reps[:0], plain: lay.plain[:0], mv: lay.mv[:0]}
	index := make(map[string]int, len(names))
	for i, n := range names {
		lay.slot[i] = -1
		if _, dup := index[n]; !dup {
			index[n] = i
		}
	}
	slotOf := func(col int) int {
		if lay.slot[col] < 0 {
			lay.slot[col] = lay.nslots
			lay.nslots++
		}
		return lay.slot[col]
	}
	for _, in := range plan.Inputs {
		s := -1
		if c, ok := index[in]; ok {
			s = slotOf(c)
		}
		lay.inSlot = append(lay.inSlot, s)
	}
	for o, out := range plan.Outputs {
		if c, ok := index[out.Name]; ok {
			lay.reps = append(lay.reps, replace{col: c, slot: slotOf(c), out: o})
		} else {
			lay.plain = append(lay.plain, o)
		}
		if c, ok := index["__mv_"+out.Name]; ok {
			lay.reps = append(lay.reps, replace{col: c, slot: slotOf(c), out: o, mv: true})
		} else if out.Multi {
			lay.mv = append(lay.mv, o)
		}
	}
	slices.SortFunc(lay.reps, func(a, b replace) int { return a.col - b.col })

	h := append(b.hdr[:0], body[hstart:f.re]...)
	for _, o := range lay.plain {
		h = append(h, ',')
		h = appendField(h, []byte(plan.Outputs[o].Name))
	}
	for _, o := range lay.mv {
		h = append(h, ',')
		h = appendField(h, []byte("__mv_"+plan.Outputs[o].Name))
	}
	b.hdr = append(h, term...)
	return nil
}

// fieldEnd is where scanField found a field.
type fieldEnd struct {
	vs, ve int  // the value, inside any quotes
	re     int  // end of the raw field: its delimiter, or the end of input
	next   int  // start of the next field or row
	esc    bool // the value holds doubled quotes
	last   bool // the field ends its row
}

// scanField parses the field starting at p. nl caches the position of the
// next newline (or end) so unquoted fields need one IndexByte for ",".
func scanField(body []byte, p, end int, nl *int, maxField int) (f fieldEnd, err error) {
	if p < end && body[p] == '"' {
		q := p + 1
		for {
			i := bytes.IndexByte(body[q:end], '"')
			if i < 0 {
				return f, ErrQuote
			}
			q += i
			if q+1 < end && body[q+1] == '"' {
				f.esc = true
				q += 2
				continue
			}
			break
		}
		f.vs, f.ve, f.re = p+1, q, q+1
	} else {
		if *nl < p {
			if i := bytes.IndexByte(body[p:end], '\n'); i >= 0 {
				*nl = p + i
			} else {
				*nl = end
			}
		}
		fe := *nl
		if i := bytes.IndexByte(body[p:fe], ','); i >= 0 {
			fe = p + i
		} else if fe < end && fe > p && body[fe-1] == '\r' {
			fe-- // CRLF: the CR belongs to the terminator
		}
		v := body[p:fe]
		if bytes.IndexByte(v, '"') >= 0 {
			return f, ErrBareQuote
		}
		if bytes.IndexByte(v, '\r') >= 0 {
			return f, ErrBareCR
		}
		f.vs, f.ve, f.re = p, fe, fe
	}
	if f.ve-f.vs > maxField {
		return f, fmt.Errorf("%w: %d bytes, limit %d", ErrFieldTooLarge, f.ve-f.vs, maxField)
	}
	d := f.re
	switch {
	case d >= end:
		f.next, f.last = end, true
	case body[d] == ',':
		f.next = d + 1
	case body[d] == '\n':
		f.next, f.last = d+1, true
	case body[d] == '\r' && d+1 < end && body[d+1] == '\n':
		f.next, f.last = d+2, true
	case body[d] == '\r':
		return f, ErrBareCR
	default:
		return f, ErrAfterQuote
	}
	return f, nil
}

// worker processes a contiguous range of a chunk's rows.
type worker struct {
	fn      RowFunc
	out     Out
	in      [][]byte
	scratch [][]byte // per input: unquoted values with doubled quotes
	spans   []span
	enc     []byte   // the current block of encoded row suffixes
	blocks  [][]byte // filled blocks of this chunk, then spares for reuse
	nblocks int      // blocks of this chunk held in blocks
	tmp     []byte   // joined or __mv_-encoded output values
	rows    []rowRec // the rows, in order
	size    int64    // bytes this worker adds to the reply body
	err     error
}

// rowRec is one reply row: body[start:end] copied from the input, then
// the encoded bytes of block blk up to encEnd. When outputs replace input
// columns the whole row is encoded and start == end.
type rowRec struct{ start, end, blk, encEnd int }

// blockSize bounds the encoding blocks: growing one huge buffer would copy
// and zero tens of MB at a time (stalling the GC) and leave garbage.
const blockSize = 256 << 10

// run processes the rows in body[p:end]. The error, if any, is left in
// w.err as a *RowError whose row number is local to the range.
func (w *worker) run(body []byte, p, end int, lay *layout) {
	w.rows, w.size, w.err = w.rows[:0], 0, nil
	w.nblocks = 0
	w.enc = w.block()
	w.spans = slices.Grow(w.spans[:0], lay.nslots)[:lay.nslots]
	row := 0
	defer func() {
		if r := recover(); r != nil {
			w.err = &RowError{Row: row, Err: fmt.Errorf("%w: panic: %v", ErrCommand, r)}
		}
	}()
	splice := len(lay.reps) > 0
	nl := -1
	for p < end {
		row++
		rowStart, col := p, 0
		var f fieldEnd
		for {
			// Fast path: empty fields (splunkd's __mv_ columns mostly are).
			if p < end && body[p] == ',' {
				f = fieldEnd{vs: p, ve: p, re: p, next: p + 1}
			} else if p < end && body[p] == '\n' {
				f = fieldEnd{vs: p, ve: p, re: p, next: p + 1, last: true}
			} else {
				var err error
				f, err = scanField(body, p, end, &nl, lay.maxField)
				if err != nil {
					w.err = w.rowError(row, col, err, lay)
					return
				}
			}
			if col < lay.ncols {
				if s := lay.slot[col]; s >= 0 {
					w.spans[s] = span{f.vs, f.ve, p, f.re, f.esc}
				}
			}
			col++
			if f.last {
				break
			}
			p = f.next
		}
		if col != lay.ncols {
			w.err = w.rowError(row, min(col, lay.ncols), fmt.Errorf("%w: the row has %d, the header %d", ErrFieldCount, col, lay.ncols), lay)
			return
		}
		contentEnd := f.re
		p = f.next

		for i, s := range lay.inSlot {
			if s < 0 {
				w.in[i] = nil
				continue
			}
			sp := w.spans[s]
			if sp.esc {
				w.scratch[i] = unquote(w.scratch[i][:0], body[sp.vs:sp.ve])
				w.in[i] = w.scratch[i][:len(w.scratch[i]):len(w.scratch[i])]
			} else {
				w.in[i] = body[sp.vs:sp.ve:sp.ve]
			}
		}
		w.out.reset()
		w.fn(w.in, &w.out)
		if w.out.err != nil {
			w.err = &RowError{Row: row, Err: fmt.Errorf("%w: %w", ErrCommand, w.out.err)}
			w.out.err = nil
			return
		}

		if len(w.enc) >= blockSize {
			w.blocks[w.nblocks] = w.enc
			w.nblocks++
			w.enc = w.block()
		}
		rec := rowRec{start: rowStart, end: contentEnd, blk: w.nblocks}
		encStart := len(w.enc)
		if splice {
			prev := rowStart
			for _, r := range lay.reps {
				sp := w.spans[r.slot]
				w.enc = append(w.enc, body[prev:sp.rs]...)
				w.enc = w.appendValue(w.enc, r.out, r.mv)
				prev = sp.re
			}
			w.enc = append(w.enc, body[prev:contentEnd]...)
			rec.start, rec.end = 0, 0
		}
		for _, o := range lay.plain {
			w.enc = append(w.enc, ',')
			w.enc = w.appendValue(w.enc, o, false)
		}
		for _, o := range lay.mv {
			w.enc = append(w.enc, ',')
			w.enc = w.appendValue(w.enc, o, true)
		}
		w.enc = append(w.enc, lay.term...)
		rec.encEnd = len(w.enc)
		w.rows = append(w.rows, rec)
		w.size += int64(rec.end-rec.start) + int64(rec.encEnd-encStart)
	}
	w.blocks[w.nblocks] = w.enc
	w.nblocks++
}

// block returns an empty block, reusing one from an earlier chunk.
func (w *worker) block() []byte {
	if w.nblocks < len(w.blocks) {
		return w.blocks[w.nblocks][:0]
	}
	w.blocks = append(w.blocks, nil)
	return make([]byte, 0, blockSize+blockSize/4)
}

// rowError builds the error for a malformed row; the row number is local
// until process adds the rows of earlier workers.
func (w *worker) rowError(row, col int, err error, lay *layout) error {
	e := &RowError{Row: row, Column: col + 1, Err: err}
	if col < len(lay.names) {
		e.Name = lay.names[col]
	}
	return e
}

// appendValue encodes output o of the current row: its plain column, or
// its __mv_ companion when mv is set.
func (w *worker) appendValue(dst []byte, o int, mv bool) []byte {
	vals, buf := w.out.vals[o], w.out.buf
	switch {
	case mv && len(vals) < 2, len(vals) == 0:
		return dst
	case mv:
		w.tmp = w.tmp[:0]
		for i, v := range vals {
			if i > 0 {
				w.tmp = append(w.tmp, ';')
			}
			w.tmp = appendMV(w.tmp, buf[v.start:v.end])
		}
		return appendField(dst, w.tmp)
	case len(vals) == 1:
		return appendField(dst, buf[vals[0].start:vals[0].end])
	default:
		w.tmp = w.tmp[:0]
		for i, v := range vals {
			if i > 0 {
				w.tmp = append(w.tmp, '\n')
			}
			w.tmp = append(w.tmp, buf[v.start:v.end]...)
		}
		return appendField(dst, w.tmp)
	}
}

// writeRows writes this worker's reply rows.
func (w *worker) writeRows(bw io.Writer, body []byte) error {
	prev, blk := 0, 0
	for _, r := range w.rows {
		if r.end > r.start {
			if _, err := bw.Write(body[r.start:r.end]); err != nil {
				return err
			}
		}
		if r.blk != blk {
			prev, blk = 0, r.blk
		}
		if _, err := bw.Write(w.blocks[blk][prev:r.encEnd]); err != nil {
			return err
		}
		prev = r.encEnd
	}
	return nil
}

// unquote appends v with each doubled quote made single. v comes from a
// quoted field that scanField accepted, so its quotes come in pairs.
func unquote(dst, v []byte) []byte {
	for {
		i := bytes.IndexByte(v, '"')
		if i < 0 || i+1 >= len(v) {
			return append(dst, v...)
		}
		dst = append(dst, v[:i+1]...)
		v = v[i+2:]
	}
}

// appendField appends v as a CSV field, quoted when it must be (or when
// surrounding spaces could be trimmed by a lenient reader).
func appendField(dst, v []byte) []byte {
	if !needsQuotes(v) {
		return append(dst, v...)
	}
	dst = append(dst, '"')
	for {
		i := bytes.IndexByte(v, '"')
		if i < 0 {
			break
		}
		dst = append(dst, v[:i+1]...)
		dst = append(dst, '"')
		v = v[i+1:]
	}
	dst = append(dst, v...)
	return append(dst, '"')
}

func needsQuotes(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	if v[0] == ' ' || v[len(v)-1] == ' ' {
		return true
	}
	for _, c := range v {
		if c == ',' || c == '"' || c == '\n' || c == '\r' {
			return true
		}
	}
	return false
}

// appendMV appends one value of a __mv_ column: $value$ with "$" doubled.
func appendMV(dst, v []byte) []byte {
	dst = append(dst, '$')
	for {
		i := bytes.IndexByte(v, '$')
		if i < 0 {
			break
		}
		dst = append(dst, v[:i+1]...)
		dst = append(dst, '$')
		v = v[i+1:]
	}
	dst = append(dst, v...)
	return append(dst, '$')
}
