// Package testtool holds helpers shared by the project's tests: finding the
// external programs that interoperability tests run (sha256sum, age,
// chromium, hugo) and writing small file trees.
//
// A test that needs a program calls [Require]. If the program is missing the
// test is skipped with a message, unless the environment variable
// CONCLAVE_REQUIRE_TOOLS is 1 (as in CI), in which case it fails: a check
// that CI cannot run must not pass silently.
package testtool

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
)

// Required reports whether missing tools fail tests instead of skipping them.
func Required() bool { return os.Getenv("CONCLAVE_REQUIRE_TOOLS") == "1" }

// Require returns the path of the program name, or ends the test.
func Require(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if Required() {
		t.Fatalf("%s is not installed and CONCLAVE_REQUIRE_TOOLS=1 (.ci/run installs it)", name)
	}
	t.Skipf("%s is not installed; skipping (set CONCLAVE_REQUIRE_TOOLS=1 to make this a failure)", name)
	return ""
}

// ReadTree maps the slash path of every file under root to its contents.
func ReadTree(root string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	return files, err
}

// Tree is [ReadTree] for tests: it ends the test if the tree cannot be read.
func Tree(t testing.TB, root string) map[string][]byte {
	t.Helper()
	files, err := ReadTree(root)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// BoundedAlloc runs f with the Go heap's soft limit set to what the
// process uses now plus max, and checks that f allocated at most max bytes
// in all, which bounds the peak of the heap it used. It asserts nothing
// about time: a regression to exponential work shows as a test timeout,
// and time is measured by benchmarks. Under the race detector, whose
// instrumentation makes more values escape to the heap, the bound is four
// times max: still far below what a blow-up allocates.
func BoundedAlloc(t testing.TB, max uint64, f func()) {
	t.Helper()
	if raceEnabled {
		max *= 4
	}
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/memory/classes/total:bytes"}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	old := debug.SetMemoryLimit(int64(s[1].Value.Uint64() + max))
	defer debug.SetMemoryLimit(old)
	f()
	metrics.Read(s)
	if got := s[0].Value.Uint64() - before; got > max {
		t.Errorf("allocated %.1f MiB, more than the %.1f MiB allowed", float64(got)/(1<<20), float64(max)/(1<<20))
	}
}

// FirstDiff shows the first line where got differs from want.
func FirstDiff(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, w, g)
		}
	}
	return "(same lines)"
}
