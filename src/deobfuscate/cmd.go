package deobfuscate

import (
	"strconv"
	"strings"
	"unsafe"
)

// The cmd.exe stage emulates how cmd.exe parses and runs a command line,
// statically: percent expansion of the whole line (phase 1), then carets,
// quotes and operators (phase 2), then, command by command, FOR variables,
// delayed expansion and the command itself. Only what changes the text that
// runs is emulated: set, call, cmd /c, for (list, /L, /F over assoc and
// ftype), if, and pipes into a shell. Every other command is a leaf: its
// expanded text is emitted. The result is the leaves in execution order
// joined by " & ", with nested shells rendered inline (cmd.exe /C net user).
//
// Undefined variables are kept as written, as cmd.exe does on a command line
// (not in a batch file), and scanning resumes after their first delimiter:
// generators rely on both, e.g. %x:*x!=% strips the "!x!" that an undefined
// delayed variable leaves in front of a result.

// cmd limits, beyond the stage-wide output and layer limits.
const (
	maxCmdSteps = 1 << 16 // commands executed, loop iterations included
	maxCmdDepth = 8       // nesting of cmd /c, call and for bodies
)

type nodeKind uint8

const (
	nSimple nodeKind = iota
	nGroup
	nFor
	nIf
)

type node struct {
	kind nodeKind
	op   string // operator before this node in its sequence: "", "&", "&&", "||", "|"
	text string // nSimple: phase-2 text; nFor: the list; nIf: unused
	kids []node // nGroup: the sequence; nFor, nIf: the body

	forSwitch byte     // 0, 'f', 'l', 'd', 'r'
	forVar    byte     // the loop variable letter
	forOpts   string   // for /f options, unquoted
	ifWords   []string // if: condition words
}

// cmdRun is the state of one emulation.
type cmdRun struct {
	vars    map[string]int // variables set in the line: upper-case name to index in vals
	vals    []string       // their values, "" once unset (set NAME=)
	delayed bool
	techs   Techniques
	out     []byte
	sep     bool // a leaf was emitted since the last prefix: separate the next
	piped   bool // the next command reads the output of the previous one
	steps   int
	work    int // bytes read and produced, against maxWork
	maxOut  int
	maxWork int
	stopped bool
	nodes   nodeStore
	scratch []byte    // for the parser and expand, which copy out what they keep
	sub     [2][]byte // for runtime's FOR variable substitutions
}

// reset readies r for a pass, keeping its buffers unless a huge line made
// them too big to keep (or to clear on every pass).
func (r *cmdRun) reset(maxOut int) {
	out, scratch, nodes, sub := r.out[:0], r.scratch[:0], r.nodes, r.sub
	if cap(out) > maxKeep {
		out = nil
	}
	if cap(scratch) > maxKeep {
		scratch = nil
	}
	if cap(sub[0])+cap(sub[1]) > maxKeep {
		sub = [2][]byte{}
	}
	nodes.reset()
	vars, vals := r.vars, r.vals[:0]
	if cap(vals) > maxKeepVars {
		vars, vals = nil, nil
	}
	clear(vars)
	clear(vals[:cap(vals)]) // let go of old values
	*r = cmdRun{vars: vars, vals: vals, out: out, nodes: nodes, scratch: scratch, sub: sub, maxOut: maxOut, maxWork: maxWorkRatio * maxOut}
}

// maxKeepVars bounds the variables whose table a Deobfuscator keeps.
const maxKeepVars = 256

// maxKeep bounds the bytes of scratch a Deobfuscator keeps between runs,
// so that one huge line does not pin memory for good.
const maxKeep = 1 << 20

// nodeStore holds the nodes of the lines being run, reused across lines:
// seq builds a sequence on stack, then moves it to arena, where it stays
// until the line that parsed it has run.
type nodeStore struct {
	stack, arena []node
}

func (st *nodeStore) reset() {
	if cap(st.arena)*int(unsafe.Sizeof(node{})) > maxKeep {
		*st = nodeStore{}
	}
	st.stack, st.arena = st.stack[:0], st.arena[:0]
}

// pop moves the sequence stack[mark:] to the arena. The result's capacity
// ends at its length, so nothing appends over its neighbours; a growing
// arena leaves earlier sequences where they are.
func (st *nodeStore) pop(mark int) []node {
	n := len(st.stack) - mark
	if n == 0 {
		return nil
	}
	st.arena = append(st.arena, st.stack[mark:]...)
	st.stack = st.stack[:mark]
	a := st.arena
	return a[len(a)-n : len(a) : len(a)]
}

// parser reads one line in phase 2.
type parser struct {
	s     string
	i     int
	techs *Techniques
	b     []byte // scratch for phase-2 text
	nodes *nodeStore
}

// cmdIsDelim reports the separators between a command's words.
func cmdIsDelim(c byte) bool {
	return c == ' ' || c == '\t' || c == ',' || c == ';' || c == '=' || c == '\v' || c == '\f' || c == 0xff
}

// skipDelims skips separators; commas and semicolons used so are reported.
func (p *parser) skipDelims() { p.skip(true) }

