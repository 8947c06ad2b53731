package search

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/conclave-dev/conclave/internal/format"
)

// PublicIndex is the public index of a site. A preview server keeps it
// from one build to the next ([Kept]), and [PublicIndex.Update]s it with
// what an edit changed.
type PublicIndex struct {
	Docs   []*Doc
	Shards []*Shard
	Words  int // the words indexed, of every document (titles, tags and headings included)

	post   postings       // the terms' postings, encoded
	table  termTable      // their terms, in order, and sizes
	number map[string]int // the documents' numbers, by address
	files  []*cachedFile  // the documents' files, by number
	// keep: the files' bytes are kept once made, for the next build.
	keep bool
}

// Public indexes docs, the public text of the pages, for one build: it
// numbers them by date then address (a new briefing, the latest, takes
// the next number, and the others keep theirs), and splits the terms in
// shards of about [ShardSize] bytes. Its files are made when asked for
// and not kept: at 50,000 pages they take 250 MB.
func Public(docs []*Doc) *PublicIndex {
	x := &PublicIndex{}
	x.Update(docs)
	return x
}

// Kept returns an empty index that keeps its files' bytes once made, for
// a preview server that updates it build after build: a shard or
// document that did not change gives the same bytes without being made
// again.
func Kept() *PublicIndex { return &PublicIndex{keep: true} }

// Update makes x the index of docs, byte for byte the index Public(docs)
// would make, working out again only what changed since x was made: the
// postings of the terms of the documents that changed or took another
// number, and the shards that hold them. In an index that keeps its files
// ([Kept]), a shard or document that did not change keeps its file
// ([Shard.File], [PublicIndex.DocFile]), so an edit of one page costs
// about its own terms, not the site's.
func (x *PublicIndex) Update(docs []*Doc) {
	sorted, ok := x.renumber(docs)
	if !ok {
		sorted = slices.Clone(docs)
		slices.SortStableFunc(sorted, func(a, b *Doc) int {
			return cmp.Or(strings.Compare(a.Sort, b.Sort), strings.Compare(a.URL, b.URL))
		})
	}
	var changed []int
	for n := range max(len(sorted), len(x.Docs)) {
		if n >= len(sorted) || n >= len(x.Docs) || !sameDoc(x.Docs[n], sorted[n]) {
			changed = append(changed, n)
		}
	}
	x.apply(sorted, changed, ok)
}

// Replace makes x the index with each of docs in place of the document of
// was at the same index, if each has the same address and date as it
// replaces (the same number), as [PublicIndex.Update] with every document
// would, in time that does not grow with the documents' number. It
// reports false, and changes nothing, if one of was is not a document of
// x or moves, or if x is new: then the caller updates it.
func (x *PublicIndex) Replace(was, docs []*Doc) bool {
	if x.post == nil || len(was) != len(docs) {
		return false
	}
	sorted := slices.Clone(x.Docs)
	var changed []int
	for i, d := range docs {
		old := was[i]
		n, ok := x.number[old.URL]
		if !ok || sorted[n] != old || x.Docs[n] != old || d.URL != old.URL || d.Sort != old.Sort {
			return false // not x's, moved, or named twice
		}
		sorted[n] = d
		if !sameDoc(old, d) {
			changed = append(changed, n)
		}
	}
	slices.Sort(changed)
	x.apply(sorted, changed, true)
	return true
}

// apply makes x the index of sorted, numbered in that order, of which the
// documents numbered changed (sorted) changed; numbered says every
// document kept its number.
func (x *PublicIndex) apply(sorted []*Doc, changed []int, numbered bool) {
	// Anew, when there is no index yet or much has changed: that is
	// cheaper than an edit to every posting list.
	if x.post == nil || len(changed) > len(sorted)/8+16 {
		x.rebuild(sorted)
		return
	}
	if len(changed) == 0 {
		x.Docs = sorted
		return
	}
	edits, words := x.edits(sorted, changed)
	x.Words += words
	dirty := slices.Sorted(maps.Keys(edits))
	for _, t := range dirty {
		merged := applyEdits(x.post[t], edits[t])
		switch {
		case len(merged) == 0:
			delete(x.post, t)
		default:
			x.post[t] = merged
		}
	}
	x.table.update(x.post, dirty)
	x.Docs = sorted
	if !numbered {
		x.numberDocs()
	}
	x.files = slices.Grow(x.files[:min(len(x.files), len(sorted))], len(sorted))[:len(sorted)]
	for _, n := range changed {
		if n < len(sorted) {
			x.files[n] = &cachedFile{keep: x.keep}
		}
	}
	x.reshard(dirty)
}

// rebuild indexes sorted, numbered in that order, anew.
func (x *PublicIndex) rebuild(sorted []*Doc) {
	x.Docs = sorted
	x.post, x.Words = index(sorted)
	x.table = newTermTable(x.post)
	x.numberDocs()
	x.files = make([]*cachedFile, len(sorted))
	for n := range x.files {
		x.files[n] = &cachedFile{keep: x.keep}
	}
	x.Shards = nil
	x.reshard(nil)
}

