package output

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// writeBuild writes each of files, holding its own name, and their
// manifest into d.
func writeBuild(t *testing.T, d *Dir, files ...string) {
	t.Helper()
	for _, f := range files {
		if err := d.WriteFile(f, []byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	var list []manifest.Entry
	for _, e := range d.Entries() {
		list = append(list, manifest.Entry{Path: e.Path, Sum: e.Sum})
	}
	sums, err := manifest.Build(list)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFile(manifest.Name, sums); err != nil {
		t.Fatal(err)
	}
}

func TestDirCommitAndAbort(t *testing.T) {
	final := filepath.Join(t.TempDir(), "public")
	d, err := NewDir(final)
	if err != nil {
		t.Fatal(err)
	}
	writeBuild(t, d, "a/index.html")
	if err := d.WriteFile("a/index.html", []byte("again")); err == nil || !strings.Contains(err.Error(), "two sources write a/index.html") {
		t.Errorf("second write: %v", err)
	}
	if err := d.WriteFile("x.txt", []byte("AGE-SECRET-KEY-"+"1ABC")); err == nil || !strings.Contains(err.Error(), "holds an age secret key") {
		t.Errorf("secret written: %v", err)
	}
	if err := d.WriteFile("../escape", nil); err == nil {
		t.Error("escaping path written")
	}
	if _, err := os.Stat(final); err == nil {
		t.Fatal("final folder exists before Commit")
	}
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(final, "a", "index.html")); string(got) != "a/index.html" {
		t.Errorf("content = %q", got)
	}
	if n := len(d.Entries()); n != 2 {
		t.Errorf("entries = %d", n)
	}

	// A second build replaces the first; an aborted third leaves it.
	d2, err := NewDir(final)
	if err != nil {
		t.Fatal(err)
	}
	writeBuild(t, d2, "b.html")
	if err := d2.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(final, "a")); err == nil {
		t.Error("old file survived the swap")
	}
	d3, err := NewDir(final)
	if err != nil {
		t.Fatal(err)
	}
	writeBuild(t, d3, "c.html")
	d3.Abort()
	if _, err := os.Stat(filepath.Join(final, "b.html")); err != nil {
		t.Errorf("after abort: %v", err)
	}
	if _, err := os.Stat(filepath.Join(final, "c.html")); err == nil {
		t.Error("aborted build published c.html")
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(final), ".public.tmp-*"))
	if len(left) != 0 {
		t.Errorf("temporary folders left: %v", left)
	}
}

func TestNewDirRefusesForeignFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDir(dir); err == nil || !strings.Contains(err.Error(), "refusing to replace") {
		t.Errorf("NewDir on a foreign folder: %v", err)
	}
	file := filepath.Join(dir, "notes.txt")
	if _, err := NewDir(file); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("NewDir on a file: %v", err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := NewDir(empty)
	if err != nil {
		t.Errorf("NewDir on an empty folder: %v", err)
	} else {
		d.Abort()
	}

	// A fresh gh-pages worktree holds only .git, which Commit keeps.
	worktree := filepath.Join(dir, "worktree")
	if err := os.MkdirAll(filepath.Join(worktree, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(worktree, ".git", "HEAD"), []byte("ref: refs/heads/gh-pages\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err = NewDir(worktree)
	if err != nil {
		t.Fatalf("NewDir on a folder holding only .git: %v", err)
	}
	if err := d.WriteFile("index.html", []byte("<p>hi</p>")); err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if head, err := os.ReadFile(filepath.Join(worktree, ".git", "HEAD")); err != nil || !strings.Contains(string(head), "gh-pages") {
		t.Errorf(".git/HEAD after the build: %q, %v", head, err)
	}
}

// TestCheckReplaceOnlyReads: CheckReplace, which a build runs while it
// loads the site, makes no folder; only the Replaceable it returns makes
// one, and the zero Replaceable none.
func TestCheckReplaceOnlyReads(t *testing.T) {
	parent := t.TempDir()
	final := filepath.Join(parent, "site", "public")
	r, err := CheckReplace(final)
	if err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(parent); err != nil || len(entries) != 0 {
		t.Fatalf("after CheckReplace, %s holds %v (%v)", parent, entries, err)
	}
	if _, err := (Replaceable{}).NewDir(); err == nil {
		t.Error("NewDir of the zero Replaceable made a folder")
	}
	d, err := r.NewDir()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFile("index.html", []byte("<p>hi</p>")); err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(final, "index.html")); err != nil {
		t.Error(err)
	}
	if err := os.WriteFile(filepath.Join(final, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckReplace(final); err == nil || !strings.Contains(err.Error(), "refusing to replace") {
		t.Errorf("CheckReplace of a folder that is no build: %v", err)
	}
}

// TestNewDirWantsEveryFileListed: a folder is a previous build only if its
// SHA256SUMS parses and lists every file in it.
func TestNewDirWantsEveryFileListed(t *testing.T) {
	const notBuild = ", so it is not a previous conclave build (remove it or choose another --out)"
	tests := []struct {
		name  string
		files map[string]string // added to a previous build; "" removes
		want  string            // error, or "" if NewDir must accept
	}{
		{"unlisted file", map[string]string{"notes.txt": "mine"}, "notes.txt is not listed in its SHA256SUMS" + notBuild},
		{"unlisted nested file", map[string]string{"a/thesis.tex": "mine"}, "a/thesis.tex is not listed in its SHA256SUMS" + notBuild},
		{"nested hidden file", map[string]string{"a/.notes": "mine"}, "a/.notes is not listed"},
		{"unrelated manifest", map[string]string{manifest.Name: strings.Repeat("0", 64) + "  ubuntu.iso\n"}, "a/b.html is not listed in its SHA256SUMS" + notBuild},
		{"GNU binary-mode manifest", map[string]string{manifest.Name: strings.Repeat("0", 64) + " *index.html\n"}, "its SHA256SUMS is not one conclave writes (SHA256SUMS:1: want"},
		{"no manifest", map[string]string{manifest.Name: ""}, "it is not empty and holds no SHA256SUMS" + notBuild},
		{"previous build", nil, ""},
		{"listed file deleted", map[string]string{"index.html": ""}, ""},
		{"hidden top-level entries", map[string]string{".git/config": "x", ".nojekyll": ""}, ""},
		{"signature", map[string]string{manifest.Name + ".sigstore.json": "{}"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			final := filepath.Join(t.TempDir(), "dl")
			d, err := NewDir(final)
			if err != nil {
				t.Fatal(err)
			}
			writeBuild(t, d, "index.html", "a/b.html")
			if err := d.Commit(); err != nil {
				t.Fatal(err)
			}
			for name, body := range tt.files {
				p := filepath.Join(final, filepath.FromSlash(name))
				if body == "" && !strings.HasPrefix(name, ".") {
					if err := os.Remove(p); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			d, err = NewDir(final)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("previous build refused: %v", err)
				}
				d.Abort()
				return
			}
			if want := "refusing to replace " + final + ": " + tt.want; err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("NewDir = %v\nwant %s", err, want)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(final), ".dl.tmp-*")); len(left) > 0 {
				t.Errorf("temporary folder created: %v", left)
			}
		})
	}
}

func TestCommitKeepsHiddenEntries(t *testing.T) {
	final := filepath.Join(t.TempDir(), "public")
	d, err := NewDir(final)
	if err != nil {
		t.Fatal(err)
	}
	writeBuild(t, d, "old.html")
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{".git/HEAD": "ref: refs/heads/gh-pages", ".nojekyll": "", ".domains": "old"} {
		p := filepath.Join(final, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err = NewDir(final)
	if err != nil {
		t.Fatal(err)
	}
	// A build writes no hidden name (manifest.CheckPath refuses one).
	if err := d.WriteFile(".domains", []byte("new")); err == nil {
		t.Error("the build wrote .domains, a hidden name")
	}
	writeBuild(t, d, "new.html")
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{".git/HEAD": "ref: refs/heads/gh-pages", ".nojekyll": "", ".domains": "old", "new.html": "new.html"} {
		if got, err := os.ReadFile(filepath.Join(final, filepath.FromSlash(name))); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(final, "old.html")); err == nil {
		t.Error("old.html survived the swap")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(final), ".public.tmp-*")); len(left) > 0 {
		t.Errorf("temporary folders left: %v", left)
	}
}

func TestMemory(t *testing.T) {
	m := NewMemory()
	data := []byte("hello")
	if err := m.WriteFile("a.txt", data); err != nil {
		t.Fatal(err)
	}
	data[0] = 'j' // the memory output keeps its own copy
	if got, ok := m.Get("a.txt"); !ok || string(got) != "hello" {
		t.Errorf("Get = %q, %v", got, ok)
	}
	if err := m.WriteFile("a.txt", nil); err == nil {
		t.Error("second write accepted")
	}
}

func TestDirRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	d, err := NewDir("public")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFile("a/b/c/index.html", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join("public", "a", "b", "c", "index.html")); err != nil || string(got) != "x" {
		t.Errorf("read back %q, %v", got, err)
	}
}

// A frozen Memory reads as before, from many goroutines, and refuses
// writes: a build in memory, once done, is only read.
func TestMemoryFreeze(t *testing.T) {
	m := NewMemory()
	if err := m.WriteFile("a.html", []byte("a")); err != nil {
		t.Fatal(err)
	}
	m.Freeze()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if data, ok := m.Get("a.html"); !ok || string(data) != "a" {
				t.Errorf("Get after Freeze: %q, %t", data, ok)
			}
		})
	}
	wg.Wait()
	next := NewMemory()
	if _, err := next.Carry(m, "a.html"); err != nil {
		t.Fatal(err)
	}
	for name, write := range map[string]func(){
		"WriteFile":   func() { m.WriteFile("b.html", nil) },
		"WriteShared": func() { m.WriteShared("b.html", nil, [32]byte{}) },
		"Carry":       func() { m.Carry(next, "a.html") },
		"Create":      func() { m.Create() },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s after Freeze did not panic", name)
				}
			}()
			write()
		}()
	}
}

