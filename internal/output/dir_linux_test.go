package output

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommitFailsKeepingPrevious makes moving a hidden entry into the new
// build fail: the path of the temporary folder is longer than the final
// one's, so a name that fits in the final folder can be too long (PATH_MAX)
// in the temporary one. Commit must fail and move back what it moved.
func TestCommitFailsKeepingPrevious(t *testing.T) {
	const pathMax = 4096 // Linux, including the terminating NUL
	parent := t.TempDir()
	for len(parent) < pathMax-400 {
		parent = filepath.Join(parent, strings.Repeat("d", 200))
	}
	final := filepath.Join(parent, "p")
	d, err := NewDir(final)
	if err != nil {
		t.Fatal(err)
	}
	writeBuild(t, d, "old.html")
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	d, err = NewDir(final)
	if err != nil {
		t.Fatal(err)
	}
	writeBuild(t, d, "new.html")
	long := "." + strings.Repeat("z", pathMax-len(d.tmp)-2) // d.tmp/long is pathMax long
	if len(filepath.Join(final, long)) >= pathMax {
		t.Fatalf("temporary folder %s is not longer than %s", d.tmp, final)
	}
	for _, name := range []string{".a", long} { // .a is moved first
		if err := os.WriteFile(filepath.Join(final, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	err = d.Commit()
	if err == nil || !strings.Contains(err.Error(), "keeping "+filepath.Join(final, long)) {
		t.Fatalf("Commit = %v", err)
	}
	d.Abort()
	for _, name := range []string{".a", long, "old.html"} {
		if got, err := os.ReadFile(filepath.Join(final, name)); err != nil || !strings.HasSuffix(name, string(got)) {
			t.Errorf("previous output: %s = %q, %v", name[:min(len(name), 9)], got, err)
		}
	}
	if _, err := os.Stat(filepath.Join(final, "new.html")); err == nil {
		t.Error("new.html published")
	}
	if _, err := os.Stat(d.tmp); err == nil {
		t.Error("temporary folder left")
	}
}
