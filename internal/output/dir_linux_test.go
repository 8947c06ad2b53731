package output

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/conclave-dev/conclave/internal/manifest"
)

// TestCommitFailsKeepingPrevious makes moving a hidden entry into the new
// build fail: the path of the temporary folder is longer than the final
// one's, so a name that fits in the final folder can be too long (PATH_MAX)
// in the temporary one. Commit must fail and move back what it moved.
func TestCommitFailsKeepingPrevious(t *testing.T) {
	const pathMax = 4096 // Linux, including the terminating NUL
	parent := t.TempDir()
	for len(parent) < pathMax-400 {
		parent = filepath.Join(parent, strings.Repeat("d", 200))
	}
	final := filepath.Join(parent, "p")
	d, err := NewDir(final)
	if err != nil {
		t.Fatal(err)
	}
	writeBuild(t, d, "old.html")
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	d, err = NewDir(final)
	if err != nil {
		t.Fatal(err)
	}
	writeBuild(t, d, "new.html")
	long := "." + strings.Repeat("z", pathMax-len(d.tmp)-2) // d.tmp/long is pathMax long
	if len(filepath.Join(final, long)) >= pathMax {
		t.Fatalf("temporary folder %s is not longer than %s", d.tmp, final)
	}
	for _, name := range []string{".a", long} { // .a is moved first
		if err := os.WriteFile(filepath.Join(final, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	err = d.Commit()
	if err == nil || !strings.Contains(err.Error(), "keeping "+filepath.Join(final, long)) {
		t.Fatalf("Commit = %v", err)
	}
	d.Abort()
	for _, name := range []string{".a", long, "old.html"} {
		if got, err := os.ReadFile(filepath.Join(final, name)); err != nil || !strings.HasSuffix(name, string(got)) {
			t.Errorf("previous output: %s = %q, %v", name[:min(len(name), 9)], got, err)
		}
	}
	if _, err := os.Stat(filepath.Join(final, "new.html")); err == nil {
		t.Error("new.html published")
	}
	if _, err := os.Stat(d.tmp); err == nil {
		t.Error("temporary folder left")
	}
}

// Reuse hard-links a file of the previous output when nothing else links
// to it, writes a copy when something does, and leaves the previous output
// as it was either way.
func TestReuseLinksOrCopies(t *testing.T) {
	final := filepath.Join(t.TempDir(), "public")
	first, err := NewDir(final)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a/index.html", "b/index.html"} {
		if err := first.WriteFile(p, []byte("<p>"+p+"</p>")); err != nil {
			t.Fatal(err)
		}
	}
	var list []manifest.Entry
	for _, e := range first.Entries() {
		list = append(list, manifest.Entry{Path: e.Path, Sum: e.Sum})
	}
	sums, err := manifest.Build(list)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.WriteFile(manifest.Name, sums); err != nil {
		t.Fatal(err)
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	// b's file is linked from elsewhere too.
	if err := os.Link(filepath.Join(final, "b/index.html"), filepath.Join(t.TempDir(), "elsewhere")); err != nil {
		t.Fatal(err)
	}
	d, err := NewDir(final)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	for _, p := range []string{"a/index.html", "b/index.html"} {
		data, err := d.ReadPrevious(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Reuse(p, data, sha256.Sum256(data)); err != nil {
			t.Fatal(err)
		}
	}
	same := func(p string) bool {
		a, _ := os.Stat(filepath.Join(final, p))
		b, _ := os.Stat(filepath.Join(d.tmp, p))
		return os.SameFile(a, b)
	}
	if !same("a/index.html") {
		t.Error("a/index.html was copied, not linked")
	}
	if same("b/index.html") {
		t.Error("b/index.html, linked from elsewhere too, was linked again")
	}
	for _, p := range []string{"a/index.html", "b/index.html"} {
		if got, _ := os.ReadFile(filepath.Join(d.tmp, p)); string(got) != "<p>"+p+"</p>" {
			t.Errorf("%s = %q", p, got)
		}
	}
	if len(d.Entries()) != 2 {
		t.Errorf("entries %v", d.Entries())
	}
	if err := d.Reuse("../x", nil, [32]byte{}); err == nil {
		t.Error("an unsafe path was reused")
	}
}

// readWhole reads files of any size whole, growing its buffer for a file
// that grew since it was opened, and fails as os.ReadFile does.
func TestReadWhole(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 4095, 4096, 4097, 1 << 20} {
		data := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
		name := filepath.Join(dir, "f")
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readWhole(name)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%d bytes: read %d bytes, %v", n, len(got), err)
		}
	}
	// A file whose size says nothing: read to its end all the same.
	if got, err := readWhole("/proc/self/status"); err != nil || !bytes.Contains(got, []byte("VmPeak")) {
		t.Errorf("/proc/self/status: %d bytes, %v", len(got), err)
	}
	if _, err := readWhole(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := readWhole(dir); err == nil {
		t.Error("a folder was read as a file")
	}
}

// After Order, the files of a folder are numbered (their inodes) in name
// order, nested folders included: the inode numbers, and a copy made in
// their order (cp -a copies a folder in inode order), no longer tell the
// order the build wrote them in. tmpfs numbers inodes from a counter of
// the processor that makes the file: the test keeps to one.
func TestOrderNumbersInNameOrder(t *testing.T) {
	root := orderTestRoot(t, "inode numbers are")
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var was, one unix.CPUSet
	if err := unix.SchedGetaffinity(0, &was); err != nil {
		t.Fatal(err)
	}
	for cpu := 0; ; cpu++ {
		if was.IsSet(cpu) {
			one.Set(cpu)
			break
		}
	}
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		t.Fatal(err)
	}
	defer unix.SchedSetaffinity(0, &was)

	for _, hold := range []int64{0, 1200} {
		d, sorted := packetsInRandomOrder(t, root, hold)
		packets := filepath.Join(d.tmp, "packets")
		// Half the files or so are held, and not yet on disk.
		if onDisk := byInode(t, packets); slices.IsSorted(onDisk) {
			t.Fatalf("hold=%d: before Order, the inodes are already in name order: the test cannot fail", hold)
		}
		if err := d.Order("packets"); err != nil {
			t.Fatal(err)
		}
		for _, sub := range []string{"", "sub"} {
			if got := byInode(t, filepath.Join(packets, sub)); !slices.Equal(got, sorted) {
				t.Errorf("hold=%d: packets/%s by inode:\n%q\nwant name order", hold, sub, got)
			}
		}
		commitPackets(t, d, root, sorted)
	}
}

// byInode returns the names of the files in dir in the order of their
// inode numbers.
func byInode(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	type file struct {
		name string
		ino  uint64
	}
	var files []file
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().IsRegular() {
			files = append(files, file{e.Name(), info.Sys().(*syscall.Stat_t).Ino})
		}
	}
	slices.SortFunc(files, func(a, b file) int { return cmp.Compare(a.ino, b.ino) })
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	return names
}

// TestReuseStamped: a file of the last build whose stamp is the one taken
// once that build was in place is published again, hard-linked, without
// being read; changed in any way since, even in place with its size and
// modification time as they were, or replaced, it is not. Neither is a
// file in the folder Hold names.
func TestReuseStamped(t *testing.T) {
	final, d := afterBuild(t, "a/index.html", "b/index.html", "c/index.html", "packets/p.age")
	stamps := d.Stamps([]string{"a/index.html", "b/index.html", "c/index.html", "packets/p.age", "gone.html", "../x"})
	if len(stamps) != 4 {
		t.Fatalf("stamps of 4 files: %v", stamps)
	}
	sum := func(p string) [sha256.Size]byte { return sha256.Sum256([]byte(p)) }
	// b changed in place, its size and times restored.
	b := filepath.Join(final, "b", "index.html")
	info, err := os.Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("X/index.html"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(b, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	// c replaced by a file of the same bytes.
	c := filepath.Join(final, "c", "index.html")
	if err := os.Remove(c); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c, []byte("c/index.html"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Hold("packets", 1<<20); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{"a/index.html": true, "b/index.html": false, "c/index.html": false, "packets/p.age": false} {
		ok, err := d.ReuseStamped(p, stamps[p], sum(p))
		if err != nil || ok != want {
			t.Errorf("ReuseStamped(%s) = %v, %v; want %v", p, ok, err, want)
		}
	}
	// Linked, a's change time is now: its stamp no longer holds.
	if ok, _ := d.ReuseStamped("a/index.html", stamps["a/index.html"], sum("a/index.html")); ok {
		t.Error("a file published twice")
	}
	if err := d.Order("packets"); err != nil {
		t.Fatal(err)
	}
	entries := d.Entries()
	if len(entries) != 1 || entries[0].Path != "a/index.html" || entries[0].Sum != sum("a/index.html") || entries[0].Size != int64(len("a/index.html")) {
		t.Fatalf("entries: %+v", entries)
	}
	old, err := os.Stat(filepath.Join(final, "a", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	linked, err := os.Stat(filepath.Join(d.tmp, "a", "index.html"))
	if err != nil || !os.SameFile(old, linked) {
		t.Errorf("a/index.html not linked: %v", err)
	}
}

// TestWriteKeepsSameFile: a file written with the bytes the previous
// build's SHA256SUMS lists for it, and still holds, is that build's file,
// hard-linked; other bytes, a file changed since, or one linked elsewhere
// too, are written anew.
func TestWriteKeepsSameFile(t *testing.T) {
	files := []string{"same.html", "other.html", "changed.html", "shared.html"}
	final, d := afterBuild(t, files...)
	if err := os.WriteFile(filepath.Join(final, "changed.html"), []byte("CHANGED.html"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(final, "shared.html"), filepath.Join(t.TempDir(), "elsewhere")); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data := []byte(f)
		if f == "other.html" {
			data = []byte("OTHER.html")
		}
		if err := d.WriteFile(f, data); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		old, err := os.Stat(filepath.Join(final, f))
		if err != nil {
			t.Fatal(err)
		}
		cur, err := os.Stat(filepath.Join(d.tmp, f))
		if err != nil {
			t.Fatal(err)
		}
		if os.SameFile(old, cur) != (f == "same.html") {
			t.Errorf("%s: the previous file kept: %v", f, os.SameFile(old, cur))
		}
	}
}

// TestMakeFolderPromisesFile: a folder made ahead for a file is dated with
// the others once the file is written; if the file never is, SetTimes
// fails rather than publish an empty folder named after it. A file in the
// folder Hold names has its folder made by Order.
func TestMakeFolderPromisesFile(t *testing.T) {
	_, d := afterBuild(t, "index.html")
	if err := d.Hold("packets", 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := d.MakeFolder("packets/a.age"); err == nil {
		t.Error("MakeFolder in the held folder")
	}
	for _, p := range []string{"a/index.html", "b/c/index.html"} {
		if err := d.MakeFolder(p); err != nil {
			t.Fatal(err)
		}
		if info, err := os.Stat(filepath.Join(d.tmp, filepath.Dir(p))); err != nil || !info.IsDir() {
			t.Fatalf("no folder for %s: %v", p, err)
		}
	}
	if err := d.WriteFile("a/index.html", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := d.Order("packets"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetTimes(time.Unix(1e9, 0)); err == nil || !strings.Contains(err.Error(), "b/c/index.html: its folder was made, but it was not written") {
		t.Errorf("SetTimes with a file promised and not written: %v", err)
	}
	if err := d.WriteFile("b/c/index.html", []byte("c")); err != nil {
		t.Fatal(err)
	}
	if err := d.SetTimes(time.Unix(1e9, 0)); err != nil {
		t.Fatal(err)
	}
}
