package output

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/par"
)

// Dir writes into a fresh temporary directory beside the final one. Commit
// swaps it into place; until then, and forever if the build fails, the
// previous output is untouched. Hidden top-level entries of the previous
// output (".git" of a gh-pages worktree, ".nojekyll") are moved into the
// new build, unless it wrote an entry of the same name; they are not in
// its SHA256SUMS.
type Dir struct {
	ledger
	final    string
	tmp      string
	dirs     sync.Map // created subfolders
	stranded bool     // tmp holds entries of the previous output
	// previous are the digests of the previous build's files, as its
	// SHA256SUMS lists them (see keepSame).
	previous map[string][sha256.Size]byte
	promised sync.Map // files whose folders MakeFolder made

	// Files written under the slash folder held are kept in memory, in
	// the ledger, up to heldBudget bytes in all, until Order writes them
	// (see Hold).
	held       string // and heldPrefix, the same with "/" after it
	heldPrefix string
	heldBudget int64
	heldSize   atomic.Int64
	ordered    bool // Order wrote the held files
	// orderMu is held by Order while it remakes its folder: reads and
	// writes of files in the folder Hold names wait for it (see inHeld).
	orderMu sync.RWMutex
}

// NewDir prepares a build of the directory final. It refuses to replace an
// existing non-empty directory that is not a previous build (see
// [CheckReplace]), so that a mistyped --out cannot delete someone's files.
func NewDir(final string) (*Dir, error) {
	r, err := CheckReplace(final)
	if err != nil {
		return nil, err
	}
	return r.NewDir()
}

// Replaceable is what [CheckReplace] found: a folder a build may replace.
// Its zero value names none.
type Replaceable struct {
	final string                       // absolute
	sums  map[string][sha256.Size]byte // the previous build's files and digests, as its SHA256SUMS lists them
}

// CheckReplace returns an error unless a build may replace the folder
// final: it does not exist, holds only hidden entries (a fresh gh-pages
// worktree's .git, which Commit keeps), or is a previous build (see
// [checkPrevious]). It only reads, and may run beside other work: a build
// checks its output while it loads the site. It reads every folder of a
// previous build, which takes a while for a large one.
func CheckReplace(final string) (Replaceable, error) {
	final, err := filepath.Abs(final)
	if err != nil {
		return Replaceable{}, err
	}
	info, err := os.Lstat(final)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return Replaceable{}, err
	case !info.IsDir():
		return Replaceable{}, fmt.Errorf("output %s exists and is not a folder", final)
	default:
		entries, err := os.ReadDir(final)
		if err != nil {
			return Replaceable{}, err
		}
		if slices.ContainsFunc(entries, func(e os.DirEntry) bool { return !hidden(e.Name()) }) {
			sums, err := checkPrevious(final, entries)
			if err != nil {
				return Replaceable{}, err
			}
			return Replaceable{final: final, sums: sums}, nil
		}
	}
	return Replaceable{final: final}, nil
}

// NewDir prepares a build of the folder r names, in a temporary folder
// made beside it.
func (r Replaceable) NewDir() (*Dir, error) {
	if r.final == "" {
		return nil, errors.New("output: no folder checked (see CheckReplace)")
	}
	parent := filepath.Dir(r.final)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := mkdirUnique(filepath.Join(parent, "."+filepath.Base(r.final)+".tmp-"))
	if err != nil {
		return nil, err
	}
	return &Dir{final: r.final, tmp: tmp, previous: r.sums}, nil
}

