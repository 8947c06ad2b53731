package output

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// A stream is written, hashed and published at the path its Commit
// names, in a Dir and in Memory alike; an empty one too; an aborted one
// leaves nothing.
func TestStream(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 300_000) // several parts
	for _, name := range []string{"dir", "memory"} {
		t.Run(name, func(t *testing.T) {
			var w Writer
			var dir *Dir
			if name == "dir" {
				d, err := NewDir(filepath.Join(t.TempDir(), "out"))
				if err != nil {
					t.Fatal(err)
				}
				dir, w = d, d
			} else {
				w = NewMemory()
			}
			for p, data := range map[string][]byte{"packets/big.age": big, "packets/empty.age": nil} {
				s, err := w.Create()
				if err != nil {
					t.Fatal(err)
				}
				for part := range parts(data, 70_001) {
					if _, err := s.Write(part); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.Commit(p); err != nil {
					t.Fatal(err)
				}
				s.Abort() // after Commit: nothing
				got, err := w.ReadFile(p)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("%s: %d bytes (%v), want %d", p, len(got), err, len(data))
				}
			}
			entries := w.Entries()
			if len(entries) != 2 || entries[0].Sum != sha256.Sum256(big) || entries[0].Size != int64(len(big)) || entries[1].Sum != sha256.Sum256(nil) {
				t.Fatalf("entries %+v: want the two files with their digests and sizes", entries)
			}
			s, err := w.Create()
			if err != nil {
				t.Fatal(err)
			}
			s.Write(big)
			s.Abort()
			if err := s.Commit("packets/aborted.age"); err == nil {
				t.Fatal("an aborted stream was committed")
			}
			if dir != nil {
				left, _ := filepath.Glob(filepath.Join(dir.tmp, ".stream-*"))
				if len(left) > 0 {
					t.Fatalf("temporary files left: %v", left)
				}
				r, err := dir.Open("packets/big.age")
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(r)
				r.Close()
				if !bytes.Equal(got, big) {
					t.Fatal("Open reads back other bytes")
				}
			}
		})
	}
}

// Relink publishes a file of the previous output again only if it still
// has the digest recorded.
func TestRelink(t *testing.T) {
	final := filepath.Join(t.TempDir(), "out")
	d, err := NewDir(final)
	if err != nil {
		t.Fatal(err)
	}
	writeBuild(t, d, "packets/a.age", "index.html")
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	d, err = NewDir(final)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	if ok, err := d.Relink("packets/a.age", sha256.Sum256([]byte("other"))); ok || err != nil {
		t.Fatalf("Relink with another digest: %v %v, want false", ok, err)
	}
	if ok, err := d.Relink("packets/gone.age", sha256.Sum256(nil)); ok || err != nil {
		t.Fatalf("Relink of a missing file: %v %v, want false", ok, err)
	}
	if ok, err := d.Relink("packets/a.age", sha256.Sum256([]byte("packets/a.age"))); !ok || err != nil {
		t.Fatalf("Relink: %v %v, want true", ok, err)
	}
	if got, err := os.ReadFile(filepath.Join(d.tmp, "packets", "a.age")); err != nil || string(got) != "packets/a.age" {
		t.Fatalf("relinked file: %q %v", got, err)
	}
	if e := d.Entries(); len(e) != 1 || e[0].Path != "packets/a.age" {
		t.Fatalf("entries %+v", e)
	}
}

// parts yields data in parts of n bytes.
func parts(data []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(data) > 0 {
			k := min(n, len(data))
			if !yield(data[:k]) {
				return
			}
			data = data[k:]
		}
	}
}
