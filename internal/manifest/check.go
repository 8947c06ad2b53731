package manifest

import (
	"container/heap"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/conclave-dev/conclave/internal/format"
)

// BundleName is the file name of the manifest's Sigstore bundle, next to
// it at the root of a site ([format.ManifestBundle]).
const BundleName = format.ManifestBundle

// Problem is one way a folder differs from its manifest.
type Problem struct {
	Path   string // slash path in the folder, as the manifest would list it
	Reason string
	// More is set only in the last problem of a check that found more
	// than [MaxProblems]: it counts the problems left out. Its Path is "."
	// (the folder checked) and its Reason says how many there were.
	More int
}

// MaxProblems is the most problems [CheckWith] reports: a hostile copy of
// a site can hold millions of unlisted files, or a manifest list millions
// of missing ones, and a check neither keeps nor reports a problem for
// each. It keeps the first MaxProblems in sorted order (by path, then
// reason), whatever order they were found in, and counts the others in one
// more problem ([Problem.More]).
const MaxProblems = 1000

// readBatch is how many entries of a folder are read at once: a folder of
// any size costs the memory of one batch.
const readBatch = 1024

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
// never followed. It returns the problems sorted by path, at most
// [MaxProblems] of them and then one counting the others, and an error
// only when dir itself cannot be read.
//
// Folders are read and their files hashed on several goroutines, each
// folder opened once: a file costs an open relative to its folder, its
// reads and a close.
func Check(dir string, entries []Entry) ([]Problem, error) {
	return CheckWith(dir, entries, CheckOptions{})
}

// CheckOptions change what [CheckWith] accepts.
type CheckOptions struct {
	// SizeLimit, if set, gives the most bytes the file at a slash path
	// may hold; a zero Limit allows any size. A larger file is reported
	// without being read. Readers pass [SizeLimit], their own limits, so
	// that a file they would refuse fails the check at once instead of
	// being hashed (a sparse 1 TiB file would take minutes).
	SizeLimit func(p string) Limit
}

// CheckWith is [Check] with options.
func CheckWith(dir string, entries []Entry, opt CheckOptions) ([]Problem, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	byPath := func(a, b Entry) int { return strings.Compare(a.Path, b.Path) }
	if !slices.IsSortedFunc(entries, byPath) {
		entries = slices.SortedFunc(slices.Values(entries), byPath)
	}
	c := &checker{root: root, entries: entries, opt: opt, found: make([]bool, len(entries))}
	if _, err := root.Stat("."); err != nil {
		return nil, err
	}

	// GOMAXPROCS workers take folders from a queue and put back the
	// subfolders they find. The queue is bounded: a worker that finds it
	// full checks the subfolder itself, at once, so that a folder of a
	// million subfolders costs neither a million goroutines (8 GB of
	// stacks: verify crashed) nor a million queued folders. That recursion
	// is no deeper than the listed paths ([MaxDepth]).
	q := &folderQueue{pending: 1, ready: make(chan struct{}, 1)}
	q.items = append(q.items, folder{rel: ".", d: root})
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				f, ok := q.take()
				if !ok {
					return
				}
				c.walk(q, f)
				q.finish()
			}
		})
	}
	wg.Wait()

	for i, e := range entries {
		if !c.found[i] {
			c.problems.add(Problem{Path: e.Path, Reason: ReasonMissing})
		}
	}
	problems := []Problem(c.problems.kept)
	sort.Slice(problems, func(i, j int) bool { return problemLess(problems[i], problems[j]) })
	if n := c.problems.more; n > 0 {
		problems = append(problems, Problem{Path: ".", Reason: fmt.Sprintf("%d more problems not listed (only the first %d are)", n, MaxProblems), More: n})
	}
	return problems, nil
}

func problemLess(a, b Problem) bool {
	if a.Path != b.Path {
		return a.Path < b.Path
	}
	return a.Reason < b.Reason
}

// problemSet keeps the MaxProblems least problems found and counts the
// others.
type problemSet struct {
	kept problemHeap
	more int
}

func (s *problemSet) add(p Problem) {
	switch {
	case len(s.kept) < MaxProblems:
		heap.Push(&s.kept, p)
	case problemLess(p, s.kept[0]):
		s.kept[0] = p
		heap.Fix(&s.kept, 0)
		s.more++
	default:
		s.more++
	}
}