// mkdirUnique creates a new folder named prefix and a random suffix, with
// mode 0o777 less the umask, as mkdir(1) would.
func mkdirUnique(prefix string) (string, error) {
	for range 100 {
		dir := prefix + strconv.FormatUint(rand.Uint64(), 36)
		err := os.Mkdir(dir, 0o777)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("cannot create a temporary folder %s…: every name tried exists", prefix)
}

// checkPrevious returns an error unless dir, which holds entries, is a
// previous build: its SHA256SUMS parses and lists every file in dir except
// itself, its signature and the hidden top-level entries that Commit keeps.
// Files are not hashed: being listed is enough to tell a build from a
// folder of someone's files that happens to hold a SHA256SUMS.
func checkPrevious(dir string, entries []os.DirEntry) (map[string][sha256.Size]byte, error) {
	refuse := func(why string) error {
		return fmt.Errorf("refusing to replace %s: %s, so it is not a previous conclave build (remove it or choose another --out)", dir, why)
	}
	i := slices.IndexFunc(entries, func(e os.DirEntry) bool { return e.Name() == manifest.Name })
	if i < 0 || !entries[i].Type().IsRegular() {
		return nil, refuse("it is not empty and holds no " + manifest.Name)
	}
	data, err := os.ReadFile(filepath.Join(dir, manifest.Name))
	if err != nil {
		return nil, err
	}
	list, err := manifest.Parse(manifest.Name, data)
	if err != nil {
		var errs diag.List
		if errors.As(err, &errs) {
			err = errs[0] // the first problem is enough
		}
		return nil, refuse(fmt.Sprintf("its %s is not one conclave writes (%v)", manifest.Name, err))
	}
	listed := make(map[string][sha256.Size]byte, len(list))
	for _, e := range list {
		listed[e.Path] = e.Sum
	}
	return listed, filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("refusing to replace %s: %w", dir, err)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".", rel == manifest.Name, rel == manifest.BundleName:
		case hidden(rel):
			if e.IsDir() {
				return filepath.SkipDir
			}
		case e.IsDir():
		default:
			if _, ok := listed[rel]; !ok {
				return refuse(rel + " is not listed in its " + manifest.Name)
			}
		}
		return nil
	})
}

// hidden reports whether the slash path rel is a hidden top-level entry
// (".git", ".nojekyll"), which Commit keeps and manifests leave out.
func hidden(rel string) bool {
	return strings.HasPrefix(rel, ".") && !strings.Contains(rel, "/")
}

// Path returns the final directory.
func (d *Dir) Path() string { return d.final }

// WriteFile writes data to p inside the temporary directory (or keeps a
// copy of it, if p is in the folder Hold names).
func (d *Dir) WriteFile(p string, data []byte) error {
	return d.write(p, data, sha256.Sum256(data), "", false)
}

// WriteOwned is WriteFile for data that no one changes once written: a
// held file is kept without a copy.
func (d *Dir) WriteOwned(p string, data []byte) error {
	return d.write(p, data, sha256.Sum256(data), "", true)
}

// Hold keeps every file written from now on in the folder dir (a slash
// path) and its subfolders in memory, up to budget bytes in all, instead
// of writing it: Order then writes each once, in name order. A file past
// the budget, or written as a stream, is written at once, and Order
// copies it. Held files are read back from memory.
func (d *Dir) Hold(dir string, budget int64) error {
	if err := manifest.CheckPath(dir); err != nil {
		return err
	}
	d.held, d.heldPrefix, d.heldBudget = dir, dir+"/", budget
	return nil
}

