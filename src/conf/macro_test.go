package conf

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// testMacros is a macros.conf; ~ stands for a backtick, which a Go raw
// string cannot hold.
var testMacros = strings.ReplaceAll(`
[plain]
definition = search *

[ctime(1)]
args = field
definition = convert ctime($field$)

[two(2)]
args = a, b
definition = eval $a$=$b$, cost="$5$" | ~ctime($a$)~

[nested]
definition = ~plain~ | ~ctime(_time)~

[loop]
definition = ~loop~

[double]
definition = ~double~ ~double~

[ev(1)]
args = x
iseval = true
definition = "x=" . $x$
`, "~", "`")

func loadTestMacros(t testing.TB) Macros {
	t.Helper()
	f, err := Parse("macros.conf", []byte(testMacros))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := LoadMacros(f)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestLoadMacros(t *testing.T) {
	ms := loadTestMacros(t)
	want := map[string][]string{
		"plain": nil, "ctime(1)": {"field"}, "two(2)": {"a", "b"},
		"nested": nil, "loop": nil, "double": nil, "ev(1)": {"x"},
	}
	if len(ms) != len(want) {
		t.Errorf("got %d macros, want %d", len(ms), len(want))
	}
	for key, args := range want {
		m, ok := ms[key]
		if !ok {
			t.Errorf("macro %s missing", key)
			continue
		}
		if !reflect.DeepEqual(m.Args, args) || m.Key() != key {
			t.Errorf("%s: args %q key %s", key, m.Args, m.Key())
		}
	}
	if !ms["ev(1)"].IsEval || ms["plain"].IsEval {
		t.Error("iseval not read")
	}
}

func TestLoadMacrosErrors(t *testing.T) {
	for _, tt := range []struct{ name, src string }{
		{"no definition", "[m]\nargs = \n"},
		{"arity without args", "[m(1)]\ndefinition = x\n"},
		{"args without arity", "[m]\nargs = a\ndefinition = x\n"},
		{"arity mismatch", "[m(2)]\nargs = a\ndefinition = x\n"},
		{"repeated arg", "[m(2)]\nargs = a, a\ndefinition = x\n"},
		{"bad arg name", "[m(1)]\nargs = a-b\ndefinition = x\n"},
		{"zero arity", "[m(0)]\ndefinition = x\n"},
		{"bad arity", "[m(x)]\ndefinition = x\n"},
		{"bad name", "[m m]\ndefinition = x\n"},
		{"unknown setting", "[m]\ndefinition = x\ndefiniton = y\n"},
		{"bad iseval", "[m]\ndefinition = x\niseval = maybe\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("macros.conf", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			_, err = LoadMacros(f)
			var me *MacroError
			if !errors.As(err, &me) || !errors.Is(err, ErrMacroStanza) {
				t.Fatalf("error %v, want a *MacroError wrapping ErrMacroStanza", err)
			}
			if me.Line != 1 || !strings.Contains(err.Error(), "line 1") {
				t.Errorf("error %q does not name line 1", err)
			}
		})
	}
}

