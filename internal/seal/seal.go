// Package seal encrypts restricted passages so that only their audiences
// can read them, in two levels that keep every file a standard age file
// (DESIGN §4):
//
//  1. Each distinct audience (a set of recipients after group expansion)
//     gets an age identity for the release: X25519, or hybrid post-quantum
//     when every member's keys are post-quantum or the site asks for it.
//  2. Each restricted block is rendered to HTML, padded, and encrypted to
//     its audience's key: packets/<name>.age. The page keeps a placeholder
//     naming the packet, the TLP label and the audience's display label.
//  3. Each recipient gets a keyring, packets/keyrings/<name>.age, encrypted
//     to all of that recipient's keys, whose plaintext is an age identity
//     file holding the keys of every audience the recipient belongs to. A
//     guest's passphrase key gets a keyring of its own, sealed with the
//     passphrase (age's scrypt, which admits no other recipient).
//
// The cost is one stanza per packet and one per recipient key: it grows
// with the number of blocks plus the number of recipients, not with their
// product. File names are digests of the ciphertext: no recipient name,
// public key or plaintext is in the output.
//
// The output says as little as it can of who reads what (DESIGN §4,
// "Metadata"): packets are padded (Padmé); two blocks of the same text
// and audience are two packets; every keyring of a build has the same
// size, and is encrypted anew by every build.
//
// With a [Cache], unchanged blocks of unchanged audiences keep their
// ciphertext between builds, and so their packet names. Keyrings are
// never cached.
//
// [NewPlan] checks every block's audience and label before anything is
// encrypted; a [Sealer] then seals the documents, replacing each block in
// the tree by a placeholder before any page is rendered.
package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"sync"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/leakcheck"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/markdown/restricted"
	"github.com/conclave-dev/conclave/internal/par"
	"github.com/conclave-dev/conclave/internal/search"
	"github.com/conclave-dev/conclave/internal/site"
)

// RestrictedTitle is the public title of a page restricted as a whole.
const RestrictedTitle = "Restricted briefing"

// Emit receives one output file; it is called from several goroutines.
type Emit func(path string, data []byte) error

// Sealer seals the documents of one build. It is safe for concurrent use.
type Sealer struct {
	plan  *Plan
	conv  *markdown.Converter
	cache *Cache // nil: no cache

	ids  map[string]age.Identity // audience ID → its identity
	keys map[string]*audienceKey // audience ID → what sealing uses of its key
	text map[string]string       // audience ID → its identity as text, for keyrings

	mu      sync.Mutex
	emitted map[string]bool // packet paths written
	stats   Stats
}

// audienceKey is what sealing a packet uses of its audience's key, worked
// out once per build rather than once per packet.
type audienceKey struct {
	recipient age.Recipient
	content   []byte // how [contentKey] starts for this audience and key
}

// Stats counts what a Sealer did.
type Stats struct {
	Blocks, Pages        int // blocks sealed; whole pages among them
	Packets, Keyrings    int // files written
	Audiences            int
	Recipients           int // recipients with a keyring
	CachedPackets, Fresh int // packets reused from the cache, and encrypted anew
	Attachments          int // files sealed as attachments (their packets count in Packets)
}

// NewSealer makes or reuses the key of every audience of plan. cache may
// be nil.
func NewSealer(plan *Plan, conv *markdown.Converter, cache *Cache) (*Sealer, error) {
	s := &Sealer{plan: plan, conv: conv, cache: cache, ids: map[string]age.Identity{}, keys: map[string]*audienceKey{}, text: map[string]string{}, emitted: map[string]bool{}}
	// A key each, on every core: reading one back from the cache costs
	// scalar multiplications (age's, then the check of fastRecipient).
	auds := plan.Audiences()
	ids := make([]age.Identity, len(auds))
	keys := make([]*audienceKey, len(auds))
	errs := par.Each(len(auds), 0, func(i int) error {
		id, r, err := cache.audienceKey(auds[i])
		if err != nil {
			return fmt.Errorf("audience key: %w", err)
		}
		if fast, err := fastRecipient(id); err != nil {
			return err
		} else if fast != nil {
			r = fast
		}
		ids[i], keys[i] = id, &audienceKey{recipient: r, content: contentPrefix(auds[i], r)}
		return nil
	})
	if len(errs) > 0 {
		return nil, errs[0]
	}
	for i, a := range auds {
		s.ids[a.ID], s.text[a.ID] = ids[i], identityString(ids[i])
		s.keys[a.ID] = keys[i]
	}
	s.stats.Audiences = len(plan.audiences)
	return s, nil
}

