package deobfuscate_test

import (
	"fmt"

	"scorecmdline/src/deobfuscate"
)

func Example() {
	var d deobfuscate.Deobfuscator
	for _, line := range []string{
		`cmd.exe /C"set a=ne&&set b=t user&&call %a%%b%"`,
		`powershell -enc SQBFAFgAIAAoACcAdwBoAG8AJwArACcAYQBtAGkAJwApAA==`,
		`"C:\Program Files\App\app.exe" /quiet`,
	} {
		r := d.Run([]byte(line))
		fmt.Printf("%s [%v] layers=%d\n", r.Text, r.Techniques, r.Layers)
	}
	// Output:
	// cmd.exe /C net user [set_variables] layers=1
	// powershell IEX 'whoami' [encoded_command,concat] layers=2
	// "C:\Program Files\App\app.exe" /quiet [] layers=0
}
