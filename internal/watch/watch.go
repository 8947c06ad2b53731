// Package watch tells a preview server which of a site's source files changed.
//
// A [Watcher] watches some paths of a site (its source folders, recursively,
// and single files such as conclave.toml) with the operating system's file
// notifications, and delivers the changed paths in batches: a burst of
// events (a save, a checkout, a folder copied in) arrives as one batch, or a
// few, after the burst goes quiet.
//
// # What is reported
//
// Every file or folder under a watched path that is created, written,
// removed or renamed (under its old and its new name), as a slash path
// relative to the site's root. A folder that appears (created, or moved in
// with files in it) is watched at once, and the files already inside it are
// reported, so nothing written into it before its watch was set up is lost.
// Attribute-only changes (chmod, or touch on an existing file) are not
// reported.
//
// Ignored entirely, neither reported nor watched: any path with a part that
// starts with "." (.git, .conclave, vim's .x.md.swp, emacs's .#x.md lock
// links), editors' backups and autosaves (x.md~, #x.md#), and vim's 4913
// probe file.
//
// Symbolic links are reported as paths; they are never followed.
//
// # Errors
//
// When the operating system drops events (its queue overflowed, see
// [ErrOverflow]), the watcher rescans its folders to watch any new one, but
// changes were lost: the safe answer is a full rebuild.
package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Default timings of [Options].
const (
	DefaultQuiet    = 10 * time.Millisecond
	DefaultMaxDelay = 200 * time.Millisecond
)

// maxQueuedErrors bounds the errors kept for a reader of Errors that does
// not read them; later ones are dropped.
const maxQueuedErrors = 64

// ErrOverflow is in the chain of the error sent on [Watcher.Errors] when the
// operating system dropped events (on Linux, more than
// /proc/sys/fs/inotify/max_queued_events were waiting). Some changes were
// not reported: rebuild everything.
var ErrOverflow = errors.New("watch: events were lost; rebuild everything")

// Options says what a [Watcher] watches and how it batches events.
type Options struct {
	// Paths are the slash paths, relative to the root, to watch: folders
	// are watched recursively (folders created later included), files alone
	// (e.g. "conclave.toml"). A path that does not exist yet is watched once
	// it appears (e.g. a site that gets a themes/ folder later).
	Paths []string
	// Quiet is how long the watcher waits after the last event before it
	// delivers a batch (default 10 ms: an editor's save, even by rename,
	// is over well within it); MaxDelay bounds the wait from the first
	// event of a batch (default 200 ms), so a stream of events still
	// delivers.
	Quiet, MaxDelay time.Duration
}

// Batch is a set of changes delivered together.
type Batch struct {
	Paths []string  // slash paths relative to the root, sorted, unique: every file or folder created, written, removed or renamed (old and new names)
	First time.Time // when the first event of the batch arrived
}

// Watcher watches a site's source paths. Create one with [New]; read
// [Watcher.Batches] (and [Watcher.Errors]) until [Watcher.Close].
type Watcher struct {
	root            string   // absolute, in the OS's form
	paths           []string // cleaned slash paths relative to root
	quiet, maxDelay time.Duration

	fsw     *fsnotify.Watcher
	batches chan Batch
	errs    chan error
	stop    chan struct{} // closed by Close
	done    chan struct{} // closed when the loop has returned

	closeOnce sync.Once
	closeErr  error

	// Owned by the loop goroutine once New has returned.
	watched map[string]fs.FileInfo // each watched folder, by slash path relative to root
	pending map[string]struct{}    // paths of the batch being gathered
	first   time.Time              // when its first event arrived
	touched bool                   // the event being handled added to it
	errq    []error                // errors waiting for a reader
}

