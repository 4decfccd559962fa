package searchcmd_test

import (
	"fmt"
	"os"
	"strings"

	"scorecmdline/src/searchcmd"
)

// upper adds "upper", the ASCII upper-cased value of the field named by the
// option field= (default "process").
type upper struct{}

func (upper) Getinfo(req *searchcmd.Getinfo) (*searchcmd.Plan, error) {
	field := "process"
	for name, value := range req.Options {
		if name != "field" {
			return nil, fmt.Errorf("Unrecognized option: %s=%s", name, value)
		}
		field = value
	}
	return &searchcmd.Plan{
		Inputs:  []string{field},
		Outputs: []searchcmd.Field{{Name: "upper"}},
		NewWorker: func() searchcmd.RowFunc {
			var buf []byte // per worker, so no locking and no allocation per row
			return func(in [][]byte, out *searchcmd.Out) {
				buf = append(buf[:0], in[0]...)
				for i, c := range buf {
					if 'a' <= c && c <= 'z' {
						buf[i] = c - 'a' + 'A'
					}
				}
				out.Set(0, buf)
			}
		},
	}, nil
}

func Example() {
	frame := func(meta, body string) string {
		return fmt.Sprintf("chunked 1.0,%d,%d\n%s%s", len(meta), len(body), meta, body)
	}
	stdin := frame(`{"action":"getinfo","searchinfo":{"args":["field=process"]}}`, "") +
		frame(`{"action":"execute","finished":true}`, "process,\"_chunked_idx\"\n\"cmd /c whoami\",0\n")

	if err := searchcmd.Run(upper{}, strings.NewReader(stdin), os.Stdout, searchcmd.Config{}); err != nil {
		os.Exit(1)
	}
	// Output:
	// chunked 1.0,50,0
	// {"type":"streaming","required_fields":["process"]}chunked 1.0,17,61
	// {"finished":true}process,"_chunked_idx",upper
	// "cmd /c whoami",0,CMD /C WHOAMI
}
