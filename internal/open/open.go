// Package open is the reader's side of a sealed site: it finds the
// keyrings a reader's identities open, decrypts the packets those keyrings
// open, and writes a readable copy of the site with every passage the
// reader may see in place (DESIGN §5).
//
// The site is untrusted input: packet paths come from its pages and must
// name a packet under packets/, and nothing is written outside the chosen
// output folder.
package open

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/site"
)

// Where a sealed site keeps its packets and keyrings.
const (
	PacketDir  = "packets"
	KeyringDir = "packets/keyrings"
)

// The placeholder a build writes for a sealed passage: an element starting
// with placeholderStart whose start tag carries data-packet="packets/….age"
// and which ends at the first placeholderEnd (it holds no other section).
// This is the contract of internal/markdown/restricted's renderer; the
// build's end-to-end tests check both sides together.
const (
	placeholderStart = `<section class="sealed`
	placeholderEnd   = "</section>"
)

var (
	packetAttr = regexp.MustCompile(`\sdata-packet="([^"]*)"`)
	packetPath = regexp.MustCompile(`^packets/[0-9a-f]{32}\.age$`)
	labelPara  = regexp.MustCompile(`(?s)<p class="sealed-label">.*?</p>`)
	helpPara   = regexp.MustCompile(`(?s)<p class="sealed-help">.*?</p>`)
)

// Bounds on what one page may expand to, against a hostile site: maxDepth
// stops a packet that names itself, maxPassages and maxPageBytes a packet
// that names another many times over, which names another many times over
// (each level multiplies the page's size).
const (
	maxDepth     = 16
	maxPassages  = 100_000
	maxPageBytes = 256 << 20
)

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
}

// Reader decrypts the packets of one site with the keyrings its
// identities open.
type Reader struct {
	site     string
	fsys     fs.FS          // the site; nothing outside it can be read through it
	sums     Sums           // the verified manifest; nil if unverified
	root     *os.Root       // fsys's root, closed by Close
	ids      []age.Identity // the audience keys from the keyrings
	report   Report
	plain    map[string][]byte // packet path → plaintext, nil if not for us
	keyrings []string
}

// NewReader opens every keyring of the site at dir that ids can open.
// It fails if the site has no keyrings, or if none opens: then the site
// holds nothing for these identities, or they are the wrong ones.
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
	r, err := newReader(dir, root.FS(), ids, sums)
	if err != nil {
		root.Close()
		return nil, err
	}
	r.root = root
	return r, nil
}

func newReader(dir string, fsys fs.FS, ids []age.Identity, sums Sums) (*Reader, error) {
	r := &Reader{site: dir, fsys: fsys, sums: sums, plain: map[string][]byte{}}
	entries, err := fs.ReadDir(fsys, KeyringDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s has no %s/ folder: it holds no sealed passages (is it a conclave site's output folder?)", dir, KeyringDir)
	}
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".age") {
			r.keyrings = append(r.keyrings, e.Name())
		}
	}
	slices.Sort(r.keyrings)
	r.report.Keyrings = len(r.keyrings)
	for _, name := range r.keyrings {
		p := KeyringDir + "/" + name
		data, err := r.read(p)
		if err != nil {
			return nil, err
		}
		plain, ok, err := decrypt(data, ids)
		if err != nil {
			return nil, fmt.Errorf("keyring %s: %w", p, err)
		}
		if !ok {
			continue
		}
		got, err := age.ParseIdentities(bytes.NewReader(plain))
		if err != nil {
			return nil, fmt.Errorf("keyring %s opens but holds no keys (a damaged site?)", p)
		}
		r.ids = append(r.ids, got...)
		r.report.KeyringsOpened++
	}
	if r.report.KeyringsOpened == 0 {
		if askedPassphrase(ids) {
			return nil, fmt.Errorf("none of the %d keyrings of %s opens with the given identities and passphrase: the passphrase is wrong (or not for this site), or the site holds nothing for you", len(r.keyrings), dir)
		}
		return nil, fmt.Errorf("none of the %d keyrings of %s opens with the given identities: the site holds nothing for them, or -i names another key", len(r.keyrings), dir)
	}
	return r, nil
}

// Close releases the site folder. The reader keeps the plaintext of the
// packets it opened.
func (r *Reader) Close() error {
	if r.root == nil {
		return nil
	}
	return r.root.Close()
}

// decrypt decrypts an age file with ids; ok is false if none of them is a
// recipient of it.
func decrypt(data []byte, ids []age.Identity) (plain []byte, ok bool, err error) {
	rd, err := age.Decrypt(bytes.NewReader(data), ids...)
	var nm *age.NoIdentityMatchError
	if errors.As(err, &nm) || errors.Is(err, age.ErrIncorrectIdentity) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var b bytes.Buffer
	if _, err := io.Copy(&b, rd); err != nil {
		return nil, false, err
	}
	return b.Bytes(), true, nil
}

