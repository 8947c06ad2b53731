// Package site reads a conclave site from disk: the configuration in
// conclave.toml and the pages and files under content/.
//
// [Load] checks everything it reads before any later stage sees it: text
// must be UTF-8, front matter must be well formed, no two pages may claim
// the same URL, no link may leave the site, and no file under content/,
// keys/ or themes/ may hold a secret key. Each problem is a located
// [diag.Error]; Load reports all of them at once.
//
// What Load reads is bounded, whatever the site holds: at most [MaxPages]
// pages of at most [MaxPageSize] bytes each, other files of at most
// [format.MaxAttachmentSize] bytes each, and [MaxContentSize] bytes of
// content/ in all read into memory (files over [StreamSize] are streamed).
// Each bound is checked from the files' sizes before they are read, and a
// file that grows as it is read is cut off at its own bound.
package site

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/par"
	"github.com/conclave-dev/conclave/internal/secret"
)

// Kind says what a page is.
type Kind int

const (
	// KindPage is a briefing: any .md file other than _index.md.
	KindPage Kind = iota
	// KindSection is content/<section>/_index.md: the section list's title and intro.
	KindSection
	// KindHome is content/_index.md: the home page's title and intro.
	KindHome
)

// Page is one markdown file under content/.
type Page struct {
	Path     string // slash path from the site root, e.g. "content/briefings/icasi.md"
	Kind     Kind
	Section  string // first folder under content/, "" for top-level pages
	URL      string // site-relative URL path, e.g. "/briefings/icasi/"
	Front    Front
	Body     []byte // markdown after the front matter
	BodyLine int    // line of the file on which Body starts
	// Digest is the SHA-256 digest of the file as read: front matter and
	// body, before any normalisation.
	Digest [sha256.Size]byte
}

// File is a non-markdown file under content/ (an image, a PDF), published
// at the same relative path.
type File struct {
	Path    string // slash path from the site root, e.g. "content/briefings/map.png"
	OutPath string // slash path in the output, e.g. "briefings/map.png"
	// Data is the contents, read (and checked for secrets) once by Load,
	// for a file of at most [StreamSize] bytes. A larger one is streamed:
	// Load keeps only its size, and the stage that writes it reads and
	// checks it with [File.Each].
	Data []byte
	Size int64 // its size in bytes
	root string
}

// Len is the file's size in bytes.
func (f File) Len() int64 {
	if f.Data != nil {
		return int64(len(f.Data))
	}
	return f.Size
}

// Streamed reports whether f is too large to be held in memory: Data is
// nil, and [File.Open] reads it.
func (f File) Streamed() bool { return f.Data == nil && f.Size > 0 }