// New starts watching opt.Paths under root. Changes come on
// [Watcher.Batches]; the caller must Close the watcher.
//
// It returns an error if root is not a folder, a path is not a clean
// relative path inside root (or is one of the ignored names), or a folder
// cannot be watched (on Linux, a low /proc/sys/fs/inotify/max_user_watches
// shows up here).
func New(root string, opt Options) (*Watcher, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("watch: %s is not a folder", root)
	}
	paths, err := cleanPaths(opt.Paths)
	if err != nil {
		return nil, err
	}
	quiet, maxDelay := opt.Quiet, opt.MaxDelay
	if quiet <= 0 {
		quiet = DefaultQuiet
	}
	if maxDelay <= 0 {
		maxDelay = DefaultMaxDelay
	}
	maxDelay = max(maxDelay, quiet)

	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	w := &Watcher{
		root:     abs,
		paths:    paths,
		quiet:    quiet,
		maxDelay: maxDelay,
		fsw:      fsw,
		batches:  make(chan Batch),
		errs:     make(chan error),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		watched:  make(map[string]fs.FileInfo),
		pending:  make(map[string]struct{}),
	}
	if err := w.addTree(".", false); err != nil {
		fsw.Close()
		return nil, err
	}
	go w.loop()
	return w, nil
}

// Batches delivers the batches of changed paths. It is closed by Close.
// While no one reads it, changes go on being gathered into the next batch.
func (w *Watcher) Batches() <-chan Batch { return w.batches }

// Errors delivers the errors of the notification system, such as an
// overflow of its event queue ([ErrOverflow]: changes were lost, a full
// rebuild is the safe answer), and folders that could not be watched. It is
// closed by Close. A watcher whose errors are not read keeps going; it
// keeps only the first few unread errors.
func (w *Watcher) Errors() <-chan error { return w.errs }

// Close stops watching and closes the channels of Batches and Errors; a
// batch not yet delivered is dropped. It is safe to call more than once.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() {
		close(w.stop)
		<-w.done
		w.closeErr = w.fsw.Close()
	})
	return w.closeErr
}

// loop gathers events into batches and delivers them, without ever waiting
// on a reader of Batches or Errors while events come in.
func (w *Watcher) loop() {
	defer close(w.done)
	defer close(w.errs)
	defer close(w.batches)

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()

	var ready *Batch // a batch complete but not taken yet
	events, fserrs := w.fsw.Events, w.fsw.Errors
	for {
		var out chan<- Batch
		var next Batch
		if ready != nil {
			out, next = w.batches, *ready
		}
		var errOut chan<- error
		var nextErr error
		if len(w.errq) > 0 {
			errOut, nextErr = w.errs, w.errq[0]
		}

		select {
		case <-w.stop:
			return

		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			now := time.Now()
			w.touched = false
			w.handle(ev)
			if w.touched {
				if w.first.IsZero() {
					w.first = now
				}
				timer.Reset(min(w.quiet, w.first.Add(w.maxDelay).Sub(now)))
			}

		case err, ok := <-fserrs:
			if !ok {
				fserrs = nil
				continue
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.rescan()
				w.pushErr(fmt.Errorf("%w: %w", ErrOverflow, err))
			} else {
				w.pushErr(fmt.Errorf("watch: %w", err))
			}

		case <-timer.C:
			if len(w.pending) == 0 {
				continue
			}
			if ready == nil {
				ready = &Batch{First: w.first}
			}
			for p := range w.pending {
				ready.Paths = append(ready.Paths, p)
			}
			slices.Sort(ready.Paths)
			ready.Paths = slices.Compact(ready.Paths)
			clear(w.pending)
			w.first = time.Time{}

		case out <- next:
			ready = nil

		case errOut <- nextErr:
			w.errq[0] = nil
			w.errq = w.errq[1:]
		}
	}
}

// handle applies one event: it reports the paths it concerns and brings the
// watches of a folder created, removed or renamed up to date.
func (w *Watcher) handle(ev fsnotify.Event) {
	rel, ok := w.rel(ev.Name)
	if !ok || ignoredPath(rel) {
		return
	}
	if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		w.sync(rel)
	}
	if !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Write) &&
		!ev.Has(fsnotify.Remove) && !ev.Has(fsnotify.Rename) {
		return // chmod only
	}
	if w.inScope(rel) {
		w.note(rel)
	}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		// A parent of watched paths went away: they went with it.
		for _, p := range w.paths {
			if under(p, rel) {
				w.note(p)
			}
		}
		if rel == "." {
			w.pushErr(fmt.Errorf("watch: %s was removed or renamed: nothing is watched any more", w.root))
		}
	}
}

