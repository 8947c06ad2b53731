package testtool

import (
	"maps"
	"path/filepath"
	"slices"
	"testing"
)

// WriteSite writes files, a map from slash-separated paths relative to dir
// to contents, under dir, creating folders as needed, and returns dir. If
// dir is "", it writes to a new [testing.TB.TempDir].
//
// It is [WriteTree] for the trees tests build a site from, with the paths
// checked first: one that is empty, absolute or leads out of dir ("../x",
// "a/../../x") ends the test before anything is written. The check is on
// the names only: a symbolic link already in dir is followed.
func WriteSite(t testing.TB, dir string, files map[string]string) string {
	t.Helper()
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if !filepath.IsLocal(filepath.FromSlash(p)) {
			t.Fatalf("testtool.WriteSite: %q is not a relative path inside the site", p)
		}
	}
	if dir == "" {
		dir = t.TempDir()
	}
	WriteTree(t, dir, files)
	return dir
}
