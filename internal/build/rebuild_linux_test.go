package build

import (
	"crypto/rand"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/seal"
)

// A build that writes a file again as the last build wrote it keeps that
// file (its inode and birth time), as it does a page it publishes again
// from its record: the files made anew show only what changed. A page
// that links an attachment, rendered by every build, is no exception: a
// copy of the output (cp -a orders files by inode) must not tell it from
// the other restricted pages. Files under packets/ are all made anew, in
// name order, and release.json and SHA256SUMS change with every release.
func TestRebuildKeepsUnchangedFiles(t *testing.T) {
	dir, _ := sealSite(t)
	write(t, dir, "content/briefings/c.md", "---\ntitle: C\ntlp: amber\n---\n\n::: restricted to=board tlp=amber\nThe [log](c-log.txt).\n:::\n")
	write(t, dir, "content/briefings/c-log.txt", "the log\n")
	out := filepath.Join(dir, "public")
	key := make([]byte, seal.KeySize)
	rand.Read(key)
	inodes := func() map[string]uint64 {
		t.Helper()
		m := map[string]uint64{}
		err := filepath.WalkDir(out, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(out, p)
			m[filepath.ToSlash(rel)] = info.Sys().(*syscall.Stat_t).Ino
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	var before map[string]uint64
	for build := range 3 {
		if _, err := Run(Options{Source: dir, Out: out, CacheKey: key, Now: testNow.Add(time.Duration(build) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		after := inodes()
		if build == 0 {
			before = after
			continue
		}
		if _, ok := after["briefings/c/index.html"]; !ok {
			t.Fatal("no page C")
		}
		for p, ino := range after {
			if strings.HasPrefix(p, "packets/") || p == "release.json" || p == manifest.Name {
				continue
			}
			if before[p] != ino {
				t.Errorf("build %d: %s, unchanged, was made anew", build, p)
			}
		}
		before = after
	}
}