// sync brings the watches at and under rel in line with what is on disk:
// a folder there is watched (and its files reported), a folder gone or
// replaced loses its watches and those of everything under it.
func (w *Watcher) sync(rel string) {
	if !w.wantDir(rel) {
		return // nothing at or under rel is watched
	}
	info, err := os.Lstat(w.abs(rel))
	if err != nil || !info.IsDir() {
		w.drop(rel)
		return
	}
	if err := w.addDir(rel, info, true); err != nil {
		w.pushErr(err)
	}
}

// rescan is run after events were lost: it watches the folders as they
// are now, the folders that appeared included, and drops the watches of
// folders gone or replaced.
func (w *Watcher) rescan() {
	old := w.watched
	for d, info := range old {
		if cur, err := os.Lstat(w.abs(d)); err != nil || !os.SameFile(info, cur) {
			_ = w.fsw.Remove(w.abs(d)) // before a folder at the same path is watched
			delete(old, d)
		}
	}
	w.watched = make(map[string]fs.FileInfo, len(old))
	if err := w.addTree(".", false); err != nil {
		w.pushErr(err)
	}
	for d := range old {
		if _, ok := w.watched[d]; !ok {
			_ = w.fsw.Remove(w.abs(d))
		}
	}
}

// addTree watches the folder rel, if it is one to watch, and the folders
// under it; with report, it reports what it finds in the watched paths.
func (w *Watcher) addTree(rel string, report bool) error {
	if !w.wantDir(rel) {
		return nil
	}
	info, err := os.Lstat(w.abs(rel))
	if err != nil {
		if gone(err) {
			return nil
		}
		return fmt.Errorf("watch: %w", err)
	}
	if !info.IsDir() {
		return nil
	}
	return w.addDir(rel, info, report)
}

// addDir watches the folder rel (info is its Lstat) before it lists it, so
// that a file created meanwhile is either listed or seen by the watch; then
// it does the same for the folders in it that are to be watched. With
// report, it reports rel and every entry under it that is in the watched
// paths. It returns the first error other than a file gone meanwhile.
func (w *Watcher) addDir(rel string, info fs.FileInfo, report bool) error {
	if old, ok := w.watched[rel]; ok && !os.SameFile(old, info) {
		w.drop(rel) // a watch left on a folder since replaced
	}
	abs := w.abs(rel)
	if _, ok := w.watched[rel]; !ok {
		if err := w.fsw.Add(abs); err != nil {
			if gone(err) {
				return nil
			}
			if errors.Is(err, syscall.ENOSPC) {
				return fmt.Errorf("watch: %s: %w (too many folders watched: raise /proc/sys/fs/inotify/max_user_watches)", rel, err)
			}
			return fmt.Errorf("watch: %s: %w", rel, err)
		}
		w.watched[rel] = info
	}
	if report && w.inScope(rel) {
		w.note(rel)
	}

	entries, err := os.ReadDir(abs)
	if err != nil {
		if gone(err) {
			return nil
		}
		return fmt.Errorf("watch: %w", err)
	}
	var first error
	for _, e := range entries {
		if ignoredName(e.Name()) {
			continue
		}
		crel := path.Join(rel, e.Name())
		if e.IsDir() { // from Lstat: a link to a folder is not one
			if !w.wantDir(crel) {
				continue
			}
			cinfo, err := e.Info()
			if err != nil {
				if !gone(err) && first == nil {
					first = fmt.Errorf("watch: %w", err)
				}
				continue
			}
			if err := w.addDir(crel, cinfo, report); err != nil && first == nil {
				first = err
			}
			continue
		}
		if report && w.inScope(crel) {
			w.note(crel)
		}
	}
	return first
}

