// Package deobfuscate recovers the command a Windows command line really
// runs, by static rewriting only: nothing is executed.
//
//	cmd.exe /C"set a=ne&&set b=t user&&call %a%%b%"   ->  cmd.exe /C net user
//	powershell -enc SQBFAFgAIAAoACcAdwBoAG8AJwArACcAYQBtAGkAJwApAA==  ->  powershell IEX 'whoami'
//
// # Stages
//
// Run peels layers in passes until a pass finds nothing more to undo. Each
// pass applies the first stage that changes the text:
//
//  1. cmd.exe emulation (cmd.go), skipped for lines that read as PowerShell:
//     percent expansion of the whole line with Windows' default variables,
//     carets, quotes and operators, then command by command FOR variables,
//     delayed !expansion!, and set, call, cmd /c, for (lists, /L, /F over
//     assoc and ftype), if, and echo … | shell. The output is the commands
//     that run, in order, joined by " & " (" | " for pipes), nested shells
//     inline, unquoted operators escaped so it still reads as one cmd line.
//  2. PowerShell -EncodedCommand (any prefix of the flag, -ec, / or a
//     Unicode dash): base64, UTF-16LE; the script replaces flag and blob.
//  3. [Convert]::FromBase64String blobs with their GetString decoder or
//     their DeflateStream/GzipStream reader (bounded inflate).
//  4. PowerShell folding (psexpr.go): constant string expressions become
//     one literal, or a bare word where invoked (&('i'+'ex') reads &iex);
//     backticks that escape nothing and empty quote pairs inside words go.
//
// Case is preserved; lower-casing is the matchers' job.
//
// # Vocabulary
//
// Techniques is a bit set over Technique, whose numbers are stable and
// append-only (a model hashes them):
//
//	bit technique          meaning                                  example
//	 0  caret              ^ before an ordinary character           c^m^d
//	 1  quotes             quotes inside a word                     p"owe"rs"hell, us""er
//	 2  delimiters         , ; as argument separators               cmd,;/c;,dir
//	 3  env_var            %VAR% expanded (neutral)                 %COMSPEC%
//	 4  env_substring      %VAR:~s,l%                               %COMSPEC:~-7,3%
//	 5  env_substitution   %VAR:a=b%, %VAR:*a=b%                    %x:*c=%
//	 6  set_variables      variables set in the line, expanded      set a=po&&call %a%
//	 7  delayed_expansion  !VAR! under /V:ON                        cmd /V:ON /C "… !x!"
//	 8  for_coding         for %i in (list) index re-assembly       for %i in (3,1,…) do set r=!r!!s:~%i,1!
//	 9  reversal           for /L (start,step,end) loops            for /L %i in (7,-1,0) do …
//	10  fin_coding         !VAR:a=b! substitutions                  set b=!a:X=e!
//	11  for_f              for /f over known assoc/ftype output     ('ftype^|find "dfi"') do %b
//	12  encoded_command    -EncodedCommand base64                   powershell -enc SQBFAFgA
//	13  base64             FromBase64String in a script             [Convert]::FromBase64String('…')
//	14  deflate            DeflateStream                            New-Object IO.Compression.DeflateStream(…)
//	15  gzip               GzipStream                               New-Object IO.Compression.GzipStream(…)
//	16  concat             'a'+'b'                                  'Inv'+'oke-Exp'+"ression"
//	17  format             -f with plain {n} items                  "{1}{0}" -f 'ex','i'
//	18  replace            -replace, .Replace, -join, Join, [a..b]  'x~e'.Replace('~','e')
//	19  char_codes         [char] codes, [char[]], 0x.., -bxor      [char]73+[char]69
//	20  backtick           ` before a non-escape letter             I`E`X
//	21  ps_variables       $v = 'const' used by name                .$a('http://…')
//	22  env_index          indexing $env:X or $PSHome etc.          $env:ComSpec[4,15,25]
//	23  for_f_unresolved   for /f over an unknown command: kept     for /f %a in ('whoami')
//	24  limit_depth        layer or nesting limit hit
//	25  limit_size         output or work size limit hit
//	26  limit_loop         loop or step limit hit
//
// Neutral (env_var) is normalization ordinary software does too: a line whose
// only finding is neutral comes back unchanged with no techniques; when other
// techniques fire, env_var is reported alongside for explanation, and risk
// scoring should ignore it (Techniques &^ Neutral). Limits are themselves a
// strong signal.
//
// # Limits
//
// MaxLayers passes; output at most MaxGrowth times the input or MinOutput
// bytes, whichever is larger, capped at MaxOutput; cmd.exe work (bytes
// read and produced) bounded by a multiple of that, PowerShell work by a
// multiple of the input; 65,536 commands and loop iterations per
// pass; cmd /c, call and for nesting to depth 8. A tripped limit stops the
// stage and is reported; there is no panic, hang or unbounded allocation.
//
// # Fast path
//
// A line with no marker (^ % ! ` [, a quote inside a word, + next to a quote
// or parenthesis, , or ; next to a separator, a - / or Unicode dash before
// e f j r, .Replace, .$ &$ &( …) returns at once, Text aliasing the input,
// without allocating: about 0.25 µs for a 300-byte line.
//
// A line with markers then meets a second check (inert.go) that proves,
// just as cheaply and without allocating, that the markers are harmless:
// %VAR% references to default variables, quotes around whole words, -File
// or -ExecutionPolicy, a $HOME, a ; inside a command, -enc followed by
// something that is not base64 text. Only lines it cannot clear run the
// stages. TestInertAgreesWithRun and FuzzInert hold it to the stages. It
// reads a byte class table in a tight loop that only leaves it, to make
// a call, at a keyword's first letters or a special byte that its
// neighbour does not rule out: about 1 ns/byte.
//
// The stages then stop as soon as the text is inert: a second pass over
// the output of the first, which most lines would need to prove that
// nothing is left, is saved. They reuse the Deobfuscator's buffers (cmd.exe
// output, parse nodes, variables, substitutions, PowerShell strings): text
// is a substring of the line wherever it was not rewritten, and a string
// is copied only once it is kept, so a staged line costs a few
// allocations (TestStagedAllocs, TestReuse).
//
// # Work
//
// Each pass is linear in its input and output: the cmd.exe stage charges
// every line it parses and every command it runs to its work limit (a
// multiple of the output limit), the PowerShell stages charge values built
// and tokens read to a budget of 16 units per byte (limit_loop when spent).
// TestLinearWork checks the growth on the inputs that were quadratic.
//
// # Idempotence
//
// Run's output is a fixed point: running Run on Result.Text gives the same
// text and no technique outside Neutral, unless a limit tripped or MaxLayers
// passes were used (then the output is a partial rewrite). FuzzDeobfuscate
// checks this property.
package deobfuscate
