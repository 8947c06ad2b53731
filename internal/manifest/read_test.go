package manifest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/testtool"
)

func rootFSOf(t *testing.T, dir string) fs.FS {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return RootFS(root)
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside")
	os.WriteFile(outside, []byte("outside"), 0o644)
	os.WriteFile(filepath.Join(dir, "ok"), []byte("content"), 0o644)
	os.WriteFile(filepath.Join(dir, "empty"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "exact"), bytes.Repeat([]byte("x"), 100), 0o644)
	os.WriteFile(filepath.Join(dir, "over"), bytes.Repeat([]byte("x"), 101), 0o644)
	os.Mkdir(filepath.Join(dir, "folder"), 0o755)
	os.Symlink("ok", filepath.Join(dir, "link-in"))
	os.Symlink(outside, filepath.Join(dir, "link-out"))
	os.Symlink("/dev/zero", filepath.Join(dir, "zero"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	testtool.SparseFile(t, filepath.Join(dir, "huge"), 8<<30)
	fsys := rootFSOf(t, dir)
	limit := Limit{100, "a test file"}

	for name, want := range map[string]string{"ok": "content", "empty": "", "exact": strings.Repeat("x", 100)} {
		data, sum, err := ReadFile(fsys, name, limit)
		if err != nil || string(data) != want || sum != sha256.Sum256([]byte(want)) {
			t.Errorf("%s: %q, %x, %v", name, data, sum, err)
		}
	}
	for name, want := range map[string]string{
		"over":     "too large: 101 bytes, more than a test file ever holds (100 bytes at most): refused",
		"huge":     "too large: 8589934592 bytes (8.0 GiB), more than a test file ever holds (100 bytes at most): refused",
		"folder":   "not a regular file (a folder)",
		"link-in":  "not a regular file (a symbolic link)",
		"link-out": "not a regular file (a symbolic link)",
		"zero":     "not a regular file (a symbolic link)",
		"fifo":     "not a regular file (a named pipe)",
		"missing":  "no such file or directory",
		"../ok":    "invalid argument",
	} {
		var err error
		testtool.NoHang(t, func() { _, _, err = ReadFile(fsys, name, limit) })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	if _, _, err := ReadFile(fsys, "ok", Limit{}); err == nil {
		t.Errorf("read with no limit")
	}
	var tl *TooLargeError
	if _, _, err := ReadFile(fsys, "huge", ManifestLimit); !errors.As(err, &tl) || tl.Size != 8<<30 || tl.Grew {
		t.Errorf("huge: %v", err)
	}
	if _, _, err := ReadFile(fsys, "fifo", ManifestLimit); !errors.Is(err, ErrNotRegular) {
		t.Errorf("fifo: %v", err)
	}
}

// TestReadFileMemory: a hostile file costs the reader no more than its
// limit, whatever its size: a sparse 8 GiB file, a link to /dev/zero, a
// named pipe, and a file that says it is small but never ends.
func TestReadFileMemory(t *testing.T) {
	dir := t.TempDir()
	testtool.SparseFile(t, filepath.Join(dir, "huge"), 8<<30)
	os.Symlink("/dev/zero", filepath.Join(dir, "zero"))
	syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644)
	fsys := rootFSOf(t, dir)
	for _, name := range []string{"huge", "zero", "fifo"} {
		var err error
		n := testtool.Allocated(t, func() { _, _, err = ReadFile(fsys, name, ManifestLimit) })
		if err == nil || n > 1<<20 {
			t.Errorf("%s: %v, %d bytes allocated", name, err, n)
		}
	}
	endless := fakeFS{"endless": {mode: 0o644, size: 10, content: endless}}
	var err error
	limit := Limit{4 << 20, "a test file"}
	n := testtool.Allocated(t, func() { _, _, err = ReadFile(endless, "endless", limit) })
	var tl *TooLargeError
	if !errors.As(err, &tl) || !tl.Grew || !strings.Contains(err.Error(), "(it grew while read)") {
		t.Errorf("endless: %v", err)
	}
	bound := 3 * uint64(limit.Bytes)
	if testtool.RaceEnabled {
		bound *= 4
	}
	if n > bound {
		t.Errorf("endless: %d bytes allocated for a limit of %d", n, limit.Bytes)
	}
}

// TestHashFile: a file is hashed as a stream, within its limit, and only
// if it is a regular file.
func TestHashFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ok"), []byte("content"), 0o644)
	testtool.SparseFile(t, filepath.Join(dir, "big"), 20<<20)
	testtool.SparseFile(t, filepath.Join(dir, "huge"), 8<<30)
	os.Symlink("/dev/zero", filepath.Join(dir, "zero"))
	syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644)
	fsys := rootFSOf(t, dir)
	if sum, err := HashFile(fsys, "ok", ManifestLimit); err != nil || sum != sha256.Sum256([]byte("content")) {
		t.Errorf("ok: %x, %v", sum, err)
	}
	var sum [sha256.Size]byte
	var err error
	n := testtool.Allocated(t, func() { sum, err = HashFile(fsys, "big", ManifestLimit) })
	if err != nil || sum != sha256.Sum256(make([]byte, 20<<20)) || n > 1<<20 {
		t.Errorf("20 MiB of zeros: %x, %v, %d bytes allocated", sum, err, n)
	}
	for name, want := range map[string]string{"huge": "too large", "zero": "(a symbolic link)", "fifo": "(a named pipe)"} {
		testtool.NoHang(t, func() { _, err = HashFile(fsys, name, ManifestLimit) })
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	var tl *TooLargeError
	endless := fakeFS{"endless": {mode: 0o644, size: 10, content: endless}}
	n = testtool.Allocated(t, func() { _, err = HashFile(endless, "endless", Limit{32 << 20, "a test file"}) })
	if !errors.As(err, &tl) || !tl.Grew || n > 1<<20 {
		t.Errorf("endless: %v, %d bytes allocated", err, n)
	}
}

// TestReadFileReplaced: a file replaced between Lstat and Open (here by a
// named pipe, or by a link to another file of the tree) is refused.
func TestReadFileReplaced(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "other"), []byte("other"), 0o644)
	fsys := rootFSOf(t, dir).(rootFS)
	for _, swap := range []func(){
		func() { os.Remove(filepath.Join(dir, "f")); syscall.Mkfifo(filepath.Join(dir, "f"), 0o644) },
		func() { os.Remove(filepath.Join(dir, "f")); os.Symlink("other", filepath.Join(dir, "f")) },
	} {
		os.RemoveAll(filepath.Join(dir, "f"))
		os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
		var err error
		testtool.NoHang(t, func() {
			_, _, err = ReadFile(swapFS{fsys, swap}, "f", Limit{100, "a test file"})
		})
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("replaced file: %v", err)
		}
	}
}

