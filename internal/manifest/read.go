package manifest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"

	"github.com/conclave-dev/conclave/internal/format"
)

// What a reader of a site (conclave verify, conclave open) reads, whole or
// as a stream, it reads within a limit its role justifies: a file read
// whole is held in memory, a file read as a stream (hashed, copied, an
// attachment decrypted) costs time. A copy of a site may come from
// anywhere: SHA256SUMS and its bundle are read before their signature is
// checked, and every other file is read before its digest is. Each limit is
// checked against the size of the opened file before anything is read, and
// again while reading, so that a file that grows is cut off. See
// docs/security.md, "Resource limits".
const (
	// MaxEntries is the most files a manifest may list.
	MaxEntries = 1_000_000
	// MaxSize is the most bytes SHA256SUMS may hold: MaxEntries lines of
	// 134 bytes on average (64 hex digits, two spaces and a newline, and
	// a path of 67 bytes: a conclave site's are 20 to 80 bytes long,
	// packets/<32 hex digits>.age is 44). Before its signature is
	// checked it is only hashed, as a stream ([HashFile]): only the
	// manifest the signature covers is read whole.
	MaxSize = 128 << 20
	// MaxBundle is the most bytes the Sigstore bundle may hold; real
	// bundles are a few KiB.
	MaxBundle = 1 << 20
	// MaxPacket is the most bytes a passage's packet (packets/NAME.age)
	// may hold, which readers read whole ([PacketLimit]): the padded HTML
	// of one restricted passage, or of a whole restricted page,
	// encrypted. A passage of 64 MiB of HTML would be a page no browser
	// shows; the reader also bounds what nested passages expand to (256
	// MiB for a page).
	MaxPacket = 64 << 20
	// MaxAttachmentPacket is the most bytes any packet may hold: an
	// attachment's ([format.MaxAttachmentPacket], 5 GiB), which is hashed,
	// checked, copied and decrypted as a stream, never held whole
	// ([AttachmentPacketLimit]). A file of packets/ is checked against
	// this limit, as it may hold an attachment; a reader that finds a
	// passage in a packet of more than [MaxPacket] bytes refuses it.
	MaxAttachmentPacket = format.MaxAttachmentPacket
	// MaxKeyring is the most bytes a keyring (packets/keyrings/NAME.age)
	// may hold: age's header of at most 1,024 stanzas (about 1.6 KB for a
	// post-quantum key, 2.8 KB for a 16,384-bit ssh-rsa key: under 3 MiB),
	// and the identities of the reader's audiences (about 80 bytes each:
	// 100,000 audiences are 8 MiB), padded (Padmé adds at most 12%).
	MaxKeyring = 16 << 20
	// MaxFile is the most bytes any other file of a site may hold (a
	// page, a stylesheet, an image, keyrings.json): the largest content
	// file a build accepts (256 MiB, site.MaxFileSize) is the largest file
	// it writes. Readers refuse a larger one from its size, before
	// hashing it: a hostile copy with a 1 TiB file would otherwise keep
	// verify hashing for half an hour.
	MaxFile = 256 << 20
)

// Limit is the most bytes a reader reads of one file, and what the file is,
// for messages ("a packet").
type Limit struct {
	Bytes int64
	What  string
}

// Reader limits by role. PacketLimit is a passage's packet, read whole;
// AttachmentPacketLimit any packet, read as a stream: an attachment's, or
// one checked or copied without being decrypted.
var (
	ManifestLimit         = Limit{MaxSize, "a " + Name}
	BundleLimit           = Limit{MaxBundle, "a bundle"}
	PacketLimit           = Limit{MaxPacket, "a passage's packet"}
	AttachmentPacketLimit = Limit{MaxAttachmentPacket, "a packet"}
	KeyringLimit          = Limit{MaxKeyring, "a keyring"}
	FileLimit             = Limit{MaxFile, "a file of a site"}
)

