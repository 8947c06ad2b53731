//go:build unix

package seal

import (
	"syscall"
	"time"
)

// cpuTime is the processor time (user and system) this process used so
// far, for benchmarks on a machine that other work may share: wall time
// then says little, processor time still tells what the work costs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