// A fork holds the files of the build it was made from, which its own
// writes replace once, and leaves that build as it was.
func TestMemoryFork(t *testing.T) {
	m := NewMemory()
	for p, data := range map[string]string{"a.html": "a", "b.html": "b", "c.html": "c"} {
		if err := m.WriteFile(p, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	m.Freeze()
	f := m.Fork()
	if err := f.WriteFile("a.html", []byte("A")); err != nil {
		t.Fatalf("replacing a file of the earlier build: %v", err)
	}
	if err := f.WriteFile("a.html", []byte("AA")); err == nil {
		t.Error("a fork took a second write of the same path")
	}
	if err := f.WriteFile("d.html", []byte("d")); err != nil {
		t.Fatal(err)
	}
	if err := f.WriteFile("d.html", []byte("D")); err == nil {
		t.Error("a fork took a second write of a new path")
	}
	if n, err := f.Remove("b.html"); err != nil || n != 1 {
		t.Errorf("Remove(b.html) = %d, %v", n, err)
	}
	for _, p := range []string{"b.html", "d.html", "nothing.html"} {
		if _, err := f.Remove(p); err == nil {
			t.Errorf("Remove(%s) of a file the earlier build did not hold (or no longer does) succeeded", p)
		}
	}
	got := map[string]string{}
	for _, e := range f.Entries() {
		data, _ := f.Get(e.Path)
		got[e.Path] = string(data)
		if e.Sum != sha256.Sum256(data) || e.Size != int64(len(data)) {
			t.Errorf("%s: entry %x/%d for %q", e.Path, e.Sum[:4], e.Size, data)
		}
	}
	if want := map[string]string{"a.html": "A", "c.html": "c", "d.html": "d"}; !maps.Equal(got, want) {
		t.Errorf("fork holds %v, want %v", got, want)
	}
	if files, bytes := m.Totals(); files != 3 || bytes != 3 {
		t.Errorf("the forked build changed: %d files, %d bytes", files, bytes)
	}
	if data, _ := m.Get("a.html"); string(data) != "a" {
		t.Errorf("the forked build's a.html is %q", data)
	}
}

// Forks of forks, made after random writes and removals, hold what a
// plain map of the same changes holds, whether they copy their base's
// changes or make a new base.
func TestMemoryForkChain(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	want := map[string]string{}
	m := NewMemory()
	for i := range 200 {
		p, data := fmt.Sprintf("f%d.html", i), fmt.Sprint("file ", i)
		if err := m.WriteFile(p, []byte(data)); err != nil {
			t.Fatal(err)
		}
		want[p] = data
	}
	m.Freeze()
	for step := range 300 {
		f := m.Fork()
		written := map[string]bool{}
		for range r.IntN(6) {
			p := fmt.Sprintf("f%d.html", r.IntN(260))
			if _, held := want[p]; held && !written[p] && r.IntN(3) == 0 {
				n, err := f.Remove(p)
				if err != nil || n != int64(len(want[p])) {
					t.Fatalf("step %d: Remove(%s) = %d, %v", step, p, n, err)
				}
				delete(want, p)
				continue
			}
			data := fmt.Sprint("step ", step, " ", p)
			err := f.WriteFile(p, []byte(data))
			if written[p] {
				if err == nil {
					t.Fatalf("step %d: %s written twice", step, p)
				}
				continue
			}
			if err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			written[p] = true
			want[p] = data
		}
		f.Freeze()
		var bytes int64
		for _, data := range want {
			bytes += int64(len(data))
		}
		if files, n := f.Totals(); files != len(want) || n != bytes || f.Len() != len(want) {
			t.Fatalf("step %d: totals %d files, %d bytes; want %d, %d", step, files, n, len(want), bytes)
		}
		entries := f.Entries()
		if len(entries) != len(want) {
			t.Fatalf("step %d: %d entries, want %d", step, len(entries), len(want))
		}
		for _, e := range entries {
			if data, ok := f.Get(e.Path); !ok || string(data) != want[e.Path] || e.Sum != sha256.Sum256(data) {
				t.Fatalf("step %d: %s holds %q, want %q", step, e.Path, data, want[e.Path])
			}
		}
		for i := range 260 {
			p := fmt.Sprintf("f%d.html", i)
			if _, ok := f.Get(p); ok != (want[p] != "") {
				t.Fatalf("step %d: Get(%s) found %t", step, p, ok)
			}
		}
		m = f
	}
}

// orderTestRoot is a folder on tmpfs, which lists entries and numbers
// inodes in the order files were made, where a test of Order can fail.
// Without one, the test (of what tmpfs shows) fails if tools are
// required, and is skipped if not.
func orderTestRoot(t *testing.T, shows string) string {
	t.Helper()
	root, err := os.MkdirTemp("/dev/shm", "conclave-order-")
	if err != nil {
		if testtool.Required() {
			t.Fatalf("no /dev/shm: Order is tested on tmpfs, whose %s the order files were made in", shows)
		}
		t.Skipf("no /dev/shm, whose %s the order files were made in", shows)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	return root
}

// listing returns the names of dir's entries in the file system's order.
func listing(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// After Order, a folder of the build lists its entries as a folder whose
// entries were made in name order does: the order the build wrote them
// in is gone, nested folders included, whether the files were written
// at once or held in memory until Order (see Hold), or some of each.
func TestOrderHidesWriteOrder(t *testing.T) {
	for _, hold := range []int64{0, 1200, 1 << 20} {
		t.Run(fmt.Sprintf("hold=%d", hold), func(t *testing.T) {
			root := orderTestRoot(t, "listing order is")
			d, names := packetsInRandomOrder(t, root, hold)
			// The reference: the same names, made in name order ("sub",
			// made last, sorts after them all).
			ref := filepath.Join(root, "ref")
			for _, sub := range []string{"", "sub"} {
				if err := os.MkdirAll(filepath.Join(ref, "packets", sub), 0o755); err != nil {
					t.Fatal(err)
				}
				for _, n := range names {
					if err := os.WriteFile(filepath.Join(ref, "packets", sub, n), nil, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			packets := filepath.Join(d.tmp, "packets")
			if hold == 0 && slices.Equal(listing(t, packets), listing(t, filepath.Join(ref, "packets"))) {
				t.Fatal("before Order, the listing is already that of the reference: this file system does not show the order of writing, and the test cannot fail")
			}
			if err := d.Order("packets"); err != nil {
				t.Fatal(err)
			}
			for _, sub := range []string{"", "sub"} {
				if got, want := listing(t, filepath.Join(packets, sub)), listing(t, filepath.Join(ref, "packets", sub)); !slices.Equal(got, want) {
					t.Errorf("packets/%s lists\n%q\nwant\n%q", sub, got, want)
				}
			}
			commitPackets(t, d, root, names)
		})
	}
}

// packetsInRandomOrder writes 40 files of random names, in random order,
// in packets/ and packets/sub/ of a new build under root, and returns it
// with their names, sorted. With hold > 0, the build holds files in
// packets/ up to hold bytes (each of the 80 is 28 or 32 bytes).
func packetsInRandomOrder(t *testing.T, root string, hold int64) (*Dir, []string) {
	t.Helper()
	names := make([]string, 40)
	for i := range names {
		names[i] = fmt.Sprintf("%016x.age", rand.Uint64())
	}
	written := slices.Clone(names)
	rand.Shuffle(len(written), func(i, j int) { written[i], written[j] = written[j], written[i] })
	d, err := NewDir(filepath.Join(root, "public"))
	if err != nil {
		t.Fatal(err)
	}
	if hold > 0 {
		if err := d.Hold("packets", hold); err != nil {
			t.Fatal(err)
		}
	}
	var files []string
	for _, n := range written {
		files = append(files, "packets/"+n, "packets/sub/"+n)
	}
	writeBuild(t, d, files...)
	slices.Sort(names)
	return d, names
}

// commitPackets commits d, the build of packetsInRandomOrder under root
// after Order, and checks that its files hold what they held.
func commitPackets(t *testing.T, d *Dir, root string, names []string) {
	t.Helper()
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		for _, p := range []string{"packets/" + n, "packets/sub/" + n} {
			if data, err := os.ReadFile(filepath.Join(root, "public", p)); err != nil || string(data) != p {
				t.Fatalf("%s after Order: %q, %v", p, data, err)
			}
		}
	}
}

// Hold keeps the files of its folder in memory, within its budget, and
// nowhere on disk until Order writes them; a build that holds files
// Order has not written is not committed.
func TestHoldKeepsFilesUntilOrder(t *testing.T) {
	final, d := afterBuild(t, "index.html")
	if err := d.Hold("packets", 100); err != nil {
		t.Fatal(err)
	}
	held, over, owned := "packets/a.age", "packets/sub/b.age", "packets/c.age"
	ownedData := []byte(strings.Repeat("c", 30))
	for _, w := range []struct {
		p    string
		data []byte
	}{{held, []byte(strings.Repeat("a", 60))}, {over, []byte(strings.Repeat("b", 60))}, {"page/index.html", []byte("page")}} {
		if err := d.WriteFile(w.p, w.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.WriteOwned(owned, ownedData); err != nil {
		t.Fatal(err)
	}
	onDisk := func(p string) bool {
		_, err := os.Lstat(filepath.Join(d.tmp, filepath.FromSlash(p)))
		return err == nil
	}
	for p, want := range map[string]bool{held: false, owned: false, over: true, "page/index.html": true} {
		if onDisk(p) != want {
			t.Errorf("%s on disk before Order: %v, want %v", p, !want, want)
		}
		if got := d.Held(p) != nil; got == want {
			t.Errorf("%s held: %v, want %v", p, got, !want)
		}
	}
	if got := d.Held(owned); &got[0] != &ownedData[0] {
		t.Error("a file written as owned was copied")
	}
	if data, err := d.ReadFile(held); err != nil || string(data) != strings.Repeat("a", 60) {
		t.Errorf("ReadFile(%s) before Order: %q, %v", held, data, err)
	}
	if r, err := d.Open(held); err != nil {
		t.Error(err)
	} else if data, err := io.ReadAll(r); err != nil || string(data) != strings.Repeat("a", 60) {
		t.Errorf("Open(%s) before Order: %q, %v", held, data, err)
	}
	if err := d.Commit(); err == nil {
		t.Fatal("a build holding files Order has not written was committed")
	}
	if data, err := os.ReadFile(filepath.Join(final, "index.html")); err != nil || string(data) != "index.html" {
		t.Fatalf("the previous output changed: %q, %v", data, err)
	}
	if err := d.Order("packets"); err != nil {
		t.Fatal(err)
	}
	// Written after Order: at once.
	if err := d.WriteFile("packets/d.age", []byte("d")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{held, over, owned, "packets/d.age"} {
		if !onDisk(p) || d.Held(p) != nil {
			t.Errorf("%s after Order: on disk %v, held %v", p, onDisk(p), d.Held(p) != nil)
		}
	}
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(final, held)); err != nil || string(data) != strings.Repeat("a", 60) {
		t.Errorf("%s committed: %q, %v", held, data, err)
	}
}

// TestOrderBesideReads: while Order remakes the folder Hold names, files
// in it read back (held, or on disk past the budget, in the folder or
// below) and files written elsewhere are as written, and a file written
// in it waits for Order, then is written at once.
func TestOrderBesideReads(t *testing.T) {
	_, d := afterBuild(t, "index.html")
	if err := d.Hold("packets", 4<<10); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := range 400 {
		p := fmt.Sprintf("packets/%03d.age", i)
		if i%4 == 0 {
			p = fmt.Sprintf("packets/keyrings/%03d.age", i)
		}
		want[p] = strings.Repeat(string(rune('a'+i%26)), 40+i)
		if err := d.WriteFile(p, []byte(want[p])); err != nil {
			t.Fatal(err)
		}
	}
	ordered := make(chan error, 1)
	go func() { ordered <- d.Order("packets") }()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	done := atomic.Bool{}
	for w := range 4 {
		wg.Go(func() {
			for round := 0; !done.Load() || round == 0; round++ {
				for p, data := range want {
					got, err := d.ReadFile(p)
					if err == nil && string(got) != data {
						err = fmt.Errorf("ReadFile(%s) = %d bytes, want %d", p, len(got), len(data))
					}
					if err == nil {
						var r io.ReadCloser
						if r, err = d.Open(p); err == nil {
							got, err = io.ReadAll(r)
							r.Close()
							if err == nil && string(got) != data {
								err = fmt.Errorf("Open(%s) = %d bytes, want %d", p, len(got), len(data))
							}
						}
					}
					if err != nil {
						errs <- err
						return
					}
				}
				if err := d.WriteFile(fmt.Sprintf("pages/%d-%d.html", w, round), []byte("page")); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	late := "packets/late.age"
	if err := d.WriteFile(late, []byte("late")); err != nil {
		t.Fatal(err)
	}
	if err := <-ordered; err != nil {
		t.Fatal(err)
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if d.Held(late) != nil {
		t.Errorf("%s, written as Order ran, is held after it", late)
	}
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
}

// Commit removes the previous output whole: its nested files and
// folders, and what appeared there after NewDir read it; but nothing a
// symbolic link made since leads to.
func TestCommitRemovesPrevious(t *testing.T) {
	final, d := afterBuild(t, "a/b/c/index.html", "a/b/index.html", "a/x.html", "packets/p.age", "top.html")
	// packets/ becomes a link to a folder elsewhere, holding a file of the
	// same name.
	elsewhere := t.TempDir()
	if err := os.WriteFile(filepath.Join(elsewhere, "p.age"), []byte("not the build's"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(final, "packets")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(final, "packets")); err != nil {
		t.Fatal(err)
	}
	// Made after NewDir read the previous output.
	for _, p := range []string{"a/b/c/late.html", "late/deep/file", ".hidden-late/x"} {
		full := filepath.Join(final, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeBuild(t, d, "new.html")
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	var got []string
	filepath.WalkDir(final, func(p string, e fs.DirEntry, err error) error {
		if err == nil && p != final {
			rel, _ := filepath.Rel(final, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	// The hidden folder made since is kept, as a hidden entry is.
	if want := []string{".hidden-late", ".hidden-late/x", manifest.Name, "new.html"}; !slices.Equal(got, want) {
		t.Errorf("after Commit: %q, want %q", got, want)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(final), ".public.tmp-*")); len(left) > 0 {
		t.Errorf("temporary folders left: %v", left)
	}
	if data, err := os.ReadFile(filepath.Join(elsewhere, "p.age")); err != nil || string(data) != "not the build's" {
		t.Errorf("the file a link led to: %q, %v", data, err)
	}
}

// SetTimes dates every file and folder of the build: written, held and
// ordered, streamed, and published again from the previous output.
func TestSetTimesDatesEverything(t *testing.T) {
	_, d := afterBuild(t, "old/index.html")
	if err := d.Hold("packets", 1<<20); err != nil {
		t.Fatal(err)
	}
	data := []byte("old/index.html")
	if err := d.Reuse("old/index.html", data, sha256.Sum256(data)); err != nil {
		t.Fatal(err)
	}
	s, err := d.Create()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("streamed")); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit("packets/deep/streamed.age"); err != nil {
		t.Fatal(err)
	}
	writeBuild(t, d, "a/b/c/index.html", "packets/p.age", "packets/keyrings/k.age", "top.html")
	if err := d.Order("packets"); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := d.SetTimes(when); err != nil {
		t.Fatal(err)
	}
	n := 0
	err = filepath.WalkDir(d.tmp, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if !info.ModTime().Equal(when) {
			t.Errorf("%s: modified %v, want %v", p, info.ModTime(), when)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The folder, 7 folders in it, 7 files.
	if n != 15 {
		t.Errorf("%d files and folders dated, want 15", n)
	}
}

// afterBuild commits a build of files (each holding its own path) to a
// new folder, and returns the folder and the next build of it.
func afterBuild(t *testing.T, files ...string) (string, *Dir) {
	t.Helper()
	final := filepath.Join(t.TempDir(), "public")
	d, err := NewDir(final)
	if err != nil {
		t.Fatal(err)
	}
	writeBuild(t, d, files...)
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if d, err = NewDir(final); err != nil {
		t.Fatal(err)
	}
	return final, d
}
