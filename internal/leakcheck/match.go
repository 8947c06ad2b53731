package leakcheck

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// frag is one fragment, normalised, in the matcher's arena.
type frag struct {
	off, n int32 // its text: arena[off : off+n]
	secret int32 // index of the first passage that has it
	at     int32 // offset of its anchor
}

// A matcher finds fragments in normalised text.
//
// Each fragment is indexed by one window of MinLen bytes of its text, its
// anchor, chosen to be rare in prose. At each position of the text, the
// window there is hashed and tested in a Bloom filter of anchors, which
// few windows pass. A window that does is tested in a second filter: of
// pairs of the anchor and the window just after or before it, its check,
// for a fragment that long (most are), or of the anchor alone for a short
// one. Only then is the window looked up in the table of anchors, whose
// entries hold the check too: the fragment is read only when both match.
type matcher struct {
	arena []byte
	frags []frag

	first  bloom    // anchors; the scan's inner loop inlines its test
	shared []uint64 // the bits of first set by more than one anchor
	pairs  bloom    // anchors with their check, MinLen bytes before or after
	short  bloom    // anchors of the fragments too short for a pair

	slots  []slot // open-addressed table of anchors, at hash>>sshift
	sshift uint
	more   []entry // the second and further fragments of shared anchors
}

// entry is a fragment in the table of anchors.
type entry struct {
	check uint64 // the fragment's window at offset at+d
	d     int32  // where its check is, relative to the anchor
	frag  int32  // index into frags
}

// slot is one anchor in the table of anchors.
type slot struct {
	key uint64 // the anchor window, little-endian
	entry
	more, n uint32 // n fragments: entry, then more[more : more+n-1]; 0: empty slot
}

// bloom is a Bloom filter of 64-bit hashes: the top bits of a hash choose
// a word, and two groups of 6 bits below them two bits in that word, so
// that a test reads one word.
type bloom struct {
	words []uint64
	shift uint // 64 - log2(len(words))
}

// newBloom returns a filter with about perItem bits for each of n items,
// within bounds.
func newBloom(n, perItem int) bloom {
	if n == 0 {
		return bloom{}
	}
	lg := max(6, min(filterMaxBits-6, bits.Len(uint(n*perItem/64))))
	return bloom{words: make([]uint64, 1<<lg), shift: uint(64 - lg)}
}

// at returns where h is in b: a word and the mask of its bits there.
func (b *bloom) at(h uint64) (w, mask uint64) {
	return h >> (b.shift & 63), 1<<(h>>39&63) | 1<<(h>>33&63)
}

// add adds h to b and returns the bits of its mask that were already set.
func (b *bloom) add(h uint64) (set uint64) {
	w, mask := b.at(h)
	set = b.words[w] & mask
	b.words[w] |= mask
	return set
}

// has reports whether h may be in b; an empty filter has nothing.
func (b *bloom) has(h uint64) bool {
	if len(b.words) == 0 {
		return false
	}
	w, mask := b.at(h)
	return b.words[w]&mask == mask
}

// hashMul and pairMul are multipliers of window hashes (Fibonacci
// hashing: the top bits of key*hashMul are well mixed). The filters have
// at most 2^filterMaxBits bits, so that bits 33 to 44 of a hash are never
// among those that choose a word.
const (
	hashMul       = 0x9e3779b97f4a7c15
	pairMul       = 0xc2b2ae3d27d4eb4f
	filterMaxBits = 25
)

// pairHash is the hash of the window a followed by the window b.
func pairHash(a, b uint64) uint64 { return a*hashMul ^ b*pairMul }

func (m *matcher) text(f frag) []byte { return m.arena[f.off : f.off+f.n] }

func window(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i : i+MinLen]) }