// Open opens the file for reading, as a stream. It refuses a file that
// is no longer a regular file inside the site, or whose size changed
// since Load read it.
func (f File) Open() (io.ReadCloser, error) {
	if !f.Streamed() {
		return io.NopCloser(bytes.NewReader(f.Data)), nil
	}
	root, err := os.OpenRoot(f.root)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	name := filepath.FromSlash(f.Path)
	link, err := root.Lstat(name) // a link in its place is not followed
	if err != nil {
		return nil, diag.Errorf(f.Path, 0, "%v", unwrapPathError(err))
	}
	r, err := root.Open(name)
	if err != nil {
		return nil, diag.Errorf(f.Path, 0, "%v", unwrapPathError(err))
	}
	info, err := r.Stat()
	if err == nil && (!link.Mode().IsRegular() || !os.SameFile(link, info) || info.Size() != f.Size) {
		err = diag.Errorf(f.Path, 0, "changed while the site was built (%d bytes when read, now a %s of %d bytes): build again", f.Size, manifest.Kind(link.Mode()), info.Size())
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Head returns at most n bytes from the start of the file.
func (f File) Head(n int) ([]byte, error) {
	if !f.Streamed() {
		return f.Data[:min(n, len(f.Data))], nil
	}
	r, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b := make([]byte, n)
	m, err := io.ReadFull(r, b)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return b[:m], err
}

// Site is everything Load read.
type Site struct {
	Root     string // directory holding conclave.toml
	Config   *Config
	Pages    []*Page // sorted by Path; drafts only if asked for
	Files    []File  // sorted by Path
	Drafts   int     // drafts left out
	Warnings []*diag.Warning

	// DraftPages are the drafts left out, so that later stages can tell
	// which content files only drafts use.
	DraftPages []*Page

	byPath     map[string]*Page
	files      map[string]File
	draftPaths map[string]bool
	draftFiles map[string]string // content file → the draft it belongs to
	bundles    map[string]*Page  // folder → the restricted bundle it is the folder of
	read       int64             // the bytes of content/ read in all (see MaxContentSize)
}

// Bundle returns the page bundle restricted as a whole (an index.md with
// audience:) whose folder holds the content file or page at the slash
// path p, or nil. Its files are attachments, sealed for its audience
// (DESIGN §2).
func (s *Site) Bundle(p string) *Page { return bundleOf(s.bundles, p) }

// BundleHasFiles reports whether b is a page bundle restricted as a whole
// whose folder holds content files.
func (s *Site) BundleHasFiles(b *Page) bool {
	if s.bundles[path.Dir(b.Path)] != b {
		return false
	}
	dir := path.Dir(b.Path) + "/"
	i, _ := slices.BinarySearchFunc(s.Files, dir, func(f File, dir string) int { return strings.Compare(f.Path, dir) })
	return i < len(s.Files) && strings.HasPrefix(s.Files[i].Path, dir)
}

// Options controls [Load].
type Options struct {
	// Drafts includes pages whose front matter says draft: true.
	Drafts bool
	// Out is the build's output folder (default <root>/public). A symbolic
	// link into it is refused, so that a build never republishes an
	// earlier one.
	Out string
	// Pages, if set, remembers the pages read, so that loading the site
	// again parses only the files that changed (the preview server).
	Pages *PageCache
	// Now is the time the site is built as of: a page restricted as a
	// whole whose embargo is at or before it is published ([Front.Lift]).
	// Zero lifts nothing.
	Now time.Time
}

// PageCache remembers pages as read, by path and file content: a file
// read again with the same bytes gives the same page without being
// checked and parsed again. It is safe for concurrent use; pages of files
// that are gone are forgotten at the end of each Load.
type PageCache struct {
	mu    sync.RWMutex
	pages map[string]*cachedPage
}

// cachedPage is a page as read. Only trusted changes once it is made,
// under the cache's lock.
type cachedPage struct {
	// raw is the file as read; nil for a page imported from another
	// process (see PageCache.Import), known by its digest (page.Digest).
	raw []byte
	// read is the Read the page was imported from (see Import), if it
	// was; Export makes the others.
	read    *Read
	page    Page
	warns   []*diag.Warning
	trusted bool // unchanged since the last Load, as far as Invalidate knows
}

// Invalidate says which files may have changed since the last Load: the
// pages at paths, and under folders at paths, are read again by the next
// one; the others are taken as they are, without reading their files. A
// nil paths makes every file be read again (and compared).
func (c *PageCache) Invalidate(paths []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A path that is a page's needs no look at the others: the cache
	// holds the pages of one Load, and no page is both a file and a
	// folder. Any other path may be a folder.
	var folders []string
	for _, p := range paths {
		if cp, ok := c.pages[p]; ok {
			cp.trusted = false
		} else {
			folders = append(folders, p)
		}
	}
	if paths != nil && len(folders) == 0 {
		return
	}
	for rel, cp := range c.pages {
		stale := paths == nil
		for _, p := range folders {
			if strings.HasPrefix(rel, p+"/") {
				stale = true
				break
			}
		}
		if stale {
			cp.trusted = false
		}
	}
}

// lookup returns the cached page at rel, and whether it is trusted.
func (c *PageCache) lookup(rel string) (*cachedPage, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cp := c.pages[rel]
	return cp, cp != nil && cp.trusted
}

// trusted returns the page at rel if it is known unchanged.
func (c *PageCache) trusted(rel string) (*Page, []*diag.Warning, bool) {
	if c == nil {
		return nil, nil, false
	}
	cp, ok := c.lookup(rel)
	if !ok {
		return nil, nil, false
	}
	p := cp.page // a copy: later stages may set fields of their own
	return &p, cp.warns, true
}

// trustedAll returns, for each of paths, its cached page if it is known
// unchanged, or nil.
func (c *PageCache) trustedAll(paths []string) []*cachedPage {
	out := make([]*cachedPage, len(paths))
	if c == nil {
		return out
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i, p := range paths {
		if cp := c.pages[p]; cp != nil && cp.trusted {
			out[i] = cp
		}
	}
	return out
}

// trustedSize returns the size of the file rel, if its page is known
// unchanged since the last Load.
func (c *PageCache) trustedSize(rel string) (int64, bool) {
	if c == nil {
		return 0, false
	}
	cp, ok := c.lookup(rel)
	if !ok {
		return 0, false
	}
	return int64(len(cp.raw)), true
}

// read returns the page for the file rel with contents data, from the
// cache or by parse.
func (c *PageCache) read(rel string, data []byte, parse func() (*Page, []*diag.Warning, error)) (*Page, []*diag.Warning, error) {
	if c == nil {
		return parse()
	}
	cp, _ := c.lookup(rel)
	if cp != nil && cp.raw != nil && bytes.Equal(cp.raw, data) {
		c.mu.Lock()
		cp.trusted = true
		c.mu.Unlock()
		p := cp.page // a copy: later stages may set fields of their own
		return &p, cp.warns, nil
	}
	if cp != nil && cp.raw == nil && sha256.Sum256(data) == cp.page.Digest {
		// Imported (see Import): its body is in data. An entry does not
		// change once made (but for trusted): this one gives way to one
		// that holds data.
		if text := normalizeText(data); cp.read.BodyAt <= len(text) {
			p := cp.page
			p.Body = text[cp.read.BodyAt:]
			c.mu.Lock()
			c.pages[rel] = &cachedPage{raw: data, read: cp.read, page: p, warns: cp.warns, trusted: true}
			c.mu.Unlock()
			return &p, cp.warns, nil
		}
	}
	p, warns, err := parse()
	var made *cachedPage
	if err == nil {
		made = &cachedPage{raw: data, page: *p, warns: warns, trusted: true}
	}
	c.mu.Lock()
	if c.pages == nil {
		c.pages = map[string]*cachedPage{}
	}
	if made != nil {
		c.pages[rel] = made
	} else {
		delete(c.pages, rel)
	}
	c.mu.Unlock()
	return p, warns, err
}

// keep forgets every page but those at paths.
func (c *PageCache) keep(paths []string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	found := 0
	for _, p := range paths {
		if _, ok := c.pages[p]; ok {
			found++
		}
	}
	if found == len(c.pages) {
		return // no page gone: nothing to forget (the common case, a save)
	}
	live := make(map[string]*cachedPage, len(paths))
	for _, p := range paths {
		if cp, ok := c.pages[p]; ok {
			live[p] = cp
		}
	}
	c.pages = live
}

// ContentDir is the folder of briefings under the site root.
const ContentDir = "content"

// Limits on what Load reads, so that a site, hostile or mistaken, costs
// time and memory in proportion to what a real one needs (see
// docs/security.md and docs/benchmarks.md, "Resource limits"). Each is
// a located error.
const (
	// MaxPageSize is the largest markdown file: 4 MiB. Briefings are
	// kilobytes (the benchmark corpus has 200 to 2,000 words a page). A
	// page is parsed, rendered and scanned whole: a build's peak memory
	// was measured at 25 times the size of a page of prose, and 200 times
	// that of a page of one-line list items (8 MiB of them: 1.7 GB).
	MaxPageSize = 4 << 20
	// MaxPages is the most markdown files under content/, drafts
	// included: 200,000, forty times the largest site measured.
	MaxPages = 200_000
	// MaxFileSize is the largest file under content/ other than a page
	// (an image, a PDF) that the build publishes as it is: 256 MiB. A
	// larger one may only be sealed, as an attachment; the build refuses
	// to publish it in clear.
	MaxFileSize = 256 << 20
	// StreamSize is the largest file under content/ other than a page
	// that Load reads into memory: 16 MiB. A larger one, up to
	// [format.MaxAttachmentSize] (4 GiB; larger is refused from its size,
	// unread), is read as a stream, and checked as it is read, by the
	// stage that writes it ([File.Each]).
	StreamSize = 16 << 20
	// MaxContentSize is the most bytes Load reads into memory from
	// content/ in all, pages and files of up to [StreamSize] bytes,
	// drafts included: 2 GiB. Load adds up their sizes as it finds them,
	// before it reads any, and refuses the file that takes the total past
	// it (and reads nothing).
	MaxContentSize = 2 << 30
	// MaxNesting is how deep block quotes, lists and restricted blocks
	// may nest in a page: 64 levels. The markdown parser's time per line
	// grows with the number of blocks open around it, so that without a
	// bound a page's time grows with the square of its size. Load refuses
	// a line whose start (quote and list markers, and indentation, at two
	// columns a level, the least a nested list is indented by) reaches
	// deeper; the parser stops at the same depth however it is reached.
	MaxNesting = 64
)

// maxPages is MaxPages; tests lower it.
var maxPages = MaxPages

// Load reads the site at root.
func Load(root string, opt Options) (*Site, error) {
	cfg, warns, err := LoadConfig(root)
	if err != nil {
		return nil, err
	}
	s := &Site{Root: root, Config: cfg, Warnings: warns,
		byPath: map[string]*Page{}, files: map[string]File{}, draftPaths: map[string]bool{}, draftFiles: map[string]string{}}
	var errs diag.List
	if info, err := os.Stat(joinPath(root, ContentDir)); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("%s/ not found in %s: briefings go in %s/*.md", ContentDir, root, ContentDir)
	}
	var mdPaths []string
	var size int64 // the bytes of content/ to read, as the files' sizes say
	var pathErrs diag.List
	stopped := false // too many pages, or too many bytes: read none of them
	out := cmp.Or(opt.Out, filepath.Join(root, "public"))
	errs.Add(walk(root, out, ContentDir, func(rel string) error {
		md := strings.HasSuffix(rel, ".md")
		if md && len(mdPaths) == maxPages {
			stopped = true
			return diag.Errorf(ContentDir, 0, "more than %d pages (.md files, drafts included): a site holds at most %d; split it into several sites", maxPages, maxPages)
		}
		// Sizes are checked before anything is read; a page larger than
		// MaxPageSize is refused by readPage, unread. A page known
		// unchanged since the last Load is as large as it was then.
		n, known := int64(0), false
		if md {
			n, known = opt.Pages.trustedSize(rel)
		}
		if !known {
			info, err := os.Stat(joinPath(root, rel))
			if err != nil {
				pathErrs.Add(diag.Errorf(rel, 0, "%v", unwrapPathError(err)))
				return nil
			}
			n = info.Size()
		}
		switch {
		case !md && n > format.MaxAttachmentSize:
			pathErrs.Add(fileTooLarge(rel, n))
			return nil
		case !md && n > StreamSize: // read as a stream, never held
		case !md || n <= MaxPageSize:
			size += n
			if size > MaxContentSize {
				stopped = true
				return diag.Errorf(rel, 0, "%s/ is too large: with this file it holds %d bytes to read, more than %d GiB in all "+
					"(every page and file is read into memory to build the site; publish large files elsewhere and link to them, or split the site)",
					ContentDir, size, int64(MaxContentSize)>>30)
			}
		}
		if md {
			mdPaths = append(mdPaths, rel)
		} else {
			out := strings.TrimPrefix(rel, ContentDir+"/")
			if err := manifest.CheckPathLimits(out); err != nil {
				pathErrs.Add(diag.Errorf(rel, 0, "cannot be published: its output path would be %v", err))
				return nil
			}
			s.Files = append(s.Files, File{Path: rel, OutPath: out, Size: n, root: root})
		}
		return nil
	}))
	errs = append(errs, pathErrs...)
	if stopped {
		return nil, errs.Err()
	}
	// keys/ and the site's theme are read by later stages, but a secret in
	// them is refused here, before anything is built. Other folders under
	// themes/ (other themes, a script's sources and their node_modules) are
	// never read.
	for _, dir := range []string{"keys", "themes/" + cfg.Theme} {
		if _, err := os.Lstat(joinPath(root, dir)); err == nil {
			errs.Add(walk(root, out, dir, func(string) error { return nil }))
		}
	}
	fileErrs := make([]error, len(s.Files))
	par.Do(len(s.Files), par.IO(), func(i int) {
		f := &s.Files[i]
		if f.Size > StreamSize {
			// Its name now; its bytes as they are read ([File.Each]).
			fileErrs[i] = checkNotBriefing(f.Path, nil)
			return
		}
		f.Data, fileErrs[i] = readLimited(joinPath(root, f.Path), StreamSize, func(size int64) error { return fileTooLarge(f.Path, size) })
		if fileErrs[i] == nil {
			fileErrs[i] = errors.Join(checkSecret(f.Path, f.Data), checkNotBriefing(f.Path, f.Data))
		}
		if f.Data == nil {
			f.Data = []byte{} // read, and empty: not streamed
		}
		f.Size = int64(len(f.Data))
	})
	for _, err := range fileErrs {
		errs.Add(err)
	}

	pages := make([]*Page, len(mdPaths))
	pageWarns := make([][]*diag.Warning, len(mdPaths))
	pageErrs := make([]error, len(mdPaths))
	// Pages known unchanged are copied from the cache here; the others
	// are read (and parsed if their bytes changed) side by side.
	var read []int
	for i, k := range opt.Pages.trustedAll(mdPaths) {
		if k == nil {
			read = append(read, i)
			continue
		}
		p := k.page // a copy: later stages may set fields of their own
		pages[i], pageWarns[i] = &p, k.warns
	}
	par.Do(len(read), par.IO(), func(j int) {
		i := read[j]
		pages[i], pageWarns[i], pageErrs[i] = readPage(root, mdPaths[i], opt.Pages)
	})
	for _, p := range pages {
		if p != nil {
			p.Front.Lift(opt.Now) // after the cache, which holds the page as written
		}
	}
	opt.Pages.keep(mdPaths)
	// A draft _index.md or index.md makes its whole folder a draft: every
	// page and file below it stays out unless drafts are asked for.
	draftDirs := map[string]string{} // folder → the draft index page
	for _, p := range pages {
		if p != nil && p.Front.Draft && (path.Base(p.Path) == "_index.md" || path.Base(p.Path) == "index.md") {
			draftDirs[path.Dir(p.Path)] = p.Path
		}
	}
	for i := range pages {
		errs.Add(pageErrs[i])
		s.Warnings = append(s.Warnings, pageWarns[i]...)
		p := pages[i]
		if p == nil {
			continue
		}
		if !opt.Drafts && (p.Front.Draft || draftFolder(draftDirs, p.Path) != "") {
			s.Drafts++
			s.draftPaths[p.Path] = true
			s.DraftPages = append(s.DraftPages, p)
			continue
		}
		s.Pages = append(s.Pages, p)
		s.byPath[p.Path] = p
	}
	if !opt.Drafts && len(draftDirs) > 0 {
		kept := s.Files[:0]
		for _, f := range s.Files {
			if page := draftFolder(draftDirs, f.Path); page != "" {
				s.draftFiles[f.Path] = page
			} else {
				kept = append(kept, f)
			}
		}
		s.Files = kept
	}
	errs.Add(checkURLs(s))
	errs.Add(checkRestrictedFolders(s))
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if len(s.Pages) == 0 {
		s.Warnings = append(s.Warnings, diag.Errorf(ContentDir, 0, "no pages to publish: add briefings as %s/<section>/<name>.md", ContentDir))
	}
	s.read = size
	sort.Slice(s.Files, func(i, j int) bool { return s.Files[i].Path < s.Files[j].Path })
	for _, f := range s.Files {
		s.files[f.Path] = f
	}
	return s, nil
}

// draftFolder returns the draft index page of the nearest folder above p
// that has one, or "".
func draftFolder(draftDirs map[string]string, p string) string {
	for dir := path.Dir(p); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if page, ok := draftDirs[dir]; ok {
			return page
		}
	}
	return ""
}

func readPage(root, rel string, cache *PageCache) (*Page, []*diag.Warning, error) {
	if p, warns, ok := cache.trusted(rel); ok {
		return p, warns, nil
	}
	data, err := readMarkdown(joinPath(root, rel), rel)
	if err != nil {
		return nil, nil, err
	}
	return cache.read(rel, data, func() (*Page, []*diag.Warning, error) { return parsePage(rel, data) })
}

// readMarkdown reads the markdown file rel at path, of at most
// MaxPageSize bytes: a larger one is an error before it is read.
func readMarkdown(path, rel string) ([]byte, error) {
	return readLimited(path, MaxPageSize, func(size int64) error { return tooLarge(rel, size) })
}

// readLimited reads the file at path whole, if it holds at most limit
// bytes. A larger one is refused with tooLarge(its size) before it is
// read, and one that grows past limit as it is read is refused once it
// does: no more than limit+1 bytes are allocated for it.
func readLimited(path string, limit int64, tooLarge func(size int64) error) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if info.Size() > limit {
		return nil, tooLarge(info.Size())
	}
	// One byte more than the size, to see the end of the file without
	// growing the buffer.
	data := make([]byte, 0, info.Size()+1)
	for {
		if len(data) == cap(data) {
			data = slices.Grow(data, int(min(int64(cap(data))*2+512, limit+1))-len(data))
		}
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if int64(len(data)) > limit {
			return nil, tooLarge(int64(len(data)))
		}
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// maxKeysFile is the largest file in keys/, as the audience package reads
// them: a larger one is refused here before it is read.
const maxKeysFile = 1 << 20

// readChecked reads a file of keys/ or of the theme, to look for secrets;
// a file of keys/ larger than maxKeysFile is an error, unread.
func readChecked(path, rel, dir string) ([]byte, error) {
	if dir == "keys" {
		info, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if info.Size() > maxKeysFile {
			return nil, diag.Errorf(rel, 0, "too large for a keys file (more than %d bytes)", maxKeysFile)
		}
	}
	return os.ReadFile(path)
}

func tooLarge(rel string, size int64) error {
	return diag.Errorf(rel, 0, "too large for a page: %d bytes, more than %d MiB (briefings are kilobytes; put large data in a file the page links to)", size, MaxPageSize>>20)
}

func fileTooLarge(rel string, size int64) error {
	if size > StreamSize {
		return diag.Errorf(rel, 0, "too large for a file of %s/: %d bytes, more than %d GiB (the most sealed as an attachment); publish it elsewhere and link to it", ContentDir, size, format.MaxAttachmentSize>>30)
	}
	return diag.Errorf(rel, 0, "changed while it was read (it grew past %d MiB): build again", StreamSize>>20)
}

// Each reads the file a chunk of whole lines (about 1 MiB) at a time and
// calls fn with each, as it checks them as Load checks the files it holds:
// for a secret key and, if the file is published in clear (inClear) and
// is text, for a restricted block or audience key. A file too large to
// hold is checked here, by the stage that reads it, not by Load: the check
// runs beside fn, so that the file is read once. The first problem found
// stops the reading and is returned, located; fn has then been given the
// chunk that holds it, and what it wrote must be dropped.
func (f File) Each(inClear bool, fn func(chunk []byte) error) error {
	if !f.Streamed() {
		return fn(f.Data) // Load checked it
	}
	r, err := f.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	binary := false
	var found, failed error
	checked := make(chan error, 1)
	err = secret.Chunks(r, 1<<20, func(chunk []byte, line int) bool {
		if line == 1 {
			binary = !utf8.Valid(chunk[:min(len(chunk), 1<<20)]) && bytes.IndexByte(chunk[:min(len(chunk), 8<<10)], 0) >= 0
		}
		go func() { checked <- f.checkChunk(chunk, line, inClear && !binary) }()
		failed = fn(chunk)
		found = <-checked
		return found == nil && failed == nil
	})
	return cmp.Or(found, err, failed)
}

// checkChunk checks the chunk of f that starts at line, as Load checks a
// file it holds.
func (f File) checkChunk(chunk []byte, line int, text bool) error {
	if l, what, ok := secret.Find(chunk); ok {
		return diag.Errorf(f.Path, line+l-1, "holds %s: secrets never belong in a site (move it out, and treat it as exposed if it was ever committed or published)", what)
	}
	if !text {
		return nil
	}
	if i := strayBriefing(chunk); i >= 0 {
		return diag.Errorf(f.Path, line+bytes.Count(chunk[:i], []byte("\n")), "holds a restricted block or an audience: key, but is not a briefing (only .md files are): it would be published as it is; move the text into a .md file")
	}
	return nil
}

// parsePage checks and parses the file rel, whose contents are data.
func parsePage(rel string, data []byte) (*Page, []*diag.Warning, error) {
	digest := sha256.Sum256(data)
	if err := checkText(rel, data); err != nil {
		return nil, nil, err
	}
	if err := checkSecret(rel, data); err != nil {
		return nil, nil, err
	}
	data = normalizeText(data)
	front, body, bodyLine, warns, err := ParseFront(rel, data)
	if err != nil {
		return nil, warns, err
	}
	if err := checkNesting(rel, body, bodyLine); err != nil {
		return nil, warns, err
	}
	p := &Page{Path: rel, Front: front, Body: body, BodyLine: bodyLine, Digest: digest}
	inner := strings.TrimPrefix(rel, ContentDir+"/")
	dir, base := path.Split(inner)
	dir = strings.TrimSuffix(dir, "/")
	if i := strings.IndexByte(inner, '/'); i >= 0 {
		p.Section = inner[:i]
	}
	if base == "index.md" && !strings.Contains(dir, "/") {
		// A bundle at the top of content/ is a page of the home, not a
		// section: its folder is its own name, never a list.
		p.Section = ""
	}
	name := strings.TrimSuffix(base, ".md")
	switch {
	case name == "_index" && dir == "":
		p.Kind, p.URL = KindHome, "/"
	case name == "_index":
		p.Kind, p.URL = KindSection, "/"+dir+"/"
	default:
		if front.Slug != "" {
			name = front.Slug
		}
		if base == "index.md" && dir == "" {
			return nil, warns, diag.Errorf(rel, 1, "content/index.md would replace the home page; write the home page's intro in content/_index.md")
		}
		if base == "index.md" {
			// A folder's index.md is the page for that folder (a bundle),
			// whose slug takes the place of the folder's name.
			p.URL = "/" + dir + "/"
			if front.Slug != "" {
				p.URL = path.Join("/", path.Dir(dir), front.Slug) + "/"
			}
		} else if dir == "" {
			p.URL = "/" + name + "/"
		} else {
			p.URL = "/" + dir + "/" + name + "/"
		}
	}
	if err := manifest.CheckPathLimits(strings.TrimPrefix(p.URL, "/") + "index.html"); err != nil {
		line := 0
		if front.Slug != "" {
			line = p.Front.Line("slug")
		}
		return nil, warns, diag.Errorf(rel, line, "cannot be published at %.200s: its output path would be %v", p.URL, err)
	}
	if p.Kind == KindPage && p.Front.Audience != nil && front.Slug == "" {
		// The URL would come from the file name, which often names what
		// the page is about ("cve-2026-1234-embargo.md").
		return nil, warns, diag.Errorf(rel, p.Front.Line("audience"), "audience: a restricted page's URL must not come from its file name, which may tell what it is about: give it a slug, e.g. \"slug: %s\" (random), or one that may be public", randomSlug())
	}
	if p.Kind == KindPage && p.Front.Title == "" {
		p.Front.Title = TitleFromName(strings.TrimSuffix(base, ".md"))
	}
	return p, warns, nil
}

// normalizeText returns a page's text as parsePage reads it: without a
// byte-order mark, and with LF line endings. CRLF and a lone CR (which
// markdown also reads as a line ending) both become LF, so that front
// matter and fences are found on every kind of line ending.
func normalizeText(data []byte) []byte {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if bytes.IndexByte(data, '\r') >= 0 {
		data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	}
	return data
}

// markdownExts are the endings of markdown files that are not briefings:
// only .md files are read as briefings, and any other file is published
// as it is.
var markdownExts = []string{".md", ".markdown", ".mdown", ".mkd", ".mkdn", ".mdwn", ".mdtxt", ".mdtext", ".rmd", ".qmd"}

// checkNotBriefing refuses a content file that would be published as it
// is although it looks like a briefing, or holds what a briefing
// restricts: a markdown file under another ending (notes.MD,
// plan.markdown), an editor's or merge tool's copy of one (plan.md.orig),
// or any text with a restricted block or an audience: key in it.
func checkNotBriefing(rel string, data []byte) error {
	lower := strings.ToLower(path.Base(rel))
	for _, ext := range markdownExts {
		if strings.HasSuffix(lower, ext) || strings.Contains(lower, ext+".") {
			return diag.Errorf(rel, 1, "looks like a markdown file, but only files ending in .md are read as briefings, and this one would be published as it is, front matter and restricted passages included: rename it to end in .md, or move it out of %s/", ContentDir)
		}
	}
	if !utf8.Valid(data[:min(len(data), 1<<20)]) && bytes.IndexByte(data[:min(len(data), 8<<10)], 0) >= 0 {
		return nil // binary
	}
	if i := strayBriefing(data); i >= 0 {
		return diag.Errorf(rel, 1+bytes.Count(data[:i], []byte("\n")), "holds a restricted block or an audience: key, but is not a briefing (only .md files are): it would be published as it is; move the text into a .md file")
	}
	return nil
}

// strayBriefing returns the offset of the first line that opens a
// restricted block or sets an audience key, or -1: a line that starts,
// after spaces, tabs and '>', with three or more colons, spaces or tabs
// and "restricted", or with "audience", spaces or tabs and ':' or '='
// (in any case). It reads each byte about once: a regular expression
// took 120 ms a MiB of text.
func strayBriefing(data []byte) int {
	for start := 0; start < len(data); {
		line := data[start:]
		if end := bytes.IndexByte(line, '\n'); end >= 0 {
			line = line[:end]
		}
		rest := bytes.TrimLeft(line, " \t>")
		if colons := len(rest) - len(bytes.TrimLeft(rest, ":")); colons >= 3 {
			if w := bytes.TrimLeft(rest[colons:], " \t"); len(w) >= 10 && bytes.EqualFold(w[:10], []byte("restricted")) {
				return start
			}
		} else if len(rest) >= 8 && bytes.EqualFold(rest[:8], []byte("audience")) {
			if w := bytes.TrimLeft(rest[8:], " \t"); len(w) > 0 && (w[0] == ':' || w[0] == '=') {
				return start
			}
		}
		start += len(line) + 1
	}
	return -1
}

// randomSlug suggests an opaque slug for a restricted page.
func randomSlug() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 10)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return "r-" + string(b)
}

