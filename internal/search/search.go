// Package search builds a site's search indexes (DESIGN §11): the public
// index, from the public text of the pages, split in shards by term
// prefix that the browser loads as a query needs them; and one index per
// audience, from its restricted passages, that the seal stage encrypts to
// the audience's key. The files' layout is internal/format's (search.go);
// the browser's side is themes/unlock/src/search.js.
//
// Weights are computed here, once: a posting carries the BM25 tf part of
// its term in its document, so that the reader only sums, weighing each
// term by an idf it works out from the number of postings. Nothing in
// an index depends on text outside its own documents: the public index's
// counts are the public text's alone.
package search

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/conclave-dev/conclave/internal/format"
)

// Doc is what a page, or a restricted passage, gives an index.
type Doc struct {
	format.SearchDoc
	// Tags and Headings weigh more than the body; the title too.
	Tags     []string
	Headings []string
	// Date orders the public documents (see [Public]); "" for none.
	Sort string
	// TF is the weighted frequency of each term of the document, and
	// Length its length in words, once worked out ([Doc.Prepare]); then
	// the text may go (a public document's does: snippets come from its
	// page).
	TF     Terms `json:",omitzero"`
	Length int   `json:",omitempty"`
}

// MaxText is the most bytes of a document's text an index keeps for
// snippets.
const MaxText = 8 << 10

// Field weights: a word of the title counts as four of the body.
const (
	titleWeight   = 4
	tagWeight     = 3
	headingWeight = 2
)

// Tokens calls fn with each term of s, in order ([format] search.go):
// runs of letters, marks and numbers, lowercased, of 2 characters or
// more, cut to [format.SearchMaxTerm] characters.
func Tokens(s string, fn func(term string)) {
	scanTerms(s, nil, func(t []byte) { fn(string(t)) })
}

// AppendDistinct appends to dst each term of texts (see [Tokens]) of at
// least min bytes not in seen, followed by a newline, and adds it to
// seen. Only a term new to seen is copied: a site's public text holds a
// few thousand distinct terms in a million.
func AppendDistinct(dst []byte, seen map[string]bool, texts [][]byte, min int) []byte {
	addNew(seen, texts, min, func(term []byte) { dst = append(append(dst, term...), '\n') })
	return dst
}

// AddTerms adds each term of texts (see [Tokens]) to set, copying only
// the terms new to it.
func AddTerms[S ~string | ~[]byte](set map[string]bool, texts ...S) {
	addNew(set, texts, 0, nil)
}

// addNew adds each term of texts of at least min bytes to set, and calls
// fn, if not nil, with each term new to it.
func addNew[S ~string | ~[]byte](set map[string]bool, texts []S, min int, fn func(term []byte)) {
	var buf []byte
	for _, t := range texts {
		buf = scanTerms(t, buf, func(term []byte) {
			if len(term) >= min && !set[string(term)] {
				set[string(term)] = true
				if fn != nil {
					fn(term)
				}
			}
		})
	}
}

// scanTerms is Tokens giving each term in buf, which it returns, grown:
// valid until fn returns. ASCII, most of the text, takes a path of its
// own; the rest goes by the unicode tables.
func scanTerms[S ~string | ~[]byte](s S, buf []byte, fn func(term []byte)) []byte {
	buf = buf[:0]
	n := 0 // characters of the term, cut or not
	flush := func() {
		if n >= 2 {
			fn(buf)
		}
		buf = buf[:0]
		n = 0
	}
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			i++
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
				if n < format.SearchMaxTerm {
					buf = append(buf, c)
				}
				n++
			} else {
				flush()
			}
			continue
		}
		r, size := decodeRune(s[i:])
		i += size
		if unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r) {
			if n < format.SearchMaxTerm {
				buf = utf8.AppendRune(buf, unicode.ToLower(r))
			}
			n++
		} else {
			flush()
		}
	}
	flush()
	return buf
}

// decodeRune is utf8.DecodeRune for a string or bytes, without a copy of
// more than the rune.
func decodeRune[S ~string | ~[]byte](s S) (rune, int) {
	var b [utf8.UTFMax]byte
	return utf8.DecodeRune(b[:copy(b[:], s)])
}

// Prepare works out d's terms (TF and Length) once, from its title,
// tags, headings and text: a page published again from the last build
// brings them, and is not read again.
func (d *Doc) Prepare() {
	if d.TF.IsZero() {
		d.TF, d.Length = d.count()
	}
}

