// Package open is the reader's side of a sealed site: it finds the
// keyrings a reader's identities open, decrypts the packets those keyrings
// open, and writes a readable copy of the site with every passage the
// reader may see in place (DESIGN §5).
//
// The site is untrusted input: packet paths come from its pages and must
// name a packet under packets/, and nothing is written outside the chosen
// output folder. Every file is read through an [os.Root] at the site, must
// be a regular file (no link is followed, a named pipe is neither waited
// on nor read), and is read once: what is read whole has a limit
// ([manifest.MaxPacket] for a passage's packet, [manifest.MaxKeyring] for
// a keyring, 64 MiB for a page), an attachment's packet is decrypted as a
// stream ([manifest.MaxAttachmentPacket] at most: see stream.go), other
// files are copied as a stream, and the digest checked against the
// verified manifest is the digest of exactly the bytes used.
//
// A keyring, packet or passage that cannot be read or opened does not stop
// the others: it is reported as a problem naming it, its passages are left
// sealed, and the rest is opened ([IncompleteError]).
package open

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/site"
)

// The placeholder a build writes for a sealed passage
// (internal/markdown/restricted): an element starting with
// format.PlaceholderStart whose start tag carries format.AttrPacket, a
// packet's path, and which ends at the first format.PlaceholderEnd (it
// holds no other section). The placeholder is the published output's
// contract (internal/format); the build's end-to-end tests check both
// sides together.
var (
	packetAttr = regexp.MustCompile(`\s` + regexp.QuoteMeta(format.AttrPacket) + `="([^"]*)"`)
	labelPara  = regexp.MustCompile(`(?s)` + para(format.ClassSealedLabel) + `.*?</p>`)
	helpPara   = regexp.MustCompile(`(?s)` + para(format.ClassSealedHelp) + `.*?</p>`)
)

// para is the pattern of the start tag of a paragraph of class c.
func para(c string) string { return regexp.QuoteMeta(`<p class="` + c + `">`) }

// helpNote is a placeholder's help paragraph with text in place of the
// build's.
func helpNote(text string) []byte {
	return []byte(`<p class="` + format.ClassSealedHelp + `">` + text + `</p>`)
}

// mark adds class to a placeholder's element, after format.ClassSealed.
func mark(elem []byte, class string) []byte {
	return bytes.Replace(elem, []byte(format.PlaceholderStart), []byte(format.PlaceholderStart+" "+class), 1)
}

// MaxNesting is how deep sealed passages may nest: a passage inside a
// passage is at depth 2. A deeper one is left sealed and reported, and
// the rest of its page is opened: it stops a packet that names itself.
// The build refuses to nest deeper than this too ([format.MaxNesting]).
const MaxNesting = format.MaxNesting

// Bounds on what one page may expand to, against a hostile site:
// maxPassages and maxPageBytes stop a packet that names another many times
// over, which names another many times over (each level multiplies the
// page's size); the passages past them are left sealed and reported.
// maxPage bounds a page read whole to look for sealed passages in: a
// larger one is copied as it is (its passages stay sealed) and reported.
// maxFailed bounds the passages of one page that are tried and fail: the
// rest are left sealed untried, so that a hostile page of a million
// placeholders naming a million missing packets costs little.
const (
	maxPassages  = 100_000
	maxPageBytes = 256 << 20
	maxPage      = 64 << 20
	maxFailed    = 1000
)

// Bounds on what a whole site may expand to, across its pages: past them
// the rest of the site's passages are left sealed and one problem says so.
// A page may expand to 100,000 passages or 256 MiB; without a bound across
// pages, the same page copied a thousand times would write a thousand
// times that. A real site's restricted text is a few MiB.
const (
	maxSitePassages = 1_000_000
	maxSiteBytes    = 1 << 30
)

// maxCached bounds the plaintext of packets the reader keeps to use again
// (a packet named by many placeholders is decrypted once); a packet past
// it is decrypted again each time it is named, within the bounds above.
const maxCached = 64 << 20

// maxKeyringKeys bounds the identities one keyring may hold, and
// maxReaderKeys those of all the keyrings a reader opens: every packet is
// tried against each, so that 200,000 keys made a site take minutes to
// open. A keyring holds one identity for each audience its recipient is
// in (audience.MaxKeys, 64, bounds the keys of one recipient, not its
// audiences); no real site puts a recipient in thousands of audiences.
const (
	maxKeyringKeys = 10_000
	maxReaderKeys  = 10_000
)

// maxKeyringProblems bounds the keyrings reported as not opened (each
// named); the others are counted in one more problem. dirBatch is how
// many entries of the keyrings folder are read at a time.
const (
	maxKeyringProblems = 100
	dirBatch           = 1024
)

// maxQuote bounds what a message quotes of a value a page gives (a packet
// path): a hostile page's 60 MB attribute is cut to its first bytes.
const maxQuote = 200

// maxPageProblems bounds the problems one page reports; the others are
// counted.
const maxPageProblems = 20

var pageLimit = manifest.Limit{Bytes: maxPage, What: "a page with sealed passages"}

// marker is the file that marks a folder as a readable copy, which a later
// run may replace.
const marker = ".conclave-opened"

// Report says what [Site] did.
type Report struct {
	Out            string
	Keyrings       int // keyrings in the site
	KeyringsOpened int
	Pages          int // pages holding sealed passages
	Opened         int // passages decrypted
	NotForYou      int // passages none of the identities may read
	Failed         int // passages left sealed because they could not be opened
	Attachments    int // attachments decrypted and written into the copy
	// Again counts the pages taken from the copy this one replaces: the
	// same page, opened with the same keys (see again.go). They count in
	// Pages, Opened, NotForYou and Attachments too.
	Again int
	// Problems are the files and passages that could not be read or
	// opened, each naming its file under the site's folder as given; the
	// rest was read.
	Problems []*diag.Warning
}

// IncompleteError is what [Site] returns, with its report, when it wrote
// the readable copy without some of the site: keyrings, packets, pages or
// passages that could not be read or opened, each a problem of the
// report.
type IncompleteError struct {
	Out      string
	Problems []*diag.Warning
}

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("the readable copy in %s is incomplete: %d file(s) or passage(s) could not be read or opened (see the warnings)", e.Out, len(e.Problems))
}