// skip skips separators, "=" among them when eq is set (not in if
// conditions, where "==" is an operator).
func (p *parser) skip(eq bool) {
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '^' && p.i+1 < len(p.s) && cmdIsDelim(p.s[p.i+1]) && p.s[p.i+1] != '=':
			p.techs.add(Caret)
			p.i += 2
		case cmdIsDelim(c) && (eq || c != '='):
			if c == ',' || c == ';' {
				p.techs.add(Delimiters)
			}
			p.i++
		default:
			return
		}
	}
}

// escapable reports whether ^c escapes something cmd.exe gives a meaning;
// a caret before anything else only obfuscates.
func escapable(c byte) bool { return escapableSet[c] }

var escapableSet = byteSet("&|<>()^\"!%\r\n")

// until reads phase-2 text up to an unquoted operator (& | newline, and ")"
// at depth > 0), or also a separator or parenthesis when stopAtDelim,
// removing unquoted carets. Text without carets comes back as a substring
// of the line, with no copy.
func (p *parser) until(depth int, stopAtDelim bool) string {
	stop := uint8(uEnd)
	if depth > 0 {
		stop |= uClose
	}
	if stopAtDelim {
		stop |= uClose | uDelim
	}
	s, start := p.s, p.i
	i := start
	quoted, copied := false, false // copied: p.b holds the text, a caret removed
scan:
	for i < len(s) {
		c := s[i]
		switch k := untilClass[c]; {
		case k == 0:
		case c == '"':
			quoted = !quoted
		case quoted:
			if c == '\n' {
				break scan
			}
		case c == '^':
			if !copied {
				p.b, copied = append(p.b[:0], s[start:i]...), true
			}
			if i+1 == len(s) {
				i++
				continue
			}
			if n := s[i+1]; n != '\n' { // else a line continuation
				if !escapable(n) {
					p.techs.add(Caret)
				}
				p.b = append(p.b, n)
			}
			i += 2
			continue
		case k&stop != 0:
			break scan
		}
		if copied {
			p.b = append(p.b, c)
		}
		i++
	}
	p.i = i
	if !copied {
		return s[start:i]
	}
	return string(p.b)
}

// Byte classes of until: a quote or caret, what ends a command, a closing
// parenthesis, what ends a word.
const (
	uQuote = 1 << iota
	uCaret
	uEnd
	uClose
	uDelim
)

var untilClass = func() (t [256]uint8) {
	t['"'], t['^'], t[')'] = uQuote, uCaret, uClose|uDelim
	for _, c := range []byte("&|\n\r") {
		t[c] = uEnd
	}
	for c := range 256 {
		if cmdIsDelim(byte(c)) || c == '(' {
			t[c] |= uDelim
		}
	}
	return t
}()

// word reads the next phase-2 word (quoted strings included).
func (p *parser) word(depth int) string {
	p.skipDelims()
	return p.until(depth, true)
}

func (p *parser) peekWord(depth int) (string, int) {
	save := p.i
	t := *p.techs
	w := p.word(depth)
	end := p.i
	p.i, *p.techs = save, t
	return w, end
}

// seq parses a sequence of commands joined by operators, up to the end of
// the line or, at depth > 0, a closing parenthesis (not consumed).
func (p *parser) seq(depth int) []node {
	st := p.nodes
	mark := len(st.stack)
	op := ""
	for {
		n := p.command(depth)
		n.op = op
		if n.kind != nSimple || strings.TrimSpace(n.text) != "" {
			st.stack = append(st.stack, n)
		}
		if n.kind == nFor || n.kind == nIf { // the body took the rest
			return st.pop(mark)
		}
		if p.i >= len(p.s) || p.s[p.i] == ')' && depth > 0 {
			return st.pop(mark)
		}
		switch c := p.s[p.i]; {
		case strings.HasPrefix(p.s[p.i:], "&&"), strings.HasPrefix(p.s[p.i:], "||"):
			op = p.s[p.i : p.i+2]
			p.i += 2
		case c == '&' || c == '|':
			op = p.s[p.i : p.i+1]
			p.i++
		default: // newline
			op = "&"
			p.i++
		}
	}
}

// command parses one command: a group, a for, an if, or a simple command.
func (p *parser) command(depth int) node {
	p.skipDelims()
	for p.i < len(p.s) && (p.s[p.i] == '@' || p.s[p.i] == ' ') {
		p.i++
	}
	if p.i < len(p.s) && p.s[p.i] == '(' {
		p.i++
		if depth >= maxCmdDepth*4 {
			p.i = len(p.s)
			return node{kind: nGroup}
		}
		kids := p.seq(depth + 1)
		if p.i < len(p.s) && p.s[p.i] == ')' {
			p.i++
		}
		p.until(depth, false) // redirections after the group
		return node{kind: nGroup, kids: kids}
	}
	w, end := p.peekWord(depth)
	switch {
	case strings.EqualFold(w, "for"):
		p.i = end
		return p.forCmd(depth)
	case strings.EqualFold(w, "if"):
		p.i = end
		return p.ifCmd(depth)
	case strings.EqualFold(w, "rem"):
		p.i = len(p.s)
		return node{}
	}
	return node{text: p.until(depth, false)}
}

