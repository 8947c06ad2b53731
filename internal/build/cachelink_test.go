package build

import (
	"encoding/gob"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/cache"
	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// TestCacheLinkRefused: a .conclave that is a symbolic link, or a cache
// file in it that is one, stops the build with an error located at it,
// before anything is read or written through it or the output is
// touched; so does a rebuild of the preview server.
func TestCacheLinkRefused(t *testing.T) {
	files := map[string]string{
		"conclave.toml":     "title = \"T\"\nbaseURL = \"https://example.org/\"\n",
		"content/_index.md": "---\ntitle: Home\n---\n\nHello.\n",
		"content/a/b.md":    "---\ntitle: B\ndate: 2026-01-02\n---\n\nText.\n",
	}
	for _, tt := range []struct {
		name, link, want string
		serve            bool // the preview server reads it too (it keeps page records in memory)
	}{
		{"folder", CacheDir, ".conclave: a symbolic link (to ", true},
		{"page cache", CacheDir + "/" + PagesFile, ".conclave/pages.cache: a symbolic link (to ", false},
		{"seal cache", CacheDir + "/seal.cache", ".conclave/seal.cache: a symbolic link (to ", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			src := filepath.Join(root, "site")
			testtool.WriteSite(t, src, files)
			elsewhere := filepath.Join(root, "elsewhere")
			if err := os.Mkdir(elsewhere, 0o700); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(src, filepath.FromSlash(tt.link))
			if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
				t.Fatal(err)
			}
			target := elsewhere
			if tt.link != CacheDir {
				target = filepath.Join(elsewhere, "file")
				if err := os.WriteFile(target, []byte("precious"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(target, link); err != nil {
				t.Skipf("no symbolic links here: %v", err)
			}
			key := newCacheKey(t)
			for _, build := range []struct {
				name string
				run  func() error
			}{
				{"Run", func() error { _, err := Run(Options{Source: src, CacheKey: key}); return err }},
				{"Session", func() error { _, _, err := NewSession(Options{Source: src, CacheKey: key}).Build(nil); return err }},
			} {
				if build.name == "Session" && !tt.serve {
					continue
				}
				err := build.run()
				var list diag.List
				if !errors.As(err, &list) || len(list) != 1 || !strings.HasPrefix(list[0].Error(), tt.want) ||
					!strings.HasSuffix(list[0].Error(), "remove it (the next build makes it anew), or build with --no-cache") {
					t.Errorf("%s: %v\nwant a located error %s…", build.name, err, tt.want)
				}
			}
			if _, err := os.Stat(filepath.Join(src, "public")); err == nil {
				t.Error("the output was written")
			}
			entries, _ := os.ReadDir(elsewhere)
			if len(entries) > 1 || len(entries) == 1 && entries[0].Name() != "file" {
				t.Errorf("written through the link: %v", entries)
			}
			if tt.link != CacheDir {
				if data, _ := os.ReadFile(target); string(data) != "precious" {
					t.Error("the link's target changed")
				}
			}

			// Once the link is gone, the build makes the cache anew.
			if err := os.Remove(link); err != nil {
				t.Fatal(err)
			}
			if _, err := Run(Options{Source: src, CacheKey: key}); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(src, CacheDir, PagesFile)); err != nil {
				t.Errorf("no page cache: %v", err)
			}
		})
	}
}

// TestSavePagesRefusesLink: a .conclave made a link while the site was
// built is not written through.
func TestSavePagesRefusesLink(t *testing.T) {
	root := t.TempDir()
	src, elsewhere := filepath.Join(root, "site"), filepath.Join(root, "elsewhere")
	for _, d := range []string{src, elsewhere} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(elsewhere, filepath.Join(src, CacheDir)); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	err := savePages(src, newCacheKey(t), &pagesData{Version: pagesVersion})
	if err == nil || !strings.HasPrefix(err.Error(), ".conclave: a symbolic link (to "+elsewhere+")") {
		t.Errorf("savePages: %v", err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("written through the link: %v", entries)
	}
}

// The page cache is a header and a record a value. A file of an earlier
// version (one pagesData value) is not read on, and not taken for a
// damaged one: no warning, every page rendered anew. A file of this
// version gives its records back.
func TestPagesCacheVersions(t *testing.T) {
	src := t.TempDir()
	key := make([]byte, cache.KeySize)
	path := filepath.Join(src, CacheDir, PagesFile)
	old := &pagesData{Version: pagesVersion - 1, Pages: map[string]*pageRecord{"content/a.md": {Out: "a/index.html"}}}
	if err := cache.SaveStream(path, key, func(e *gob.Encoder) error { return e.Encode(old) }); err != nil {
		t.Fatal(err)
	}
	if d, warn, err := loadPages(src, key); d != nil || warn != "" || err != nil {
		t.Fatalf("earlier version: %v, %q, %v; want nothing", d, warn, err)
	}
	cur := &pagesData{Version: pagesVersion, Site: [32]byte{1}, Lists: map[string]listRecord{"index.html": {}},
		Pages: map[string]*pageRecord{"content/a.md": {Out: "a/index.html"}, "content/b.md": {Out: "b/index.html"}}}
	stamps := map[string]output.Stamp{"a/index.html": {Dev: 1, Ino: 2, Size: 3, Mtime: 4, Ctime: 5}}
	cur.stamped = func() map[string]output.Stamp { return stamps }
	if err := savePages(src, key, cur); err != nil {
		t.Fatal(err)
	}
	d, warn, err := loadPages(src, key)
	if err != nil || warn != "" || d == nil || d.Site != cur.Site || len(d.Pages) != 2 || d.Pages["content/b.md"].Out != "b/index.html" || len(d.Lists) != 1 {
		t.Fatalf("this version: %+v, %q, %v", d, warn, err)
	}
	if !maps.Equal(d.Stamps, stamps) {
		t.Errorf("stamps read back: %v, want %v", d.Stamps, stamps)
	}
	if got := slices.Sorted(slices.Values(d.outputs())); !slices.Equal(got, []string{"a/index.html", "b/index.html", "index.html"}) {
		t.Errorf("outputs: %v", got)
	}
}
