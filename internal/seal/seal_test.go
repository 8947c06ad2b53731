package seal

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/leakcheck"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/markdown/restricted"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// sealPages are the pages of the sealing tests. Every block holds a
// phrase of its own ("secret A" …), so that a test can tell where each
// block's text went.
func sealPages() []*site.Page {
	merger := labelled(whole(page("content/merger.md", "The merger plan, secret W.\n\n::: restricted to=alice\nOnly for Alice, secret X.\n:::\n"), "board"), tlp.Amber)
	merger.Front.Title = "Quarterly merger plan"
	merger.Front.Summary = "Who buys whom"
	merger.Front.Tags = []string{"merger", "finance"}
	return []*site.Page{
		page("content/a.md", "# Public title\n\nPublic intro.\n\n"+
			"::: restricted to=board tlp=amber\nShared passage, secret A.\n:::\n\n"+
			"::: restricted to=vendors\n- Vendor list, secret B\n- *second* item\n:::\n\n"+
			"::: restricted to=members tlp=amber\nOuter passage, secret C.\n\n::: restricted to=carol tlp=red\nInner passage, secret D.\n:::\n\nOuter end, secret E.\n:::\n\nPublic end.\n"),
		page("content/b.md", "::: restricted to=board tlp=amber\nShared passage, secret A.\n:::\n\nBetween.\n\n::: restricted to=alice,carol tlp=amber\nShared passage, secret A.\n:::\n"),
		merger,
		page("content/pq.md", "::: restricted to=pqteam\nPost-quantum passage, secret P.\n:::\n\n::: restricted to=erin\nErin's passage, secret Q.\n:::\n\n::: restricted to=erin\nA long passage, secret L: "+strings.Repeat("many words & more <words> ", 80)+"\n:::\n"),
	}
}

// leaf is what a block without nested blocks must seal to.
type leaf struct {
	aud  *Audience
	html []byte // the block's rendering
}

var phrase = regexp.MustCompile(`secret [A-Z]`)

// expectedLeaves renders the blocks that hold no other block of a second
// parse of pages, by the phrase they hold and their audience's ID.
func expectedLeaves(t *testing.T, conv *markdown.Converter, reg *audience.Registry, cfg *site.Config, pages []*site.Page) map[string]leaf {
	t.Helper()
	var clones []*site.Page
	for _, p := range pages {
		clones = append(clones, clonePage(p))
	}
	docs := parse(t, conv, clones...)
	plan, err := NewPlan(docs, reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]leaf{}
	for _, d := range docs {
		for _, b := range d.Blocks {
			if slices.ContainsFunc(d.Blocks, func(o *restricted.Block) bool { return enclosing(o) == b }) {
				continue
			}
			var buf bytes.Buffer
			if err := conv.RenderChildren(&buf, d, b); err != nil {
				t.Fatal(err)
			}
			p := phrase.FindString(buf.String())
			if p == "" {
				t.Fatalf("block %s holds no phrase", b)
			}
			out[p+"|"+plan.Of(b).ID] = leaf{aud: plan.Of(b), html: buf.Bytes()}
		}
	}
	return out
}

// checkPadded checks that plaintext is html padded as pad does.
func checkPadded(t *testing.T, what string, plaintext, html []byte) {
	t.Helper()
	if len(plaintext) < 512 || padmeSize(len(plaintext)) != len(plaintext) || len(plaintext) != padmeSize(max(len(html), 512)) {
		t.Errorf("%s: %d bytes of plaintext for %d bytes of HTML: not padded to at least 512 bytes and a Padmé size", what, len(plaintext), len(html))
	}
	if !bytes.HasPrefix(plaintext, html) {
		t.Errorf("%s: packet holds\n%s\nwant\n%s", what, plaintext, html)
		return
	}
	if rest := plaintext[len(html):]; strings.Trim(string(rest), "\n") != "" {
		t.Errorf("%s: padding is not newlines: %q", what, rest)
	}
}