func (p *parser) forCmd(depth int) node {
	n := node{kind: nFor}
	for {
		w, end := p.peekWord(depth)
		if len(w) < 2 || w[0] != '/' {
			break
		}
		p.i = end
		n.forSwitch = lower(w[1])
		if n.forSwitch == 'f' {
			if o, e := p.peekWord(depth); strings.HasPrefix(o, `"`) {
				n.forOpts, p.i = strings.Trim(o, `"`), e
			}
		}
		if n.forSwitch == 'r' {
			if o, e := p.peekWord(depth); o != "" && o[0] != '%' {
				p.i = e
			}
		}
	}
	v := p.word(depth)
	if len(v) >= 2 && v[0] == '%' {
		n.forVar = v[len(v)-1]
	}
	if w := p.word(depth); !strings.EqualFold(w, "in") {
		p.i = len(p.s)
		return node{}
	}
	p.skipDelims()
	if p.i >= len(p.s) || p.s[p.i] != '(' {
		p.i = len(p.s)
		return node{}
	}
	p.i++
	n.text = p.until(depth+1, false)
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
	}
	if w := p.word(depth); !strings.EqualFold(w, "do") {
		p.i = len(p.s)
		return node{}
	}
	n.kids = p.seq(depth)
	return n
}

func (p *parser) ifCmd(depth int) node {
	n := node{kind: nIf}
	for len(n.ifWords) < 6 {
		p.skip(false)
		if p.i >= len(p.s) || p.s[p.i] == '(' {
			break
		}
		w := p.ifWord(depth)
		if w == "" {
			break
		}
		n.ifWords = append(n.ifWords, w)
		if ifComplete(n.ifWords) {
			break
		}
	}
	n.kids = p.seq(depth)
	return n
}

// ifWord reads a condition word, where "==" splits words and "=" does not
// separate them.
func (p *parser) ifWord(depth int) string {
	if n := p.eqeq(); n > 0 {
		p.i += n
		return "=="
	}
	start := p.i
	w := []byte(p.until(depth, true))
	for p.i < len(p.s) && p.s[p.i] == '=' && p.eqeq() == 0 {
		p.i++
		w = append(append(w, '='), p.until(depth, true)...) // a lone "=" is part of a word
	}
	if len(w) == 0 && p.i == start && p.i < len(p.s) && p.s[p.i] == '=' {
		p.i++
	}
	return string(w)
}

// eqeq returns the length of an "==" at p.i, carets between included.
func (p *parser) eqeq() int {
	t := p.s[p.i:]
	switch {
	case strings.HasPrefix(t, "=="):
		return 2
	case strings.HasPrefix(t, "=^="):
		return 3
	}
	return 0
}

// ifComplete reports whether words make a whole if condition.
func ifComplete(w []string) bool {
	for len(w) > 0 && (strings.EqualFold(w[0], "/i") || strings.EqualFold(w[0], "not")) {
		w = w[1:]
	}
	if len(w) == 0 {
		return false
	}
	switch strings.ToLower(w[0]) {
	case "defined", "exist", "errorlevel", "cmdextversion":
		return len(w) >= 2
	}
	return len(w) >= 3
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// parse runs phase 2 over one line.
func (r *cmdRun) parse(s string) []node {
	p := parser{s: s, techs: &r.techs, nodes: &r.nodes, b: r.scratch[:0]}
	nodes := p.seq(0)
	r.scratch = p.b
	return nodes
}

// line runs one line as cmd.exe would: phase 1 over all of it, then its
// commands in order.
func (r *cmdRun) line(s string, depth int) {
	if depth > maxCmdDepth {
		r.limit(LimitDepth)
		return
	}
	if !r.spend(len(s)) {
		return
	}
	mark := len(r.nodes.arena)
	r.exec(r.parse(r.expand(s, '%')), nil, depth)
	r.nodes.arena = r.nodes.arena[:mark] // its nodes have run
}

// spend charges n bytes of work: every line parsed and command run is, so
// that loops and calls over long text stay linear in the work limit.
func (r *cmdRun) spend(n int) bool {
	if r.work += n; r.work > r.maxWork {
		r.limit(LimitSize)
		return false
	}
	return true
}

func (r *cmdRun) limit(t Technique) {
	r.techs.add(t)
	r.stopped = true
}

// forVar is a FOR variable bound while running a body.
type forVar struct {
	name  byte
	value string
}

func (r *cmdRun) exec(nodes []node, vars []forVar, depth int) {
	for i := 0; i < len(nodes) && !r.stopped; i++ {
		n := &nodes[i]
		if n.op == "||" { // every command is taken to succeed
			continue
		}
		if i+1 < len(nodes) && nodes[i+1].op == "|" && r.pipe(n, &nodes[i+1], vars, depth) {
			i++
			continue
		}
		r.piped = n.op == "|"
		r.node(n, vars, depth)
	}
}

func (r *cmdRun) node(n *node, vars []forVar, depth int) {
	if r.steps++; r.steps > maxCmdSteps {
		r.limit(LimitLoop)
		return
	}
	switch n.kind {
	case nGroup:
		r.exec(n.kids, vars, depth)
	case nFor:
		r.forLoop(n, vars, depth)
	case nIf:
		if r.ifTrue(n.ifWords, vars) {
			r.exec(n.kids, vars, depth)
		}
	default:
		r.simple(r.runtime(n.text, vars), depth)
	}
}

// runtime applies what happens when a command runs: FOR variables, then
// delayed expansion. Substitutions are built in scratch, alternating
// between two buffers; only the result is copied out.
func (r *cmdRun) runtime(s string, vars []forVar) string {
	r.spend(len(s) * (1 + len(vars)))
	k, scratch := 0, false // s is a view of r.sub[k]
	for _, v := range vars {
		first := strings.Index(s, string([]byte{'%', v.name}))
		if first < 0 {
			continue
		}
		k ^= 1
		r.sub[k] = appendFor(append(r.sub[k][:0], s[:first]...), s[first:], v)
		s, scratch = view(r.sub[k]), true
	}
	if r.delayed && strings.IndexByte(s, '!') >= 0 {
		return r.expand(s, '!') // a copy
	}
	if scratch {
		return strings.Clone(s)
	}
	return s
}

// appendFor appends s with the FOR variable v replaced by its value.
func appendFor(b []byte, s string, v forVar) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+1 < len(s) && s[i+1] == v.name {
			b = append(b, v.value...)
			i++
			continue
		}
		b = append(b, s[i])
	}
	return b
}