// Packet returns the plaintext of the packet at the slash path p (e.g.
// "packets/3f….age"), without its padding; ok is false if the reader's
// keyrings do not open it.
func (r *Reader) Packet(p string) (plain []byte, ok bool, err error) {
	if !packetPath.MatchString(p) {
		return nil, false, fmt.Errorf("%q is not a packet path (want packets/<32 hex digits>.age)", p)
	}
	if plain, seen := r.plain[p]; seen {
		return plain, plain != nil, nil
	}
	data, err := r.read(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("%s: the site does not hold this packet", p)
	}
	if err != nil {
		return nil, false, err
	}
	plain, ok, err = decrypt(data, r.ids)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", p, err)
	}
	if ok {
		plain = bytes.TrimRight(plain, "\n")
		plain = append(plain, '\n')
	}
	r.plain[p] = plain
	return plain, ok, nil
}

// Unseal returns page with every placeholder whose packet the reader
// opens replaced by the passage, nested passages included, and counts the
// passages opened and those not for the reader. A placeholder left in
// place gets the class not-for-you.
//
// It fails on a page it cannot parse, on a packet path that does not name
// a packet under packets/, and on passages that nest more than 16 deep or
// expand to more than 100,000 passages or 256 MiB in all: a hostile site
// cannot make it loop or exhaust memory.
func (r *Reader) Unseal(page []byte) (out []byte, opened, notForYou int, err error) {
	var b budget
	return r.unseal(page, 0, &b)
}

// budget counts what one page has expanded to so far.
type budget struct{ passages, bytes int }

func (r *Reader) unseal(page []byte, depth int, b *budget) ([]byte, int, int, error) {
	if depth > maxDepth {
		return nil, 0, 0, fmt.Errorf("sealed passages nested more than %d deep (a packet that names itself?)", maxDepth)
	}
	var out bytes.Buffer
	opened, notForYou := 0, 0
	rest := page
	for {
		i := bytes.Index(rest, []byte(placeholderStart))
		if i < 0 {
			out.Write(rest)
			break
		}
		tagEnd := bytes.IndexByte(rest[i:], '>')
		end := bytes.Index(rest[i:], []byte(placeholderEnd))
		if tagEnd < 0 || end < 0 || end < tagEnd {
			return nil, 0, 0, errors.New("a sealed passage's placeholder is not closed")
		}
		tag := rest[i : i+tagEnd+1]
		elem := rest[i : i+end+len(placeholderEnd)]
		next := rest[i+len(elem):] // what follows the placeholder as written
		m := packetAttr.FindSubmatch(tag)
		if m == nil {
			return nil, 0, 0, errors.New("a sealed passage's placeholder names no packet")
		}
		plain, ok, err := r.Packet(string(m[1]))
		if err != nil {
			return nil, 0, 0, err
		}
		out.Write(rest[:i])
		if ok {
			b.passages++
			b.bytes += len(plain)
			if b.passages > maxPassages || b.bytes > maxPageBytes {
				return nil, 0, 0, fmt.Errorf("sealed passages expand to more than %d passages or %d MiB in one page (a packet that names another many times over?)", maxPassages, maxPageBytes>>20)
			}
		}
		if !ok {
			elem = bytes.Replace(elem, []byte(placeholderStart), []byte(placeholderStart+" not-for-you"), 1)
			elem = helpPara.ReplaceAll(elem, []byte(`<p class="sealed-help">Not for your identities: sealed for another audience.</p>`))
			out.Write(elem)
			notForYou++
		} else {
			inner, o, n, err := r.unseal(plain, depth+1, b)
			if err != nil {
				return nil, 0, 0, err
			}
			out.Write(bytes.Replace(tag, []byte(`class="sealed`), []byte(`class="unsealed`), 1))
			out.WriteByte('\n')
			if label := labelPara.Find(elem); label != nil {
				label = bytes.Replace(label, []byte("sealed-label"), []byte("unsealed-label"), 1)
				out.Write(bytes.Replace(label, []byte("Sealed "), []byte("Restricted "), 1))
				out.WriteByte('\n')
			}
			out.Write(inner)
			out.WriteString(placeholderEnd)
			opened += 1 + o
			notForYou += n
		}
		rest = next
	}
	return out.Bytes(), opened, notForYou, nil
}

