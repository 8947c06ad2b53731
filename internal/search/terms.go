package search

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"math"
	"sync"
)

// Terms are a document's terms, each with its weighted frequency, packed:
// a record keeps them for every page of a site. A term is kept as its
// number in the process's dictionary (see [intern]), not as its word:
// 50,000 pages' terms took 143 MB as words, each page's its own copy of
// "the" and "vendor"; as numbers, they take about a third of that, and
// the index finds a term's postings by its number, without hashing it.
//
// A cache file keeps the numbers as they are, beside the dictionary's
// words ([Words]); Terms read from it hold that file's numbers until
// [Terms.Adopt] numbers them in this process. Until then any use of them
// panics: a number read is never taken for another term.
type Terms struct {
	// enc is the terms as a cache file keeps them ([Terms.GobEncode]):
	// the size of ids as a uvarint, ids, then freqs. ids are the terms'
	// numbers in order of first use, as uvarints (the same document gives
	// the same Terms); freqs their weighted frequencies, as uvarints, in
	// that order. Kept as written, a build's records are saved without a
	// copy of each.
	enc []byte
	// read marks ids as numbers in a cache file's vocabulary.
	read bool
}

// newTerms returns the Terms of ids and freqs, copied into one
// allocation.
func newTerms(ids, freqs []byte) Terms {
	p := uvarintLen(uint64(len(ids)))
	b := make([]byte, p+len(ids)+len(freqs))
	binary.PutUvarint(b, uint64(len(ids)))
	n := p + copy(b[p:], ids)
	copy(b[n:], freqs)
	return Terms{enc: b}
}

// parts returns t's numbers and frequencies.
func (t Terms) parts() (ids, freqs []byte) {
	if t.enc == nil {
		return nil, nil
	}
	size, n := binary.Uvarint(t.enc)
	return t.enc[n : n+int(size)], t.enc[n+int(size):]
}

// IsZero says whether t was never worked out.
func (t Terms) IsZero() bool { return t.enc == nil }

// Each calls fn with each term and its weighted frequency, in order.
func (t Terms) Each(fn func(term string, f int)) {
	words := dictTerms()
	t.each(func(id uint32, f int) { fn(words[id], f) })
}

// each calls fn with each term's number and weighted frequency, in order.
func (t Terms) each(fn func(id uint32, f int)) {
	if t.read {
		panic("search: Terms read from a cache and not adopted")
	}
	ids, freqs := t.parts()
	for len(freqs) > 0 {
		id, n := binary.Uvarint(ids)
		f, m := binary.Uvarint(freqs)
		if n <= 0 || m <= 0 {
			panic("search: Terms damaged")
		}
		fn(uint32(id), int(f))
		ids, freqs = ids[n:], freqs[m:]
	}
}

// Len is the number of terms.
func (t Terms) Len() int {
	_, freqs := t.parts()
	return count(freqs)
}

// Equal says whether t and u hold the same terms and frequencies, in
// the same order.
func (t Terms) Equal(u Terms) bool {
	if t.read || u.read {
		panic("search: Terms read from a cache and not adopted")
	}
	return bytes.Equal(t.enc, u.enc)
}

// GobEncode writes t's numbers and frequencies, for a cache file that
// holds the dictionary's words too ([Words]).
func (t Terms) GobEncode() ([]byte, error) {
	if t.read {
		return nil, errors.New("search: Terms read from a cache and not adopted")
	}
	// gob copies what it is given, and nothing changes enc: no copy.
	return t.enc, nil
}

var errTermsDamaged = errors.New("search: terms damaged")

// GobDecode reads what GobEncode wrote: Terms numbered in the file's
// vocabulary, to be adopted.
func (t *Terms) GobDecode(b []byte) error {
	if len(b) == 0 {
		*t = Terms{}
		return nil
	}
	size, n := binary.Uvarint(b)
	if n <= 0 || n != uvarintLen(size) || size > uint64(len(b)-n) {
		return errTermsDamaged
	}
	ids, freqs := b[n:n+int(size)], b[n+int(size):]
	if c := count(ids); c < 0 || c != count(freqs) {
		return errTermsDamaged
	}
	*t = newTerms(ids, freqs)
	t.read = true
	return nil
}

// count is the number of uvarints b holds, each written as short as it
// can be, or -1 if b holds something else.
func count(b []byte) int {
	n := 0
	for ; len(b) > 0; n++ {
		v, k := binary.Uvarint(b)
		if k <= 0 || k != uvarintLen(v) || v > math.MaxUint32 {
			return -1
		}
		b = b[k:]
	}
	return n
}

// Words returns the dictionary's words, by number: what a cache file
// keeps beside the Terms it holds, for [Vocabulary]. Numbers given later
// are not in it.
func Words() []string { return dictTerms() }

// Vocabulary numbers, in this process, the words of a cache file's
// dictionary as [Terms.Adopt] meets them.
type Vocabulary struct {
	words []string
	ids   []uint32 // the process's number of words[i], plus one; 0: not yet numbered
}

// NewVocabulary returns the vocabulary of words, as [Words] gave them.
func NewVocabulary(words []string) *Vocabulary {
	return &Vocabulary{words: words, ids: make([]uint32, len(words))}
}

