package open

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
)

// Attachments are decrypted as a stream (DESIGN §4a): a packet of up to
// [manifest.MaxAttachmentPacket] bytes (5 GiB) is read once, hashed as it
// is read while age decrypts it, its header parsed from the first bytes of
// its plaintext, and the file's bytes passed on as age authenticates each
// 64 KiB chunk. The rest of the stream (the padding) is read and
// authenticated too: only when age has authenticated the last chunk, and
// the digest of the whole file matches its name and the verified manifest,
// is what was written kept. Memory stays flat: a few buffers of
// [streamBuf] bytes, whatever the size.

// streamBuf is the size of the buffers a packet is read, and its file
// written, with.
const streamBuf = 256 << 10

// packetStream is one age file of the site, read as a stream.
type packetStream struct {
	p     string // its slash path in the site
	f     fs.File
	size  int64 // what Stat said when it was opened
	limit manifest.Limit
	lr    *io.LimitedReader
	src   *hashReader // the file, hashed as it is read
	plain io.Reader   // what age decrypts from src
	sums  Sums
	buf   []byte
	sum   [sha256.Size]byte // once finished
}

// openStream opens the age file at the slash path p of the site, a
// regular file of at most limit bytes. A problem opening it is a
// [*fileError].
func (r *Reader) openStream(p string, limit manifest.Limit) (*packetStream, error) {
	f, info, err := manifest.OpenFile(r.fsys, p, limit)
	if err != nil {
		return nil, &fileError{err}
	}
	s := &packetStream{p: p, f: f, size: info.Size(), limit: limit, sums: r.sums}
	s.lr = &io.LimitedReader{R: struct{ io.Reader }{f}, N: limit.Bytes + 1}
	s.src = newHashReader(s.lr)
	return s, nil
}

func (s *packetStream) close() {
	s.src.stop()
	s.f.Close()
}

// decrypt starts decrypting the file with ids; ok is false if none of
// them opens a recipient of it.
func (s *packetStream) decrypt(ids []age.Identity) (ok bool, err error) {
	plain, err := age.Decrypt(s.src, ids...)
	var nm *age.NoIdentityMatchError
	if errors.As(err, &nm) || errors.Is(err, age.ErrIncorrectIdentity) {
		return false, nil
	}
	if err != nil {
		return false, s.fail(err)
	}
	s.plain = plain
	return true, nil
}

// buffer returns the stream's buffer, made on first use.
func (s *packetStream) buffer() []byte {
	if s.buf == nil {
		s.buf = make([]byte, streamBuf)
	}
	return s.buf
}

// read reads from the plaintext into p until p is full or the plaintext
// ends. Unlike io.ReadFull, it tells a plaintext that ends (io.EOF, once
// age authenticated its last chunk) from one cut short (age's
// io.ErrUnexpectedEOF), which is an error.
func (s *packetStream) read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := s.plain.Read(p[n:])
		n += m
		if err == io.EOF {
			return n, io.EOF
		}
		if err != nil {
			return n, &streamError{err}
		}
	}
	return n, nil
}

// head reads the first bytes of the plaintext: those that hold an
// attachment's header, if it is one.
func (s *packetStream) head() ([]byte, error) {
	head := make([]byte, format.MaxAttachmentHeader)
	n, err := s.read(head)
	if err != nil && err != io.EOF {
		return nil, s.fail(err)
	}
	return head[:n], nil
}

// readAll reads the rest of the plaintext after head, whole: a passage's
// or a keyring's, of at most limit bytes.
func (s *packetStream) readAll(head []byte, limit manifest.Limit) ([]byte, error) {
	buf := make([]byte, len(head), min(s.size, limit.Bytes)+1)
	copy(buf, head)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit.Bytes {
				return nil, &fileError{&manifest.TooLargeError{Size: int64(len(buf)), Limit: limit, Grew: true}}
			}
			buf = slices.Grow(buf, 64<<10) // a file that grew since its Stat
		}
		n, err := s.read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, s.fail(err)
		}
	}
}

// copyAttachment writes the file of the attachment a to w: the bytes of
// the plaintext after its header (rest, already read, then the stream),
// a.Size of them, then reads the padding to the end of the stream, which
// must be zeros. It stops when ctx is done. An error of w is returned as
// it is; any other is the packet's.
func (s *packetStream) copyAttachment(ctx context.Context, w io.Writer, a format.Attachment, rest []byte) error {
	if a.Size > format.MaxAttachmentSize {
		return s.fail(fmt.Errorf("attachment header: says %d bytes, more than an attachment ever holds (%d GiB at most)", a.Size, format.MaxAttachmentSize>>30))
	}
	left := a.Size
	n := min(int64(len(rest)), left)
	if _, err := w.Write(rest[:n]); err != nil {
		return &writeError{err}
	}
	left -= n
	if !allZero(rest[n:]) {
		return s.fail(errPadding)
	}
	ended := false
	buf := s.buffer()
	for left > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, err := s.read(buf[:min(int64(len(buf)), left)])
		if _, werr := w.Write(buf[:m]); werr != nil {
			return &writeError{werr}
		}
		left -= int64(m)
		if err == io.EOF {
			ended = true
			break
		}
		if err != nil {
			return s.fail(err)
		}
	}
	if left > 0 {
		return s.fail(fmt.Errorf("attachment header: says %d bytes, %d follow", a.Size, a.Size-left))
	}
	for !ended {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, err := s.read(buf)
		if !allZero(buf[:m]) {
			return s.fail(errPadding)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return s.fail(err)
		}
	}
	return nil
}