// sealAll seals docs, one goroutine each.
func sealAll(t *testing.T, s *Sealer, docs []*markdown.Doc, emit Emit) []leakcheck.Secret {
	t.Helper()
	var (
		mu      sync.Mutex
		secrets []leakcheck.Secret
		wg      sync.WaitGroup
	)
	for _, d := range docs {
		wg.Go(func() {
			recs, err := s.Seal(d, emit)
			if err != nil {
				t.Errorf("Seal %s: %v", d.Page.Path, err)
			}
			mu.Lock()
			for _, r := range recs {
				secrets = append(secrets, r.Secret)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return secrets
}

func TestSeal(t *testing.T) {
	conv := newConv(t)
	reg := fixtureRegistry(t)
	cfg := config()
	pages := sealPages()
	want := expectedLeaves(t, conv, reg, cfg, pages)
	docs := parse(t, conv, pages...)
	plan, err := NewPlan(docs, reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// What each block must seal to, noted before sealing changes the tree.
	type planned struct {
		block   *restricted.Block
		outer   *restricted.Block // the enclosing block, or nil
		aud     *Audience
		label   tlp.Label
		display string
		line    int
		texts   []string
	}
	byDoc := map[*markdown.Doc][]planned{}
	for _, d := range docs {
		for _, b := range d.Blocks {
			label, display := plan.Label(b)
			byDoc[d] = append(byDoc[d], planned{b, enclosing(b), plan.Of(b), label, display, d.BlockLine(b), d.Texts(b)})
		}
	}
	cache, warning, err := OpenCache(t.TempDir(), make([]byte, KeySize))
	if err != nil || warning != "" {
		t.Fatal(err, warning)
	}
	s, err := NewSealer(plan, conv, cache)
	if err != nil {
		t.Fatal(err)
	}
	out := newOutputs()
	secrets := sealAll(t, s, docs, out.emit)

	for p, n := range out.count {
		if n != 1 {
			t.Errorf("%s emitted %d times", p, n)
		}
	}
	packets := out.under(format.PacketDir)
	if len(packets) != len(out.files) {
		t.Errorf("Seal emitted files outside %s: %v", format.PacketDir, slices.Sorted(maps.Keys(out.files)))
	}
	// Every packet decrypts with its audience's key to its block's HTML.
	opened := map[string][]byte{} // packet path → plaintext
	var open func(path string, aud *Audience) []byte
	open = func(path string, aud *Audience) []byte {
		ct, ok := packets[path]
		if !ok {
			t.Fatalf("placeholder names %s, which was not emitted", path)
		}
		pt := mustDecrypt(t, path, ct, s.ids[aud.ID])
		for id, other := range s.ids {
			if id != aud.ID {
				if _, err := decrypt(t, ct, other); err == nil {
					t.Errorf("%s decrypts with the key of another audience", path)
				}
			}
		}
		if len(pt) < 512 || padmeSize(len(pt)) != len(pt) {
			t.Errorf("%s: %d bytes of plaintext: not padded", path, len(pt))
		}
		opened[path] = pt
		return pt
	}
	checkLeaf := func(path string, pt []byte, aud *Audience) {
		t.Helper()
		ph := phrase.FindString(string(pt))
		w, ok := want[ph+"|"+aud.ID]
		if !ok {
			t.Fatalf("%s: no block for %v holds %q", path, aud.Members, ph)
		}
		checkPadded(t, path+" ("+ph+")", pt, w.html)
	}
	placeholderPath := regexp.MustCompile(`data-packet="(packets/[0-9a-f]{32}\.age)"`)
	for _, d := range docs {
		if d.Blocks != nil {
			t.Errorf("%s: Blocks = %v after sealing", d.Page.Path, d.Blocks)
		}
		got := sealed(t, d)
		var top []planned
		for _, pb := range byDoc[d] {
			if pb.outer == nil {
				top = append(top, pb)
			}
		}
		if len(got) != len(top) {
			t.Fatalf("%s: %d placeholders for %d outermost blocks", d.Page.Path, len(got), len(top))
		}
		for i, pl := range got {
			pb := top[i]
			if pl.TLP != pb.label || pl.Audience != pb.display || pl.Whole != pb.block.Whole {
				t.Errorf("%s: placeholder %+v, want label %v, audience %q, whole %t", d.Page.Path, pl, pb.label, pb.display, pb.block.Whole)
			}
			pt := open(pl.Packet, pb.aud)
			inner := placeholderPath.FindAllSubmatch(pt, -1)
			if len(inner) == 0 {
				if !pb.block.Whole {
					checkLeaf(pl.Packet, pt, pb.aud)
				}
				continue
			}
			// An outer block's packet holds the placeholders of its inner
			// blocks, never their text.
			for _, m := range inner {
				var innerPlan *planned
				for _, o := range byDoc[d] {
					if o.outer == pb.block {
						innerPlan = &o
					}
				}
				ipt := open(string(m[1]), innerPlan.aud)
				checkLeaf(string(m[1]), ipt, innerPlan.aud)
				if p := phrase.FindString(string(ipt)); bytes.Contains(pt, []byte(p)) {
					t.Errorf("the packet of the outer block holds the inner block's %q", p)
				}
			}
		}
	}
	if len(opened) != len(packets) {
		t.Errorf("%d packets emitted, %d named by placeholders", len(packets), len(opened))
	}

	// Two identical blocks for the same audience, on two pages, are two
	// packets; so is the same text for another audience.
	a, b := docs[0], docs[1]
	aFirst, bFirst := sealed(t, a)[0].Packet, sealed(t, b)
	if bFirst[0].Packet == aFirst || bFirst[1].Packet == aFirst || bFirst[0].Packet == bFirst[1].Packet {
		t.Errorf("blocks of the same text share a packet: %s, %s, %s", aFirst, bFirst[0].Packet, bFirst[1].Packet)
	}
	// 11 blocks, 11 packets.
	if st := s.Stats(); st.Blocks != 11 || st.Pages != 1 || st.Packets != 11 || st.Packets != len(packets) || st.Audiences != len(plan.Audiences()) || st.Fresh != 11 || st.CachedPackets != 0 {
		t.Errorf("stats = %+v", st)
	}

	// The whole page: a public copy, and the real title in the packet.
	merger := docs[2]
	if merger.Page == pages[2] {
		t.Fatalf("the page restricted as a whole was not replaced by a copy")
	}
	if f := merger.Page.Front; f.Title != RestrictedTitle || f.Summary != "" || f.Tags != nil || f.TLP != tlp.Amber {
		t.Errorf("public copy of a whole page: %+v", f)
	}
	if f := pages[2].Front; f.Title != "Quarterly merger plan" || len(f.Tags) != 2 {
		t.Errorf("the page itself was changed: %+v", f)
	}
	mergerPacket := opened[sealed(t, merger)[0].Packet]
	for _, w := range []string{`<header class="sealed-header">`, "<h1>Quarterly merger plan</h1>", "Who buys whom", "Tags: merger, finance", "secret W", `class="sealed tlp-amber"`} {
		if !bytes.Contains(mergerPacket, []byte(w)) {
			t.Errorf("the whole page's packet lacks %q:\n%s", w, mergerPacket)
		}
	}
	if bytes.Contains(mergerPacket, []byte("secret X")) {
		t.Errorf("the whole page's packet holds the text of the block inside it")
	}

	// A page without a label takes its strictest block's.
	if l := docs[0].Page.Front.TLP; l != tlp.Red {
		t.Errorf("label of a page without one = %v, want its strictest block's, red", l)
	}
	if l := pages[0].Front.TLP; l != tlp.None {
		t.Errorf("Seal changed the page itself")
	}

	// The texts of each block are returned for the leak scan.
	var phrases []string
	for _, sec := range secrets {
		all := strings.Join(sec.Texts, "\n")
		found := phrase.FindAllString(all, -1)
		if len(found) == 0 {
			t.Errorf("secret of %s:%d holds no text of its block: %q", sec.File, sec.Line, sec.Texts)
		}
		slices.Sort(found)
		phrases = append(phrases, slices.Compact(found)...)
		if sec.File == "content/merger.md" && sec.Line == 2 {
			for _, w := range []string{"Quarterly merger plan", "Who buys whom", "merger", "finance", "The merger plan, secret W."} {
				if !slices.Contains(sec.Texts, w) {
					t.Errorf("secret of the whole page lacks %q: %q", w, sec.Texts)
				}
			}
		}
	}
	slices.Sort(phrases)
	if got := strings.Join(phrases, ","); got != "secret A,secret A,secret A,secret B,secret C,secret D,secret E,secret L,secret P,secret Q,secret W,secret X" {
		t.Errorf("phrases of the secrets: %s", got)
	}
	var where []string
	for _, sec := range secrets {
		where = append(where, fmt.Sprintf("%s:%d", sec.File, sec.Line))
	}
	slices.Sort(where)
	if got := strings.Join(where, " "); got != "content/a.md:13 content/a.md:18 content/a.md:21 content/a.md:9 content/b.md:11 content/b.md:5 content/merger.md:2 content/merger.md:7 content/pq.md:13 content/pq.md:5 content/pq.md:9" {
		t.Errorf("secrets at %s", got)
	}

	// Keys: the post-quantum audience has a hybrid key.
	for _, a := range plan.Audiences() {
		_, hybrid := s.ids[a.ID].(*age.HybridIdentity)
		if hybrid != a.PostQuantum {
			t.Errorf("audience %v: post-quantum %t, hybrid key %t", a.Members, a.PostQuantum, hybrid)
		}
	}
}

// Without a cache, identical blocks are encrypted apart; each packet is
// still emitted once.
func TestSealNoCache(t *testing.T) {
	conv := newConv(t)
	reg := fixtureRegistry(t)
	docs := parse(t, conv, sealPages()...)
	plan, err := NewPlan(docs, reg, config())
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSealer(plan, conv, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := newOutputs()
	sealAll(t, s, docs, out.emit)
	if a, b := sealed(t, docs[0])[0].Packet, sealed(t, docs[1])[0].Packet; a == b {
		t.Errorf("two encryptions gave one packet")
	}
	if st := s.Stats(); st.Packets != 11 || len(out.files) != 11 || st.CachedPackets != 0 {
		t.Errorf("stats %+v, %d files", st, len(out.files))
	}
	if err := s.Keyrings(reg, out.emit); err != nil {
		t.Fatal(err)
	}
}

// A block that is not in the plan is refused, and left in the tree.
func TestSealUnplanned(t *testing.T) {
	conv := newConv(t)
	reg := fixtureRegistry(t)
	docs := parse(t, conv, page("content/a.md", "::: restricted to=board\nx\n:::\n"))
	plan, err := NewPlan(docs, reg, config())
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSealer(plan, conv, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := parse(t, conv, page("content/b.md", "Public.\n\n::: restricted to=board\ny\n:::\n"))[0]
	out := newOutputs()
	if _, err := s.Seal(other, out.emit); err == nil || err.Error() != "content/b.md:7: restricted block was not planned (a bug in conclave; refused)" {
		t.Errorf("error = %v", err)
	}
	if len(out.files) != 0 || len(other.Blocks) != 1 {
		t.Errorf("an unplanned block was sealed")
	}
}

func TestKeyrings(t *testing.T) {
	conv := newConv(t)
	ps := fixturePeople(t)
	reg := fixtureRegistry(t)
	docs := parse(t, conv, sealPages()...)
	plan, err := NewPlan(docs, reg, config())
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSealer(plan, conv, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := newOutputs()
	sealAll(t, s, docs, out.emit)
	if err := s.Keyrings(reg, out.emit); err != nil {
		t.Fatal(err)
	}
	keyrings := out.under(format.KeyringDir)
	// Each recipient's audiences, by the plan.
	want := map[string][]string{}
	for _, a := range plan.Audiences() {
		for _, m := range a.Members {
			want[m] = append(want[m], identityString(s.ids[a.ID]))
		}
	}
	total := 0
	for _, name := range slices.Sorted(maps.Keys(ps)) {
		p := ps[name]
		slices.Sort(want[name])
		classes := map[bool]bool{}
		for _, k := range p.keys {
			classes[k.PostQuantum] = true
		}
		var mine []string // keyrings this recipient can open
		for i, id := range p.ids {
			var opens []string
			for path, ct := range keyrings {
				pt, err := decrypt(t, ct, id)
				if err != nil {
					continue
				}
				opens = append(opens, path)
				got := identityStrings(t, pt)
				if want[name] == nil {
					// A keyring all the same, with one key that opens
					// nothing: the count of keyrings says nothing of
					// who is in an audience.
					if len(got) != 1 || slices.ContainsFunc(slices.Collect(maps.Values(s.ids)), func(id age.Identity) bool { return identityString(id) == got[0] }) {
						t.Errorf("%s belongs to no audience, but keyring %s holds %v", name, path, got)
					}
					continue
				}
				if !slices.Equal(got, want[name]) {
					t.Errorf("%s's keyring %s holds %d keys, want the %d of %s's audiences", name, path, len(got), len(want[name]), name)
				}
			}
			if len(opens) != 1 {
				t.Errorf("%s's key %d (post-quantum %t) opens %d keyrings, want 1", name, i, p.keys[i].PostQuantum, len(opens))
			}
			mine = append(mine, opens...)
		}
		slices.Sort(mine)
		mine = slices.Compact(mine)
		if len(mine) != len(classes) {
			t.Errorf("%s has %d keyrings for %d classes of keys", name, len(mine), len(classes))
		}
		total += len(classes)
	}
	if len(want) == len(ps) {
		t.Fatal("the fixture has no recipient outside every audience")
	}
	if len(keyrings) != total {
		t.Errorf("%d keyrings, want %d (one per recipient and class of keys)", len(keyrings), total)
	}
	if st := s.Stats(); st.Keyrings != total || st.Recipients != len(ps) {
		t.Errorf("stats = %+v, want %d keyrings for %d recipients", st, total, len(ps))
	}
	// A keyring of erin, who has both classes, per class.
	if _, ok := want["erin"]; !ok {
		t.Fatal("erin is in no audience")
	}
	// Nothing the build emits names a recipient's key or holds an
	// audience key in clear.
	for path, data := range out.files {
		for _, p := range ps {
			for _, k := range p.keys {
				if bytes.Contains(data, []byte(k.Text)) || strings.Contains(path, p.name) {
					t.Errorf("%s names %s or their key", path, p.name)
				}
			}
		}
		if bytes.Contains(data, []byte("AGE-SECRET"+"-KEY")) {
			t.Errorf("%s holds a secret key in clear", path)
		}
	}
}

func TestPadmeSize(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{0, 0}, {1, 1}, {2, 2}, {3, 3}, {7, 7}, {9, 10}, {100, 104},
		{511, 512}, {512, 512}, {513, 544}, {1000, 1024}, {1024, 1024}, {1025, 1088},
		{4097, 4352}, {65537, 67584}, {10 << 20, 10 << 20}, {10<<20 + 1, 10747904},
	} {
		if got := padmeSize(tc.n); got != tc.want {
			t.Errorf("padmeSize(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
	limit := 10 << 20
	if testing.Short() {
		limit = 1 << 20
	}
	prev, worst := 0, 0.0
	for n := 1; n <= limit; n++ {
		size := padmeSize(max(n, 512))
		if size < n || size < prev {
			t.Fatalf("padded size of %d bytes is %d (of %d bytes: %d)", n, size, n-1, prev)
		}
		if n >= 512 {
			over := float64(size-n) / float64(n)
			if over > 0.12 {
				t.Fatalf("padded size of %d bytes is %d: %.1f%% more", n, size, 100*over)
			}
			worst = max(worst, over)
		}
		if padmeSize(size) != size {
			t.Fatalf("padmeSize(%d) = %d is not a fixed point", size, padmeSize(size))
		}
		prev = size
	}
	t.Logf("worst overhead up to %d bytes: %.2f%%", limit, 100*worst)
}

func TestPad(t *testing.T) {
	for _, n := range []int{0, 1, 511, 512, 513, 1000, 5000} {
		in := bytes.Repeat([]byte("x"), n)
		out := pad(in)
		if len(out) != padmeSize(max(n, 512)) || !bytes.HasPrefix(out, in) || strings.Trim(string(out[n:]), "\n") != "" {
			t.Errorf("pad of %d bytes: %d bytes", n, len(out))
		}
	}
}