// pipe handles "echo X | shell", where X is what the shell runs. It reports
// false when the pair is not one.
func (r *cmdRun) pipe(left, right *node, vars []forVar, depth int) bool {
	if left.kind != nSimple {
		return false
	}
	l := r.runtime(left.text, vars)
	name, args := splitCommand(l)
	if !strings.EqualFold(name, "echo") {
		return false
	}
	var rt string
	switch {
	case right.kind == nSimple:
		rt = r.runtime(right.text, vars)
	case right.kind == nFor && right.forSwitch == 'f' && len(right.kids) > 0 && right.kids[0].kind == nSimple:
		// echo … | for /f … in ('assoc …') do %x -: the shell is spelt
		// by the loop.
		v, ok := r.forFirst(right, vars)
		if !ok {
			return false
		}
		rt = r.runtime(right.kids[0].text, append(vars[:len(vars):len(vars)], forVar{right.forVar, v}))
	default:
		return false
	}
	shell, rargs := splitCommand(rt)
	args = strings.TrimLeft(args, " \t,;=")
	switch {
	case commandIs(shell, "cmd"):
		if _, _, ok := cmdSwitches(rargs); ok { // cmd /c ignores stdin
			return false
		}
		r.emitPrefix(unquoteWord(shell, &r.techs) + " /C ")
		r.line(args, depth+1)
		return true
	case commandIs(shell, "powershell"), commandIs(shell, "pwsh"):
		r.emitLeaf(unquoteWord(shell, &r.techs) + " " + args)
		return true
	}
	return false
}

// forFirst returns the first value a for /f loop binds.
func (r *cmdRun) forFirst(n *node, vars []forVar) (string, bool) {
	tokens, delims, skip, eol, _ := parseForOpts(n.forOpts)
	list := strings.Trim(r.runtime(n.text, vars), " \t,;=")
	if len(list) < 2 || list[0] != '\'' || list[len(list)-1] != '\'' {
		return "", false
	}
	// Each side of a pipe is parsed again by a new cmd.exe: one more
	// round of carets (ftype^^^|find).
	lines, ok := knownOutput(removeCarets(list[1 : len(list)-1]))
	if !ok {
		return "", false
	}
	for i, l := range lines {
		if i < skip || l == "" || l[0] == eol {
			continue
		}
		if v, ok := forToken(l, delims, tokens); ok {
			r.techs.add(ForF)
			return v, true
		}
	}
	return "", false
}

// simple runs a command after phase 2 and runtime expansion.
func (r *cmdRun) simple(s string, depth int) {
	name, args := splitCommand(s)
	switch {
	case name == "":
		return
	case strings.EqualFold(name, "set"):
		r.set(args)
		return
	case strings.EqualFold(name, "call"):
		a := strings.TrimLeft(args, " \t,;=")
		if strings.HasPrefix(a, ":") {
			return
		}
		r.line(a, depth+1)
		return
	case strings.EqualFold(name, "setlocal"):
		if indexFold(args, "enabledelayedexpansion") >= 0 {
			r.delayed = true
		}
		return
	case strings.EqualFold(name, "rem"), strings.EqualFold(name, "goto"),
		strings.EqualFold(name, "endlocal"), strings.EqualFold(name, "exit"):
		return
	}
	if commandIs(name, "cmd") {
		if delayed, cmd, ok := cmdSwitches(args); ok {
			r.child(name, delayed, cmd, depth)
			return
		}
	}
	r.emitLeaf(s)
}

// child runs the command of cmd /c in a nested cmd.exe.
func (r *cmdRun) child(name string, delayed bool, cmd string, depth int) {
	cmd = strings.TrimLeft(cmd, " \t")
	if strings.HasPrefix(cmd, `"`) { // cmd strips the first and the last quote
		cmd = cmd[1:]
		if j := strings.LastIndexByte(cmd, '"'); j >= 0 {
			cmd = cmd[:j] + cmd[j+1:]
		}
	}
	prefix := unquoteWord(name, &r.techs)
	if delayed {
		prefix += " /V:ON"
	}
	r.emitPrefix(prefix + " /C ")
	saved := r.delayed
	r.delayed = delayed
	r.line(cmd, depth+1)
	r.delayed = saved
}

// cmdSwitches finds cmd.exe's /V and /C (/K, /R) switches, which cmd.exe
// finds anywhere in its arguments (x/V:ON/C works).
func cmdSwitches(args string) (delayed bool, cmd string, ok bool) {
	for i := 0; i+1 < len(args); i++ {
		if args[i] != '/' {
			continue
		}
		switch lower(args[i+1]) {
		case 'v':
			delayed = !hasPrefixLower(args[i+2:], ":off")
		case 'c', 'k', 'r':
			return delayed, args[i+2:], true
		}
	}
	return delayed, "", false
}