// checkRestrictedFolders finds the restricted bundles (a folder's index.md
// with audience:), whose files are attachments ([Site.Bundle]), and
// refuses what would publish the folder names of pages restricted as a
// whole (their URLs, their section's list, the sitemap):
//
//   - a restricted bundle is the only page in its folder: any other page
//     would publish the folder's name;
//   - every folder in a restricted page's URL is named in public on
//     purpose: it holds a published page or file, or an _index.md.
func checkRestrictedFolders(s *Site) error {
	public := map[string]bool{} // folders under content/ named in public
	mark := func(dir string) {
		for ; dir != ContentDir && dir != "." && dir != "/" && !public[dir]; dir = path.Dir(dir) {
			public[dir] = true
		}
	}
	bundles := map[string]*Page{} // folder → its restricted index.md
	for _, p := range s.Pages {
		switch {
		case p.Front.Audience == nil:
			mark(path.Dir(p.Path))
		case path.Base(p.Path) == "index.md":
			bundles[path.Dir(p.Path)] = p
		}
	}
	for _, f := range s.Files {
		if bundleOf(bundles, f.Path) == nil {
			mark(path.Dir(f.Path))
		}
	}
	s.bundles = bundles
	var errs diag.List
	for _, p := range s.Pages {
		if b := bundleOf(bundles, p.Path); b != nil && b != p {
			errs.Add(diag.Errorf(b.Path, max(b.Front.Line("audience"), 1), "audience: this restricted bundle's folder also holds the page %s, whose URL would publish the folder's name: a restricted bundle is alone in its folder", p.Path))
		}
	}
	for _, p := range s.Pages {
		if p.Front.Audience == nil || p.Kind != KindPage {
			continue
		}
		dir := path.Dir(p.Path)
		if bundles[dir] == p {
			dir = path.Dir(dir) // the slug replaces the bundle's own name
		}
		for d := dir; d != ContentDir && d != "." && d != "/"; d = path.Dir(d) {
			if !public[d] {
				errs.Add(diag.Errorf(p.Path, max(p.Front.Line("audience"), 1), "audience: the folder name %q would be published in this restricted page's URL, its section's list and the sitemap, and no public page or file names it: add %s/_index.md if the name may be public, or move the page to a public folder", path.Base(d), d))
				break
			}
		}
	}
	return errs.Err()
}