// Reader decrypts the packets of one site with the keyrings its
// identities open.
type Reader struct {
	site string
	fsys fs.FS          // the site; nothing outside it can be read through it
	sums Sums           // the verified manifest; nil if unverified
	root *os.Root       // fsys's root, closed by Close
	ids  []age.Identity // the audience keys from the keyrings
	// packetIDs are ids as they are tried on packets ([limitStanzas]),
	// made once the keyrings are opened.
	packetIDs []age.Identity
	report    Report
	packets   map[string]packet // by path: what Packet returned
	cached    int               // bytes of plaintext in packets
	keyrings  []string
	// What the site's pages have expanded to so far: past maxSitePassages
	// or maxSiteBytes, exhausted.
	passages  int
	bytes     int64
	exhausted bool
	// copyDir is where a readable copy is being written, and so its
	// attachments ([Reader.openAttachments]); "" when none is.
	copyDir     string
	ctx         context.Context     // the copy's: an attachment's writing stops when it is done
	attachments map[string]attached // by packet path
	attachedAt  map[string]string   // attachment path in the copy → its packet
	// The record of the copy being written, and of the one it replaces
	// (prev, in prevDir; nil if none applies): see again.go.
	record  copyRecord
	prev    *copyRecord
	prevDir string
}

// packet is what [Reader.Packet] returned for a packet.
type packet struct {
	plain []byte // nil if not for us
	err   error
}

// NewReader opens every keyring of the site at dir that ids can open.
// It fails if the site has no keyrings, or if none opens: then the site
// holds nothing for these identities, or they are the wrong ones. A
// keyring that cannot be read or opened (too large, not a regular file,
// changed since verification, damaged, or one age refuses, such as one
// with more than 1,024 stanzas) is a problem of the reader's report
// ([Reader.Problems]), and the others are still opened; if none opens,
// the error lists those problems first.
//
// Every file is read through an [os.Root] at dir: a symbolic link in the
// site that leads out of it is refused. With sums, the site's verified
// manifest, every file read must be listed with the digest of what was
// read: a file changed after verification is refused.
func NewReader(dir string, ids []age.Identity, sums Sums) (*Reader, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	r, err := newReader(dir, manifest.RootFS(root), ids, sums)
	if err != nil {
		root.Close()
		return nil, err
	}
	r.root = root
	return r, nil
}

func newReader(dir string, fsys fs.FS, ids []age.Identity, sums Sums) (*Reader, error) {
	r := &Reader{site: dir, fsys: fsys, sums: sums, packets: map[string]packet{}, attachments: map[string]attached{}, attachedAt: map[string]string{}}
	unlisted, err := r.listKeyrings()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s has no %s/ folder: it holds no sealed passages (is it a conclave site's output folder?)", dir, format.KeyringDir)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s", filepath.Join(dir, filepath.FromSlash(format.KeyringDir)), reason(err))
	}
	slices.Sort(r.keyrings)
	r.report.Keyrings = len(r.keyrings) + unlisted
	var ringProblems keyringProblems
	ringProblems.unlisted(r, unlisted)
	ringIDs := limitStanzas(ids, maxKeyringStanzas)
	for _, name := range r.keyrings {
		p := format.KeyringDir + "/" + name
		got, err := r.keyring(p, ringIDs)
		if re := (*readerError)(nil); errors.As(err, &re) {
			return nil, fmt.Errorf("keyring %s: %w", p, err)
		}
		if err == nil && len(got)+len(r.ids) > maxReaderKeys {
			err = fmt.Errorf("it opens, but with the keys of the keyrings opened before it the reader would hold %d keys, more than the %d a reader may hold (a hostile site?): refused", len(got)+len(r.ids), maxReaderKeys)
		}
		if err != nil {
			ringProblems.add(r, p, "keyring not opened: %s", reason(err))
			continue
		}
		if got != nil {
			r.ids = append(r.ids, got...)
			r.report.KeyringsOpened++
		}
	}
	ringProblems.done(r)
	r.packetIDs = limitStanzas(r.ids, maxPacketStanzas)
	keyringCount := r.report.Keyrings
	if r.report.KeyringsOpened == 0 {
		var errs diag.List
		for _, p := range r.report.Problems {
			errs = append(errs, p)
		}
		var err error
		switch {
		case len(errs) > 0:
			err = fmt.Errorf("none of the %d keyrings of %s opened: %d could not be read or tried (above), and the others are not for the given identities", keyringCount, dir, ringProblems.n)
		case askedPassphrase(ids):
			err = fmt.Errorf("none of the %d keyrings of %s opens with the given identities and passphrase: the passphrase is wrong (or not for this site), or the site holds nothing for you", keyringCount, dir)
		default:
			err = fmt.Errorf("none of the %d keyrings of %s opens with the given identities: the site holds nothing for them, or -i names another key", keyringCount, dir)
		}
		if len(errs) == 0 {
			return nil, err
		}
		return nil, append(errs, err)
	}
	return r, nil
}

// listKeyrings lists the keyrings of the site in r.keyrings, reading the
// keyrings folder in batches: with a verified manifest, the entries it
// does not list are only counted (unlisted), so that a folder of a
// million stray files costs neither memory nor a line each.
func (r *Reader) listKeyrings() (unlisted int, err error) {
	if info, err := fs.Lstat(r.fsys, format.KeyringDir); err == nil && !info.IsDir() {
		return 0, &fs.PathError{Op: "open", Path: format.KeyringDir, Err: fmt.Errorf("%s, not a folder: refused in a site being opened", manifest.Kind(info.Mode().Type()))}
	}
	f, err := r.fsys.Open(format.KeyringDir)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	d, ok := f.(fs.ReadDirFile)
	if !ok {
		return 0, &fs.PathError{Op: "readdir", Path: format.KeyringDir, Err: errors.New("not a folder")}
	}
	for {
		entries, err := d.ReadDir(dirBatch)
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, format.AgeExt) {
				continue
			}
			if r.sums != nil {
				if _, listed := r.sums[format.KeyringDir+"/"+name]; !listed {
					if unlisted < maxKeyringProblems {
						r.problem(format.KeyringDir+"/"+name, "keyring not opened: %v", ErrUnlisted)
					}
					unlisted++
					continue
				}
			}
			r.keyrings = append(r.keyrings, name)
		}
		if err == io.EOF || (err == nil && len(entries) == 0) {
			return unlisted, nil
		}
		if err != nil {
			return unlisted, err
		}
	}
}

