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
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/secret"
)

// Writer receives a build's files.
type Writer interface {
	// WriteFile stores data at the slash-separated relative path p.
	WriteFile(p string, data []byte) error
	// Entries lists what was written so far, sorted by path.
	Entries() []Entry
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

// ledger is the bookkeeping shared by both writers.
type ledger struct {
	mu      sync.Mutex
	entries map[string]Entry
}

// claim checks p and data and records them; it fails if p was written before.
func (l *ledger) claim(p string, data []byte) error {
	return l.claimSum(p, data, sha256.Sum256(data))
}

// claimSum is claim for data whose digest the caller computed.
func (l *ledger) claimSum(p string, data []byte, sum [sha256.Size]byte) error {
	if err := manifest.CheckPath(p); err != nil {
		return err
	}
	if line, what, ok := secret.Find(data); ok {
		return fmt.Errorf("refusing to write %s: line %d holds %s", p, line, what)
	}
	e := Entry{Path: p, Sum: sum, Size: int64(len(data))}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.entries == nil {
		l.entries = map[string]Entry{}
	}
	if _, dup := l.entries[p]; dup {
		return fmt.Errorf("two sources write %s (a content file and a theme file or generated page with the same path?)", p)
	}
	l.entries[p] = e
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
		out = append(out, e)
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// Memory keeps the files in memory.
type Memory struct {
	ledger
	mu    sync.RWMutex
	files map[string][]byte
}

// NewMemory returns an empty in-memory output.
func NewMemory() *Memory { return NewMemorySize(0) }

// NewMemorySize returns an empty in-memory output with room for n files,
// such as the number of files of the build it follows.
func NewMemorySize(n int) *Memory {
	return &Memory{ledger: ledger{entries: make(map[string]Entry, n)}, files: make(map[string][]byte, n)}
}

// Len is the number of files written.
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.files)
}

// WriteFile stores a copy of data.
func (m *Memory) WriteFile(p string, data []byte) error {
	if err := m.claim(p, data); err != nil {
		return err
	}
	m.mu.Lock()
	m.files[p] = append([]byte(nil), data...)
	m.mu.Unlock()
	return nil
}

// Carry publishes again the file at p of an earlier build held in from:
// the same bytes, shared, not copied, and its ledger entry, not
// recomputed, as from checked them when they were written (files in a
// Memory are never changed).
func (m *Memory) Carry(from *Memory, p string) error {
	data, ok := from.Get(p)
	if !ok {
		return fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	from.ledger.mu.Lock()
	e, ok := from.ledger.entries[p]
	from.ledger.mu.Unlock()
	if !ok {
		return fmt.Errorf("%s: not in the earlier build's ledger", p)
	}
	m.ledger.mu.Lock()
	if m.entries == nil {
		m.entries = map[string]Entry{}
	}
	if _, dup := m.entries[p]; dup {
		m.ledger.mu.Unlock()
		return fmt.Errorf("two sources write %s", p)
	}
	m.entries[p] = e
	m.ledger.mu.Unlock()
	m.mu.Lock()
	m.files[p] = data
	m.mu.Unlock()
	return nil
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
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.files[p]
	return b, ok
}
