package site

import (
	"bytes"
	"reflect"
	"time"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// Read is a page as a [PageCache] holds it, in a form that can be
// saved (with encoding/gob) and given to the cache of a later process
// ([PageCache.Import]): its file's digest instead of its bytes, and its
// body as where it starts in the file's text. Nothing in it is nil where
// the page holds an empty value, or the other way round: each list and
// time says whether it is set.
//
// It holds the front matter of restricted pages (titles, audiences):
// whoever saves it keeps it where those may be kept.
type Read struct {
	Path     string
	Digest   [32]byte
	BodyAt   int // where the body starts in the text (see normalizeText)
	Kind     Kind
	Section  string
	URL      string
	BodyLine int

	Title, Summary, Slug string
	Tags, Audience       readList
	Date, Embargo        readTime
	Draft, Lifted        bool
	Weight               int
	TLP, After           tlp.Label
	Lines                [len(frontKeys)]int32

	Warnings []readWarning
}

// readList is a list of strings, and whether it is set (an empty list
// is not nil: "audience: []" is not "no audience").
type readList struct {
	Set   bool
	Items []string
}

// readTime is a time as Read keeps it: the instant, and the zone it is
// shown in. Only a time in UTC or in a fixed zone is kept (see
// toReadTime); Local depends on the process.
type readTime struct {
	Set    bool
	Unix   int64 // nanoseconds since 1970, if Set
	UTC    bool  // in time.UTC; else in the fixed zone below
	Zone   string
	Offset int
}

// readWarning is a warning of a page as read.
type readWarning struct {
	File      string
	Line, Col int
	Msg       string
}

func toReadList(l []string) readList { return readList{Set: l != nil, Items: l} }

func (l readList) list() []string {
	if !l.Set {
		return nil
	}
	if l.Items == nil {
		return []string{}
	}
	return l.Items
}

func toReadTime(t time.Time) readTime {
	if t.IsZero() && t.Location() == time.UTC {
		return readTime{}
	}
	name, offset := t.Zone()
	return readTime{Set: true, Unix: t.UnixNano(), UTC: t.Location() == time.UTC, Zone: name, Offset: offset}
}

func (r readTime) time() time.Time {
	switch {
	case !r.Set:
		return time.Time{}
	case r.UTC:
		return time.Unix(0, r.Unix).UTC()
	}
	return time.Unix(0, r.Unix).In(time.FixedZone(r.Zone, r.Offset))
}

// toRead returns cp, a page parsed from cp.raw, as a Read, or nil if the
// Read would not give cp's page back as it is (see fromRead): if its body
// is not the end of its text (bodyAt), or it holds a time out of the
// range of UnixNano or in the local zone, or a warning with an error in
// it.
func toRead(cp *cachedPage) *Read {
	if cp.raw == nil {
		return nil
	}
	at := bodyAt(cp.raw, cp.page.Body)
	if at < 0 {
		return nil
	}
	p := &cp.page
	f := &p.Front
	r := Read{
		Path: p.Path, Digest: p.Digest, BodyAt: at, Kind: p.Kind, Section: p.Section, URL: p.URL, BodyLine: p.BodyLine,
		Title: f.Title, Summary: f.Summary, Slug: f.Slug, Tags: toReadList(f.Tags), Audience: toReadList(f.Audience),
		Date: toReadTime(f.Date), Embargo: toReadTime(f.Embargo), Draft: f.Draft, Lifted: f.Lifted, Weight: f.Weight,
		TLP: f.TLP, After: f.After, Lines: f.lines,
	}
	for _, w := range cp.warns {
		if w.Err != nil {
			return nil
		}
		r.Warnings = append(r.Warnings, readWarning{w.File, w.Line, w.Col, w.Msg})
	}
	back := fromRead(r)
	// Every field, compared: what the page would be if read from r is
	// what it is (Body aside: it comes from the file's text).
	back.page.Body = p.Body
	if !reflect.DeepEqual(back.page, cp.page) || !reflect.DeepEqual(back.warns, cp.warns) ||
		!sameTime(back.page.Front.Date, f.Date) || !sameTime(back.page.Front.Embargo, f.Embargo) {
		return nil
	}
	return &r
}

// sameTime reports whether a and b are the same instant, shown the same
// way: same zone name and offset, and both in UTC or neither.
func sameTime(a, b time.Time) bool {
	an, ao := a.Zone()
	bn, bo := b.Zone()
	return a.Equal(b) && an == bn && ao == bo && (a.Location() == time.UTC) == (b.Location() == time.UTC) &&
		a.Location() != time.Local && b.Location() != time.Local
}

// fromRead returns the cache's entry for r, without its file's bytes:
// the next Load reads the file, and takes the page if its digest is r's.
func fromRead(r Read) *cachedPage {
	cp := &cachedPage{read: &r, page: Page{
		Path: r.Path, Kind: r.Kind, Section: r.Section, URL: r.URL, BodyLine: r.BodyLine, Digest: r.Digest,
		Front: Front{
			Title: r.Title, Summary: r.Summary, Slug: r.Slug, Tags: r.Tags.list(), Audience: r.Audience.list(),
			Date: r.Date.time(), Embargo: r.Embargo.time(), Draft: r.Draft, Lifted: r.Lifted, Weight: r.Weight,
			TLP: r.TLP, After: r.After, lines: r.Lines,
		},
	}}
	for _, w := range r.Warnings {
		cp.warns = append(cp.warns, &diag.Warning{File: w.File, Line: w.Line, Col: w.Col, Msg: w.Msg})
	}
	return cp
}

// bodyAt returns where body starts in data's text (see normalizeText),
// or -1 if body is not the end of it.
func bodyAt(data, body []byte) int {
	text := normalizeText(data)
	at := len(text) - len(body)
	if at < 0 || !bytes.Equal(text[at:], body) {
		return -1
	}
	return at
}

// Export gives yield the pages the cache holds, as read, for a later
// process's cache (see Import), until yield returns false. A page that a
// Read cannot give back as it is (see toRead) is left out, and read
// again by that process. The Reads are made as they are given: a cache
// of 50,000 pages is not held twice.
func (c *PageCache) Export(yield func(Read) bool) {
	if c == nil {
		return
	}
	c.mu.RLock()
	pages := make([]*cachedPage, 0, len(c.pages))
	for _, cp := range c.pages {
		pages = append(pages, cp)
	}
	c.mu.RUnlock()
	for _, cp := range pages {
		r := cp.read
		if r == nil {
			r = toRead(cp)
		}
		if r != nil && !yield(*r) {
			return
		}
	}
}

// Import adds pages exported by another process's cache (see Export),
// to be taken by Load if their files' digests are the same: the next
// Load reads every file, and parses again only those that changed. The
// Reads must come from a program that parses as this one does (the same
// build of conclave): Load takes them as they are.
func (c *PageCache) Import(rs []Read) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pages == nil {
		c.pages = make(map[string]*cachedPage, len(rs))
	}
	for _, r := range rs {
		if r.BodyAt < 0 {
			continue
		}
		c.pages[r.Path] = fromRead(r)
	}
}