// keyringProblems reports at most maxKeyringProblems keyrings that could
// not be read or opened, and counts the others.
type keyringProblems struct{ n int }

// unlisted counts the unlisted keyrings [Reader.listKeyrings] found: it
// reported the first of them.
func (k *keyringProblems) unlisted(r *Reader, n int) { k.n += n }

func (k *keyringProblems) add(r *Reader, p, format string, args ...any) {
	if k.n < maxKeyringProblems {
		r.problem(p, format, args...)
	}
	k.n++
}

// done reports the keyrings past maxKeyringProblems in one problem.
func (k *keyringProblems) done(r *Reader) {
	if k.n > maxKeyringProblems {
		r.problem(format.KeyringDir, "and %d more keyrings not opened (not listed in the verified manifest, or not readable)", k.n-maxKeyringProblems)
	}
}

// countKeys counts the identity lines of a keyring's plaintext, without
// parsing them, stopping past maxKeyringKeys.
func countKeys(plain []byte) int {
	n := 0
	for line := range bytes.Lines(plain) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if n++; n > maxKeyringKeys {
			break
		}
	}
	return n
}

// keyring reads the keyring at the slash path p and returns the identities
// it holds; none and no error if ids (the reader's, limited to keyrings'
// stanzas by [limitStanzas]) do not open it.
func (r *Reader) keyring(p string, ids []age.Identity) ([]age.Identity, error) {
	plain, ok, err := r.decryptFile(p, manifest.KeyringLimit, ids)
	if fe := (*fileError)(nil); errors.As(err, &fe) {
		return nil, fe.err
	}
	if err != nil || !ok {
		return nil, err
	}
	if n := countKeys(plain); n > maxKeyringKeys {
		return nil, fmt.Errorf("it holds more than %d keys (a recipient in more audiences than any real site has: a hostile site?): refused", maxKeyringKeys)
	}
	got, err := age.ParseIdentities(bytes.NewReader(plain))
	if err != nil {
		// age's message may quote the line: a key.
		if !bytes.Contains(plain, []byte(secretPrefix)) {
			return nil, errors.New("it opens but holds no keys (a damaged site?)")
		}
		return nil, errors.New("it opens, but not every line of it is an age identity, as conclave writes them (a damaged or hostile site?)")
	}
	return got, nil
}

// problem records a problem with the file at the slash path p of the site.
func (r *Reader) problem(p, format string, args ...any) {
	r.report.Problems = append(r.report.Problems, &diag.Warning{File: filepath.Join(r.site, filepath.FromSlash(p)), Msg: fmt.Sprintf(format, args...)})
}

// Problems returns the files and passages the reader could not read or
// open so far, each naming its file under the site's folder.
func (r *Reader) Problems() []*diag.Warning { return r.report.Problems }

// Close releases the site folder. The reader keeps the plaintext of the
// packets it opened.
func (r *Reader) Close() error {
	if r.root == nil {
		return nil
	}
	return r.root.Close()
}

// decryptFrom decrypts the age file read from src, of size bytes (what its
// Stat said), with ids; ok is false if none of them is a recipient of it.
// The plaintext, never longer than the file, is read into one buffer of
// the file's size: a 60 MiB packet took 248 MiB as the buffer grew.
func decryptFrom(src io.Reader, size int64, ids []age.Identity) (plain []byte, ok bool, err error) {
	rd, err := age.Decrypt(src, ids...)
	var nm *age.NoIdentityMatchError
	if errors.As(err, &nm) || errors.Is(err, age.ErrIncorrectIdentity) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	buf := make([]byte, 0, max(size, 0)+1)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 64<<10) // a file that grew since its Stat
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, true, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
}

// decryptFile decrypts the age file at the slash path p of the site with
// ids as it reads it, at most limit bytes of it, and
// hashes what it reads. The plaintext is returned only once the digest of
// the whole file matches the verified manifest, if there is one: the bytes
// decrypted are the bytes checked, and the file is read once, its
// ciphertext never held whole. ok is false if the identities open no
// recipient of the file (it is read to its end all the same, so that a
// changed file is reported as changed). A problem reading or checking the
// file is a [*fileError].
func (r *Reader) decryptFile(p string, limit manifest.Limit, ids []age.Identity) (plain []byte, ok bool, err error) {
	f, info, err := manifest.OpenFile(r.fsys, p, limit)
	if err != nil {
		return nil, false, &fileError{err}
	}
	defer f.Close()
	h := sha256.New()
	lr := &io.LimitedReader{R: struct{ io.Reader }{f}, N: limit.Bytes + 1}
	src := io.TeeReader(lr, h)
	plain, ok, derr := decryptFrom(src, info.Size(), ids)
	if _, err := io.Copy(io.Discard, src); err != nil {
		return nil, false, &fileError{err}
	}
	if lr.N <= 0 {
		return nil, false, &fileError{&manifest.TooLargeError{Size: limit.Bytes + 1, Limit: limit, Grew: true}}
	}
	if r.sums != nil {
		var sum [sha256.Size]byte
		if err := r.sums.checkSum(p, [sha256.Size]byte(h.Sum(sum[:0]))); err != nil {
			return nil, false, &fileError{err}
		}
	}
	return plain, ok, derr
}

// maxPacketStanzas is the most recipient stanzas a packet may have: the
// build seals each to its audience's one key. Every key of the reader's
// keyrings (up to maxReaderKeys) is tried on every stanza, at the cost of
// an X25519 each: a forged packet of 1,024 stanzas, opened with a keyring
// of 9,990 keys, ran for minutes.
const maxPacketStanzas = 1

// maxKeyringStanzas is the most recipient stanzas a keyring may have: one
// for each key of its recipient of one kind, at most audience.MaxKeys
// (TestStanzaLimitsMatchTheBuild). 300 forged keyrings of 1,024 stanzas
// each took 25.7 s.
const maxKeyringStanzas = 64

// stanzaLimit is an identity as it is tried on a file of at most max
// recipient stanzas: a file of more is refused before any key is tried.
type stanzaLimit struct {
	age.Identity
	max int
}

// limitStanzas returns ids as they are tried on files of at most max
// stanzas.
func limitStanzas(ids []age.Identity, max int) []age.Identity {
	out := make([]age.Identity, len(ids))
	for i, id := range ids {
		out[i] = stanzaLimit{id, max}
	}
	return out
}