// swapFS runs swap after Lstat, before Open.
type swapFS struct {
	rootFS
	swap func()
}

func (s swapFS) Lstat(name string) (fs.FileInfo, error) {
	info, err := s.rootFS.Lstat(name)
	s.swap()
	return info, err
}

// TestReadFileChanged: SHA256SUMS or a packet that changes after it was
// verified, or while it is being read, is never taken for what was
// verified. The digest ReadFile and HashFile return is of exactly the
// bytes they read, so that it differs from the verified one and the
// caller refuses the file (conclave verify: "changed while it was read";
// conclave open: "changed since its signature was verified"); a file that
// grows past its limit while it is read is refused, and none of it is
// returned. The changes keep the file's size, so that only the digest
// tells them.
func TestReadFileChanged(t *testing.T) {
	var entries []Entry
	for i := range 400 {
		entries = append(entries, Entry{Path: fmt.Sprintf("briefings/%03d/index.html", i), Sum: sha256.Sum256([]byte{byte(i)})})
	}
	sums, err := Build(entries)
	if err != nil {
		t.Fatal(err)
	}
	// The same manifest with the digests of its first and last files
	// changed: one read into it, it is neither.
	entries[0].Sum = sha256.Sum256([]byte("forged"))
	entries[len(entries)-1].Sum = sha256.Sum256([]byte("forged"))
	forged, err := Build(entries)
	if err != nil {
		t.Fatal(err)
	}
	packet := bytes.Repeat([]byte("age-encryption.org/v1 packet "), 1000)
	other := bytes.Repeat([]byte("age-encryption.org/v1 PACKET "), 1000)
	if len(sums) != len(forged) || len(sums) < 4*changeChunk || len(packet) != len(other) || len(packet) < 4*changeChunk {
		t.Fatalf("the changed files must keep their size, of several reads: %d and %d bytes", len(sums), len(forged))
	}
	mixed := func(before, after []byte) []byte {
		return append(bytes.Clone(before[:changeChunk]), after[changeChunk:]...)
	}

	for _, tt := range []struct {
		name          string
		path          string
		limit         Limit
		verified, now []byte // the file when it was verified, and after the change
		while         bool   // changed after the first read of it, not before it is opened
		want          []byte // what the reader reads; nil: refused
	}{
		{"SHA256SUMS changed after it was hashed", Name, ManifestLimit, sums, forged, false, forged},
		{"SHA256SUMS changed while it is read", Name, ManifestLimit, sums, forged, true, mixed(sums, forged)},
		{"packet changed after it was verified", "packets/0123.age", PacketLimit, packet, other, false, other},
		{"packet changed while it is read", "packets/0123.age", PacketLimit, packet, other, true, mixed(packet, other)},
		{"packet grown past its limit while it is read", "packets/0123.age", Limit{int64(len(packet)) + 10, "a packet"}, packet,
			append(bytes.Clone(other), other...), true, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			full := filepath.Join(dir, filepath.FromSlash(tt.path))
			write := func(data []byte) {
				if err := os.WriteFile(full, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			os.MkdirAll(filepath.Dir(full), 0o755)
			write(tt.verified)
			// Verified as conclave verify does: hashed as a stream.
			verified, err := HashFile(rootFSOf(t, dir), tt.path, tt.limit)
			if err != nil || verified != sha256.Sum256(tt.verified) {
				t.Fatalf("HashFile: %x, %v", verified, err)
			}
			// changed returns the tree, the file as verified, to be
			// changed before it is opened or once it has been read from.
			changed := func() *changingFS {
				write(tt.verified)
				c := &changingFS{rootFS: rootFSOf(t, dir).(rootFS)}
				if tt.while {
					c.change = func() { write(tt.now) }
				} else {
					write(tt.now)
				}
				return c
			}

			fsys := changed()
			data, sum, err := ReadFile(fsys, tt.path, tt.limit)
			if tt.while && !fsys.changed {
				t.Fatal("the file was not changed while it was read")
			}
			// Hashed as a stream, as a manifest is before its signature
			// is checked.
			fsys = changed()
			hashed, hashErr := HashFile(fsys, tt.path, tt.limit)
			if tt.while && !fsys.changed {
				t.Fatal("the file was not changed while it was hashed")
			}

			if tt.want == nil {
				var tl *TooLargeError
				if !errors.As(err, &tl) || !tl.Grew || data != nil {
					t.Errorf("ReadFile: %d bytes, %v; want it refused as grown", len(data), err)
				}
				if !errors.As(hashErr, &tl) || !tl.Grew {
					t.Errorf("HashFile: %v; want it refused as grown", hashErr)
				}
				return
			}
			if err != nil || hashErr != nil {
				t.Fatalf("ReadFile: %v; HashFile: %v", err, hashErr)
			}
			if !bytes.Equal(data, tt.want) {
				t.Errorf("ReadFile returned %d bytes, not what the file held as it was read", len(data))
			}
			if sum != sha256.Sum256(data) {
				t.Errorf("ReadFile's digest %x is not that of the bytes it returned", sum)
			}
			if sum == verified {
				t.Errorf("%s changed, and ReadFile's digest of it is still the verified one: the changed bytes would be used", tt.path)
			}
			if hashed != sha256.Sum256(tt.want) {
				t.Errorf("HashFile: %x, not the digest of the bytes it read", hashed)
			}
		})
	}
}

// changeChunk is the most bytes a read of a changingFS file returns.
const changeChunk = 4096

// changingFS reads a tree as [RootFS] does, at most changeChunk bytes a
// read (as any file system may), and runs change, if set, once after the
// first read of a file: the file changes while it is read.
type changingFS struct {
	rootFS
	change  func()
	changed bool
}

func (c *changingFS) Open(name string) (fs.File, error) {
	f, err := c.rootFS.Open(name)
	if err != nil {
		return nil, err
	}
	return &changingFile{File: f, fs: c}, nil
}

type changingFile struct {
	fs.File
	fs *changingFS
}

func (f *changingFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p[:min(len(p), changeChunk)])
	if c := f.fs; c.change != nil && !c.changed && n > 0 {
		c.changed = true
		c.change()
	}
	return n, err
}

