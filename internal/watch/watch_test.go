package watch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// timeout is how long a test waits for a batch before it fails; batches
// normally arrive within Quiet plus a few milliseconds.
const timeout = 5 * time.Second

// site makes a site folder with some sources and returns its root.
func site(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range map[string]string{
		"conclave.toml":            "title = 'x'\n",
		"README.md":                "readme\n",
		"content/index.md":         "# index\n",
		"content/page.md":          "# page\n",
		"content/blog/first.md":    "# first\n",
		"content/blog/old/last.md": "# last\n",
		"public/index.html":        "<p>\n",
		".git/HEAD":                "ref\n",
		"content/.drafts/d.md":     "draft\n",
	} {
		write(t, root, name, body)
	}
	return root
}

func write(t *testing.T, root, name, body string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func start(t *testing.T, root string, paths ...string) *Watcher {
	t.Helper()
	if len(paths) == 0 {
		paths = []string{"content", "themes", "conclave.toml"}
	}
	w, err := New(root, Options{Paths: paths})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// waitFor reads batches until every path of want has been reported, and
// returns the batches read and the union of their paths.
func waitFor(t *testing.T, w *Watcher, want ...string) ([]Batch, map[string]bool) {
	t.Helper()
	seen := map[string]bool{}
	var batches []Batch
	deadline := time.After(timeout)
	for {
		missing := false
		for _, p := range want {
			if !seen[p] {
				missing = true
			}
		}
		if !missing {
			return batches, seen
		}
		select {
		case b, ok := <-w.Batches():
			if !ok {
				t.Fatalf("Batches closed; seen %v, want %v", keys(seen), want)
			}
			checkBatch(t, b)
			batches = append(batches, b)
			for _, p := range b.Paths {
				seen[p] = true
			}
		case err := <-w.Errors():
			t.Fatalf("error: %v", err)
		case <-deadline:
			t.Fatalf("timed out: seen %v, want %v", keys(seen), want)
		}
	}
}

// checkBatch checks the form of a batch: sorted unique slash paths.
func checkBatch(t *testing.T, b Batch) {
	t.Helper()
	if len(b.Paths) == 0 {
		t.Errorf("empty batch")
	}
	if b.First.IsZero() {
		t.Errorf("batch without First: %v", b.Paths)
	}
	for i, p := range b.Paths {
		if i > 0 && b.Paths[i-1] >= p {
			t.Errorf("paths not sorted and unique: %q", b.Paths)
		}
		if strings.Contains(p, `\`) || filepath.IsAbs(p) || strings.HasPrefix(p, "..") {
			t.Errorf("not a relative slash path: %q", p)
		}
	}
}

func keys(m map[string]bool) []string {
	var k []string
	for p := range m {
		k = append(k, p)
	}
	slices.Sort(k)
	return k
}

// notSeen fails if any of the paths were reported.
func notSeen(t *testing.T, seen map[string]bool, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if seen[p] {
			t.Errorf("%s reported; all: %v", p, keys(seen))
		}
	}
}

// watching reports whether the folder rel (slash path) has a watch.
func watching(w *Watcher, rel string) bool {
	return slices.Contains(w.fsw.WatchList(), w.abs(rel))
}

func TestWrite(t *testing.T) {
	root := site(t)
	w := start(t, root)
	write(t, root, "content/page.md", "# changed\n")
	waitFor(t, w, "content/page.md")
	write(t, root, "content/blog/old/last.md", "# changed\n")
	waitFor(t, w, "content/blog/old/last.md")
}

func TestCreate(t *testing.T) {
	root := site(t)
	w := start(t, root)
	write(t, root, "content/blog/new.md", "# new\n")
	waitFor(t, w, "content/blog/new.md")
}

func TestDelete(t *testing.T) {
	root := site(t)
	w := start(t, root)
	if err := os.Remove(filepath.Join(root, "content/page.md")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, "content/page.md")
}

func TestRenameWithin(t *testing.T) {
	root := site(t)
	w := start(t, root)
	if err := os.Rename(filepath.Join(root, "content/page.md"), filepath.Join(root, "content/blog/page.md")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, "content/page.md", "content/blog/page.md")
}

func TestAtomicSave(t *testing.T) {
	root := site(t)
	w := start(t, root)
	tmp := filepath.Join(root, "content/page.md.tmp123")
	if err := os.WriteFile(tmp, []byte("# saved\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(root, "content/page.md")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, "content/page.md")
}

func TestNewFolder(t *testing.T) {
	root := site(t)
	w := start(t, root)
	if err := os.Mkdir(filepath.Join(root, "content/new"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, root, "content/new/a.md", "a\n") // right after mkdir: races the watch
	waitFor(t, w, "content/new", "content/new/a.md")
	write(t, root, "content/new/b.md", "b\n")
	waitFor(t, w, "content/new/b.md")
	write(t, root, "content/new/a.md", "a again\n")
	waitFor(t, w, "content/new/a.md")
}

func TestNestedNewFolders(t *testing.T) {
	root := site(t)
	w := start(t, root)
	write(t, root, "content/a/b/c/d.md", "d\n") // MkdirAll, then the file
	waitFor(t, w, "content/a", "content/a/b", "content/a/b/c", "content/a/b/c/d.md")
	write(t, root, "content/a/b/c/e.md", "e\n")
	waitFor(t, w, "content/a/b/c/e.md")
	write(t, root, "content/a/b/f.md", "f\n")
	waitFor(t, w, "content/a/b/f.md")
}

func TestFolderMovedIn(t *testing.T) {
	root := site(t)
	outside := t.TempDir()
	write(t, outside, "pack/y.md", "y\n")
	write(t, outside, "pack/sub/x.md", "x\n")
	w := start(t, root)
	if err := os.Rename(filepath.Join(outside, "pack"), filepath.Join(root, "content/pack")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, "content/pack", "content/pack/y.md", "content/pack/sub", "content/pack/sub/x.md")
	write(t, root, "content/pack/sub/z.md", "z\n")
	waitFor(t, w, "content/pack/sub/z.md")
	write(t, root, "content/pack/y.md", "y again\n")
	waitFor(t, w, "content/pack/y.md")
}

func TestFolderRenamedWithin(t *testing.T) {
	root := site(t)
	w := start(t, root)
	if err := os.Rename(filepath.Join(root, "content/blog"), filepath.Join(root, "content/journal")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, "content/blog", "content/journal", "content/journal/old/last.md")
	// The watches follow the new names; none is left under the old ones.
	for _, d := range []string{"content/blog", "content/blog/old"} {
		if watching(w, d) {
			t.Errorf("%s still watched", d)
		}
	}
	for _, d := range []string{"content/journal", "content/journal/old"} {
		if !watching(w, d) {
			t.Errorf("%s not watched", d)
		}
	}
	write(t, root, "content/journal/old/new.md", "n\n")
	_, seen := waitFor(t, w, "content/journal/old/new.md")
	notSeen(t, seen, "content/blog/old/new.md")
}

func TestFolderRemoved(t *testing.T) {
	root := site(t)
	w := start(t, root)
	if err := os.RemoveAll(filepath.Join(root, "content/blog")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, "content/blog", "content/blog/first.md", "content/blog/old", "content/blog/old/last.md")
	for _, d := range []string{"content/blog", "content/blog/old"} {
		if watching(w, d) {
			t.Errorf("%s still watched", d)
		}
	}
	// A folder of the same name made again is watched again.
	write(t, root, "content/blog/again.md", "again\n")
	waitFor(t, w, "content/blog", "content/blog/again.md")
	write(t, root, "content/blog/again.md", "again and again\n")
	waitFor(t, w, "content/blog/again.md")
	select {
	case err := <-w.Errors():
		t.Errorf("error: %v", err)
	default:
	}
}

func TestRootFile(t *testing.T) {
	root := site(t)
	w := start(t, root)
	// Not watched: other files and folders of the root.
	write(t, root, "README.md", "changed\n")
	write(t, root, "public/index.html", "<p>changed\n")
	write(t, root, "public/new/x.html", "<p>\n")
	write(t, root, "conclave.toml.bak", "x\n")
	// An atomic save of conclave.toml.
	tmp := filepath.Join(root, "conclave.toml.tmp")
	if err := os.WriteFile(tmp, []byte("title = 'y'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(root, "conclave.toml")); err != nil {
		t.Fatal(err)
	}
	_, seen := waitFor(t, w, "conclave.toml")
	notSeen(t, seen, "README.md", "public", "public/index.html", "public/new", "public/new/x.html",
		"conclave.toml.bak", "conclave.toml.tmp")
	if watching(w, "public") || watching(w, "public/new") {
		t.Errorf("public watched")
	}
	// And a plain write of it.
	write(t, root, "conclave.toml", "title = 'z'\n")
	waitFor(t, w, "conclave.toml")
}

func TestIgnored(t *testing.T) {
	root := site(t)
	w := start(t, root)
	for _, d := range []string{".git", "content/.drafts"} {
		if watching(w, d) {
			t.Errorf("%s watched", d)
		}
	}
	ignored := []string{
		"content/4913",
		"content/page.md~",
		"content/.page.md.swp",
		"content/.page.md.swx",
		"content/#page.md#",
		"content/.drafts/d.md",
		"content/.hidden/x.md",
		".git/HEAD",
		"content/backup~/x.md",
	}
	for _, p := range ignored {
		write(t, root, p, "x\n")
	}
	if err := os.Symlink("user@host.1234:1700000000", filepath.Join(root, "content/.#page.md")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"content/4913", "content/page.md~", "content/.page.md.swp"} {
		if err := os.Remove(filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	write(t, root, "content/sentinel.md", "s\n") // after all the others
	_, seen := waitFor(t, w, "content/sentinel.md")
	notSeen(t, seen, append(ignored, "content/.#page.md", "content/.hidden", "content/backup~")...)
	if watching(w, "content/.hidden") || watching(w, "content/backup~") {
		t.Errorf("ignored folder watched")
	}
	// Names that merely look like those are reported.
	write(t, root, "content/a#b.md", "x\n")
	write(t, root, "content/x.md.orig", "x\n")
	waitFor(t, w, "content/a#b.md", "content/x.md.orig")
}

func TestNotYetExisting(t *testing.T) {
	root := site(t)
	w := start(t, root, "content", "themes", "data/site", "conclave.toml")
	write(t, root, "themes/default/layouts/page.html", "<p>\n")
	waitFor(t, w, "themes", "themes/default/layouts/page.html")
	write(t, root, "themes/default/layouts/list.html", "<p>\n")
	waitFor(t, w, "themes/default/layouts/list.html")
	// A path two levels down: data is watched only to see data/site appear.
	write(t, root, "data/other.toml", "x\n")
	write(t, root, "data/site/menu.toml", "x\n")
	_, seen := waitFor(t, w, "data/site", "data/site/menu.toml")
	notSeen(t, seen, "data", "data/other.toml")
	write(t, root, "data/site/menu.toml", "y\n")
	waitFor(t, w, "data/site/menu.toml")
	// The parent renamed away: the watched path went with it.
	if err := os.Rename(filepath.Join(root, "data"), filepath.Join(root, "olddata")); err != nil {
		t.Fatal(err)
	}
	write(t, root, "content/sentinel.md", "s\n")
	_, seen = waitFor(t, w, "data/site", "content/sentinel.md")
	notSeen(t, seen, "data", "olddata", "olddata/site")
	for _, d := range []string{"data", "data/site", "olddata", "olddata/site"} {
		if watching(w, d) {
			t.Errorf("%s watched", d)
		}
	}
	// And back.
	if err := os.Rename(filepath.Join(root, "olddata"), filepath.Join(root, "data")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, "data/site", "data/site/menu.toml")
	write(t, root, "data/site/menu.toml", "z\n")
	waitFor(t, w, "data/site/menu.toml")
	// A watched file that does not exist yet.
	w2 := start(t, root, "content", "extra.toml")
	write(t, root, "extra.toml", "x\n")
	waitFor(t, w2, "extra.toml")
}

func TestSymlinkNotFollowed(t *testing.T) {
	root := site(t)
	outside := t.TempDir()
	write(t, outside, "f.md", "f\n")
	w := start(t, root)
	if err := os.Symlink(outside, filepath.Join(root, "content/link")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, "content/link")
	if watching(w, "content/link") {
		t.Errorf("link to a folder watched")
	}
	write(t, outside, "f.md", "changed\n")
	write(t, root, "content/sentinel.md", "s\n")
	_, seen := waitFor(t, w, "content/sentinel.md")
	notSeen(t, seen, "content/link/f.md")
}

func TestBurst(t *testing.T) {
	root := site(t)
	w := start(t, root)
	var want []string
	for i := range 200 {
		p := fmt.Sprintf("content/burst/p%03d.md", i)
		want = append(want, p)
		write(t, root, p, "x\n")
	}
	batches, _ := waitFor(t, w, want...)
	if len(batches) >= 20 {
		t.Errorf("200 writes in %d batches", len(batches))
	}
	t.Logf("200 writes in %d batches", len(batches))
}

func TestCoalesceRewrites(t *testing.T) {
	root := site(t)
	w := start(t, root)
	for range 50 {
		write(t, root, "content/page.md", "again\n")
	}
	batches, _ := waitFor(t, w, "content/page.md")
	if len(batches) >= 20 {
		t.Errorf("50 writes of one file in %d batches", len(batches))
	}
}

// A reader that does not read for a while loses nothing: changes made
// meanwhile are gathered into the next batch. (The sleeps are the slow
// reader, not synchronisation: any interleaving must pass.)
func TestSlowReader(t *testing.T) {
	root := site(t)
	w := start(t, root)
	write(t, root, "content/a.md", "a\n")
	time.Sleep(4 * DefaultQuiet)
	write(t, root, "content/b.md", "b\n")
	write(t, root, "content/blog/c.md", "c\n")
	time.Sleep(4 * DefaultQuiet)
	batches, _ := waitFor(t, w, "content/a.md", "content/b.md", "content/blog/c.md")
	t.Logf("%d batches", len(batches))
}

func TestRootWatched(t *testing.T) {
	root := site(t)
	w := start(t, root, ".")
	write(t, root, "README.md", "x\n")
	write(t, root, "public/new.html", "x\n")
	write(t, root, ".git/HEAD", "x\n")
	write(t, root, "sentinel.md", "x\n")
	_, seen := waitFor(t, w, "README.md", "public/new.html", "sentinel.md")
	notSeen(t, seen, ".git/HEAD", ".git")
}

func TestOptions(t *testing.T) {
	root := site(t)
	for _, paths := range [][]string{nil, {"../x"}, {"/abs"}, {".git"}, {"content/.x"}, {""}, {`content\blog`}} {
		if w, err := New(root, Options{Paths: paths}); err == nil {
			w.Close()
			t.Errorf("New with %q: no error", paths)
		}
	}
	if _, err := New(filepath.Join(root, "conclave.toml"), Options{Paths: []string{"content"}}); err == nil {
		t.Errorf("New on a file: no error")
	}
	if _, err := New(filepath.Join(root, "missing"), Options{Paths: []string{"content"}}); err == nil {
		t.Errorf("New on a missing folder: no error")
	}
	// Unclean and repeated paths are fine.
	w := start(t, root, "content/", "./content", "content/blog/../blog")
	write(t, root, "content/blog/x.md", "x\n")
	waitFor(t, w, "content/blog/x.md")
}

func TestCloseTwice(t *testing.T) {
	root := site(t)
	w, err := New(root, Options{Paths: []string{"content"}})
	if err != nil {
		t.Fatal(err)
	}
	write(t, root, "content/page.md", "x\n") // a batch possibly pending
	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for range w.Batches() {
	}
	for range w.Errors() {
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	root := site(t)
	before := runtime.NumGoroutine()
	for i := range 5 {
		w, err := New(root, Options{Paths: []string{"content", "conclave.toml"}})
		if err != nil {
			t.Fatal(err)
		}
		p := fmt.Sprintf("content/leak%d.md", i)
		write(t, root, p, "x\n")
		waitFor(t, w, p)
		write(t, root, "content/page.md", "x\n") // left pending
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(timeout)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond) // polling, as goleak does
	}
}

// After an overflow the watcher says so and watches the folders anew: a
// watch lost with the events is set up again.
func TestOverflow(t *testing.T) {
	root := site(t)
	w := start(t, root)
	if err := w.fsw.Remove(filepath.Join(root, "content/blog")); err != nil { // lost
		t.Fatal(err)
	}
	w.fsw.Errors <- fsnotify.ErrEventOverflow
	select {
	case err := <-w.Errors():
		if !errors.Is(err, ErrOverflow) || !errors.Is(err, fsnotify.ErrEventOverflow) {
			t.Errorf("error %v: not an overflow", err)
		}
		t.Log(err)
	case <-time.After(timeout):
		t.Fatal("no error")
	}
	if !watching(w, "content/blog") {
		t.Errorf("content/blog not watched again")
	}
	write(t, root, "content/blog/x.md", "x\n")
	waitFor(t, w, "content/blog/x.md")
}

func TestErrorQueue(t *testing.T) {
	var w Watcher
	overflow := fmt.Errorf("%w: %w", ErrOverflow, fsnotify.ErrEventOverflow)
	for range 3 {
		w.pushErr(overflow)
	}
	if len(w.errq) != 1 {
		t.Errorf("overflows in a row, unread: %d errors queued, want 1", len(w.errq))
	}
	for i := range 2 * maxQueuedErrors {
		w.pushErr(fmt.Errorf("error %d", i))
	}
	if len(w.errq) != maxQueuedErrors {
		t.Errorf("%d errors queued, want %d", len(w.errq), maxQueuedErrors)
	}
}

func TestIgnoredName(t *testing.T) {
	for name, want := range map[string]bool{
		"4913": true, "x.md~": true, ".x.md.swp": true, "#x.md#": true, ".#x.md": true,
		".git": true, "x.md": false, "49130": false, "#x.md": false, "a#": false, "#": false,
		"index.md": false, "x~y.md": false,
	} {
		if got := ignoredName(name); got != want {
			t.Errorf("ignoredName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestRootRemoved(t *testing.T) {
	root := site(t)
	w := start(t, root)
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var gotErr error
	deadline := time.After(timeout)
	for gotErr == nil || !seen["content"] || !seen["conclave.toml"] {
		select {
		case b := <-w.Batches():
			checkBatch(t, b)
			for _, p := range b.Paths {
				seen[p] = true
			}
		case gotErr = <-w.Errors():
			t.Log(gotErr)
		case <-deadline:
			t.Fatalf("timed out: error %v, seen %v", gotErr, keys(seen))
		}
	}
	if l := w.fsw.WatchList(); len(l) != 0 {
		t.Errorf("still watched: %q", l)
	}
}