func (l stanzaLimit) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if len(stanzas) > l.max {
		return nil, fmt.Errorf("%d recipient stanzas where conclave writes at most %d: refused (a hostile site?)", len(stanzas), l.max)
	}
	return l.Identity.Unwrap(stanzas)
}

// fileError is a problem reading a file of the site, or checking it
// against the verified manifest, rather than decrypting it.
type fileError struct{ err error }

func (e *fileError) Error() string { return e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

// Packet returns the plaintext of the packet at the slash path p (e.g.
// "packets/3f….age"), without its padding (an attachment's whole, header
// and padding included: see [format.ParseAttachment]); ok is false if the reader's
// keyrings do not open it. The packet is read once, at most
// [manifest.MaxPacket] bytes of it; what it returned, error included, is
// returned again for the same path.
func (r *Reader) Packet(p string) (plain []byte, ok bool, err error) {
	if !format.IsPacketPath(p) {
		return nil, false, fmt.Errorf("%s is not a packet path (want %s/<%d hex digits>%s)", quote(p), format.PacketDir, format.DigestHex, format.AgeExt)
	}
	if seen, ok := r.packets[p]; ok {
		return seen.plain, seen.plain != nil, seen.err
	}
	plain, ok, err = r.decryptFile(p, manifest.PacketLimit, r.packetIDs)
	fe := (*fileError)(nil)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		err = &diag.Error{File: p, Msg: "the site does not hold this packet", Err: err}
	case errors.As(err, &fe):
		err = &diag.Error{File: p, Msg: reason(fe.err), Err: fe.err}
	case err != nil:
		err = &diag.Error{File: p, Msg: err.Error(), Err: err}
	case ok && !bytes.HasPrefix(plain, []byte(format.AttachmentMagic)):
		plain = unpad(plain)
	}
	// Kept to be used again, within maxCached; an error or a packet not
	// for the reader costs nothing to keep.
	if plain == nil || r.cached+len(plain) <= maxCached {
		r.packets[p] = packet{plain, err}
		r.cached += len(plain)
	}
	return plain, ok, err
}

// unpad drops a packet's padding, blank lines at its end, and ends it in
// one newline.
func unpad(plain []byte) []byte {
	return append(bytes.TrimRight(plain, "\n"), '\n')
}

// Unseal returns page with every placeholder whose packet the reader
// opens replaced by the passage, nested passages included, and counts the
// passages opened and those not for the reader. A placeholder left in
// place gets the class not-for-you.
//
// A passage it cannot open stays sealed, gets the class not-opened, and
// the rest of the page is still opened; err then says why, one line for
// each cause: a packet path that does not name a packet under packets/, a
// packet that cannot be read or decrypted, passages that nest more than
// [MaxNesting] deep or expand to more than 100,000 passages or 256 MiB in
// all (1,000,000 or 1 GiB across the pages of the reader: so that a
// hostile site cannot make it loop or exhaust memory), or
// a placeholder it cannot parse (the rest of the page is then left as it
// is). out is the page as far as it could be opened, even with an error.
func (r *Reader) Unseal(page []byte) (out []byte, opened, notForYou int, err error) {
	var st pageState
	var b bytes.Buffer
	opened, notForYou = r.unseal(&b, page, 0, &st)
	out = b.Bytes()
	var errs []error
	for _, msg := range st.all() {
		errs = append(errs, errors.New(msg))
	}
	return out, opened, notForYou, errors.Join(errs...)
}

// pageState is what one page has expanded to so far, and the passages it
// could not open.
type pageState struct {
	page            string            // the page's path in the site, when its copy is written
	attached        map[string]string // the attachments it links: packet → path in the copy
	passages, bytes int
	exhausted       bool // past maxPassages or maxPageBytes
	failed          int
	problems        []string // without repeats, in the order met
	seen            map[string]bool
	more            int // problems past maxPageProblems
}

func (st *pageState) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if st.seen[msg] {
		return
	}
	if st.seen == nil {
		st.seen = map[string]bool{}
	}
	st.seen[msg] = true
	if len(st.problems) == maxPageProblems {
		st.more++
		return
	}
	st.problems = append(st.problems, msg)
}

// all returns the page's problems, the ones past maxPageProblems counted
// in a last one.
func (st *pageState) all() []string {
	if st.more == 0 {
		return st.problems
	}
	return append(slices.Clip(st.problems), fmt.Sprintf("and %d more problems with sealed passages", st.more))
}

// showPath quotes a packet path from a page unless it is one.
func showPath(p []byte) string {
	if format.IsPacketPath(string(p)) {
		return string(p)
	}
	return quote(string(p))
}

// quote quotes a value from a hostile file for a message: at most
// maxQuote bytes of it, then an ellipsis.
func quote(s string) string {
	if len(s) <= maxQuote {
		return strconv.Quote(s)
	}
	cut := maxQuote
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("… (%d bytes)", len(s))
}

// notOpened marks a placeholder whose passage could not be opened.
func notOpened(elem []byte) []byte {
	elem = mark(elem, format.ClassNotOpened)
	return helpPara.ReplaceAllLiteral(elem, helpNote("Could not be opened: conclave open said why when it wrote this copy."))
}

// pageWriter is where unseal writes a page: a buffer for [Reader.Unseal],
// the copy's file (buffered) for a page of the site, so that a page's
// expansion is written as it is made and never held whole.
type pageWriter interface {
	io.Writer
	io.ByteWriter
	io.StringWriter
}

// siteExhausted is the problem reported, once for the site, when its
// passages expand past maxSitePassages or maxSiteBytes.
var siteExhausted = fmt.Sprintf("sealed passages expand to more than %d passages or %d MiB in the whole site (the same passages named again and again?): the rest of the site's passages are left sealed", maxSitePassages, maxSiteBytes>>20)

