package build

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// searchPackets returns the packets the search root of the site built in
// out names: the roots of the sealed indexes.
func searchPackets(t *testing.T, out string) map[string]bool {
	t.Helper()
	named := map[string]bool{}
	data, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(format.SearchIndex)))
	if os.IsNotExist(err) {
		return named
	}
	if err != nil {
		t.Fatal(err)
	}
	var root format.SearchRoot
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	for _, r := range root.Sealed {
		named[r.Packet] = true
	}
	return named
}

// A long page's words past the first 8 kB are found after a build that
// published it again from the page cache, as after a cold build: the
// record keeps the page's terms, not its text cut for snippets.
func TestSearchLongPageCached(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("Filler words of a long public page. ", 400) + "\n\nThe word zanzibarquokka comes late.\n"
	testtool.WriteSite(t, dir, map[string]string{
		"conclave.toml":          "title = \"T\"\n",
		"content/briefings/a.md": "---\ntitle: A\ndate: 2026-01-01\n---\n\n" + long,
		"content/briefings/b.md": "---\ntitle: B\ndate: 2026-01-02\n---\n\nShort.\n",
	})
	key := newCacheKey(t)
	for i := range 3 {
		rep, err := Run(Options{Source: dir, CacheKey: key})
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && rep.Reused == 0 {
			t.Fatalf("build %d reused nothing", i)
		}
		found := false
		err = filepath.WalkDir(filepath.Join(dir, "public", "search", "t"), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			found = found || bytes.Contains(data, []byte(`"zanzibarquokka"`))
			return err
		})
		if err != nil || !found {
			t.Errorf("build %d: the late word is not in the index (%v)", i, err)
		}
	}
}
