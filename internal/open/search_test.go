package open

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/format"
)

// A reader's copy lists the sealed search indexes of the reader's
// audiences, opened, and no other: the copy's search finds what the
// reader may read, and nothing else.
func TestCopySearchable(t *testing.T) {
	alice, bob := x25519Key(t), x25519Key(t)
	out := buildSite(t, siteFiles{
		"keys/groups.toml": "board = [\"alice\", \"bob\"]\n",
		"content/briefings/a.md": "---\ntitle: A\n---\n\nPublic intro.\n\n::: restricted to=board tlp=amber\nBoard quartz text.\n\n" +
			"::: restricted to=bob tlp=red\nBob zircon detail.\n:::\n:::\n",
	}.withKeys(map[string][]key{"alice": {alice}, "bob": {bob}}))
	for name, want := range map[string]struct {
		k        key
		has, not []string
	}{
		"alice": {alice, []string{"quartz"}, []string{"zircon"}},
		"bob":   {bob, []string{"quartz", "zircon"}, nil},
	} {
		copyDir := filepath.Join(t.TempDir(), "copy")
		if _, err := Site(out, copyDir, parse(t, want.k.Identity), nil); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(copyDir, filepath.FromSlash(format.SearchIndex)))
		if err != nil {
			t.Fatal(err)
		}
		var root format.SearchRoot
		if err := json.Unmarshal(data, &root); err != nil {
			t.Fatal(err)
		}
		var all strings.Builder
		for _, p := range root.Opened {
			b, err := os.ReadFile(filepath.Join(copyDir, filepath.FromSlash(p)))
			if err != nil {
				t.Fatal(err)
			}
			var x format.SealedSearch
			if err := json.Unmarshal(b, &x); err != nil || x.Version != format.SearchVersion || len(x.Terms) == 0 {
				t.Fatalf("%s: %s: %v", name, p, err)
			}
			all.Write(b)
		}
		for _, w := range want.has {
			if !strings.Contains(all.String(), `"`+w+`"`) {
				t.Errorf("%s's copy cannot find %q: %s", name, w, all.String())
			}
		}
		for _, w := range want.not {
			if strings.Contains(all.String(), w) {
				t.Errorf("%s's copy holds %q", name, w)
			}
		}
	}
}