// splitCommand splits the command word from its arguments. cmd.exe ends the
// word of an internal command at a delimiter, "/" or "."  (echo. and
// assoc.cmd work); quotes group.
func splitCommand(s string) (name, args string) {
	i := 0
	for i < len(s) && (cmdIsDelim(s[i]) || s[i] == '@') {
		i++
	}
	s = s[i:]
	quoted := false
	for i = 0; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			quoted = !quoted
		}
		if !quoted && (cmdIsDelim(c) || c == '/' || c == '(' || c == '+') {
			break
		}
	}
	name, args = s[:i], s[i:]
	if j := strings.IndexByte(name, '.'); j > 0 {
		for _, w := range [...]string{"echo", "assoc", "ftype", "set", "call", "cd", "dir", "type"} {
			if strings.EqualFold(name[:j], w) {
				name, args = name[:j], s[j:]
				break
			}
		}
	}
	return name, args
}

// commandIs reports whether a command word runs program prog (lower
// case): its last path element, quotes dropped, is prog or prog.exe in any
// case ("C:\WINDOWS\system32\"cmd.exe runs cmd).
func commandIs(w, prog string) bool {
	w = w[strings.LastIndexAny(w, `\/`)+1:]
	const ext = ".exe"
	k := 0 // bytes of prog+ext matched
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c == '"' {
			continue
		}
		var want byte
		switch {
		case k < len(prog):
			want = prog[k]
		case k < len(prog)+len(ext):
			want = ext[k-len(prog)]
		default:
			return false
		}
		if lower(c) != want {
			return false
		}
		k++
	}
	return k == len(prog) || k == len(prog)+len(ext)
}

// unquoteWord removes the quotes inside a command word (p"owe"rs"hell), the
// ones cmd.exe drops when it looks the program up. A word quoted as a whole
// is left as it is.
func unquoteWord(w string, t *Techniques) string {
	n := strings.Count(w, `"`)
	if n == 0 || n == 2 && w[0] == '"' && w[len(w)-1] == '"' {
		return w
	}
	t.add(Quotes)
	return strings.ReplaceAll(w, `"`, "")
}

// appendWord appends unquoteWord(w, t) to dst.
func appendWord(dst []byte, w string, t *Techniques) []byte {
	n := strings.Count(w, `"`)
	if n == 0 || n == 2 && w[0] == '"' && w[len(w)-1] == '"' {
		return append(dst, w...)
	}
	t.add(Quotes)
	for i := range len(w) {
		if w[i] != '"' {
			dst = append(dst, w[i])
		}
	}
	return dst
}

// set runs set NAME=value.
func (r *cmdRun) set(args string) {
	a := strings.TrimLeft(args, " \t")
	if len(a) >= 2 && a[0] == '/' { // set /a, set /p: not emulated
		return
	}
	if strings.HasPrefix(a, `"`) {
		a = a[1:]
		if j := strings.LastIndexByte(a, '"'); j >= 0 {
			a = a[:j]
		}
	}
	eq := strings.IndexByte(a, '=')
	if eq <= 0 {
		return
	}
	if len(a) > r.maxOut {
		r.limit(LimitSize)
		return
	}
	name, value := a[:eq], a[eq+1:]
	if i, ok := r.varIndex(name); ok { // a loop sets the same names again
		r.vals[i] = value
		return
	}
	if value == "" {
		return
	}
	if r.vars == nil {
		r.vars = make(map[string]int)
	}
	r.vars[strings.ToUpper(name)] = len(r.vals)
	r.vals = append(r.vals, value)
}

func (r *cmdRun) lookup(name string) (string, bool, bool) {
	if i, ok := r.varIndex(name); ok && r.vals[i] != "" {
		return r.vals[i], true, true
	}
	if i := defaultVar(name); i >= 0 {
		return defaultEnv[i][1], true, false
	}
	return "", false, false
}