// drop removes the watches of the folder rel and of all folders under it.
// Errors are ignored: the system may have removed the watch already (it
// does when a folder is deleted).
func (w *Watcher) drop(rel string) {
	for d := range w.watched {
		if d == rel || under(d, rel) {
			_ = w.fsw.Remove(w.abs(d))
			delete(w.watched, d)
		}
	}
}

// note adds a path to the batch being gathered.
func (w *Watcher) note(rel string) {
	w.pending[rel] = struct{}{}
	w.touched = true
}

// pushErr queues an error for Errors, unless too many wait already or it
// repeats an overflow still waiting.
func (w *Watcher) pushErr(err error) {
	if len(w.errq) >= maxQueuedErrors {
		return
	}
	if n := len(w.errq); n > 0 && errors.Is(err, ErrOverflow) && errors.Is(w.errq[n-1], ErrOverflow) {
		return
	}
	w.errq = append(w.errq, err)
}

// inScope reports whether rel is a watched path or under one.
func (w *Watcher) inScope(rel string) bool {
	for _, p := range w.paths {
		if p == rel || under(rel, p) {
			return true
		}
	}
	return false
}

// wantDir reports whether the folder rel is to be watched: it is in a
// watched path, or is a parent of one (watched to see the path appear, or
// an atomic save of a watched file).
func (w *Watcher) wantDir(rel string) bool {
	if ignoredPath(rel) {
		return false
	}
	for _, p := range w.paths {
		if p == rel || under(rel, p) || under(p, rel) {
			return true
		}
	}
	return false
}

// rel turns a path of an event into a slash path relative to the root.
func (w *Watcher) rel(name string) (string, bool) {
	r, err := filepath.Rel(w.root, name)
	if err != nil {
		return "", false
	}
	r = filepath.ToSlash(r)
	if r == ".." || strings.HasPrefix(r, "../") {
		return "", false
	}
	return r, true
}

func (w *Watcher) abs(rel string) string {
	return filepath.Join(w.root, filepath.FromSlash(rel))
}

// under reports whether the slash path p is strictly inside the folder dir.
func under(p, dir string) bool {
	if dir == "." {
		return p != "."
	}
	return len(p) > len(dir) && p[len(dir)] == '/' && strings.HasPrefix(p, dir)
}

// ignoredName reports whether a file or folder name is one that is never
// watched nor reported: hidden names (which include vim's swap files and
// emacs's lock links), backups (x.md~), emacs's autosaves (#x.md#) and the
// file vim creates to probe whether it may write to a folder.
func ignoredName(name string) bool {
	return strings.HasPrefix(name, ".") ||
		strings.HasSuffix(name, "~") ||
		name == "4913" ||
		len(name) >= 2 && name[0] == '#' && name[len(name)-1] == '#'
}

// ignoredPath reports whether any part of the slash path rel is ignored.
func ignoredPath(rel string) bool {
	if rel == "." {
		return false
	}
	for part := range strings.SplitSeq(rel, "/") {
		if ignoredName(part) {
			return true
		}
	}
	return false
}

// cleanPaths checks and cleans the paths of Options.
func cleanPaths(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, errors.New("watch: no paths to watch")
	}
	var out []string
	for _, p := range paths {
		if p == "" || strings.Contains(p, `\`) {
			return nil, fmt.Errorf("watch: %q is not a slash path", p)
		}
		c := path.Clean(p)
		if path.IsAbs(c) || filepath.IsAbs(filepath.FromSlash(c)) || c == ".." || strings.HasPrefix(c, "../") {
			return nil, fmt.Errorf("watch: %q is not a path inside the root", p)
		}
		if ignoredPath(c) {
			return nil, fmt.Errorf("watch: %q is an ignored path (hidden, or an editor's file)", p)
		}
		out = append(out, c)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// gone reports whether err says a file vanished or is not what it was (a
// folder replaced by a file) since it was seen: a race, not an error.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
