package build

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/open"
	"github.com/conclave-dev/conclave/internal/seal"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// writeBig writes size bytes of a pattern at rel of dir, changed a
// minute ago (so that its fingerprint is trusted), and returns them.
func writeBig(t *testing.T, dir, rel string, size int, seed byte) []byte {
	t.Helper()
	data := bytes.Repeat([]byte{seed, seed + 1, seed + 2, 'x', '\n'}, size/5+1)[:size]
	name := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	if err := os.Chtimes(name, past, past); err != nil {
		t.Fatal(err)
	}
	return data
}

// An attachment too large to hold (more than site.StreamSize) is sealed as
// a stream: the build's allocations stay far below its size, its packet
// opens to the same bytes, and with the cache an unchanged file keeps its
// packet, linked from the previous output, while a file changed in place
// (same size, same time) is sealed anew. A file that large linked from
// public text is copied in clear as a stream; a file over site.MaxFileSize
// is never published in clear.
func TestStreamedAttachment(t *testing.T) {
	dir, ids := sealSite(t)
	passage := "::: restricted to=board tlp=amber\nThe [capture](capture.bin).\n:::\n"
	write(t, dir, "content/briefings/c.md", "---\ntitle: C\ntlp: amber\n---\n\n"+passage)
	const size = 3 * site.StreamSize
	data := writeBig(t, dir, "content/briefings/capture.bin", size, 'a')
	out := filepath.Join(dir, "public")
	key := make([]byte, seal.KeySize)
	rand.Read(key)
	opt := Options{Source: dir, Out: out, CacheKey: key}

	var rep *Report
	var err error
	testtool.BoundedAlloc(t, size/3, func() { rep, err = Run(opt) })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Seal.Attachments != 1 || rep.Seal.Fresh == 0 {
		t.Fatalf("%d attachments, %d packets sealed; want 1 and some", rep.Seal.Attachments, rep.Seal.Fresh)
	}
	if _, err := os.Stat(filepath.Join(out, "briefings", "capture.bin")); !os.IsNotExist(err) {
		t.Fatalf("the attachment is published in clear: %v", err)
	}
	packet := attachmentPacket(t, out)
	info, err := os.Stat(filepath.Join(out, filepath.FromSlash(packet)))
	if err != nil || info.Size() < size {
		t.Fatalf("packet %s: %v, want at least %d bytes", packet, err, size)
	}
	sums, err := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	if err != nil || !bytes.Contains(sums, []byte("  "+packet+"\n")) {
		t.Fatalf("SHA256SUMS does not list %s (%v)", packet, err)
	}
	if leftover, _ := filepath.Glob(filepath.Join(out, ".stream-*")); len(leftover) > 0 {
		t.Fatalf("temporary files left in the output: %v", leftover)
	}
	// Its packet opens to the file.
	readCopy := func() []byte {
		copyDir := filepath.Join(t.TempDir(), "copy")
		if _, err := open.Site(out, copyDir, []age.Identity{ids["alice"]}, builtSums(t, out)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(copyDir, "briefings", "capture.bin"))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := readCopy(); !bytes.Equal(got, data) {
		t.Fatalf("alice's copy: %d bytes, want the %d sealed", len(got), len(data))
	}

	// Unchanged: the packet is linked again, not sealed anew. A public
	// file too large to hold is copied as a stream.
	write(t, dir, "content/briefings/c.md", "---\ntitle: C\ntlp: amber\n---\n\n[Public data](pub.bin).\n\n"+passage)
	pub := writeBig(t, dir, "content/briefings/pub.bin", site.StreamSize+7, 'p')
	rep, err = Run(opt)
	if err != nil {
		t.Fatal(err)
	}
	if again := attachmentPacket(t, out); again != packet || rep.Seal.Fresh != 0 {
		t.Fatalf("rebuild: packet %s (was %s), %d sealed anew; want the same packet and none", again, packet, rep.Seal.Fresh)
	}
	if got, err := os.ReadFile(filepath.Join(out, "briefings", "pub.bin")); err != nil || !bytes.Equal(got, pub) {
		t.Fatalf("the public file, copied as a stream: %d bytes (%v), want its %d", len(got), err, len(pub))
	}
	// Changed in place, its size and time kept: sealed anew.
	name := filepath.Join(dir, "content", "briefings", "capture.bin")
	before, _ := os.Stat(name)
	changed := writeBig(t, dir, "content/briefings/capture.bin", size, 'k')
	if err := os.Chtimes(name, before.ModTime(), before.ModTime()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // the inode's change time moves on
	if _, err := Run(opt); err != nil {
		t.Fatal(err)
	}
	if again := attachmentPacket(t, out); again == packet {
		t.Fatal("a file changed in place kept its packet")
	}
	if got := readCopy(); !bytes.Equal(got, changed) {
		t.Fatalf("alice's copy: %d bytes, want the %d changed ones", len(got), len(changed))
	}

	// Over MaxFileSize, linked from public text: refused, output untouched.
	sumsBefore, _ := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	testtool.SparseFile(t, filepath.Join(dir, "content", "briefings", "pub.bin"), site.MaxFileSize+1)
	_, err = Run(opt)
	if err == nil || !strings.Contains(err.Error(), "content/briefings/pub.bin: 268435457 bytes, more than the 256 MiB a file published in clear may hold") {
		t.Fatalf("Run: %v, want the large public file refused", err)
	}
	if sumsAfter, _ := os.ReadFile(filepath.Join(out, "SHA256SUMS")); !bytes.Equal(sumsBefore, sumsAfter) {
		t.Fatal("a refused build changed the output")
	}
}

// attachmentPacket returns the path of the one packet of out that no
// page names.
func attachmentPacket(t *testing.T, out string) string {
	t.Helper()
	named := searchPackets(t, out)
	for _, page := range []string{"briefings/a", "briefings/b", "briefings/c"} {
		for _, p := range packetsOf(t, out, page) {
			named[p] = true
		}
	}
	entries, err := os.ReadDir(filepath.Join(out, "packets"))
	if err != nil {
		t.Fatal(err)
	}
	var free []string
	for _, e := range entries {
		if p := "packets/" + e.Name(); !e.IsDir() && !named[p] && strings.HasSuffix(p, format.AgeExt) {
			free = append(free, p)
		}
	}
	if len(free) != 1 {
		t.Fatalf("%d packets that no page names (%v), want the attachment's alone", len(free), free)
	}
	return free[0]
}

// BenchmarkStreamedAttachment builds a site whose one passage links a
// 256 MiB file of random bytes, without the cache: the cost of sealing
// an attachment as a stream (compare with age -r, docs/benchmarks.md).
func BenchmarkStreamedAttachment(b *testing.B) {
	dir := b.TempDir()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	testtool.WriteSite(b, dir, map[string]string{
		"conclave.toml":   "title = \"B\"\nbaseURL = \"https://b.example.org/\"\n",
		"keys/alice.pub":  id.Recipient().String() + "\n",
		"content/b/x.md":  "---\ntitle: X\ntlp: amber\n---\n\n::: restricted to=alice tlp=amber\nThe [capture](capture.bin).\n:::\n",
		"content/b/.keep": "",
	})
	data := make([]byte, 256<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(dir, "content", "b", "capture.bin"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	data = nil
	b.SetBytes(256 << 20)
	for b.Loop() {
		if _, err := Run(Options{Source: dir, Out: filepath.Join(dir, "public")}); err != nil {
			b.Fatal(err)
		}
	}
}
