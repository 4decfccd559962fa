package features

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

// FNV-1a constants, a second odd multiplier for bigrams, and one seed per
// namespace so that equal bytes in two namespaces land in unrelated buckets.
const (
	offset = 14695981039346656037
	prime  = 1099511628211
	prime2 = 0x9e3779b97f4a7c15
	// gramMul hashes a packed char n-gram by multiply-shift.
	gramMul = 0xd6e8feb86659fd93

	seedWord   = 0x77 << 56 // 'w'
	seedBigram = 0x62 << 56 // 'b'
	seedStruct = offset ^ 0x73<<56
	seedTech   = offset ^ 0x74<<56
	seedParent = offset ^ 0x70<<56
	seedImage  = offset ^ 0x69<<56
)

// mix is a 64-bit finalizer (murmur3 fmix64): FNV's low-entropy high bits
// become usable as the bucket.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * prime
	}
	return h
}

func fnvLower(h uint64, s []byte) uint64 {
	for _, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h = (h ^ uint64(c)) * prime
	}
	return h
}

func fnvInt(h, v uint64) uint64 { return (h ^ v) * prime }

func itoa(v int) string { return strconv.Itoa(v) }

func lowerASCII(s []byte) []byte {
	b := make([]byte, len(s))
	for i, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return b
}

// baseName is the part after the last \ or /, without surrounding quotes.
func baseName(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '\\' || p[i] == '/' {
			p = p[i+1:]
			break
		}
	}
	for len(p) > 0 && (p[0] == '"' || p[0] == ' ') {
		p = p[1:]
	}
	for len(p) > 0 && (p[len(p)-1] == '"' || p[len(p)-1] == ' ') {
		p = p[:len(p)-1]
	}
	return p
}

// concats counts string concatenations '…'+'…' (either quote, spaces
// allowed around the +).
func concats(s []byte) int {
	n := 0
	for i, c := range s {
		if c != '+' {
			continue
		}
		l, r := i-1, i+1
		for l >= 0 && s[l] == ' ' {
			l--
		}
		for r < len(s) && s[r] == ' ' {
			r++
		}
		if l >= 0 && r < len(s) && isQuote(s[l]) && isQuote(s[r]) {
			n++
		}
	}
	return n
}

func isQuote(c byte) bool { return c == '\'' || c == '"' }

func hasURL(s []byte) bool {
	for off := 0; ; {
		k := bytes.Index(s[off:], []byte("://"))
		if k < 0 {
			return false
		}
		if i := off + k; i > 0 && isLetter(s[i-1]) {
			return true
		}
		off += k + 1
	}
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

// hasIPv4 finds four dot-separated runs of 1-3 digits not inside a longer
// run of digits and dots. It looks only where a dot has a digit on each
// side: most lines have none.
func hasIPv4(s []byte) bool {
	for d := 1; d+1 < len(s); d++ {
		if s[d] != '.' || !isDigit(s[d-1]) || !isDigit(s[d+1]) {
			continue
		}
		i := d - 1
		for i > 0 && (isDigit(s[i-1]) || s[i-1] == '.') {
			i--
		}
		// i starts the run of digits and dots holding this dot: an address
		// must start it.
		if ipv4At(s, i) {
			return true
		}
		for d+1 < len(s) && (isDigit(s[d+1]) || s[d+1] == '.') {
			d++
		}
	}
	return false
}

// ipv4At reports whether s[i:] starts with a dotted quad that no digit or
// dot follows.
func ipv4At(s []byte, i int) bool {
	j := i
	for part := 0; part < 4; part++ {
		k := j
		for k < len(s) && k-j < 4 && isDigit(s[k]) {
			k++
		}
		if n := k - j; n == 0 || n > 3 {
			return false
		}
		j = k
		if part < 3 {
			if j >= len(s) || s[j] != '.' {
				return false
			}
			j++
		}
	}
	return j >= len(s) || !isDigit(s[j]) && s[j] != '.'
}

// minEncoded is the shortest base64 payload worth decoding.
const minEncoded = 16

// decodeEncoded finds a PowerShell -EncodedCommand argument (flag -e, -ec or
// any prefix of -encodedcommand, with - or /, then base64 of 16+ chars),
// decodes it as UTF-16LE and returns it as UTF-8 when at least 90 % of it is
// printable: the first flag of s that qualifies, among the candidate
// offsets at (where - or / is followed by e or E). The result lives in
// x.dec until the next call.
func (x *Extractor) decodeEncoded(s []byte, at []int32) []byte {
	for _, i := range at {
		if p := x.encodedAt(s, int(i)); p != nil {
			return p
		}
	}
	return nil
}

// encodedAt decodes the payload of an -EncodedCommand flag starting at i,
// or returns nil.
func (x *Extractor) encodedAt(s []byte, i int) []byte {
	if i+1 >= len(s) || s[i+1]|0x20 != 'e' || i > 0 && !isSpace(s[i-1]) && !isQuote(s[i-1]) {
		return nil
	}
	j := i + 1
	for j < len(s) && isLetter(s[j]) {
		j++
	}
	if !encFlag(s[i+1 : j]) {
		return nil
	}
	k := j
	for k < len(s) && (isSpace(s[k]) || isQuote(s[k])) {
		k++
	}
	if k == j {
		return nil
	}
	e := k
	for e < len(s) && isB64(s[e]) {
		e++
	}
	return x.decodePayload(s[k:e])
}

func encFlag(w []byte) bool {
	const long = "encodedcommand"
	if len(w) == 2 && w[0]|0x20 == 'e' && w[1]|0x20 == 'c' {
		return true
	}
	if len(w) == 0 || len(w) > len(long) {
		return false
	}
	for i, c := range w {
		if c|0x20 != long[i] {
			return false
		}
	}
	return true
}

func (x *Extractor) decodePayload(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == '=' {
		b = b[:len(b)-1]
	}
	if len(b)%4 == 1 {
		b = b[:len(b)-1]
	}
	if len(b) < minEncoded {
		return nil
	}
	enc := base64.RawStdEncoding
	need := enc.DecodedLen(len(b))
	if cap(x.dec) < need*3 {
		x.dec = make([]byte, need*3)
	}
	raw := x.dec[:need]
	n, err := enc.Decode(raw, b)
	if err != nil {
		return nil
	}
	raw = raw[:n&^1] // UTF-16: drop an odd final byte
	out := x.dec[need:need]
	printable := 0
	for i := 0; i < len(raw); i += 2 {
		u := rune(raw[i]) | rune(raw[i+1])<<8
		if u >= 0x20 && u < 0x7f || u == '\t' || u == '\n' || u == '\r' {
			printable++
		}
		if u < utf8.RuneSelf {
			out = append(out, byte(u))
		} else {
			out = utf8.AppendRune(out, u) // surrogates become U+FFFD
		}
	}
	units := len(raw) / 2
	if units == 0 || printable*10 < units*9 {
		return nil
	}
	return out
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isB64(c byte) bool { return isLetter(c) || isDigit(c) || c == '+' || c == '/' || c == '=' }
