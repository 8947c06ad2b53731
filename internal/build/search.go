package build

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"fmt"
	"html"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/leakcheck"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/par"
	"github.com/conclave-dev/conclave/internal/render"
	"github.com/conclave-dev/conclave/internal/seal"
	"github.com/conclave-dev/conclave/internal/search"
	"github.com/conclave-dev/conclave/internal/site"
)

// searchDoc returns the public search entry of a briefing once its
// restricted blocks are sealed (or shown, in a preview): the page's
// public text, under its public title. A page restricted as a whole has
// none: its text is in its audience's index alone.
func searchDoc(doc *markdown.Doc, view *render.PageView, sealed []seal.Record) *search.Doc {
	for _, r := range sealed {
		if r.Whole {
			return nil
		}
	}
	d := &search.Doc{SearchDoc: format.SearchDoc{URL: view.Rel, Title: view.Title}}
	d.Headings, d.Text = doc.SearchText(doc.Root)
	placeDoc(d, view)
	if view.TLP != nil {
		d.TLP, d.Class = view.TLP.Display, view.TLP.Class
	}
	for _, t := range view.Tags {
		d.Tags = append(d.Tags, t.Name)
	}
	return d
}

// stripTags replaces each HTML tag of s, from a '<' to the next '>', by
// repl (as the regular expression <[^>]*> would).
func stripTags(s, repl string) string {
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i+1:], '>')
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s = s[i+1+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

// placeDoc gives d the address and date of the page whose view is view.
func placeDoc(d *search.Doc, view *render.PageView) {
	d.URL = view.Rel
	if view.Date != nil {
		d.Date, d.ISO, d.Sort = view.Date.Text, view.Date.ISO, view.Time.UTC().Format("2006-01-02T15:04:05")
	}
}

// checkSearchDoc is the search index's own leak check, for a page that
// held restricted blocks, now sealed: every term of its public entry must
// be a word of what the page publishes, its body as the converter renders
// it (tags removed) and its public title and tags, which the leak scan
// checks hold no restricted text. It catches an entry that would take a
// word of a passage, which the leak scan, looking for a passage's text,
// would not find in a shard's list of words.
//
// body is the page's body as published (see render.Renderer.PageBody).
func checkSearchDoc(doc *markdown.Doc, d *search.Doc, body string) error {
	if d == nil {
		return nil
	}
	// The terms the index publishes: those of the title, tags, headings
	// and text, worked out once (see search.Doc.Prepare).
	d.Prepare()
	unseen := d.TF.Unseen()
	f := doc.Page.Front
	unseen.See(f.Title, f.Summary)
	unseen.See(f.Tags...)
	text := html.UnescapeString(body)
	// Tags removed, and replaced by a space: a word split by a tag
	// ("em<em>bargo</em>") is published both ways.
	unseen.See(stripTags(text, ""))
	if !unseen.Done() {
		unseen.See(stripTags(text, " "))
	}
	missing := !unseen.Done()
	if missing {
		return diag.Errorf(doc.Page.Path, 0, "the page's search entry holds a word its published text does not (a bug in conclave): refused, so that no restricted word reaches the public index")
	}
	return nil
}

// publicTerms returns the words of the public text, as the search index
// writes them (lowercased, cut), one a line: published on purpose in the
// index's shards. Without them, a passage whose whole text is one word
// ("Firmware" in a public page, "firmware" as a restricted page's tag)
// would be found in a shard, where the index wrote the public word. They
// come from the public markdown, not from the index: a word of a passage
// the index took by mistake is not among them.
//
// Only terms of leakcheck.MinLen bytes or more are given: the scan looks
// for no shorter fragment, and no fragment holds a newline, so a shorter
// term can hold none. (They are most of the words, and of the work.)
//
// The text is cut into runs of about equal size, gathered in parallel,
// then merged in order: each term comes once, where it is first seen.
func publicTerms(public [][]byte) []byte {
	total := 0
	for _, p := range public {
		total += len(p)
	}
	// Runs of texts of about total/n bytes each.
	n := min(2*runtime.GOMAXPROCS(0), len(public))
	var runs [][][]byte
	for start, size := 0, 0; start < len(public); {
		end := start
		for end < len(public) && (size < total/max(n, 1) || end == start) {
			size += len(public[end])
			end++
		}
		runs, start, size = append(runs, public[start:end]), end, 0
	}
	gathered := make([][]byte, len(runs))
	par.Do(len(runs), runtime.GOMAXPROCS(0), func(i int) {
		gathered[i] = search.AppendDistinct(nil, map[string]bool{}, runs[i], leakcheck.MinLen)
	})
	seen := map[string]bool{}
	var out []byte
	for _, terms := range gathered {
		for len(terms) > 0 {
			line, rest, _ := bytes.Cut(terms, []byte{'\n'})
			if !seen[string(line)] {
				seen[string(line)] = true
				out = append(append(out, line...), '\n')
			}
			terms = rest
		}
	}
	return out
}

// SearchReport says what the search index holds: its public part and
// each audience's sealed one, in words indexed and bytes published.
type SearchReport struct {
	Docs, Words int   // public documents and their words
	Bytes       int64 // the public index's files: root, shards, documents
	Sealed      []SealedReport
}

// SealedReport is an audience's sealed index: its documents (passages, and
// pages restricted as a whole), their words, and the bytes of its packets.
type SealedReport struct {
	Docs, Words int
	Bytes       int64
}

// searchIndex writes the search page, the public index of the briefings'
// public text, and, in a published build, each audience's sealed index
// (DESIGN §11). The entries come from the pages' records, made when each
// page was rendered, or from the last build for a page published again.
func (b *builder) searchIndex() error {
	if !b.render.Searching() {
		return nil
	}
	x := b.index
	if x == nil {
		x = search.Public(b.searchDocs)
	} else {
		x.Update(b.searchDocs)
	}
	var sealed []format.SealedRef
	if b.sealer != nil {
		var err error
		if sealed, err = b.sealSearch(x); err != nil {
			return err
		}
	}
	var total atomic.Int64
	emit := func(path string, data []byte, sum [sha256.Size]byte) error {
		total.Add(int64(len(data)))
		return b.emitShared(path, data, sum)
	}
	files := make([]func() error, 0, len(x.Shards)+x.DocFiles()+2)
	for _, s := range x.Shards {
		files = append(files, func() error {
			data, sum := s.File()
			return emit(format.SearchShardPath(s.Prefix), data, sum)
		})
	}
	for k := range x.DocFiles() {
		files = append(files, func() error {
			data, sum := x.DocFile(k)
			return emit(format.SearchDocPath(k), data, sum)
		})
	}
	files = append(files, func() error {
		root := x.Root(sealed)
		return emit(format.SearchIndex, root, sha256.Sum256(root))
	})
	defer func() {
		b.rep.Search.Docs, b.rep.Search.Words, b.rep.Search.Bytes = len(x.Docs), x.Words, total.Load()
	}()
	files = append(files, func() error { return b.render.SearchPage(b.emit, len(sealed) > 0) })
	workers := par.IO()
	if _, ok := b.out.(*output.Memory); ok {
		// Nothing to wait for: a file a lock, one goroutine, no contention
		// (a preview session writes the unchanged files again each build).
		workers = 1
	}
	return diag.List(par.Each(len(files), workers, func(i int) error { return files[i]() })).Err()
}

// sealSearch seals the index of each audience with restricted text, and
// returns their entries for the public root, sorted by tag. A passage's
// hits add to those of its page's public document in x.
func (b *builder) sealSearch(x *search.PublicIndex) ([]format.SealedRef, error) {
	byAud := map[string][]sealedDoc{}
	for _, d := range b.sealedDocs {
		if n, ok := x.Number(d.doc.URL); ok {
			d.doc.Page = &n
		}
		byAud[d.aud] = append(byAud[d.aud], d)
	}
	auds := slices.Sorted(maps.Keys(byAud))
	refs := make([]format.SealedRef, len(auds))
	reports := make([]SealedReport, len(auds))
	memos := make([]sealedSearch, len(auds))
	// Only a build that makes records keeps its sealed indexes' digests;
	// it read this program's digest already (siteDigest).
	var prog [sha256.Size]byte
	if b.record {
		var err error
		if prog, err = programDigest(); err != nil {
			return nil, err
		}
	}
	err := diag.List(par.Each(len(auds), par.IO(), func(i int) error {
		aud := auds[i]
		ds := byAud[aud]
		slices.SortFunc(ds, func(x, y sealedDoc) int { return cmp.Or(strings.Compare(x.page, y.page), cmp.Compare(x.rank, y.rank)) })
		docs := make([]*search.Doc, len(ds))
		for j, d := range ds {
			docs[j] = d.doc
		}
		// The index the last build sealed from the same documents, for
		// the same key, by this program, is published again as it was.
		var digest [sha256.Size]byte
		if b.record {
			digest = sealedSearchDigest(prog, aud, b.sealer.SearchTag(aud), docs)
			if m, ok := b.lastSealedSearch(aud); ok && m.Digest == digest {
				ref, size, ok, err := b.sealer.ReuseSearch(aud, m.Seal, b.emit)
				if err != nil || ok {
					refs[i], reports[i], memos[i] = ref, SealedReport{Docs: m.Docs, Words: m.Words, Bytes: size}, m
					return err
				}
			}
		}
		x := search.Sealed(docs)
		r := &reports[i]
		r.Docs, r.Words = len(x.Docs), x.Words
		sealed, err := b.sealer.SealSearch(aud, x, func(path string, data []byte) error {
			r.Bytes += int64(len(data))
			return b.emit(path, data)
		})
		refs[i] = sealed.Ref
		if b.record {
			memos[i] = sealedSearch{Digest: digest, Seal: sealed, Docs: r.Docs, Words: r.Words}
		}
		return err
	})).Err()
	b.rep.Search.Sealed = reports
	if err != nil {
		return nil, fmt.Errorf("sealing the search index: %w", err)
	}
	if b.record {
		b.records.Search = make(map[string]sealedSearch, len(auds))
		for i, aud := range auds {
			b.records.Search[aud] = memos[i]
		}
	}
	slices.SortFunc(refs, func(x, y format.SealedRef) int { return strings.Compare(x.Tag, y.Tag) })
	return refs, nil
}

// sealedSearch is what a build keeps of an audience's sealed index: the
// digest of what it was made from (sealedSearchDigest), what sealing it
// left, and its size in documents and words.
type sealedSearch struct {
	Digest      [sha256.Size]byte
	Seal        seal.SearchSeal
	Docs, Words int
}

// lastSealedSearch returns the record of aud's sealed index in the last
// build's records, if any.
func (b *builder) lastSealedSearch(aud string) (sealedSearch, bool) {
	if b.last == nil || b.last.records == nil {
		return sealedSearch{}, false
	}
	m, ok := b.last.records.Search[aud]
	return m, ok
}

// sealedSearchDigest is a digest of what the sealed index of aud is made
// from: this program, the audience and its key (by its index's tag), and
// each of its documents, in order (see search.Doc.Fingerprint).
func sealedSearchDigest(prog [sha256.Size]byte, aud, tag string, docs []*search.Doc) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte("conclave sealed search v1\x00"))
	h.Write(prog[:])
	fmt.Fprintf(h, "%d:%s%d:%s%d:", len(aud), aud, len(tag), tag, len(docs))
	for _, d := range docs {
		d.Fingerprint(h)
	}
	return [sha256.Size]byte(h.Sum(nil))
}

// sealedDoc is a restricted passage's entry in its audience's index.
type sealedDoc struct {
	aud  string // the audience's ID
	page string // its page's path, and its rank among the page's blocks: the order of the index
	rank int
	doc  *search.Doc
}

// keepSearch takes in the search entries of a page, whether rendered now
// or published again.
func (b *builder) keepSearch(p *site.Page, rec *pageRecord) {
	if !b.render.Searching() || rec.View == nil {
		return
	}
	if rec.Search != nil {
		b.searchDocs = append(b.searchDocs, rec.Search)
	}
	for i, r := range rec.Sealed {
		if r.Search == nil {
			continue
		}
		d := *r.Search
		placeDoc(&d, rec.View)
		if !r.Whole {
			d.Title = rec.View.Title
		}
		b.sealedDocs = append(b.sealedDocs, sealedDoc{aud: r.Audience.ID, page: p.Path, rank: i, doc: &d})
	}
}
