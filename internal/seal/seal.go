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
// With a [Cache], unchanged blocks of unchanged audiences keep their
// ciphertext between builds, and so their packet names.
//
// [NewPlan] checks every block's audience and label before anything is
// encrypted; a [Sealer] then seals the documents, replacing each block in
// the tree by a placeholder before any page is rendered.
package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"slices"
	"strings"
	"sync"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/leakcheck"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/markdown/restricted"
	"github.com/conclave-dev/conclave/internal/site"
)

// Output paths.
const (
	PacketDir  = "packets"
	KeyringDir = "packets/keyrings"
	// KeyringIndex holds every keyring in one file, for the browser's
	// unlock script: one request instead of one per recipient.
	KeyringIndex = "packets/keyrings.json"
)

// keyringIndex is the JSON of [KeyringIndex].
type keyringIndex struct {
	Version  int            `json:"version"`
	Keyrings []keyringEntry `json:"keyrings"`
}

type keyringEntry struct {
	Name       string `json:"name"`       // file name in KeyringDir
	Passphrase bool   `json:"passphrase"` // sealed with an scrypt passphrase
	Data       []byte `json:"data"`       // the age file, base64 in JSON
}

// RestrictedTitle is the public title of a page restricted as a whole.
const RestrictedTitle = "Restricted briefing"

// Emit receives one output file; it is called from several goroutines.
type Emit func(path string, data []byte) error

// Sealer seals the documents of one build. It is safe for concurrent use.
type Sealer struct {
	plan  *Plan
	conv  *markdown.Converter
	cache *Cache // nil: no cache

	ids map[string]age.Identity // audience ID → its identity
	rcp map[string]age.Recipient

	mu      sync.Mutex
	emitted map[string]bool // packet paths written
	stats   Stats
}

// Stats counts what a Sealer did.
type Stats struct {
	Blocks, Pages        int // blocks sealed; whole pages among them
	Packets, Keyrings    int // files written
	Audiences            int
	Recipients           int // recipients with a keyring
	CachedPackets, Fresh int // packets reused from the cache, and encrypted anew
}

