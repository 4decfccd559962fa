// Package features turns one command line into the hashed sparse features of
// the trained `cmdline` model. Training and scoring share this code so that
// they can never disagree.
//
// Every feature is a byte string with a namespace prefix, hashed into one of
// 2^Bits buckets. The groups:
//
//	w:<tok>        token unigrams, tokens [a-z0-9_-]+ of the normalized text
//	b:<tok> <tok>  token bigrams (adjacent tokens of one text)
//	c:<gram>       char 4-grams of the normalized text, padded with one
//	               space at each end
//	s:<name>=<v>   structure one-hots (length, punctuation share, longest
//	               base64 run, URL, IPv4, counts of % ^ ` and '…'+'…'), the
//	               decoded -EncodedCommand flag, obfuscation undone
//	t:<bit>        deobfuscation techniques (stable bit numbers)
//	p:<name> i:<name>  parent and image base names, lower-cased
//
// The normalized text is the ASCII-lowered line with ^ " ' ` and NUL
// deleted and whitespace runs collapsed to one space, so caret and quote
// insertion do not change tokens. Besides the command line itself, tokens
// and grams are taken from the decoded -EncodedCommand payload and from the
// deobfuscated text when it differs, into the same groups: an obfuscated
// line shares the features of its clean form.
//
// Values: in the w, b and c groups every occurrence of a feature adds
// 1/sqrt(occurrences in that group), so long lines do not dominate and a
// repeated feature counts more; s, t, p and i features get 1. Counting
// rather than deduplicating keeps scoring to one table read per occurrence,
// with no per-row set.
//
// Cost decides the rest (the model scores every row of a search, in about
// 2 µs for 300 bytes): one gram length, since grams are most of the
// lookups; a token hash that is FNV-1a grown byte by byte with a final
// 64-bit mix; a gram hash that is one multiply of the gram's four bytes
// packed in a sliding window. The hashes match nothing outside this package,
// and changing them (or any rule above) changes SchemeVersion. Extraction
// reuses the Extractor's scratch, so scoring allocates nothing per row once
// warm. With Names set, the Extractor also records each feature's text (the
// slow explain path).
package features

import (
	"math"
	"math/bits"
	"slices"
)

// SchemeVersion identifies the feature definitions and hash above. A model
// file records it; a model built on another version is refused.
const SchemeVersion = 2

// MaxBits bounds the hash space: bucket and group share one uint32 key.
const MaxBits = 24

// Input is one row to score.
type Input struct {
	Cmdline      []byte
	Deobfuscated []byte // deobfuscated text; nil or equal to Cmdline when nothing was undone
	Techniques   uint64 // deobfuscation technique bit set (stable bit numbers); 0 when none
	Undone       int    // bytes of obfuscation undone
	Parent       []byte // parent process name or path, may be empty
	Image        []byte // process path or name, may be empty
}

// Group is a family of features sharing one value rule.
type Group uint8

// The groups, in extraction order.
const (
	Word Group = iota
	Bigram
	Char
	Struct  // s: and t: features
	Context // p: and i: features
	NumGroups
)

var groupNames = [NumGroups]string{"word", "bigram", "char", "struct", "context"}

func (g Group) String() string {
	if g < NumGroups {
		return groupNames[g]
	}
	return "group?"
}

// Groups is a set of groups.
type Groups uint8

// Has reports whether g is in the set.
func (gs Groups) Has(g Group) bool { return gs&(1<<g) != 0 }

// Set builds a set.
func Set(g ...Group) Groups {
	var s Groups
	for _, x := range g {
		s |= 1 << x
	}
	return s
}

// Valid reports whether the set names only known groups.
func (gs Groups) Valid() bool { return gs < 1<<NumGroups }

// Default is the feature set of a model trained without context.
const Default = Groups(1<<Word | 1<<Bigram | 1<<Char | 1<<Struct)

// Entry is one feature of a row with its value.
type Entry struct {
	Bucket uint32
	Value  float32
}

// Extractor computes features. Not safe for concurrent use: one per
// goroutine. The zero value is not usable; call New.
type Extractor struct {
	// Names makes Extract record each feature's text (see Name). Slow.
	Names bool

	bits  uint
	in    *Input
	texts [3][]byte // normalized texts: command line, decoded payload, deobfuscated
	n     int       // texts in use
	enc   bool      // a -EncodedCommand payload was decoded
	done  Groups

	norm    []byte // backing store of texts
	dec     []byte // scratch of the base64 decoder
	buckets [NumGroups][]uint32
	names   [NumGroups][]string
	toks    []uint64 // token hashes of the current text, for bigrams
	tokPos  [][2]int // token spans, only with Names
}

// New returns an Extractor hashing into 2^bits buckets (1 <= bits <= MaxBits).
func New(bits uint) *Extractor {
	if bits < 1 || bits > MaxBits {
		panic("features: bits out of range") // programmer error: models validate bits at load
	}
	return &Extractor{bits: bits}
}

// Bits is the hash width.
func (x *Extractor) Bits() uint { return x.bits }