// Site writes a readable copy of the site at dir into out: every file but
// the packets and the manifest and its signature (the copy is not the
// signed release), with the passages the identities may read in place.
// out is replaced as a whole and only on success; an existing out must be
// a readable copy made before. The copy holds restricted text: its folders
// are made with mode 0700, its files 0600, and it holds a .gitignore that
// keeps it out of any repository it lands in.
func Site(dir, out string, ids []age.Identity, sums Sums) (*Report, error) {
	r, err := NewReader(dir, ids, sums)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := checkOut(dir, out); err != nil {
		return nil, err
	}
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
	err = fs.WalkDir(r.fsys, ".", func(rel string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case rel == ".":
			return nil
		case strings.HasPrefix(rel, ".") || rel == PacketDir:
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		case !strings.Contains(rel, "/") && strings.HasPrefix(rel, "SHA256SUMS"):
			return nil
		}
		target := filepath.Join(tmp, filepath.FromSlash(rel))
		if e.IsDir() {
			return os.Mkdir(target, 0o700)
		}
		if !e.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file (refused in a site being opened)", rel)
		}
		data, err := r.read(rel)
		if err != nil {
			return err
		}
		if strings.HasSuffix(rel, ".html") && bytes.Contains(data, []byte(placeholderStart)) {
			page, opened, notForYou, err := r.Unseal(data)
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			data = page
			r.report.Pages++
			r.report.Opened += opened
			r.report.NotForYou += notForYou
		}
		return os.WriteFile(target, data, 0o600)
	})
	if err != nil {
		return nil, err
	}
	for name, text := range map[string]string{
		".gitignore": "# A readable copy of a sealed site: it holds restricted text. Never commit or publish it.\n*\n",
		marker:       "Written by conclave open: a readable copy of " + dir + ". It holds restricted text: keep it on this machine.\n",
	} {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(text), 0o600); err != nil {
			return nil, err
		}
	}
	if err := os.Chmod(tmp, 0o700); err != nil {
		return nil, err
	}
	if err := replace(tmp, out); err != nil {
		return nil, err
	}
	done = true
	r.report.Out = out
	return &r.report, nil
}

// checkOut refuses an output folder inside the site (the copy would be
// published with it) and an existing folder that is not a readable copy.
// Paths are compared with symbolic links resolved, so that no link leads
// the copy into the site.
func checkOut(dir, out string) error {
	realSite, err1 := site.RealPath(dir)
	realOut, err2 := site.RealPath(out)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	if site.Within(realSite, realOut) {
		return fmt.Errorf("output %s is inside the site %s: the readable copy would be published with it; choose a folder elsewhere", out, dir)
	}
	if site.Within(realOut, realSite) {
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

// SiteOf returns the site folder that holds the packet or keyring at
// path, or "" if path is not in a packets/ or keyrings/ folder.
func SiteOf(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(abs)
	switch {
	case filepath.Base(dir) == PacketDir:
		return filepath.Dir(dir), nil
	case filepath.ToSlash(filepath.Join(filepath.Base(filepath.Dir(dir)), filepath.Base(dir))) == KeyringDir:
		return filepath.Dir(filepath.Dir(dir)), nil
	}
	return "", nil
}

// File decrypts one age file of a site: a packet, with the keyrings of
// the site that holds it, or any file encrypted to the identities
// themselves (a keyring). With sums, the verified manifest of the site
// that holds it, every file read is checked against it.
func File(path string, ids []age.Identity, sums Sums) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if sums != nil {
		site, err := SiteOf(path)
		if err != nil {
			return nil, err
		}
		abs, _ := filepath.Abs(path)
		rel, err := filepath.Rel(site, abs)
		if site == "" || err != nil {
			return nil, fmt.Errorf("%s is not in a site's %s/ or %s/ folder: nothing to verify it against", path, PacketDir, KeyringDir)
		}
		if err := sums.check(filepath.ToSlash(rel), data); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	plain, ok, err := decrypt(data, ids)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if ok {
		return plain, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(abs)
	if filepath.Base(dir) != PacketDir {
		return nil, fmt.Errorf("%s is not encrypted to the given identities, and is not a packet of a site (in a %s/ folder) whose keyrings could open it", path, PacketDir)
	}
	r, err := NewReader(filepath.Dir(dir), ids, sums)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	plain, ok, err = r.Packet(PacketDir + "/" + filepath.Base(abs))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s is not for these identities: none of the keyrings they open holds its audience's key", path)
	}
	return plain, nil
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

func (s Sums) check(p string, data []byte) error {
	want, ok := s[p]
	if !ok {
		return ErrUnlisted
	}
	if sha256.Sum256(data) != want {
		return ErrChanged
	}
	return nil
}

// read reads the file at the slash path p of the site, checked against
// the verified manifest if there is one.
func (r *Reader) read(p string) ([]byte, error) {
	data, err := fs.ReadFile(r.fsys, p)
	if err != nil || r.sums == nil {
		return data, err
	}
	if err := r.sums.check(p, data); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return data, nil
}
