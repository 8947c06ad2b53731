//go:build unix

package output

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestDirFollowsUmask(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o077))
	final := filepath.Join(t.TempDir(), "public")
	d, err := NewDir(final)
	if err != nil {
		t.Fatal(err)
	}
	writeBuild(t, d, "a/index.html")
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{".": 0o700, "a": 0o700, "a/index.html": 0o600} {
		info, err := os.Stat(filepath.Join(final, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v (umask 077)", name, got, want)
		}
	}
}
