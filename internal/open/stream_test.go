package open

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// Attachments larger than a passage's packet's 64 MiB, decrypted as a
// stream. The sites here are made by hand, packets sealed with age
// directly, as a build would seal them (format.Attachment): a keyring for
// the reader holding the audience's key, a page with one passage that
// links one attachment, and the attachment's packet.

// bigSize is the size of the attachments of these tests: more than a
// passage's packet may hold.
const bigSize = 80 << 20

// bigPath is where the attachment goes in a readable copy.
const bigPath = "files/big.bin"

// bigSite is a site made by hand around large attachments.
type bigSite struct {
	dir string
	ids []age.Identity // the reader's
	aud *age.X25519Identity
}

func newBigSite(t testing.TB) *bigSite {
	t.Helper()
	reader, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	aud, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	s := &bigSite{dir: filepath.Join(t.TempDir(), "site"), ids: []age.Identity{reader}, aud: aud}
	if err := os.MkdirAll(filepath.Join(s.dir, filepath.FromSlash(format.KeyringDir)), 0o755); err != nil {
		t.Fatal(err)
	}
	ring := encryptTo(t, aud.String()+"\n", reader.Recipient().String())
	s.write(t, format.KeyringDir+"/"+format.DigestName(ring)+format.AgeExt, ring)
	return s
}

func (s *bigSite) write(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, filepath.FromSlash(p)), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// pattern fills b with the bytes of the test file at offset off: bytes
// that tell any two offsets of the file apart (a shifted, repeated or
// dropped block shows).
func pattern(off int64, b []byte) {
	for i := range b {
		o := off + int64(i)
		b[i] = noise[o%int64(len(noise))] ^ byte(o>>12)
	}
}

// noise is 65,521 random bytes (a prime: no multiple of age's 64 KiB
// chunks or of a buffer's size).
var noise = func() []byte {
	b := make([]byte, 65521)
	rand.Read(b)
	return b
}()

// seal writes an attachment's packet into the site's packets folder, under
// a temporary name, as the build seals one: the header, size bytes of
// the pattern, pad zeros, encrypted as a stream to the audience's key. It
// returns the packet's file.
func (s *bigSite) seal(t testing.TB, size, pad int64) string {
	t.Helper()
	return s.sealAs(t, format.Attachment{Path: bigPath, Type: "application/octet-stream", Size: size}.Header(), size, pad)
}

// sealAs is seal with the header line hdr, whatever size it says.
func (s *bigSite) sealAs(t testing.TB, hdr []byte, size, pad int64) string {
	t.Helper()
	f, err := os.CreateTemp(filepath.Join(s.dir, format.PacketDir), "sealing-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := age.Encrypt(bw, s.aud.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(hdr)
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		b := buf[:min(int64(len(buf)), size-off)]
		pattern(off, b)
		w.Write(b)
	}
	clear(buf)
	for left := pad; left > 0; left -= min(left, int64(len(buf))) {
		w.Write(buf[:min(left, int64(len(buf)))])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// digestName is format.DigestName of the file at p, hashed as a stream.
func digestName(t testing.TB, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)[:format.DigestBytes])
}

// link puts the packet file at packets/NAME.age (NAME its digest, if name
// is ""), and makes the site's page a passage that links it as an
// attachment (asPassage: a placeholder that names it as a passage). It
// returns the packet's path.
func (s *bigSite) link(t testing.TB, file, name string, asPassage bool) string {
	t.Helper()
	if name == "" {
		name = digestName(t, file)
	}
	p := format.PacketPath(name)
	if err := os.Rename(file, filepath.Join(s.dir, filepath.FromSlash(p))); err != nil {
		t.Fatal(err)
	}
	named := p
	if !asPassage {
		passage := encryptTo(t, `<p>The <a class="`+format.ClassAttachment+`" href="`+p+`">file</a>.</p>`+"\n", s.aud.Recipient().String())
		named = format.PacketPath(format.DigestName(passage))
		s.write(t, named, passage)
	}
	s.write(t, "index.html", []byte("<!doctype html>\n<html><body>\n"+placeholder(named)+"</body></html>\n"))
	return p
}