// Reset starts a new row. in must stay unchanged until the next Reset.
func (x *Extractor) Reset(in *Input) {
	x.in = in
	x.done = 0
	for g := range x.buckets {
		x.buckets[g] = x.buckets[g][:0]
		x.names[g] = x.names[g][:0]
	}
	// Size the backing store once so that texts never move while appended.
	need := 3*len(in.Cmdline) + len(in.Deobfuscated) + 8 // a decoded payload adds at most 9/8 len
	if cap(x.norm) < need {
		x.norm = make([]byte, 0, need)
	}
	x.norm = x.norm[:0]
	x.n = 0
	x.addText(in.Cmdline)
	x.enc = false
	if p := x.decodeEncoded(in.Cmdline); p != nil {
		x.enc = true
		x.addText(p)
	}
	if d := in.Deobfuscated; d != nil && string(d) != string(in.Cmdline) {
		x.addText(d)
	}
}

// addText appends the normalized form of s, padded with a space each end.
func (x *Extractor) addText(s []byte) {
	start := len(x.norm)
	buf := x.norm[:cap(x.norm)] // Reset sized it for every text
	n := start
	buf[n] = ' '
	n++
	for _, c := range s {
		// Branch-free: write always, advance unless dropped or a second space.
		m := norm[c]
		buf[n] = m
		if m != 0 && (m != ' ' || buf[n-1] != ' ') {
			n++
		}
	}
	if buf[n-1] != ' ' {
		buf[n] = ' '
		n++
	}
	x.norm = buf[:n]
	x.texts[x.n] = buf[start:n:n]
	x.n++
}

// norm maps a byte to its normalized form: ASCII lowered, white space to
// ' ', and 0 for the bytes dropped (^ " ' `).
var norm = func() (t [256]byte) {
	for c := range t {
		t[c] = byte(c)
		switch {
		case 'A' <= c && c <= 'Z':
			t[c] += 'a' - 'A'
		case c == '^' || c == '"' || c == '\'' || c == '`' || c == 0:
			t[c] = 0
		case c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			t[c] = ' '
		}
	}
	return t
}()

// Extract adds the groups of gs not extracted yet for this row.
func (x *Extractor) Extract(gs Groups) {
	todo := gs &^ x.done
	x.done |= todo
	if todo&Set(Word, Bigram, Char) != 0 {
		for _, t := range x.texts[:x.n] {
			x.scan(t, todo)
		}
	}
	if todo.Has(Struct) {
		x.structure()
	}
	if todo.Has(Context) {
		x.context()
	}
}

// Buckets returns the buckets of group g, one per occurrence of a
// feature, in text order.
func (x *Extractor) Buckets(g Group) []uint32 { return x.buckets[g] }

// Name returns the text of the i-th feature of group g; Names must have been
// set before Extract.
func (x *Extractor) Name(g Group, i int) string { return x.names[g][i] }

// Value is what each occurrence of a feature of group g adds on this row.
func (x *Extractor) Value(g Group) float32 { return Value(g, len(x.buckets[g])) }

// Value is what each of n feature occurrences of group g adds.
func Value(g Group, n int) float32 {
	if g > Char || n == 0 {
		return 1
	}
	return float32(1 / math.Sqrt(float64(n)))
}

// AppendVector appends the row's features of the groups in gs (extracting
// them if needed) as entries, one per distinct bucket of a group with the
// value summed over its occurrences, in bucket order. A bucket hit by two
// groups appears twice. It sorts a copy: training only.
func (x *Extractor) AppendVector(dst []Entry, gs Groups) []Entry {
	x.Extract(gs)
	for g := Group(0); g < NumGroups; g++ {
		if !gs.Has(g) || len(x.buckets[g]) == 0 {
			continue
		}
		v := x.Value(g)
		bs := slices.Clone(x.buckets[g])
		slices.Sort(bs)
		for i, b := range bs {
			if i > 0 && b == bs[i-1] {
				dst[len(dst)-1].Value += v
				continue
			}
			dst = append(dst, Entry{b, v})
		}
	}
	return dst
}

// emit records feature hash h in group g.
func (x *Extractor) emit(g Group, h uint64) {
	x.buckets[g] = append(x.buckets[g], uint32(mix(h)>>(64-x.bits)))
}

func (x *Extractor) name(g Group, s string) { x.names[g] = append(x.names[g], s) }

