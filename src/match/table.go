package match

// The word filter and the automaton are both DFAs over byte columns, laid
// out the same way: one uint32 table, each state a row of ncol entries,
// states stored premultiplied by ncol so that a step is one add and one
// load. The states that report something (tokens, needles) sit from acc
// on, a power of two above every other state, so one bit of the state says
// whether the step needs a look. 32-bit states let packs of thousands of
// rules keep their tables (a 16-bit layout held about 800 states, which
// packs outgrew by 200 rules).

// maxTable bounds a table, in entries (64 MiB): beyond it the filter is
// dropped and the automaton keeps its plain form. It also keeps the state
// numbers within what divider divides exactly.
const maxTable = 1 << 24

// layout places n states of ncol entries each: plain states from 0,
// reporting ones from acc, a power of two above both, so that a state is
// below 2*acc and s>>log2(acc) is 1 exactly for reporting ones. It returns
// each state's offset, acc and the length of the table; ok is false when
// the table would exceed maxTable.
func layout(n, ncol int, reports func(int) bool) (off []uint32, acc uint32, size int, ok bool) {
	nplain := 0
	for s := range n {
		if !reports(s) {
			nplain++
		}
	}
	acc = 1
	for int(acc) < max(nplain, n-nplain)*ncol {
		acc <<= 1
	}
	if size = int(acc) + (n-nplain)*ncol; size > maxTable {
		return nil, 0, 0, false
	}
	off = make([]uint32, n)
	var p, a uint32
	for s := range n {
		if reports(s) {
			off[s] = acc + a
			a += uint32(ncol)
		} else {
			off[s] = p
			p += uint32(ncol)
		}
	}
	return off, acc, size, true
}

// divider divides numbers below maxTable by a number up to 256 with a
// multiply, exactly: with m the reciprocal rounded up to 32 bits, the error
// of x*m>>32 stays below x/2^32, under 1/d for x < 2^32/d.
type divider struct{ m uint64 }

func newDivider(d int) divider { return divider{(1<<32 + uint64(d) - 1) / uint64(d)} }

func (v divider) of(x uint32) int { return int(uint64(x) * v.m >> 32) }

// block is how many bytes of each part lockstepRec reads between looks at
// what it recorded, and lean how many lockstep reads.
const (
	block = 16
	lean  = 32
)

// lockstep runs a DFA over four parts of equal length from states s, and
// returns the states after them and the bits of all the states met. Four
// independent chains of loads hide the latency of each, which is what
// bounds a one-chain scan. It is kept small so that everything it needs
// stays in registers.
func lockstep(next []uint32, class *[256]uint8, q0, q1, q2, q3 []byte, s [4]uint32) ([4]uint32, uint32) {
	q1, q2, q3 = q1[:len(q0)], q2[:len(q0)], q3[:len(q0)]
	s0, s1, s2, s3 := s[0], s[1], s[2], s[3]
	var seen uint32
	for k := range q0 {
		s0 = next[s0+uint32(class[q0[k]])]
		s1 = next[s1+uint32(class[q1[k]])]
		s2 = next[s2+uint32(class[q2[k]])]
		s3 = next[s3+uint32(class[q3[k]])]
		seen |= s0 | s1 | s2 | s3
	}
	return [4]uint32{s0, s1, s2, s3}, seen
}

// stepRec is a step of lockstepRec where some part met a reporting state:
// its offset and the four states.
type stepRec struct {
	j int32
	s [4]uint32
}

// lockstepRec is lockstep that also records the steps where a state has
// bit acc set, in rec (which has room for one a step). The four parts are
// first copied side by side, which frees the registers the recording needs.
func lockstepRec(next []uint32, class *[256]uint8, acc uint32, q0, q1, q2, q3 []byte, s [4]uint32, rec *[block]stepRec) ([4]uint32, int) {
	var blk [4][block]byte
	l := min(len(q0), block)
	copy(blk[0][:], q0[:l])
	copy(blk[1][:], q1[:l])
	copy(blk[2][:], q2[:l])
	copy(blk[3][:], q3[:l])
	s0, s1, s2, s3 := s[0], s[1], s[2], s[3]
	n := 0
	for k := range l {
		k &= block - 1
		s0 = next[s0+uint32(class[blk[0][k]])]
		s1 = next[s1+uint32(class[blk[1][k]])]
		s2 = next[s2+uint32(class[blk[2][k]])]
		s3 = next[s3+uint32(class[blk[3][k]])]
		if (s0|s1|s2|s3)&acc != 0 {
			rec[n&(block-1)] = stepRec{int32(k), [4]uint32{s0, s1, s2, s3}}
			n++
		}
	}
	return [4]uint32{s0, s1, s2, s3}, n
}

// lockstepAcc is lockstep that also writes to out the reporting states met
// (those from 1<<shift on), in no particular order. It stores every state
// and moves on past reporting ones only, so no branch depends on the text:
// a line dense with tokens, which would defeat a branch predictor, costs
// what a plain one does. The parts are copied side by side first, which
// frees the registers the recording needs.
func lockstepAcc(next []uint32, class *[256]uint8, shift uint32, q0, q1, q2, q3 []byte, s [4]uint32, out *[4 * block]uint32) ([4]uint32, int) {
	var blk [4][block]byte
	l := min(len(q0), block)
	copy(blk[0][:], q0[:l])
	copy(blk[1][:], q1[:l])
	copy(blk[2][:], q2[:l])
	copy(blk[3][:], q3[:l])
	s0, s1, s2, s3 := s[0], s[1], s[2], s[3]
	n := uint32(0)
	for k := range l {
		k &= block - 1
		s0 = next[s0+uint32(class[blk[0][k]])]
		s1 = next[s1+uint32(class[blk[1][k]])]
		s2 = next[s2+uint32(class[blk[2][k]])]
		s3 = next[s3+uint32(class[blk[3][k]])]
		// n stays below 4*block: at most four a step, after the stores.
		out[n%(4*block)] = s0
		n += s0 >> shift
		out[n%(4*block)] = s1
		n += s1 >> shift
		out[n%(4*block)] = s2
		n += s2 >> shift
		out[n%(4*block)] = s3
		n += s3 >> shift
	}
	return [4]uint32{s0, s1, s2, s3}, int(n)
}