// bundleOf returns the restricted bundle whose folder holds p, or nil.
func bundleOf(bundles map[string]*Page, p string) *Page {
	if len(bundles) == 0 {
		return nil
	}
	for dir := path.Dir(p); dir != ContentDir && dir != "." && dir != "/"; dir = path.Dir(dir) {
		if b, ok := bundles[dir]; ok {
			return b
		}
	}
	return nil
}

// reserved are output paths that the build writes itself.
var reserved = map[string]string{
	"/tags/":                       "the tag index",
	"/404/":                        "the 404 page",
	"/css/":                        "the theme's styles",
	"/js/":                         "the theme's scripts",
	"/" + format.PacketDir + "/":   "sealed packets",
	"/feed.xml/":                   "the Atom feed",
	"/sitemap.xml/":                "the sitemap",
	"/" + format.ReleaseFile + "/": "the release's time",
}

func checkURLs(s *Site) error {
	var errs diag.List
	seen := map[string]*Page{}
	// Every section gets a list page at /<section>/.
	for _, p := range s.Pages {
		if p.Section != "" {
			if _, ok := seen["/"+p.Section+"/"]; !ok {
				seen["/"+p.Section+"/"] = &Page{Path: ContentDir + "/" + p.Section + "/ (the section's list)"}
			}
		}
	}
	for _, p := range s.Pages {
		if p.Kind == KindSection && !strings.Contains(strings.TrimPrefix(path.Dir(p.Path), ContentDir+"/"), "/") {
			continue // its own section's list
		}
		line := max(p.Front.Line("slug"), 1)
		if what, ok := reserved[p.URL]; ok || strings.HasPrefix(p.URL, "/tags/") {
			if !ok {
				what = "tag pages"
			}
			errs.Add(diag.Errorf(p.Path, line, "URL %s is reserved for %s; rename the file or set another slug", p.URL, what))
			continue
		}
		if prev, ok := seen[p.URL]; ok {
			errs.Add(diag.Errorf(p.Path, line, "URL %s is already used by %s; give one of them another slug", p.URL, prev.Path))
			continue
		}
		seen[p.URL] = p
	}
	for _, f := range s.Files {
		u := "/" + f.OutPath
		if prev, ok := seen[u+"/"]; ok {
			errs.Add(diag.Errorf(f.Path, 0, "output path %s collides with the page %s", f.OutPath, prev.Path))
		}
	}
	return errs.Err()
}

