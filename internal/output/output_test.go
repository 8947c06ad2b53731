package output

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDirCommitAndAbort(t *testing.T) {
	final := filepath.Join(t.TempDir(), "public")
	d, err := NewDir(final)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{Marker, "a/index.html"} {
		if err := d.WriteFile(f, []byte(f)); err != nil {
			t.Fatal(err)
		}
	}
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
	if err := d2.WriteFile(Marker, []byte("v2")); err != nil {
		t.Fatal(err)
	}
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
	_ = d3.WriteFile(Marker, []byte("v3"))
	d3.Abort()
	if got, _ := os.ReadFile(filepath.Join(final, Marker)); string(got) != "v2" {
		t.Errorf("after abort: %q", got)
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
