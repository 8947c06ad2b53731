package build

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// tightenGC halves the collector's setting, if the live heap is large,
// until the last of the builds that overlap restores it, and leaves a
// collector turned off alone.
func TestTightenGC(t *testing.T) {
	was := debug.SetGCPercent(100)
	defer debug.SetGCPercent(was)
	gcPercent := func() int {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	for _, tc := range []struct{ set, tight int }{{100, 50}, {300, 150}, {1, 1}, {-1, -1}} {
		debug.SetGCPercent(tc.set)
		first := tightenGC(tightFrom)
		if got := gcPercent(); got != tc.tight {
			t.Errorf("GOGC=%d: %d in a build's last stages, want %d", tc.set, got, tc.tight)
		}
		second := tightenGC(tightFrom) // a build that overlaps the first
		if got := gcPercent(); got != tc.tight {
			t.Errorf("GOGC=%d: %d with two builds, want %d", tc.set, got, tc.tight)
		}
		first()
		if got := gcPercent(); got != tc.tight {
			t.Errorf("GOGC=%d: %d once the first of two builds is done, want %d", tc.set, got, tc.tight)
		}
		second()
		if got := gcPercent(); got != tc.set {
			t.Errorf("GOGC=%d: %d after the builds, want it back", tc.set, got)
		}
		// A heap below tightFrom is left to the collector's setting.
		restore := tightenGC(tightFrom - 1)
		if got := gcPercent(); got != tc.set {
			t.Errorf("GOGC=%d: %d with a small heap, want it unchanged", tc.set, got)
		}
		restore()
	}
	runtime.GC()
	if live := liveHeap(); live == 0 {
		t.Error("liveHeap read nothing")
	}
}

// loosenGC raises the collector's setting and sets the budget as a memory
// limit, from Go's default only, until the last of the builds that
// overlap restores it; tightenGC ends it; and it ends by itself once the
// live heap reaches half the budget.
func TestLoosenGC(t *testing.T) {
	wasGC, wasLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	defer func() {
		debug.SetGCPercent(wasGC)
		debug.SetMemoryLimit(wasLimit)
	}()
	gcPercent := func() int {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	check := func(what string, gc int, limit int64) {
		t.Helper()
		if got, gotLimit := gcPercent(), debug.SetMemoryLimit(-1); got != gc || gotLimit != limit {
			t.Errorf("%s: GOGC=%d, limit %d; want %d, %d", what, got, gotLimit, gc, limit)
		}
	}
	first := loosenGC()
	check("in a build", looseGC, looseBudget)
	second := loosenGC() // a build that overlaps the first
	first()
	first() // restoring twice is restoring once
	check("once the first of two builds is done", looseGC, looseBudget)
	second()
	check("after the builds", 100, math.MaxInt64)

	// A large heap ends it, for the tightened setting.
	restore := loosenGC()
	tight := tightenGC(tightFrom)
	check("in the last stages", 50, math.MaxInt64)
	tight()
	restore()
	check("after a build with a large heap", 100, math.MaxInt64)

	// The user's settings are left alone.
	debug.SetGCPercent(200)
	loosenGC()()
	check("GOGC=200", 200, math.MaxInt64)
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(1 << 30)
	loosenGC()()
	check("GOMEMLIMIT", 100, 1<<30)
	debug.SetMemoryLimit(math.MaxInt64)

	// A live heap of half the budget ends it, the build still running.
	budget := looseBudget
	defer func() { looseBudget = budget }()
	looseBudget = 2 * int64(liveHeap()+1)
	restore = loosenGC()
	defer restore()
	keep := make([]byte, looseBudget)                                                                                             // live, the next collection finds it
	for deadline := time.Now().Add(10 * time.Second); debug.SetMemoryLimit(-1) != math.MaxInt64 && time.Now().Before(deadline); { // -1 reads it
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	runtime.KeepAlive(keep)
	check("once the live heap reached half the budget", 100, math.MaxInt64)
}
