package match

// The compact form of the automaton (next32) is a DFA over byte columns in
// one uint32 table, each state a row of ncol entries, states stored
// premultiplied by ncol so that a step is one add and one load. The states
// that report needles sit from acc on, a power of two above every other
// state, so one bit of the state says whether the step needs a look.
// 32-bit states let packs of thousands of rules keep their tables (a 16-bit
// layout held about 800 states, which packs outgrew by 200 rules).

// maxTable bounds a table, in entries (64 MiB): beyond it the automaton
// keeps its plain form. It also keeps the state
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
// what it recorded.
const block = 16

// stepRec is a step of lockstepRec where some part met a reporting state:
// its offset and the four states.
type stepRec struct {
	j int32
	s [4]uint32
}

// lockstepRec runs a DFA over four parts of equal length (at most block
// bytes) from states s, and records the steps where a state has bit acc
// set, in rec (which has room for one a step). Four independent chains of
// loads hide the latency of each, which is what bounds a one-chain scan.
// The four parts are first copied side by side, which frees the registers
// the recording needs.
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