var errPadding = errors.New("its padding is not zeros: its header's size is not that of the file sealed")

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// drain reads the file to its end, hashing it, and checks that it did not
// grow past its limit.
func (s *packetStream) drain() error {
	buf := s.buffer()
	for {
		_, err := s.src.Read(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return &fileError{err}
		}
	}
	if s.lr.N <= 0 {
		return &fileError{&manifest.TooLargeError{Size: s.limit.Bytes + 1, Limit: s.limit, Grew: true}}
	}
	s.sum = s.src.sum()
	return nil
}

// finish reads what is left of the file and checks it: its digest must be
// the verified manifest's, if there is one, and, with byName, the one its
// name gives (a packet's: [format.DigestName]).
func (s *packetStream) finish(byName bool) error {
	if err := s.drain(); err != nil {
		return err
	}
	return s.checkSum(byName)
}

// checkSum checks s.sum, the digest of the whole file, as finish does.
func (s *packetStream) checkSum(byName bool) error {
	if s.sums != nil {
		if err := s.sums.checkSum(s.p, s.sum); err != nil {
			return &fileError{err}
		}
	}
	if name := path.Base(s.p); byName && format.IsDigestFile(name) && hex.EncodeToString(s.sum[:format.DigestBytes]) != strings.TrimSuffix(name, format.AgeExt) {
		return &fileError{ErrNotItsName}
	}
	return nil
}

// fail returns err, the reason the file could not be read to its end, or,
// with a verified manifest, [ErrChanged] if the file is not the one it
// lists: the rest is read to tell, as for a packet read whole.
func (s *packetStream) fail(err error) error {
	if s.sums != nil {
		if derr := s.drain(); derr != nil {
			return derr
		}
		if cerr := s.sums.checkSum(s.p, s.sum); cerr != nil {
			return &fileError{cerr}
		}
	}
	return err
}

// ErrNotItsName is the error for a packet whose bytes do not have the
// digest its name gives: altered or replaced since the build.
var ErrNotItsName = errors.New("its bytes do not match its name: altered or replaced since the site was built, refused")

// streamError is an error of age while it decrypts a file's payload: a
// chunk that does not authenticate, a file cut short.
type streamError struct{ err error }

func (e *streamError) Error() string {
	if errors.Is(e.err, io.ErrUnexpectedEOF) {
		return "it does not decrypt to its end: cut short before its last chunk (altered or damaged): refused"
	}
	return fmt.Sprintf("it does not decrypt to its end: %v: refused", e.err)
}

func (e *streamError) Unwrap() error { return e.err }

// writeError is an error writing an attachment's file where it goes.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// hashReader reads a file in blocks of [streamBuf] bytes, and hashes each
// (SHA-256) on a goroutine of its own while its reader decrypts it: the
// hash and age's ChaCha20-Poly1305 take two cores at once, not one after
// the other (a 256 MiB attachment opened 20% faster). It holds
// [hashBlocks] blocks, whatever the file's size.
type hashReader struct {
	src     io.Reader
	h       hash.Hash
	free    chan []byte // blocks that may be filled
	full    chan []byte // blocks read, to hash
	done    chan struct{}
	cur     []byte // what Read has not given yet of the last block read
	err     error
	stopped bool
}

// hashBlocks is how many blocks a hashReader holds: the hash may fall
// behind the reader by as many, less one.
const hashBlocks = 4

func newHashReader(src io.Reader) *hashReader {
	r := &hashReader{src: src, h: sha256.New(), free: make(chan []byte, hashBlocks), full: make(chan []byte, hashBlocks), done: make(chan struct{})}
	for range hashBlocks {
		r.free <- make([]byte, streamBuf)
	}
	go func() {
		defer close(r.done)
		for b := range r.full {
			r.h.Write(b)
			r.free <- b[:cap(b)]
		}
	}()
	return r
}

// Read gives what was read of the file; each block is handed to the
// hash before any of it is given, and neither writes to it: the block
// is filled again only once the hash gave it back, and Read is done with
// it.
func (r *hashReader) Read(p []byte) (int, error) {
	if len(r.cur) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		b := <-r.free
		n, err := io.ReadFull(r.src, b)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		r.err = err
		if n == 0 {
			r.free <- b
			return 0, r.err
		}
		r.cur = b[:n]
		r.full <- r.cur
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// stop ends the hash's goroutine, once it hashed what was read.
func (r *hashReader) stop() {
	if !r.stopped {
		r.stopped = true
		close(r.full)
	}
	<-r.done
}

// sum returns the digest of what was read.
func (r *hashReader) sum() [sha256.Size]byte {
	r.stop()
	return [sha256.Size]byte(r.h.Sum(nil))
}
