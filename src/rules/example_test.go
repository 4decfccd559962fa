package rules_test

import (
	"fmt"

	"scorecmdline/src/rules"
)

func ExampleParsePack() {
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
	r := pack.Rules[0]
	fmt.Printf("%s: %s line %d risk %d level %v\n", pack.Name, r.Name, r.Line, r.Risk, r.Level)
	// Output:
	// demo: net_user_add line 5 risk 60 level high
}

func ExampleParsePack_error() {
	_, err := rules.ParsePack("demo.rules.toml", []byte(`[pack]
description = "a typo"

[[rule]]
name = "reg_add"
description = "registry write"
anyy = ["reg add"]
techniques = ["T1112"]
risk = 20
`))
	fmt.Println(err)
	// Output:
	// demo.rules.toml:7: rule reg_add: unknown key: "anyy" (did you mean "any"?)
}

func ExampleParsePhrase() {
	p, _ := rules.ParsePhrase(`Net User ... /ADD`)
	fmt.Printf("%q\n", p.Pieces)
	// Output:
	// ["net user" "-add"]
}
