// Command scorecmdline is the Splunk app's one binary: the `| scorecmdline`
// chunked search command, the scorecmdline modular input, and command line
// tools to score and evaluate command lines. See package cli for how a run
// is told apart.
package main

import (
	"os"

	"scorecmdline/src/cli"
)

// version is stamped by package.sh: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	os.Exit(cli.Main(cli.Env{
		Args:    os.Args[1:],
		Stdin:   os.Stdin,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Version: version,
	}))
}
