package open

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// FuzzHostileSite gives the reader a copy of a real site, through a fake
// file system, in which one file (the manifest, a keyring, a packet, a
// page, anything) is replaced by a hostile one: a link, a named pipe, a
// device or a folder (as Lstat says, or only once opened: a file replaced
// in between), with a size that is huge or wrong, and content that is
// longer than its size says, or changed. The reader reads the manifest as
// verify does, then writes the readable copy, verified or not. It must
// never panic, never read a file that is not regular, never use a byte that
// does not match the verified manifest, stay within its limits' memory,
// and name the hostile file when it is one the reader reads.
func FuzzHostileSite(f *testing.F) {
	p := newPeople(f, "alice", "bob", "carol")
	site := testSite(f, p)
	files := testtool.Tree(f, site)
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range files {
			if !yield(name) {
				return
			}
		}
	})
	ids := parse(f, p["alice"].Identity)
	index := func(name string) uint16 { return uint16(slices.Index(names, name)) }
	page := "briefings/x/index.html"
	pk := packets(files[page])
	ring := keyrings(f, site)[0]
	ringRel := format.KeyringDir + "/" + filepath.Base(ring)
	for _, s := range []struct {
		which          uint16
		mode, openMode uint8
		size, length   int64
		verified       bool
		content        []byte
	}{
		{index(manifest.Name), 0, 0, 8 << 30, 0, true, nil},                           // a sparse 8 GiB manifest
		{index(manifest.Name), 1, 0, 9, 9, true, []byte("/dev/zero")},                 // a link
		{index(manifest.Name), 2, 0, 0, 0, true, nil},                                 // a named pipe
		{index(pk[0]), 0, 0, 3 << 30, 0, true, nil},                                   // a 3 GiB packet
		{index(pk[0]), 0, 0, 100, -1, false, []byte("INJECTED-")},                     // a packet that grows
		{index(pk[1]), 2, 0, 0, 0, true, nil},                                         // a packet that is a pipe
		{index(pk[0]), 0, 2, 100, 100, true, nil},                                     // replaced by a pipe once opened
		{index(ringRel), 0, 0, 3 << 30, 0, false, nil},                                // a huge keyring
		{index(ringRel), 3, 0, 0, 0, true, nil},                                       // a device
		{index(page), 0, 0, 10, 10, true, []byte("INJECTED-<section class=\"sealed")}, // a changed page
		{index(page), 1, 0, 0, 0, false, nil},                                         // a link
		{index("index.html"), 4, 0, 0, 0, true, nil},                                  // a folder
		{index("css/conclave.css"), 0, 0, 1, 5000, true, []byte("INJECTED-")},         // longer than it says
	} {
		f.Add(s.which, s.mode, s.openMode, s.size, s.length, s.verified, s.content)
	}
	modes := []fs.FileMode{0o644, fs.ModeSymlink, fs.ModeNamedPipe, fs.ModeDevice, fs.ModeDir, fs.ModeSocket}
	f.Fuzz(func(t *testing.T, which uint16, mode, openMode uint8, size, length int64, verified bool, content []byte) {
		target := names[int(which)%len(names)]
		hostile := &siteFile{mode: modes[int(mode)%len(modes)], size: size}
		if openMode != 0 {
			hostile.openMode = modes[int(openMode)%len(modes)]
		}
		// Content: the fuzzed bytes repeated to length bytes (at most 1
		// MiB), or, for a negative length, one byte more than a packet
		// or page may hold.
		switch {
		case length < 0:
			length = manifest.MaxPacket + 1
		case length > 1<<20:
			length = 1 << 20
		}
		hostile.content = content
		hostile.length = length
		fsys := newSiteFS(files)
		fsys.files[target] = hostile
		regular := hostile.mode.IsRegular() && (hostile.openMode == 0 || hostile.openMode.IsRegular())

		var problems []*diag.Warning
		var readErr, copyErr error
		out := filepath.Join(t.TempDir(), "out")
		n := measure(t, func() {
			// The manifest, as verify reads it before its signature is
			// checked; here, its entries are the verified sums.
			var sums Sums
			if verified {
				// Hashed as a stream, then read whole (once its digest
				// would have been checked): the same bytes.
				sum, err := manifest.HashFile(fsys, manifest.Name, manifest.ManifestLimit)
				if err != nil {
					readErr = err
					return
				}
				data, read, err := manifest.ReadFile(fsys, manifest.Name, manifest.ManifestLimit)
				if err == nil && read != sum {
					err = errors.New("read other bytes than it hashed")
				}
				if err != nil {
					readErr = err
					return
				}
				entries, err := manifest.Parse(manifest.Name, data)
				if err != nil {
					readErr = err
					return
				}
				sums = VerifiedSums(entries)
			}
			r, err := newReader("site", fsys, ids, sums)
			if err != nil {
				readErr = err
				return
			}
			rep, err := r.writeCopy(context.Background(), out)
			var inc *IncompleteError
			if err != nil && !errors.As(err, &inc) {
				copyErr = err
				return
			}
			problems = rep.Problems
		})
		if copyErr != nil {
			t.Fatalf("writing the copy: %v", copyErr)
		}
		var opened map[string][]byte
		if readErr == nil {
			opened = testtool.Tree(t, out)
		}
		if n > 512<<20 {
			t.Errorf("%d MiB allocated", n>>20)
		}
		if reads := hostile.reads; !regular && reads > 0 {
			t.Fatalf("read %s, which is not a regular file", target)
		}
		// Nothing that fails the verified manifest is ever used.
		if verified {
			for name, data := range opened {
				if bytes.Contains(data, []byte("INJECTED-")) {
					t.Errorf("%s holds bytes that do not match the verified manifest", name)
				}
			}
		}
		if readErr != nil {
			return
		}
		// A page or another copied file that is not regular is named.
		copied := !strings.HasPrefix(target, ".") && !strings.HasPrefix(target, format.PacketDir+"/") && !strings.HasPrefix(target, "SHA256SUMS")
		if copied && !regular && !slices.ContainsFunc(problems, func(w *diag.Warning) bool { return w.File == filepath.Join("site", target) }) {
			t.Errorf("%s, not a regular file, is not named in the problems: %v", target, problems)
		}
		if copied && !regular {
			if _, ok := opened[target]; ok {
				t.Errorf("%s, not a regular file, was copied", target)
			}
		}
		// So is a keyring.
		if path.Dir(target) == format.KeyringDir && !regular && !slices.ContainsFunc(problems, func(w *diag.Warning) bool { return w.File == filepath.Join("site", target) }) {
			t.Errorf("keyring %s, not a regular file, is not named in the problems: %v", target, problems)
		}
	})
}