// terms returns the terms of d, and d's length in words: those Prepare
// worked out, or counted now.
func (d *Doc) terms() (Terms, int) {
	if !d.TF.IsZero() {
		return d.TF, d.Length
	}
	return d.count()
}

func (d *Doc) count() (Terms, int) {
	c := counters.Get().(*counter)
	defer c.release()
	c.add(d.Title, titleWeight)
	for _, t := range d.Tags {
		c.add(t, tagWeight)
	}
	for _, h := range d.Headings {
		c.add(h, headingWeight)
	}
	c.add(d.Text, 1)
	return c.terms(), c.length
}

// counter counts a document's terms, in order of first use, by their
// numbers in the dictionary (see [intern]): a term the dictionary knows
// costs one lookup there and no copy; only a term new to the process is
// copied, once.
type counter struct {
	ids    []uint32 // the terms' numbers, in order of first use; fresh ones are placeholders
	freqs  []int    // their weighted frequencies
	length int
	buf    []byte
	seen   slots // the places in ids of the numbered terms
	// fresh are the terms the dictionary did not hold, by place in ids.
	fresh      map[string]int
	freshWords []byte // fresh terms, each followed by a space
	freshAt    []int  // their places in ids
	packed     []byte // the numbers and frequencies, as terms() packs them
}

// counters keeps counters between documents, their tables and buffers
// grown: most pages have a few hundred distinct terms.
var counters = sync.Pool{New: func() any { return &counter{seen: slots{epoch: 1}} }}

// release empties c and gives it back to counters, unless a large
// document grew its map of new terms beyond what clearing it for every
// small one would be worth.
func (c *counter) release() {
	if len(c.fresh) > 8192 {
		return
	}
	clear(c.fresh)
	c.ids, c.freqs, c.length = c.ids[:0], c.freqs[:0], 0
	c.freshWords, c.freshAt = c.freshWords[:0], c.freshAt[:0]
	c.seen.reset()
	counters.Put(c)
}

func (c *counter) add(s string, w int) {
	if c.fresh == nil {
		c.fresh = map[string]int{}
	}
	dict.RLock()
	defer dict.RUnlock()
	c.seen.fit(len(dict.terms))
	known := dict.ids
	c.buf = scanTerms(s, c.buf, func(t []byte) {
		c.length++
		if id, ok := known[string(t)]; ok {
			if i, ok := c.seen.get(id); ok {
				c.freqs[i] += w
				return
			}
			// Another document may have numbered a term this one
			// met first as new, in an earlier field.
			if len(c.fresh) > 0 {
				if i, ok := c.fresh[string(t)]; ok {
					c.seen.set(id, int32(i))
					c.freqs[i] += w
					return
				}
			}
			c.seen.set(id, int32(len(c.ids)))
			c.ids, c.freqs = append(c.ids, id), append(c.freqs, w)
			return
		}
		if i, ok := c.fresh[string(t)]; ok {
			c.freqs[i] += w
			return
		}
		c.fresh[string(t)] = len(c.ids)
		c.freshWords = append(append(c.freshWords, t...), ' ')
		c.freshAt = append(c.freshAt, len(c.ids))
		c.ids, c.freqs = append(c.ids, 0), append(c.freqs, w)
	})
}

func (c *counter) terms() Terms {
	if len(c.freshAt) > 0 {
		fresh := intern(nil, c.freshWords)
		for _, at := range c.freshAt {
			id, n := binary.Uvarint(fresh)
			c.ids[at], fresh = uint32(id), fresh[n:]
		}
	}
	b := c.packed[:0]
	for _, id := range c.ids {
		b = binary.AppendUvarint(b, uint64(id))
	}
	n := len(b)
	for _, f := range c.freqs {
		b = binary.AppendUvarint(b, uint64(f))
	}
	c.packed = b
	return newTerms(b[:n], b[n:])
}

// weight is the tf part of BM25 of a term of weighted frequency f in a
// document of length words, scaled to 1–255. The length counts by steps
// of about 9% (eight a doubling, [lengthStep]), so that an edit that
// changes a page's length a little changes the weights of the words it
// touched, not of every word of the page: a deploy uploads the shards of
// those words only.
func weight(f, length int) byte { return weightAt(f, lengthStep(length)) }

// weightAt is weight for a length already in steps.
func weightAt(f int, step float64) byte {
	k1, b := float64(format.SearchK1)/100, float64(format.SearchB)/100
	tf := float64(f)
	w := tf * (k1 + 1) / (tf + k1*(1-b+b*step/format.SearchRefLength))
	return byte(min(max(math.Round(w/(k1+1)*255), 1), 255))
}

