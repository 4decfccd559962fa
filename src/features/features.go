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
// deleted and white space turned into spaces, so caret and quote insertion
// do not change tokens. (Runs of spaces are kept: collapsing them cost a
// mispredicted branch per space and measured no better in CV.) Besides the command line itself, tokens
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
// lookups; a token hash grown byte by byte by rotate-and-xor (a 3-cycle
// dependency where FNV's multiply takes 5), without branches, then a 64-bit
// mix; a gram hash that is one multiply of the gram's four bytes packed in a
// sliding window; normalization and structure counted in one pass, without
// branches but for rare bytes. The hashes match nothing outside this package,
// and changing them (or any rule above) changes SchemeVersion. Extraction
// reuses the Extractor's scratch, so scoring allocates nothing per row once
// warm. With Names set, the Extractor also records each feature's text (the
// slow explain path).
package features

import (
	"math"
	"math/bits"
	"slices"
	"strings"
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

	norm    []byte   // backing store of texts
	ends    []uint64 // token hashes of one text
	dec     []byte   // scratch of the base64 decoder
	buckets [NumGroups][]uint32
	names   [NumGroups][]string
	shape   shape // of the command line
	scratch shape // of the other texts, unused
}

// shape is what the normalizing pass over the command line counts for the
// s: features, and where it saw -EncodedCommand flag candidates.
type shape struct {
	punct, pct, caret, tick, plus, maxRun int
	url, ipv4                             bool    // "://" or digit.digit seen: worth a closer look
	enc                                   []int32 // offsets of - or / followed by e or E
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
	x.addText(in.Cmdline, &x.shape)
	x.enc = false
	if p := x.decodeEncoded(in.Cmdline, x.shape.enc); p != nil {
		x.enc = true
		x.addText(p, &x.scratch)
	}
	if d := in.Deobfuscated; d != nil && string(d) != string(in.Cmdline) {
		x.addText(d, &x.scratch)
	}
}

// addText appends the normalized form of s, padded with a space each end,
// and counts its shape into sh: one pass over the bytes for both.
func (x *Extractor) addText(s []byte, sh *shape) {
	start := len(x.norm)
	buf := x.norm[:cap(x.norm)] // Reset sized it for every text
	n := start
	buf[n] = ' '
	n++
	*sh = shape{enc: sh.enc[:0]}
	var punct, run, maxRun int
	for i, c := range s {
		// Branch-free where the bytes are too irregular to predict: write
		// every byte, advance unless it is dropped; count base64 runs and
		// punctuation by arithmetic.
		k := int(class[c])
		buf[n] = norm[c]
		n += k >> cKeepBit & 1
		run = (run + 1) * (k >> cB64Bit & 1)
		maxRun = max(maxRun, run)
		punct += k >> cPunctBit & 1
		if k&cRare != 0 {
			sh.rare(s, i)
		}
	}
	sh.punct, sh.maxRun = punct, maxRun
	if buf[n-1] != ' ' {
		buf[n] = ' '
		n++
	}
	x.norm = buf[:n]
	x.texts[x.n] = buf[start:n:n]
	x.n++
}

// rare counts the rare byte s[i].
func (sh *shape) rare(s []byte, i int) {
	next := byte(0)
	if i+1 < len(s) {
		next = s[i+1]
	}
	switch s[i] {
	case '%':
		sh.pct++
	case '^':
		sh.caret++
	case '`':
		sh.tick++
	case '+':
		sh.plus++
	case ':':
		sh.url = sh.url || next == '/'
	case '.':
		sh.ipv4 = sh.ipv4 || i > 0 && isDigit(s[i-1]) && isDigit(next)
	case '-', '/':
		if next|0x20 == 'e' {
			sh.enc = append(sh.enc, int32(i))
		}
	}
}

