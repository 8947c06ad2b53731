// Package par runs independent pieces of work on several goroutines.
package par

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Do calls f(i) for every i in [0, n) on up to workers goroutines and
// returns when all calls have returned. workers <= 0 means GOMAXPROCS.
func Do(n, workers int, f func(i int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	// Each worker takes the next index from a counter: for a call of
	// 50,000 small pieces, a channel's hand-off a piece cost more than
	// the pieces.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		})
	}
	wg.Wait()
}

// IO is a worker count for work that mixes computation with file writes:
// while some goroutines wait in system calls, others keep the cores busy.
func IO() int { return 4 * runtime.GOMAXPROCS(0) }

// Each calls f(i) for every i in [0, n) as [Do] does, and returns the
// non-nil errors f returned, in the order of i.
func Each(n, workers int, f func(i int) error) []error {
	errs := make([]error, n)
	Do(n, workers, func(i int) { errs[i] = f(i) })
	return slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}