// appendFragment appends text, normalised as a fragment, to dst: whitespace
// runs collapsed to one space, leading and trailing whitespace dropped. It
// does not decode character references: fragments are plain text.
func appendFragment(dst []byte, text string) []byte {
	start := len(dst)
	for i := 0; i < len(text); i++ {
		c := text[i]
		if class[c] != space {
			dst = append(dst, c)
		} else if len(dst) > start && dst[len(dst)-1] != ' ' {
			dst = append(dst, ' ')
		}
	}
	if len(dst) > start && dst[len(dst)-1] == ' ' {
		dst = dst[:len(dst)-1]
	}
	return dst
}

// newMatcher indexes frags and drops those that occur in public, except
// the pinned ones (nil: none). With remember, it also returns what it
// learned for the next (see [Memo]), reusing what was learned (nil:
// nothing).
func newMatcher(arena []byte, frags []frag, public [][]byte, pinned func(f frag) bool, was *Memo, remember bool) (*matcher, *Memo) {
	m := &matcher{arena: arena, frags: frags}
	if len(frags) == 0 && !remember {
		return m, nil
	}
	m.chooseAnchors(public)
	var found []int32
	var memo *Memo
	if remember {
		found, memo = m.findPublicMemo(public, was)
	} else if len(public) > 0 {
		m.index()
		found = m.findPublic(public)
	}
	kept := frags[:0:0]
	for i, f := range frags {
		if found == nil || found[i] < 0 || pinned != nil && pinned(f) {
			kept = append(kept, f)
		}
	}
	// Indexed unless it already is, on the fragments kept.
	if m.slots == nil || len(kept) < len(frags) {
		m.frags = kept
		m.index()
	}
	return m, memo
}

// subset returns a matcher of the fragments of m numbered in idx, with
// the anchors m chose for them.
func (m *matcher) subset(idx []int32) *matcher {
	s := &matcher{arena: m.arena, frags: make([]frag, len(idx))}
	for i, j := range idx {
		s.frags[i] = m.frags[j]
	}
	s.index()
	return s
}

const (
	// anchorSpan bounds the windows of a fragment that may be its anchor:
	// the first ones. A long paragraph has plenty.
	anchorSpan = 256
	// sampleMax bounds the public text sampled to learn which windows are
	// common.
	sampleMax = 2 << 20
)

// chooseAnchors sets each fragment's anchor to the window that is least
// common, as far as one can tell: among the windows of all fragments
// (fragments that share an anchor are all compared on each of its hits)
// and in a sample of the public text (the text most of the output is
// made of), then with fewest spaces and lower-case letters.
func (m *matcher) chooseAnchors(public [][]byte) {
	windows := 0
	for _, f := range m.frags {
		windows += min(int(f.n)-MinLen+1, anchorSpan)
	}
	var pubSize int
	for _, p := range public {
		pubSize += len(p)
	}
	// The counts saturate: a window seen 255 times is common enough.
	cbits := max(10, min(19, bits.Len(uint(4*(windows+min(pubSize, sampleMax))))))
	cshift := uint(64 - cbits)
	counts := make([]uint8, 1<<cbits)
	add := func(t []byte, n int) {
		for j := 0; j < n; j++ {
			h := window(t, j) * hashMul >> cshift
			if counts[h] < 0xff {
				counts[h]++
			}
		}
	}
	for _, f := range m.frags {
		add(m.text(f), min(int(f.n)-MinLen+1, anchorSpan))
	}
	// Every stride-th public text, spread over all of them.
	stride := max(1, pubSize/sampleMax+1)
	var buf []byte
	for i := 0; i < len(public); i += stride {
		buf = normPlain(buf[:0], public[i])
		add(buf, len(buf)-MinLen+1)
	}
	spread(len(m.frags), windows*8, func() *struct{} { return nil }, func(_ *struct{}, i int) {
		f := &m.frags[i]
		t := m.text(*f)
		best, bestScore := 0, uint32(1<<32-1)
		for j := range min(int(f.n)-MinLen+1, anchorSpan) {
			w := window(t, j)
			score := uint32(counts[w*hashMul>>cshift])<<4 | uint32(commonness(w))
			if score < bestScore {
				best, bestScore = j, score
			}
		}
		f.at = int32(best)
	})
}

