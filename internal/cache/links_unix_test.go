//go:build unix

package cache

import (
	"path/filepath"
	"syscall"
	"testing"
)

// TestFIFORefused: a named pipe in the cache folder is refused before it
// is opened, which would wait for a writer forever.
func TestFIFORefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".conclave")
	mkdir(t, dir)
	path := filepath.Join(dir, "x.cache")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	var v value
	if _, err := Load(path, testKey(1), &v); refusedReason(t, err, path) != "not a regular file" {
		t.Error("wrong reason")
	}
	if err := Save(path, testKey(1), v); refusedReason(t, err, path) != "not a regular file" {
		t.Error("wrong reason")
	}
}