func TestCalls(t *testing.T) {
	for _, tt := range []struct {
		spl  string
		want []Call
	}{
		{"search x", nil},
		{"`a`", []Call{{Name: "a", Offset: 0, End: 3}}},
		{"x | ` b(P) ` | y", []Call{{Name: "b", Args: []string{"P"}, Offset: 4, End: 12}}},
		{"`c(a, \"b,c\", f(d, e))`", []Call{{Name: "c", Args: []string{"a", `"b,c"`, "f(d, e)"}, Offset: 0, End: 22}}},
		{`eval p=replace(p, "` + "`" + `", "") | ` + "`m`", []Call{{Name: "m", Offset: 29, End: 32}}},
		{`eval p="a\"` + "`" + `" | ` + "`m`", []Call{{Name: "m", Offset: 16, End: 19}}},
		{"`a``b`", []Call{{Name: "a", Offset: 0, End: 3}, {Name: "b", Offset: 3, End: 6}}},
		{"`x.y:z-1(\"(\")`", []Call{{Name: "x.y:z-1", Args: []string{`"("`}, Offset: 0, End: 14}}},
	} {
		got, err := Calls(tt.spl)
		if err != nil {
			t.Errorf("Calls(%q): %v", tt.spl, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Calls(%q)\n got %+v\nwant %+v", tt.spl, got, tt.want)
		}
	}
}

func TestCallsErrors(t *testing.T) {
	for _, tt := range []struct {
		spl    string
		offset int
	}{
		{"x | `open", 4},
		{"``", 0},
		{"`m()`", 0},
		{"`m(a`", 0},
		{"`m(a))`", 0},
		{"`m(\"a)`", 0},
		{"a `b c`", 2},
		{"`m(a)x`", 0},
	} {
		_, err := Calls(tt.spl)
		var me *MacroError
		if !errors.As(err, &me) || !errors.Is(err, ErrMacroCall) {
			t.Errorf("Calls(%q) error %v, want a *MacroError wrapping ErrMacroCall", tt.spl, err)
			continue
		}
		if me.Offset != tt.offset {
			t.Errorf("Calls(%q) offset %d, want %d", tt.spl, me.Offset, tt.offset)
		}
	}
}

func TestCallKey(t *testing.T) {
	if k := (Call{Name: "m", Args: []string{"a", "b"}}).Key(); k != "m(2)" {
		t.Errorf("Key() = %s", k)
	}
	if k := (Call{Name: "m"}).Key(); k != "m" {
		t.Errorf("Key() = %s", k)
	}
}

func TestExpand(t *testing.T) {
	ms := loadTestMacros(t)
	for _, tt := range []struct{ in, want string }{
		{"no macros", "no macros"},
		{"| `plain` |", "| search * |"},
		{"`ctime(firstTime)`", "convert ctime(firstTime)"},
		// $5$ is not an argument and stays; arguments are substituted once.
		{"`two(x, $b$)`", `eval x=$b$, cost="$5$" | convert ctime(x)`},
		{"`nested`", "search * | convert ctime(_time)"},
		{"a `ctime( f )` b", "a convert ctime(f) b"},
	} {
		got, err := ms.Expand(tt.in)
		if err != nil {
			t.Errorf("Expand(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Expand(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestExpandErrors(t *testing.T) {
	ms := loadTestMacros(t)
	for _, tt := range []struct {
		in   string
		err  error
		text string
	}{
		{"`missing`", ErrUnknownMacro, "macro missing at offset 0: unknown macro"},
		{"x `ctime(a, b)`", ErrUnknownMacro, "called with 2 arguments, defined as ctime(1)"},
		{"`ctime`", ErrUnknownMacro, "called with 0 arguments, defined as ctime(1)"},
		{"`ev(1)`", ErrEvalMacro, "macro ev(1) (macros.conf line 22)"},
		{"`loop`", ErrExpansion, "nested deeper than 32"},
		{"`double`", ErrExpansion, ""},
		{"`bad(`", ErrMacroCall, ""},
	} {
		_, err := ms.Expand(tt.in)
		var me *MacroError
		if !errors.As(err, &me) || !errors.Is(err, tt.err) {
			t.Errorf("Expand(%q) error %v, want a *MacroError wrapping %v", tt.in, err, tt.err)
			continue
		}
		if !strings.Contains(err.Error(), tt.text) {
			t.Errorf("Expand(%q) error %q lacks %q", tt.in, err, tt.text)
		}
	}
}

// TestExpandFanOut checks the call limit: 2^20 calls of macros that expand to
// nothing would write nothing, so only the call count can stop them.
func TestExpandFanOut(t *testing.T) {
	ms := Macros{}
	const depth = 20
	for i := range depth {
		next := "`m" + strconv.Itoa(i+1) + "`"
		ms["m"+strconv.Itoa(i)] = Macro{Name: "m" + strconv.Itoa(i), Definition: next + next}
	}
	ms["m"+strconv.Itoa(depth)] = Macro{Name: "m" + strconv.Itoa(depth)}
	_, err := ms.Expand("`m0`")
	if !errors.Is(err, ErrExpansion) || !strings.Contains(fmt.Sprint(err), "more than 10000 calls") {
		t.Fatalf("error %v, want the call limit", err)
	}
}
