//go:build unix

package follow

import (
	"os"
	"syscall"
)

// identity returns the device and inode of a file, which survive a rename
// and tell a new file at the same path from the old one.
func identity(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}
	}
	return fileID{}
}
