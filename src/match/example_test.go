package match_test

import (
	"fmt"

	"scorecmdline/src/match"
	"scorecmdline/src/rules"
)

func Example() {
	pack, err := rules.ParsePack("demo.rules.toml", []byte(`
[pack]
description = "account creation"

[[rule]]
name        = "net_user_add"
description = "A local account is created."
any         = ["net user ... /add", "net1 user ... /add"]
flag        = "user_creation"
techniques  = ["T1059.003", "T1136.001"]
risk        = 60
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	set, err := match.Compile(pack)
	if err != nil {
		fmt.Println(err)
		return
	}
	m := set.NewMatcher()
	for _, line := range []string{
		`cmd.exe /c "N^et UsEr bob P@ss -ADD"`,
		`net user bob`,
	} {
		hits := m.Match([]byte(line), nil)
		fmt.Printf("%s\n  normalized: %s\n  hits:", line, m.Normalized())
		for _, i := range hits {
			r := set.Rules()[i]
			fmt.Printf(" %s (flag %s, risk %d)", r.Name, r.Flag, r.Risk)
		}
		fmt.Println()
	}
	// Output:
	// cmd.exe /c "N^et UsEr bob P@ss -ADD"
	//   normalized: cmd /c net user bob p@ss -add
	//   hits: net_user_add (flag user_creation, risk 60)
	// net user bob
	//   normalized: net user bob
	//   hits:
}