// sums returns the digests of every file of the site, as a verified
// manifest would list them.
func (s *bigSite) sums(t testing.TB) Sums {
	t.Helper()
	sums := Sums{}
	err := filepath.WalkDir(s.dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(s.dir, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		sums[filepath.ToSlash(rel)] = [sha256.Size]byte(h.Sum(nil))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

// checkPattern checks that the file at p holds size bytes of the pattern,
// reading it as a stream.
func checkPattern(t testing.TB, p string, size int64) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, want := make([]byte, 1<<20), make([]byte, 1<<20)
	var off int64
	for {
		n, err := io.ReadFull(f, got)
		pattern(off, want[:n])
		if !bytes.Equal(got[:n], want[:n]) {
			t.Fatalf("%s differs from the file sealed within bytes %d to %d", p, off, off+int64(n))
		}
		off += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if off != size {
		t.Fatalf("%s: %d bytes, want %d", p, off, size)
	}
}

// leftovers lists the files of the copy at out that are neither the
// site's page and notes nor want.
func leftovers(t testing.TB, out string, want ...string) []string {
	t.Helper()
	var extra []string
	filepath.WalkDir(out, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		switch rel = filepath.ToSlash(rel); {
		case rel == "index.html" || rel == ".gitignore" || rel == marker || rel == RecordFile:
		case strings.Contains(strings.Join(want, "\n")+"\n", rel+"\n"):
		default:
			extra = append(extra, rel)
		}
		return nil
	})
	return extra
}

// peakHeap runs f and returns how much the heap in use grew at most
// while it ran, sampled every few milliseconds with the collector made
// eager (GOGC=10), so that what the heap holds is what f keeps, not
// garbage; and what f allocated in all, freed or not.
func peakHeap(t testing.TB, f func()) (peak, allocated uint64) {
	t.Helper()
	old := debug.SetGCPercent(10)
	defer debug.SetGCPercent(old)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, total := ms.HeapInuse, ms.TotalAlloc
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base {
				peak = max(peak, ms.HeapInuse-base)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	testtool.NoHang(t, f)
	close(done)
	wg.Wait()
	runtime.ReadMemStats(&ms)
	return peak, ms.TotalAlloc - total
}

// maxHeap bounds how much the heap in use may grow while an attachment
// is decrypted, whatever its size: a few buffers of 256 KiB and age's 64
// KiB chunks, not the file.
const maxHeap = 16 << 20

// An attachment of more than 64 MiB is written into the readable copy
// byte for byte, through a heap that does not grow with it; a packet
// altered in its last chunk, cut short at a chunk boundary, or swapped
// for another one sealed for the same audience (age authenticates it, but
// its digest is not its name's) leaves no file at the attachment's path,
// and no temporary file: the passage is opened, its link left as it is,
// and the problem names the packet.
func TestOpenLargeAttachment(t *testing.T) {
	s := newBigSite(t)
	sealed := s.seal(t, bigSize, 3<<20)
	name := digestName(t, sealed)
	open := func(t *testing.T, sums Sums) (*Report, error, string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "copy")
		rep, err := Site(s.dir, out, s.ids, sums)
		return rep, err, out
	}

	t.Run("intact", func(t *testing.T) {
		s.link(t, sealed, name, false)
		var rep *Report
		var err error
		var out string
		sums := s.sums(t)
		peak, allocated := peakHeap(t, func() { rep, err, out = open(t, sums) })
		if err != nil {
			t.Fatal(err)
		}
		if rep.Attachments != 1 || rep.Opened != 1 {
			t.Errorf("report: %+v", rep)
		}
		checkPattern(t, filepath.Join(out, bigPath), bigSize)
		if extra := leftovers(t, out, bigPath); len(extra) > 0 {
			t.Errorf("the copy holds %v", extra)
		}
		if page := readFile(t, filepath.Join(out, "index.html")); !bytes.Contains(page, []byte(`href="`+bigPath+`"`)) {
			t.Errorf("the passage does not link the file:\n%s", page)
		}
		t.Logf("%d MiB attachment: heap in use grew by %.1f MiB at most; %.1f MiB allocated in all (age's 64 KiB chunks, garbage at once)", bigSize>>20, float64(peak)/(1<<20), float64(allocated)/(1<<20))
		if peak > maxHeap {
			t.Errorf("opening a %d MiB attachment grew the heap in use by %.1f MiB, more than %d MiB: it is held, not streamed", bigSize>>20, float64(peak)/(1<<20), maxHeap>>20)
		}
	})
	// The packet, 83 MiB, for the variants below: read once the heap was
	// measured (live, it would let the collector leave 8 MiB of garbage).
	p := format.PacketPath(name)
	good, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(p)))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(s.dir, filepath.FromSlash(p)))
	goodSum := sha256.Sum256(good)
	goodName := hex.EncodeToString(goodSum[:format.DigestBytes])

	for _, tt := range []struct {
		name   string
		packet func(t *testing.T) (file, name string) // name "": the digest of the file's bytes
		sums   bool
		want   string
	}{
		{"altered in its last chunk", func(t *testing.T) (string, string) {
			b := bytes.Clone(good)
			b[len(b)-100] ^= 1
			return writeTemp(t, s, b), ""
		}, false, "it does not decrypt to its end: failed to decrypt and authenticate payload chunk"},
		{"altered, verified", func(t *testing.T) (string, string) {
			b := bytes.Clone(good)
			b[len(b)-100] ^= 1
			return writeTemp(t, s, b), goodName
		}, true, ErrChanged.Error()},
		{"cut short at a chunk boundary", func(t *testing.T) (string, string) {
			payload := payloadStart(t, good)
			chunks := (len(good) - payload + chunkSize - 1) / chunkSize
			return writeTemp(t, s, good[:payload+(chunks-1)*chunkSize]), ""
		}, false, "it does not decrypt to its end: cut short before its last chunk"},
		{"swapped", func(t *testing.T) (string, string) {
			// Another packet of the same file for the same audience,
			// at the original's name: age authenticates it.
			return s.seal(t, bigSize, 3<<20), goodName
		}, false, ErrNotItsName.Error()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file, name := tt.packet(t)
			p := s.link(t, file, name, false)
			defer os.Remove(filepath.Join(s.dir, filepath.FromSlash(p)))
			var sums Sums
			if tt.sums {
				sums = s.sums(t)
				sums[p] = goodSum // what was signed
			}
			rep, err, out := open(t, sums)
			var inc *IncompleteError
			if !errors.As(err, &inc) || rep == nil {
				t.Fatalf("Site: %v, want an incomplete copy", err)
			}
			want := "index.html: attachment " + p + " not opened: " + tt.want
			if text := problemText(s.dir, rep.Problems); !strings.Contains(text, want) {
				t.Errorf("problems:\n%s\nwant %q", text, want)
			}
			if rep.Attachments != 0 || rep.Opened != 1 {
				t.Errorf("report: %+v", rep)
			}
			if extra := leftovers(t, out); len(extra) > 0 {
				t.Errorf("the copy holds %v", extra)
			}
		})
	}

	// Named as a passage, an attachment's packet of more than 64 MiB is
	// refused from its size, unread.
	t.Run("named as a passage", func(t *testing.T) {
		p := s.link(t, writeTemp(t, s, good), "", true)
		defer os.Remove(filepath.Join(s.dir, filepath.FromSlash(p)))
		var rep *Report
		var err error
		var out string
		testtool.BoundedAllocNoHang(t, 8<<20, func() { rep, err, out = open(t, nil) })
		if rep == nil {
			t.Fatalf("Site: %v", err)
		}
		want := "index.html: sealed passage not opened: " + p + ": too large: " + fmt.Sprint(len(good)) + " bytes (83.0 MiB), more than a passage's packet ever holds (64 MiB at most): refused"
		if text := problemText(s.dir, rep.Problems); err == nil || !strings.Contains(text, want) {
			t.Errorf("%v; problems:\n%s\nwant %q", err, text, want)
		}
		if extra := leftovers(t, out); len(extra) > 0 {
			t.Errorf("the copy holds %v", extra)
		}
	})
}