func (x *PublicIndex) numberDocs() {
	x.number = make(map[string]int, len(x.Docs))
	for n, d := range x.Docs {
		x.number[d.URL] = n
	}
}

// renumber returns docs in the order of x's documents, if they are the
// same documents by address and date: then every document keeps its
// number, and the order needs no sort.
func (x *PublicIndex) renumber(docs []*Doc) ([]*Doc, bool) {
	if x.number == nil || len(docs) != len(x.Docs) {
		return nil, false
	}
	out := make([]*Doc, len(docs))
	for _, d := range docs {
		n, ok := x.number[d.URL]
		if !ok || out[n] != nil || x.Docs[n].Sort != d.Sort {
			return nil, false
		}
		out[n] = d
	}
	return out, true
}

// sameDoc says whether documents a and b give an index the same file and
// the same postings.
func sameDoc(a, b *Doc) bool {
	if a == b {
		return true
	}
	sa, sb := a.SearchDoc, b.SearchDoc
	sa.Text, sb.Text = "", ""
	if sa != sb || a.Sort != b.Sort {
		return false
	}
	ta, la := a.terms()
	tb, lb := b.terms()
	return la == lb && ta.Equal(tb)
}

// posting is a document's weight in a term's postings; weight 0, in an
// edit, takes the document out.
type posting struct {
	doc    int
	weight byte
}

// edits returns, for each term whose postings change, the postings of
// the changed documents (by number, in order), and the change in words.
func (x *PublicIndex) edits(sorted []*Doc, changed []int) (map[string][]posting, int) {
	edits := map[string][]posting{}
	words := 0
	weights := func(docs []*Doc, n int) (map[string]byte, int) {
		if n >= len(docs) {
			return nil, 0
		}
		tf, length := docs[n].terms()
		step := lengthStep(length)
		w := make(map[string]byte, tf.Len())
		tf.Each(func(t string, f int) { w[t] = weightAt(f, step) })
		return w, length
	}
	for _, n := range changed {
		before, was := weights(x.Docs, n)
		after, is := weights(sorted, n)
		words += is - was
		for t, w := range after {
			if before[t] != w {
				edits[t] = append(edits[t], posting{n, w})
			}
		}
		for t := range before {
			if _, ok := after[t]; !ok {
				edits[t] = append(edits[t], posting{n, 0})
			}
		}
	}
	return edits, words
}

// applyEdits returns the encoded postings b with edits (by document, in
// order) made.
func applyEdits(b []byte, edits []posting) []byte {
	var out []byte
	last := -1
	put := func(p posting) {
		if p.weight == 0 {
			return
		}
		out = binary.AppendUvarint(out, uint64(p.doc-last))
		out = append(out, p.weight)
		last = p.doc
	}
	doc := -1
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		doc += int(d)
		p := posting{doc, b[n]}
		b = b[n+1:]
		for len(edits) > 0 && edits[0].doc < p.doc {
			put(edits[0])
			edits = edits[1:]
		}
		if len(edits) > 0 && edits[0].doc == p.doc {
			p = edits[0]
			edits = edits[1:]
		}
		put(p)
	}
	for _, e := range edits {
		put(e)
	}
	return out
}

// update brings the table in line with p after the postings of dirty
// (sorted) changed: a term may have come or gone, or weigh more or less.
func (tt *termTable) update(p postings, dirty []string) {
	terms := make([]string, 0, len(tt.terms)+len(dirty))
	sizes := make([]int, 0, cap(terms))
	i := 0
	for _, t := range dirty {
		for i < len(tt.terms) && tt.terms[i] < t {
			terms, sizes = append(terms, tt.terms[i]), append(sizes, tt.sizes[i])
			i++
		}
		if i < len(tt.terms) && tt.terms[i] == t {
			i++
		}
		if b, ok := p[t]; ok {
			terms, sizes = append(terms, t), append(sizes, entrySize(t, b))
		}
	}
	terms, sizes = append(terms, tt.terms[i:]...), append(sizes, tt.sizes[i:]...)
	tt.terms, tt.sizes = terms, sizes
	tt.sum()
}

// reshard splits the table into shards again, keeping each shard whose
// terms are the same and none of them dirty.
func (x *PublicIndex) reshard(dirty []string) {
	specs := x.table.split(ShardSize)
	byPrefix := make(map[string]int, len(specs))
	for i, s := range specs {
		byPrefix[s.prefix] = i
	}
	// A term is in the shard of its longest prefix that has one.
	touched := make([]bool, len(specs))
	for _, t := range dirty {
		for k := len(t); ; {
			if i, ok := byPrefix[t[:k]]; ok {
				touched[i] = true
				break
			}
			if k == 0 {
				break
			}
			_, n := utf8.DecodeLastRuneInString(t[:k])
			k -= n
		}
	}
	last := make(map[string]*Shard, len(x.Shards))
	for _, s := range x.Shards {
		last[s.Prefix] = s
	}
	shards := make([]*Shard, len(specs))
	for i, s := range specs {
		if old := last[s.prefix]; old != nil && !touched[i] && x.table.holds(s, old.terms) {
			shards[i] = old
			continue
		}
		shards[i] = newShard(s.prefix, x.table.shardTerms(s), x.post, x.keep)
	}
	x.Shards = shards
}

