package site

import (
	"bytes"
	"encoding/gob"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/diag"
)

// gobRoundTrip returns rs as a gob encoding gives them back, as a cache
// file does.
func gobRoundTrip(t testing.TB, rs []Read) []Read {
	t.Helper()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(rs); err != nil {
		t.Fatal(err)
	}
	var back []Read
	if err := gob.NewDecoder(&buf).Decode(&back); err != nil {
		t.Fatal(err)
	}
	return back
}

// readPages are front matter and bodies that a Read must give back as
// they are: every key, lists set and empty, times in UTC, in a fixed
// zone and TOML's local ones, a warning, CRLF line endings and a
// byte-order mark.
var readPages = map[string]string{
	"content/_index.md":       "---\ntitle: Home\n---\n\nIntro.\n",
	"content/s/_index.md":     "+++\ntitle = 'S'\n+++\nSection.\n",
	"content/s/full.md":       "---\ntitle: Full\ndate: 2024-01-02\nsummary: Sum.\ntags: [a, b]\ndraft: false\nslug: full-1\nweight: 3\ntlp: amber\n---\n\nBody.\n",
	"content/s/whole.md":      "---\ntitle: R\naudience: [x, y]\nslug: r-x1\ntlp: red\nembargo: 2026-12-09T17:00:00Z\nafter: green\n---\n\nR.\n",
	"content/s/empty.md":      "---\ntitle: E\ntags: []\n---\n\nE.\n",
	"content/s/zone.md":       "---\ntitle: Z\ndate: 2024-01-01T10:00:00+02:00\n---\n\nZ.\n",
	"content/s/toml.md":       "+++\ntitle = 'T'\ndate = 2024-01-01T10:00:00\n+++\n\nT.\n",
	"content/s/warned.md":     "---\ntitle: W\ncolour: red\n---\n\nW.\n",
	"content/s/crlf.md":       "\uFEFF---\r\ntitle: C\r\n---\r\n\r\nLine one.\rLine two.\r\n",
	"content/s/bare.md":       "No front matter at all.\n",
	"content/s/b/index.md":    "---\ntitle: Bundle\nslug: other\n---\n\nBundle.\n",
	"content/s/only-front.md": "---\ntitle: O\n---",
}

// A page cache's pages, exported, saved and imported by a new cache, are
// taken by Load as they are, and parsed again only if their file's bytes
// changed.
func TestReadRoundTrip(t *testing.T) {
	root := writeSite(t, maps.Clone(readPages))
	var first PageCache
	want, err := Load(root, Options{Pages: &first})
	if err != nil {
		t.Fatal(err)
	}
	rs := slices.Collect(first.Export)
	if len(rs) != len(readPages) {
		var got []string
		for _, r := range rs {
			got = append(got, r.Path)
		}
		t.Fatalf("exported %d of %d pages: %q", len(rs), len(readPages), got)
	}
	rs = gobRoundTrip(t, rs)

	var next PageCache
	next.Import(rs)
	got, err := Load(root, Options{Pages: &next})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Pages) != len(want.Pages) {
		t.Fatalf("%d pages, want %d", len(got.Pages), len(want.Pages))
	}
	for i, p := range got.Pages {
		w := want.Pages[i]
		if !reflect.DeepEqual(p, w) || !sameTime(p.Front.Date, w.Front.Date) || !sameTime(p.Front.Embargo, w.Front.Embargo) {
			t.Errorf("%s: imported\n%+v\nwant\n%+v", w.Path, p, w)
		}
	}
	if !reflect.DeepEqual(got.Warnings, want.Warnings) {
		t.Errorf("warnings %v, want %v", got.Warnings, want.Warnings)
	}
	if p := got.Page("content/s/empty.md"); p.Front.Tags == nil {
		t.Error("an empty list came back as no list")
	}

	// What Load takes is the Read, unparsed: a Read that says otherwise
	// than the file (only a cache of another program could) is believed
	// while the file's bytes are those it names...
	for i := range rs {
		if rs[i].Path == "content/s/full.md" {
			rs[i].Title = "Imported"
		}
	}
	var lying PageCache
	lying.Import(rs)
	s, err := Load(root, Options{Pages: &lying})
	if err != nil {
		t.Fatal(err)
	}
	if title := s.Page("content/s/full.md").Front.Title; title != "Imported" {
		t.Fatalf("Load parsed the page again (title %q): the test shows nothing", title)
	}
	// ... and parsed again once they change.
	var again PageCache
	again.Import(rs)
	changed := strings.Replace(readPages["content/s/full.md"], "title: Full", "title: Full\naudience: [x]", 1)
	if err := os.WriteFile(filepath.Join(root, "content/s/full.md"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = Load(root, Options{Pages: &again})
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Page("content/s/full.md"); p.Front.Title != "Full" || !reflect.DeepEqual(p.Front.Audience, []string{"x"}) {
		t.Errorf("a changed file was taken from the imported cache: %+v", p.Front)
	}
}

// A page whose time is in the local zone is not exported: Local is the
// process's, and another process may have another.
func TestReadLeavesOutLocal(t *testing.T) {
	p, _, err := parsePage("content/s/a.md", []byte("---\ntitle: A\ndate: 2024-01-01\n---\nA.\n"))
	if err != nil {
		t.Fatal(err)
	}
	cp := &cachedPage{raw: []byte("---\ntitle: A\ndate: 2024-01-01\n---\nA.\n"), page: *p}
	if toRead(cp) == nil {
		t.Fatal("a page in UTC is not exported: the test shows nothing")
	}
	cp.page.Front.Date = cp.page.Front.Date.In(time.Local)
	if r := toRead(cp); r != nil {
		t.Errorf("a page dated in the local zone was exported: %+v", r.Date)
	}
	cp.page.Front.Date = p.Front.Date
	cp.raw = []byte("another text")
	if toRead(cp) != nil {
		t.Error("a page whose body is not where Read says was exported")
	}
}

// FuzzRead: whatever a page holds, its Read, if it has one, gives it
// back as parsing it does.
func FuzzRead(f *testing.F) {
	for _, text := range readPages {
		f.Add([]byte(text))
	}
	f.Add([]byte("---\naudience: []\nslug: s-1\n---\nA.\n"))
	f.Add([]byte("+++\nembargo = 2026-12-09T17:00:00+01:00\naudience = ['x']\nslug = 'a-1'\n+++\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const rel = "content/s/f.md"
		p, warns, err := parsePage(rel, data)
		if err != nil {
			return
		}
		cp := &cachedPage{raw: data, page: *p, warns: warns}
		r := toRead(cp)
		if r == nil {
			return
		}
		back := gobRoundTrip(t, []Read{*r})
		var c PageCache
		c.Import(back)
		got, gotWarns, err := c.read(rel, data, func() (*Page, []*diag.Warning, error) {
			t.Fatal("a page with its Read imported was parsed again")
			return nil, nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, p) || !reflect.DeepEqual(gotWarns, warns) ||
			!sameTime(got.Front.Date, p.Front.Date) || !sameTime(got.Front.Embargo, p.Front.Embargo) {
			t.Fatalf("imported\n%+v\nparsed\n%+v", got, p)
		}
	})
}
