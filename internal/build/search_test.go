package build

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/leakcheck"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/search"
	"github.com/conclave-dev/conclave/internal/site"
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
		want := search.AppendDistinct(nil, map[string]bool{}, texts, leakcheck.MinLen)
		if got := publicTerms(texts); !bytes.Equal(got, want) {
			t.Errorf("%d texts: publicTerms =\n%q\nwant\n%q", n, got, want)
		}
	}
}

// checkSearchDoc refuses a public entry holding a word the page does not
// publish, wherever in the entry it is, and accepts the words of the
// body (split by a tag or not), title, summary and tags.
func TestCheckSearchDoc(t *testing.T) {
	conv, err := markdown.New(markdown.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := &site.Page{Path: "content/b/x.md", Body: []byte("Public em*bargo* text &amp; `code`.\n\n## A heading\n"),
		Front: site.Front{Title: "Title word", Summary: "Summary word", Tags: []string{"tagword"}}}
	doc := conv.Parse(p, nil)
	var body bytes.Buffer
	if err := conv.Render(&body, doc); err != nil {
		t.Fatal(err)
	}
	good := search.Doc{SearchDoc: format.SearchDoc{Title: "Title word", Text: "Public embargo em bargo text code summary word"},
		Tags: []string{"tagword"}, Headings: []string{"A heading"}}
	if err := checkSearchDoc(doc, &good, body.String()); err != nil {
		t.Errorf("a good entry: %v", err)
	}
	for name, edit := range map[string]func(d *search.Doc){
		"text":                              func(d *search.Doc) { d.Text += " zebrasecret" },
		"title":                             func(d *search.Doc) { d.Title = "zebrasecret" },
		"tag":                               func(d *search.Doc) { d.Tags = append(d.Tags, "zebrasecret") },
		"heading":                           func(d *search.Doc) { d.Headings = append(d.Headings, "Zebrasecret plan") },
		"a word inside a tag's markup only": func(d *search.Doc) { d.Text += " em" + "x" },
	} {
		d := good
		d.Tags, d.Headings, d.TF = slices.Clone(good.Tags), slices.Clone(good.Headings), search.Terms{}
		edit(&d)
		if err := checkSearchDoc(doc, &d, body.String()); err == nil || !strings.Contains(err.Error(), "a bug in conclave") {
			t.Errorf("%s: %v, want the entry refused", name, err)
		}
	}
	if checkSearchDoc(doc, nil, body.String()) != nil {
		t.Error("no entry (a page restricted as a whole) was refused")
	}
}

// stripTags removes what the regular expression <[^>]*> matches.
func TestStripTags(t *testing.T) {
	re := regexp.MustCompile(`<[^>]*>`)
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte("ab <>\n&;")
	for range 2000 {
		b := make([]byte, r.IntN(30))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		for _, repl := range []string{"", " "} {
			if got, want := stripTags(string(b), repl), re.ReplaceAllString(string(b), repl); got != want {
				t.Fatalf("stripTags(%q, %q) = %q, want %q", b, repl, got, want)
			}
		}
	}
}

// A word that a passage holds whole, as a restricted page's tag, and that
// public text holds too ("Firmware" in a page, "firmware" as the tag) is
// in the search index's shards because of the public page: no leak. The
// word is 8 bytes, the shortest fragment the scan looks for, which
// publicTerms must still give.
func TestPublicWordAsPassage(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	testtool.WriteSite(t, dir, map[string]string{
		"conclave.toml":     "title = \"T\"\nbaseURL = \"https://example.org/\"\n",
		"keys/alice.pub":    id.Recipient().String() + "\n",
		"content/pub.md":    "---\ntitle: Notes\ndate: 2026-10-01\n---\n\nFirmware updates are out.\n",
		"content/secret.md": "---\ntitle: Sealed\ndate: 2026-10-02\naudience: [alice]\nslug: r-x\ntags: [firmware]\n---\n\nThe body.\n",
	})
	out := filepath.Join(t.TempDir(), "public")
	rep, err := Run(Options{Source: dir, Out: out, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Search.Words == 0 {
		t.Fatal("no public search index: the test proves nothing")
	}
	found := false
	err = filepath.WalkDir(filepath.Join(out, "search"), func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			data, err := os.ReadFile(p)
			found = found || err == nil && bytes.Contains(data, []byte(`"firmware"`))
			return err
		}
		return err
	})
	if err != nil || !found {
		t.Fatalf("no shard holds the public word firmware (%v): the test proves nothing", err)
	}
}
