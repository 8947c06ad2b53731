package leakcheck

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// Memo is what [NewFrom] learned of the public texts: the fragments it
// looked for, the texts it looked in, and a text that holds each fragment
// found, all by SHA-256 digest. Whether a fragment occurs in a text
// depends on their bytes and the matching rules alone, so the next
// NewFrom need not look for a fragment again in a text of the same
// digest. When a build edits one page, it looks for the fragments it
// knows in that page's public text only, instead of in the whole site's.
//
// Digests of short fragments can be guessed: keep a memo as secret as the
// restricted text (a build keeps it in its encrypted cache).
type Memo struct {
	Rules string // matchRules of the conclave that made it
	// Texts are the digests of the public texts, in order, sha256.Size
	// bytes each; Frags those of the fragments looked for.
	Texts, Frags []byte
	// Found is, for each of Frags, the number in Texts of a text that
	// holds it, or -1 for none.
	Found []int32
}

// Memo returns what s learned of the public texts, for the next
// [NewFrom]; nil for a scanner from [New].
func (s *Scanner) Memo() *Memo { return s.memo }

// usable reports whether m can be trusted by this matcher: made by the
// same rules, and whole.
func (m *Memo) usable() bool {
	return m != nil && m.Rules == matchRules && len(m.Texts)%sha256.Size == 0 && len(m.Frags) == sha256.Size*len(m.Found) &&
		!slices.ContainsFunc(m.Found, func(t int32) bool { return t < -1 || int(t) >= len(m.Texts)/sha256.Size })
}

// digestIndex numbers digests (sha256.Size bytes each, in all) by their
// first 8 bytes, for less memory than a map of whole digests (a memo holds
// hundreds of thousands). Of digests that share those bytes, one is kept:
// the others are not found, and the caller does the work they would have
// spared.
type digestIndex struct {
	all []byte
	at  map[uint64]int32
}

// newDigestIndex indexes the digests in all, the first of equal ones.
func newDigestIndex(all []byte) digestIndex {
	n := len(all) / sha256.Size
	x := digestIndex{all: all, at: make(map[uint64]int32, n)}
	for i := n - 1; i >= 0; i-- {
		x.at[binary.LittleEndian.Uint64(all[i*sha256.Size:])] = int32(i)
	}
	return x
}

// find returns the number of the digest d, a slice of sha256.Size bytes.
func (x digestIndex) find(d []byte) (int32, bool) {
	i, ok := x.at[binary.LittleEndian.Uint64(d)]
	if !ok || !bytes.Equal(digestAt(x.all, int(i)), d) {
		return -1, false
	}
	return i, true
}

// digests returns the SHA-256 digest of each of texts, on every core.
func digests(n int, text func(i int) []byte) []byte {
	out := make([]byte, n*sha256.Size)
	size := 0
	for i := range n {
		size += len(text(i))
	}
	spread(n, size, func() *struct{} { return nil }, func(_ *struct{}, i int) {
		d := sha256.Sum256(text(i))
		copy(out[i*sha256.Size:], d[:])
	})
	return out
}

func digestAt(b []byte, i int) []byte { return b[i*sha256.Size:][:sha256.Size] }

// findPublicMemo is findPublic (on a matcher whose anchors are chosen but
// not indexed), reusing what was learned, if it can, and returning what
// it learned for the next.
func (m *matcher) findPublicMemo(public [][]byte, was *Memo) ([]int32, *Memo) {
	memo := &Memo{
		Rules: matchRules,
		Texts: digests(len(public), func(i int) []byte { return public[i] }),
		Frags: digests(len(m.frags), func(i int) []byte { return m.text(m.frags[i]) }),
	}
	if !was.usable() {
		m.index()
		memo.Found = m.findPublic(public)
		return memo.Found, memo
	}
	texts := newDigestIndex(memo.Texts) // this build's texts
	seen := newDigestIndex(was.Texts)   // the texts was looked in
	known := newDigestIndex(was.Frags)  // the fragments was looked for
	found := make([]int32, len(m.frags))
	// The fragments to look for in every text (new ones), those to look
	// for in the new texts only (found in none of the others), and those
	// found before only in a text that is gone: in the new texts first
	// (an edited text often still holds them), then in every text.
	var everywhere, inNew, moved []int32
	for i := range m.frags {
		found[i] = -1
		j, ok := known.find(digestAt(memo.Frags, i))
		switch {
		case !ok:
			everywhere = append(everywhere, int32(i))
		case was.Found[j] < 0:
			inNew = append(inNew, int32(i))
		default:
			if t, ok := texts.find(digestAt(was.Texts, int(was.Found[j]))); ok {
				found[i] = t
			} else {
				moved = append(moved, int32(i))
			}
		}
	}
	look := func(frags []int32, public [][]byte, number []int) {
		if len(frags) == 0 || len(public) == 0 {
			return
		}
		for k, t := range m.subset(frags).findPublic(public) {
			if t >= 0 {
				if number != nil {
					t = int32(number[t])
				}
				found[frags[k]] = t
			}
		}
	}
	var fresh [][]byte
	var number []int // of each of fresh in public
	for i, p := range public {
		if _, ok := seen.find(digestAt(memo.Texts, i)); !ok {
			fresh, number = append(fresh, p), append(number, i)
		}
	}
	look(append(inNew, moved...), fresh, number)
	for _, i := range moved {
		if found[i] < 0 {
			everywhere = append(everywhere, i)
		}
	}
	look(everywhere, public, nil)
	memo.Found = found
	return found, memo
}
