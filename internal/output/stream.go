package output

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/par"
)

// Stream is a file written a piece at a time, too large to hold in
// memory (an attachment's packet, of up to 5 GiB), and whose path is
// known only once it is complete (a packet is named by its digest). It
// hashes what it is given as it goes, on a goroutine of its own, so that
// the writer (an encryptor) and the hash run side by side.
//
// Unlike [Writer.WriteFile], a stream is not checked for secret keys:
// its writer checks what it writes (see site.File.Each).
type Stream struct {
	out  io.Writer // the file, or a buffer in memory
	done func(p string, e Entry) error
	drop func()
	h    hash.Hash
	n    int64

	parts chan []byte // to the goroutine that hashes and writes
	free  chan []byte // its buffers, back
	ended chan error
	cur   []byte // the part being filled
	err   error
}

// streamPart is the size of the parts a Stream hands to its goroutine.
const streamPart = 1 << 20

func newStream(out io.Writer, done func(string, Entry) error, drop func()) *Stream {
	s := &Stream{out: out, done: done, drop: drop, h: sha256.New(),
		parts: make(chan []byte, 4), free: make(chan []byte, 5), ended: make(chan error, 1)}
	for range 5 {
		s.free <- make([]byte, 0, streamPart)
	}
	s.cur = <-s.free
	parts := s.parts
	go func() {
		var err error
		for p := range parts {
			if err == nil {
				s.h.Write(p)
				_, err = s.out.Write(p)
			}
			s.free <- p[:0]
		}
		s.ended <- err
	}()
	return s
}

// Write adds b to the file.
func (s *Stream) Write(b []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n := len(b)
	for len(b) > 0 {
		m := copy(s.cur[len(s.cur):cap(s.cur)], b)
		s.cur, b = s.cur[:len(s.cur)+m], b[m:]
		if len(s.cur) == cap(s.cur) {
			s.parts <- s.cur
			s.cur = <-s.free
		}
	}
	s.n += int64(n)
	return n, nil
}

// finish hands over the last part and waits for everything to be written.
func (s *Stream) finish() error {
	if s.parts == nil {
		return s.err
	}
	if len(s.cur) > 0 {
		s.parts <- s.cur
	}
	close(s.parts)
	s.parts = nil
	if err := <-s.ended; err != nil && s.err == nil {
		s.err = err
	}
	return s.err
}

// Sum completes the file and returns its SHA-256 digest and size.
func (s *Stream) Sum() ([sha256.Size]byte, int64, error) {
	var sum [sha256.Size]byte
	if err := s.finish(); err != nil {
		return sum, 0, err
	}
	s.h.Sum(sum[:0])
	return sum, s.n, nil
}

// Commit completes the file and publishes it at the slash path p, as
// WriteFile would: p is checked and claimed, once.
func (s *Stream) Commit(p string) error {
	sum, n, err := s.Sum()
	if err == nil {
		err = s.done(p, Entry{Path: p, Sum: sum, Size: n})
	}
	if err != nil {
		s.Abort()
		return err
	}
	s.drop = nil
	return nil
}

// Abort drops the file. It may follow Commit, which it then leaves be.
func (s *Stream) Abort() {
	if s.err == nil {
		s.err = errors.New("stream aborted")
	}
	_ = s.finish()
	if s.drop != nil {
		s.drop()
		s.drop = nil
	}
}

// claimEntry records e, whose file the caller checked, as claimSum does,
// with data, a Memory's bytes of it (nil for a Dir).
func (l *ledger) claimEntry(e Entry, data []byte) error {
	if err := manifest.CheckPath(e.Path); err != nil {
		return err
	}
	return l.add(written{e, data})
}

// streams numbers the temporary files of a Dir's streams.
var streams atomic.Int64

// Create starts a file written as a stream, in a temporary file of the
// build's folder, renamed into place by [Stream.Commit].
func (d *Dir) Create() (*Stream, error) {
	tmp := filepath.Join(d.tmp, ".stream-"+strconv.FormatInt(streams.Add(1), 10))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	closed := false
	done := func(p string, e Entry) error {
		closed = true
		if err := f.Close(); err != nil {
			return err
		}
		defer d.waitOrder(p)()
		if err := d.claimEntry(e, nil); err != nil {
			return err
		}
		full := filepath.Join(d.tmp, filepath.FromSlash(p))
		err := d.mkdir(filepath.Dir(full))
		if err == nil {
			err = os.Rename(tmp, full)
		}
		if err != nil {
			d.unclaim(p)
		}
		return err
	}
	drop := func() {
		if !closed {
			f.Close()
		}
		os.Remove(tmp) // gone once renamed
	}
	return newStream(f, done, drop), nil
}

// Open reads back a file written since NewDir.
func (d *Dir) Open(p string) (io.ReadCloser, error) {
	if err := manifest.CheckPath(p); err != nil {
		return nil, err
	}
	if data := d.Held(p); data != nil {
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	defer d.waitOrder(p)()
	if d.inHeld(p) {
		if data := d.Held(p); data != nil {
			return io.NopCloser(bytes.NewReader(data)), nil // Order has not started
		}
	}
	return os.Open(filepath.Join(d.tmp, filepath.FromSlash(p)))
}

// Relink publishes again the previous output's file at p, if its bytes
// still have the digest sum (it is read as a stream to check): it is
// claimed like a written file, then hard-linked into the new build, or
// copied where links fail. ok is false, and nothing is written, if the
// previous output has no such file.
func (d *Dir) Relink(p string, sum [sha256.Size]byte) (ok bool, err error) {
	return d.relink(p, sum, func(f *os.File, _ os.FileInfo) bool {
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return false
		}
		return bytes.Equal(h.Sum(nil), sum[:])
	})
}