// Held returns the bytes kept for the file at p, which no one may change;
// nil if p is not held.
func (d *Dir) Held(p string) []byte {
	if !d.inHeld(p) {
		return nil // without the lock, which every file written would take
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.entries[p].data
}

// inHeld reports whether the slash path p is in the folder Hold names.
// Reading or writing such a file on disk takes d.orderMu for reading, so
// that Order, which remakes the folder, runs alone in it while the rest
// of the build goes on.
func (d *Dir) inHeld(p string) bool {
	return d.held != "" && strings.HasPrefix(p, d.heldPrefix)
}

// waitOrder takes d.orderMu for reading if p is in the folder Hold names
// (see inHeld), and returns what lets it go; nothing for another file.
func (d *Dir) waitOrder(p string) (done func()) {
	if !d.inHeld(p) {
		return func() {}
	}
	d.orderMu.RLock()
	return d.orderMu.RUnlock
}

// holds reports whether the file p of n bytes is to be kept in memory,
// and if so counts it against the budget. The caller holds d.orderMu.
func (d *Dir) holds(p string, n int) bool {
	if !d.inHeld(p) || d.ordered {
		return false
	}
	if d.heldSize.Add(int64(n)) <= d.heldBudget {
		return true
	}
	d.heldSize.Add(-int64(n))
	return false
}

// write claims p, whose data has the digest sum, and writes data there, or
// hard-links the file from when it may (see Reuse). A file Hold keeps is
// kept, a copy of data unless owned.
func (d *Dir) write(p string, data []byte, sum [sha256.Size]byte, from string, owned bool) error {
	defer d.waitOrder(p)()
	if d.holds(p, len(data)) {
		keep := data
		if !owned {
			keep = bytes.Clone(data)
		}
		if keep == nil {
			keep = []byte{} // held, though empty
		}
		err := d.claimData(p, data, sum, keep)
		if err != nil {
			d.heldSize.Add(-int64(len(data)))
		}
		return err
	}
	if err := d.claimSum(p, data, sum); err != nil {
		return err
	}
	full := filepath.Join(d.tmp, filepath.FromSlash(p))
	if err := d.mkdir(filepath.Dir(full)); err != nil {
		d.unclaim(p)
		return err
	}
	if from != "" {
		if info, err := os.Lstat(from); err == nil && info.Mode().IsRegular() && info.Size() == int64(len(data)) && links(info) == 1 {
			if os.Link(from, full) == nil {
				return nil
			}
		}
	} else if d.keepSame(p, full, data, sum) {
		return nil
	}
	if err := writeNew(full, data); err != nil {
		d.unclaim(p)
		return err
	}
	return nil
}

// MakeFolder makes the folder that is to hold the file p (a slash path),
// as writing p would, before p is written: see builder.pages. SetTimes
// fails if p is not written.
func (d *Dir) MakeFolder(p string) error {
	if err := manifest.CheckPath(p); err != nil {
		return err
	}
	if d.inHeld(p) {
		return fmt.Errorf("%s: in %s, whose folders Order makes", p, d.held)
	}
	d.promised.Store(p, true)
	return d.mkdir(filepath.Dir(filepath.Join(d.tmp, filepath.FromSlash(p))))
}

// keepSame hard-links the previous build's file at p to full, if it holds
// data (of digest sum) and is linked nowhere else, and reports whether it
// did. A file the build writes again as it was then keeps its inode and
// birth time: which files a build made anew, which a copy (cp -a orders
// by inode) or a file system's listing would show, then tells only which
// files changed since, as comparing two releases would; not, say, which
// restricted pages a build renders every time, such as one linking an
// attachment. Only files SHA256SUMS lists with that digest are read, and
// every byte is compared.
func (d *Dir) keepSame(p, full string, data []byte, sum [sha256.Size]byte) bool {
	if prev, ok := d.previous[p]; !ok || prev != sum {
		return false
	}
	from := filepath.Join(d.final, filepath.FromSlash(p))
	f, err := os.Open(from)
	if err != nil {
		return false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() || info.Size() != int64(len(data)) || links(info) != 1 {
		return false
	}
	old := make([]byte, len(data)+1) // one more: a file grown since reads more
	if n, err := io.ReadFull(f, old); err != io.ErrUnexpectedEOF || n != len(data) || !bytes.Equal(old[:n], data) {
		return false
	}
	if os.Link(from, full) != nil {
		return false
	}
	// The file linked is the file read, not one put in its place since.
	if linked, err := os.Lstat(full); err != nil || !os.SameFile(info, linked) {
		os.Remove(full)
		return false
	}
	return true
}

// mkdir creates dir and its missing parents inside the temporary folder,
// remembering what exists so that each folder costs one system call.
func (d *Dir) mkdir(dir string) error {
	if len(dir) <= len(d.tmp) {
		return nil // the temporary folder itself, which exists
	}
	if _, ok := d.dirs.Load(dir); ok {
		return nil
	}
	if err := d.mkdir(filepath.Dir(dir)); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	d.dirs.Store(dir, true)
	return nil
}

// Commit replaces the final directory with the new build. It first moves
// into the build the previous output's hidden top-level entries that the
// build did not write itself. On Linux the swap is one atomic exchange;
// elsewhere the old directory is moved aside first. If Commit fails, the
// previous output is as it was.
func (d *Dir) Commit() error {
	if d.held != "" && !d.ordered {
		return fmt.Errorf("the files held in %s were not written (see Dir.Order)", d.held)
	}
	if _, err := os.Lstat(d.final); errors.Is(err, os.ErrNotExist) {
		return os.Rename(d.tmp, d.final)
	}
	kept, err := d.keepHidden()
	if err == nil {
		var old string
		if old, err = d.swap(); err == nil {
			return removeTree(old)
		}
	}
	return errors.Join(err, d.giveBack(kept))
}

// SetTimes gives every file and folder of the new build the time t, as
// its modification and access time: the times a file system would give
// them tell the order the build wrote them in, which would tell (in a tar
// of the site, or in Last-Modified headers) which packet a page's passage
// holds nested, or which packets were written with which page. It comes
// after Order, whose files it dates.
func (d *Dir) SetTimes(t time.Time) error {
	// The files are those written: the ledger lists them, and the folders
	// that hold them, without reading a folder.
	d.mu.RLock()
	files := make([]string, 0, len(d.entries))
	for p := range d.entries {
		files = append(files, p)
	}
	var unwritten []string
	d.promised.Range(func(p, _ any) bool {
		if _, ok := d.entries[p.(string)]; !ok {
			unwritten = append(unwritten, p.(string))
		}
		return true
	})
	d.mu.RUnlock()
	if len(unwritten) > 0 {
		// An empty folder would be published, undated, and name a page.
		slices.Sort(unwritten)
		return fmt.Errorf("%s: its folder was made, but it was not written (a bug in conclave)", unwritten[0])
	}
	folders := map[string]bool{".": true}
	for _, p := range files {
		for dir := path.Dir(p); !folders[dir]; dir = path.Dir(dir) {
			folders[dir] = true
		}
	}
	full := func(p string) string { return filepath.Join(d.tmp, filepath.FromSlash(p)) }
	// A system call a file, on several goroutines.
	if errs := par.Each(len(files), par.IO(), func(i int) error { return os.Chtimes(full(files[i]), t, t) }); len(errs) > 0 {
		return errs[0]
	}
	// Folders last, deepest first: nothing changes them after.
	dirs := slices.SortedFunc(maps.Keys(folders), deeperFirst("/"))
	for _, dir := range dirs {
		if err := os.Chtimes(full(dir), t, t); err != nil {
			return err
		}
	}
	return nil
}

// Order makes the folder dir of the new build, and every folder in it,
// anew, its files written in name order. Many file systems (tmpfs,
// btrfs, XFS) list a folder in the order its entries were made, and so
// does a tar or a copy made from it; every file system numbers a file's
// inode, and dates its birth, when it is made, and a copy (cp -a sorts by
// inode) makes its files in that order. The order the build wrote
// packets in would tell which packet holds a passage nested in
// another's, which packets belong to one page, and which keyring is
// whose (keyrings are written in the order of the recipients' names).
//
// Each folder is made anew beside the old: in name order, its held files
// (see Hold) are written there for the first time, the files already
// written are copied, and its folders are moved in whole (deeper folders
// go first). It then takes the place of the old: new inodes and birth
// times, in name order. If dir is the folder Hold names, its files are no
// longer kept in memory after, and files written after are written at
// once.
//
// Order may run while other goroutines read and write the build's files:
// those in the folder Hold names wait until it is done, the others do
// not. It must not run beside anything else that changes dir.
func (d *Dir) Order(dir string) error {
	if err := manifest.CheckPath(dir); err != nil {
		return err
	}
	d.orderMu.Lock()
	defer d.orderMu.Unlock()
	top := filepath.Join(d.tmp, filepath.FromSlash(dir))
	// The held files, by folder, and every folder to make anew.
	held := map[string]map[string][]byte{}
	folders := map[string]bool{}
	if dir == d.held {
		d.mu.RLock()
		for p, w := range d.entries {
			if w.data != nil && strings.HasPrefix(p, d.heldPrefix) {
				full := filepath.Join(d.tmp, filepath.FromSlash(p))
				f := filepath.Dir(full)
				if held[f] == nil {
					held[f] = map[string][]byte{}
				}
				held[f][filepath.Base(full)] = w.data
				for ; len(f) >= len(top); f = filepath.Dir(f) {
					folders[f] = true
				}
			}
		}
		d.mu.RUnlock()
	}
	err := filepath.WalkDir(top, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.IsDir() {
			return err
		}
		folders[p] = true
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// Deeper folders first, so that each is moved into its parent made.
	dirs := slices.SortedFunc(maps.Keys(folders), deeperFirst(string(filepath.Separator)))
	for _, f := range dirs {
		if err := orderDir(f, held[f]); err != nil {
			return err
		}
	}
	if dir == d.held {
		d.mu.Lock()
		for p, w := range d.entries {
			if w.data != nil && strings.HasPrefix(p, d.heldPrefix) {
				w.data = nil
				d.entries[p] = w
			}
		}
		d.ordered = true
		d.mu.Unlock()
	}
	return nil
}

// deeperFirst orders paths whose folders are separated by sep deeper
// first, then by name.
func deeperFirst(sep string) func(a, b string) int {
	return func(a, b string) int {
		return cmp.Or(cmp.Compare(strings.Count(b, sep), strings.Count(a, sep)), strings.Compare(a, b))
	}
}

// orderDir remakes dir (or makes it, if it does not exist) with, in name
// order, the files of held written, its own files copied, and its
// folders moved in.
func orderDir(dir string, held map[string][]byte) error {
	entries, err := os.ReadDir(dir) // by name
	if errors.Is(err, fs.ErrNotExist) {
		err = os.MkdirAll(filepath.Dir(dir), 0o755)
	}
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries)+len(held))
	onDisk := make(map[string]fs.DirEntry, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
		onDisk[e.Name()] = e
	}
	for n := range held {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil
	}
	next := fmt.Sprintf("%s.order-%x", dir, rand.Uint64())
	if err := os.Mkdir(next, 0o755); err != nil {
		return err
	}
	for i, n := range names {
		if i > 0 && names[i-1] == n {
			return fmt.Errorf("%s: both held and written", filepath.Join(dir, n))
		}
		from, to := filepath.Join(dir, n), filepath.Join(next, n)
		switch e := onDisk[n]; {
		case e == nil:
			err = writeNew(to, held[n])
		case e.IsDir():
			err = os.Rename(from, to)
		case e.Type().IsRegular():
			err = copyNew(from, to)
		default:
			err = fmt.Errorf("%s: not a file or a folder", from)
		}
		if err != nil {
			return err
		}
	}
	// The old files go only now, all copied: a file system that gives a
	// new file the lowest free inode would otherwise number the copies
	// with the old files' numbers, in the order they were written. Until
	// then the folder takes twice the room of the files written to disk.
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(next, dir)
}

// copyNew copies the file from to the new file to (in the kernel, where
// it can: copy_file_range).
func copyNew(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// removeTree removes the folder dir and everything in it, as
// os.RemoveAll does, its top-level entries on several goroutines: a
// previous output of thousands of files is thousands of system calls.
func removeTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return os.RemoveAll(dir)
	}
	errs := par.Each(len(entries), par.IO(), func(i int) error {
		return os.RemoveAll(filepath.Join(dir, entries[i].Name()))
	})
	return errors.Join(append(errs, os.RemoveAll(dir))...)
}