// varIndex returns the index in vals of a variable set in the line. It
// upper-cases an ASCII name on the stack: no allocation.
func (r *cmdRun) varIndex(name string) (int, bool) {
	if len(r.vars) == 0 { // most lines set none
		return 0, false
	}
	var buf [64]byte
	if len(name) > len(buf) {
		i, ok := r.vars[strings.ToUpper(name)]
		return i, ok
	}
	for i := range len(name) {
		c := name[i]
		if c >= 0x80 {
			i, ok := r.vars[strings.ToUpper(name)]
			return i, ok
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	i, ok := r.vars[string(buf[:len(name)])]
	return i, ok
}

// expand runs percent (delim '%') or delayed (delim '!') expansion. A
// reference to an undefined variable is kept. Delayed expansion also
// removes carets, as cmd.exe does when a command holds a "!".
func (r *cmdRun) expand(s string, delim byte) string {
	if strings.IndexByte(s, delim) < 0 {
		return s
	}
	if delim == '!' && strings.IndexByte(s, '^') >= 0 {
		s = removeCarets(s)
	}
	b := r.scratch[:0]
	defer func() { r.scratch = b[:0] }()
	for i := 0; i < len(s); {
		c := s[i]
		if c != delim {
			b = append(b, c)
			i++
			continue
		}
		j := refEnd(s[i+1:], delim)
		if j < 0 {
			b = append(b, s[i:]...)
			break
		}
		if j == 0 { // "%%", "!!": the second may open a reference
			b = append(b, delim)
			i++
			continue
		}
		if v, ok := r.ref(s[i+1:i+1+j], delim == '!'); ok {
			b = append(b, v...)
			if r.work += len(v); r.work > r.maxWork || len(b) > r.maxOut {
				r.limit(LimitSize)
				return string(b)
			}
			i += j + 2
			continue
		}
		// Undefined: keep the delimiter and scan on from the next byte, so
		// a stray %x (a FOR variable) cannot swallow a real reference.
		b = append(b, delim)
		i++
	}
	return string(b)
}

// refEnd returns the offset of the delimiter closing the reference that
// starts s, or -1. In a substitution (NAME:str=rep) cmd.exe looks for the
// "=" first, so str may hold the delimiter: !x:*x!=! strips through "x!".
func refEnd(s string, delim byte) int {
	j := strings.IndexByte(s, delim)
	if j <= 0 {
		return j
	}
	c := strings.IndexByte(s[:j], ':') // not further: a line of %x would be quadratic
	if c < 0 || c+1 >= len(s) || s[c+1] == '~' {
		return j
	}
	e := strings.IndexByte(s[c+1:], '=')
	if e < 0 {
		return j
	}
	e += c + 1
	if k := strings.IndexByte(s[e+1:], delim); k >= 0 {
		return e + 1 + k
	}
	return j
}

func removeCarets(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '^' && i+1 < len(s) {
			i++
		}
		b = append(b, s[i])
	}
	return string(b)
}

// ref expands one reference: NAME, NAME:~s,l or NAME:str=rep.
func (r *cmdRun) ref(ref string, delayed bool) (string, bool) {
	name, mod, hasMod := strings.Cut(ref, ":")
	if name == "" {
		return "", false
	}
	v, ok, mine := r.lookup(name)
	if !ok {
		return "", false
	}
	switch {
	case delayed:
		r.techs.add(DelayedExpansion)
	case mine:
		r.techs.add(SetVariables)
	default:
		r.techs.add(EnvVar)
	}
	if !hasMod {
		return v, true
	}
	if strings.HasPrefix(mod, "~") {
		out, ok := substring(v, mod[1:])
		if ok {
			r.techs.add(EnvSubstring)
		}
		return out, ok
	}
	str, rep, ok := strings.Cut(mod, "=")
	if !ok || str == "" || str == "*" {
		return "", false
	}
	if delayed {
		r.techs.add(FinCoding)
	} else {
		r.techs.add(EnvSubstitution)
	}
	if str[0] == '*' {
		j := indexFold(v, str[1:])
		if j < 0 {
			return v, true
		}
		return rep + v[j+len(str)-1:], true
	}
	return replaceFold(v, str, rep), true
}

// substring applies ~start[,len], where negative values count from the end.
func substring(v, spec string) (string, bool) {
	a, b, hasLen := strings.Cut(spec, ",")
	start, ok := atoiCmd(a)
	if !ok {
		return "", false
	}
	n := len(v)
	if start < 0 {
		start = max(n+start, 0)
	}
	start = min(start, n)
	end := n
	if hasLen {
		l, ok := atoiCmd(b)
		if !ok {
			return "", false
		}
		if l < 0 {
			end = max(n+l, start)
		} else {
			end = min(start+l, n)
		}
	}
	return v[start:end], true
}

// atoiCmd parses a number as cmd.exe does in substrings: blanks, an
// optional sign, decimal digits.
func atoiCmd(s string) (int, bool) {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = strings.TrimLeft(s[1:], " \t")
	}
	if s == "" || len(s) > 10 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	n = min(n, 1<<31-1) // cmd.exe numbers are 32-bit
	if neg {
		n = -n
	}
	return n, true
}

func indexFold(s, sub string) int {
	if sub == "" {
		return 0
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

func replaceFold(s, old, rep string) string {
	var b strings.Builder
	for {
		j := indexFold(s, old)
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:j])
		b.WriteString(rep)
		s = s[j+len(old):]
	}
}

// ifTrue evaluates an if condition.
func (r *cmdRun) ifTrue(words []string, vars []forVar) bool {
	var buf [6]string // ifCmd reads at most 6 words
	w := buf[:len(words)]
	for i, x := range words {
		w[i] = r.runtime(x, vars)
	}
	fold, not := false, false
	for len(w) > 0 {
		switch strings.ToLower(w[0]) {
		case "/i":
			fold = true
		case "not":
			not = true
		default:
			goto cond
		}
		w = w[1:]
	}
cond:
	if len(w) < 2 {
		return false
	}
	var res bool
	switch strings.ToLower(w[0]) {
	case "defined":
		_, res, _ = r.lookup(w[1])
	case "errorlevel":
		n, ok := atoiCmd(w[1])
		res = ok && n <= 0
	case "exist", "cmdextversion":
		res = false
	default:
		if len(w) < 3 {
			return false
		}
		a, op, b := w[0], strings.ToLower(w[1]), w[2]
		if fold {
			a, b = strings.ToLower(a), strings.ToLower(b)
		}
		cmp := strings.Compare(a, b)
		if x, ok := atoiCmd(a); ok {
			if y, ok := atoiCmd(b); ok {
				cmp = x - y
			}
		}
		switch op {
		case "==":
			res = a == b
		case "equ":
			res = cmp == 0
		case "neq":
			res = cmp != 0
		case "lss":
			res = cmp < 0
		case "leq":
			res = cmp <= 0
		case "gtr":
			res = cmp > 0
		case "geq":
			res = cmp >= 0
		}
	}
	return res != not
}

