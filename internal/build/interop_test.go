package build

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/testtool"
)

// TestSHA256SUMSWithCoreutils checks the manifest the way a recipient would:
// GNU sha256sum verifies every listed file.
func TestSHA256SUMSWithCoreutils(t *testing.T) {
	sha256sum := testtool.Require(t, "sha256sum")
	out := filepath.Join(t.TempDir(), "public")
	rep, err := Run(Options{Source: "testdata/site", Out: out})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sha256sum, "--check", "--strict", "SHA256SUMS")
	cmd.Dir = out
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, got)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != rep.Files-1 {
		t.Errorf("sha256sum checked %d files, the build wrote %d besides SHA256SUMS", len(lines), rep.Files-1)
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, ": OK") {
			t.Errorf("sha256sum: %s", l)
		}
	}
}