// structure emits the s: and t: features of the command line.
func (x *Extractor) structure() {
	cmd := x.in.Cmdline
	var punct, pct, caret, tick, plus, run, maxRun int
	for _, c := range cmd {
		k := class[c]
		if k&cAlnum != 0 {
			run++
			continue // the common case: nothing else to count
		}
		if k&cB64 != 0 {
			run++
		} else {
			maxRun, run = max(maxRun, run), 0
		}
		if k&cPunct != 0 {
			punct++
			switch c {
			case '%':
				pct++
			case '^':
				caret++
			case '`':
				tick++
			case '+':
				plus++
			}
		}
	}
	maxRun = max(maxRun, run)
	share := 0
	if len(cmd) > 0 {
		share = punct * 20 / len(cmd)
	}
	x.structFeat("len", min(bits.Len(uint(len(cmd))), 14))
	x.structFeat("punct", share)
	x.structFeat("b64run", min(bits.Len(uint(maxRun)), 12))
	x.structFeat("pct", min(bits.Len(uint(pct)), 6))
	x.structFeat("caret", min(bits.Len(uint(caret)), 6))
	x.structFeat("tick", min(bits.Len(uint(tick)), 6))
	cc := 0
	if plus > 0 {
		cc = concats(cmd)
	}
	x.structFeat("concat", min(bits.Len(uint(cc)), 6))
	if hasURL(cmd) {
		x.structFeat("url", 1)
	}
	if hasIPv4(cmd) {
		x.structFeat("ipv4", 1)
	}
	if x.enc {
		x.structFeat("encdecoded", 1)
	}
	if x.in.Undone > 0 {
		x.structFeat("undone", min(bits.Len(uint(x.in.Undone)), 12))
	}
	for t := x.in.Techniques; t != 0; t &= t - 1 {
		bit := bits.TrailingZeros64(t)
		x.emit(Struct, fnvInt(seedTech, uint64(bit)))
		if x.Names {
			x.name(Struct, "t:"+itoa(bit))
		}
	}
}

func (x *Extractor) structFeat(name string, v int) {
	x.emit(Struct, fnvInt(fnvString(seedStruct, name), uint64(v)))
	if x.Names {
		x.name(Struct, "s:"+name+"="+itoa(v))
	}
}

// context emits the parent and image base names.
func (x *Extractor) context() {
	for _, c := range [2]struct {
		seed uint64
		ns   string
		path []byte
	}{{seedParent, "p:", x.in.Parent}, {seedImage, "i:", x.in.Image}} {
		base := baseName(c.path)
		if len(base) == 0 {
			continue
		}
		x.emit(Context, fnvLower(c.seed, base))
		if x.Names {
			x.name(Context, c.ns+string(lowerASCII(base)))
		}
	}
}

// scan emits the word, bigram and char features (as todo asks) of one
// normalized text. A token's FNV-1a hash grows byte by byte; a char n-gram
// is the low bytes of a sliding window, hashed by one multiply.
func (x *Extractor) scan(t []byte, todo Groups) {
	shift := 64 - x.bits
	if todo.Has(Char) && len(t) >= GramLen {
		cs := slices.Grow(x.buckets[Char], len(t))
		var win uint32
		for _, c := range t[:GramLen-1] {
			win = win<<8 | uint32(c)
		}
		for _, c := range t[GramLen-1:] {
			win = win<<8 | uint32(c)
			cs = append(cs, uint32(uint64(win)*gramMul>>shift))
		}
		x.buckets[Char] = cs
		if x.Names {
			for i := GramLen; i <= len(t); i++ {
				x.name(Char, "c:"+string(t[i-GramLen:i]))
			}
		}
	}
	uni, bi := todo.Has(Word), todo.Has(Bigram)
	if !uni && !bi {
		return
	}
	ws, bs := x.buckets[Word], x.buckets[Bigram]
	h, prev := uint64(0), uint64(0)
	start, pStart, pEnd := -1, -1, 0 // current and previous token spans
	for i, c := range t {
		if class[c]&cTok != 0 {
			if start < 0 {
				start, h = i, offset
			}
			h = (h ^ uint64(c)) * prime
			continue
		}
		if start < 0 {
			continue
		}
		// A token ends at i; the padding space guarantees every token ends.
		if uni {
			ws = append(ws, uint32(mix(h^seedWord)>>shift))
			if x.Names {
				x.name(Word, "w:"+string(t[start:i]))
			}
		}
		if bi && pStart >= 0 {
			bs = append(bs, uint32(mix((prev*prime2+h)^seedBigram)>>shift))
			if x.Names {
				x.name(Bigram, "b:"+string(t[pStart:pEnd])+" "+string(t[start:i]))
			}
		}
		prev, pStart, pEnd, start = h, start, i, -1
	}
	x.buckets[Word], x.buckets[Bigram] = ws, bs
}

// GramLen is the length of the char n-grams.
const GramLen = 4

// Byte classes, one table lookup per byte.
const (
	cTok   = 1 << iota // token byte of the normalized (lowered) text: [a-z0-9_-]
	cB64               // base64 alphabet: [A-Za-z0-9+/=]
	cPunct             // ASCII, neither alphanumeric nor white space
	cAlnum             // [A-Za-z0-9]
)

var class = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := isLetter(b) || isDigit(b)
		if 'a' <= b && b <= 'z' || isDigit(b) || b == '_' || b == '-' {
			t[c] |= cTok
		}
		if alnum || b == '+' || b == '/' || b == '=' {
			t[c] |= cB64
		}
		if !alnum && !isSpace(b) && b < 0x80 {
			t[c] |= cPunct
		}
		if alnum {
			t[c] |= cAlnum
		}
	}
	return t
}()
