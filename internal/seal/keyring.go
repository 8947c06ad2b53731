package seal

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/par"
)

// Keyrings emits one keyring per recipient of the site: an age file,
// encrypted to the recipient's keys, holding the identities of the
// recipient's audiences. A recipient with both classic and post-quantum
// keys gets one keyring for each kind, as age does not mix them in one
// file, and one for each passphrase key (age's scrypt recipient is always
// alone in its file). Then it emits [format.KeyringIndex], which holds
// them all and marks the passphrase keyrings, so that the browser asks for a
// passphrase only when there are some and tries them alone (each costs
// an scrypt).
//
// Keyrings say nothing of who shares an audience or whose membership
// changed (DESIGN §4, "Metadata"):
//
//   - Every keyring of a build has the same size, whatever its reader's
//     keys and audiences: see [keyringSize] for how. Sizes are checked
//     after encryption: if any differs, nothing is emitted and Keyrings
//     fails.
//   - Every build encrypts every keyring anew, with a new file key, so
//     every keyring gets a new name: which keyrings changed between two
//     releases says nothing. (A passphrase keyring costs one scrypt per
//     build.)
//
// What a keyring's header still shows, as any age file's does, is the
// number and types of its stanzas (one per key; an ssh-rsa stanza's
// length gives the key's size): a passphrase keyring is told by its
// scrypt stanza, and is marked as such in the index too, since the
// browser must know which keyrings to try a passphrase on; and SSH keys
// are linkable ([audience.Key.Linkable]).
//
// Memory: each keyring's header is made first and kept (a few hundred
// bytes to a few kilobytes for each of its keys) with its open age
// writer, which holds no buffer yet; then each goroutine pads and
// encrypts one keyring at a time, through a buffer of at most one of
// age's chunks (64 KiB). What stays is the keyrings themselves, which the
// index holds anyway.
func (s *Sealer) Keyrings(reg *audience.Registry, emit Emit) error {
	byMember := map[string][]*Audience{}
	for _, a := range s.plan.Audiences() {
		for _, m := range a.Members {
			byMember[m] = append(byMember[m], a)
		}
	}
	if len(byMember) == 0 {
		return nil // nothing sealed: nothing to read
	}
	// Every recipient of keys/ gets a keyring, whether or not an audience
	// of this release names them: the number of keyrings then says how
	// many recipients the site has, never how many its passages reach,
	// and a member taken out of every audience still gets one.
	var names []string
	for _, r := range reg.Recipients() {
		names = append(names, r.Name)
	}

	var (
		errs diag.List
		jobs []*keyringJob
	)
	for _, m := range names {
		r, _ := reg.Recipient(m)
		for _, keys := range splitKeys(r.Keys) {
			j := &keyringJob{rec: r, keys: keys, auds: byMember[m]}
			if err := j.check(); err != nil {
				errs.Add(err)
				continue
			}
			jobs = append(jobs, j)
		}
	}
	s.mu.Lock()
	s.stats.Recipients = len(names)
	s.mu.Unlock()
	if err := errs.Err(); err != nil {
		return err
	}
	if len(jobs) == 0 {
		return nil
	}

	// Each keyring's header, with its recipients' stanzas: the costly
	// part (one key agreement, RSA encryption, scrypt or plugin run per
	// key).
	par.Do(len(jobs), 0, func(i int) { jobs[i].start(s) })
	if err := jobErrors(jobs); err != nil {
		return err
	}
	heads := make([]int, len(jobs))
	need := 0
	for i, j := range jobs {
		heads[i] = j.head
		need = max(need, j.head+streamSize(len(j.text)))
	}
	size, ok := keyringSize(heads, need, maxKeyringSearch)
	if !ok {
		return fmt.Errorf("keyrings: no size fits every keyring (%d keyrings of %d to %d bytes of header): "+
			"keyrings of one size could not be made, and unequal ones are never published (a bug in conclave)", len(jobs), slices.Min(heads), slices.Max(heads))
	}
	// The plaintexts, padded to that size.
	par.Do(len(jobs), 0, func(i int) { jobs[i].finish(size) })
	if err := jobErrors(jobs); err != nil {
		return err
	}
	if err := checkSizes(jobs, size); err != nil {
		return err
	}

	index := format.Keyrings{Version: format.KeyringIndexVersion, Keyrings: make([]format.Keyring, len(jobs))}
	emitErrs := make([]error, len(jobs))
	par.Do(len(jobs), par.IO(), func(i int) {
		j := jobs[i]
		name := format.DigestName(j.ct) + format.AgeExt
		emitErrs[i] = emit(format.KeyringDir+"/"+name, j.ct)
		pass := j.keys[0].Kind == audience.Passphrase // then the only key of its set
		index.Keyrings[i] = format.Keyring{Name: name, Passphrase: pass, Data: j.ct}
	})
	for _, err := range emitErrs {
		errs.Add(err)
	}
	if err := errs.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.stats.Keyrings += len(jobs)
	s.mu.Unlock()
	slices.SortFunc(index.Keyrings, func(a, b format.Keyring) int { return strings.Compare(a.Name, b.Name) })
	return emit(format.KeyringIndex, index.Marshal())
}

