package seal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/diag"
)

// TestOpenCacheRefusesLink: a cache folder that is a symbolic link is an
// error located at it, by the folder's name; one made a link after the
// cache was opened is not written through.
func TestOpenCacheRefusesLink(t *testing.T) {
	root := t.TempDir()
	elsewhere := filepath.Join(root, "elsewhere")
	if err := os.Mkdir(elsewhere, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ".conclave")
	if err := os.Symlink(elsewhere, dir); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	_, _, err := OpenCache(dir, testKey(1))
	var list diag.List
	want := ".conclave: a symbolic link (to " + elsewhere + "): the cache holds the audiences' keys"
	if !errors.As(err, &list) || len(list) != 1 || !strings.HasPrefix(list[0].Error(), want) {
		t.Errorf("OpenCache: %v\nwant %s…", err, want)
	}

	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	c := openCache(t, dir, testKey(1))
	if err := os.Symlink(elsewhere, dir); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(); err == nil || !strings.HasPrefix(err.Error(), ".conclave: a symbolic link") {
		t.Errorf("Save: %v", err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("written through the link: %v", entries)
	}
}
