package cache

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
)

// A cache file is sealed in chunks, so that neither saving nor loading
// holds the whole file in memory (the page records of 50,000 pages are
// about 300 MB). The construction is STREAM (Hoang, Reyhanitabar, Rogaway
// and Vizár, "Online Authenticated-Encryption and its Nonce-Reuse
// Misuse-Resistance"), as age uses it:
//
//	file   = magic || prefix || chunk*
//	chunk  = XChaCha20-Poly1305(key, nonce, plaintext, name)
//	nonce  = prefix (15 random bytes) || counter (8 bytes, big-endian) || last (1 byte: 0 or 1)
//
// Every chunk holds chunkSize bytes of plaintext but the last, which holds
// fewer (none, when the plaintext is a multiple of chunkSize) and is
// sealed with last = 1. A chunk dropped, repeated, moved or cut, the end
// cut at a chunk's border, or bytes after the last chunk all fail to
// open. name, the file's base name, is each chunk's additional data: a
// cache file renamed to another's name does not open.

// magic starts every cache file of this format; a file of the earlier
// one (its random nonce first) does not start with it. As PNG's
// signature: a byte above ASCII, a name and version, CR LF, ^Z and LF,
// so that a file that went through a text-mode copy does not match.
const magic = "\x89CNCL2\r\n\x1a\n"

const prefixSize = 15

// chunkSize is the plaintext of every chunk but the last; a variable so
// that tests can cut small files into many chunks.
var chunkSize = 1 << 20

// damaged says why a file whose chunks do not open is unreadable.
const damaged = "it was written with another cache key, or damaged"

// nonceFor returns the nonce of chunk n of the file with prefix.
func nonceFor(dst []byte, prefix []byte, n uint64, last bool) []byte {
	dst = append(dst[:0], prefix...)
	dst = binary.BigEndian.AppendUint64(dst, n)
	if last {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// sealer is the writer of a cache file's chunks.
type sealer struct {
	w      io.Writer
	aead   cipher.AEAD
	name   []byte
	prefix []byte
	nonce  []byte
	buf    []byte // plaintext of the chunk being filled, with room for its tag
	n      uint64
	err    error
}

// newSealer writes the magic and a new prefix to w, and returns the writer
// of the chunks that follow.
func newSealer(w io.Writer, aead cipher.AEAD, name string) (*sealer, error) {
	s := &sealer{w: w, aead: aead, name: []byte(name), prefix: make([]byte, prefixSize),
		buf: make([]byte, 0, chunkSize+aead.Overhead())}
	rand.Read(s.prefix)
	if _, err := io.WriteString(w, magic); err != nil {
		return nil, err
	}
	if _, err := w.Write(s.prefix); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *sealer) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 && s.err == nil {
		if len(s.buf) == chunkSize {
			s.flush(false)
			continue
		}
		k := copy(s.buf[len(s.buf):chunkSize], p)
		s.buf, p, written = s.buf[:len(s.buf)+k], p[k:], written+k
	}
	return written, s.err
}

// flush seals and writes the chunk in buf.
func (s *sealer) flush(last bool) {
	if s.err != nil {
		return
	}
	s.nonce = nonceFor(s.nonce, s.prefix, s.n, last)
	ct := s.aead.Seal(s.buf[:0], s.nonce, s.buf, s.name)
	_, s.err = s.w.Write(ct)
	s.buf, s.n = s.buf[:0], s.n+1
}

// Close seals and writes the last chunk. It does not close the writer.
func (s *sealer) Close() error {
	if len(s.buf) == chunkSize {
		s.flush(false) // the last chunk is never full
	}
	s.flush(true)
	return s.err
}

// opener reads the plaintext of a cache file's chunks.
type opener struct {
	r      io.Reader
	aead   cipher.AEAD
	name   []byte
	prefix []byte
	nonce  []byte
	buf    []byte // a chunk's ciphertext, opened in place
	plain  []byte // what is left of the opened chunk
	n      uint64
	done   bool // the last chunk was opened
}

// newOpener reads the magic and the prefix of a cache file from r.
func newOpener(r io.Reader, aead cipher.AEAD, name string) (*opener, error) {
	head := make([]byte, len(magic)+prefixSize)
	if _, err := io.ReadFull(r, head); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &UnreadableError{"too short"}
		}
		return nil, err
	}
	if string(head[:len(magic)]) != magic {
		return nil, &UnreadableError{"it was written by an earlier version of conclave, or damaged"}
	}
	return &opener{r: r, aead: aead, name: []byte(name), prefix: head[len(magic):],
		buf: make([]byte, chunkSize+aead.Overhead())}, nil
}

func (o *opener) Read(p []byte) (int, error) {
	for len(o.plain) == 0 {
		if o.done {
			return 0, io.EOF
		}
		if err := o.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, o.plain)
	o.plain = o.plain[n:]
	return n, nil
}

// next reads and opens the next chunk. A chunk shorter than a full one is
// the last: the file ends there (bytes after it would have made it
// longer, and it would not open).
func (o *opener) next() error {
	n, err := io.ReadFull(o.r, o.buf)
	switch {
	case err == nil:
	case errors.Is(err, io.ErrUnexpectedEOF):
		o.done = true
	case errors.Is(err, io.EOF):
		return &UnreadableError{damaged} // cut at a chunk's border
	default:
		return err
	}
	o.nonce = nonceFor(o.nonce, o.prefix, o.n, o.done)
	plain, err := o.aead.Open(o.buf[:0], o.nonce, o.buf[:n], o.name)
	if err != nil {
		return &UnreadableError{damaged}
	}
	o.plain, o.n = plain, o.n+1
	return nil
}
