package testtool

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// WriteSite writes files, a map from slash-separated paths relative to dir
// to contents, under dir, creating folders as needed, and returns dir. If
// dir is "", it writes to a new [testing.TB.TempDir].
//
// The paths are checked first: one that is empty, absolute or leads out
// of dir ("../x", "a/../../x") ends the test before anything is written.
// The check is on the names only: a symbolic link already in dir is
// followed.
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
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