func TestCheckSizeLimit(t *testing.T) {
	dir, entries := tree(t, site)
	testtool.SparseFile(t, filepath.Join(dir, "packets", "0123.age"), 3<<30)
	limits := func(p string) Limit {
		if p == "packets/0123.age" {
			return PacketLimit
		}
		return Limit{}
	}
	var got []Problem
	var err error
	testtool.BoundedAllocNoHang(t, 8<<20, func() { got, err = CheckWith(dir, entries, CheckOptions{SizeLimit: limits}) })
	if err != nil || len(got) != 1 || got[0].Path != "packets/0123.age" || !strings.Contains(got[0].Reason, "too large: 3221225472 bytes (3.0 GiB), more than a passage's packet ever holds (64 MiB at most)") {
		t.Errorf("problems %v, %v", got, err)
	}
	// Without limits it is hashed, and differs.
	testtool.SparseFile(t, filepath.Join(dir, "packets", "0123.age"), 65<<20)
	if got := problems(t, dir, entries); got != "packets/0123.age: "+ReasonChanged {
		t.Errorf("without limits: %s", got)
	}
}

// Any listed file past MaxFile is refused from its size, unread: a 1 TiB
// stylesheet in a hostile copy kept verify hashing for half an hour.
func TestCheckFileLimit(t *testing.T) {
	dir, entries := tree(t, site)
	testtool.SparseFile(t, filepath.Join(dir, "css", "conclave.css"), 1<<40)
	var got []Problem
	var err error
	testtool.BoundedAllocNoHang(t, 8<<20, func() { got, err = CheckWith(dir, entries, CheckOptions{SizeLimit: SizeLimit}) })
	if err != nil || len(got) != 1 || got[0].Path != "css/conclave.css" || !strings.Contains(got[0].Reason, "too large: 1099511627776 bytes") || !strings.Contains(got[0].Reason, "(256 MiB at most)") {
		t.Errorf("problems %v, %v", got, err)
	}
}