// problemHeap is a heap of problems, the greatest first.
type problemHeap []Problem

func (h problemHeap) Len() int           { return len(h) }
func (h problemHeap) Less(i, j int) bool { return problemLess(h[j], h[i]) }
func (h problemHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *problemHeap) Push(x any)        { *h = append(*h, x.(Problem)) }
func (h *problemHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	*h = old[:len(old)-1]
	return p
}

// checker holds the state of one [Check].
type checker struct {
	root    *os.Root
	entries []Entry // sorted by path: looked up by binary search
	opt     CheckOptions

	open atomic.Int32 // folders opened ahead for their goroutines

	mu       sync.Mutex
	problems problemSet
	found    []bool
}

// folder is a folder to check: its path, and the folder itself if its
// parent opened it (nil: open it from the root).
type folder struct {
	rel string
	d   *os.Root
}

// maxOpenAhead bounds the folders opened by their parents while they wait
// for a goroutine, and so the file descriptors held.
const maxOpenAhead = 256

func (c *checker) problem(p, reason string) {
	c.mu.Lock()
	c.problems.add(Problem{Path: p, Reason: reason})
	c.mu.Unlock()
}

// maxQueued bounds the folders waiting in a check's queue.
const maxQueued = 4096

// folderQueue is the folders a check has yet to read, and how many are
// queued or being read: the check is over when none is.
type folderQueue struct {
	mu      sync.Mutex
	items   []folder
	pending int           // queued or being read
	ready   chan struct{} // signalled when items were added or pending fell to 0
}

// take returns a folder to check; false once none is left.
func (q *folderQueue) take() (folder, bool) {
	for {
		q.mu.Lock()
		if n := len(q.items); n > 0 {
			f := q.items[n-1]
			q.items = q.items[:n-1]
			if n > 1 {
				q.signal()
			}
			q.mu.Unlock()
			return f, true
		}
		if q.pending == 0 {
			q.signal()
			q.mu.Unlock()
			return folder{}, false
		}
		q.mu.Unlock()
		<-q.ready
	}
}

// put queues f unless the queue is full; false: the caller checks it.
func (q *folderQueue) put(f folder) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) >= maxQueued {
		return false
	}
	q.items = append(q.items, f)
	q.pending++
	q.signal()
	return true
}

// finish marks a folder taken from the queue as read.
func (q *folderQueue) finish() {
	q.mu.Lock()
	q.pending--
	if q.pending == 0 {
		q.signal()
	}
	q.mu.Unlock()
}

