//go:build unix

package pull

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lock takes the lock file at name, so that two pulls never write one
// folder at once, and returns what releases it. The lock goes with the
// process: a pull that was killed holds none.
func lock(name string) (unlock func(), err error) {
	// Never through a link: the lock is a file of DIR's own.
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: another conclave pull is writing this folder", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return func() { f.Close() }, nil
}