// unseal writes page to out with the passages the reader opens in place,
// and returns the passages opened and not for the reader.
func (r *Reader) unseal(out pageWriter, page []byte, depth int, st *pageState) (opened, notForYou int) {
	rest := page
	for {
		i := bytes.Index(rest, []byte(format.PlaceholderStart))
		if i < 0 {
			out.Write(rest)
			break
		}
		tagEnd := bytes.IndexByte(rest[i:], '>')
		end := bytes.Index(rest[i:], []byte(format.PlaceholderEnd))
		if tagEnd < 0 || end < 0 || end < tagEnd {
			st.problem("a sealed passage's placeholder is not closed: the rest of the page is left as it is")
			st.failed++
			out.Write(rest)
			break
		}
		tag := rest[i : i+tagEnd+1]
		elem := rest[i : i+end+len(format.PlaceholderEnd)]
		next := rest[i+len(elem):] // what follows the placeholder as written
		out.Write(rest[:i])
		rest = next
		fail := func(format string, args ...any) {
			st.problem(format, args...)
			st.failed++
			out.Write(notOpened(elem))
		}
		m := packetAttr.FindSubmatch(tag)
		switch {
		case m == nil:
			fail("a sealed passage's placeholder names no packet: left sealed")
			continue
		case depth >= MaxNesting:
			fail("sealed passage %s is nested more than %d deep (a packet that names itself?): left sealed", showPath(m[1]), MaxNesting)
			continue
		case r.exhausted:
			// Reported once for the site, by the page that went past.
			st.failed++
			out.Write(notOpened(elem))
			continue
		case st.failed >= maxFailed:
			fail("more than %d sealed passages could not be opened: the rest are left sealed, untried", maxFailed)
			continue
		case st.exhausted:
			fail("sealed passages expand to more than %d passages or %d MiB in one page (a packet that names another many times over?): the rest are left sealed", maxPassages, maxPageBytes>>20)
			continue
		}
		plain, ok, err := r.Packet(string(m[1]))
		if err != nil {
			fail("sealed passage not opened: %v", err)
			continue
		}
		if !ok {
			elem = mark(elem, format.ClassNotForYou)
			elem = helpPara.ReplaceAllLiteral(elem, helpNote("Not for your identities: sealed for another audience."))
			out.Write(elem)
			notForYou++
			continue
		}
		st.passages++
		st.bytes += len(plain)
		r.passages++
		r.bytes += int64(len(plain))
		if r.passages > maxSitePassages || r.bytes > maxSiteBytes {
			r.exhausted = true
			fail("%s", siteExhausted)
			continue
		}
		if st.passages > maxPassages || st.bytes > maxPageBytes {
			st.exhausted = true
			fail("sealed passages expand to more than %d passages or %d MiB in one page (a packet that names another many times over?): the rest are left sealed", maxPassages, maxPageBytes>>20)
			continue
		}
		open := bytes.Replace(tag, []byte(`class="`+format.ClassSealed), []byte(`class="`+format.ClassUnsealed), 1)
		out.Write(open)
		out.WriteByte('\n')
		if label := labelPara.Find(elem); label != nil {
			label = bytes.Replace(label, []byte(format.ClassSealedLabel), []byte(format.ClassUnsealedLabel), 1)
			out.Write(bytes.Replace(label, []byte(format.LabelSealed), []byte(format.LabelOpened), 1))
			out.WriteByte('\n')
		}
		o, n := r.unseal(out, r.openAttachments(plain, st), depth+1, st)
		out.WriteString(format.PlaceholderEnd)
		opened += 1 + o
		notForYou += n
	}
	return opened, notForYou
}

// Site writes a readable copy of the site at dir into out: every file but
// the packets and the manifest and its signature (the copy is not the
// signed release), with the passages the identities may read in place.
// out is replaced as a whole once the copy is written; an existing out
// must be a readable copy made before. The copy holds restricted text: its
// folders are made with mode 0700, its files 0600, and it holds a
// .gitignore that keeps it out of any repository it lands in.
//
// A file of the site that cannot be read (not a regular file, changed
// since verification, too large) is left out of the copy, and a passage
// that cannot be opened is left sealed; both are problems of the report,
// and Site then returns the report with an [*IncompleteError]. Pages are
// read whole, at most 64 MiB of each (a larger page is copied as it is,
// its passages sealed); other files are copied as a stream.
func Site(dir, out string, ids []age.Identity, sums Sums) (*Report, error) {
	return SiteContext(context.Background(), dir, out, ids, sums)
}

// SiteContext is [Site], stopped when ctx is done (the reader pressed
// Ctrl-C, or the process is being stopped): the copy made so far, which
// holds restricted text, is removed before it returns ctx's error.
func SiteContext(ctx context.Context, dir, out string, ids []age.Identity, sums Sums) (*Report, error) {
	r, err := NewReader(dir, ids, sums)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := checkOut(dir, out); err != nil {
		return nil, err
	}
	return r.writeCopy(ctx, out)
}