// swap puts the new build in place of the previous one, and returns where
// the previous one now is.
func (d *Dir) swap() (string, error) {
	if err := exchange(d.tmp, d.final); err == nil {
		return d.tmp, nil
	}
	// No exchange on this file system: move the old build aside.
	old := d.tmp + ".old"
	if err := os.Rename(d.final, old); err != nil {
		return "", err
	}
	if err := os.Rename(d.tmp, d.final); err != nil {
		if err2 := os.Rename(old, d.final); err2 != nil {
			return "", fmt.Errorf("%w; the previous output is in %s", err, old)
		}
		return "", err
	}
	return old, nil
}

// keepHidden moves the previous output's hidden top-level entries (".git",
// ".nojekyll") that the new build did not write into the new build, and
// returns the names it moved, even if it fails.
func (d *Dir) keepHidden() ([]string, error) {
	entries, err := os.ReadDir(d.final)
	if err != nil {
		return nil, err
	}
	var moved []string
	for _, e := range entries {
		if !hidden(e.Name()) {
			continue
		}
		src, dst := filepath.Join(d.final, e.Name()), filepath.Join(d.tmp, e.Name())
		_, err := os.Lstat(dst)
		if err == nil {
			continue // the build wrote its own
		}
		if errors.Is(err, fs.ErrNotExist) {
			err = os.Rename(src, dst)
		}
		if err != nil {
			return moved, fmt.Errorf("keeping %s: %w", src, err)
		}
		moved = append(moved, e.Name())
	}
	return moved, nil
}