// Readers hash, check and copy a packet within an attachment's packet's
// limit (5 GiB): any packet may hold an attachment, which readers decrypt
// as a stream. Only a passage's packet is read whole, within PacketLimit.
func TestSizeLimit(t *testing.T) {
	for p, want := range map[string]int64{
		Name:                     MaxSize,
		BundleName:               MaxBundle,
		"packets/0a.age":         MaxAttachmentPacket,
		"packets/keyrings/k.age": MaxKeyring,
		"packets/keyrings.json":  MaxFile,
		"packets/x/y.age":        MaxFile,
		"index.html":             MaxFile,
		"a/SHA256SUMS":           MaxFile,
	} {
		if got := SizeLimit(p).Bytes; got != want {
			t.Errorf("SizeLimit(%q) = %d, want %d", p, got, want)
		}
	}
	if MaxAttachmentPacket != format.MaxAttachmentPacket || PacketLimit.Bytes != MaxPacket || MaxPacket >= MaxAttachmentPacket {
		t.Errorf("packet limits: %d whole, %d streamed", PacketLimit.Bytes, MaxAttachmentPacket)
	}
}

// A packet past an attachment's packet's 5 GiB is refused from its size,
// unread, and the message gives the limit in GiB.
func TestCheckAttachmentPacketLimit(t *testing.T) {
	dir, entries := tree(t, site)
	testtool.SparseFile(t, filepath.Join(dir, "packets", "0123.age"), MaxAttachmentPacket+1)
	var got []Problem
	var err error
	testtool.BoundedAllocNoHang(t, 8<<20, func() { got, err = CheckWith(dir, entries, CheckOptions{SizeLimit: SizeLimit}) })
	want := "too large: 5368709121 bytes (5.0 GiB), more than a packet ever holds (5 GiB at most): refused"
	if err != nil || len(got) != 1 || got[0].Path != "packets/0123.age" || got[0].Reason != want {
		t.Errorf("problems %v, %v\nwant %q", got, err, want)
	}
}