// Stats returns what the sealer did so far.
func (s *Sealer) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Record is what a build keeps of one sealed block, so that a later build
// of the same page, with the same keys, can publish the block again
// without parsing or encrypting it: see [Plan.Reuse] and [Sealer.Reuse].
type Record struct {
	Audience  Audience
	PacketKey string // the packet's key in the [Cache]
	Packet    string // its output path
	Whole     bool
	// Secret is the block's text, for the leak scan.
	Secret leakcheck.Secret
	// Search is the block's entry in its audience's search index: its
	// text without the blocks nested in it, its label and audience, and,
	// for a page restricted as a whole, its title and tags. The build
	// adds the page's address and date.
	Search *search.Doc
}

// Seal replaces every restricted block of d with a placeholder, emitting
// one packet per block, inner blocks before the block around them, and
// otherwise in the order of the page. A page restricted as a
// whole gets a public stand-in: d.Page is replaced by a copy titled
// [RestrictedTitle], without summary or tags. A page without a label
// takes its strictest block's.
//
// It returns a record of each block, with its text for the leak scan.
func (s *Sealer) Seal(d *markdown.Doc, emit Emit) ([]Record, error) {
	if len(d.Blocks) == 0 {
		return nil, nil
	}
	if err := s.linkAttachments(d); err != nil {
		return nil, err
	}
	records := make([]Record, 0, len(d.Blocks))
	page := *d.Page
	page.Front.TLP = s.plan.PageLabel(d)
	// How many blocks of the page before this one had the same audience
	// and plaintext: each gets a packet of its own.
	seen := map[string]int{}
	// The HTML of each block, then its padding, then its packet: buffers
	// kept from block to block, so that a block costs no allocation of
	// its own for them.
	w := getWork()
	defer putWork(w)
	for _, b := range postOrder(d.Blocks) {
		pb := s.plan.blocks[b]
		if pb == nil {
			return nil, diag.Errorf(d.Page.Path, d.BlockLine(b), "restricted block was not planned (a bug in conclave; refused)")
		}
		texts := d.Texts(b)
		sd := &search.Doc{SearchDoc: format.SearchDoc{TLP: pb.label.Display(), Class: pb.label.Class(), Audience: pb.display}}
		sd.Headings, sd.Text = d.SearchText(b)
		w.html.Reset()
		if b.Whole {
			f := d.Page.Front
			texts = append(texts, f.Title, f.Summary)
			texts = append(texts, f.Tags...)
			sd.Title, sd.Tags = f.Title, f.Tags
			if f.Summary != "" {
				sd.Text = f.Summary + "\n" + sd.Text
			}
			writeHeader(&w.html, d.Page)
			page.Front.Title, page.Front.Summary, page.Front.Tags = RestrictedTitle, "", nil
		}
		// w.html is a buffered writer to goldmark (util.BufWriter): it
		// renders into it directly, without a bufio.Writer of its own for
		// each node.
		if err := s.conv.RenderChildren(&w.html, d, b); err != nil {
			return nil, diag.Errorf(d.Page.Path, d.BlockLine(b), "rendering restricted block: %v", err)
		}
		if b.Whole {
			s.writeBundled(&w.html, d.Page)
		}
		key, path, err := s.packet(d.Page.Path, seen, pb.aud, w.html.padded(), w, emit)
		if err != nil {
			return nil, &diag.Error{File: d.Page.Path, Line: d.BlockLine(b), Msg: "sealing: " + err.Error(), Err: err}
		}
		restricted.Replace(b, &restricted.Sealed{Packet: path, TLP: pb.label, Audience: pb.display, Whole: b.Whole})
		records = append(records, Record{Audience: *pb.aud, PacketKey: key, Packet: path, Whole: b.Whole,
			Secret: leakcheck.Secret{File: d.Page.Path, Line: d.BlockLine(b), Texts: texts}, Search: sd})
		s.mu.Lock()
		s.stats.Blocks++
		if b.Whole {
			s.stats.Pages++
		}
		s.mu.Unlock()
	}
	d.Blocks = nil
	d.Page = &page
	return records, nil
}

// work holds the buffers that [Sealer.Seal] reuses from block to block,
// and from page to page through a pool.
type work struct {
	html htmlBuffer   // the block's HTML, then its padding
	ct   bytes.Buffer // its packet, before the copy that is emitted
	sum  [sha256.Size]byte
}

// maxPooled is the largest buffer a work keeps for the next page: a rare
// huge passage does not pin its memory for the rest of the build.
const maxPooled = 1 << 20