// giveBack moves the entries names that keepHidden moved back into the
// previous output. What it cannot move back stays in the temporary folder,
// which Abort then leaves in place.
func (d *Dir) giveBack(names []string) error {
	var errs []error
	for _, name := range names {
		if err := os.Rename(filepath.Join(d.tmp, name), filepath.Join(d.final, name)); err != nil {
			d.stranded = true
			errs = append(errs, fmt.Errorf("could not move %s back: it is in %s (%w)", filepath.Join(d.final, name), d.tmp, err))
		}
	}
	return errors.Join(errs...)
}

// Reuse publishes again the previous output's file at p, whose contents
// the caller read with ReadPrevious and whose digest sum it checked: it is
// claimed like a written file, then hard-linked into the new build instead
// of written, unless the file is linked elsewhere too, or links are not
// supported. A file Hold keeps is kept as data, which no one may change.
func (d *Dir) Reuse(p string, data []byte, sum [sha256.Size]byte) error {
	if err := manifest.CheckPath(p); err != nil {
		return err
	}
	return d.write(p, data, sum, filepath.Join(d.final, filepath.FromSlash(p)), true)
}

// ReadPrevious reads a file of the previous output, the one Commit
// replaces.
func (d *Dir) ReadPrevious(p string) ([]byte, error) {
	if err := manifest.CheckPath(p); err != nil {
		return nil, err
	}
	return readWhole(filepath.Join(d.final, filepath.FromSlash(p)))
}

// ReadFile reads back a file written since NewDir. The bytes of a held
// file are those kept, which the caller may not change.
func (d *Dir) ReadFile(p string) ([]byte, error) {
	if err := manifest.CheckPath(p); err != nil {
		return nil, err
	}
	if data := d.Held(p); data != nil {
		return data, nil
	}
	defer d.waitOrder(p)()
	if d.inHeld(p) {
		if data := d.Held(p); data != nil {
			return data, nil // Order has not started
		}
	}
	return readWhole(filepath.Join(d.tmp, filepath.FromSlash(p)))
}

// Abort removes the temporary directory; the previous output stays as it
// was. It leaves the folder if it holds entries Commit could not move back.
func (d *Dir) Abort() {
	if !d.stranded {
		os.RemoveAll(d.tmp)
	}
}