// norm maps a byte to its normalized form: ASCII lowered, white space to
// ' ', and 0 for the bytes dropped (^ " ' ` NUL).
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
	cmd, sh := x.in.Cmdline, &x.shape
	share := 0
	if len(cmd) > 0 {
		share = sh.punct * 20 / len(cmd)
	}
	x.structFeat(sLen, min(bits.Len(uint(len(cmd))), 14))
	x.structFeat(sPunct, share)
	x.structFeat(sB64Run, min(bits.Len(uint(sh.maxRun)), 12))
	x.structFeat(sPct, min(bits.Len(uint(sh.pct)), 6))
	x.structFeat(sCaret, min(bits.Len(uint(sh.caret)), 6))
	x.structFeat(sTick, min(bits.Len(uint(sh.tick)), 6))
	cc := 0
	if sh.plus > 0 {
		cc = concats(cmd)
	}
	x.structFeat(sConcat, min(bits.Len(uint(cc)), 6))
	if sh.url && hasURL(cmd) {
		x.structFeat(sURL, 1)
	}
	if sh.ipv4 && hasIPv4(cmd) {
		x.structFeat(sIPv4, 1)
	}
	if x.enc {
		x.structFeat(sEncDecoded, 1)
	}
	if x.in.Undone > 0 {
		x.structFeat(sUndone, min(bits.Len(uint(x.in.Undone)), 12))
	}
	for t := x.in.Techniques; t != 0; t &= t - 1 {
		bit := bits.TrailingZeros64(t)
		x.emit(Struct, fnvInt(seedTech, uint64(bit)))
		if x.Names {
			x.name(Struct, "t:"+itoa(bit))
		}
	}
}

func (x *Extractor) structFeat(f structName, v int) {
	x.emit(Struct, fnvInt(structSeeds[f], uint64(v)))
	if x.Names {
		x.name(Struct, "s:"+structNames[f]+"="+itoa(v))
	}
}

// The structure features, with their names hashed once.
type structName uint8

const (
	sLen structName = iota
	sPunct
	sB64Run
	sPct
	sCaret
	sTick
	sConcat
	sURL
	sIPv4
	sEncDecoded
	sUndone
	numStruct
)

var structNames = [numStruct]string{"len", "punct", "b64run", "pct", "caret", "tick", "concat", "url", "ipv4", "encdecoded", "undone"}

var structSeeds = func() (h [numStruct]uint64) {
	for i, n := range structNames {
		h[i] = fnvString(seedStruct, n)
	}
	return h
}()

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
// normalized text.
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
	// Token hashes, branch-free (token boundaries are too irregular to
	// predict): h restarts after every non-token byte, and ends[n] holds
	// the hash of the n-th token once it has ended; n advances only then.
	ends := x.ends[:cap(x.ends)]
	if len(ends) < len(t)/2+2 {
		ends = make([]uint64, len(t)/2+2) // tokens are separated, so at most len/2+1
		x.ends = ends
	}
	h, was, n := uint64(0), uint64(0), 0
	for _, c := range t {
		tok := uint64(class[c] & cTok)
		ends[n] = h
		n += int(was &^ tok)
		h = bits.RotateLeft64(h&-was, 7) ^ uint64(c)
		was = tok
	}
	// The padding space ends every token.
	ws, bs := x.buckets[Word], x.buckets[Bigram]
	for k, h := range ends[:n] {
		if uni {
			ws = append(ws, uint32(mix(h^seedWord)>>shift))
		}
		if bi && k > 0 {
			bs = append(bs, uint32(mix((ends[k-1]*prime2+h)^seedBigram)>>shift))
		}
	}
	x.buckets[Word], x.buckets[Bigram] = ws, bs
	if x.Names {
		x.tokenNames(t, uni, bi)
	}
}

// tokenNames records the texts of scan's word and bigram features, in
// scan's order.
func (x *Extractor) tokenNames(t []byte, uni, bi bool) {
	var prev []byte
	for i := 0; i < len(t); {
		if class[t[i]]&cTok == 0 {
			i++
			continue
		}
		j := i
		for j < len(t) && class[t[j]]&cTok != 0 {
			j++
		}
		if uni {
			x.name(Word, "w:"+string(t[i:j]))
		}
		if bi && prev != nil {
			x.name(Bigram, "b:"+string(prev)+" "+string(t[i:j]))
		}
		prev, i = t[i:j], j
	}
}

// GramLen is the length of the char n-grams.
const GramLen = 4

// Byte classes, one table lookup per byte.
const (
	cTokBit   = iota // token byte of the normalized (lowered) text: [a-z0-9_-]
	cB64Bit          // base64 alphabet: [A-Za-z0-9+/=]
	cPunctBit        // ASCII, neither alphanumeric nor white space
	cRareBit         // looked at by shape.rare: % ^ ` + : . - /
	cKeepBit         // kept by normalization

	cTok   = 1 << cTokBit
	cB64   = 1 << cB64Bit
	cPunct = 1 << cPunctBit
	cRare  = 1 << cRareBit
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
		if strings.IndexByte("%^`+:.-/", b) >= 0 {
			t[c] |= cRare
		}
		if norm[c] != 0 {
			t[c] |= 1 << cKeepBit
		}
	}
	return t
}()
