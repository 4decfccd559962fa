//go:build unix

package apptest

import (
	"os/exec"
	"syscall"
)

// killGroup makes cancelling cmd kill package.sh's children too (go build
// and the compilers), not only bash.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
