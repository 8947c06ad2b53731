package pull

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/par"
)

// view is what the reader sees of a readable copy: each file, by slash
// path, as a digest of what it shows and of the passages it opens.
type view map[string]*seen

// seen is one file of a view.
type seen struct {
	sum      [sha256.Size]byte
	passages map[[sha256.Size]byte]int // each passage opened, by digest: how many times
}

// packetAttr starts a placeholder's packet attribute. A build may encrypt
// a passage anew, naming a new packet for the same text: what the reader
// sees is compared without the attribute's value.
var packetAttr = []byte(" " + format.AttrPacket + `="`)

// Where an opened passage starts (conclave open makes a placeholder whose
// passage it opened an element of class format.ClassUnsealed), and the
// tags that nest in it.
var (
	openedStart = []byte("<" + format.PlaceholderElement + ` class="` + format.ClassUnsealed)
	elemStart   = []byte("<" + format.PlaceholderElement)
	elemEnd     = []byte(format.PlaceholderEnd)
)

// maxViewFile bounds what is read of one file of a readable copy: a page
// with its passages opened is at most 256 MiB (conclave open's bound).
var maxViewFile = manifest.Limit{Bytes: 1 << 30, What: "a file of a readable copy"}

// readView reads the readable copy in dir; no copy is an empty view. The
// copy's own notes at its root (.gitignore, its marker) are left out.
//
// The copy is the reader's own, written by conclave open in a private
// folder: it is read by path (through an [os.Root], a 5,000-page copy took
// twice the system calls), but no link is followed and only regular files
// are read ([manifest.OpenFile]).
func readView(dir string) (view, error) {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return view{}, nil
	}
	fsys := os.DirFS(dir)
	var paths []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case p == ".":
		case p == format.SearchDir && d.IsDir():
			// The search index changes with every release that
			// changes text: it is no page or attachment to report.
			return fs.SkipDir
		case !strings.Contains(p, "/") && strings.HasPrefix(p, "."):
			if d.IsDir() {
				return fs.SkipDir
			}
		case d.Type().IsRegular():
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	v := make(view, len(paths))
	var mu sync.Mutex
	errs := par.Each(len(paths), par.IO(), func(i int) error {
		s, err := readSeen(fsys, paths[i])
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(dir, filepath.FromSlash(paths[i])), err)
		}
		mu.Lock()
		v[paths[i]] = s
		mu.Unlock()
		return nil
	})
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return v, nil
}

// readSeen reads one file of a readable copy: a page as the reader sees it
// and the passages it opens, any other file by its digest.
func readSeen(fsys fs.FS, p string) (*seen, error) {
	f, info, err := manifest.OpenFile(fsys, p, maxViewFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := io.LimitReader(f, maxViewFile.Bytes)
	if !strings.HasSuffix(p, ".html") {
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			return nil, err
		}
		s := &seen{}
		h.Sum(s.sum[:0])
		return s, nil
	}
	var buf bytes.Buffer
	buf.Grow(int(info.Size()) + bytes.MinRead) // read in one go
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	data := withoutPackets(buf.Bytes())
	s := &seen{sum: sha256.Sum256(data)}
	for rest := data; ; {
		i := bytes.Index(rest, openedStart)
		if i < 0 {
			break
		}
		rest = rest[i:]
		if s.passages == nil {
			s.passages = map[[sha256.Size]byte]int{}
		}
		s.passages[sha256.Sum256(rest[:elementEnd(rest)])]++
		rest = rest[len(openedStart):] // nested passages are passages too
	}
	return s, nil
}

// withoutPackets returns page with the value of every packet attribute
// left out.
func withoutPackets(page []byte) []byte {
	i := bytes.Index(page, packetAttr)
	if i < 0 {
		return page
	}
	out := make([]byte, 0, len(page))
	for i >= 0 {
		i += len(packetAttr)
		out = append(out, page[:i]...)
		page = page[i:]
		if end := bytes.IndexByte(page, '"'); end >= 0 {
			page = page[end:]
		}
		i = bytes.Index(page, packetAttr)
	}
	return append(out, page...)
}

// elementEnd returns where the element that b starts with ends, nested
// elements of its kind included; all of b if it does not end.
func elementEnd(b []byte) int {
	depth, at := 0, 0
	for {
		i := bytes.Index(b[at:], elemStart)
		j := bytes.Index(b[at:], elemEnd)
		switch {
		case j < 0:
			return len(b)
		case i >= 0 && i < j:
			depth++
			at += i + len(elemStart)
		default:
			depth--
			at += j + len(elemEnd)
			if depth == 0 {
				return at
			}
		}
	}
}

// changes is what is new, changed and removed between two views.
type changes struct{ added, changed, removed []Change }

// viewChanges compares the readable copy the reader had with the new one.
// release.json, the release's time, is no news for the reader: the report
// has it apart ([Report.Release]).
func viewChanges(before, after view) changes {
	var c changes
	for _, p := range slices.Sorted(maps.Keys(after)) {
		a, b := after[p], before[p]
		switch {
		case p == format.ReleaseFile:
		case b == nil:
			c.added = append(c.added, Change{Path: p, Passages: newPassages(a.passages, nil)})
		case a.sum != b.sum:
			c.changed = append(c.changed, Change{Path: p, Passages: newPassages(a.passages, b.passages)})
		}
	}
	for _, p := range slices.Sorted(maps.Keys(before)) {
		if after[p] == nil && p != format.ReleaseFile {
			c.removed = append(c.removed, Change{Path: p})
		}
	}
	return c
}

// newPassages counts the passages of now that were not in before.
func newPassages(now, before map[[sha256.Size]byte]int) int {
	n := 0
	for sum, k := range now {
		n += max(0, k-before[sum])
	}
	return n
}

// siteChanges compares two manifests, for a pull without identities: the
// files of the site outside packets/ and search/ (the index, which
// changes with the text), by digest, but release.json.
func siteChanges(old, cur []manifest.Entry) changes {
	skip := func(p string) bool {
		return strings.HasPrefix(p, format.PacketDir+"/") || strings.HasPrefix(p, format.SearchDir+"/") || p == format.ReleaseFile
	}
	before := map[string][sha256.Size]byte{}
	for _, e := range old {
		before[e.Path] = e.Sum
	}
	var c changes
	now := map[string]bool{}
	for _, e := range cur {
		if skip(e.Path) {
			continue
		}
		now[e.Path] = true
		sum, ok := before[e.Path]
		switch {
		case !ok:
			c.added = append(c.added, Change{Path: e.Path})
		case sum != e.Sum:
			c.changed = append(c.changed, Change{Path: e.Path})
		}
	}
	for _, e := range old {
		if !skip(e.Path) && !now[e.Path] {
			c.removed = append(c.removed, Change{Path: e.Path})
		}
	}
	return c
}

// setChanges puts c in the report, as lists that are never null.
func (r *Report) setChanges(c changes) {
	orEmpty := func(l []Change) []Change {
		if l == nil {
			return []Change{}
		}
		return l
	}
	r.New, r.Changed, r.Removed = orEmpty(c.added), orEmpty(c.changed), orEmpty(c.removed)
}