// chunkSize is the size of one of age's encrypted chunks.
const chunkSize = 64<<10 + 16

// payloadStart is the offset of the first chunk of the age file b: after
// its header, which ends in a "---" line, and the payload's 16-byte nonce.
func payloadStart(t testing.TB, b []byte) int {
	t.Helper()
	i := bytes.Index(b, []byte("\n--- "))
	if i < 0 {
		t.Fatal("no age header")
	}
	end := bytes.IndexByte(b[i+1:], '\n')
	return i + 1 + end + 1 + 16
}

func writeTemp(t testing.TB, s *bigSite, b []byte) string {
	t.Helper()
	f, err := os.CreateTemp(filepath.Join(s.dir, format.PacketDir), "variant-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// An attachment whose header says fewer bytes than were sealed (its
// padding is not zeros: the reader would get a file cut short), more
// than follow it, or more than an attachment holds, is refused, and no
// file is written.
func TestAttachmentHeaderSize(t *testing.T) {
	const size = 1 << 20
	s := newBigSite(t)
	header := func(n int64) []byte {
		return format.Attachment{Path: bigPath, Type: "application/octet-stream", Size: n}.Header()
	}
	for _, tt := range []struct {
		name string
		hdr  []byte
		want string
	}{
		// 4,096 fewer: the file's last bytes are then read as padding,
		// which must be zeros. One fewer would pass one time in 256, when
		// the random file's last byte happens to be zero.
		{"fewer", header(size - 4096), errPadding.Error()},
		{"more", header(size + 5000), fmt.Sprintf("attachment header: says %d bytes, %d follow", size+5000, size+4096)},
		{"too many", header(format.MaxAttachmentSize + 1), "attachment header: says 4294967297 bytes, more than an attachment ever holds (4 GiB at most)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := s.link(t, s.sealAs(t, tt.hdr, size, 4096), "", false)
			defer os.Remove(filepath.Join(s.dir, filepath.FromSlash(p)))
			out := filepath.Join(t.TempDir(), "copy")
			rep, err := Site(s.dir, out, s.ids, nil)
			if rep == nil {
				t.Fatalf("Site: %v", err)
			}
			want := "index.html: attachment " + p + " not opened: " + tt.want
			if text := problemText(s.dir, rep.Problems); err == nil || !strings.Contains(text, want) {
				t.Errorf("%v; problems:\n%s\nwant %q", err, text, want)
			}
			if extra := leftovers(t, out); len(extra) > 0 {
				t.Errorf("the copy holds %v", extra)
			}
		})
	}
}

// A packet that holds a passage of more than 64 MiB is refused as an
// attachment (it is not one) and as one file (it is too large for a
// passage) once its first bytes show it is a passage: it is never read
// whole.
func TestLargePassageRefused(t *testing.T) {
	s := newBigSite(t)
	f, err := os.CreateTemp(filepath.Join(s.dir, format.PacketDir), "sealing-*")
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := age.Encrypt(bw, s.aud.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	line := []byte("<p>" + strings.Repeat("x", 1020) + "</p>\n")
	for range (manifest.MaxPacket + 1<<20) / len(line) {
		w.Write(line)
	}
	w.Close()
	bw.Flush()
	f.Close()
	p := s.link(t, f.Name(), "", false)

	out := filepath.Join(t.TempDir(), "copy")
	var rep *Report
	testtool.BoundedAllocNoHang(t, 8<<20, func() { rep, err = Site(s.dir, out, s.ids, nil) })
	if rep == nil {
		t.Fatalf("Site: %v", err)
	}
	want := "index.html: attachment " + p + " not opened: not an attachment"
	if text := problemText(s.dir, rep.Problems); err == nil || !strings.Contains(text, want) {
		t.Errorf("%v; problems:\n%s\nwant %q", err, text, want)
	}

	file := filepath.Join(s.dir, filepath.FromSlash(p))
	var n countWriter
	testtool.BoundedAllocNoHang(t, 8<<20, func() { _, _, err = FileTo(context.Background(), &n, file, s.ids, FileOptions{}) })
	if err == nil || !strings.Contains(err.Error(), file+": too large: ") || !strings.Contains(err.Error(), "more than a passage's packet ever holds (64 MiB at most): refused") || n != 0 {
		t.Errorf("FileTo: %v, %d bytes written", err, n)
	}
}

// countWriter counts the bytes written to it.
type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// conclave open FILE.age streams an attachment's file of more than 64 MiB
// to a writer, through a heap that does not grow with it. Given a packet
// swapped for another one at its name, with CheckFirst (standard output)
// nothing is written; without, the error says to discard what was.
func TestFileToLargeAttachment(t *testing.T) {
	s := newBigSite(t)
	sealed := s.seal(t, bigSize, 1<<20)
	name := digestName(t, sealed)
	p := s.link(t, sealed, "", false)
	file := filepath.Join(s.dir, filepath.FromSlash(p))

	dst := filepath.Join(t.TempDir(), "big.bin")
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	var a *format.Attachment
	sums := s.sums(t)
	peak, allocated := peakHeap(t, func() {
		a, _, err = FileTo(context.Background(), f, file, s.ids, FileOptions{Sums: sums})
	})
	f.Close()
	if err != nil || a == nil || a.Path != bigPath || a.Size != bigSize {
		t.Fatalf("FileTo: %+v, %v", a, err)
	}
	checkPattern(t, dst, bigSize)
	t.Logf("%d MiB attachment: heap in use grew by %.1f MiB at most; %.1f MiB allocated in all", bigSize>>20, float64(peak)/(1<<20), float64(allocated)/(1<<20))
	if peak > maxHeap {
		t.Errorf("FileTo grew the heap in use by %.1f MiB, more than %d MiB", float64(peak)/(1<<20), maxHeap>>20)
	}

	// Swapped: the same file sealed again, at the first packet's name.
	other := s.seal(t, bigSize, 1<<20)
	if err := os.Rename(other, file); err != nil {
		t.Fatal(err)
	}
	var n countWriter
	a, _, err = FileTo(context.Background(), &n, file, s.ids, FileOptions{CheckFirst: true})
	if err == nil || !strings.Contains(err.Error(), file+": "+ErrNotItsName.Error()) || n != 0 || a != nil {
		t.Errorf("FileTo checking first: %+v, %v, %d bytes written", a, err, n)
	}
	n = 0
	a, _, err = FileTo(context.Background(), &n, file, s.ids, FileOptions{})
	if err == nil || !strings.Contains(err.Error(), ErrNotItsName.Error()) || a == nil {
		t.Errorf("FileTo: %+v, %v, %d bytes written", a, err, n)
	}
	if digestName(t, file) == name {
		t.Fatal("the packet sealed again has the same digest")
	}

	// Stopped: nothing more is written.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = FileTo(ctx, io.Discard, file, s.ids, FileOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("FileTo stopped: %v", err)
	}
}

// A copy written again takes an unchanged attachment from the copy it
// replaces, by a hard link, even when the page that links it changed
// (and is opened again): the same packet bytes, opened with the same keys,
// are the same file. A packet that changed is decrypted again.
func TestOpenAgainLargeAttachment(t *testing.T) {
	s := newBigSite(t)
	p := s.link(t, s.seal(t, bigSize, 1<<20), "", false)
	out := filepath.Join(t.TempDir(), "copy")
	for _, verified := range []bool{false, true} {
		var sums Sums
		if verified {
			sums = s.sums(t)
		}
		if _, err := Site(s.dir, out, s.ids, sums); err != nil {
			t.Fatal(err)
		}
		before, err := os.Stat(filepath.Join(out, bigPath))
		if err != nil {
			t.Fatal(err)
		}
		page := readFile(t, filepath.Join(s.dir, "index.html"))
		s.write(t, "index.html", append(page, "<!-- changed -->\n"...))
		if verified {
			sums = s.sums(t)
		}
		rep, err := Site(s.dir, out, s.ids, sums)
		if err != nil {
			t.Fatal(err)
		}
		after, err := os.Stat(filepath.Join(out, bigPath))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Again != 0 || rep.Attachments != 1 || !os.SameFile(before, after) {
			t.Errorf("verified %t: %+v; the attachment was written again, not linked", verified, rep)
		}
	}
	// Another packet at the same path: decrypted again.
	os.Remove(filepath.Join(s.dir, filepath.FromSlash(p)))
	s.link(t, s.seal(t, 1<<20, 0), "", false)
	before, err := os.Stat(filepath.Join(out, bigPath))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Site(s.dir, out, s.ids, nil); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(filepath.Join(out, bigPath))
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) || after.Size() != 1<<20 {
		t.Errorf("a changed packet's file was taken from the old copy")
	}
	checkPattern(t, filepath.Join(out, bigPath), 1<<20)
}

