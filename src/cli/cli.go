// Package cli is the binary's front door: it decides which face a run is
// (search command, modular input or command line tool) and wires the
// packages that do the work.
//
// How a run is told apart, in order:
//  1. argv: `--scheme` and `--validate-arguments` are the modular input's
//     (splunkd passes them); `search` is the search command with changed
//     limits (commands.conf command.arg.N); `score`, `eval`, `version` and
//     `help` are the command line tools.
//  2. No arguments (how splunkd starts both a chunked command and a modular
//     input): the first bytes of stdin decide. `chunked 1.0,` is the search
//     protocol; `<` (after an optional BOM and white space) is the modular
//     input's <input> XML. Anything else is an error, reported on stderr.
package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"scorecmdline/src/config"
	"scorecmdline/src/modinput"
	"scorecmdline/src/train"
)

// Env is what a run sees of the process; tests substitute their own.
type Env struct {
	Args           []string // without the program name
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Version        string
}

// Main runs the binary and returns its exit status.
func Main(env Env) int {
	if len(env.Args) > 0 {
		switch env.Args[0] {
		case "--scheme":
			if err := modinput.Scheme(env.Stdout); err != nil {
				fmt.Fprintf(env.Stderr, "ERROR %v\n", err)
				return 1
			}
			return 0
		case "--validate-arguments":
			return modinput.Validate(env.Stdin, env.Stdout, env.Stderr)
		case "search":
			return runSearchArgs(env, env.Args[1:])
		case "score":
			return runScore(env, env.Args[1:])
		case "eval":
			return runEval(env, env.Args[1:])
		case "rules":
			return runRules(env, env.Args[1:])
		case "train":
			return train.Main(env.Args[1:], env.Stdout, env.Stderr, config.Lookups(""))
		case "version", "--version":
			fmt.Fprintf(env.Stdout, "scorecmdline %s\n", env.Version)
			return 0
		case "help", "-h", "-help", "--help":
			fmt.Fprint(env.Stdout, usage)
			return 0
		}
		fmt.Fprintf(env.Stderr, "scorecmdline: unknown command %q\n\n%s", env.Args[0], usage)
		return 2
	}
	if f, ok := env.Stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(env.Stderr, usage) // a person at a terminal, not splunkd
			return 2
		}
	}
	in := bufio.NewReaderSize(env.Stdin, 64<<10)
	switch sniff(in) {
	case faceSearch:
		return runSearch(env, in)
	case faceModinput:
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		return modinput.Run(ctx, in, env.Stdout, env.Stderr)
	case faceEmpty:
		return 0 // splunkd closed stdin before sending anything
	}
	fmt.Fprintf(env.Stderr, "ERROR scorecmdline: stdin is neither the chunked search protocol (\"chunked 1.0,...\") nor modular input XML; run `scorecmdline help` for the command line tools\n")
	return 2
}

type face int

const (
	faceUnknown face = iota
	faceEmpty
	faceSearch
	faceModinput
)

// sniff looks at the first bytes of stdin without consuming them.
func sniff(in *bufio.Reader) face {
	head, _ := in.Peek(len("chunked 1.0,"))
	if len(head) == 0 {
		return faceEmpty
	}
	if bytes.HasPrefix(head, []byte("chunked")) {
		return faceSearch
	}
	// UTF-8 or UTF-16 byte order marks, then XML.
	for _, bom := range [][]byte{{0xef, 0xbb, 0xbf}, {0xff, 0xfe}, {0xfe, 0xff}} {
		if bytes.HasPrefix(head, bom) {
			return faceModinput
		}
	}
	if t := bytes.TrimLeft(head, " \t\r\n"); len(t) > 0 && t[0] == '<' {
		return faceModinput
	}
	return faceUnknown
}

const usage = `scorecmdline scores Windows command lines for malicious content: the ESCU
"Potentially malicious code on commandline" model and cmd.exe rule packs.

Usage:
  scorecmdline score [options] [FILE...]   score command lines from files or stdin
  scorecmdline eval [options] FILE...      detection quality on labelled JSON Lines
  scorecmdline train [options] FILE...     train a model on labelled JSON Lines or CSV
  scorecmdline rules check PATH...         list the problems of a rule pack or Sigma folder
  scorecmdline search [options]            the search command with other limits
  scorecmdline version                     print the version
  scorecmdline help                        this text

Started by splunkd without arguments it speaks the chunked search protocol
(| scorecmdline) or, with <input> XML on stdin, runs as the modular input;
--scheme and --validate-arguments are the modular input's.

Run "scorecmdline score -h" or "scorecmdline eval -h" for their options.
`