var workPool = sync.Pool{New: func() any { return new(work) }}

func getWork() *work { return workPool.Get().(*work) }

// putWork gives w back to the pool, its HTML wiped: the passages in clear
// it held do not outlive their page there.
func putWork(w *work) {
	b := w.html.Bytes()
	clear(b[:cap(b)])
	w.html.Reset()
	w.ct.Reset()
	if w.html.Cap() > maxPooled || w.ct.Cap() > maxPooled {
		return
	}
	workPool.Put(w)
}

// htmlBuffer is a bytes.Buffer that goldmark's renderer takes as it is
// (a util.BufWriter, which it otherwise wraps a new 4 KiB bufio.Writer
// around for every node it renders).
type htmlBuffer struct{ bytes.Buffer }

// Buffered reports no bytes waiting: they are all in the buffer already.
func (*htmlBuffer) Buffered() int { return 0 }

// Flush does nothing: the buffer is where the bytes go.
func (*htmlBuffer) Flush() error { return nil }

// padded pads the buffer's bytes as [pad] does, growing the buffer itself
// so that the room stays for the next block, and returns them.
func (b *htmlBuffer) padded() []byte {
	n := padmeSize(max(b.Len(), 512))
	b.Grow(n - b.Len())
	return pad(b.Bytes())
}

// postOrder returns blocks, given in the order of their page, with every
// block after the blocks it holds and otherwise in the same order: when
// a block's turn comes, its nested blocks are sealed (its rendering names
// their packets), and so is every block before it on the page that does
// not hold it, which is how blocks of the same text are ranked.
func postOrder(blocks []*restricted.Block) []*restricted.Block {
	out := make([]*restricted.Block, 0, len(blocks))
	var open []*restricted.Block // the blocks around the current one
	holds := func(outer, b *restricted.Block) bool {
		for o := enclosing(b); o != nil; o = enclosing(o) {
			if o == outer {
				return true
			}
		}
		return false
	}
	for _, b := range blocks {
		for len(open) > 0 && !holds(open[len(open)-1], b) {
			out = append(out, open[len(open)-1])
			open = open[:len(open)-1]
		}
		open = append(open, b)
	}
	for len(open) > 0 {
		out = append(out, open[len(open)-1])
		open = open[:len(open)-1]
	}
	return out
}

// Reuse publishes again the packet of a block sealed by an earlier build,
// from the cache. It reports false, and emits nothing, if the cache no
// longer holds the packet or its audience's key: the block must then be
// sealed anew. The record's audience must be in the plan ([Plan.Reuse]).
func (s *Sealer) Reuse(r Record, emit Emit) (bool, error) {
	if !s.cache.Has(r) {
		return false, nil
	}
	ct, ok := s.cache.packet(r.PacketKey)
	if !ok || format.PacketPath(format.DigestName(ct)) != r.Packet {
		return false, nil
	}
	s.mu.Lock()
	s.stats.Blocks++
	if r.Whole {
		s.stats.Pages++
	}
	s.mu.Unlock()
	_, err := s.publish(r.Packet, ct, true, emit)
	return true, err
}

// publish emits the packet ct at out, unless this build emitted it
// already (two passages of the same text in one block's place), and
// counts it, as taken from the cache or encrypted now. It reports
// whether it emitted it.
func (s *Sealer) publish(out string, ct []byte, cached bool, emit Emit) (bool, error) {
	s.mu.Lock()
	dup := s.emitted[out]
	s.emitted[out] = true
	if cached {
		s.stats.CachedPackets++
	} else {
		s.stats.Fresh++
	}
	if !dup {
		s.stats.Packets++
	}
	s.mu.Unlock()
	if dup {
		return false, nil
	}
	return true, emit(out, ct)
}

// writeHeader writes the title, summary and tags of a page restricted as a
// whole at the top of its packet: they are as secret as its body.
func writeHeader(b *htmlBuffer, p *site.Page) {
	b.WriteString(`<header class="` + format.ClassSealedHeader + `">` + "\n")
	b.WriteString("<h1>" + html.EscapeString(p.Front.Title) + "</h1>\n")
	if p.Front.Summary != "" {
		b.WriteString(`<p class="summary">` + html.EscapeString(p.Front.Summary) + "</p>\n")
	}
	if len(p.Front.Tags) > 0 {
		b.WriteString(`<p class="tags">Tags: ` + html.EscapeString(strings.Join(p.Front.Tags, ", ")) + "</p>\n")
	}
	b.WriteString("</header>\n")
}

