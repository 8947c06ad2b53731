package search

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/format"
)

// An index updated edit after edit is, each time, byte for byte the index
// made anew from the same documents: root, shards and documents. The
// edits are those of an author at work: a word added or taken out of a
// page, a title changed, a page added (the latest, or an older one),
// deleted or redated, and several at once; small enough that Update
// works on the postings, and now and then large enough that it starts
// anew.
func TestPublicIndexUpdate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	words := make([]string, 2000)
	for i := range words {
		words[i] = fmt.Sprintf("%c%cw%d", 'a'+r.IntN(4), 'a'+r.IntN(26), i)
	}
	// Common words, in most pages, make long postings.
	words = append(words, "the", "patch", "vendor")
	page := func(i int) *Doc {
		var text []string
		for range 20 + r.IntN(80) {
			text = append(text, words[r.IntN(len(words))])
		}
		d := &Doc{SearchDoc: format.SearchDoc{URL: fmt.Sprintf("p%04d/", i), Title: words[r.IntN(len(words))], Text: strings.Join(text, " ")},
			Sort: fmt.Sprintf("2026-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28))}
		if r.IntN(2) == 0 {
			d.Prepare() // as a page record keeps it
			d.Text = ""
		}
		return d
	}
	var docs []*Doc
	for i := range 600 {
		docs = append(docs, page(i))
	}
	next := len(docs)
	x := Kept() // as a preview server's, whose files stay made from one build to the next
	x.Update(docs)
	replaced := 0
	for step := range 300 {
		docs = slices.Clone(docs)
		edit := ""
		var old, new *Doc // a document edited in place, its address and date kept
		switch k := r.IntN(10); {
		case k < 5: // a word more or less, or another
			i := r.IntN(len(docs))
			d := *docs[i]
			d.TF, d.Length = Terms{}, 0
			d.Text = page(0).Text
			old, new, docs[i] = docs[i], &d, &d
			edit = "text of " + d.URL
		case k == 5:
			i := r.IntN(len(docs))
			d := *docs[i]
			d.Title = words[r.IntN(len(words))]
			old, new, docs[i] = docs[i], &d, &d
			edit = "title of " + d.URL
		case k == 6: // a new page, the latest
			d := page(next)
			d.Sort = "2027-01-01"
			docs = append(docs, d)
			next++
			edit = "new latest " + d.URL
		case k == 7: // a new page among the others
			d := page(next)
			docs = append(docs, d)
			next++
			edit = "new " + d.URL
		case k == 8 && r.IntN(2) == 0:
			i := r.IntN(len(docs))
			edit = "deleted " + docs[i].URL
			docs = slices.Delete(docs, i, i+1)
		case k == 8: // the latest deleted: no other document changes its number
			i := 0
			for j, d := range docs {
				if cmp.Or(strings.Compare(d.Sort, docs[i].Sort), strings.Compare(d.URL, docs[i].URL)) > 0 {
					i = j
				}
			}
			edit = "deleted the latest, " + docs[i].URL
			docs = slices.Delete(docs, i, i+1)
		default: // several pages at once, now and then many
			n := 1 + r.IntN(4)
			if r.IntN(5) == 0 {
				n = 150
			}
			for range n {
				docs[r.IntN(len(docs))] = page(r.IntN(next))
			}
			// One page an address, as a site has.
			seen := map[string]bool{}
			docs = slices.DeleteFunc(docs, func(d *Doc) bool {
				dup := seen[d.URL]
				seen[d.URL] = true
				return dup
			})
			edit = fmt.Sprintf("%d pages", n)
		}
		r.Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })
		before, files := x.Files(), indexFiles(x)
		if old != nil && r.IntN(2) == 0 {
			if x.Replace([]*Doc{new}, []*Doc{new}) {
				t.Fatalf("step %d (%s): Replace took a document for one the index does not hold", step, edit)
			}
			if !x.Replace([]*Doc{old}, []*Doc{new}) {
				t.Fatalf("step %d (%s): Replace refused a document of the same address and date", step, edit)
			}
			edit += ", replaced"
			replaced++
		} else {
			x.Update(docs)
		}
		want := Public(docs)
		if err := sameIndex(x, want); err != nil {
			t.Fatalf("step %d (%s): %v", step, edit, err)
		}
		if err := sameSince(x, before, files); err != nil {
			t.Fatalf("step %d (%s): %v", step, edit, err)
		}
	}
	if replaced < 30 {
		t.Errorf("%d documents replaced in place: too few to test Replace", replaced)
	}
}