// keyringJob is one keyring on its way: one recipient's set of keys that
// age encrypts one file to.
type keyringJob struct {
	rec  *audience.Recipient
	keys []audience.Key
	auds []*Audience

	text []byte         // the plaintext before padding
	buf  bytes.Buffer   // the header and nonce, then the whole file
	head int            // size of the header and nonce
	w    io.WriteCloser // age's writer of the payload, once started
	ct   []byte         // the keyring, once finished
	err  error
}

// check refuses a key that cannot be encrypted to.
func (j *keyringJob) check() error {
	for _, k := range j.keys {
		if k.Recipient == nil {
			// Only a registry loaded without the environment has one.
			return diag.Errorf(j.rec.File, k.Line, "encrypting %s's keyring: %s was not resolved: its passphrase was not read from the environment (a bug in conclave)", j.rec.Name, k.Text)
		}
	}
	return nil
}

func (j *keyringJob) fail(err error) {
	j.err = diag.Errorf(j.rec.File, j.keys[0].Line, "encrypting %s's keyring: %v", j.rec.Name, err)
	j.w, j.buf = nil, bytes.Buffer{}
}

// start writes the keyring's header: age wraps a new file key for every
// key of the set, and writes the header and the payload's nonce as soon
// as it is called. The writer it returns encrypts nothing until written
// to.
func (j *keyringJob) start(s *Sealer) {
	j.text = s.keyringText(j.auds)
	rs := make([]age.Recipient, len(j.keys))
	for i, k := range j.keys {
		rs[i] = k.Recipient
	}
	w, err := age.Encrypt(&j.buf, rs...)
	if err != nil {
		j.fail(err)
		return
	}
	j.w, j.head = w, j.buf.Len()
}

// finish writes the keyring's plaintext, padded so that the whole file is
// size bytes.
func (j *keyringJob) finish(size int) {
	padded, ok := streamPlaintext(size - j.head)
	if !ok || padded < len(j.text) {
		j.fail(fmt.Errorf("%d bytes of header and %d of text do not fit in %d bytes (a bug in conclave)", j.head, len(j.text), size))
		return
	}
	j.buf.Grow(size - j.buf.Len())
	// The text and its padding go to age in pieces of at most a chunk.
	w := bufio.NewWriterSize(j.w, min(padded, chunkSize))
	_, err := w.Write(j.text)
	if err == nil {
		err = writePadding(w, padded-len(j.text))
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = j.w.Close()
	}
	if err != nil {
		j.fail(err)
		return
	}
	j.ct, j.w, j.text = j.buf.Bytes(), nil, nil
}

func jobErrors(jobs []*keyringJob) error {
	var errs diag.List
	for _, j := range jobs {
		errs.Add(j.err)
	}
	return errs.Err()
}

// checkSizes fails unless every keyring is size bytes: unequal sizes are
// never published.
func checkSizes(jobs []*keyringJob, size int) error {
	var errs diag.List
	for _, j := range jobs {
		if len(j.ct) != size {
			errs.Add(diag.Errorf(j.rec.File, j.keys[0].Line, "%s's keyring is %d bytes, not the %d of every keyring: keyrings of one size could not be made, and unequal ones are never published (a bug in conclave)", j.rec.Name, len(j.ct), size))
		}
	}
	return errs.Err()
}

