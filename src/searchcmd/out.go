package searchcmd

import "fmt"

// Out collects one row's output values; outputs left unset are empty.
// Values are copied, so callers may reuse their buffers. An index outside
// Plan.Outputs fails the chunk with ErrOutputIndex (reported to the user)
// rather than panicking.
type Out struct {
	buf  []byte      // the values, back to back
	vals [][]valSpan // per output, its values within buf
	err  error
}

type valSpan struct{ start, end int }

// Set makes v the single value of output i.
func (o *Out) Set(i int, v []byte) {
	if o.ok(i) {
		o.vals[i] = append(o.vals[i][:0], o.add(v))
	}
}

// SetString makes v the single value of output i.
func (o *Out) SetString(i int, v string) {
	if o.ok(i) {
		o.vals[i] = append(o.vals[i][:0], o.addString(v))
	}
}

// Append adds one more value to output i. A Multi output with two or more
// values is written as the values joined by "\n" plus its __mv_ encoding;
// other outputs get only the joined values.
func (o *Out) Append(i int, v []byte) {
	if o.ok(i) {
		o.vals[i] = append(o.vals[i], o.add(v))
	}
}

// AppendString adds one more value to output i.
func (o *Out) AppendString(i int, v string) {
	if o.ok(i) {
		o.vals[i] = append(o.vals[i], o.addString(v))
	}
}

func (o *Out) ok(i int) bool {
	if uint(i) < uint(len(o.vals)) {
		return true
	}
	if o.err == nil {
		o.err = fmt.Errorf("%w: %d, the plan has %d outputs", ErrOutputIndex, i, len(o.vals))
	}
	return false
}

func (o *Out) add(v []byte) valSpan {
	s := len(o.buf)
	o.buf = append(o.buf, v...)
	return valSpan{s, len(o.buf)}
}

func (o *Out) addString(v string) valSpan {
	s := len(o.buf)
	o.buf = append(o.buf, v...)
	return valSpan{s, len(o.buf)}
}

func (o *Out) reset() {
	o.buf = o.buf[:0]
	for i := range o.vals {
		o.vals[i] = o.vals[i][:0]
	}
}