// SizeLimit returns the limit of the file at the slash path p of a site,
// within which it is hashed, checked against a manifest or copied (verify,
// sign, pull): the manifest, its bundle and a keyring have their own,
// which readers read them whole within; a packet has
// [AttachmentPacketLimit], as it may hold an attachment, which readers
// decrypt as a stream (a passage's packet is read whole within
// [PacketLimit]); any other file has [FileLimit], within which it is
// hashed or copied as a stream.
func SizeLimit(p string) Limit {
	dir, name := path.Split(p)
	switch {
	case p == Name:
		return ManifestLimit
	case p == BundleName:
		return BundleLimit
	case !strings.HasSuffix(name, format.AgeExt):
		return FileLimit
	case dir == format.PacketDir+"/":
		return AttachmentPacketLimit
	case dir == format.KeyringDir+"/":
		return KeyringLimit
	}
	return FileLimit
}

// ErrNotRegular is the error for a file that is a symbolic link, a named
// pipe, a device, a socket or a folder where a regular file must be.
var ErrNotRegular = errors.New(ReasonNotFile)

// TooLargeError is the error for a file larger than its [Limit].
type TooLargeError struct {
	Size  int64 // the size of the file, or what was read of it if it grew
	Limit Limit
	Grew  bool // it grew past the limit while being read
}

func (e *TooLargeError) Error() string {
	grew := ""
	if e.Grew {
		grew = " (it grew while read)"
	}
	n := fmt.Sprintf("%d bytes", e.Size)
	if e.Size >= 1<<30 {
		n += fmt.Sprintf(" (%.1f GiB)", float64(e.Size)/(1<<30))
	} else if e.Size >= 1<<20 {
		n += fmt.Sprintf(" (%.1f MiB)", float64(e.Size)/(1<<20))
	}
	limit := fmt.Sprintf("%d bytes", e.Limit.Bytes)
	switch {
	case e.Limit.Bytes%(1<<30) == 0:
		limit = fmt.Sprintf("%d GiB", e.Limit.Bytes>>30)
	case e.Limit.Bytes%(1<<20) == 0:
		limit = fmt.Sprintf("%d MiB", e.Limit.Bytes>>20)
	}
	return fmt.Sprintf("too large: %s%s, more than %s ever holds (%s at most): refused", n, grew, e.Limit.What, limit)
}

// RootFS returns the tree of root as a file system that a hostile tree
// cannot stall or lead out of: like root.FS(), it never reaches outside
// root, and its Open opens without blocking (O_NONBLOCK), so that a named
// pipe in a file's place cannot hang the reader; [OpenFile] then refuses it.
// It implements [fs.ReadLinkFS], [fs.ReadDirFS] and [fs.StatFS].
func RootFS(root *os.Root) fs.FS { return rootFS{root} }

type rootFS struct{ root *os.Root }

func (r rootFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := r.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (r rootFS) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, ok := f.(fs.ReadDirFile)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a folder")}
	}
	entries, err := d.ReadDir(-1)
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, err
}

func (r rootFS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	return r.root.Stat(name)
}

func (r rootFS) Lstat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrInvalid}
	}
	return r.root.Lstat(name)
}

func (r rootFS) ReadLink(name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return r.root.Readlink(name)
}