// forLoop runs a for statement.
func (r *cmdRun) forLoop(n *node, vars []forVar, depth int) {
	if depth > maxCmdDepth || len(vars) > maxCmdDepth {
		r.limit(LimitDepth)
		return
	}
	// One binding for all iterations: nothing keeps vars past a command.
	inner := append(vars[:len(vars):len(vars)], forVar{name: n.forVar})
	body := func(v string) {
		if r.steps++; r.steps > maxCmdSteps {
			r.limit(LimitLoop)
			return
		}
		inner[len(inner)-1].value = v
		r.exec(n.kids, inner, depth+1)
	}
	list := r.runtime(n.text, vars)
	switch n.forSwitch {
	case 'l':
		r.techs.add(Reversal)
		f := strings.FieldsFunc(list, func(c rune) bool { return c < 0x80 && cmdIsDelim(byte(c)) })
		var x [3]int
		for i := range x {
			if i < len(f) {
				x[i], _ = atoiCmd(f[i])
			}
		}
		start, step, end := x[0], x[1], x[2]
		for i := start; !r.stopped && (step > 0 && i <= end || step < 0 && i >= end); i += step {
			body(strconv.Itoa(i))
		}
		if step == 0 && start <= end { // cmd.exe loops forever
			r.limit(LimitLoop)
		}
	case 'f':
		r.forF(n, list, body)
	case 0:
		items := strings.FieldsFunc(list, func(c rune) bool { return c < 0x80 && cmdIsDelim(byte(c)) })
		ran := false
		for _, it := range items {
			if strings.ContainsAny(it, "*?") { // file names: unknown
				continue
			}
			if r.stopped {
				break
			}
			ran = true
			body(strings.Trim(it, `"`))
		}
		if ran {
			r.techs.add(ForCoding)
		}
	}
}

// forF runs for /f over the output of a command it knows.
func (r *cmdRun) forF(n *node, list string, body func(string)) {
	tokens, delims, skip, eol, backq := parseForOpts(n.forOpts)
	list = strings.Trim(list, " \t,;=")
	q := byte('\'')
	if backq {
		q = '`'
	}
	var lines []string
	ok := false
	if len(list) >= 2 && list[0] == q && list[len(list)-1] == q {
		lines, ok = knownOutput(list[1 : len(list)-1])
	}
	if !ok { // show the body, the variable left as written
		r.techs.add(ForFUnresolved)
		r.emitLeaf("for /f " + list)
		body("%" + string(n.forVar))
		return
	}
	r.techs.add(ForF)
	for i, l := range lines {
		if i < skip || l == "" || l[0] == eol {
			continue
		}
		if v, ok := forToken(l, delims, tokens); ok {
			body(v)
		}
	}
}

// parseForOpts reads for /f options: tokens=N, delims=xxx, skip=N, eol=c,
// usebackq. Only the first token number is used.
func parseForOpts(o string) (tokens int, delims string, skip int, eol byte, backq bool) {
	tokens, delims, eol = 1, " \t", ';'
	for o != "" {
		o = strings.TrimLeft(o, " \t")
		lo := strings.ToLower(o)
		switch {
		case strings.HasPrefix(lo, "tokens="):
			o = strings.TrimLeft(o[7:], " \t+")
			j := 0
			for j < len(o) && '0' <= o[j] && o[j] <= '9' {
				j++
			}
			if n, err := strconv.Atoi(o[:j]); err == nil && n > 0 {
				tokens = n
			}
			o = o[j:]
			for o != "" && strings.IndexByte("0123456789,-*", o[0]) >= 0 { // more tokens: ignored
				o = o[1:]
			}
		case strings.HasPrefix(lo, "delims="):
			o = o[7:]
			j := strings.IndexByte(o, ' ')
			if j < 0 || strings.TrimSpace(o[j:]) == "" {
				delims, o = o, ""
			} else {
				delims, o = o[:j], o[j:]
			}
		case strings.HasPrefix(lo, "skip="):
			o = o[5:]
			j := 0
			for j < len(o) && '0' <= o[j] && o[j] <= '9' {
				j++
			}
			skip, _ = strconv.Atoi(o[:j])
			o = o[j:]
		case strings.HasPrefix(lo, "eol="):
			if len(o) > 4 {
				eol = o[4]
				o = o[5:]
			} else {
				o = ""
			}
		case strings.HasPrefix(lo, "usebackq"):
			backq, o = true, o[8:]
		default:
			j := strings.IndexAny(o, " \t")
			if j < 0 {
				return
			}
			o = o[j:]
		}
	}
	return
}

// forToken returns token n (1-based) of line split at any byte of delims.
func forToken(line, delims string, n int) (string, bool) {
	if delims == "" {
		return line, n == 1
	}
	f := strings.FieldsFunc(line, func(c rune) bool { return c < 0x80 && strings.IndexByte(delims, byte(c)) >= 0 })
	if n > len(f) {
		return "", false
	}
	return f[n-1], true
}