// Stamp is what a file's metadata says of its state. The file system
// sets a file's change time (ctime) to the present whenever anything
// changes the file or its metadata, and no program can set it otherwise:
// a file whose stamp is the same (its device, inode, size, modification
// and change times) holds the same bytes. Times are kept in nanoseconds,
// but the kernel's clock for them moves every few milliseconds: a change
// made in the same few milliseconds as the one before the stamp was taken
// (as the build ends) could go unseen, if it also left the size and the
// modification time as they were.
type Stamp struct {
	Dev, Ino     uint64
	Size         int64
	Mtime, Ctime int64 // nanoseconds since 1970
}

// Stamps returns the stamps of the files at paths (slash paths) of the
// final folder, once Commit put the build there: a later build may
// publish a file again by its stamp (see ReuseStamped) without reading
// it. Files it cannot stat, or that are not regular files, are left out,
// and so is every file where file systems give no stamp.
func (d *Dir) Stamps(paths []string) map[string]Stamp {
	stamps := make([]Stamp, len(paths))
	ok := make([]bool, len(paths))
	par.Do(len(paths), par.IO(), func(i int) {
		if manifest.CheckPath(paths[i]) != nil {
			return
		}
		if info, err := os.Lstat(filepath.Join(d.final, filepath.FromSlash(paths[i]))); err == nil && info.Mode().IsRegular() {
			stamps[i], ok[i] = stampOf(info)
		}
	})
	out := make(map[string]Stamp, len(paths))
	for i, p := range paths {
		if ok[i] {
			out[p] = stamps[i]
		}
	}
	return out
}

// ReuseStamped publishes again the previous output's file at p, as
// Relink does, if its stamp is still st (see Stamp), without opening it
// unless it must be copied; its digest is then sum, which the build that
// wrote it recorded with st. ok is false, and nothing is written, if the
// file is gone or its stamp changed. Files in the folder Hold names are
// never published again this way.
func (d *Dir) ReuseStamped(p string, st Stamp, sum [sha256.Size]byte) (ok bool, err error) {
	if err := manifest.CheckPath(p); err != nil || d.inHeld(p) {
		return false, err
	}
	from := filepath.Join(d.final, filepath.FromSlash(p))
	info, err := os.Lstat(from)
	if err != nil || !info.Mode().IsRegular() {
		return false, nil
	}
	if now, ok := stampOf(info); !ok || now != st {
		return false, nil
	}
	if err := d.publishFrom(p, from, info, sum, nil); err != nil {
		return false, err
	}
	return true, nil
}

// relink publishes again the previous output's file at p, of digest sum,
// if check passes on it: see Relink.
func (d *Dir) relink(p string, sum [sha256.Size]byte, check func(*os.File, os.FileInfo) bool) (ok bool, err error) {
	if err := manifest.CheckPath(p); err != nil {
		return false, err
	}
	from := filepath.Join(d.final, filepath.FromSlash(p))
	f, err := os.Open(from)
	if err != nil {
		return false, nil
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() || !check(f, info) {
		return false, nil
	}
	if err := d.publishFrom(p, from, info, sum, f); err != nil {
		return false, err
	}
	return true, nil
}

// publishFrom claims p, of digest sum, and hard-links the previous
// output's file from (described by info) there, or copies it where it
// may not be linked: from f if open (read from its start), or from the
// file opened anew.
func (d *Dir) publishFrom(p, from string, info os.FileInfo, sum [sha256.Size]byte, f *os.File) error {
	defer d.waitOrder(p)()
	if err := d.claimEntry(Entry{Path: p, Sum: sum, Size: info.Size()}, nil); err != nil {
		return err
	}
	full := filepath.Join(d.tmp, filepath.FromSlash(p))
	if err := d.mkdir(filepath.Dir(full)); err != nil {
		d.unclaim(p)
		return err
	}
	if links(info) == 1 && os.Link(from, full) == nil {
		return nil
	}
	// Copy it instead (a new build must not share a file linked elsewhere).
	err := copyFrom(full, from, f)
	if err != nil {
		d.unclaim(p)
		os.Remove(full)
	}
	return err
}

// copyFrom makes the file full a copy of the file from, read through f
// from its start if f is not nil.
func copyFrom(full, from string, f *os.File) error {
	if f == nil {
		var err error
		if f, err = os.Open(from); err != nil {
			return err
		}
		defer f.Close()
	} else if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	out, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, f)
	return errors.Join(err, out.Close())
}

// Create starts a file written as a stream, kept in memory.
func (m *Memory) Create() (*Stream, error) {
	m.writable()
	var b bytes.Buffer
	done := func(p string, e Entry) error {
		return m.claimEntry(e, b.Bytes())
	}
	return newStream(&b, done, nil), nil
}

// Open reads back a file written.
func (m *Memory) Open(p string) (io.ReadCloser, error) {
	b, err := m.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}