// writeCopy writes the readable copy of the reader's site into out, for
// [SiteContext], which checked out.
func (r *Reader) writeCopy(ctx context.Context, out string) (*Report, error) {
	dir := r.site
	parent := filepath.Dir(filepath.Clean(out))
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return nil, err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	// Marked first: a copy cut short (the machine stopped) says what it
	// holds, and git ignores it.
	notes := map[string]string{
		".gitignore": "# A readable copy of a sealed site: it holds restricted text. Never commit or publish it.\n*\n",
		marker:       "Written by conclave open: a readable copy of " + dir + ". It holds restricted text: keep it on this machine.\n",
	}
	for name, text := range notes {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(text), 0o600); err != nil {
			return nil, err
		}
	}
	r.copyDir, r.ctx = tmp, ctx
	defer func() { r.copyDir, r.ctx = "", nil }()
	r.record = copyRecord{Version: recordVersion, Keys: keysDigest(r.ids), Pages: map[string]pageRecord{}, Attachments: map[string]attachmentRecord{}}
	if _, err := os.Lstat(filepath.Join(out, marker)); err == nil { // checkOut made sure it is a copy
		r.prev, r.prevDir = loadRecord(out, r.record.Keys), out
	}
	err = fs.WalkDir(r.fsys, ".", func(rel string, e fs.DirEntry, err error) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped: the partial copy was removed (%w)", err)
		}
		if err != nil {
			if rel == "." {
				return err
			}
			r.problem(rel, "not copied: %s", reason(err))
			return nil
		}
		switch {
		case rel == ".":
			return nil
		case strings.HasPrefix(rel, ".") || rel == format.PacketDir:
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		case manifest.Excluded(rel): // the manifest and its signatures
			return nil
		}
		if err := manifest.CheckPath(rel); err != nil {
			// No build writes it, and verify refuses it: 5,000 nested
			// folders (which took 27 s to end in "file name too
			// long"), or control characters in a name.
			if lerr := manifest.CheckPathLimits(rel); lerr != nil {
				r.problem(rel, "not copied: its path is %v", lerr)
			} else {
				r.problem(quote(rel), "not copied: %s", manifest.ReasonUnsafe)
			}
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(tmp, filepath.FromSlash(rel))
		if e.IsDir() {
			// An attachment written earlier may have made it.
			if err := os.Mkdir(target, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			return nil
		}
		if !e.Type().IsRegular() {
			r.problem(rel, "not copied: %s (%s): refused in a site being opened", manifest.ReasonNotFile, manifest.Kind(e.Type()))
			return nil
		}
		if strings.HasSuffix(rel, ".html") {
			return r.copyPage(rel, target)
		}
		_, err = r.copyFile(rel, target, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := r.openSearch(tmp); err != nil {
		return nil, err
	}
	if err := r.saveRecord(); err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o700); err != nil {
		return nil, err
	}
	if err := replace(tmp, out); err != nil {
		return nil, err
	}
	done = true
	r.report.Out = out
	if len(r.report.Problems) > 0 {
		return &r.report, &IncompleteError{Out: out, Problems: r.report.Problems}
	}
	return &r.report, nil
}

// copyPage writes the page at rel to target with the passages the reader
// may read in place. Problems with the page are the report's; the error is
// one writing the copy.
func (r *Reader) copyPage(rel, target string) error {
	data, sum, err := r.readSum(rel, pageLimit)
	if tl := (*manifest.TooLargeError)(nil); errors.As(err, &tl) && !tl.Grew {
		sealed, err := r.copyFile(rel, target, true)
		if err == nil && sealed {
			r.problem(rel, "sealed passages not opened: %v; the page is copied as it is", tl)
		}
		return err
	}
	if err != nil {
		r.problem(rel, "not copied: %s", reason(err))
		return nil
	}
	if !bytes.Contains(data, []byte(format.PlaceholderStart)) {
		return os.WriteFile(target, data, 0o600)
	}
	if r.again(rel, target, sum) {
		return nil
	}
	// Written as it is expanded: the expanded page is never held whole.
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 64<<10)
	st := pageState{page: rel}
	opened, notForYou := r.unseal(w, data, 0, &st)
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	r.report.Pages++
	r.report.Opened += opened
	r.report.NotForYou += notForYou
	r.report.Failed += st.failed
	for _, msg := range st.all() {
		r.problem(rel, "%s", msg)
	}
	if err == nil && st.failed == 0 && len(st.problems) == 0 {
		r.record.Pages[rel] = pageRecord{Sum: hex.EncodeToString(sum[:]), Opened: opened, NotForYou: notForYou, Attachments: st.attached}
	}
	return err
}

// copyFile copies the file at rel to target as a stream, checked against
// the verified manifest as it is copied: a file that does not match is
// removed from the copy. With find, it reports whether the file holds a
// sealed passage's placeholder. Problems with the file are the report's;
// the error is one writing the copy.
func (r *Reader) copyFile(rel, target string, find bool) (sealed bool, err error) {
	// The limit of verify's check, for a site that was not verified too:
	// a sparse file of 10 GiB would be written out as 10 GiB.
	limit := manifest.SizeLimit(rel)
	f, _, err := manifest.OpenFile(r.fsys, rel, limit)
	if err != nil {
		r.problem(rel, "not copied: %s", reason(err))
		return false, nil
	}
	defer f.Close()
	var want [sha256.Size]byte
	if r.sums != nil {
		var listed bool
		if want, listed = r.sums[rel]; !listed {
			r.problem(rel, "not copied: %v", ErrUnlisted)
			return false, nil
		}
	}
	w, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, err
	}
	h := sha256.New()
	dst := io.MultiWriter(w, h)
	placeholder := &finder{needle: []byte(format.PlaceholderStart)}
	if find {
		dst = io.MultiWriter(w, h, placeholder)
	}
	src := &errReader{r: io.LimitReader(f, limit.Bytes+1)}
	n, err := io.Copy(dst, src)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if n > limit.Bytes && src.err == nil {
		src.err = &manifest.TooLargeError{Size: n, Limit: limit, Grew: true}
	}
	if src.err != nil {
		os.Remove(target)
		r.problem(rel, "not copied: %s", reason(src.err))
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if r.sums != nil && !bytes.Equal(h.Sum(nil), want[:]) {
		if err := os.Remove(target); err != nil {
			return false, err
		}
		r.problem(rel, "not copied: %v", ErrChanged)
		return false, nil
	}
	return placeholder.found, nil
}

// errReader keeps the error its reader returned other than io.EOF.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// finder is a writer that reports whether what was written to it holds
// needle, across writes.
type finder struct {
	needle []byte
	tail   []byte // the last len(needle)-1 bytes written
	found  bool
}

func (f *finder) Write(p []byte) (int, error) {
	if f.found {
		return len(p), nil
	}
	k := len(f.needle) - 1
	// The needle may start in the tail and end in p.
	joined := append(f.tail, p[:min(len(p), k)]...)
	if bytes.Contains(joined, f.needle) || bytes.Contains(p, f.needle) {
		f.found = true
		return len(p), nil
	}
	if len(p) >= k {
		f.tail = append(f.tail[:0], p[len(p)-k:]...)
	} else {
		joined = append(f.tail, p...)
		f.tail = append(f.tail[:0], joined[max(0, len(joined)-k):]...)
	}
	return len(p), nil
}

// reason is an error's message without the path an *fs.PathError
// repeats: problems already name the file.
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// checkOut refuses an output folder inside the site (the copy would be
// published with it) and an existing folder that is not a readable copy.
// Paths are compared with symbolic links resolved, so that no link leads
// the copy into the site.
func checkOut(dir, out string) error {
	inside, holds, err := within(dir, out)
	if err != nil {
		return err
	}
	if inside {
		return fmt.Errorf("output %s is inside the site %s: the readable copy would be published with it; choose a folder elsewhere", out, dir)
	}
	if holds {
		return fmt.Errorf("output %s holds the site %s: choose a folder elsewhere", out, dir)
	}
	info, err := os.Lstat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("refusing to replace %s: it is not a folder (choose another -o)", out)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	if m, err := os.Lstat(filepath.Join(out, marker)); err != nil || !m.Mode().IsRegular() {
		return fmt.Errorf("refusing to replace %s: it is not empty and not a readable copy made by conclave open (remove it or choose another -o)", out)
	}
	return nil
}

