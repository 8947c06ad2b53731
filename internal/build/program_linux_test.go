package build

import (
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goBuildID reads the build ID the go command wrote into this test's
// executable, as go tool buildid prints it, and none from an executable
// that has none.
func TestGoBuildID(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "tool", "buildid", exe).Output()
	if err != nil {
		t.Fatalf("go tool buildid: %v", err)
	}
	want := strings.TrimSpace(string(out))
	if got, ok := goBuildID(exe); !ok || got != want || want == "" {
		t.Errorf("goBuildID = %q, %v; go tool buildid says %q", got, ok, want)
	}
	// Not ELF, and ELF without a Go note.
	text := filepath.Join(t.TempDir(), "text")
	if err := os.WriteFile(text, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{text, "/bin/sh"} {
		if id, ok := goBuildID(f); ok {
			t.Errorf("%s: build ID %q", f, id)
		}
	}
	// The program's digest is that of its build ID, not of its bytes.
	if sum, err := programDigest(); err != nil || sum != sha256.Sum256([]byte("go build ID\x00"+want)) {
		t.Errorf("programDigest = %x, %v; want the digest of the build ID", sum, err)
	}
}
