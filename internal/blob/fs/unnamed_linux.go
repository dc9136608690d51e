package fs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// createUnnamed opens a file without a name in dir (O_TMPFILE). It costs
// the kernel about half of what a named temporary file does (no entry to
// add to a busy folder, none to remove), and a crash cannot leave it
// behind: the kernel frees an unnamed file when it is closed.
func createUnnamed(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), dir+"/(unnamed)"), nil
}

// linkUnnamed gives an unnamed file its name. Linking through /proc needs
// no privilege, unlike AT_EMPTY_PATH.
func linkUnnamed(f *os.File, target string) error {
	return unix.Linkat(unix.AT_FDCWD, fmt.Sprintf("/proc/self/fd/%d", f.Fd()), unix.AT_FDCWD, target, unix.AT_SYMLINK_FOLLOW)
}

// syncFilesystem flushes the whole filesystem holding dir (syncfs): one
// flush for a group of blobs.
func syncFilesystem(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// errNoSyncfs is never returned on Linux; elsewhere it makes callers sync
// file by file.
var errNoSyncfs = errors.New("syncfs is not supported on this system")
