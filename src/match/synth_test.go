package match

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Vocabulary of the synthetic packs: programs attackers and administrators
// run from a shell, their switches and the arguments rules look for, in the
// spirit of the sentinel_cmd pack. rareTools may make a phrase alone;
// the others are common enough to need a switch or an argument.
var (
	synthTools = strings.Fields(`certutil bitsadmin reg schtasks net net1 wmic vssadmin bcdedit icacls
		takeown mshta rundll32 regsvr32 cscript wscript msbuild installutil cmstp odbcconf forfiles pcalua
		wevtutil fsutil sc netsh nltest dsquery whoami tasklist taskkill attrib cipher esentutl expand
		extrac32 makecab findstr hh msiexec msxsl regasm regsvcs replace sdbinst control dnscmd ftp bash wsl
		xcopy robocopy powershell pwsh curl tar wget mavinject rpcping wuauclt bginfo dfsvc presentationhost
		csc jsc vbc at gpupdate auditpol klist setspn quser qwinsta logman wbadmin mofcomp pnputil secedit
		systeminfo ipconfig arp route nbtstat netstat ping tracert nslookup mountvol diskpart chkdsk cmdkey
		runas sdelete icacls winrm winrs reagentc manage-bde vaultcmd`)
	synthRare = strings.Fields(`mimikatz rubeus sharphound lazagne procdump psexec adfind diskshadow
		ntdsutil comsvcs sqldumper nanodump safetykatz seatbelt certify kekeo pypykatz`)
	synthSwitches = strings.Fields(`/create /delete /add /change /query /run /transfer /download /upload
		/set /grant /deny /remove /f /s /q /all /quiet /force /silent /norestart /node: /user: /password:
		/namespace: /format: /tn /tr /sc /ru /rl /st /v /d /t /enable /disable /export /import /save
		-urlcache -split -decode -encode -decodehex -verifyctl -enc -encodedcommand -nop -noprofile -sta
		-exec -executionpolicy -windowstyle -command -file -ma -accepteula -dc -mode -silent -o -output
		-xf -p -r -s -n -w -a -u`)
	synthArgs = strings.Fields(`process call create shadowcopy delete shadows localgroup administrators
		user group domain trust config hklm\sam hklm\system
		hklm\security hkcu\software\microsoft\windows\currentversion\run \\.\pipe\ %temp% %appdata%
		c:\windows\temp c:\users\public c:\programdata \appdata\local\temp lsass.dmp ntds.dit sam.save
		http:// https:// \\127.0.0.1\c$ admin$ javascript: vbscript: scrobj.dll advpack.dll ieadvpack.dll
		shell32.dll,shellexec_rundll url.dll,fileprotocolhandler zipfldr.dll,routethecall sekurlsa::logonpasswords
		lsadump::sam privilege::debug kerberos::golden recoveryenabled bootstatuspolicy ignoreallfailures
		everyone:f *s-1-1-0:f firewall portproxy advfirewall allprofiles state off wdigest uselogoncredential
		disableantispyware disablerealtimemonitoring exclusionpath restrictedadmin backup catalog systemstatebackup
		resize shadowstorage maxsize=401mb full usn deletejournal setzerodata`)
	synthParents = strings.Fields(`winword.exe excel.exe powerpnt.exe outlook.exe mshta.exe wscript.exe
		cscript.exe wmiprvse.exe w3wp.exe sqlservr.exe java.exe onenote.exe`)
	synthFlags      = strings.Fields(`credential_access defense_evasion persistence lateral_movement discovery`)
	synthTechniques = strings.Fields(`T1059.003 T1105 T1140 T1197 T1112 T1003.002 T1053.005 T1136.001
		T1047 T1490 T1218.005 T1218.011 T1222.001 T1087.002 T1562.001`)
)

// synthPack writes a deterministic pack of n rules drawn from the
// vocabulary above: phrases of one to four words, a program first, some
// with "..." gaps; some rules with all, none, process_name or parent. It
// also returns a command line that some of its rules match: three of its
// phrases run one after the other.
func synthPack(n int) (pack, hit string) {
	r := rand.New(rand.NewPCG(uint64(n), 1500))
	pick := func(list []string) string { return list[r.IntN(len(list))] }
	phrase := func() string {
		if r.IntN(12) == 0 {
			return pick(synthRare)
		}
		words := []string{pick(synthTools)}
		k := 1 + r.IntN(3)
		for range k {
			if r.IntN(3) == 0 {
				words = append(words, pick(synthArgs))
			} else {
				words = append(words, pick(synthSwitches))
			}
		}
		if r.IntN(3) == 0 {
			words = append(words[:1], append([]string{"..."}, words[1:]...)...)
		}
		return strings.Join(words, " ")
	}
	list := func(m int) string {
		var q []string
		for range m {
			q = append(q, fmt.Sprintf("%q", phrase()))
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	var b strings.Builder
	var hits []string
	fmt.Fprintf(&b, "[pack]\ndescription = \"synthetic, %d rules\"\n", n)
	for i := range n {
		fmt.Fprintf(&b, "\n[[rule]]\nname = \"r%04d\"\ndescription = \"synthetic rule %d\"\n", i, i)
		switch k := r.IntN(20); {
		case k == 0:
			fmt.Fprintf(&b, "parent = [%q, %q]\n", pick(synthParents), pick(synthParents))
			fmt.Fprintf(&b, "process_name = %q\n", pick(synthTools)+".exe")
		case k <= 2:
			fmt.Fprintf(&b, "process_name = %q\nany = %s\n", pick(synthTools)+".exe", list(1))
		case k <= 4:
			fmt.Fprintf(&b, "all = %s\n", list(2))
		default:
			any := list(1 + r.IntN(3)/2 + r.IntN(4)/3)
			if len(hits) < 3 && i%7 == 3 {
				p, _, _ := strings.Cut(any[2:], `"`)
				hits = append(hits, strings.ReplaceAll(p, "...", "arg"))
			}
			fmt.Fprintf(&b, "any = %s\n", any)
		}
		if r.IntN(15) == 0 {
			fmt.Fprintf(&b, "none = %s\n", list(1))
		}
		if r.IntN(8) == 0 {
			fmt.Fprintf(&b, "flag = %q\n", pick(synthFlags))
		}
		fmt.Fprintf(&b, "techniques = [%q]\nrisk = %d\n", pick(synthTechniques), 10*r.IntN(11))
	}
	return b.String(), `cmd.exe /c "` + strings.Join(hits, " && ") + `"`
}