// commonness is a guess at how common a window is in prose, from 0 to 8:
// the number of its bytes that are spaces or lower-case letters.
func commonness(w uint64) int {
	return bits.OnesCount64(eq(w, ' ') | lower(w))
}

// lower returns w with 0x80 in each byte that is a lower-case ASCII letter.
func lower(w uint64) uint64 {
	// Bytes >= 0x80 are not letters; for the others, add so that 'a'
	// reaches 0x80 and '{' (after 'z') reaches 0x80 too, and keep the
	// bytes where the first carried and the second did not.
	lo := w & low7
	ge := lo + ones*(0x80-'a')
	gt := lo + ones*(0x80-'z'-1)
	return ge &^ gt &^ w & (ones * 0x80)
}

// index builds the filters and the table of anchors of m.frags.
func (m *matcher) index() {
	n := len(m.frags)
	checks := make([]int32, n)
	long := 0
	for i, f := range m.frags {
		checks[i] = checkAt(f)
		if abs(checks[i]-f.at) == MinLen {
			long++
		}
	}
	// 32 to 64 bits per anchor in the first filter, so that few windows of
	// ordinary text pass it, while it stays in a core's cache: 256 KiB for
	// 50,000 fragments. The second filters are tested far less often.
	m.first = newBloom(n, 32)
	m.shared = make([]uint64, len(m.first.words))
	m.pairs = newBloom(long, 32)
	m.short = newBloom(n-long, 32)
	nslots := 1 << max(4, bits.Len(uint(n+n/2)))
	m.slots = make([]slot, nslots)
	m.sshift = uint(64 - bits.TrailingZeros(uint(nslots)))
	m.more = m.more[:0]
	mask := uint64(nslots - 1)
	var chained []int32 // slots with more than one fragment, in order
	for i, f := range m.frags {
		t := m.text(f)
		key := window(t, int(f.at))
		c := int(checks[i])
		switch check := window(t, c); int(f.at) - c {
		case MinLen:
			m.pairs.add(pairHash(check, key))
		case -MinLen:
			m.pairs.add(pairHash(key, check))
		default:
			m.short.add(key * hashMul)
		}
		e := entry{check: window(t, c), d: int32(c) - f.at, frag: int32(i)}
		h := key * hashMul
		s := h >> m.sshift
		for m.slots[s].n != 0 && m.slots[s].key != key {
			s = (s + 1) & mask
		}
		sl := &m.slots[s]
		if sl.n == 0 {
			*sl = slot{key: key, entry: e, n: 1}
			w, _ := m.first.at(h)
			m.shared[w] |= m.first.add(h)
			continue
		}
		if sl.n == 1 {
			chained = append(chained, int32(s))
		}
		sl.n++
		m.more = append(m.more, e)
	}
	if len(chained) == 0 {
		return
	}
	// Group the further fragments of each shared anchor together.
	all := m.more
	m.more = make([]entry, 0, len(all))
	at := map[uint64][]entry{}
	for _, e := range all {
		key := window(m.text(m.frags[e.frag]), int(m.frags[e.frag].at))
		at[key] = append(at[key], e)
	}
	for _, s := range chained {
		sl := &m.slots[s]
		sl.more = uint32(len(m.more))
		m.more = append(m.more, at[sl.key]...)
	}
}

// checkAt returns the offset of f's check: the window after its anchor or
// else the one before, if f has room for either; or else the last window,
// or the first if the anchor is the last.
func checkAt(f frag) int32 {
	switch {
	case f.at+2*MinLen <= f.n:
		return f.at + MinLen
	case f.at >= MinLen:
		return f.at - MinLen
	case f.at == f.n-MinLen:
		return 0
	}
	return f.n - MinLen
}