// walk visits every regular file under root/dir, calling visit with its
// slash path from root. Hidden files and folders (".git", ".DS_Store") and
// editor backups ("x.md~") are skipped. A symbolic link is followed only if
// it stays inside the site, out of hidden folders and out of the output
// folder out; any other link, or a loop, is an error. An error from visit
// is reported and ends the walk.
func walk(root, out, dir string, visit func(rel string) error) error {
	var errs diag.List
	absRoot, err := RealPath(root)
	if err != nil {
		return err
	}
	absOut, err := RealPath(out)
	if err != nil {
		return err
	}
	stopped := false
	var visitDir func(rel string, depth int)
	visitDir = func(rel string, depth int) {
		entries, err := os.ReadDir(joinPath(root, rel))
		if err != nil {
			errs.Add(diag.Errorf(rel, 0, "%v", unwrapPathError(err)))
			return
		}
		for _, e := range entries {
			if stopped {
				return
			}
			name := e.Name()
			if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") || strings.HasPrefix(name, "#") {
				continue
			}
			child := rel + "/" + name
			typ := e.Type()
			if typ&fs.ModeSymlink != 0 {
				target, err := filepath.EvalSymlinks(joinPath(absRoot, child))
				if err != nil {
					errs.Add(diag.Errorf(child, 0, "broken symbolic link: %v", unwrapPathError(err)))
					continue
				}
				if !Within(absRoot, target) {
					errs.Add(diag.Errorf(child, 0, "symbolic link leaves the site (points to %s); copy the file into the site instead", target))
					continue
				}
				if Within(absOut, target) {
					errs.Add(diag.Errorf(child, 0, "symbolic link points into the output folder (%s); link to the source instead", target))
					continue
				}
				if rel, _ := filepath.Rel(absRoot, target); hiddenPath(rel) {
					errs.Add(diag.Errorf(child, 0, "symbolic link points into a hidden file or folder (%s), which is never published", target))
					continue
				}
				info, err := os.Stat(target)
				if err != nil {
					errs.Add(diag.Errorf(child, 0, "%v", unwrapPathError(err)))
					continue
				}
				typ = info.Mode().Type()
			}
			switch {
			case typ.IsDir():
				if depth > 32 {
					errs.Add(diag.Errorf(child, 0, "folders nested too deep (a symbolic link loop?)"))
					continue
				}
				visitDir(child, depth+1)
			case typ.IsRegular():
				if dir != ContentDir {
					data, err := readChecked(joinPath(root, child), child, dir)
					if err != nil {
						errs.Add(err)
						continue
					}
					errs.Add(checkSecret(child, data))
				}
				if err := visit(child); err != nil {
					errs.Add(err)
					stopped = true
				}
			default:
				errs.Add(diag.Errorf(child, 0, "not a regular file or folder"))
			}
		}
	}
	visitDir(dir, 0)
	return errs.Err()
}

