package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/markdown/restricted"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// packetsOf returns the packet paths a build's placeholders name, page by
// page, outermost blocks in order.
func packetsOf(t *testing.T, b *build) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, d := range b.docs {
		for _, s := range sealed(t, d) {
			out[d.Page.Path] = append(out[d.Page.Path], s.Packet)
		}
	}
	return out
}

const twin = "::: restricted to=board tlp=amber\nThe same words, secret T.\n:::\n\n"

// samePages holds blocks of the same text and audience: three on one
// page, one on another, and two pages restricted as a whole with the same
// title and body.
func samePages() []*site.Page {
	wholePage := func(path string) *site.Page {
		p := labelled(whole(page(path, "The same briefing, secret W.\n"), "board"), tlp.Amber)
		p.Front.Title = "Same title"
		return p
	}
	return []*site.Page{
		page("content/a.md", twin+"Between.\n\n"+twin+twin),
		page("content/b.md", twin),
		wholePage("content/w1.md"),
		wholePage("content/w2.md"),
	}
}

// Two passages of the same text and audience, on one page or two, and
// two whole pages of the same text, are different packets: different
// names and bytes, each opening to the same text.
func TestPacketsSameText(t *testing.T) {
	for _, c := range []struct {
		name  string
		cache func(t *testing.T) *Cache
	}{
		{"no cache", func(*testing.T) *Cache { return nil }},
		{"cache", func(t *testing.T) *Cache { return openCache(t, t.TempDir(), testKey(1)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := sealBuild(t, fixtureRegistry(t), c.cache(t), samePages()...)
			byPage := packetsOf(t, b)
			var all []string
			for _, p := range slices.Sorted(maps.Keys(byPage)) {
				all = append(all, byPage[p]...)
			}
			if len(all) != 6 || len(slices.Compact(slices.Sorted(slices.Values(all)))) != 6 {
				t.Fatalf("6 blocks, packets %v", all)
			}
			id := b.sealer.ids[b.plan.Audiences()[0].ID]
			var plain [][]byte
			for _, p := range all {
				plain = append(plain, mustDecrypt(t, p, b.out.files[p], id))
			}
			for i := range 4 {
				if !bytes.Equal(plain[i], plain[0]) {
					t.Errorf("passage %d opens to other text", i)
				}
			}
			if !bytes.Equal(plain[4], plain[5]) || !bytes.Contains(plain[4], []byte("secret W")) {
				t.Errorf("the two whole pages open to other texts")
			}
			if st := b.sealer.Stats(); st.Packets != 6 || st.Fresh != 6 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// With the cache, an unchanged passage keeps its packet, byte for byte,
// even beside passages of the same text: a passage added before it, or
// a passage of the same text added after it, changes nothing of it; the
// new passages get packets of their own.
func TestPacketsKeptByBlock(t *testing.T) {
	reg := fixtureRegistry(t)
	dir := t.TempDir()
	first := sealBuild(t, reg, openCache(t, dir, testKey(1)), samePages()...)
	if err := first.sealer.cache.Save(); err != nil {
		t.Fatal(err)
	}
	pages := samePages()
	pages[0] = page("content/a.md", "::: restricted to=vendors\nA new passage.\n:::\n\n"+twin+"Between, edited.\n\n"+twin+twin+twin)
	second := sealBuild(t, reg, openCache(t, dir, testKey(1)), pages...)
	p1, p2 := packetsOf(t, first), packetsOf(t, second)
	a1, a2 := p1["content/a.md"], p2["content/a.md"]
	if len(a2) != 5 || !slices.Equal(a2[1:4], a1) {
		t.Errorf("content/a.md: packets %v, then %v: the three unchanged passages should keep theirs", a1, a2)
	}
	for _, p := range []string{a2[0], a2[4]} {
		if _, ok := first.out.files[p]; ok || slices.Contains(a2[1:4], p) {
			t.Errorf("a new passage has the packet %s of another", p)
		}
	}
	for _, path := range []string{"content/b.md", "content/w1.md", "content/w2.md"} {
		if !slices.Equal(p1[path], p2[path]) {
			t.Errorf("%s: packets %v, then %v", path, p1[path], p2[path])
		}
	}
	for _, p := range a1 {
		if !bytes.Equal(first.out.files[p], second.out.files[p]) {
			t.Errorf("%s: other bytes under the same name", p)
		}
	}
	if st := second.sealer.Stats(); st.Blocks != 8 || st.Fresh != 2 || st.CachedPackets != 6 {
		t.Errorf("second build: %+v, want 8 blocks: 2 fresh and 6 cached packets", st)
	}
}

// A page published again from its records (the build's page cache)
// emits the packets the cache holds for each of its blocks: identical
// passages keep their own packets there too.
func TestPacketsReuse(t *testing.T) {
	reg := fixtureRegistry(t)
	dir := t.TempDir()
	first := sealBuild(t, reg, openCache(t, dir, testKey(1)), samePages()...)
	if err := first.sealer.cache.Save(); err != nil {
		t.Fatal(err)
	}
	conv := newConv(t)
	var records []Record
	for _, d := range first.docs {
		again := parse(t, conv, clonePage(pageOf(samePages(), d.Page.Path)))
		plan, err := NewPlan(again, reg, config())
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSealer(plan, conv, openCache(t, dir, testKey(1)))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := s.Seal(again[0], newOutputs().emit)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, recs...)
	}
	plan, err := NewPlan(nil, reg, config())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		plan.Reuse(r)
	}
	c := openCache(t, dir, testKey(1))
	s, err := NewSealer(plan, conv, c)
	if err != nil {
		t.Fatal(err)
	}
	out := newOutputs()
	seen := map[string]bool{}
	for _, r := range records {
		if !c.Has(r) {
			t.Fatalf("the cache lacks the packet of %s:%d", r.Secret.File, r.Secret.Line)
		}
		ok, err := s.Reuse(r, out.emit)
		if err != nil || !ok {
			t.Fatalf("Reuse %s:%d: %t, %v", r.Secret.File, r.Secret.Line, ok, err)
		}
		if seen[r.Packet] {
			t.Errorf("%s:%d reuses the packet of another block", r.Secret.File, r.Secret.Line)
		}
		seen[r.Packet] = true
		if !bytes.Equal(out.files[r.Packet], first.out.files[r.Packet]) {
			t.Errorf("%s:%d: not the packet of the first build", r.Secret.File, r.Secret.Line)
		}
	}
	if len(seen) != 6 {
		t.Errorf("%d packets reused, want 6", len(seen))
	}
}

func pageOf(pages []*site.Page, path string) *site.Page {
	for _, p := range pages {
		if p.Path == path {
			return p
		}
	}
	return nil
}

// The packet key covers the block's page, its rank among the page's
// blocks of the same content, and the content.
func TestPacketKey(t *testing.T) {
	keys := map[string]bool{}
	for _, path := range []string{"content/a.md", "content/b.md"} {
		for rank := range 3 {
			for _, content := range []string{"c1", "c2"} {
				keys[packetKey(path, rank, content)] = true
			}
		}
	}
	if len(keys) != 12 {
		t.Errorf("%d keys for 12 blocks", len(keys))
	}
	if packetKey("content/a.md", 1, "c1") != packetKey("content/a.md", 1, "c1") {
		t.Error("the same block, another key")
	}
}

// The cache's keys are what earlier versions computed, so that a cache
// they wrote keeps serving: the packet key of a block and the content key
// of its plaintext, against their definitions.
func TestCacheKeysStable(t *testing.T) {
	hexSum := func(parts ...string) string {
		h := sha256.New()
		for _, p := range parts {
			h.Write([]byte(p))
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	long := strings.Repeat("content/section/", 20) + "page.md" // longer than packetKey's room on the stack
	for _, path := range []string{"content/a.md", "content/ünïcode page.md", long} {
		for _, rank := range []int{0, 1, 12345} {
			content := hexSum("c", path)
			want := hexSum(fmt.Sprintf("conclave packet v2\n%s\x00%d\x00%s", path, rank, content))
			if got := packetKey(path, rank, content); got != want {
				t.Errorf("packetKey(%q, %d) = %s, want %s", path, rank, got, want)
			}
		}
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	aud := &Audience{ID: hexSum("audience"), Members: []string{"alice"}}
	var sum [sha256.Size]byte
	for _, n := range []int{0, 512, 5000} {
		pt := bytes.Repeat([]byte("p"), n)
		want := hexSum("conclave packet content v1\n"+aud.ID+"\n"+id.Recipient().String()+"\n", string(pt))
		if got := contentKey(contentPrefix(aud, id.Recipient()), pt, &sum); got != want {
			t.Errorf("contentKey of %d bytes = %s, want %s", n, got, want)
		}
	}
}

// Blocks are sealed after the blocks they hold, and otherwise in the
// order of the page.
func TestPostOrder(t *testing.T) {
	d := parse(t, newConv(t), page("content/n.md", "::::: restricted to=members\nA\n\n:::: restricted to=board\nB\n\n::: restricted to=alice\nC\n:::\n::::\n\n"+
		"::: restricted to=vendors\nD\n:::\n:::::\n\n::: restricted to=board\nE\n:::\n"))[0]
	name := map[*restricted.Block]string{}
	for i, b := range d.Blocks {
		name[b] = string(rune('A' + i))
	}
	var got string
	for _, b := range postOrder(d.Blocks) {
		got += name[b]
	}
	if got != "CBDAE" {
		t.Errorf("order %s, want CBDAE", got)
	}
}