// siteFS is a site in memory, one of whose files may be hostile.
type siteFS struct {
	files map[string]*siteFile
	dirs  map[string][]string // folder → the names in it, sorted
}

type siteFile struct {
	mode     fs.FileMode
	openMode fs.FileMode // what Stat says once opened, if set
	size     int64
	content  []byte // repeated to length bytes
	length   int64
	reads    int
}

func newSiteFS(files map[string][]byte) *siteFS {
	s := &siteFS{files: map[string]*siteFile{}, dirs: map[string][]string{}}
	for name, data := range files {
		s.files[name] = &siteFile{mode: 0o644, size: int64(len(data)), content: data, length: int64(len(data))}
		for d, child := path.Dir(name), path.Base(name); ; d, child = path.Dir(d), path.Base(d) {
			if !slices.Contains(s.dirs[d], child) {
				s.dirs[d] = append(s.dirs[d], child)
			}
			if d == "." {
				break
			}
		}
	}
	for _, names := range s.dirs {
		slices.Sort(names)
	}
	return s
}

func (s *siteFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if f, ok := s.files[name]; ok {
		return &openSiteFile{name: name, f: f}, nil
	}
	if _, ok := s.dirs[name]; ok {
		return &openSiteDir{s: s, name: name}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func (s *siteFS) Lstat(name string) (fs.FileInfo, error) {
	if f, ok := s.files[name]; ok {
		return siteInfo{path.Base(name), f.mode, f.size}, nil
	}
	if _, ok := s.dirs[name]; ok {
		return siteInfo{path.Base(name), fs.ModeDir | 0o755, 0}, nil
	}
	return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
}

func (s *siteFS) ReadLink(name string) (string, error) {
	return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
}

type openSiteFile struct {
	name string
	f    *siteFile
	off  int64
}

func (o *openSiteFile) Stat() (fs.FileInfo, error) {
	mode := o.f.mode
	if o.f.openMode != 0 {
		mode = o.f.openMode
	}
	return siteInfo{path.Base(o.name), mode, o.f.size}, nil
}

func (o *openSiteFile) Read(p []byte) (int, error) {
	o.f.reads++
	if o.off >= o.f.length || len(o.f.content) == 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), o.f.length-o.off))
	for i := 0; i < n; {
		i += copy(p[i:n], o.f.content[(o.off+int64(i))%int64(len(o.f.content)):])
	}
	o.off += int64(n)
	return n, nil
}

func (o *openSiteFile) Close() error { return nil }

type openSiteDir struct {
	s    *siteFS
	name string
	done bool
}

func (d *openSiteDir) Stat() (fs.FileInfo, error) {
	return siteInfo{path.Base(d.name), fs.ModeDir | 0o755, 0}, nil
}
func (d *openSiteDir) Read([]byte) (int, error) { return 0, errors.New("is a folder") }
func (d *openSiteDir) Close() error             { return nil }

func (d *openSiteDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if d.done {
		return nil, io.EOF
	}
	d.done = true
	var out []fs.DirEntry
	for _, child := range d.s.dirs[d.name] {
		p := path.Join(d.name, child)
		info, _ := d.s.Lstat(p)
		out = append(out, fs.FileInfoToDirEntry(info))
	}
	return out, nil
}

type siteInfo struct {
	name string
	mode fs.FileMode
	size int64
}

func (i siteInfo) Name() string       { return i.name }
func (i siteInfo) Size() int64        { return i.size }
func (i siteInfo) Mode() fs.FileMode  { return i.mode }
func (i siteInfo) ModTime() time.Time { return time.Time{} }
func (i siteInfo) IsDir() bool        { return i.mode.IsDir() }
func (i siteInfo) Sys() any           { return nil }