// Files are the files of an index as they were at one time, for
// [PublicIndex.Since].
type Files struct {
	shards map[string]*Shard // by prefix
	docs   []*cachedFile
}

// Files returns x's files as they are now.
func (x *PublicIndex) Files() Files {
	f := Files{shards: make(map[string]*Shard, len(x.Shards)), docs: slices.Clone(x.files)}
	for _, s := range x.Shards {
		f.shards[s.Prefix] = s
	}
	return f
}

// Since returns how x's files differ from f, files x had before an
// [PublicIndex.Update]: the shards whose file is new or changed, the
// prefixes of the shards gone, and the numbers of the document files
// (see [PublicIndex.DocFile]) that are new or changed. The document
// files gone are those numbered from x.DocFiles() up to f.DocFiles().
func (x *PublicIndex) Since(f Files) (shards []*Shard, gone []string, docFiles []int) {
	kept := make(map[string]bool, len(x.Shards))
	for _, s := range x.Shards {
		kept[s.Prefix] = true
		if f.shards[s.Prefix] != s {
			shards = append(shards, s)
		}
	}
	for prefix := range f.shards {
		if !kept[prefix] {
			gone = append(gone, prefix)
		}
	}
	slices.Sort(gone)
	for n, c := range x.files {
		if n >= len(f.docs) || f.docs[n] != c {
			if k := n / format.SearchDocsPerFile; len(docFiles) == 0 || docFiles[len(docFiles)-1] != k {
				docFiles = append(docFiles, k)
			}
		}
	}
	// A last file that lost documents, and none of those it keeps.
	if last := len(x.files) / format.SearchDocsPerFile; len(x.files) < len(f.docs) && len(x.files)%format.SearchDocsPerFile != 0 &&
		(len(docFiles) == 0 || docFiles[len(docFiles)-1] != last) {
		docFiles = append(docFiles, last)
	}
	return shards, gone, docFiles
}

// DocFiles returns the number of document files f held.
func (f Files) DocFiles() int { return docFiles(len(f.docs)) }

// docFiles returns the number of files that n documents take.
func docFiles(n int) int { return (n + format.SearchDocsPerFile - 1) / format.SearchDocsPerFile }

// Number returns the number of the document at url.
func (x *PublicIndex) Number(url string) (int, bool) {
	n, ok := x.number[url]
	return n, ok
}

// Root returns the JSON of the index's root, listing sealed.
func (x *PublicIndex) Root(sealed []format.SealedRef) []byte {
	r := format.SearchRoot{Version: format.SearchVersion, Docs: len(x.Docs), Shards: make([]string, len(x.Shards)), Sealed: sealed}
	if r.Sealed == nil {
		r.Sealed = []format.SealedRef{}
	}
	for i, s := range x.Shards {
		r.Shards[i] = hex.EncodeToString([]byte(s.Prefix))
	}
	return marshal(r)
}

// DocData returns the JSON of document n: its address, title, date and
// label, without its text. A reader takes a snippet from the page itself:
// the index publishes no text in a form of its own (the leak scan looks
// for passages in the forms pages publish).
func (x *PublicIndex) DocData(n int) []byte {
	data, _ := x.files[n].get(func() []byte {
		d := x.Docs[n].SearchDoc
		d.Text = ""
		return marshal(d)
	})
	return data
}

// DocFiles returns the number of document files: [format.SearchDocsPerFile]
// documents a file, the last perhaps fewer.
func (x *PublicIndex) DocFiles() int { return docFiles(len(x.Docs)) }

// DocFile returns the JSON of document file k, a JSON array of the
// documents numbered from k×[format.SearchDocsPerFile] on (see DocData),
// and its SHA-256 digest. Calls for different files may run at once.
func (x *PublicIndex) DocFile(k int) ([]byte, [sha256.Size]byte) {
	from := k * format.SearchDocsPerFile
	to := min(from+format.SearchDocsPerFile, len(x.Docs))
	parts := make([][]byte, 0, to-from)
	size := 2 + to - from
	for n := from; n < to; n++ {
		d := bytes.TrimSuffix(x.DocData(n), []byte("\n"))
		parts = append(parts, d)
		size += len(d)
	}
	data := make([]byte, 0, size)
	data = append(data, '[')
	for i, d := range parts {
		if i > 0 {
			data = append(data, ',')
		}
		data = append(data, d...)
	}
	data = append(data, "]\n"...)
	return data, sha256.Sum256(data)
}
