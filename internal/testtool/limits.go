package testtool

import (
	"os"
	"runtime/metrics"
	"testing"
	"time"
)

// Helpers for tests of code that reads hostile files: files of any size,
// links, named pipes. They bound what the code allocates and make a hang a
// failure; they measure no time (benchmarks do).

// hangLimit is how long [NoHang] waits for a call that must not block: far
// longer than any call it guards takes, even on a loaded machine. It is a
// bound on a hang, not a measure of time.
const hangLimit = time.Minute

// NoHang runs f on a goroutine of its own and ends the test if f has not
// returned within a minute: code given a hostile tree must never wait on
// what it holds (a named pipe in a file's place blocks a plain open or read
// for ever). f may report with t.Error; t.Fatal in f ends f alone, as on
// any goroutine other than the test's.
func NoHang(t testing.TB, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	timer := time.NewTimer(hangLimit)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("still running after %v: blocked (on a named pipe?)", hangLimit)
	}
}

// Allocated runs f as [NoHang] does and returns the bytes it allocated on
// the heap, freed or not (what [BoundedAlloc] bounds): a bound on what the
// heap can have grown by. It asserts nothing: it is for bounds that depend
// on what f was given, or that go with other checks.
func Allocated(t testing.TB, f func()) uint64 {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	NoHang(t, f)
	metrics.Read(s)
	return s[0].Value.Uint64() - before
}

// BoundedAllocNoHang is [BoundedAlloc] for code given hostile files: f
// must allocate at most max bytes (four times that under the race
// detector), and return, as for [NoHang].
func BoundedAllocNoHang(t testing.TB, max uint64, f func()) {
	t.Helper()
	BoundedAlloc(t, max, func() { NoHang(t, f) })
}

// SparseFile makes the file name (created if need be) hold size zero bytes
// that take no room on disk, as a hostile tree can. If the file system
// cannot, the test is skipped, or fails when CONCLAVE_REQUIRE_TOOLS is 1.
func SparseFile(t testing.TB, name string, size int64) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if Required() {
			t.Fatalf("no sparse file of %d bytes here (CONCLAVE_REQUIRE_TOOLS=1): %v", size, err)
		}
		t.Skipf("no sparse file of %d bytes here: %v", size, err)
	}
}
