package deobfuscate

import "math/bits"

// Technique is one obfuscation technique the stage undid, or one limit that
// stopped it. The numbers are STABLE and the list is APPEND-ONLY: trained
// models hash the names and bit numbers as features, so an existing constant
// is never renumbered, reused or removed; a new technique gets the next
// number.
type Technique uint8

// The vocabulary. doc.go has a table with an example of each.
const (
	Caret            Technique = iota // ^ escaping ordinary characters (cmd)
	Quotes                            // quotes inside a command word: p"owe"rs"hell (cmd)
	Delimiters                        // , ; used as argument separators (cmd)
	EnvVar                            // %VAR% expanded with a Windows default value (neutral)
	EnvSubstring                      // %VAR:~s,l% substrings
	EnvSubstitution                   // %VAR:a=b% substitutions
	SetVariables                      // variables set in the line, then expanded (call, set)
	DelayedExpansion                  // !VAR! with /V:ON
	ForCoding                         // for %i in (list) do … index re-assembly
	Reversal                          // for /L (start,step,end) loops
	FinCoding                         // chained !VAR:a=b! substitutions
	ForF                              // for /f over a known command's output (ftype, assoc)
	EncodedCommand                    // powershell -EncodedCommand base64 (UTF-16LE)
	Base64                            // [Convert]::FromBase64String in a script
	Deflate                           // raw deflate stream
	Gzip                              // gzip stream
	Concat                            // 'a'+'b' string concatenation
	Format                            // "{1}{0}" -f 'b','a'
	Replace                           // -replace, .Replace(), -join, [string]::Join, reversal by index
	CharCodes                         // [char]73, [char[]](…), 0x49, -bxor
	Backtick                          // backticks that escape nothing: I`E`X
	PSVariables                       // string variables assigned earlier and used by name
	EnvIndex                          // $env:ComSpec[4,15,25] and similar indexing of known values
	ForFUnresolved                    // for /f over a command whose output is unknown: left as is
	LimitDepth                        // a layer or nesting limit stopped the stage
	LimitSize                         // an output size limit stopped the stage
	LimitLoop                         // a loop or step limit stopped the stage
	numTechniques
)

var techniqueNames = [numTechniques]string{
	Caret:            "caret",
	Quotes:           "quotes",
	Delimiters:       "delimiters",
	EnvVar:           "env_var",
	EnvSubstring:     "env_substring",
	EnvSubstitution:  "env_substitution",
	SetVariables:     "set_variables",
	DelayedExpansion: "delayed_expansion",
	ForCoding:        "for_coding",
	Reversal:         "reversal",
	FinCoding:        "fin_coding",
	ForF:             "for_f",
	EncodedCommand:   "encoded_command",
	Base64:           "base64",
	Deflate:          "deflate",
	Gzip:             "gzip",
	Concat:           "concat",
	Format:           "format",
	Replace:          "replace",
	CharCodes:        "char_codes",
	Backtick:         "backtick",
	PSVariables:      "ps_variables",
	EnvIndex:         "env_index",
	ForFUnresolved:   "for_f_unresolved",
	LimitDepth:       "limit_depth",
	LimitSize:        "limit_size",
	LimitLoop:        "limit_loop",
}

// String returns the technique's name, e.g. "caret".
func (t Technique) String() string {
	if t < numTechniques {
		return techniqueNames[t]
	}
	return "unknown"
}

// TechniqueByName returns the technique with the given name.
func TechniqueByName(name string) (Technique, bool) {
	for i, n := range techniqueNames {
		if n == name {
			return Technique(i), true
		}
	}
	return 0, false
}

// Techniques is a set of techniques: bit t is set when Technique t was seen.
// Bit numbers are those of the Technique constants, stable across releases.
type Techniques uint64

// Neutral holds the techniques that ordinary software uses too: expanding
// a well-known %VAR% is normalization, not evidence. Risk scoring should
// ignore them (t &^ Neutral); they are still reported for explanation.
const Neutral = Techniques(1) << EnvVar

// Limits holds the limit techniques; any of them is itself a strong signal.
const Limits = Techniques(1)<<LimitDepth | Techniques(1)<<LimitSize | Techniques(1)<<LimitLoop

// Has reports whether x is in the set.
func (t Techniques) Has(x Technique) bool { return t&(1<<x) != 0 }

// Len returns the number of techniques in the set.
func (t Techniques) Len() int { return bits.OnesCount64(uint64(t)) }

func (t *Techniques) add(x Technique) { *t |= 1 << x }

// AppendNames appends the names of the techniques in bit order to dst. The
// names are static strings, so with a dst of enough capacity it does not
// allocate.
func (t Techniques) AppendNames(dst []string) []string {
	for u := uint64(t); u != 0; u &= u - 1 {
		dst = append(dst, Technique(bits.TrailingZeros64(u)).String())
	}
	return dst
}

// String returns the names in bit order joined by ",", or "" for none.
func (t Techniques) String() string {
	var b []byte
	for u := uint64(t); u != 0; u &= u - 1 {
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, Technique(bits.TrailingZeros64(u)).String()...)
	}
	return string(b)
}
