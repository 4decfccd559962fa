//go:build unix

package modinput

import (
	"os"
	"syscall"
)

// inode returns a file's device and inode, as the checkpoint records them.
func inode(fi os.FileInfo) [2]uint64 {
	st := fi.Sys().(*syscall.Stat_t)
	return [2]uint64{uint64(st.Dev), uint64(st.Ino)}
}
