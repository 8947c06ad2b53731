//go:build race

package testtool

// raceEnabled is set when the race detector is on.
const raceEnabled = true

// RaceEnabled is set when the race detector is on: tests that bound
// allocations allow more, as its instrumentation moves values to the heap.
const RaceEnabled = raceEnabled