// lengthStep is length rounded to the nearest of the steps 2^(k/8).
func lengthStep(length int) float64 {
	if length < 1 {
		return 1
	}
	return math.Exp2(math.Round(math.Log2(float64(length))*8) / 8)
}

// postings maps each term to its postings, encoded (format.SearchShard).
type postings map[string][]byte

// index adds the terms of docs, numbered from 0 in order, to a new set of
// postings, and returns their number of words. A term's list is found by
// its number; the postings are keyed by the dictionary's own strings.
//
// It reads the documents' terms twice: once to size each term's list,
// once to write them all into one allocation of the size they take. At
// 50,000 pages, lists grown by appending held twice their 40 MB.
func index(docs []*Doc) (postings, int) {
	type list struct {
		last int // the last document written
		end  int // the list's size, then where the next posting goes
		id   uint32
	}
	tfs := make([]Terms, len(docs))
	steps := make([]float64, len(docs))
	words := 0
	for i, d := range docs {
		tf, length := d.terms()
		tfs[i], steps[i] = tf, lengthStep(length)
		words += length
	}
	// Every term is numbered now: the slots hold every number.
	slots := getSlots()
	defer slots.release()
	var lists []list
	for i, tf := range tfs {
		tf.each(func(id uint32, _ int) {
			k, ok := slots.get(id)
			if !ok {
				k = int32(len(lists))
				slots.set(id, k)
				lists = append(lists, list{last: -1, id: id})
			}
			l := &lists[k]
			l.end += uvarintLen(uint64(i-l.last)) + 1
			l.last = i
		})
	}
	total := 0
	for k := range lists {
		size := lists[k].end
		lists[k].end, lists[k].last = total, -1
		total += size
	}
	all := make([]byte, total)
	for i, tf := range tfs {
		tf.each(func(id uint32, f int) {
			k, _ := slots.get(id)
			l := &lists[k]
			l.end += binary.PutUvarint(all[l.end:], uint64(i-l.last))
			all[l.end] = weightAt(f, steps[i])
			l.end++
			l.last = i
		})
	}
	terms := dictTerms()
	p := make(postings, len(lists))
	start := 0
	for _, l := range lists {
		p[terms[l.id]] = all[start:l.end:l.end]
		start = l.end
	}
	return p, words
}

// slots maps term numbers to places, for one document or one index at
// a time, by arrays as long as the dictionary: without a map's hashing,
// and without clearing them between uses (a place holds if its stamp is
// the current epoch).
type slots struct {
	slot  []int32
	stamp []uint32
	epoch uint32
}

var slotPool = sync.Pool{New: func() any { return new(slots) }}

// getSlots returns empty slots for every number the dictionary has given.
func getSlots() *slots {
	s := slotPool.Get().(*slots)
	s.reset()
	s.fit(len(dictTerms()))
	return s
}

// reset empties s.
func (s *slots) reset() {
	if s.epoch++; s.epoch == 0 { // after 2^32 uses
		clear(s.stamp)
		s.epoch = 1
	}
}

// fit makes room for numbers below n.
func (s *slots) fit(n int) {
	if len(s.slot) < n {
		n += n / 4
		s.slot = slices.Grow(s.slot, n-len(s.slot))[:n]
		s.stamp = slices.Grow(s.stamp, n-len(s.stamp))[:n]
	}
}

func (s *slots) get(id uint32) (int32, bool) {
	if s.stamp[id] != s.epoch {
		return 0, false
	}
	return s.slot[id], true
}

func (s *slots) set(id uint32, k int32) { s.stamp[id], s.slot[id] = s.epoch, k }

func (s *slots) release() { slotPool.Put(s) }

// uvarintLen is the size of v as a uvarint.
func uvarintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

// cut returns s cut to at most n bytes, at a rune's start.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Shard is a set of terms under one prefix.
type Shard struct {
	Prefix string
	terms  []string // its terms, in byte order
	// lists are their postings, encoded: slices of the index's, which
	// are replaced, never changed, when a term's postings change. No
	// base64 is held but while the shard's file is made.
	lists [][]byte
	file  cachedFile
}

// Terms returns the shard's terms with their postings in base64.
func (s *Shard) Terms() map[string]string {
	m := make(map[string]string, len(s.terms))
	for i, t := range s.terms {
		m[t] = base64.StdEncoding.EncodeToString(s.lists[i])
	}
	return m
}