// Adopt numbers t, read from a cache file, in this process's dictionary,
// by v, the file's vocabulary. It refuses a number v does not hold, or a
// word that is not a term.
func (t *Terms) Adopt(v *Vocabulary) error {
	if !t.read {
		return nil
	}
	read, freqs := t.parts()
	ids := make([]byte, 0, len(read)+len(read)/2)
	for b := read; len(b) > 0; {
		id, n := binary.Uvarint(b)
		b = b[n:]
		if id >= uint64(len(v.ids)) {
			return errTermsDamaged
		}
		if v.ids[id] == 0 {
			w := v.words[id]
			if !isTerm(w) {
				return errTermsDamaged
			}
			got, _ := binary.Uvarint(intern(nil, []byte(w+" ")))
			v.ids[id] = uint32(got) + 1
		}
		ids = binary.AppendUvarint(ids, uint64(v.ids[id]-1))
	}
	*t = newTerms(ids, freqs)
	return nil
}

// isTerm says whether w is a term as [Tokens] gives them.
func isTerm(w string) bool {
	n := 0
	scanTerms(w, nil, func(t []byte) {
		if string(t) == w {
			n++
		} else {
			n = 2
		}
	})
	return n == 1
}

// dict numbers every term this process has counted or adopted, each
// once. It only grows: a number, once given, means its term until the
// process ends. Its words are the site's vocabulary, restricted terms
// included: no public file is made from it, only the page cache, which
// holds the restricted text too and is encrypted ([Words]).
var dict struct {
	sync.RWMutex
	ids   map[string]uint32
	terms []string
}

// dictTerms returns the dictionary's words, by number. Words already
// numbered never change, so the slice may be read without the lock.
func dictTerms() []string {
	dict.RLock()
	defer dict.RUnlock()
	return dict.terms
}

// intern appends to dst the numbers of words (terms each followed by a
// space), as uvarints, numbering the words new to the dictionary. The
// lock is taken once a document, not once a term: most of a document's
// terms are known, and only the new ones wait for the write lock.
func intern(dst, words []byte) []byte {
	start := len(dst)
	missing := false
	dict.RLock()
	for w := words; len(w) > 0; {
		i := bytes.IndexByte(w, ' ')
		id, ok := dict.ids[string(w[:i])]
		if !ok {
			missing = true
			break
		}
		dst = binary.AppendUvarint(dst, uint64(id))
		w = w[i+1:]
	}
	dict.RUnlock()
	if !missing {
		return dst
	}
	dst = dst[:start]
	dict.Lock()
	defer dict.Unlock()
	if dict.ids == nil {
		dict.ids = map[string]uint32{}
	}
	for w := words; len(w) > 0; {
		i := bytes.IndexByte(w, ' ')
		id, ok := dict.ids[string(w[:i])]
		if !ok {
			id = uint32(len(dict.terms))
			t := string(w[:i])
			dict.ids[t] = id
			dict.terms = append(dict.terms, t)
		}
		dst = binary.AppendUvarint(dst, uint64(id))
		w = w[i+1:]
	}
	return dst
}

// Unseen is the set of the terms of a [Terms] not yet met in the texts
// given to [Unseen.See]: a check that a document's terms all come from
// given texts. It reads each text once, and looks each of its terms up in
// a table of the document's terms only (a few hundred, in cache), whole
// words compared: no term is copied.
type Unseen struct {
	terms []string
	met   []bool
	table []int32 // open addressing by hash: places in terms, -1 empty
	mask  uint64
	left  int
	seed  maphash.Seed
	buf   []byte
}

// Unseen returns the set of t's terms, none met yet.
func (t Terms) Unseen() *Unseen {
	words := dictTerms()
	u := &Unseen{seed: maphash.MakeSeed(), terms: make([]string, 0, t.Len())}
	t.each(func(id uint32, _ int) { u.terms = append(u.terms, words[id]) })
	size := 8
	for size < 2*len(u.terms) {
		size *= 2
	}
	u.table, u.mask = make([]int32, size), uint64(size-1)
	for i := range u.table {
		u.table[i] = -1
	}
	u.met, u.left = make([]bool, len(u.terms)), len(u.terms)
	for k, w := range u.terms {
		i := maphash.String(u.seed, w) & u.mask
		for u.table[i] >= 0 {
			i = (i + 1) & u.mask
		}
		u.table[i] = int32(k)
	}
	return u
}

// See marks as met each term of texts (see [Tokens]); once every term is
// met, it reads no further.
func (u *Unseen) See(texts ...string) {
	for _, s := range texts {
		if u.left == 0 {
			return
		}
		u.buf = scanTerms(s, u.buf, func(term []byte) {
			for i := maphash.Bytes(u.seed, term) & u.mask; ; i = (i + 1) & u.mask {
				k := u.table[i]
				if k < 0 {
					return
				}
				if u.terms[k] == string(term) {
					if !u.met[k] {
						u.met[k] = true
						u.left--
					}
					return
				}
			}
		})
	}
}

// Done says whether every term was met.
func (u *Unseen) Done() bool { return u.left == 0 }
