package build

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/seal"
	"github.com/conclave-dev/conclave/internal/site"
)

// The read cache is taken only from this program: one that another build
// of conclave wrote, whose parser may read a page otherwise, is not, and
// every page is parsed again.
func TestReadCacheOfAnotherProgram(t *testing.T) {
	dir, _ := editSite(t)
	key := make([]byte, seal.KeySize)
	rand.Read(key)
	out := filepath.Join(dir, "public")
	build := func() {
		t.Helper()
		// Without the page records, which would publish the pages again
		// as the last build rendered them.
		if err := os.Remove(filepath.Join(dir, CacheDir, PagesFile)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if _, err := Run(Options{Source: dir, Out: out, CacheKey: key, Now: testNow}); err != nil {
			t.Fatal(err)
		}
	}
	build()
	c, err := loadRead(dir, key)
	if err != nil {
		t.Fatal(err)
	}
	pages := slices.Collect(c.Export)
	if len(pages) == 0 {
		t.Fatal("the build saved no page as read")
	}
	// What the cache says of two pages, otherwise than their files: a
	// new title, and a page restricted as a whole made public.
	var whole site.Read
	for i := range pages {
		switch pages[i].Path {
		case "content/briefings/two.md":
			pages[i].Title = "Said by the cache"
		case "content/briefings/whole.md":
			whole = pages[i]
			pages[i].Audience = site.Read{}.Audience
		}
	}
	prog, err := programDigest()
	if err != nil {
		t.Fatal(err)
	}
	published := func(rel, text string) bool {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(out, rel))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return strings.Contains(string(data), text)
	}

	other := prog
	other[0] ^= 1
	if err := writeRead(dir, key, other, slices.Values(pages)); err != nil {
		t.Fatal(err)
	}
	build()
	if published("briefings/two/index.html", "Said by the cache") {
		t.Error("the build took a page as another program read it")
	}
	if published("briefings/r-whole/index.html", "Whole body.") {
		t.Error("a page restricted as a whole was published in clear, as another program's cache said")
	}

	// The same cache, as this program's: taken, so the test above shows
	// something.
	for i := range pages {
		if pages[i].Path == "content/briefings/whole.md" {
			pages[i] = whole // as it was
		}
	}
	if err := writeRead(dir, key, prog, slices.Values(pages)); err != nil {
		t.Fatal(err)
	}
	build()
	if !published("briefings/two/index.html", "Said by the cache") {
		t.Error("the build did not take this program's read cache")
	}
}
