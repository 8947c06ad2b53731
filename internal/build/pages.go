package build

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/gob"
	"fmt"
	"io"
	"iter"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/cache"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/render"
	"github.com/conclave-dev/conclave/internal/seal"
	"github.com/conclave-dev/conclave/internal/search"
	"github.com/conclave-dev/conclave/internal/site"
)

// PagesFile is the cache file of page records in the site's .conclave
// folder.
const PagesFile = "pages.cache"

// pagesVersion changes whenever a record's meaning changes.
const pagesVersion = 11

// pageRecord is what a build keeps of one page, so that the next build can
// publish it again without parsing or rendering it: the HTML is read back
// from the previous output, checked against its digest, and everything
// the lists, the leak scan and the keyrings need comes from the record.
//
// A record is used only if the page's file, and everything every page
// depends on (the site digest), are as they were: any other change
// renders the page anew. Records hold restricted text (for the leak
// scan), so they live in an encrypted cache file.
type pageRecord struct {
	Key   [sha256.Size]byte // the page as read: see pageKey
	Out   string            // output path of the page's HTML; "" for an intro
	Sum   [sha256.Size]byte // digest of that HTML as written
	View  *render.PageView  // for lists, the feed and the sitemap
	Intro *render.Intro     // for a home or section intro
	Links []markdown.Link
	// PrivateIDs are the IDs of the headings inside restricted blocks.
	PrivateIDs []string
	// Cuts are the byte ranges of the body that restricted blocks hold:
	// the rest is public text, for the leak scan.
	Cuts   [][2]int
	Public []string // the public headings' text and IDs, and the summary
	// Names are the words of the public text that look like file names
	// (see fileNames); Mentions those of the restricted text.
	Names    []string
	Mentions []nameAt
	Sealed   []seal.Record
	// Search is the page's entry in the public search index; nil for an
	// intro, a page restricted as a whole, or a site without search.
	Search *search.Doc
	// Embargoes are the page's, each lifted or not when the record was
	// made: a record whose embargoes lift otherwise now is not used.
	Embargoes []markdown.Embargo

	// resolved are its links as resolved for the build that made the
	// record, or the first that used it: the same for every build that
	// uses it. Kept only by a session's records; not saved.
	resolved *resolvedLinks
}

// listRecord is what a build keeps of a list page (home, section, tag):
// the digest of its data (see render.Reuse) and of its HTML.
type listRecord struct {
	Digest, Sum [sha256.Size]byte
}

// pagesData is the content of the pages cache.
type pagesData struct {
	Version int
	Site    [sha256.Size]byte // see siteDigest
	Pages   map[string]*pageRecord
	Lists   map[string]listRecord // by output path
	Scan    scanRecord            // the leak scan's; empty if it found nothing to look for
	// Search are the sealed indexes, by audience ID.
	Search map[string]sealedSearch
	// Stamps are the stamps (see output.Stamp) of the files the records
	// name (pages, intros' lists, lists), as they were once the build was
	// in place: such a file whose stamp is the same is published again
	// without being read (see builder.take). Saved after the records.
	Stamps map[string]output.Stamp

	// stamped gives Stamps when the build is in place, for savePages;
	// nil: no stamps, as for a build that was not put in place.
	stamped func() map[string]output.Stamp
}

// loadPages reads the page records of the site at src, or returns nil when
// there is no key, no file, or a file the key cannot read (then with a
// warning). A .conclave or page cache that is a symbolic link, or not a
// folder or regular file, is a located error, as for the seal cache (see
// seal.RefusedCache).
func loadPages(src string, key []byte) (*pagesData, string, error) {
	if key == nil {
		return nil, "", nil
	}
	dir := filepath.Join(src, CacheDir)
	path := filepath.Join(dir, PagesFile)
	var d pagesData
	stale := false
	found, err := cache.LoadStream(path, key, func(dec *gob.Decoder) error {
		var h pagesHeader
		if err := dec.Decode(&h); err != nil {
			return err
		}
		if h.Version != pagesVersion {
			stale = true // another version's records: not read
			return nil
		}
		d = pagesData{Version: h.Version, Site: h.Site, Lists: h.Lists, Scan: h.Scan, Search: h.Search, Pages: make(map[string]*pageRecord, h.Records)}
		vocab := search.NewVocabulary(h.Words)
		members := make(map[string][]string, len(h.Audiences))
		for _, a := range h.Audiences {
			members[a.ID] = a.Members
		}
		for range h.Records {
			var e pageEntry
			if err := dec.Decode(&e); err != nil {
				return err
			}
			if err := e.Record.adopt(vocab); err != nil {
				return err
			}
			if err := e.Record.withMembers(members); err != nil {
				return err
			}
			d.Pages[e.Path] = e.Record
		}
		var t pagesTrailer
		if err := dec.Decode(&t); err != nil {
			return err
		}
		d.Stamps = t.Stamps
		return nil
	})
	if u, ok := err.(*cache.UnreadableError); ok {
		return nil, fmt.Sprintf("ignoring the page cache %s (%v): every page is rendered anew", path, u), nil
	}
	if err != nil || !found || stale || d.Pages == nil {
		return nil, "", seal.RefusedCache(dir, err)
	}
	return &d, "", nil
}

