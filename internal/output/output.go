// Package output is where a build's files go: a directory that is replaced
// atomically when the build succeeds ([Dir]), or memory ([Memory]) for the
// preview server.
//
// Both record the SHA-256 digest of every file as it is written, refuse a
// path that could escape the output (absolute, "..", backslashes), refuse
// to write one path twice, and refuse any file that holds a secret key.
// They are safe for concurrent use.
package output

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/secret"
)

// Writer receives a build's files.
type Writer interface {
	// WriteFile stores data at the slash-separated relative path p.
	WriteFile(p string, data []byte) error
	// Entries lists what was written so far, sorted by path.
	Entries() []Entry
	// Totals returns the number of files written so far and their bytes.
	Totals() (files int, bytes int64)
	// ReadFile returns the contents written at p, for checks of the whole
	// output before it is committed.
	ReadFile(p string) ([]byte, error)
	// Create starts a file written as a stream; [Stream.Commit] names it.
	Create() (*Stream, error)
	// Open reads back a file written, as a stream.
	Open(p string) (io.ReadCloser, error)
}

// Entry is one written file.
type Entry struct {
	Path string
	Sum  [sha256.Size]byte
	Size int64
}

// ledger is the bookkeeping shared by both writers: an entry a file, and
// a Memory's bytes with it (one map, one lock a file).
type ledger struct {
	mu      sync.RWMutex
	entries map[string]written
	// fresh, in a fork (see Memory.Fork), are the paths written since it
	// was made: a file held from the earlier build may be written over
	// once, a file of this one not.
	fresh map[string]bool
}

// written is a file written: its entry, and its bytes in a Memory.
type written struct {
	Entry
	data []byte
}

// claim checks p and data and records them; it fails if p was written before.
func (l *ledger) claim(p string, data []byte) error {
	return l.claimSum(p, data, sha256.Sum256(data))
}

// claimSum is claim for data whose digest the caller computed.
func (l *ledger) claimSum(p string, data []byte, sum [sha256.Size]byte) error {
	return l.claimData(p, data, sum, nil)
}

// claimData is claimSum that keeps keep with the entry (a Memory's copy
// of data).
func (l *ledger) claimData(p string, data []byte, sum [sha256.Size]byte, keep []byte) error {
	if err := manifest.CheckPath(p); err != nil {
		return err
	}
	if line, what, ok := secret.Find(data); ok {
		return fmt.Errorf("refusing to write %s: line %d holds %s", p, line, what)
	}
	return l.add(written{Entry{Path: p, Sum: sum, Size: int64(len(data))}, keep})
}

// add records w; it fails if its path was written before.
func (l *ledger) add(w written) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries == nil {
		l.entries = map[string]written{}
	}
	if _, dup := l.entries[w.Path]; dup && (l.fresh == nil || l.fresh[w.Path]) {
		return fmt.Errorf("two sources write %s (a content file and a theme file or generated page with the same path?)", w.Path)
	}
	if l.fresh != nil {
		l.fresh[w.Path] = true
	}
	l.entries[w.Path] = w
	return nil
}

func (l *ledger) unclaim(p string) {
	l.mu.Lock()
	delete(l.entries, p)
	l.mu.Unlock()
}