// replace puts the folder tmp in out's place.
func replace(tmp, out string) error {
	if _, err := os.Lstat(out); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(tmp, out)
	}
	old := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".old-"+strconv.FormatUint(rand.Uint64(), 36))
	if err := os.Rename(out, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Rename(old, out)
		return err
	}
	return os.RemoveAll(old)
}

// CheckFileOut refuses to write what the age file at path opens to out
// inside the site that holds it: the passage in clear would be published
// with the site.
func CheckFileOut(path, out string) error {
	dir, err := SiteOf(path)
	if err != nil || dir == "" {
		return err
	}
	inside, _, err := within(dir, out)
	if err != nil || !inside {
		return err
	}
	return fmt.Errorf("output %s is inside the site %s: the passage in clear would be published with it; choose a file elsewhere", out, dir)
}

// within says whether out is inside the site dir, and whether it holds
// it, with symbolic links resolved.
func within(dir, out string) (inside, holds bool, err error) {
	realSite, err := site.RealPath(dir)
	if err != nil {
		return false, false, fmt.Errorf("%s: %w", dir, err)
	}
	realOut, err := site.RealPath(out)
	if err != nil {
		// A link to a folder that does not exist, or a folder that
		// cannot be read.
		return false, false, fmt.Errorf("output %s: cannot tell where it is (%v): choose another -o", out, err)
	}
	return site.Within(realSite, realOut), site.Within(realOut, realSite), nil
}

// SiteOf returns the site folder that holds the packet or keyring at
// path, or "" if path is not in a packets/ or keyrings/ folder.
func SiteOf(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(abs)
	switch {
	case filepath.Base(dir) == format.PacketDir:
		return filepath.Dir(dir), nil
	case filepath.ToSlash(filepath.Join(filepath.Base(filepath.Dir(dir)), filepath.Base(dir))) == format.KeyringDir:
		return filepath.Dir(filepath.Dir(dir)), nil
	}
	return "", nil
}

