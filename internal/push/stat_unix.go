//go:build unix

package push

import (
	"io/fs"
	"syscall"
)

// fileID returns the inode and device of a file, which tell a file replaced
// by another (a rebuild, a copy with the same size and mtime) from one left
// alone.
func fileID(fi fs.FileInfo) (ino, dev uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino), uint64(st.Dev)
	}
	return 0, 0
}
