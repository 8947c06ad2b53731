package site

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Reread takes a page whose body alone changed, and refuses any other
// change, leaving the site it was given as it was.
func TestReread(t *testing.T) {
	page := "---\ntitle: A\ndate: 2024-01-01\n---\n\nBody.\n"
	root := writeSite(t, map[string]string{
		"content/_index.md":         "---\ntitle: Home\n---\n\nIntro.\n",
		"content/s/a.md":            page,
		"content/s/b.md":            "---\ntitle: B\n---\n\nB.\n",
		"content/s/draft.md":        "---\ntitle: D\ndraft: true\n---\n\nD.\n",
		"content/s/warned.md":       "---\ntitle: W\ncolour: red\n---\n\nW.\n",
		"content/s/whole.md":        "---\ntitle: R\naudience: [x]\nslug: r-x1\n---\n\nR.\n",
		"content/s/bundle/index.md": "---\ntitle: Bundle\n---\n\nBundle.\n",
	})
	var cache PageCache
	opt := Options{Pages: &cache}
	s, err := Load(root, opt)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(rel, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(root, rel), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cache.Invalidate([]string{rel})
	}
	old := s.Page("content/s/a.md")
	edit("content/s/a.md", page+"\nMore body.\n")
	next, pages, ok := s.Reread([]string{"content/s/a.md"}, opt)
	if !ok {
		t.Fatal("a body edit was refused")
	}
	if got := string(next.Page("content/s/a.md").Body); got != "\nBody.\n\nMore body.\n" || pages[0] != next.Page("content/s/a.md") {
		t.Errorf("the new site's page holds %q", got)
	}
	if s.Page("content/s/a.md") != old || string(old.Body) != "\nBody.\n" {
		t.Error("Reread changed the site it was given")
	}
	if next.Page("content/s/b.md") != s.Page("content/s/b.md") || len(next.Pages) != len(s.Pages) {
		t.Error("the other pages are not shared")
	}
	for i, p := range next.Pages {
		if next.Page(p.Path) != p || (p.Path != "content/s/a.md" && s.Pages[i] != p) {
			t.Errorf("page %d (%s) is out of place", i, p.Path)
		}
	}
	for _, c := range []struct{ what, rel, text string }{
		{"a title", "content/s/a.md", "---\ntitle: A2\ndate: 2024-01-01\n---\n\nBody.\n"},
		{"a line more of front matter", "content/s/a.md", "---\ntitle: A\n\ndate: 2024-01-01\n---\n\nBody.\n"},
		{"a new warning", "content/s/a.md", "---\ntitle: A\ndate: 2024-01-01\ncolour: red\n---\n\nBody.\n"},
		{"a page that does not parse", "content/s/a.md", "---\ntitle: [\n---\n"},
		{"the home's intro", "content/_index.md", "---\ntitle: Home\n---\n\nIntro, again.\n"},
		{"a draft", "content/s/draft.md", "---\ntitle: D\ndraft: true\n---\n\nD, again.\n"},
		{"a warned page", "content/s/warned.md", "---\ntitle: W\ncolour: red\n---\n\nW, again.\n"},
		{"a page restricted as a whole", "content/s/whole.md", "---\ntitle: R\naudience: [x]\nslug: r-x1\n---\n\nR, again.\n"},
		{"a new page", "content/s/new.md", "---\ntitle: N\n---\n\nN.\n"},
	} {
		edit(c.rel, c.text)
		if _, _, ok := s.Reread([]string{c.rel}, opt); ok {
			t.Errorf("%s: Reread took it", c.what)
		}
	}
	if _, _, ok := s.Reread([]string{"content/s"}, opt); ok {
		t.Error("Reread took a folder")
	}
	if _, _, ok := s.Reread([]string{"content/s/b.md"}, Options{}); ok {
		t.Error("Reread took a site without its page cache")
	}
}

// Invalidate marks a page named, and the pages under a folder named,
// to be read again, and no other.
func TestInvalidate(t *testing.T) {
	root := writeSite(t, map[string]string{
		"content/a/one.md": "One.\n", "content/a/two.md": "Two.\n", "content/b/three.md": "Three.\n", "content/ab.md": "AB.\n",
	})
	var cache PageCache
	if _, err := Load(root, Options{Pages: &cache}); err != nil {
		t.Fatal(err)
	}
	trusted := func() map[string]bool {
		m := map[string]bool{}
		for rel, cp := range cache.pages {
			m[rel] = cp.trusted
		}
		return m
	}
	for _, c := range []struct {
		paths []string
		stale []string
	}{
		{[]string{"content/a/one.md"}, []string{"content/a/one.md"}},
		{[]string{"content/a"}, []string{"content/a/one.md", "content/a/two.md"}},
		{[]string{"content/b/three.md", "content/a"}, []string{"content/a/one.md", "content/a/two.md", "content/b/three.md"}},
		{[]string{"content/gone.md"}, nil},
		{nil, []string{"content/a/one.md", "content/a/two.md", "content/ab.md", "content/b/three.md"}},
	} {
		if _, err := Load(root, Options{Pages: &cache}); err != nil {
			t.Fatal(err)
		}
		cache.Invalidate(c.paths)
		got := trusted()
		for rel, ok := range got {
			if want := !slices.Contains(c.stale, rel); ok != want {
				t.Errorf("Invalidate(%q): %s trusted %t, want %t", c.paths, rel, ok, want)
			}
		}
	}
}
