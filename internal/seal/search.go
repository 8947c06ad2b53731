package seal

import (
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/search"
)

// SealSearch seals x, the search index of the audience whose ID is aud
// (DESIGN §11): each of its shards, when it has several, then its root,
// as packets of that audience, padded like a passage and kept in the
// cache like one, so that an unchanged index keeps its ciphertext. It
// returns the root's entry in the public index's root: the packet, under
// a tag that only holders of the audience's key can work out.
func (s *Sealer) SealSearch(aud string, x *search.SealedIndex, emit Emit) (format.SealedRef, error) {
	a := &Audience{ID: aud}
	w := getWork()
	defer putWork(w)
	var packets map[string]string
	if len(x.Shards) > 1 {
		packets = make(map[string]string, len(x.Shards))
		for _, sh := range x.Shards {
			_, p, err := s.packet("search:"+aud+":"+sh.Prefix, map[string]int{}, a, pad(sh.Data()), w, emit)
			if err != nil {
				return format.SealedRef{}, err
			}
			packets[sh.Prefix] = p
		}
	}
	_, p, err := s.packet("search:"+aud, map[string]int{}, a, pad(x.Root(packets)), w, emit)
	if err != nil {
		return format.SealedRef{}, err
	}
	return format.SealedRef{Tag: format.SearchTag(s.text[aud]), Packet: p}, nil
}
