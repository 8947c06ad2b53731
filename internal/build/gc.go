package build

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// gcTight counts the builds of this process in their last stages, and
// keeps the collector's setting from before the first of them.
var gcTight struct {
	sync.Mutex
	builds int
	was    int
}

// tightenGC halves the collector's growth target (GOGC: the heap may grow
// by that percentage of what it found live before it collects again)
// until the function it returns is called, for the last stages of a
// build, where the live heap is largest, if it is over tightFrom (live
// is what the last collection found live). At 50,000 public pages, the
// peak resident memory drops from 824–988 MiB to 716–774 MiB (9 builds
// each), in the same time within this machine's spread (see
// docs/benchmarks.md). It costs more where the live heap is larger: a
// cold build of 20,000 dense pages took 8% longer and peaked 7% lower.
// Below, the peak is a few hundred MiB anyway, and collecting more
// often cost 4% of a build of 2,000 dense pages.
// Unlike a memory limit, it has no
// size at which the collector runs without pause: a larger site only
// collects more often in those stages. A collector the user turned off
// (GOGC=off) stays off. Builds that overlap share the setting; the last
// to finish restores it.
func tightenGC(live uint64) (restore func()) {
	if live < tightFrom {
		return func() {}
	}
	gcTight.Lock()
	defer gcTight.Unlock()
	if gcTight.builds == 0 {
		// Setting it is the only way to read it: the default's half
		// first, then the right one if the user set another.
		was := debug.SetGCPercent(gcHalf)
		switch {
		case was < 0:
			debug.SetGCPercent(was) // off stays off
		case was != 2*gcHalf:
			debug.SetGCPercent(max(was/2, 1))
		}
		gcTight.was = was
	}
	gcTight.builds++
	return func() {
		gcTight.Lock()
		defer gcTight.Unlock()
		if gcTight.builds--; gcTight.builds == 0 {
			debug.SetGCPercent(gcTight.was)
		}
	}
}

// gcHalf is half Go's default GOGC of 100.
const gcHalf = 50

// tightFrom is the live heap from which tightenGC tightens.
const tightFrom = 256 << 20

// liveHeap returns the bytes of heap the last collection found live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
