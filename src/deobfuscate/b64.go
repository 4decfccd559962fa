package deobfuscate

import "strings"

// b64Value maps a standard base64 character to its 6-bit value, others
// to 0xff.
var b64Value = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// utf16Base64 reports whether decodeUTF16 accepts s: base64 (padding
// optional) of printable UTF-16LE text. It decodes as it goes, with no
// allocation, so that a flag followed by a word that is not base64 costs
// nothing.
func utf16Base64(s string) bool {
	if len(s) < 8 {
		return false
	}
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if len(s) < 4 {
		return false
	}
	var u utf16Checker
	var acc uint32
	k := 0 // characters decoded: the decoder skips line breaks
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' {
			continue
		}
		x := b64Value[s[i]]
		if x == 0xff {
			return false
		}
		acc = acc<<6 | uint32(x)
		if k++; k%4 == 0 {
			u.byte(byte(acc >> 16))
			u.byte(byte(acc >> 8))
			u.byte(byte(acc))
			acc = 0
		}
	}
	switch k % 4 { // a partial group: 2 characters give 1 byte, 3 give 2
	case 1:
		return false
	case 2:
		u.byte(byte(acc >> 4))
	case 3:
		u.byte(byte(acc >> 10))
		u.byte(byte(acc >> 2))
	}
	return u.ok()
}

// utf16Checker follows utf16Text over a stream of bytes: an even count,
// a leading byte-order mark skipped, surrogates paired, every character
// printable, at least one.
type utf16Checker struct {
	n     int    // bytes seen
	lo    byte   // first byte of the current unit
	high  uint16 // a high surrogate waiting for its pair
	runes int
	bad   bool
}

func (u *utf16Checker) byte(b byte) {
	u.n++
	if u.n%2 == 1 {
		u.lo = b
		return
	}
	c := uint16(u.lo) | uint16(b)<<8
	switch {
	case u.n == 2 && c == 0xfeff:
	case u.high != 0:
		if c < 0xdc00 || c > 0xdfff {
			u.bad = true
			return
		}
		u.add(0x10000 + (rune(u.high)-0xd800)<<10 + rune(c) - 0xdc00)
		u.high = 0
	case 0xd800 <= c && c < 0xdc00:
		u.high = c
	case 0xdc00 <= c && c <= 0xdfff:
		u.bad = true
	default:
		u.add(rune(c))
	}
}

func (u *utf16Checker) add(r rune) {
	if !printable(r) {
		u.bad = true
	}
	u.runes++
}

func (u *utf16Checker) ok() bool {
	return !u.bad && u.n >= 2 && u.n%2 == 0 && u.high == 0 && u.runes > 0
}
