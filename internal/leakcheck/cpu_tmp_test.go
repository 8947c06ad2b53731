package leakcheck

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func minCPU(n int, f func()) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	best := time.Hour
	for range n {
		runtime.GC()
		t0 := threadCPU()
		f()
		best = min(best, threadCPU()-t0)
	}
	return best
}

func TestCPUTmp(t *testing.T) {
	c := loadCorpus()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	debugGC := runtime.MemProfileRate
	_ = debugGC
	var s *Scanner
	t.Logf("New: %v", minCPU(5, func() { s = New(c.secrets, c.public) }))
	t.Logf("Scan: %v", minCPU(5, func() { s.Scan(c.files) }))
	var buf []byte
	t.Logf("normText: %v", minCPU(5, func() {
		for _, f := range c.files {
			buf = normText(buf[:0], f.Data)
		}
	}))
	t.Logf("normPlain(public): %v", minCPU(5, func() {
		for _, f := range c.public {
			buf = normPlain(buf[:0], f)
		}
	}))
	var bufs [][]byte
	for _, f := range c.files {
		bufs = append(bufs, normText(nil, f.Data))
	}
	st := s.m.newState()
	t.Logf("find: %v", minCPU(5, func() {
		for _, b := range bufs {
			st.id++
			st.find(b, 0, false)
		}
	}))
	var x uint64
	t.Logf("calibrate (48M byte loop): %v", minCPU(5, func() {
		for _, b := range bufs {
			for _, c := range b {
				x += uint64(c)
			}
		}
	}))
	_ = x
}
