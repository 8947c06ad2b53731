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
// window there is hashed and tested in a bit set of anchor hashes; only on
// a hit is it looked up in the table of anchors. An entry there also holds
// a second window of the fragment, its check, so that most windows that
// match an anchor by chance are rejected without reading the fragment.
type matcher struct {
	arena []byte
	frags []frag

	// A Bloom filter of the anchors, two bits in one word per anchor:
	// see [matcher.filter].
	bits   []uint64
	shared []uint64 // the bits set by more than one anchor
	wshift uint     // 64 - log2(len(bits))

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

// hashMul is the multiplier of window hashes (Fibonacci hashing: the top
// bits of key*hashMul are well mixed).
const hashMul = 0x9e3779b97f4a7c15

// filter returns where the anchor key is in the Bloom filter: a word of
// m.bits, from the top bits of the hash, and two bits in it, from bits of
// the hash below those (the filter has at most 2^filterMaxBits bits).
func (m *matcher) filter(key uint64) (w uint64, mask uint64) {
	h := key * hashMul
	return h >> (m.wshift & 63), 1<<(h>>39&63) | 1<<(h>>33&63)
}

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

// newMatcher indexes frags and drops those that occur in public.
func newMatcher(arena []byte, frags []frag, public [][]byte) *matcher {
	m := &matcher{arena: arena, frags: frags}
	if len(frags) == 0 {
		return m
	}
	m.chooseAnchors(public)
	m.index()
	if len(public) == 0 {
		return m
	}
	drop := m.findPublic(public)
	kept := frags[:0:0]
	for i, f := range frags {
		if !drop[i] {
			kept = append(kept, f)
		}
	}
	if len(kept) < len(frags) {
		m.frags = kept
		m.index()
	}
	return m
}

const (
	// filterMaxBits is log2 of the largest filter, in bits (4 MiB).
	filterMaxBits = 25
	// anchorSpan bounds the windows of a fragment that may be its anchor:
	// the first ones. A long paragraph has plenty.
	anchorSpan = 256
	// sampleMax bounds the public text sampled to learn which windows are
	// common.
	sampleMax = 4 << 20
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
	cbits := max(10, min(20, bits.Len(uint(4*(windows+min(pubSize, sampleMax))))))
	cshift := uint(64 - cbits)
	counts := make([]uint16, 1<<cbits)
	add := func(t []byte, n int) {
		for j := 0; j < n; j++ {
			h := window(t, j) * hashMul >> cshift
			if counts[h] < 0xffff {
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

// index builds the bit set and the table of anchors of m.frags.
func (m *matcher) index() {
	n := len(m.frags)
	// The filter has 16 to 32 bits per anchor, so that few windows of
	// ordinary text pass it, and is small enough to stay in a core's
	// cache: 128 KiB for 50,000 fragments.
	nwords := 1 << max(6, min(filterMaxBits-6, bits.Len(uint(n*64/64))))
	m.bits = make([]uint64, nwords)
	m.shared = make([]uint64, nwords)
	m.wshift = uint(64 - bits.TrailingZeros(uint(nwords)))
	nslots := 1 << max(4, bits.Len(uint(n+n/2)))
	m.slots = make([]slot, nslots)
	m.sshift = uint(64 - bits.TrailingZeros(uint(nslots)))
	m.more = m.more[:0]
	mask := uint64(nslots - 1)
	var chained []int32 // slots with more than one fragment, in order
	for i, f := range m.frags {
		t := m.text(f)
		key := window(t, int(f.at))
		// The check is the last window, or the first if the anchor is the
		// last: what the anchor does not cover.
		c := int(f.n) - MinLen
		if int(f.at) == c {
			c = 0
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
			w, mask := m.filter(key)
			m.shared[w] |= m.bits[w] & mask
			m.bits[w] |= mask
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

	// bits is m.bits or, if once, a copy from which the bits of anchors
	// whose fragments have all been found are cleared: then each fragment
	// is found once, and the anchors of fragments that are common in the
	// text stop costing a look-up.
	bits []uint64
	once bool
}

func (m *matcher) newState() *state {
	return &state{m: m, stamp: make([]uint32, len(m.frags)), bits: m.bits}
}

// find records the first occurrence in t of each fragment not yet found in
// the current text (st.id).
func (st *state) find(t []byte, file int32, name bool) {
	m := st.m
	if len(m.frags) == 0 {
		return
	}
	for q := 0; ; q++ {
		q = next(t, q, st.bits, m.wshift)
		if q < 0 {
			return
		}
		st.probe(t, q, binary.LittleEndian.Uint64(t[q:]), file, name)
	}
}

// next returns the first position from q on where the window of t passes
// the filter bits, or -1. It is the scan's inner loop.
func next(t []byte, q int, bits []uint64, wshift uint) int {
	if q+MinLen > len(t) {
		return -1
	}
	wshift &= 63
	key := binary.LittleEndian.Uint64(t[q:])
	for i := q + MinLen; ; i++ {
		h := key * hashMul
		mask := uint64(1)<<(h>>39&63) | uint64(1)<<(h>>33&63)
		if bits[h>>wshift]&mask == mask {
			return i - MinLen
		}
		if i >= len(t) {
			return -1
		}
		key = key>>8 | uint64(t[i])<<56
	}
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
	w, mask := m.filter(key)
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

// findPublic reports which fragments occur in the public texts.
func (m *matcher) findPublic(public [][]byte) []bool {
	var total int
	for _, p := range public {
		total += len(p)
	}
	states := spread(len(public), total, func() *state {
		st := m.newState()
		st.id = 1 // one text for all: each fragment is found once
		st.bits, st.once = slices.Clone(m.bits), true
		return st
	}, func(st *state, i int) {
		st.buf = normPlain(st.buf[:0], public[i])
		st.find(st.buf, 0, false)
		if bytes.IndexByte(public[i], '&') >= 0 {
			st.buf = normText(st.buf[:0], public[i])
			st.find(st.buf, 0, false)
		}
	})
	drop := make([]bool, len(m.frags))
	for _, st := range states {
		for _, h := range st.hits {
			drop[h.frag] = true
		}
	}
	return drop
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
