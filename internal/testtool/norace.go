//go:build !race

package testtool

// raceEnabled is set when the race detector is on.
const raceEnabled = false
