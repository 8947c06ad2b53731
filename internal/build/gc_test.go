package build

import (
	"runtime"
	"runtime/debug"
	"testing"
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
