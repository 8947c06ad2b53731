package sign

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// TestVerifyHostileFiles: a copy of a site whose manifest, bundle, packet
// or keyring is huge, a link to /dev/zero or a named pipe fails
// verification at once, naming the file, without reading it: within a
// few MiB of memory and without blocking, where it took gigabytes, crashed
// the runtime or hung.
func TestVerifyHostileFiles(t *testing.T) {
	key := newKey(t)
	huge := func(p string, size int64) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			testtool.SparseFile(t, filepath.Join(dir, filepath.FromSlash(p)), size)
		}
	}
	link := func(p, target string) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			full := filepath.Join(dir, filepath.FromSlash(p))
			os.Remove(full)
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
		}
	}
	fifo := func(p string) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			full := filepath.Join(dir, filepath.FromSlash(p))
			os.Remove(full)
			if err := syscall.Mkfifo(full, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	const (
		tooLarge   = ": too large: "
		notRegular = ": not a regular file "
	)
	for _, tt := range []struct {
		name   string
		change func(*testing.T, string)
		want   string // after the file's path
	}{
		{"SHA256SUMS of 2 GiB", huge(manifest.Name, 2<<30), manifest.Name + tooLarge + "2147483648 bytes (2.0 GiB), more than a SHA256SUMS ever holds (128 MiB at most): refused"},
		{"SHA256SUMS of 8 GiB", huge(manifest.Name, 8<<30), manifest.Name + tooLarge + "8589934592 bytes (8.0 GiB)"},
		{"SHA256SUMS just over the limit", huge(manifest.Name, manifest.MaxSize+1), manifest.Name + tooLarge},
		// Under the limit, it is hashed as a stream, and refused as not
		// the signed one before it is read into memory.
		{"SHA256SUMS just under the limit", huge(manifest.Name, manifest.MaxSize), manifest.Name + ": does not match the digest its signature covers"},
		{"SHA256SUMS a link to /dev/zero", link(manifest.Name, "/dev/zero"), manifest.Name + notRegular + "(a symbolic link)"},
		{"SHA256SUMS a link in the site", link(manifest.Name, "index.html"), manifest.Name + notRegular + "(a symbolic link)"},
		{"SHA256SUMS a named pipe", fifo(manifest.Name), manifest.Name + notRegular + "(a named pipe)"},
		{"SHA256SUMS a folder", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, manifest.Name))
			os.Mkdir(filepath.Join(dir, manifest.Name), 0o755)
		}, manifest.Name + notRegular + "(a folder)"},
		{"bundle a named pipe", fifo(manifest.BundleName), manifest.BundleName + notRegular + "(a named pipe)"},
		{"bundle a link to /dev/zero", link(manifest.BundleName, "/dev/zero"), manifest.BundleName + notRegular + "(a symbolic link)"},
		{"bundle of 2 GiB", huge(manifest.BundleName, 2<<30), manifest.BundleName + tooLarge + "2147483648 bytes (2.0 GiB), more than a bundle ever holds (1 MiB at most)"},
		{"packet of 6 GiB", huge("packets/0a.age", 6<<30), "packets/0a.age" + tooLarge + "6442450944 bytes (6.0 GiB), more than a packet ever holds (5 GiB at most)"},
		{"keyring of 1.5 GiB", huge("packets/keyrings/alice-x.age", 3<<29), "packets/keyrings/alice-x.age" + tooLarge + "1610612736 bytes (1.5 GiB), more than a keyring ever holds (16 MiB at most)"},
		{"packet a named pipe", fifo("packets/0a.age"), "packets/0a.age: " + manifest.ReasonNotFile + " (a named pipe)"},
		{"packet a link to /dev/zero", link("packets/0a.age", "/dev/zero"), "packets/0a.age: " + manifest.ReasonNotFile + " (a symbolic link)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := signedSite(t, key)
			tt.change(t, dir)
			var err error
			testtool.BoundedAllocNoHang(t, 8<<20, func() { _, err = VerifySite(dir, Policy{Key: &key.PublicKey}) })
			var l diag.List
			if !errors.As(err, &l) || !strings.Contains(err.Error(), filepath.Join(dir, tt.want)) {
				t.Errorf("VerifySite: %v\nwant a problem %q", err, filepath.Join(dir, tt.want))
			}
			// VerifyManifest (open FILE.age) reads the manifest and bundle
			// the same way.
			if strings.HasPrefix(tt.want, "SHA256SUMS") {
				if _, err := VerifyManifest(dir, Policy{Key: &key.PublicKey}); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, tt.want)) {
					t.Errorf("VerifyManifest: %v", err)
				}
			}
		})
	}
}

// TestVerifyManifestGrown: a manifest that grows after signing is refused.
func TestVerifyManifestGrown(t *testing.T) {
	key := newKey(t)
	dir := signedSite(t, key)
	p := filepath.Join(dir, manifest.Name)
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(strings.Repeat("0", 64) + "  zz.html\n")
	f.Close()
	if _, err := VerifySite(dir, Policy{Key: &key.PublicKey}); err == nil || !strings.Contains(err.Error(), "SHA256SUMS: does not match the digest its signature covers") {
		t.Errorf("VerifySite: %v", err)
	}
}

// TestVerifySignedHostileManifest: a manifest signed by the site's own key
// (a compromised publisher) but made to exhaust readers is read a line at
// a time and checked without a set of folders: one path of 100 MB took
// 431–531 MiB, 400,000 paths of 250 bytes 774 MiB. Now the long path is
// refused at its line, and paths cost what they hold.
func TestVerifySignedHostileManifest(t *testing.T) {
	key := newKey(t)
	h := strings.Repeat("ab", 32)
	sign := func(t *testing.T, m string) string {
		dir := writeSite(t, map[string]string{"a.html": "a"})
		signManifest(t, key, dir, m)
		return dir
	}
	t.Run("one long path", func(t *testing.T) {
		dir := sign(t, h+"  "+strings.Repeat("a/", 50<<20)+"a\n")
		var err error
		testtool.BoundedAllocNoHang(t, 4<<20, func() { _, err = VerifySite(dir, Policy{Key: &key.PublicKey}) })
		if err == nil || !strings.Contains(err.Error(), "SHA256SUMS:1: line longer than 1091 bytes: a path is at most 1024 bytes") {
			t.Errorf("VerifySite: %.300v", err)
		}
	})
	t.Run("many deep paths", func(t *testing.T) {
		const n = 100_000
		var m strings.Builder
		deep := strings.Repeat("abcdefg/", manifest.MaxDepth-2)
		for i := range n {
			fmt.Fprintf(&m, "%s  %06d/%s%s\n", h, i, deep, "f")
		}
		dir := sign(t, m.String())
		var err error
		// The entries themselves: a path and a digest each.
		entries := uint64(n * (len(deep) + 8 + 48))
		testtool.BoundedAllocNoHang(t, 2*entries, func() { _, err = VerifySite(dir, Policy{Key: &key.PublicKey}) })
		if err == nil || !strings.Contains(err.Error(), "000000/abcdefg/") || !strings.Contains(err.Error(), "listed in SHA256SUMS but missing") {
			t.Errorf("VerifySite: %.300v", err)
		}
	})
}