// packet encrypts plaintext to aud, or takes the ciphertext the cache
// holds for the same block (see [packetKey]), and emits it. seen counts
// the blocks of the page at path sealed so far by content, so that two
// blocks of the same text and audience are two packets. w's buffers are
// used on the way. It returns the packet's key in the cache and its path.
func (s *Sealer) packet(path string, seen map[string]int, aud *Audience, plaintext []byte, w *work, emit Emit) (string, string, error) {
	ak := s.keys[aud.ID]
	if ak == nil {
		return "", "", fmt.Errorf("audience has no key (a bug in conclave)")
	}
	content := contentKey(ak.content, plaintext, &w.sum)
	key := packetKey(path, seen[content], content)
	seen[content]++
	ct, cached := s.cache.packet(key)
	if !cached {
		w.ct.Reset()
		if err := encryptTo(&w.ct, plaintext, ak.recipient); err != nil {
			return "", "", err
		}
		// The packet leaves w: the build keeps it (to write it, to scan
		// it, in the cache), and w is reused for the next block.
		ct = s.cache.putPacket(key, bytes.Clone(w.ct.Bytes()))
	}
	out := format.PacketPath(format.DigestName(ct))
	_, err := s.publish(out, ct, cached, emit)
	return key, out, err
}

func encrypt(plaintext []byte, rs ...age.Recipient) ([]byte, error) {
	var b bytes.Buffer
	if err := encryptTo(&b, plaintext, rs...); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encryptTo writes plaintext encrypted to rs, an age file, to dst.
func encryptTo(dst io.Writer, plaintext []byte, rs ...age.Recipient) error {
	w, err := age.Encrypt(dst, rs...)
	if err != nil {
		return err
	}
	if _, err := w.Write(plaintext); err != nil {
		return err
	}
	return w.Close()
}

// contentPrefix is how [contentKey] starts for the packets of aud, whose
// key's recipient is r.
func contentPrefix(aud *Audience, r age.Recipient) []byte {
	return []byte("conclave packet content v1\n" + aud.ID + "\n" + recipientString(r) + "\n")
}

// contentKey identifies a packet's plaintext and audience, and the
// audience key it is encrypted to: a cached packet never serves after its
// audience got another key, which the keyrings would hold instead. prefix
// is the audience's [contentPrefix]; sum is room for the digest.
func contentKey(prefix, plaintext []byte, sum *[sha256.Size]byte) string {
	h := sha256.New()
	h.Write(prefix)
	h.Write(plaintext)
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// packetKey identifies a block's packet in the cache: the block's place,
// its page's path and its rank (from 0) among the blocks of that page with
// the same content, and its content ([contentKey]). Two blocks of the
// same text and audience, on one page or two, are two packets, so that no
// one can tell from the output that they say the same; an unchanged block
// keeps its packet from build to build, whatever changes around it.
func packetKey(path string, rank int, content string) string {
	// "conclave packet v2\n<path>\x00<rank>\x00<content>"
	var room [256]byte
	b := append(room[:0], "conclave packet v2\n"...)
	b = append(b, path...)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(rank), 10)
	b = append(b, 0)
	b = append(b, content...)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// pad grows a packet's plaintext with trailing newlines to a size that
// says little about its length: at least 512 bytes, then the Padmé
// scheme, which leaks O(log log n) bits of the length for at most 12%
// more bytes. Without it, the size of a packet tells "affected: yes" from
// "affected: no". The padding is appended to b, in place when b has room.
func pad(b []byte) []byte {
	n := padmeSize(max(len(b), 512))
	l := len(b)
	if cap(b) < n {
		b = append(make([]byte, 0, n), b...)
	}
	b = b[:n]
	for i := l; i < n; i++ {
		b[i] = '\n'
	}
	return b
}

// padmeSize is the Padmé padded length of n (Nikitin et al., "Reducing
// Metadata Leakage from Encrypted Files and Communication with PURBs").
func padmeSize(n int) int {
	if n < 2 {
		return n
	}
	e := bitLen(n) - 1      // floor(log2 n)
	s := bitLen(e)          // floor(log2 e) + 1
	lastBits := max(e-s, 0) // low bits set to zero
	mask := (1 << lastBits) - 1
	return (n + mask) &^ mask
}

func bitLen(n int) int {
	l := 0
	for ; n > 0; n >>= 1 {
		l++
	}
	return l
}

// recipientString returns an audience key's recipient in age's text form.
func recipientString(r age.Recipient) string { return r.(fmt.Stringer).String() }

// identityString returns an audience key in age's text form.
func identityString(id age.Identity) string { return id.(fmt.Stringer).String() }