// OpenFile opens the file name of fsys, which must be a regular file: not
// a symbolic link (checked with [fs.Lstat] before it is opened, so that
// no link is followed and no device is opened), and a regular file once
// opened (a named pipe or a link put in its place since is refused; with
// [RootFS], opening a named pipe does not block). With a non-zero limit, a
// file larger than limit is refused before it is opened. It returns the
// opened file and what Stat says of it.
func OpenFile(fsys fs.FS, name string, limit Limit) (fs.File, fs.FileInfo, error) {
	info, err := fs.Lstat(fsys, name)
	if err != nil {
		return nil, nil, err
	}
	if err := regular(info, limit); err != nil {
		return nil, nil, err
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err == nil {
		err = regular(st, limit)
	}
	// Files of the os package: the file opened must be the one Lstat saw
	// (os.Root follows a link put in its place since, within the tree).
	if err == nil && info.Sys() != nil && st.Sys() != nil && !os.SameFile(info, st) {
		err = fmt.Errorf("%w: replaced while it was opened", ErrNotRegular)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}

func regular(info fs.FileInfo, limit Limit) error {
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%w (%s)", ErrNotRegular, Kind(info.Mode().Type()))
	}
	if limit.Bytes > 0 && info.Size() > limit.Bytes {
		return &TooLargeError{Size: info.Size(), Limit: limit}
	}
	return nil
}

// ReadFile reads the file name of fsys whole, and returns it with its
// SHA-256 digest, computed over exactly the bytes returned: a caller that
// checks the digest uses the bytes it checked, whatever happens to the
// file since. The file must be a regular file ([OpenFile]) of at most
// limit.Bytes bytes: a larger file is refused before it is read, and a
// file that grows while it is read is refused once it passes the limit,
// so that what is allocated for it never exceeds limit.Bytes and the
// size the file had when opened.
func ReadFile(fsys fs.FS, name string, limit Limit) ([]byte, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	if limit.Bytes <= 0 {
		return nil, sum, fmt.Errorf("reading %s: no size limit (a bug in conclave)", name)
	}
	f, info, err := OpenFile(fsys, name, limit)
	if err != nil {
		return nil, sum, err
	}
	defer f.Close()
	// One byte more than the size, to see the end of the file without
	// growing the buffer.
	buf := make([]byte, 0, max(info.Size(), 0)+1)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit.Bytes {
				return nil, sum, &TooLargeError{Size: int64(len(buf)), Limit: limit, Grew: true}
			}
			next := min(int64(cap(buf))*2+512, limit.Bytes+1)
			buf = slices.Grow(buf, int(next)-len(buf))
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, sum, err
		}
	}
	if int64(len(buf)) > limit.Bytes {
		return nil, sum, &TooLargeError{Size: int64(len(buf)), Limit: limit, Grew: true}
	}
	return buf, sha256.Sum256(buf), nil
}

// HashFile returns the SHA-256 digest of the file name of fsys, read as a
// stream: it must be a regular file ([OpenFile]) of at most limit.Bytes
// bytes, checked before it is read and while it is read. It costs no
// memory whatever the file's size, so that a file can be checked against
// an expected digest before it is read whole.
func HashFile(fsys fs.FS, name string, limit Limit) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	if limit.Bytes <= 0 {
		return sum, fmt.Errorf("hashing %s: no size limit (a bug in conclave)", name)
	}
	f, _, err := OpenFile(fsys, name, limit)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	n, err := io.CopyBuffer(struct{ io.Writer }{h}, io.LimitReader(struct{ io.Reader }{f}, limit.Bytes+1), *buf)
	if err != nil {
		return sum, err
	}
	if n > limit.Bytes {
		return sum, &TooLargeError{Size: n, Limit: limit, Grew: true}
	}
	h.Sum(sum[:0])
	return sum, nil
}

// ReadEntries parses the manifest name of fsys as a stream ([ParseReader],
// file naming it in messages), and returns its entries if the SHA-256
// digest of the bytes read is want. The file must be a regular file
// ([OpenFile]) of at most limit.Bytes bytes. Only the entries are kept,
// never the manifest's text, and they are parsed from exactly the bytes
// whose digest was checked. A file whose digest is not want ("changed
// while it was read") is refused before its parse problems are reported,
// which are located errors ([diag.Error]); any other error is not.
func ReadEntries(fsys fs.FS, name, file string, limit Limit, want [sha256.Size]byte) ([]Entry, error) {
	if limit.Bytes <= 0 {
		return nil, fmt.Errorf("reading %s: no size limit (a bug in conclave)", name)
	}
	f, _, err := OpenFile(fsys, name, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	lr := &io.LimitedReader{R: struct{ io.Reader }{f}, N: limit.Bytes + 1}
	r := io.TeeReader(lr, h)
	entries, perr := ParseReader(file, r)
	// The rest, if parsing stopped early, to tell a manifest that changed.
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	if _, err := io.CopyBuffer(io.Discard, r, *buf); err != nil {
		return nil, err
	}
	if lr.N <= 0 {
		return nil, &TooLargeError{Size: limit.Bytes + 1, Limit: limit, Grew: true}
	}
	var sum [sha256.Size]byte
	if h.Sum(sum[:0]); sum != want {
		return nil, errors.New("changed while it was read: refused")
	}
	return entries, perr
}
