package manifest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/conclave-dev/conclave/internal/par"
)

// BundleName is the file name of the manifest's Sigstore bundle, next to
// it at the root of a site.
const BundleName = Name + ".sigstore.json"

// Problem is one way a folder differs from its manifest.
type Problem struct {
	Path   string // slash path in the folder, as the manifest would list it
	Reason string
}

func (p Problem) Error() string { return fmt.Sprintf("%s: %s", p.Path, p.Reason) }

// Problem reasons.
const (
	ReasonChanged    = "content does not match its SHA-256 digest in " + Name
	ReasonMissing    = "listed in " + Name + " but missing"
	ReasonUnlisted   = "not listed in " + Name
	ReasonFolder     = "folder not listed in " + Name + " (it holds no listed file)"
	ReasonNotFile    = "not a regular file"
	ReasonUnsafe     = "unsafe file name"
	ReasonUnreadable = "cannot be read"
)

// Check compares the folder dir with the manifest entries: every listed
// file must be there as a regular file with its digest; nothing else may
// be, but for the manifest and its bundle at the root. Symbolic links are
// never followed. It returns the problems sorted by path, and an error
// only when dir itself cannot be read.
func Check(dir string, entries []Entry) ([]Problem, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()

	listed := make(map[string]int, len(entries))
	needed := map[string]bool{} // folders that hold a listed file
	for i, e := range entries {
		listed[e.Path] = i
		for d := path.Dir(e.Path); d != "."; d = path.Dir(d) {
			if needed[d] {
				break
			}
			needed[d] = true
		}
	}

	var problems []Problem
	found := make([]bool, len(entries))
	var files []int // indexes of listed entries found as regular files
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			problems = append(problems, Problem{p, ReasonUnreadable + ": " + unwrapPath(err)})
			return nil
		}
		if p == "." {
			return nil
		}
		if CheckPath(p) != nil {
			problems = append(problems, Problem{fmt.Sprintf("%q", p), ReasonUnsafe})
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			if !needed[p] {
				problems = append(problems, Problem{p, ReasonFolder})
				return fs.SkipDir
			}
		case !d.Type().IsRegular():
			problems = append(problems, Problem{p, ReasonNotFile + " (" + kind(d.Type()) + ")"})
			if i, ok := listed[p]; ok {
				found[i] = true
			}
		default:
			i, ok := listed[p]
			if !ok {
				if p != Name && p != BundleName {
					problems = append(problems, Problem{p, ReasonUnlisted})
				}
				return nil
			}
			found[i] = true
			files = append(files, i)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, e := range entries {
		if !found[i] {
			problems = append(problems, Problem{e.Path, ReasonMissing})
		}
	}

	var mu sync.Mutex
	par.Do(len(files), 0, func(k int) {
		e := entries[files[k]]
		sum, err := Digest(root, e.Path)
		var p *Problem
		switch {
		case err != nil:
			p = &Problem{e.Path, err.Error()}
		case sum != e.Sum:
			p = &Problem{e.Path, ReasonChanged}
		}
		if p != nil {
			mu.Lock()
			problems = append(problems, *p)
			mu.Unlock()
		}
	})
	sort.Slice(problems, func(i, j int) bool {
		if problems[i].Path != problems[j].Path {
			return problems[i].Path < problems[j].Path
		}
		return problems[i].Reason < problems[j].Reason
	})
	return problems, nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// Digest hashes the regular file p in root, refusing a symbolic link or
// anything else put in its place: readers check each file they use against
// a verified manifest with it.
func Digest(root *os.Root, p string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	f, err := root.Open(p)
	if err != nil {
		return sum, errors.New(ReasonUnreadable + ": " + unwrapPath(err))
	}
	defer f.Close()
	before, err := root.Lstat(p)
	if err != nil {
		return sum, errors.New(ReasonUnreadable + ": " + unwrapPath(err))
	}
	info, err := f.Stat()
	if err != nil {
		return sum, errors.New(ReasonUnreadable + ": " + unwrapPath(err))
	}
	if !before.Mode().IsRegular() || !os.SameFile(before, info) {
		return sum, errors.New(ReasonNotFile)
	}
	h := sha256.New()
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	if _, err := io.CopyBuffer(h, f, *buf); err != nil {
		return sum, errors.New(ReasonUnreadable + ": " + unwrapPath(err))
	}
	h.Sum(sum[:0])
	return sum, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

// unwrapPath drops the path an *fs.PathError repeats: problems already
// name the file.
func unwrapPath(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return strings.TrimSpace(err.Error())
}