// cachedFile is a file of an index. If kept, it is encoded once, when
// first asked for: an index kept from one build to the next gives the
// same bytes again for a shard or document that did not change. If not,
// it is encoded on each call, and its bytes are the caller's: an index
// of one build does not hold every file it wrote until the last.
type cachedFile struct {
	keep bool
	once sync.Once
	data []byte
	sum  [sha256.Size]byte
}

func (f *cachedFile) get(encode func() []byte) ([]byte, [sha256.Size]byte) {
	if !f.keep {
		data := encode()
		return data, sha256.Sum256(data)
	}
	f.once.Do(func() {
		f.data = encode()
		f.sum = sha256.Sum256(f.data)
	})
	return f.data, f.sum
}

// Data returns the shard's JSON.
func (s *Shard) Data() []byte {
	data, _ := s.File()
	return data
}

// File returns the shard's JSON and its SHA-256 digest. The bytes are
// shared: the caller must not change them.
func (s *Shard) File() ([]byte, [sha256.Size]byte) {
	return s.file.get(func() []byte {
		b, err := json.Marshal(format.SearchShard{Version: format.SearchVersion, Prefix: hex.EncodeToString([]byte(s.Prefix)), Terms: s.Terms()})
		if err != nil {
			panic(err) // strings only
		}
		return append(b, '\n')
	})
}

// newShard returns the shard of terms, sorted, under prefix.
func newShard(prefix string, terms []string, p postings, keep bool) *Shard {
	s := &Shard{Prefix: prefix, terms: terms, lists: make([][]byte, len(terms)), file: cachedFile{keep: keep}}
	for i, t := range terms {
		s.lists[i] = p[t]
	}
	return s
}

// termTable is the terms of a set of postings in byte order, with the
// bytes each takes in a shard's JSON, and their running sums: what the
// split into shards reads.
type termTable struct {
	terms []string
	sizes []int
	sums  []int // sums[i] is the size of terms[:i]
}

// entrySize is the bytes term t, of postings b, takes in a shard's JSON.
func entrySize(t string, b []byte) int { return len(t) + base64.StdEncoding.EncodedLen(len(b)) + 6 }

func newTermTable(p postings) termTable {
	tt := termTable{terms: slices.Sorted(maps.Keys(p))}
	tt.sizes = make([]int, len(tt.terms))
	for i, t := range tt.terms {
		tt.sizes[i] = entrySize(t, p[t])
	}
	tt.sum()
	return tt
}

func (tt *termTable) sum() {
	tt.sums = slices.Grow(tt.sums[:0], len(tt.terms)+1)[:len(tt.terms)+1]
	tt.sums[0] = 0
	for i, n := range tt.sizes {
		tt.sums[i+1] = tt.sums[i] + n
	}
}

// shardSpec is a shard as split: its prefix, and the runs of the term
// table it holds, in order.
type shardSpec struct {
	prefix string
	runs   [][2]int
}

// terms returns the terms of the shard s, in byte order.
func (tt *termTable) shardTerms(s shardSpec) []string {
	n := 0
	for _, r := range s.runs {
		n += r[1] - r[0]
	}
	out := make([]string, 0, n)
	for _, r := range s.runs {
		out = append(out, tt.terms[r[0]:r[1]]...)
	}
	return out
}

// holds says whether the shard s holds exactly terms.
func (tt *termTable) holds(s shardSpec, terms []string) bool {
	for _, r := range s.runs {
		if len(terms) < r[1]-r[0] || !slices.Equal(tt.terms[r[0]:r[1]], terms[:r[1]-r[0]]) {
			return false
		}
		terms = terms[r[1]-r[0]:]
	}
	return len(terms) == 0
}