// File decrypts one age file of a site: a packet, with the keyrings of
// the site that holds it, or any file encrypted to the identities
// themselves (a keyring). An attachment's plaintext is returned whole,
// header and padding included ([format.ParseAttachment]); [FileTo]
// writes an attachment's file of any size as a stream. With sums, the
// verified manifest of the site that holds it, every file read is checked
// against it.
//
// The file is read once, through an [os.Root] at its site (or its folder,
// if it is in no site): it must be a regular file of at most
// [manifest.MaxPacket] bytes ([manifest.MaxKeyring] for a keyring), and
// the bytes decrypted are the bytes checked. The keyrings of the site that
// could not be read or opened are returned as warnings when the file
// still opens.
func File(file string, ids []age.Identity, sums Sums) ([]byte, []*diag.Warning, error) {
	loc, err := locate(file, sums)
	if err != nil {
		return nil, nil, err
	}
	defer loc.root.Close()
	limit := manifest.SizeLimit(loc.rel)
	if limit.Bytes == 0 || limit.Bytes > manifest.MaxPacket {
		limit = manifest.PacketLimit
	}
	// Decrypted as it is read, with the identities themselves first.
	plain, ok, err := (&Reader{fsys: loc.fsys, sums: sums}).decryptFile(loc.rel, limit, ids)
	if fe := (*fileError)(nil); errors.As(err, &fe) {
		return nil, nil, &diag.Error{File: file, Msg: reason(fe.err), Err: fe.err}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	if ok {
		return plain, nil, nil
	}
	r, err := loc.reader(ids, sums)
	if err != nil {
		return nil, nil, err
	}
	// Read again, as a packet, with the keys of the site's keyrings.
	plain, ok, err = r.Packet(loc.rel)
	if de := (*diag.Error)(nil); errors.As(err, &de) {
		at := *de
		at.File = file // as the reader named it
		err = &at
	}
	if err != nil {
		return nil, r.Problems(), err
	}
	if !ok {
		return nil, r.Problems(), loc.notForYou()
	}
	return plain, r.Problems(), nil
}

// FileOptions are how [FileTo] reads a file.
type FileOptions struct {
	// Sums is the verified manifest of the site that holds the file;
	// nil if it was not verified.
	Sums Sums
	// CheckFirst hashes an attachment's packet, and checks its digest,
	// before the first byte of its file is written: for a writer that
	// cannot take back what it was given (standard output). Its bytes
	// are checked again as they are decrypted.
	CheckFirst bool
}

// FileTo decrypts one age file of a site as [File] does, and writes what
// it opens to w: a passage's HTML or a keyring's identities whole, once
// the file was read to its end and checked; an attachment's file, without
// its header or padding, as a stream. It returns the attachment's header,
// nil for any other file.
//
// A packet may hold up to [manifest.MaxAttachmentPacket] bytes (5 GiB) if
// it holds an attachment, [manifest.MaxPacket] if it holds a passage (a
// larger one is refused once its first bytes show which it holds). An
// attachment's bytes reach w as age authenticates them, 64 KiB at a time,
// in buffers of a few hundred KiB whatever its size; the file is checked
// once read to its end: age authenticated its last chunk, the padding
// is zeros, and the digest of its bytes matches its name and the verified
// manifest. An error then means that w holds what must be discarded
// (with an attachment returned, w may have been given part of its file):
// a writer into a file writes a temporary one, and keeps it only when
// FileTo returns no error. It stops when ctx is done.
func FileTo(ctx context.Context, w io.Writer, file string, ids []age.Identity, opt FileOptions) (*format.Attachment, []*diag.Warning, error) {
	loc, err := locate(file, opt.Sums)
	if err != nil {
		return nil, nil, err
	}
	defer loc.root.Close()
	limit := manifest.AttachmentPacketLimit
	if path.Dir(loc.rel) == format.KeyringDir {
		limit = manifest.KeyringLimit
	}
	shown := func(err error) error {
		if fe := (*fileError)(nil); errors.As(err, &fe) {
			return &diag.Error{File: file, Msg: reason(fe.err), Err: fe.err}
		}
		if de := (*diag.Error)(nil); errors.As(err, &de) {
			at := *de
			at.File = file
			return &at
		}
		if we := (*writeError)(nil); errors.As(err, &we) {
			return we.err
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	// With the identities themselves first.
	rd := &Reader{fsys: loc.fsys, sums: opt.Sums}
	a, ok, err := rd.fileTo(ctx, w, loc.rel, limit, ids, opt, false)
	if err != nil {
		return a, nil, shown(err)
	}
	if ok {
		return a, nil, nil
	}
	r, err := loc.reader(ids, opt.Sums)
	if err != nil {
		return nil, nil, err
	}
	// Read again, as a packet, with the keys of the site's keyrings.
	if !format.IsPacketPath(loc.rel) {
		return nil, r.Problems(), fmt.Errorf("%s is not a packet path (want %s/<%d hex digits>%s)", quote(loc.rel), format.PacketDir, format.DigestHex, format.AgeExt)
	}
	a, ok, err = r.fileTo(ctx, w, loc.rel, limit, r.packetIDs, opt, true)
	if err != nil {
		return a, r.Problems(), shown(err)
	}
	if !ok {
		return nil, r.Problems(), loc.notForYou()
	}
	return a, r.Problems(), nil
}

// fileTo is [FileTo] for the file at the slash path p of the reader's
// site, decrypted with ids: a passage is written without its padding if
// packet is set; ok is false if ids open no recipient of it.
func (r *Reader) fileTo(ctx context.Context, w io.Writer, p string, limit manifest.Limit, ids []age.Identity, opt FileOptions, packet bool) (*format.Attachment, bool, error) {
	s, err := r.openStream(p, limit)
	if err != nil {
		return nil, false, err
	}
	defer s.close()
	ok, err := s.decrypt(ids)
	if err != nil || !ok {
		return nil, false, err
	}
	head, err := s.head()
	if err != nil {
		return nil, false, err
	}
	a, start, err := format.ParseAttachmentHeader(head)
	switch {
	case errors.Is(err, format.ErrNotAttachment):
		// A passage or a keyring: read whole, within a passage's limit.
		if limit.Bytes > manifest.MaxPacket {
			limit = manifest.PacketLimit
		}
		if s.size > limit.Bytes {
			return nil, false, s.fail(&fileError{&manifest.TooLargeError{Size: s.size, Limit: limit}})
		}
		plain, err := s.readAll(head, limit)
		if err == nil {
			err = s.finish(false)
		}
		if err != nil {
			return nil, false, err
		}
		if packet {
			plain = unpad(plain)
		}
		if _, err := w.Write(plain); err != nil {
			return nil, false, &writeError{err}
		}
		return nil, true, nil
	case err != nil:
		return nil, false, s.fail(err)
	}
	if opt.CheckFirst {
		sum, err := manifest.HashFile(r.fsys, p, limit)
		if err != nil {
			return nil, false, &fileError{err}
		}
		check := &packetStream{p: p, sums: r.sums, sum: sum}
		if err := check.checkSum(true); err != nil {
			return nil, false, err
		}
	}
	if err := s.copyAttachment(ctx, w, a, head[start:]); err != nil {
		return &a, false, err
	}
	if err := s.finish(true); err != nil {
		return &a, false, err
	}
	return &a, true, nil
}

// located is where an age file given to [File] or [FileTo] is: the site
// that holds it, opened, and its path there.
type located struct {
	file string   // as the reader named it
	site string   // the site's folder; "" if the file is in none
	root *os.Root // the site, or the file's folder
	fsys fs.FS
	rel  string // the file's slash path in root
}

func locate(file string, sums Sums) (*located, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	site, err := SiteOf(file)
	if err != nil {
		return nil, err
	}
	dir, rel := site, ""
	if site != "" {
		r, err := filepath.Rel(site, abs)
		if err != nil {
			return nil, err
		}
		rel = filepath.ToSlash(r)
	} else {
		if sums != nil {
			return nil, fmt.Errorf("%s is not in a site's %s/ or %s/ folder: nothing to verify it against", file, format.PacketDir, format.KeyringDir)
		}
		dir, rel = filepath.Dir(abs), filepath.Base(abs)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &located{file: file, site: site, root: root, fsys: manifest.RootFS(root), rel: rel}, nil
}

// reader opens the keyrings of the site that holds the file, for a file
// the identities themselves do not open.
func (l *located) reader(ids []age.Identity, sums Sums) (*Reader, error) {
	if l.site == "" || path.Dir(l.rel) != format.PacketDir {
		return nil, fmt.Errorf("%s is not encrypted to the given identities, and is not a packet of a site (in a %s/ folder) whose keyrings could open it", l.file, format.PacketDir)
	}
	// The site as the reader named it, for messages: file's folder's
	// parent.
	return newReader(filepath.Dir(filepath.Dir(l.file)), l.fsys, ids, sums)
}

func (l *located) notForYou() error {
	return fmt.Errorf("%s is not for these identities: none of the keyrings they open holds its audience's key", l.file)
}

// Sums maps each file of a verified release to its SHA-256 digest: the
// entries of a manifest whose signature was checked.
type Sums map[string][sha256.Size]byte

// VerifiedSums returns the sums of a verified manifest's entries.
func VerifiedSums(entries []manifest.Entry) Sums {
	s := make(Sums, len(entries))
	for _, e := range entries {
		s[e.Path] = e.Sum
	}
	return s
}

// Errors for files that do not match a verified manifest.
var (
	ErrUnlisted = errors.New("not listed in the verified " + manifest.Name + ": refused")
	ErrChanged  = errors.New("changed since its signature was verified: refused")
)

// checkSum checks that sum is the digest of the file at p in the verified
// manifest.
func (s Sums) checkSum(p string, sum [sha256.Size]byte) error {
	want, ok := s[p]
	if !ok {
		return ErrUnlisted
	}
	if sum != want {
		return ErrChanged
	}
	return nil
}

// read reads the file at the slash path p of the site whole, at most
// limit bytes of it ([manifest.ReadFile]), checked against the verified
// manifest if there is one: the bytes returned are the bytes checked.
func (r *Reader) read(p string, limit manifest.Limit) ([]byte, error) {
	data, _, err := r.readSum(p, limit)
	return data, err
}

// readSum is read, which also returns the digest of what it read.
func (r *Reader) readSum(p string, limit manifest.Limit) ([]byte, [sha256.Size]byte, error) {
	data, sum, err := manifest.ReadFile(r.fsys, p, limit)
	if err != nil {
		return nil, sum, err
	}
	if r.sums != nil {
		if err := r.sums.checkSum(p, sum); err != nil {
			return nil, sum, err
		}
	}
	return data, sum, nil
}
