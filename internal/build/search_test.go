package build

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/search"
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

// publicTerms, which gathers runs of texts in parallel, gives the terms a
// single pass would, in the same order.
func TestPublicTerms(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	words := strings.Fields("advisory embargo Firmware firmware vendor résumé 日本 CVE-2024-3094 xz a I")
	for _, n := range []int{0, 1, 2, 3, 7, 100, 1000} {
		var texts [][]byte
		for range n {
			var b []byte
			for range r.IntN(60) {
				b = append(append(b, words[r.IntN(len(words))]...), ' ')
				if r.IntN(10) == 0 {
					b = append(b, fmt.Sprintf("w%d ", r.IntN(500))...)
				}
			}
			texts = append(texts, b)
		}
		want := search.AppendDistinct(nil, map[string]bool{}, texts)
		if got := publicTerms(texts); !bytes.Equal(got, want) {
			t.Errorf("%d texts: publicTerms =\n%q\nwant\n%q", n, got, want)
		}
	}
}