// split splits the table into shards of about target bytes: a prefix
// whose terms weigh more than target gives its heaviest next characters
// shards of their own, until what is left fits (a single term weighs
// what it weighs). The shards are in order of prefix. It reads the
// running sums, and finds each next character's run by binary search:
// its cost grows with the shards, not with the terms.
func (tt *termTable) split(target int) []shardSpec {
	type group struct {
		next   string
		lo, hi int
	}
	var out []shardSpec
	var split func(prefix string, lo, hi int)
	split = func(prefix string, lo, hi int) {
		total := tt.sums[hi] - tt.sums[lo]
		var keep [][2]int
		i := lo
		if i < hi && len(tt.terms[i]) == len(prefix) { // the term equal to prefix stays
			keep = append(keep, [2]int{i, i + 1})
			i++
		}
		// Group by the next character: each group is a run of the table.
		var groups []group
		for i < hi {
			t := tt.terms[i]
			_, n := utf8.DecodeRuneInString(t[len(prefix):])
			next := t[:len(prefix)+n]
			j := i + 1 + sort.Search(hi-i-1, func(k int) bool { return !strings.HasPrefix(tt.terms[i+1+k], next) })
			groups = append(groups, group{next, i, j})
			i = j
		}
		size := func(g group) int { return tt.sums[g.hi] - tt.sums[g.lo] }
		slices.SortStableFunc(groups, func(a, b group) int { return cmp.Compare(size(b), size(a)) })
		for _, g := range groups {
			if total <= target {
				keep = append(keep, [2]int{g.lo, g.hi})
				continue
			}
			split(g.next, g.lo, g.hi)
			total -= size(g)
		}
		if len(keep) == 0 && prefix != "" {
			return
		}
		slices.SortFunc(keep, func(a, b [2]int) int { return cmp.Compare(a[0], b[0]) })
		out = append(out, shardSpec{prefix, keep})
	}
	split("", 0, len(tt.terms))
	slices.SortFunc(out, func(a, b shardSpec) int { return strings.Compare(a.prefix, b.prefix) })
	return out
}

// shards splits p into shards of about target bytes ([termTable.split]).
func (p postings) shards(target int) []*Shard {
	tt := newTermTable(p)
	specs := tt.split(target)
	out := make([]*Shard, len(specs))
	for i, s := range specs {
		out[i] = newShard(s.prefix, tt.shardTerms(s), p, false)
	}
	return out
}

// ShardSize is the size a public shard is split to, in bytes of JSON.
const ShardSize = 24 << 10

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// SealedShardSize is the size above which a sealed index keeps its terms
// in shards of their own, and the size they are split to.
const SealedShardSize = 128 << 10

// SealedIndex is the index of one audience's restricted text.
type SealedIndex struct {
	Docs []format.SearchDoc
	// Shards are its terms: one shard, held in the root, or several, each
	// sealed as a packet of its own.
	Shards []*Shard
	Words  int // the words indexed
}

// Sealed indexes the restricted passages of one audience, in the order
// given (the caller's: by page, then passage).
func Sealed(docs []*Doc) *SealedIndex {
	docs = slices.Clone(docs)
	p, words := index(docs)
	x := &SealedIndex{Docs: make([]format.SearchDoc, len(docs)), Words: words}
	for i, d := range docs {
		x.Docs[i] = d.SearchDoc
		x.Docs[i].Text = cut(d.Text, MaxText)
	}
	x.Shards = p.shards(SealedShardSize)
	return x
}

// Root returns the plaintext of the sealed index's root: its terms held
// in it (one shard), or the packets of its shards, by prefix.
func (x *SealedIndex) Root(packets map[string]string) []byte {
	r := format.SealedSearch{Version: format.SearchVersion, Docs: x.Docs}
	if len(x.Shards) == 1 && packets == nil {
		r.Terms = x.Shards[0].Terms()
	} else {
		r.Shards = map[string]string{}
		for prefix, p := range packets {
			r.Shards[hex.EncodeToString([]byte(prefix))] = p
		}
	}
	if r.Docs == nil {
		r.Docs = []format.SearchDoc{}
	}
	return marshal(r)
}

// Fingerprint writes to h every part of d that an index is made of, each
// field with its length: its fields as given, and its terms (if worked
// out) by word, not by number, which differs from process to process.
// Two documents of the same fingerprint are indexed alike.
func (d *Doc) Fingerprint(h io.Writer) {
	var b []byte
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	num := func(n int) { b = binary.AppendVarint(b, int64(n)) }
	sd := d.SearchDoc
	for _, s := range []string{sd.URL, sd.Title, sd.Date, sd.ISO, sd.TLP, sd.Class, sd.Audience, sd.Text, d.Sort} {
		str(s)
	}
	if sd.Page == nil {
		num(-1)
	} else {
		num(*sd.Page)
	}
	for _, list := range [][]string{d.Tags, d.Headings} {
		num(len(list))
		for _, s := range list {
			str(s)
		}
	}
	num(d.Length)
	if d.TF.IsZero() {
		num(-1)
	} else {
		num(d.TF.Len())
		d.TF.Each(func(term string, f int) {
			str(term)
			num(f)
		})
	}
	h.Write(b)
}