func TestParseMaxEntries(t *testing.T) {
	_, err := Parse(Name, bytes.Repeat([]byte("\n"), MaxEntries+1))
	if err == nil || !strings.Contains(err.Error(), "SHA256SUMS:1000001: lists more than 1000000 files") {
		t.Errorf("Parse: %v", err)
	}
	// MaxSize holds MaxEntries lines of conclave's usual paths.
	line := strings.Repeat("0", 64) + "  briefings/2026/some-briefing-with-a-long-title/index.html\n"
	if MaxEntries*len(line) > MaxSize {
		t.Errorf("%d lines of %d bytes do not fit in %d", MaxEntries, len(line), MaxSize)
	}
}

// fakeFS is a file system of files that say what they are: a mode and a
// size that Stat reports, and content that may be longer than the size,
// or endless.
type fakeFS map[string]fakeFile

type fakeFile struct {
	mode     fs.FileMode
	openMode fs.FileMode // what Stat says once opened, if not mode
	size     int64
	content  func(off int64, p []byte) int // fills p from off; 0 at the end
	reads    *int                          // counts Read calls, if set
}

// endless content: zeros, forever.
func endless(off int64, p []byte) int { clear(p); return len(p) }

// bytesContent is content of fixed bytes.
func bytesContent(b []byte) func(int64, []byte) int {
	return func(off int64, p []byte) int {
		if off >= int64(len(b)) {
			return 0
		}
		return copy(p, b[off:])
	}
}

