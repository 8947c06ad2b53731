package seal

import (
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/search"
)

// SearchSeal is what SealSearch sealed for an audience: the root's entry
// in the public index, and the cache keys of its packets, so that a later
// build can publish them again ([Sealer.ReuseSearch]).
type SearchSeal struct {
	Ref  format.SealedRef
	Keys []string // the shards' packets, then the root's
}

// SealSearch seals x, the search index of the audience whose ID is aud
// (DESIGN §11): each of its shards, when it has several, then its root,
// as packets of that audience, padded like a passage and kept in the
// cache like one, so that an unchanged index keeps its ciphertext. It
// returns the root's entry in the public index's root (the packet, under
// a tag that only holders of the audience's key can work out) and the
// packets' keys.
func (s *Sealer) SealSearch(aud string, x *search.SealedIndex, emit Emit) (SearchSeal, error) {
	a := &Audience{ID: aud}
	w := getWork()
	defer putWork(w)
	var out SearchSeal
	var packets map[string]string
	if len(x.Shards) > 1 {
		packets = make(map[string]string, len(x.Shards))
		for _, sh := range x.Shards {
			key, p, err := s.packet("search:"+aud+":"+sh.Prefix, map[string]int{}, a, pad(sh.Data()), w, emit)
			if err != nil {
				return SearchSeal{}, err
			}
			packets[sh.Prefix] = p
			out.Keys = append(out.Keys, key)
		}
	}
	key, p, err := s.packet("search:"+aud, map[string]int{}, a, pad(x.Root(packets)), w, emit)
	if err != nil {
		return SearchSeal{}, err
	}
	out.Keys = append(out.Keys, key)
	out.Ref = format.SealedRef{Tag: s.SearchTag(aud), Packet: p}
	return out, nil
}

// SearchTag is the tag of the sealed index of aud in the public index's
// root: a digest of the audience's key, which changes with it.
func (s *Sealer) SearchTag(aud string) string { return format.SearchTag(s.text[aud]) }

// ReuseSearch publishes again, from the cache, the packets of the sealed
// index of aud that SealSearch made in an earlier build, and returns
// their entry and total size. It reports false, and publishes nothing,
// if the audience has another key now, or the cache no longer holds a
// packet.
func (s *Sealer) ReuseSearch(aud string, prev SearchSeal, emit Emit) (format.SealedRef, int64, bool, error) {
	if prev.Ref.Tag != s.SearchTag(aud) || len(prev.Keys) == 0 {
		return format.SealedRef{}, 0, false, nil
	}
	cts := make([][]byte, len(prev.Keys))
	for i, key := range prev.Keys {
		ct, ok := s.cache.packet(key)
		if !ok {
			return format.SealedRef{}, 0, false, nil
		}
		cts[i] = ct
	}
	if format.PacketPath(format.DigestName(cts[len(cts)-1])) != prev.Ref.Packet {
		return format.SealedRef{}, 0, false, nil
	}
	var size int64
	for _, ct := range cts {
		emitted, err := s.publish(format.PacketPath(format.DigestName(ct)), ct, true, emit)
		if err != nil {
			return format.SealedRef{}, 0, false, err
		}
		if emitted {
			size += int64(len(ct))
		}
	}
	return prev.Ref, size, true, nil
}
