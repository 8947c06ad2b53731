package output

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/conclave-dev/conclave/internal/manifest"
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
