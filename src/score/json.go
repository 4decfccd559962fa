package score

import "scorecmdline/src/jsonenc"

// AppendJSON appends the result's fields as JSON object members, without the
// braces: `"score":8.458906799068355,"rule_hits":["a"],...`. Numbers are JSON
// numbers, multivalue fields arrays. An Empty result appends nothing.
func (r *Result) AppendJSON(dst []byte) []byte {
	if r.Empty {
		return dst
	}
	var c collector
	c.vals = make([][]string, len(r.e.fields))
	r.Emit(&c, nil)
	for i, f := range r.e.fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonenc.AppendString(dst, f.Name)
		dst = append(dst, ':')
		switch v := c.vals[i]; {
		case f.Multi:
			dst = append(dst, '[')
			for j, s := range v {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = jsonenc.AppendString(dst, s)
			}
			dst = append(dst, ']')
		case len(v) == 0:
			dst = append(dst, "null"...)
		case f.Number:
			dst = append(dst, v[0]...)
		default:
			dst = jsonenc.AppendString(dst, v[0])
		}
	}
	return dst
}

// collector is a Sink that keeps values as strings.
type collector struct{ vals [][]string }

func (c *collector) Set(i int, v []byte)    { c.vals[i] = append(c.vals[i][:0], string(v)) }
func (c *collector) Append(i int, v []byte) { c.vals[i] = append(c.vals[i], string(v)) }