// pagesHeader is the first value of the page cache; its records follow,
// a value each (see cache.SaveStream). Files of an earlier version, one
// pagesData, decode as a header of their version, and are not read on.
type pagesHeader struct {
	Version int
	Site    [sha256.Size]byte
	Lists   map[string]listRecord
	Records int
	// Words are the search terms the records' entries number (see
	// search.Terms).
	Words  []string
	Scan   scanRecord
	Search map[string]sealedSearch
	// Audiences are the audiences of the records' passages, each once:
	// the records name them by ID alone (see pageRecord.slim). Most of
	// the records' bytes were their members' names, once a passage.
	Audiences []seal.Audience
}

// slim returns r as the page cache keeps it: its passages' audiences by
// ID alone, their members in the cache's header (see withMembers). r is
// not changed: the build still reads it.
func (r *pageRecord) slim() *pageRecord {
	if r == nil || len(r.Sealed) == 0 {
		return r
	}
	s := *r
	s.Sealed = slices.Clone(r.Sealed)
	for i := range s.Sealed {
		s.Sealed[i].Audience.Members = nil
	}
	return &s
}

// withMembers gives the passages of r, read from the page cache, the
// members of their audiences, by ID.
func (r *pageRecord) withMembers(members map[string][]string) error {
	if r == nil {
		return nil
	}
	for i := range r.Sealed {
		m, ok := members[r.Sealed[i].Audience.ID]
		if !ok {
			return fmt.Errorf("a passage's audience %.8s… is not among the cache's audiences", r.Sealed[i].Audience.ID)
		}
		r.Sealed[i].Audience.Members = m
	}
	return nil
}