// NewSealer makes or reuses the key of every audience of plan. cache may
// be nil.
func NewSealer(plan *Plan, conv *markdown.Converter, cache *Cache) (*Sealer, error) {
	s := &Sealer{plan: plan, conv: conv, cache: cache, ids: map[string]age.Identity{}, rcp: map[string]age.Recipient{}, emitted: map[string]bool{}}
	for _, a := range plan.Audiences() {
		id, r, err := cache.audienceKey(a)
		if err != nil {
			return nil, fmt.Errorf("audience key: %w", err)
		}
		s.ids[a.ID], s.rcp[a.ID] = id, r
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
}

// Seal replaces every restricted block of d with a placeholder, emitting
// one packet per block, innermost blocks first. A page restricted as a
// whole gets a public stand-in: d.Page is replaced by a copy titled
// [RestrictedTitle], without summary or tags. A page without a label
// takes its strictest block's.
//
// It returns a record of each block, with its text for the leak scan.
func (s *Sealer) Seal(d *markdown.Doc, emit Emit) ([]Record, error) {
	if len(d.Blocks) == 0 {
		return nil, nil
	}
	var records []Record
	page := *d.Page
	page.Front.TLP = s.plan.PageLabel(d)
	for i := len(d.Blocks) - 1; i >= 0; i-- {
		b := d.Blocks[i]
		pb := s.plan.blocks[b]
		if pb == nil {
			return nil, diag.Errorf(d.Page.Path, d.BlockLine(b), "restricted block was not planned (a bug in conclave; refused)")
		}
		texts := d.Texts(b)
		var buf bytes.Buffer
		if b.Whole {
			f := d.Page.Front
			texts = append(texts, f.Title, f.Summary)
			texts = append(texts, f.Tags...)
			writeHeader(&buf, d.Page)
			page.Front.Title, page.Front.Summary, page.Front.Tags = RestrictedTitle, "", nil
		}
		if err := s.conv.RenderChildren(&buf, d, b); err != nil {
			return nil, diag.Errorf(d.Page.Path, d.BlockLine(b), "rendering restricted block: %v", err)
		}
		key, path, err := s.packet(pb.aud, pad(buf.Bytes()), emit)
		if err != nil {
			return nil, &diag.Error{File: d.Page.Path, Line: d.BlockLine(b), Msg: "sealing: " + err.Error(), Err: err}
		}
		restricted.Replace(b, &restricted.Sealed{Packet: path, TLP: pb.label, Audience: pb.display, Whole: b.Whole})
		records = append(records, Record{Audience: *pb.aud, PacketKey: key, Packet: path, Whole: b.Whole,
			Secret: leakcheck.Secret{File: d.Page.Path, Line: d.BlockLine(b), Texts: texts}})
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

// Reuse publishes again the packet of a block sealed by an earlier build,
// from the cache. It reports false, and emits nothing, if the cache no
// longer holds the packet or its audience's key: the block must then be
// sealed anew. The record's audience must be in the plan ([Plan.Reuse]).
func (s *Sealer) Reuse(r Record, emit Emit) (bool, error) {
	if !s.cache.Has(r) {
		return false, nil
	}
	ct, ok := s.cache.packet(r.PacketKey)
	if !ok || PacketDir+"/"+digestName(ct)+".age" != r.Packet {
		return false, nil
	}
	s.mu.Lock()
	dup := s.emitted[r.Packet]
	s.emitted[r.Packet] = true
	s.stats.CachedPackets++
	s.stats.Blocks++
	if r.Whole {
		s.stats.Pages++
	}
	if !dup {
		s.stats.Packets++
	}
	s.mu.Unlock()
	if dup {
		return true, nil
	}
	return true, emit(r.Packet, ct)
}

// writeHeader writes the title, summary and tags of a page restricted as a
// whole at the top of its packet: they are as secret as its body.
func writeHeader(b *bytes.Buffer, p *site.Page) {
	b.WriteString(`<header class="sealed-header">` + "\n")
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
// holds for the same plaintext and audience, and emits it once. It returns
// the packet's key in the cache and its path.
func (s *Sealer) packet(aud *Audience, plaintext []byte, emit Emit) (string, string, error) {
	key := packetKey(aud, s.rcp[aud.ID], plaintext)
	ct, cached := s.cache.packet(key)
	if !cached {
		var err error
		if ct, err = encrypt(plaintext, s.rcp[aud.ID]); err != nil {
			return "", "", err
		}
		// The first ciphertext stored wins, so that identical blocks of
		// one build share one packet.
		ct = s.cache.putPacket(key, ct)
	}
	path := PacketDir + "/" + digestName(ct) + ".age"
	s.mu.Lock()
	dup := s.emitted[path]
	s.emitted[path] = true
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
		return key, path, nil
	}
	return key, path, emit(path, ct)
}

// Keyrings emits one keyring per recipient of any audience: an age file,
// encrypted to the recipient's keys, holding the identities of the
// recipient's audiences. A recipient with both classic and post-quantum
// keys gets one keyring for each kind, as age does not mix them in one
// file, and one for each passphrase key (age's scrypt recipient is always
// alone in its file). Then it emits [KeyringIndex], which holds them all
// and marks the passphrase keyrings, so that the browser asks for a
// passphrase only when there are some and tries them alone (each costs
// an scrypt).
func (s *Sealer) Keyrings(reg *audience.Registry, emit Emit) error {
	byMember := map[string][]*Audience{}
	for _, a := range s.plan.Audiences() {
		for _, m := range a.Members {
			byMember[m] = append(byMember[m], a)
		}
	}
	names := make([]string, 0, len(byMember))
	for m := range byMember {
		names = append(names, m)
	}
	slices.Sort(names)
	var errs diag.List
	var index keyringIndex
	for _, m := range names {
		r, _ := reg.Recipient(m)
		plaintext := s.keyringText(byMember[m])
		for _, keys := range splitKeys(r.Keys) {
			ct, err := s.keyring(keys, plaintext)
			if err != nil {
				errs.Add(diag.Errorf(r.File, keys[0].Line, "encrypting %s's keyring: %v", m, err))
				continue
			}
			name := digestName(ct) + ".age"
			if err := emit(KeyringDir+"/"+name, ct); err != nil {
				errs.Add(err)
				continue
			}
			pass := keys[0].Kind == audience.Passphrase // then the only key of its set
			index.Keyrings = append(index.Keyrings, keyringEntry{Name: name, Passphrase: pass, Data: ct})
			s.mu.Lock()
			s.stats.Keyrings++
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	s.stats.Recipients = len(names)
	s.mu.Unlock()
	if err := errs.Err(); err != nil {
		return err
	}
	if len(index.Keyrings) == 0 {
		return nil
	}
	index.Version = 1
	slices.SortFunc(index.Keyrings, func(a, b keyringEntry) int { return strings.Compare(a.Name, b.Name) })
	data, err := json.Marshal(index)
	if err != nil {
		return err
	}
	return emit(KeyringIndex, append(data, '\n'))
}

// keyringText is an age identity file with the keys of auds.
func (s *Sealer) keyringText(auds []*Audience) []byte {
	var b bytes.Buffer
	b.WriteString("# conclave keyring: the keys of the audiences this recipient belongs to.\n")
	b.WriteString("# Decrypt a packet with: age -d -i THIS_FILE packets/NAME.age\n")
	for _, a := range auds {
		fmt.Fprintf(&b, "%s\n", identityString(s.ids[a.ID]))
	}
	return b.Bytes()
}

// keyring encrypts a keyring to keys, or takes the ciphertext the cache
// holds for the same keys and text. A passphrase key counts with its
// passphrase ([audience.Key.ID]): the same "passphrase env:NAME" with
// another passphrase gets a new keyring.
func (s *Sealer) keyring(keys []audience.Key, plaintext []byte) ([]byte, error) {
	for _, k := range keys {
		if k.Recipient == nil {
			// Only a registry loaded without the environment has one.
			return nil, fmt.Errorf("%s was not resolved: its passphrase was not read from the environment (a bug in conclave)", k.Text)
		}
	}
	h := sha256.New()
	h.Write([]byte("conclave keyring v1\n"))
	texts := make([]string, len(keys))
	for i, k := range keys {
		texts[i] = k.ID()
	}
	slices.Sort(texts)
	for _, t := range texts {
		fmt.Fprintf(h, "%s\n", t)
	}
	h.Write([]byte{0})
	h.Write(plaintext)
	key := hex.EncodeToString(h.Sum(nil))
	if ct, ok := s.cache.keyring(key); ok {
		return ct, nil
	}
	rs := make([]age.Recipient, len(keys))
	for i, k := range keys {
		rs[i] = k.Recipient
	}
	ct, err := encrypt(plaintext, rs...)
	if err != nil {
		return nil, err
	}
	s.cache.putKeyring(key, ct)
	return ct, nil
}

// splitKeys groups a recipient's keys into sets age can encrypt one file
// to: classic keys together, post-quantum keys together, and each
// passphrase key alone (age refuses an scrypt recipient beside any other),
// in the order of the file.
func splitKeys(keys []audience.Key) [][]audience.Key {
	var classic, pq []audience.Key
	var out [][]audience.Key
	for _, k := range keys {
		switch {
		case k.Kind == audience.Passphrase:
			out = append(out, []audience.Key{k})
		case k.PostQuantum:
			pq = append(pq, k)
		default:
			classic = append(classic, k)
		}
	}
	sets := make([][]audience.Key, 0, len(out)+2)
	for _, set := range [][]audience.Key{classic, pq} {
		if len(set) > 0 {
			sets = append(sets, set)
		}
	}
	return append(sets, out...)
}

func encrypt(plaintext []byte, rs ...age.Recipient) ([]byte, error) {
	var b bytes.Buffer
	w, err := age.Encrypt(&b, rs...)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// packetKey identifies a packet's plaintext and audience in the cache,
// and the audience key it is encrypted to: a cached packet never serves
// after its audience got another key, which the keyrings would hold
// instead.
func packetKey(aud *Audience, r age.Recipient, plaintext []byte) string {
	h := sha256.New()
	h.Write([]byte("conclave packet v1\n" + aud.ID + "\n" + recipientString(r) + "\n"))
	h.Write(plaintext)
	return hex.EncodeToString(h.Sum(nil))
}

// digestName names a file by its content: 128 bits of its SHA-256.
func digestName(ct []byte) string {
	sum := sha256.Sum256(ct)
	return hex.EncodeToString(sum[:16])
}

// pad grows a packet's plaintext with trailing newlines to a size that
// says little about its length: at least 512 bytes, then the Padmé
// scheme, which leaks O(log log n) bits of the length for at most 12%
// more bytes. Without it, the size of a packet tells "affected: yes" from
// "affected: no".
func pad(b []byte) []byte {
	n := padmeSize(max(len(b), 512))
	out := make([]byte, n)
	copy(out, b)
	for i := len(b); i < n; i++ {
		out[i] = '\n'
	}
	return out
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