// Entries lists the files written so far, sorted by byte order of path.
func (l *ledger) Entries() []Entry {
	l.mu.Lock()
	out := make([]Entry, 0, len(l.entries))
	for _, e := range l.entries {
		out = append(out, e.Entry)
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// Totals returns the number of files written so far and their bytes,
// without listing them.
func (l *ledger) Totals() (files int, bytes int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.entries {
		bytes += e.Size
	}
	return len(l.entries), bytes
}

// Memory keeps the files in memory.
type Memory struct {
	ledger // the files written to it (in a fork, since it was made)
	// base, in a fork (see Fork), is a frozen Memory of no fork, whose
	// files the fork holds too, but for those written over (in ledger)
	// and those removed (gone).
	base *Memory
	gone map[string]bool
	// frozen: nothing is written any more (see Freeze), and reads take
	// no lock.
	frozen atomic.Bool
	// files and bytes are the totals, worked out by Freeze.
	files int
	bytes int64
}

// Freeze ends writing: the build is done, and its files are read from
// then on, by a server and by the next build, without a lock (a map only
// read is safe from many goroutines; a read lock is a write to a shared
// counter, which 50,000 reads from several cores contend on). A write
// after Freeze panics.
func (m *Memory) Freeze() {
	m.mu.Lock()
	m.files, m.bytes = m.totals()
	m.frozen.Store(true)
	m.mu.Unlock()
}

// NewMemory returns an empty in-memory output.
func NewMemory() *Memory { return NewMemorySize(0) }

// NewMemorySize returns an empty in-memory output with room for n files,
// such as the number of files of the build it follows.
func NewMemorySize(n int) *Memory {
	return &Memory{ledger: ledger{entries: make(map[string]written, n)}}
}

// Len is the number of files held.
func (m *Memory) Len() int {
	n, _ := m.Totals()
	return n
}

// Totals returns the number of files held and their bytes.
func (m *Memory) Totals() (files int, bytes int64) {
	if m.frozen.Load() {
		return m.files, m.bytes
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.totals()
}

// totals works out Totals; m.mu is held.
func (m *Memory) totals() (files int, bytes int64) {
	for _, e := range m.entries {
		bytes += e.Size
	}
	files = len(m.entries)
	if b := m.base; b != nil {
		files, bytes = files+b.files, bytes+b.bytes
		for p := range m.entries {
			if w, ok := b.entries[p]; ok { // written over
				files, bytes = files-1, bytes-w.Size
			}
		}
		for p := range m.gone {
			if w, ok := b.entries[p]; ok {
				if _, over := m.entries[p]; !over {
					files, bytes = files-1, bytes-w.Size
				}
			}
		}
	}
	return files, bytes
}

// Entries lists the files held, sorted by byte order of path.
func (m *Memory) Entries() []Entry {
	if m.base == nil {
		return m.ledger.Entries()
	}
	m.mu.RLock()
	out := make([]Entry, 0, len(m.entries)+len(m.base.entries))
	for _, w := range m.entries {
		out = append(out, w.Entry)
	}
	for p, w := range m.base.entries {
		if _, over := m.entries[p]; !over && !m.gone[p] {
			out = append(out, w.Entry)
		}
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// WriteFile stores a copy of data.
func (m *Memory) WriteFile(p string, data []byte) error {
	m.writable()
	return m.claimData(p, data, sha256.Sum256(data), bytes.Clone(data))
}

func (m *Memory) writable() {
	if m.frozen.Load() {
		panic("output: a write to a frozen Memory")
	}
}

// WriteShared stores data itself, not a copy, under sum, its SHA-256
// digest, which the caller worked out when it made data: for a file kept
// from one build to the next (a search shard that did not change), which
// no one changes once made.
func (m *Memory) WriteShared(p string, data []byte, sum [sha256.Size]byte) error {
	m.writable()
	return m.claimData(p, data, sum, data)
}

// Carry publishes again the file at p of an earlier build held in from,
// and returns its bytes: the same bytes, shared, not copied, and its
// ledger entry, not recomputed, as from checked them when they were
// written (files in a Memory are never changed).
func (m *Memory) Carry(from *Memory, p string) ([]byte, error) {
	m.writable()
	w, ok := from.get(p)
	if !ok {
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	return w.data, m.add(w)
}

// forkCopies is how many files, written over or removed, a fork of a
// fork copies rather than make a Memory of all the files anew: a part of
// the files its base holds.
const forkCopies = 16

// Fork returns a Memory that holds m's files, a frozen Memory, shared,
// not copied, as the start of a build that changes a few of them: a
// write replaces a file held from m (once: a path written twice by the
// new build is refused, as in any Memory), and [Memory.Remove] drops one.
// m is not changed. A fork costs the files changed since m's own base
// was made (forks of forks share it), until they are one in forkCopies
// of the files: then it makes one Memory of m's files, the next forks'
// base.
func (m *Memory) Fork() *Memory {
	if !m.frozen.Load() {
		panic("output: a fork of a Memory still written")
	}
	f := &Memory{ledger: ledger{fresh: map[string]bool{}}, base: m, gone: map[string]bool{}}
	switch b := m.base; {
	case b == nil:
		f.entries = map[string]written{}
	case (len(m.entries)+len(m.gone))*forkCopies <= b.files:
		f.base, f.entries, f.gone = b, maps.Clone(m.entries), maps.Clone(m.gone)
	default:
		all := maps.Clone(b.entries)
		for p := range m.gone {
			delete(all, p)
		}
		maps.Copy(all, m.entries)
		f.base = &Memory{ledger: ledger{entries: all}}
		f.base.Freeze()
		f.entries = map[string]written{}
	}
	return f
}

// Remove drops the file at p, held from the Memory a fork was made of,
// and returns its size; it fails if p holds no such file.
func (m *Memory) Remove(p string) (int64, error) {
	m.writable()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.base == nil || m.fresh[p] {
		return 0, fmt.Errorf("%s: not a file of the build forked: %w", p, fs.ErrNotExist)
	}
	if w, ok := m.entries[p]; ok {
		delete(m.entries, p)
		m.gone[p] = true
		return w.Size, nil
	}
	w, ok := m.base.entries[p]
	if !ok || m.gone[p] {
		return 0, fmt.Errorf("%s: not a file of the build forked: %w", p, fs.ErrNotExist)
	}
	m.gone[p] = true
	return w.Size, nil
}

// ReadFile returns the file at p.
func (m *Memory) ReadFile(p string) ([]byte, error) {
	if b, ok := m.Get(p); ok {
		return b, nil
	}
	return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
}

// Get returns the file at p.
func (m *Memory) Get(p string) ([]byte, bool) {
	w, ok := m.get(p)
	return w.data, ok
}

func (m *Memory) get(p string) (written, bool) {
	if !m.frozen.Load() {
		m.mu.RLock()
		defer m.mu.RUnlock()
	}
	if w, ok := m.entries[p]; ok {
		return w, true
	}
	if m.base != nil && !m.gone[p] {
		w, ok := m.base.entries[p] // frozen: read without a lock
		return w, ok
	}
	return written{}, false
}