func abs(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

// hit is a fragment found in a file.
type hit struct {
	frag int32
	file int32
	name bool // in the file's path rather than its contents
	pos  int
}

// state is one goroutine's scratch space.
type state struct {
	m     *matcher
	buf   []byte
	path  []byte
	stamp []uint32 // stamp[f] == id: fragment f was found in the current text
	id    uint32
	hits  []hit

	// bits is m.first.words or, if once, a copy from which the bits of anchors
	// whose fragments have all been found are cleared: then each fragment
	// is found once, and the anchors of fragments that are common in the
	// text stop costing a look-up.
	bits []uint64
	once bool
}

func (m *matcher) newState() *state {
	return &state{m: m, stamp: make([]uint32, len(m.frags)), bits: m.first.words}
}

// find records the first occurrence in t of each fragment not yet found in
// the current text (st.id).
func (st *state) find(t []byte, file int32, name bool) {
	m := st.m
	if len(m.frags) == 0 {
		return
	}
	for q := 0; ; q++ {
		q = next(t, q, st.bits, m.first.shift)
		if q < 0 {
			return
		}
		key := window(t, q)
		if m.short.has(key*hashMul) ||
			q+2*MinLen <= len(t) && m.pairs.has(pairHash(key, window(t, q+MinLen))) ||
			q >= MinLen && m.pairs.has(pairHash(window(t, q-MinLen), key)) {
			st.probe(t, q, key, file, name)
		}
	}
}

// next returns the first position from q on where the window of t passes
// the filter bits, or -1. It is the scan's inner loop: it tests four
// windows at a time, with one bounds check.
func next(t []byte, q int, bits []uint64, wshift uint) int {
	wshift &= 63
	for ; q+MinLen+3 <= len(t); q += 4 {
		b := t[q : q+MinLen+3 : q+MinLen+3]
		h0 := binary.LittleEndian.Uint64(b[0:]) * hashMul
		h1 := binary.LittleEndian.Uint64(b[1:]) * hashMul
		h2 := binary.LittleEndian.Uint64(b[2:]) * hashMul
		h3 := binary.LittleEndian.Uint64(b[3:]) * hashMul
		m0 := uint64(1)<<(h0>>39&63) | uint64(1)<<(h0>>33&63)
		m1 := uint64(1)<<(h1>>39&63) | uint64(1)<<(h1>>33&63)
		m2 := uint64(1)<<(h2>>39&63) | uint64(1)<<(h2>>33&63)
		m3 := uint64(1)<<(h3>>39&63) | uint64(1)<<(h3>>33&63)
		x0 := bits[h0>>wshift]&m0 ^ m0
		x1 := bits[h1>>wshift]&m1 ^ m1
		x2 := bits[h2>>wshift]&m2 ^ m2
		x3 := bits[h3>>wshift]&m3 ^ m3
		if x0 != 0 && x1 != 0 && x2 != 0 && x3 != 0 {
			continue
		}
		switch {
		case x0 == 0:
			return q
		case x1 == 0:
			return q + 1
		case x2 == 0:
			return q + 2
		}
		return q + 3
	}
	for ; q+MinLen <= len(t); q++ {
		h := window(t, q) * hashMul
		mask := uint64(1)<<(h>>39&63) | uint64(1)<<(h>>33&63)
		if bits[h>>wshift]&mask == mask {
			return q
		}
	}
	return -1
}

// probe looks up the window key at t[q:] in the table of anchors, and
// records the fragments anchored there that occur in t.
func (st *state) probe(t []byte, q int, key uint64, file int32, name bool) {
	m := st.m
	mask := uint64(len(m.slots) - 1)
	for s := key * hashMul >> (m.sshift & 63); ; s = (s + 1) & mask {
		sl := &m.slots[s]
		if sl.n == 0 {
			return
		}
		if sl.key != key {
			continue
		}
		st.verify(t, q, &sl.entry, file, name)
		for i := range sl.n - 1 {
			st.verify(t, q, &m.more[sl.more+i], file, name)
		}
		if st.once {
			st.retire(sl, key)
		}
		return
	}
}

// retire clears the bits of the anchor in sl from st.bits if all of its
// fragments have been found, but not those that other anchors have too.
func (st *state) retire(sl *slot, key uint64) {
	m := st.m
	if st.stamp[sl.frag] != st.id {
		return
	}
	for i := range sl.n - 1 {
		if st.stamp[m.more[sl.more+i].frag] != st.id {
			return
		}
	}
	w, mask := m.first.at(key * hashMul)
	st.bits[w] &^= mask &^ m.shared[w]
}

// verify records e's fragment if it occurs in t with its anchor at q.
func (st *state) verify(t []byte, q int, e *entry, file int32, name bool) {
	c := q + int(e.d)
	if c < 0 || c+MinLen > len(t) || window(t, c) != e.check || st.stamp[e.frag] == st.id {
		return
	}
	f := st.m.frags[e.frag]
	p := q - int(f.at)
	if p < 0 || p+int(f.n) > len(t) || !bytes.Equal(t[p:p+int(f.n)], st.m.text(f)) {
		return
	}
	st.stamp[e.frag] = st.id
	st.hits = append(st.hits, hit{frag: e.frag, file: file, name: name, pos: p})
}

// findPublic reports, for each fragment, the number of a public text it
// occurs in, or -1.
func (m *matcher) findPublic(public [][]byte) []int32 {
	found := make([]int32, len(m.frags))
	for i := range found {
		found[i] = -1
	}
	if len(m.frags) == 0 || len(public) == 0 {
		return found
	}
	// Texts are searched in batches of about batchSize bytes, each
	// normalised text after a newline. No match spans two texts: a
	// normalised fragment has no newline.
	const batchSize = 64 << 10
	var batches []int // batch b is public[batches[b]:batches[b+1]]
	var total, size int
	for i, p := range public {
		if i == 0 || size >= batchSize {
			batches = append(batches, i)
			size = 0
		}
		size += len(p)
		total += len(p)
	}
	batches = append(batches, len(public))
	// starts[b] are the offsets of batch b's texts in its normalised text.
	starts := make([][]int, len(batches)-1)
	states := spread(len(batches)-1, total, func() *state {
		st := m.newState()
		st.id = 1 // one text for all: each fragment is found once
		st.bits, st.once = slices.Clone(m.first.words), true
		return st
	}, func(st *state, b int) {
		st.buf = st.buf[:0]
		at := make([]int, 0, batches[b+1]-batches[b])
		for _, p := range public[batches[b]:batches[b+1]] {
			at = append(at, len(st.buf))
			st.buf = append(st.buf, '\n')
			st.buf = normPlain(st.buf, p)
			if bytes.IndexByte(p, '&') >= 0 {
				st.buf = append(st.buf, '\n')
				st.buf = normText(st.buf, p)
			}
		}
		starts[b] = at
		st.find(st.buf, int32(b), false)
	})
	for _, st := range states {
		for _, h := range st.hits {
			at := starts[h.file]
			i, _ := slices.BinarySearch(at, h.pos) // the text after the fragment's start
			found[h.frag] = int32(batches[h.file] + i - 1)
		}
	}
	return found
}

// parallelMin is the amount of work, in bytes, below which spread does not
// start goroutines.
const parallelMin = 1 << 20

// spread calls f(st, i) for each i in [0, n) on up to GOMAXPROCS
// goroutines, or on the calling one if size (the bytes to process) is
// small. Each goroutine has its own st, from newState; spread returns them.
func spread[S any](n, size int, newState func() S, f func(st S, i int)) []S {
	workers := runtime.GOMAXPROCS(0)
	if size < parallelMin {
		workers = 1
	}
	workers = max(1, min(workers, n))
	states := make([]S, workers)
	var next atomic.Int64
	work := func(w int) {
		st := newState()
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				break
			}
			f(st, i)
		}
		states[w] = st
	}
	if workers == 1 {
		work(0)
		return states
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { work(w) })
	}
	wg.Wait()
	return states
}
