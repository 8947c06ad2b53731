package search

import (
	"bytes"
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
	x := Public(docs)
	for step := range 300 {
		docs = slices.Clone(docs)
		edit := ""
		switch k := r.IntN(10); {
		case k < 5: // a word more or less, or another
			i := r.IntN(len(docs))
			d := *docs[i]
			d.TF, d.Length = Terms{}, 0
			d.Text = page(0).Text
			docs[i] = &d
			edit = "text of " + d.URL
		case k == 5:
			i := r.IntN(len(docs))
			d := *docs[i]
			d.Title = words[r.IntN(len(words))]
			docs[i] = &d
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
		case k == 8:
			i := r.IntN(len(docs))
			edit = "deleted " + docs[i].URL
			docs = slices.Delete(docs, i, i+1)
		default: // several pages at once, now and then many
			n := 1 + r.IntN(4)
			if r.IntN(5) == 0 {
				n = 150
			}
			for range n {
				docs[r.IntN(len(docs))] = page(r.IntN(next))
			}
			docs = slices.CompactFunc(docs, func(a, b *Doc) bool { return a.URL == b.URL })
			edit = fmt.Sprintf("%d pages", n)
		}
		r.Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })
		x.Update(docs)
		want := Public(docs)
		if err := sameIndex(x, want); err != nil {
			t.Fatalf("step %d (%s): %v", step, edit, err)
		}
	}
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
	return nil
}