// An index of one build holds none of its files once made: at 50,000
// pages they take 250 MB. A kept index makes each once.
func TestPublicIndexKeepsFilesOnlyIfKept(t *testing.T) {
	var docs []*Doc
	for i := range 600 {
		docs = append(docs, &Doc{SearchDoc: format.SearchDoc{URL: fmt.Sprintf("p%03d/", i), Title: fmt.Sprintf("advisory %d", i), Text: fmt.Sprintf("vendor patch a%d b%d c%d d%d", i, i, i, i)}})
	}
	kept := Kept()
	kept.Update(docs)
	for _, x := range []*PublicIndex{Public(docs), kept} {
		if len(x.Shards) < 2 {
			t.Fatalf("%d shards: too few to test", len(x.Shards))
		}
		s := x.Shards[1]
		a, b := s.Data(), s.Data()
		c, d := x.DocData(7), x.DocData(7)
		if !bytes.Equal(a, b) || !bytes.Equal(c, d) {
			t.Fatal("a file's bytes differ from one call to the next")
		}
		same := &a[0] == &b[0] && &c[0] == &d[0]
		held := s.file.data != nil || x.files[7].data != nil
		if x.keep != same || x.keep != held {
			t.Errorf("keep %v: the same bytes on each call %v, held by the index %v", x.keep, same, held)
		}
	}
}

// indexFiles returns x's files by name: "s:" and a shard's prefix, or
// "d:" and a document file's number.
func indexFiles(x *PublicIndex) map[string][]byte {
	files := map[string][]byte{}
	for _, s := range x.Shards {
		files["s:"+s.Prefix] = s.Data()
	}
	for k := range x.DocFiles() {
		files[fmt.Sprint("d:", k)], _ = x.DocFile(k)
	}
	return files
}

// sameSince says whether x.Since(before) names every file of x that is
// new or changed since x's files were old, and every file gone.
func sameSince(x *PublicIndex, before Files, old map[string][]byte) error {
	shards, gone, docs := x.Since(before)
	named := map[string]bool{}
	for _, s := range shards {
		named["s:"+s.Prefix] = true
	}
	for _, n := range docs {
		named[fmt.Sprint("d:", n)] = true
	}
	now := indexFiles(x)
	for name, data := range now {
		if prev, ok := old[name]; !named[name] && (!ok || !bytes.Equal(prev, data)) {
			return fmt.Errorf("Since leaves out %s, new or changed", name)
		}
	}
	for _, p := range gone {
		if _, ok := now["s:"+p]; ok {
			return fmt.Errorf("Since says shard %q is gone; it is there", p)
		}
	}
	for name := range old {
		if _, ok := now[name]; !ok && !slices.Contains(gone, strings.TrimPrefix(name, "s:")) &&
			!(strings.HasPrefix(name, "d:") && before.DocFiles() > x.DocFiles()) {
			return fmt.Errorf("Since leaves out %s, gone", name)
		}
	}
	if before.DocFiles() != len(old)-len(before.shards) {
		return fmt.Errorf("the files before held %d document files, not %d", before.DocFiles(), len(old)-len(before.shards))
	}
	return nil
}

// sameIndex says how x's files differ from want's.
func sameIndex(x, want *PublicIndex) error {
	if !bytes.Equal(x.Root(nil), want.Root(nil)) {
		return fmt.Errorf("root %s, want %s", x.Root(nil), want.Root(nil))
	}
	if x.Words != want.Words {
		return fmt.Errorf("%d words, want %d", x.Words, want.Words)
	}
	for i, s := range want.Shards {
		if got := x.Shards[i].Data(); !bytes.Equal(got, s.Data()) {
			return fmt.Errorf("shard %q differs:\n%s\nwant\n%s", s.Prefix, got, s.Data())
		}
	}
	for n := range want.Docs {
		if got := x.DocData(n); !bytes.Equal(got, want.DocData(n)) {
			return fmt.Errorf("document %d: %s, want %s", n, got, want.DocData(n))
		}
	}
	if x.DocFiles() != want.DocFiles() {
		return fmt.Errorf("%d document files, want %d", x.DocFiles(), want.DocFiles())
	}
	for k := range want.DocFiles() {
		got, _ := x.DocFile(k)
		if w, _ := want.DocFile(k); !bytes.Equal(got, w) {
			return fmt.Errorf("document file %d: %s, want %s", k, got, w)
		}
	}
	return nil
}