// knownOutput returns the output of a for /f command it can resolve:
// assoc or ftype, optionally filtered by find or findstr.
func knownOutput(cmd string) ([]string, bool) {
	p := parser{s: cmd, techs: new(Techniques), nodes: new(nodeStore)}
	nodes := p.seq(0)
	var lines []string
	for i, n := range nodes {
		if n.kind != nSimple || i > 0 && n.op != "|" {
			return nil, false
		}
		name, args := splitCommand(n.text)
		args = strings.Trim(args, " \t,;=")
		switch strings.ToLower(name) {
		case "assoc", "ftype":
			if i > 0 {
				return nil, false
			}
			lines = assocOutput
			if strings.EqualFold(name, "ftype") {
				lines = ftypeOutput
			}
			if args != "" {
				lines = filterLines(lines, func(l string) bool {
					return len(l) > len(args) && strings.EqualFold(l[:len(args)], args) && l[len(args)] == '='
				})
			}
		case "find", "findstr":
			if i == 0 {
				return nil, false
			}
			lines = filterLines(lines, finder(strings.ToLower(name) == "findstr", args))
		default:
			return nil, false
		}
	}
	return lines, len(lines) > 0
}

func filterLines(lines []string, keep func(string) bool) []string {
	var out []string
	for _, l := range lines {
		if keep(l) {
			out = append(out, l)
		}
	}
	return out
}

// finder builds the line test of find "str" or findstr words: /i folds
// case; findstr matches any of its words, "." matching any character.
func finder(findstr bool, args string) func(string) bool {
	fold := false
	var words []string
	for _, f := range strings.FieldsFunc(args, func(c rune) bool { return c == ' ' || c == '\t' || c == ',' || c == ';' }) {
		switch {
		case strings.EqualFold(f, "/i"):
			fold = true
		case strings.HasPrefix(f, "/"):
		default:
			words = append(words, strings.Trim(f, `"`))
		}
	}
	if !findstr && len(words) > 0 {
		if _, q, ok := strings.Cut(args, `"`); ok {
			q, _, _ = strings.Cut(q, `"`)
			words = []string{q}
		}
	}
	return func(l string) bool {
		for _, w := range words {
			if w != "" && matchWord(l, w, findstr, fold) {
				return true
			}
		}
		return false
	}
}

func matchWord(l, w string, dotAny, fold bool) bool {
	for i := 0; i+len(w) <= len(l); i++ {
		j := 0
		for ; j < len(w); j++ {
			a, b := l[i+j], w[j]
			if fold {
				a, b = lower(a), lower(b)
			}
			if a != b && !(dotAny && b == '.') {
				break
			}
		}
		if j == len(w) {
			return true
		}
	}
	return false
}

// emitPrefix writes the launcher of a nested shell.
func (r *cmdRun) emitPrefix(s string) {
	r.separate()
	r.out = append(r.out, s...)
	r.sep = false
	if len(r.out) > r.maxOut {
		r.limit(LimitSize)
	}
}

func (r *cmdRun) separate() {
	if r.sep {
		if r.piped {
			r.out = append(r.out, " | "...)
		} else {
			r.out = append(r.out, " & "...)
		}
	}
	r.piped = false
}

// emitLeaf writes a command that runs, its command word unquoted. Unquoted
// operators in it are escaped, so that the output reads as one cmd.exe
// line again and reading it twice changes nothing.
func (r *cmdRun) emitLeaf(s string) {
	s = strings.Trim(s, " \t,;=@")
	if s == "" {
		return
	}
	name, args := splitCommand(s)
	r.separate()
	r.out = appendWord(r.out, name, &r.techs)
	r.out = appendArgs(r.out, strings.TrimRight(args, " \t"), &r.techs)
	r.sep = true
	if len(r.out) > r.maxOut {
		r.limit(LimitSize)
	}
}

// appendArgs appends a command's arguments without the empty quote pairs
// inside words (us""er), which argument parsing removes, and with a caret
// before each unquoted & | < > ^, so that the output reads as one cmd.exe
// line again and reading it twice changes nothing.
func appendArgs(dst []byte, args string, t *Techniques) []byte {
	quoted := false
	for i := 0; i < len(args); i++ {
		j := i
		for j < len(args) && !argSpecial[args[j]] {
			j++
		}
		dst = append(dst, args[i:j]...)
		if i = j; i == len(args) {
			break
		}
		switch c := args[i]; {
		case c == '"' && i+1 < len(args) && args[i+1] == '"' && i > 0 &&
			inWord(args[i-1]) && i+2 < len(args) && inWord(args[i+2]):
			t.add(Quotes)
			i++
			continue
		case c == '"':
			quoted = !quoted
		case !quoted:
			dst = append(dst, '^')
		}
		dst = append(dst, args[i])
	}
	return dst
}

// argSpecial holds the bytes appendArgs looks at: quotes and what a leaf
// escapes outside quotes.
var argSpecial = byteSet("\"&|<>^")

// byteSet returns a table of the bytes of s.
func byteSet(s string) (t [256]bool) {
	for i := range len(s) {
		t[s[i]] = true
	}
	return t
}

func inWord(c byte) bool { return c > ' ' && c != '"' && c != '=' }
