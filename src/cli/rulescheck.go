package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"scorecmdline/src/match"
	"scorecmdline/src/rules"
	"scorecmdline/src/sigma"
)

// runRules is `scorecmdline rules check PATH...`: every problem of a rule
// pack, a TOML file or a folder of Sigma rules, before it is installed.
// The exit status is 1 when any was found.
func runRules(env Env, args []string) int {
	if len(args) < 2 || args[0] != "check" {
		fmt.Fprint(env.Stderr, `Usage: scorecmdline rules check PATH...

Checks rule packs before they are installed into the app's lookups/: a TOML
pack (NAME.rules.toml) is parsed and compiled as the search command does; a
folder is read as a Sigma pack (every *.yml and *.yaml under it, with any
sigma.toml field mapping), deprecated and unsupported rules included. Every
problem is listed as FILE:LINE: REASON; the exit status is 1 when there is one.
`)
		return 2
	}
	status := 0
	for _, path := range args[1:] {
		problems, loaded, err := checkPack(path)
		if err != nil {
			fmt.Fprintf(env.Stderr, "scorecmdline rules check: %v\n", err)
			status = 1
			continue
		}
		for _, p := range problems {
			fmt.Fprintln(env.Stdout, p)
		}
		fmt.Fprintf(env.Stderr, "%s: %s, %d problems\n", path, loaded, len(problems))
		if len(problems) > 0 {
			status = 1
		}
	}
	return status
}

func checkPack(path string) (problems []string, loaded string, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", err
	}
	if st.IsDir() {
		for _, p := range sigma.Check(os.DirFS(path), ".") {
			problems = append(problems, filepath.Join(path, p.File)+strings.TrimPrefix(p.Error(), p.File))
		}
		return problems, "Sigma pack", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	pack, err := rules.ParsePack(path, data)
	if err == nil {
		_, err = match.Compile(pack)
	}
	if err != nil {
		// A pack error lists every problem, one per line.
		return strings.Split(err.Error(), "\n"), "TOML pack", nil
	}
	return nil, fmt.Sprintf("TOML pack of %d rules", len(pack.Rules)), nil
}
