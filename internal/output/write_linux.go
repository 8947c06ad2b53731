package output

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// links returns the number of hard links to a file, or 0 if unknown.
func links(info os.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Nlink
	}
	return 0
}

// writeNew creates the file name, which must not exist yet, and writes data
// to it with three system calls. os.WriteFile also registers the file with
// the network poller and adjusts its flags, which for the thousands of
// small files of a build costs more than the writes.
func writeNew(name string, data []byte) error {
	fd, err := unix.Open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return &os.PathError{Op: "create", Path: name, Err: err}
	}
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			unix.Close(fd)
			return &os.PathError{Op: "write", Path: name, Err: err}
		}
		data = data[n:]
	}
	if err := unix.Close(fd); err != nil {
		return &os.PathError{Op: "close", Path: name, Err: err}
	}
	return nil
}
