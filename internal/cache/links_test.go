package cache

import (
	"errors"
	"github.com/conclave-dev/conclave/internal/testtool"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func refusedReason(t *testing.T, err error, path string) string {
	t.Helper()
	var r *RefusedError
	if !errors.As(err, &r) {
		t.Fatalf("not a *RefusedError: %v", err)
	}
	if r.Path != path {
		t.Errorf("refused %s, want %s", r.Path, path)
	}
	return r.Reason
}

// TestLinksRefused: the cache folder and its files are never read or
// written through a symbolic link, and are nothing but a folder and
// regular files.
func TestLinksRefused(t *testing.T) {
	in := value{Version: 1, Secret: "audience key"}
	var out value

	t.Run("folder is a link", func(t *testing.T) {
		root := t.TempDir()
		elsewhere := filepath.Join(root, "elsewhere")
		if err := Save(filepath.Join(elsewhere, "x.cache"), testKey(1), in); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(filepath.Join(elsewhere, "x.cache"))
		dir := filepath.Join(root, "site", ".conclave")
		mkdir(t, filepath.Dir(dir))
		symlink(t, elsewhere, dir)
		path := filepath.Join(dir, "x.cache")

		found, err := Load(path, testKey(1), &out)
		if found || out.Secret != "" {
			t.Error("read through the link")
		}
		if r := refusedReason(t, err, dir); r != "a symbolic link (to "+elsewhere+")" {
			t.Errorf("reason %q", r)
		}
		if err := Save(path, testKey(1), value{Secret: "new"}); refusedReason(t, err, dir) == "" {
			t.Error("no reason")
		}
		after, _ := os.ReadFile(filepath.Join(elsewhere, "x.cache"))
		entries, _ := os.ReadDir(elsewhere)
		if string(after) != string(before) || len(entries) != 1 {
			t.Errorf("Save wrote through the link: %v", entries)
		}
	})

	t.Run("dangling folder link", func(t *testing.T) {
		root := t.TempDir()
		dir := filepath.Join(root, ".conclave")
		symlink(t, filepath.Join(root, "nowhere"), dir)
		path := filepath.Join(dir, "x.cache")
		if _, err := Load(path, testKey(1), &out); refusedReason(t, err, dir) == "" {
			t.Error("no reason")
		}
		if err := Save(path, testKey(1), in); refusedReason(t, err, dir) == "" {
			t.Error("no reason")
		}
		if _, err := os.Stat(filepath.Join(root, "nowhere")); err == nil {
			t.Error("Save made the link's target")
		}
	})

	t.Run("file is a link", func(t *testing.T) {
		root := t.TempDir()
		other := filepath.Join(root, "other.cache")
		if err := Save(other, testKey(1), in); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, ".conclave")
		mkdir(t, dir)
		path := filepath.Join(dir, "other.cache")
		symlink(t, other, path)
		if _, err := Load(path, testKey(1), &out); !strings.HasPrefix(refusedReason(t, err, path), "a symbolic link") {
			t.Error("wrong reason")
		}
		if err := Save(path, testKey(1), value{Secret: "new"}); refusedReason(t, err, path) == "" {
			t.Error("no reason")
		}
		if found, err := Load(other, testKey(1), &out); !found || err != nil || out.Secret != in.Secret {
			t.Errorf("the link's target changed: %v %v %+v", found, err, out)
		}
	})

	t.Run("file links to an endless device", func(t *testing.T) {
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip("no /dev/zero")
		}
		dir := filepath.Join(t.TempDir(), ".conclave")
		mkdir(t, dir)
		path := filepath.Join(dir, "x.cache")
		symlink(t, "/dev/zero", path)
		var err error
		testtool.BoundedAlloc(t, 1<<20, func() { _, err = Load(path, testKey(1), &out) })
		if r := refusedReason(t, err, path); r != "a symbolic link (to /dev/zero)" {
			t.Errorf("reason %q", r)
		}
	})

	t.Run("folder is a file", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), ".conclave")
		if err := os.WriteFile(dir, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "x.cache")
		if _, err := Load(path, testKey(1), &out); refusedReason(t, err, dir) != "not a folder" {
			t.Error("wrong reason")
		}
		if err := Save(path, testKey(1), in); refusedReason(t, err, dir) != "not a folder" {
			t.Error("wrong reason")
		}
	})

	t.Run("file is a folder", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), ".conclave")
		path := filepath.Join(dir, "x.cache")
		mkdir(t, path)
		if _, err := Load(path, testKey(1), &out); refusedReason(t, err, path) != "not a regular file" {
			t.Error("wrong reason")
		}
		if err := Save(path, testKey(1), in); refusedReason(t, err, path) != "not a regular file" {
			t.Error("wrong reason")
		}
	})

	// The site itself may be reached through a link: only the cache's
	// folder and files are checked.
	t.Run("site through a link", func(t *testing.T) {
		root := t.TempDir()
		mkdir(t, filepath.Join(root, "real"))
		symlink(t, filepath.Join(root, "real"), filepath.Join(root, "site"))
		path := filepath.Join(root, "site", ".conclave", "x.cache")
		if err := Save(path, testKey(1), in); err != nil {
			t.Fatal(err)
		}
		if found, err := Load(path, testKey(1), &out); !found || err != nil || out.Secret != in.Secret {
			t.Errorf("Load = %v %v %+v", found, err, out)
		}
	})
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
}
