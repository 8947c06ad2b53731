package build

import (
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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
	dir, _, key := attachmentSite(t, "the log\n")
	out := filepath.Join(dir, "public")
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

// A rebuild makes the folders of the restricted pages that link an
// attachment (rendered by every build, in the seal stage) among those of
// the pages it publishes again, in the order of the addresses, not after
// them all: a copy of the output (cp -a makes folders in inode order)
// must not tell those pages from the others.
func TestRebuildMakesFoldersInAddressOrder(t *testing.T) {
	dir, _ := sealSite(t)
	var attached []string
	for i := range 16 {
		name := fmt.Sprintf("p%02d", i)
		body := "---\ntitle: " + name + "\n---\n\nPublic text of " + name + ".\n"
		if i%2 == 1 {
			body = "---\ntitle: " + name + "\ntlp: amber\n---\n\n::: restricted to=board tlp=amber\nThe [log](" + name + ".txt).\n:::\n"
			write(t, dir, "content/briefings/"+name+".txt", "the log of "+name+"\n")
			attached = append(attached, name)
		}
		write(t, dir, "content/briefings/"+name+".md", body)
	}
	out := filepath.Join(dir, "public")
	key := make([]byte, seal.KeySize)
	rand.Read(key)
	for build := range 2 {
		if _, err := Run(Options{Source: dir, Out: out, CacheKey: key, Now: testNow.Add(time.Duration(build) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	folders, err := os.ReadDir(filepath.Join(out, "briefings"))
	if err != nil {
		t.Fatal(err)
	}
	firstAttached, lastOther := uint64(1<<64-1), uint64(0)
	for _, f := range folders {
		if !f.IsDir() || !strings.HasPrefix(f.Name(), "p") {
			continue
		}
		info, err := f.Info()
		if err != nil {
			t.Fatal(err)
		}
		ino := info.Sys().(*syscall.Stat_t).Ino
		if slices.Contains(attached, f.Name()) {
			firstAttached = min(firstAttached, ino)
		} else {
			lastOther = max(lastOther, ino)
		}
	}
	if lastOther == 0 || firstAttached > lastOther {
		t.Errorf("every folder of a page that links an attachment was made after the others (first %d, last other %d)", firstAttached, lastOther)
	}
}