// keyringText is an age identity file with the keys of auds.
func (s *Sealer) keyringText(auds []*Audience) []byte {
	var b bytes.Buffer
	b.WriteString("# conclave keyring: the keys of the audiences this recipient belongs to.\n")
	b.WriteString("# Decrypt a packet with: age -d -i THIS_FILE " + format.PacketDir + "/NAME" + format.AgeExt + "\n")
	b.WriteString("# The lines of # after the keys are padding: keyrings have one size.\n")
	for _, a := range auds {
		b.WriteString(s.text[a.ID] + "\n")
	}
	if len(auds) == 0 {
		// A recipient no audience of this release names still gets a
		// keyring, holding a key that opens nothing: an identity file
		// with no key in it is not one, to age or to the browser.
		if id, err := age.GenerateX25519Identity(); err == nil {
			b.WriteString(id.String() + "\n")
		}
	}
	return b.Bytes()
}

// The size of keyrings.
//
// An age file is its header (the version line, one stanza per recipient
// key, the MAC), a 16-byte nonce, and the payload: the plaintext in
// chunks of 64 KiB, each followed by a 16-byte tag, with at least one
// chunk. So a keyring of h bytes of header and nonce and p bytes of
// plaintext is h + streamSize(p) bytes, where
//
//	streamSize(p) = p + 16 × max(1, ⌈p / 65536⌉).
//
// h depends on the number and kind of its keys (an X25519 stanza is
// about 150 bytes, a post-quantum one about 1.6 KB, an ssh-rsa one grows
// with the key, a plugin's is the plugin's), and p on the number of the
// reader's audiences. Every keyring is padded to one size S:
//
//	S = the smallest size ≥ Padmé(max over keyrings of h + streamSize(p))
//	    such that S − h is a streamSize for the h of every keyring,
//
// and a keyring's padded plaintext is the p' with streamSize(p') = S − h,
// which is at least p since streamSize grows with p. The padding is
// comment lines ("#…"), which age and the browser ignore. streamSize
// skips 16 values after each full chunk (p = 65536·c gives 65536·c +
// 16·c, p + 1 gives 16 more): when S − h falls there for some keyring,
// the next size is tried. Padmé (see [padmeSize]) rounds the largest
// keyring up, so that the size of a release's keyrings says little about
// its largest reader's keys and audiences.

// chunkSize is the plaintext size of a full chunk of age's payload.
const chunkSize = 64 << 10

// tagSize is the size of the tag after each chunk of age's payload.
const tagSize = 16

// maxKeyringSearch bounds how far above the Padmé size [keyringSize]
// looks for a size that fits every keyring.
const maxKeyringSearch = 1 << 20

// streamSize is the size of age's payload for p bytes of plaintext,
// without its nonce.
func streamSize(p int) int {
	chunks := max(1, (p+chunkSize-1)/chunkSize)
	return p + tagSize*chunks
}

// streamPlaintext returns the plaintext size p with streamSize(p) = n, if
// there is one.
func streamPlaintext(n int) (int, bool) {
	if n < tagSize {
		return 0, false
	}
	chunks := (n-1)/(chunkSize+tagSize) + 1
	p := n - tagSize*chunks
	return p, p >= 0 && streamSize(p) == n
}

// keyringSize returns the size every keyring is padded to: the smallest
// size from padmeSize(need) on, and less than limit above it, that every
// header size in heads can reach, where need is the largest keyring
// unpadded (see the comment above).
func keyringSize(heads []int, need, limit int) (int, bool) {
	distinct := slices.Compact(slices.Sorted(slices.Values(heads)))
	start := padmeSize(need)
	for size := start; size < start+limit; size++ {
		fits := true
		for _, h := range distinct {
			if _, ok := streamPlaintext(size - h); !ok {
				fits = false
				break
			}
		}
		if fits {
			return size, true
		}
	}
	return 0, false
}

// paddingLine is the longest line of padding, newline included.
const paddingLine = 79

var padding = bytes.Repeat([]byte("#"), paddingLine-1)

// writePadding writes n bytes of comment lines: lines of "#" of at most
// paddingLine bytes, each ending in a newline; a single byte of padding
// is an empty line.
func writePadding(w io.Writer, n int) error {
	line := make([]byte, 0, paddingLine)
	for n > 0 {
		l := min(n, paddingLine)
		if n-l == 1 {
			l-- // leave no single byte to the last line
		}
		line = append(append(line[:0], padding[:l-1]...), '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
		n -= l
	}
	return nil
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