// adopt numbers the search terms of r, read from the page cache, in this
// process (see search.Terms.Adopt).
func (r *pageRecord) adopt(v *search.Vocabulary) error {
	if r == nil {
		return nil // not used (see pagesData.reusable)
	}
	if r.Search != nil {
		if err := r.Search.TF.Adopt(v); err != nil {
			return err
		}
	}
	for _, s := range r.Sealed {
		if s.Search != nil {
			if err := s.Search.TF.Adopt(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// outputs are the output paths of the files the records name: the pages'
// HTML and the lists.
func (d *pagesData) outputs() []string {
	out := make([]string, 0, len(d.Pages)+len(d.Lists))
	for _, r := range d.Pages {
		if r != nil && r.Out != "" {
			out = append(out, r.Out)
		}
	}
	for p := range d.Lists {
		out = append(out, p)
	}
	return out
}

// pagesTrailer is the last value of the page cache.
type pagesTrailer struct {
	Stamps map[string]output.Stamp
}

// pageEntry is a page's record in the page cache.
type pageEntry struct {
	Path   string
	Record *pageRecord
}

// savePages writes the records of a build, never through a link.
func savePages(src string, key []byte, d *pagesData) error {
	dir := filepath.Join(src, CacheDir)
	return seal.RefusedCache(dir, cache.SaveStream(filepath.Join(dir, PagesFile), key, func(enc *gob.Encoder) error {
		// Every term the records number was numbered before this: the
		// dictionary's words now hold them all.
		auds := map[string]seal.Audience{}
		for _, r := range d.Pages {
			if r == nil {
				continue
			}
			for _, s := range r.Sealed {
				auds[s.Audience.ID] = s.Audience
			}
		}
		h := pagesHeader{Version: d.Version, Site: d.Site, Lists: d.Lists, Records: len(d.Pages), Words: search.Words(), Scan: d.Scan, Search: d.Search}
		for _, id := range slices.Sorted(maps.Keys(auds)) {
			h.Audiences = append(h.Audiences, auds[id])
		}
		if err := enc.Encode(h); err != nil {
			return err
		}
		for _, p := range slices.Sorted(maps.Keys(d.Pages)) {
			if err := enc.Encode(pageEntry{p, d.Pages[p].slim()}); err != nil {
				return err
			}
		}
		var t pagesTrailer
		if d.stamped != nil {
			t.Stamps = d.stamped()
		}
		return enc.Encode(t)
	}))
}

// reusable returns the record of the page at path if the page may be
// published again: its record matches key, and the seal cache still holds
// its packets. Whether the last build's output still holds its HTML as
// written is the caller's to check (builder.take).
func (d *pagesData) reusable(path string, key [sha256.Size]byte, c *seal.Cache) *pageRecord {
	if d == nil {
		return nil
	}
	rec := d.Pages[path]
	if rec == nil || rec.Key != key {
		return nil
	}
	for _, r := range rec.Sealed {
		if !c.Has(r) {
			return nil
		}
	}
	return rec
}

// pageKey identifies a page as read: its path and place, and its file's
// digest, which covers its front matter and body (see
// TestPageKeyCoversFront).
func pageKey(p *site.Page) [sha256.Size]byte {
	b := make([]byte, 0, 128)
	b = append(append(b, p.Path...), 0)
	b = append(strconv.AppendInt(b, int64(p.Kind), 10), 0)
	b = append(append(b, p.Section...), 0)
	b = append(append(b, p.URL...), 0)
	b = append(strconv.AppendInt(b, int64(p.BodyLine), 10), 0)
	return sha256.Sum256(append(b, p.Digest[:]...))
}

// siteDigest is a digest of what every page depends on besides its own
// file: the program, the configuration, the theme's layouts, the
// recipients, their keys (passphrases included) and groups, and the shape of the site (every page's path and
// URL, the intros that title the sections, the content files). A change to
// any of them renders every page anew. The records of the author's preview
// (preview) never match a published build's, nor the other way round.
func siteDigest(s *site.Site, theme *render.Theme, reg *audience.Registry, preview bool) ([sha256.Size]byte, error) {
	h := sha256.New()
	fmt.Fprintf(h, "conclave pages v%d\x00", pagesVersion)
	if preview {
		h.Write([]byte("author preview\x00"))
	}
	prog, err := programDigest()
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	h.Write(prog[:])
	if err := hashFile(h, filepath.Join(s.Root, site.ConfigFile)); err != nil {
		return [sha256.Size]byte{}, err
	}
	d := theme.Digest()
	h.Write(d[:])
	for _, r := range reg.Recipients() {
		fmt.Fprintf(h, "r %s", r.Name)
		for _, k := range r.Keys {
			fmt.Fprintf(h, " %s", k.ID()) // a new passphrase is a new key
		}
		h.Write([]byte{0})
	}
	for _, g := range reg.Groups() {
		fmt.Fprintf(h, "g %s %s\x00", g.Name, strings.Join(g.Members, ","))
	}
	// The pages and files, a line each, written without fmt: a preview
	// server works this out after every save.
	b := make([]byte, 0, 64*(len(s.Pages)+len(s.Files)))
	for _, p := range s.Pages {
		b = append(append(append(append(append(b, "p "...), p.Path...), ' '), p.URL...), 0)
		if !p.Front.Embargo.IsZero() {
			// A page restricted as a whole that is published changes
			// the lists and pages around it.
			b = append(strconv.AppendBool(append(b, "e "...), p.Front.Lifted), 0)
		}
		if p.Kind != site.KindPage {
			k := pageKey(p)
			b = append(b, k[:]...)
		}
	}
	for _, p := range s.DraftPages {
		b = append(append(append(b, "d "...), p.Path...), 0)
	}
	for _, f := range s.Files {
		b = append(append(append(b, "f "...), f.Path...), 0)
	}
	h.Write(b)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum, nil
}

// programDigest is the digest of this program, worked out once per
// process (a preview server builds again after every save): the code
// running cannot change while the process lives, whatever later happens
// to its file. It is the digest of the Go build ID its executable
// carries (see goBuildID), which the go command derives from the
// executable's contents, or else of the executable's bytes: reading
// and hashing all of them took about 45 ms of every build.
var programDigest = sync.OnceValues(func() ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	exe, err := os.Executable()
	if err == nil {
		h := sha256.New()
		if id, ok := goBuildID(exe); ok {
			io.WriteString(h, "go build ID\x00"+id)
		} else {
			err = hashFile(h, exe)
		}
		h.Sum(sum[:0])
	}
	if err != nil {
		return sum, fmt.Errorf("page cache: reading this program: %w", err)
	}
	return sum, nil
})

// goBuildID returns the Go build ID in the ELF note of the executable at
// exe, as go tool buildid prints it; false if it has none (a program
// linked with -buildid= or by another tool chain, or not ELF). The go
// command writes into the ID a digest of the executable's contents (the
// ID aside): another program has another ID.
func goBuildID(exe string) (string, bool) {
	f, err := elf.Open(exe)
	if err != nil {
		return "", false
	}
	defer f.Close()
	s := f.Section(".note.go.buildid")
	if s == nil {
		return "", false
	}
	data, err := s.Data()
	if err != nil || len(data) < 16 {
		return "", false
	}
	// An ELF note: name size, description size, type, then the name
	// ("Go", padded to 4 bytes) and the description, the ID.
	order := f.ByteOrder
	nameSize, descSize, kind := order.Uint32(data), order.Uint32(data[4:]), order.Uint32(data[8:])
	const goBuildIDNote = 4
	if nameSize != 4 || kind != goBuildIDNote || string(data[12:16]) != "Go\x00\x00" || descSize == 0 || uint64(descSize) > uint64(len(data)-16) {
		return "", false
	}
	return string(data[16 : 16+descSize]), true
}

func hashFile(h io.Writer, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(h, f)
	return err
}

// ReadFile is the cache file, in the site's .conclave folder, of the
// pages as the last build read them (see site.Read): the next build
// reads every page's file, and checks and parses again only those whose
// bytes changed. It holds restricted pages' front matter, encrypted as
// the page records are.
const ReadFile = "read.cache"

// readVersion changes whenever site.Read's meaning changes.
const readVersion = 2

// readHeader is the first value of the read cache; the pages follow, a
// value each, then a Read without a path. Pages read by another program
// are not taken: it may not parse as this one does.
type readHeader struct {
	Version int
	Program [sha256.Size]byte
}

// loadRead returns a page cache holding the pages the last build of the
// site at src read, or an empty one if the read cache is missing, stale,
// or does not open with key (the page cache says so: see loadPages). A
// .conclave or read cache that is a symbolic link, or not a folder or
// regular file, is a located error.
func loadRead(src string, key []byte) (*site.PageCache, error) {
	c := &site.PageCache{}
	prog, err := programDigest()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(src, CacheDir)
	var pages []site.Read
	_, err = cache.LoadStream(filepath.Join(dir, ReadFile), key, func(dec *gob.Decoder) error {
		var h readHeader
		if err := dec.Decode(&h); err != nil {
			return err
		}
		if h.Version != readVersion || h.Program != prog {
			return nil
		}
		for {
			var r site.Read
			if err := dec.Decode(&r); err != nil {
				return err
			}
			if r.Path == "" {
				return nil
			}
			pages = append(pages, r)
		}
	})
	if _, ok := err.(*cache.UnreadableError); ok {
		return c, nil
	}
	if err != nil {
		return nil, seal.RefusedCache(dir, err)
	}
	c.Import(pages)
	return c, nil
}

// saveRead writes the pages c holds, as read, never through a link.
func saveRead(src string, key []byte, c *site.PageCache) error {
	prog, err := programDigest()
	if err != nil {
		return err
	}
	return writeRead(src, key, prog, c.Export)
}

// writeRead writes pages, as the program whose digest is prog read them.
func writeRead(src string, key []byte, prog [sha256.Size]byte, pages iter.Seq[site.Read]) error {
	dir := filepath.Join(src, CacheDir)
	return seal.RefusedCache(dir, cache.SaveStream(filepath.Join(dir, ReadFile), key, func(enc *gob.Encoder) error {
		if err := enc.Encode(readHeader{Version: readVersion, Program: prog}); err != nil {
			return err
		}
		for r := range pages {
			if r.Path == "" {
				continue // it would end the pages
			}
			if err := enc.Encode(&r); err != nil {
				return err
			}
		}
		return enc.Encode(site.Read{})
	}))
}