// signal wakes one waiting worker, if none is woken already.
func (q *folderQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// walk checks the folder f, queues its subfolders as it finds them, and
// checks at once those the queue has no room for.
func (c *checker) walk(q *folderQueue, f folder) {
	c.folder(f, func(sub folder) {
		if !q.put(sub) {
			c.walk(q, sub)
		}
	})
}

// folder checks the entries of a folder and hands each subfolder to
// check to subfolder as it finds it. It reads the folder [readBatch] names at a time, so that a
// folder of a million files costs no more memory than one of a thousand.
func (c *checker) folder(fo folder, subfolder func(folder)) {
	rel, d := fo.rel, fo.d
	if d == nil {
		var err error
		if d, err = c.root.OpenRoot(rel); err != nil {
			c.problem(rel, ReasonUnreadable+": "+unwrapPath(err))
			return
		}
	} else if rel != "." {
		c.open.Add(-1)
	}
	if rel != "." {
		defer d.Close()
	}
	f, err := d.Open(".")
	if err != nil {
		c.problem(rel, ReasonUnreadable+": "+unwrapPath(err))
		return
	}
	defer f.Close()
	for {
		names, err := f.Readdirnames(readBatch)
		for _, name := range names {
			if sub, ok := c.entry(d, rel, name); ok {
				subfolder(sub)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			c.problem(rel, ReasonUnreadable+": "+unwrapPath(err))
			break
		}
	}
}

// entry checks the entry name of the folder d at rel; it returns it as a
// subfolder to check if it is one.
//
// Folders are read by name alone (an entry's type would cost an lstat
// each in an [os.Root]): an entry is looked at only if it is listed, or
// a folder that holds listed files, or a problem that may be among the
// first [MaxProblems]. Any other entry is a problem past them, whatever
// it is, and is only counted: a million unlisted files cost no system
// call each.
func (c *checker) entry(d *os.Root, rel, name string) (sub folder, isSub bool) {
	p := name
	if rel != "." {
		p = rel + "/" + name
	}
	if CheckPath(p) != nil {
		c.problem(fmt.Sprintf("%q", p), ReasonUnsafe)
		return folder{}, false
	}
	i, isListed := c.listed(p)
	needed := !isListed && c.needed(p)
	if !isListed && !needed && p != Name && p != BundleName && c.skip(p) {
		return folder{}, false
	}
	info, err := d.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return folder{}, false // gone since the folder was read; missing if listed
	}
	if err != nil {
		c.problem(p, ReasonUnreadable+": "+unwrapPath(err))
		if isListed {
			c.setFound(i)
		}
		return folder{}, false
	}
	switch t := info.Mode().Type(); {
	case t.IsDir():
		if !needed {
			c.problem(p, ReasonFolder)
			return folder{}, false
		}
		sub := folder{rel: p}
		if c.open.Add(1) <= maxOpenAhead {
			sub.d, _ = d.OpenRoot(name) // on failure, opened again from the root and reported
		}
		if sub.d == nil {
			c.open.Add(-1)
		}
		return sub, true
	case !t.IsRegular():
		c.problem(p, ReasonNotFile+" ("+Kind(t)+")")
		if isListed {
			c.setFound(i)
		}
	case !isListed:
		if p != Name && p != BundleName {
			c.problem(p, ReasonUnlisted)
		}
	default:
		c.setFound(i)
		var limit Limit
		if c.opt.SizeLimit != nil {
			limit = c.opt.SizeLimit(p)
		}
		sum, err := digest(d, name, limit)
		switch {
		case err != nil:
			c.problem(p, err.Error())
		case sum != c.entries[i].Sum:
			c.problem(p, ReasonChanged)
		}
	}
	return folder{}, false
}

// listed returns the index of the entry at p, if there is one.
func (c *checker) listed(p string) (int, bool) {
	return slices.BinarySearchFunc(c.entries, p, func(e Entry, p string) int { return strings.Compare(e.Path, p) })
}

// needed reports whether the folder p holds a listed file: the first entry
// not before p+"/" is under it. No map of folders is kept, so that a
// manifest costs the same memory however deep its paths go.
func (c *checker) needed(p string) bool {
	dir := p + "/"
	i, _ := slices.BinarySearchFunc(c.entries, dir, func(e Entry, p string) int { return strings.Compare(e.Path, p) })
	return i < len(c.entries) && strings.HasPrefix(c.entries[i].Path, dir)
}

// skip reports whether a problem at p, whatever its reason, would not be
// among the first MaxProblems, and if so counts it. Those kept only get
// less, so a problem skipped would never have been kept.
func (c *checker) skip(p string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.problems.kept) < MaxProblems || p <= c.problems.kept[0].Path {
		return false
	}
	c.problems.more++
	return true
}

func (c *checker) setFound(i int) {
	c.mu.Lock()
	c.found[i] = true
	c.mu.Unlock()
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// digest hashes the file name in the folder d, which must be a regular
// file of at most limit bytes (if limit is not zero). It opens without
// blocking, so that a named pipe put in the file's place since the folder
// was read cannot stall the check, and it reads no more than the limit.
func digest(d *os.Root, name string, limit Limit) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	f, err := d.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return sum, errors.New(ReasonUnreadable + ": " + unwrapPath(err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return sum, errors.New(ReasonNotFile)
	}
	var r io.Reader = f
	if limit.Bytes > 0 {
		if info.Size() > limit.Bytes {
			return sum, &TooLargeError{Size: info.Size(), Limit: limit}
		}
		r = io.LimitReader(f, limit.Bytes+1)
	}
	var n int64
	// Not io.CopyBuffer: *os.File's WriteTo would be used, which
	// allocates a buffer of its own for every file.
	h := sha256.New()
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	for {
		m, err := r.Read(*buf)
		h.Write((*buf)[:m])
		n += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return sum, errors.New(ReasonUnreadable + ": " + unwrapPath(err))
		}
	}
	if limit.Bytes > 0 && n > limit.Bytes {
		return sum, &TooLargeError{Size: n, Limit: limit, Grew: true}
	}
	h.Sum(sum[:0])
	return sum, nil
}

// Kind names a file type that is not a regular file's: "a symbolic
// link", "a named pipe", "a folder", ….
func Kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a folder"
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