func (f fakeFS) Open(name string) (fs.File, error) {
	file, ok := f[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &openFake{name: name, f: file}, nil
}

func (f fakeFS) Lstat(name string) (fs.FileInfo, error) {
	file, ok := f[name]
	if !ok {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	return fakeInfo{name, file.mode, file.size}, nil
}

func (f fakeFS) ReadLink(name string) (string, error) {
	return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
}

type openFake struct {
	name string
	f    fakeFile
	off  int64
}

func (o *openFake) Stat() (fs.FileInfo, error) {
	mode := o.f.mode
	if o.f.openMode != 0 {
		mode = o.f.openMode
	}
	return fakeInfo{o.name, mode, o.f.size}, nil
}

func (o *openFake) Read(p []byte) (int, error) {
	if o.f.reads != nil {
		*o.f.reads++
	}
	if !o.f.mode.IsRegular() || (o.f.openMode != 0 && !o.f.openMode.IsRegular()) {
		panic("read " + o.name + ", which is not a regular file")
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := o.f.content(o.off, p)
	o.off += int64(n)
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (o *openFake) Close() error { return nil }

type fakeInfo struct {
	name string
	mode fs.FileMode
	size int64
}

func (i fakeInfo) Name() string       { return i.name }
func (i fakeInfo) Size() int64        { return i.size }
func (i fakeInfo) Mode() fs.FileMode  { return i.mode }
func (i fakeInfo) ModTime() time.Time { return time.Time{} }
func (i fakeInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fakeInfo) Sys() any           { return nil }

// FuzzReadFile gives ReadFile files of every kind through a fake file
// system: links, named pipes, devices, folders, files whose size is
// huge, or wrong (longer or shorter than what they hold, or endless), and
// files that change kind once opened. It never reads a file that is not
// regular, never returns more than the limit, returns exactly what the
// file held and its digest, and allocates no more than the limit allows.
func FuzzReadFile(f *testing.F) {
	for _, s := range []struct {
		mode, openMode uint8
		size, length   int64
		limit          int64
		content        []byte
	}{
		{0, 0, 5, 5, 100, []byte("hello")},
		{0, 0, 0, -1, 100, nil},                // endless, says 0 bytes
		{0, 0, 8 << 30, -1, 1 << 20, nil},      // sparse 8 GiB
		{1, 0, 9, 9, 100, []byte("/dev/zero")}, // a link
		{2, 0, 0, -1, 100, nil},                // a named pipe
		{3, 0, 0, -1, 100, nil},                // a device
		{4, 0, 4096, 0, 100, nil},              // a folder
		{0, 2, 5, 5, 100, []byte("hello")},     // replaced by a pipe
		{0, 0, 3, 200, 100, []byte("abc")},     // grows past the limit
		{0, 0, -7, 3, 100, []byte("abc")},      // a negative size
		{0, 0, 100, 100, 100, bytes.Repeat([]byte("z"), 100)},
	} {
		f.Add(s.mode, s.openMode, s.size, s.length, s.limit, s.content)
	}
	modes := []fs.FileMode{0o644, fs.ModeSymlink, fs.ModeNamedPipe, fs.ModeDevice | fs.ModeCharDevice, fs.ModeDir, fs.ModeSocket}
	f.Fuzz(func(t *testing.T, mode, openMode uint8, size, length, limit int64, content []byte) {
		if limit <= 0 || limit > 8<<20 {
			limit = 1 << 20
		}
		// What the file holds: content repeated to length bytes, or
		// endless if length < 0.
		unit := content
		if len(unit) == 0 {
			unit = []byte{0}
		}
		fill := func(off int64, p []byte) int {
			if length >= 0 && off >= length {
				return 0
			}
			n := len(p)
			if length >= 0 {
				n = int(min(int64(n), length-off))
			}
			for i := range n {
				p[i] = unit[(off+int64(i))%int64(len(unit))]
			}
			return n
		}
		reads := 0
		file := fakeFile{mode: modes[int(mode)%len(modes)], size: size, content: fill, reads: &reads}
		if openMode != 0 {
			file.openMode = modes[int(openMode)%len(modes)]
		}
		lim := Limit{limit, "a fuzzed file"}
		var data []byte
		var sum [sha256.Size]byte
		var err error
		n := testtool.Allocated(t, func() { data, sum, err = ReadFile(fakeFS{"f": file}, "f", lim) })
		bound := uint64(4*limit + 256<<10)
		if testtool.RaceEnabled {
			bound *= 4 // as testtool.BoundedAlloc allows
		}
		if n > bound {
			t.Errorf("%d bytes allocated for a limit of %d", n, limit)
		}
		// Lstat is checked (kind, then size), then Stat once open.
		switch {
		case !file.mode.IsRegular(), size <= limit && file.openMode != 0 && !file.openMode.IsRegular():
			if !errors.Is(err, ErrNotRegular) || reads > 0 {
				t.Errorf("not a regular file: %v, %d reads", err, reads)
			}
		case size > limit:
			var tl *TooLargeError
			if !errors.As(err, &tl) || reads > 0 {
				t.Errorf("size %d over the limit %d: %v, %d reads", size, limit, err, reads)
			}
		case length < 0 || length > limit:
			var tl *TooLargeError
			if !errors.As(err, &tl) || !tl.Grew {
				t.Errorf("holds %d bytes, more than the limit %d: %v", length, limit, err)
			}
		default:
			want := make([]byte, length)
			fill(0, want)
			if err != nil || !bytes.Equal(data, want) || sum != sha256.Sum256(want) {
				t.Errorf("read %d bytes (%v), want %d", len(data), err, length)
			}
		}
		if int64(len(data)) > limit {
			t.Errorf("returned %d bytes, over the limit %d", len(data), limit)
		}
	})
}