// BenchmarkOpenAttachment opens a 256 MiB attachment: into a readable
// copy (conclave open SITE), into a file (conclave open -o FILE
// packets/NAME.age), into nothing (decrypted, hashed and checked only),
// and, for comparison, with the age CLI into a file and into /dev/null
// (it writes the whole plaintext, header included, and hashes nothing).
func BenchmarkOpenAttachment(b *testing.B) {
	const size = 256 << 20
	s := newBigSite(b)
	p := s.link(b, s.seal(b, size, 0), "", false)
	file := filepath.Join(s.dir, filepath.FromSlash(p))
	sums := s.sums(b)
	tmp := b.TempDir()
	b.Run("site", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; b.Loop(); i++ {
			out := filepath.Join(tmp, fmt.Sprint("copy", i))
			if _, err := Site(s.dir, out, s.ids, sums); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			os.RemoveAll(out)
			b.StartTimer()
		}
	})
	b.Run("file", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			f, err := os.Create(filepath.Join(tmp, "big.bin"))
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := FileTo(context.Background(), f, file, s.ids, FileOptions{Sums: sums}); err != nil {
				b.Fatal(err)
			}
			f.Close()
			b.StopTimer()
			os.Remove(f.Name())
			b.StartTimer()
		}
	})
	// Decrypted, hashed and checked, written nowhere: the same work as
	// age -d -o /dev/null, and the hash.
	b.Run("discard", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			if _, _, err := FileTo(context.Background(), io.Discard, file, s.ids, FileOptions{Sums: sums}); err != nil {
				b.Fatal(err)
			}
		}
	})
	id := filepath.Join(tmp, "audience.txt")
	if err := os.WriteFile(id, []byte(s.aud.String()+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	for _, out := range []string{filepath.Join(tmp, "age.bin"), os.DevNull} {
		name := "age-cli"
		if out == os.DevNull {
			name += "-discard"
		}
		b.Run(name, func(b *testing.B) {
			ageCmd, err := exec.LookPath("age")
			if err != nil {
				b.Skip("no age CLI")
			}
			b.SetBytes(size)
			for b.Loop() {
				if msg, err := exec.Command(ageCmd, "-d", "-i", id, "-o", out, file).CombinedOutput(); err != nil {
					b.Fatalf("%v: %s", err, msg)
				}
				if out != os.DevNull {
					b.StopTimer()
					os.Remove(out)
					b.StartTimer()
				}
			}
		})
	}
}
