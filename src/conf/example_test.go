package conf_test

import (
	"fmt"

	"scorecmdline/src/conf"
)

func ExampleParse() {
	f, err := conf.Parse("macros.conf", []byte(`
[scorecmdline_ctime(1)]
args = field
definition = convert timeformat="%Y-%m-%dT%H:%M:%S" \
ctime($field$)
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	s := f.Stanza("scorecmdline_ctime(1)")
	def, _ := s.Get("definition")
	fmt.Printf("%s line %d: %q\n", s.Name, s.Line, def)
	// Output: scorecmdline_ctime(1) line 2: "convert timeformat=\"%Y-%m-%dT%H:%M:%S\" \nctime($field$)"
}

func ExampleMacros_Expand() {
	f, _ := conf.Parse("macros.conf", []byte(`
[drop(1)]
args = object
definition = rename $object$.* AS *
`))
	macros, err := conf.LoadMacros(f)
	if err != nil {
		fmt.Println(err)
		return
	}
	spl, err := macros.Expand("| tstats count by Processes.dest | `drop(Processes)`")
	fmt.Println(spl, err)
	_, err = macros.Expand("| `drop(a, b)`")
	fmt.Println(err)
	// Output:
	// | tstats count by Processes.dest | rename Processes.* AS * <nil>
	// macro drop(2) at offset 2: unknown macro: called with 2 arguments, defined as drop(1)
}
