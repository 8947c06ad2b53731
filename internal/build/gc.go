package build

import (
	"math"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
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
	endLoose() // the heap is no longer small
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

// gcLoose counts the builds of this process between loosenGC and its
// restore, and says whether the collector's setting is loosened.
var gcLoose struct {
	sync.Mutex
	builds int
	on     bool
}

// loosenGC lets the heap grow to looseGC percent more than the last
// collection found live, instead of Go's default 100, while that stays
// under looseBudget (a memory limit makes the collector run before it
// would pass it), until the function it returns is called or what the
// last collection found live reaches half the budget: then the default
// is back. A build whose heap stays small spends less CPU this way: a
// warm build of 2,000 dense pages 8% (1.148 → 1.051 s, and 0.658 →
// 0.615 s of wall time; peak 179 → 222 MiB), one of 20,000, whose heap
// soon passes half the budget, 2% (see docs/benchmarks.md). A heap past
// half the budget is collected as it would have been: never more often
// than by default, and the last stages, where the peak is, are
// tightenGC's (a cold build of 50,000 public pages peaked at 853 MiB,
// against 867 MiB without it).
//
// A setting the user chose (GOGC other than 100, or GOMEMLIMIT) is left
// alone, as is one another build of this process changed.
func loosenGC() (restore func()) {
	gcLoose.Lock()
	defer gcLoose.Unlock()
	gcLoose.builds++
	if gcLoose.builds == 1 && debug.SetMemoryLimit(-1) == math.MaxInt64 {
		if was := debug.SetGCPercent(looseGC); was != 100 {
			debug.SetGCPercent(was)
		} else {
			debug.SetMemoryLimit(looseBudget)
			gcLoose.on = true
			go watchLoose()
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			gcLoose.Lock()
			gcLoose.builds--
			last := gcLoose.builds == 0
			gcLoose.Unlock()
			if last {
				endLoose()
			}
		})
	}
}

// looseGC is loosenGC's growth target, in percent; looseBudget the heap
// it lets the collector leave.
const looseGC = 400

var looseBudget int64 = 768 << 20

// endLoose gives the collector back Go's default setting, if loosenGC
// changed it.
func endLoose() {
	gcLoose.Lock()
	defer gcLoose.Unlock()
	if gcLoose.on {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
		gcLoose.on = false
	}
}

// watchLoose ends the loosened setting once what a collection found live
// reaches half the budget, or when it has ended.
func watchLoose() {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		gcLoose.Lock()
		on := gcLoose.on
		gcLoose.Unlock()
		if !on {
			return
		}
		if liveHeap() >= uint64(looseBudget/2) {
			endLoose()
			return
		}
	}
}
