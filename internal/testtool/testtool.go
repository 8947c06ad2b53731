// Package testtool finds the external programs that interoperability tests
// run (sha256sum, age, chromium, hugo).
//
// A test that needs a program calls [Require]. If the program is missing the
// test is skipped with a message, unless the environment variable
// CONCLAVE_REQUIRE_TOOLS is 1 (as in CI), in which case it fails: a check
// that CI cannot run must not pass silently.
package testtool

import (
	"os"
	"os/exec"
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
		t.Fatalf("%s is not installed and CONCLAVE_REQUIRE_TOOLS=1 (install it: apt-get install %s)", name, name)
	}
	t.Skipf("%s is not installed; skipping (set CONCLAVE_REQUIRE_TOOLS=1 to make this a failure)", name)
	return ""
}
