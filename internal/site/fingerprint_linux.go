package site

import (
	"fmt"
	"os"
	"syscall"
)

// statID is what identifies a file's version besides its size and time
// of change: its inode and device, and the time its inode last changed,
// which no program sets back.
func statID(info os.FileInfo) string {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("i%d.%d c%d.%d", st.Dev, st.Ino, st.Ctim.Sec, st.Ctim.Nsec)
}