// RealPath returns the absolute path of p with symbolic links resolved.
// The part of p that does not exist yet is joined to its deepest existing
// ancestor, resolved.
func RealPath(p string) (string, error) {
	dir, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	for {
		_, err := os.Lstat(dir)
		if err == nil {
			real, err := filepath.EvalSymlinks(dir)
			if err != nil {
				return "", err
			}
			return filepath.Join(real, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(dir) == dir {
			return "", err
		}
		rest = filepath.Join(filepath.Base(dir), rest)
		dir = filepath.Dir(dir)
	}
}

// hiddenPath reports whether a relative path has a part starting with ".".
func hiddenPath(rel string) bool {
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if strings.HasPrefix(part, ".") && part != "." {
			return true
		}
	}
	return false
}

// Within reports whether path is dir or lies below it. Both are absolute
// and clean, and neither is resolved through symbolic links.
func Within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func checkSecret(rel string, data []byte) error {
	if line, what, ok := secret.Find(data); ok {
		return diag.Errorf(rel, line, "holds %s: secrets never belong in a site (move it out, and treat it as exposed if it was ever committed or published)", what)
	}
	return nil
}

// joinPath joins the site root and a slash path from it.
func joinPath(root, rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }

// Slugify turns a tag or title into a URL path segment: lower-case letters
// and digits, other runs of characters replaced by one hyphen.
func Slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

// TitleFromName makes a title from a file or folder name: "board-notes"
// gives "Board notes".
func TitleFromName(name string) string {
	name = strings.NewReplacer("-", " ", "_", " ").Replace(name)
	r := []rune(name)
	if len(r) > 0 {
		r[0] = unicode.ToUpper(r[0])
	}
	return string(r)
}

// checkNesting refuses the first line of body (which starts on line
// bodyLine of the file rel) whose start nests deeper than MaxNesting: its
// block quote markers (">") and list markers ("-", "+", "*", "1." or "1)"
// followed by a space or the end of the line), one level each, and its
// indentation, one level for every two columns (a tab reaches the next
// multiple of 4), which is the least a nested list is indented by (a
// space after a marker is part of it). So a line is refused past 64
// markers, or 128 columns of indentation (a line
// of white space only is blank, whatever its length). It is
// one pass over the starts of lines, before the markdown parser, whose
// time per line grows with the blocks open around it: the parser stops at
// the same depth however it is reached (lazy continuation lines, nested
// restricted blocks).
func checkNesting(rel string, body []byte, bodyLine int) error {
	line := bodyLine
	for len(body) > 0 {
		end := bytes.IndexByte(body, '\n')
		if end < 0 {
			end = len(body)
		}
		if markers, cols := linePrefix(body[:end]); markers+cols/2 > MaxNesting && len(bytes.TrimSpace(body[:end])) > 0 {
			var parts []string
			if cols > 0 {
				parts = append(parts, fmt.Sprintf("%d columns of indentation", cols))
			}
			if markers == 1 {
				parts = append(parts, "1 block quote or list marker")
			} else if markers > 1 {
				parts = append(parts, fmt.Sprintf("%d block quote and list markers", markers))
			}
			what := strings.Join(parts, " and ")
			return diag.Errorf(rel, line, "nested too deep: the line starts with %s, more than %d levels of nesting (each marker, and every 2 columns of indentation, count as one); "+
				"at most %d levels of quotes and lists may nest, as the markdown parser slows down with depth", what, MaxNesting, MaxNesting)
		}
		if end == len(body) {
			break
		}
		body = body[end+1:]
		line++
	}
	return nil
}

// linePrefix measures the start of a markdown line: the number of block
// quote and list markers, and the columns of white space, before anything
// else; a space after a marker belongs to the marker. It stops as soon as
// the count is past MaxNesting.
func linePrefix(l []byte) (markers, cols int) {
	i := 0
	for i < len(l) && markers+cols/2 <= MaxNesting {
		switch c := l[i]; {
		case c == ' ':
			cols++
			i++
		case c == '\t':
			cols += 4 - cols%4
			i++
		case c == '>':
			markers++
			i = skipSpace(l, i+1)
		case c == '-' || c == '+' || c == '*':
			if i+1 < len(l) && l[i+1] != ' ' && l[i+1] != '\t' {
				return markers, cols
			}
			markers++
			i = skipSpace(l, i+1)
		case c >= '0' && c <= '9':
			j := i
			for j < len(l) && j-i < 9 && l[j] >= '0' && l[j] <= '9' {
				j++
			}
			if j >= len(l) || (l[j] != '.' && l[j] != ')') || (j+1 < len(l) && l[j+1] != ' ' && l[j+1] != '\t') {
				return markers, cols
			}
			markers++
			i = skipSpace(l, j+1)
		default:
			return markers, cols
		}
	}
	return markers, cols
}

// skipSpace skips the space at l[i], if there is one.
func skipSpace(l []byte, i int) int {
	if i < len(l) && l[i] == ' ' {
		return i + 1
	}
	return i
}

// Fingerprint identifies the version of a streamed file without reading
// it, as git's index and make do: its size, time of change, and where the
// system has them its inode and inode change time. ok is false for a
// file changed in the last few seconds, whose fingerprint a change within
// the same clock tick would not alter (git's "racy" files): it must be
// read to be known.
func (f File) Fingerprint() (fp string, ok bool) {
	info, err := os.Lstat(joinPath(f.root, f.Path))
	if err != nil || !info.Mode().IsRegular() || info.Size() != f.Size {
		return "", false
	}
	if time.Since(info.ModTime()) < racyFile {
		return "", false
	}
	return fmt.Sprintf("s%d m%d %s", info.Size(), info.ModTime().UnixNano(), statID(info)), true
}

// racyFile is how recent a change makes a file's fingerprint untrusted.
const racyFile = 3 * time.Second
