package deobfuscate

// What a default Windows 10/11 x64 installation shows a command line. The
// obfuscators index into these values (%COMSPEC:~-16,1%) and filter these
// outputs (ftype | find "dfi"), so their exact spelling matters; the user
// name is a placeholder, which only moves characters that no generator
// indexes from the start.

// defaultEnv holds the variables and values of a default session; names are
// matched case-insensitively.
var defaultEnv = [][2]string{
	{"ALLUSERSPROFILE", `C:\ProgramData`},
	{"APPDATA", `C:\Users\user\AppData\Roaming`},
	{"CommonProgramFiles", `C:\Program Files\Common Files`},
	{"CommonProgramFiles(x86)", `C:\Program Files (x86)\Common Files`},
	{"CommonProgramW6432", `C:\Program Files\Common Files`},
	{"COMPUTERNAME", `DESKTOP`},
	{"ComSpec", `C:\WINDOWS\system32\cmd.exe`},
	{"DriverData", `C:\Windows\System32\Drivers\DriverData`},
	{"HOMEDRIVE", `C:`},
	{"HOMEPATH", `\Users\user`},
	{"LOCALAPPDATA", `C:\Users\user\AppData\Local`},
	{"NUMBER_OF_PROCESSORS", `2`},
	{"OS", `Windows_NT`},
	{"Path", `C:\WINDOWS\system32;C:\WINDOWS;C:\WINDOWS\System32\Wbem;C:\WINDOWS\System32\WindowsPowerShell\v1.0\`},
	{"PATHEXT", `.COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC`},
	{"PROCESSOR_ARCHITECTURE", `AMD64`},
	{"ProgramData", `C:\ProgramData`},
	{"ProgramFiles", `C:\Program Files`},
	{"ProgramFiles(x86)", `C:\Program Files (x86)`},
	{"ProgramW6432", `C:\Program Files`},
	{"PSModulePath", `C:\Program Files\WindowsPowerShell\Modules;C:\WINDOWS\system32\WindowsPowerShell\v1.0\Modules`},
	{"PUBLIC", `C:\Users\Public`},
	{"SystemDrive", `C:`},
	{"SystemRoot", `C:\WINDOWS`},
	{"TEMP", `C:\Users\user\AppData\Local\Temp`},
	{"TMP", `C:\Users\user\AppData\Local\Temp`},
	{"USERDOMAIN", `DESKTOP`},
	{"USERNAME", `user`},
	{"USERPROFILE", `C:\Users\user`},
	{"windir", `C:\WINDOWS`},
}

// psAutomatic holds PowerShell automatic variables that obfuscators index
// ($PSHome[4]+$PSHome[30]+'x' reads iex), by lower-case name.
var psAutomatic = [][2]string{
	{"pshome", `C:\Windows\System32\WindowsPowerShell\v1.0`},
	{"shellid", `Microsoft.PowerShell`},
	{"verbosepreference", `SilentlyContinue`},
	{"erroractionpreference", `Continue`},
}

// assocOutput and ftypeOutput are the lines of `assoc` and `ftype` that
// generators filter to spell cmd and powershell.
var assocOutput = []string{
	".bat=batfile",
	".cdxml=Microsoft.PowerShellCmdletDefinitionXML.1",
	".cmd=cmdfile",
	".com=comfile",
	".exe=exefile",
	".hta=htafile",
	".js=JSFile",
	".msc=MSCFile",
	".ps1=Microsoft.PowerShellScript.1",
	".ps1xml=Microsoft.PowerShellXMLData.1",
	".psc1=Microsoft.PowerShellConsole.1",
	".psd1=Microsoft.PowerShellData.1",
	".psm1=Microsoft.PowerShellModule.1",
	".pssc=Microsoft.PowerShellSessionConfiguration.1",
	".scf=SHCmdFile",
	".txt=txtfile",
	".vbs=VBSFile",
}

var ftypeOutput = []string{
	`batfile="%1" %*`,
	`cmdfile="%1" %*`,
	`comfile="%1" %*`,
	`exefile="%1" %*`,
	`htafile=C:\Windows\SysWOW64\mshta.exe "%1" {1E460BD7-F1C3-4B2E-88BF-4E770A288AF5}%U{1E460BD7-F1C3-4B2E-88BF-4E770A288AF5} %*`,
	`JSFile=%SystemRoot%\System32\WScript.exe "%1" %*`,
	`Microsoft.PowerShellCmdletDefinitionXML.1="C:\Windows\System32\notepad.exe" "%1"`,
	`Microsoft.PowerShellConsole.1="C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -p "%1"`,
	`Microsoft.PowerShellData.1="C:\Windows\System32\notepad.exe" "%1"`,
	`Microsoft.PowerShellModule.1="C:\Windows\System32\notepad.exe" "%1"`,
	`Microsoft.PowerShellScript.1="C:\Windows\System32\notepad.exe" "%1"`,
	`Microsoft.PowerShellXMLData.1="C:\Windows\System32\notepad.exe" "%1"`,
	`MSCFile=%SystemRoot%\system32\mmc.exe "%1" %*`,
	`SHCmdFile=%SystemRoot%\explorer.exe`,
	`txtfile=%SystemRoot%\system32\NOTEPAD.EXE %1`,
	`VBSFile="%SystemRoot%\System32\WScript.exe" "%1" %*`,
}
