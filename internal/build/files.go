package build

import (
	"bytes"
	"html"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/site"
)

// linkUse gathers how the published pages link to the site's content
// files and to each other, so that no file that only restricted text uses
// is published in clear, and no public link repeats what a restricted
// passage or page holds (a heading's ID, a page's title).
// Every page goes through [linkUse.note], whether it was parsed by this
// build or published again from its record: the rule holds on a cold
// build, a cached build and in serve alike. It is safe for concurrent use.
//
// A file is used by restricted text when restricted text links to it, or
// names it (its file name appears in the passage's source: an HTML link, a
// site-absolute or full URL, a mention). It is public when public text
// links to it or names it.
type linkUse struct {
	site *site.Site

	mu       sync.Mutex
	linked   map[string]bool   // files public text links to
	publicTo []fileUse         // links from public text to files of restricted bundles
	named    map[string]bool   // lower-case file names public text mentions
	private  []fileUse         // links from restricted text to files
	mentions map[string]placed // lower-case file name → first mention in restricted text

	files       map[string]bool            // the lower-case file names of the site's content files
	publicLinks map[string][]markdown.Link // page → its public links to pages and anchors
	privateIDs  map[string][]string        // page → the IDs of its restricted headings

	// keep: records keep their links as resolved, for a session's next
	// build (see pageRecord.resolved).
	keep bool
}

// fileUse is a link from text to a content file.
type fileUse struct {
	file string
	at   placed
}

// placed is a line of a page.
type placed struct {
	page string
	line int
}

func newLinkUse(s *site.Site, keep bool) *linkUse {
	return &linkUse{site: s, linked: map[string]bool{}, named: map[string]bool{}, mentions: map[string]placed{},
		publicLinks: make(map[string][]markdown.Link, len(s.Pages)), privateIDs: map[string][]string{}, files: contentFileNames(s), keep: keep}
}

// contentFileNames returns the lower-case file names of the site's content
// files: the only names in text that linkUse counts.
func contentFileNames(s *site.Site) map[string]bool {
	names := make(map[string]bool, len(s.Files))
	for _, f := range s.Files {
		names[strings.ToLower(path.Base(f.Path))] = true
	}
	return names
}

// note records the links of page p, the names of the site's files its
// text mentions and the IDs of its restricted headings, from its record
// (whose Names and Mentions pageNames made).
func (u *linkUse) note(p *site.Page, rec *pageRecord) {
	l := rec.resolved
	if l == nil {
		l = u.resolve(p, rec.Links)
		if u.keep {
			rec.resolved = l
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(l.toPages) > 0 {
		u.publicLinks[p.Path] = l.toPages
	}
	if len(rec.PrivateIDs) > 0 {
		u.privateIDs[p.Path] = rec.PrivateIDs
	}
	u.private = append(u.private, l.private...)
	for _, l := range l.linked {
		u.linked[l.file] = true
		if u.site.Bundle(l.file) != nil {
			u.publicTo = append(u.publicTo, l)
		}
	}
	// Only the names of the site's files matter.
	for _, name := range rec.Names {
		if u.files[name] {
			u.named[name] = true
		}
	}
	for _, m := range rec.Mentions {
		if prev, ok := u.mentions[m.Name]; u.files[m.Name] && (!ok || p.Path < prev.page) {
			u.mentions[m.Name] = placed{p.Path, m.Line}
		}
	}
}

// resolvedLinks are a page's links as [linkUse.note] reads them: those
// to pages and anchors, and those to the site's files, from public and
// from restricted text.
type resolvedLinks struct {
	toPages         []markdown.Link
	private, linked []fileUse
}

// resolve sorts the links of page p. What a link resolves to depends on
// the page's path and the site's files, which a record that applies has
// the same (see pageKey and siteDigest): a record keeps them.
func (u *linkUse) resolve(p *site.Page, links []markdown.Link) *resolvedLinks {
	r := &resolvedLinks{}
	for _, l := range links {
		if !l.Restricted && (l.Dest[0] == '#' || strings.Contains(l.Dest, ".md")) {
			r.toPages = append(r.toPages, l)
		}
		f, ok := u.site.FileTarget(p, l.Dest)
		if !ok {
			continue
		}
		use := fileUse{file: f, at: placed{p.Path, l.Line}}
		if l.Restricted {
			r.private = append(r.private, use)
		} else {
			r.linked = append(r.linked, use)
		}
	}
	return r
}

// nameAt is a file name that restricted text mentions, and the line of
// its first mention.
type nameAt struct {
	Name string
	Line int
}

// pageNames returns the words that look like file names in the public
// text of page p (its body without the cuts) and, with the line of their
// first mention, in its restricted text, for the page's record.
func pageNames(p *site.Page, cuts [][2]int) (public []string, restricted []nameAt) {
	for name := range fileNames(markdown.Cut(p.Body, cuts), p.BodyLine) {
		public = append(public, name)
	}
	slices.Sort(public)
	first := map[string]int{}
	for _, c := range cuts {
		lo, hi := min(c[0], len(p.Body)), min(c[1], len(p.Body))
		line := p.BodyLine + bytes.Count(p.Body[:lo], []byte("\n"))
		for name, l := range fileNames(p.Body[lo:hi], line) {
			if _, seen := first[name]; !seen {
				first[name] = l
			}
		}
	}
	for name, line := range first {
		restricted = append(restricted, nameAt{name, line})
	}
	slices.SortFunc(restricted, func(a, b nameAt) int { return strings.Compare(a.Name, b.Name) })
	return public, restricted
}

// Attachments returns the content files of site s that a build seals as
// attachments (DESIGN §2), given every published page parsed with s as
// its resolver (docs), by the rules a build applies (see linkUse.check),
// and their located refusals. conclave audit lists them.
func Attachments(s *site.Site, conv *markdown.Converter, docs []*markdown.Doc) (map[string]bool, error) {
	u := newLinkUse(s, false)
	for _, d := range docs {
		rec := &pageRecord{Links: d.Links, Cuts: d.Cuts(), PrivateIDs: d.PrivateIDs}
		rec.Names, rec.Mentions = pageNames(d.Page, rec.Cuts)
		u.note(d.Page, rec)
	}
	return u.check(draftOnlyFiles(s, conv, u.used()))
}

// used returns the content files that published text links to, public
// or restricted.
func (u *linkUse) used() map[string]bool {
	out := make(map[string]bool, len(u.linked)+len(u.private))
	for f := range u.linked {
		out[f] = true
	}
	for _, l := range u.private {
		out[l.file] = true
	}
	return out
}

// check finds the attachments (DESIGN §2): the content files that
// restricted text links to and public text does not, and the files of
// page bundles restricted as a whole. They are sealed, not published in
// clear. It refuses what would tell of an attachment in public, or
// publish in clear a file that only restricted text uses:
//   - public text that names an attachment's file name, or links to a
//     file of a restricted bundle;
//   - restricted text that names a content file (in an HTML link, a URL,
//     a mention) that neither it nor public text links to: the file would
//     be published in clear, as it is.
//
// leaveOut are files the build does not publish (those of drafts).
func (u *linkUse) check(leaveOut map[string]bool) (map[string]bool, error) {
	var errs diag.List
	attached := map[string]bool{}
	for _, f := range u.site.Files {
		if u.site.Bundle(f.Path) != nil {
			attached[f.Path] = true
		}
	}
	for _, l := range u.private {
		if !u.linked[l.file] && !leaveOut[l.file] {
			attached[l.file] = true
		}
	}
	named := map[string]bool{} // refused already
	for _, l := range u.private {
		name := strings.ToLower(path.Base(l.file))
		if attached[l.file] && u.named[name] && !named[l.file] {
			named[l.file] = true
			errs.Add(diag.Errorf(l.at.page, l.at.line, "restricted text links to %s, which is sealed with it as an attachment, but public text names %s: the name would tell of it in public; write the public text without it, or link the file from public text if it may be public", l.file, path.Base(l.file)))
		}
	}
	for _, l := range u.publicTo {
		if b := u.site.Bundle(l.file); b != nil {
			errs.Add(diag.Errorf(l.at.page, l.at.line, "public text links to %s, a file of %s, a page bundle restricted as a whole, whose files are sealed: the link would publish its folder's name; move the file out of the bundle's folder if it may be public", l.file, b.Path))
		}
	}
	const fix = "link to it from the passage (a markdown link or image) to seal it as an attachment, or link it from public text if it may be public"
	for _, f := range u.site.Files {
		name := strings.ToLower(path.Base(f.Path))
		at, ok := u.mentions[name]
		if !ok || attached[f.Path] || leaveOut[f.Path] || u.linked[f.Path] || u.named[name] {
			continue
		}
		errs.Add(diag.Errorf(at.page, at.line, "restricted text names %s, a file of the site that no markdown link seals and public text neither links to nor names, so it would be published in clear: %s", f.Path, fix))
	}
	return attached, errs.Err()
}

// checkAnchors refuses public links that repeat what restricted text
// holds: a link to the ID of a heading inside a restricted passage (the ID
// is the heading's words), and a link to a page restricted as a whole
// whose text holds that page's title. Either would publish in the public
// page what only the passage's or the page's readers may see.
func (u *linkUse) checkAnchors() error {
	// Only links to pages with restricted headings, or to pages restricted
	// as a whole, can repeat what they hold: with none, no link is
	// resolved.
	sensitive := len(u.privateIDs) > 0 || slices.ContainsFunc(u.site.Pages, func(p *site.Page) bool { return p.Front.Audience != nil })
	if !sensitive {
		return nil
	}
	var errs diag.List
	for from, links := range u.publicLinks {
		page := u.site.Page(from)
		for _, l := range links {
			target, fragment := u.site.PageTarget(page, l.Dest)
			if target == nil {
				continue
			}
			if fragment != "" {
				if f, err := url.PathUnescape(fragment); err == nil {
					fragment = f
				}
				for _, id := range u.privateIDs[target.Path] {
					if strings.EqualFold(id, fragment) {
						errs.Add(diag.Errorf(from, l.Line, "public text links to #%s, the ID of a heading inside a restricted passage of %s: the link would publish the heading's words; link to the page, or to a public heading", fragment, target.Path))
						break
					}
				}
			}
			title := strings.TrimSpace(target.Front.Title)
			if target.Front.Audience != nil && title != "" && strings.Contains(strings.ToLower(l.Text), strings.ToLower(title)) {
				errs.Add(diag.Errorf(from, l.Line, "public link text repeats the title of %s, a page restricted as a whole, whose title is sealed: write other link text", target.Path))
			}
		}
	}
	return errs.Err()
}

// backslashEscape is a markdown backslash escape of ASCII punctuation.
var backslashEscape = regexp.MustCompile("\\\\([!-/:-@\\[-`{-~])")

// fileNames returns the lower-case words of text that look like file
// names (a name with an extension, as in "report.pdf" or "a/b/poc.tar.gz",
// %-escapes decoded, the last path element kept), each with the line on
// which it first appears. text starts on line first.
func fileNames(text []byte, first int) map[string]int {
	// As a reader's browser would see them: backslash escapes and
	// character references decoded ("poc\_v2.txt", "poc&lowbar;v2.txt").
	// Each step only when the text holds what it decodes: most pages
	// hold neither, and each would copy the page.
	if bytes.IndexByte(text, '\\') >= 0 {
		text = backslashEscape.ReplaceAll(text, []byte("$1"))
	}
	if bytes.IndexByte(text, '&') >= 0 {
		text = []byte(html.UnescapeString(string(text)))
	}
	out := map[string]int{}
	nameWords(text, first, func(w []byte, line int) {
		// Most words hold neither a dot nor a %-escape that could be one:
		// no extension, nothing to copy.
		if bytes.IndexByte(w, '.') < 0 && bytes.IndexByte(w, '%') < 0 {
			return
		}
		for _, w := range strings.Split(string(w), "/") {
			if strings.Contains(w, "%") {
				if u, err := url.PathUnescape(w); err == nil {
					w = u
				}
			}
			w = strings.ToLower(strings.Trim(w, ".-_~+"))
			if i := strings.LastIndexByte(w, '.'); i <= 0 || i == len(w)-1 {
				continue
			}
			if _, ok := out[w]; !ok {
				out[w] = line
			}
		}
	})
	return out
}

// nameWords calls fn with each run of text that could hold a file name
// (letters, digits and "._~%+-/"), and the line it ends on, counted from
// first. Most text is ASCII, looked up in a table; other runes go by
// the unicode tables.
func nameWords(text []byte, first int, fn func(word []byte, line int)) {
	line := first
	start := -1
	for i := 0; i < len(text); {
		c, size := text[i], 1
		var in bool
		if c < utf8.RuneSelf {
			in = nameByte[c]
		} else {
			var r rune
			r, size = utf8.DecodeRune(text[i:])
			in = unicode.IsLetter(r) || unicode.IsDigit(r)
		}
		if in {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			fn(text[start:i], line)
			start = -1
		}
		if c == '\n' {
			line++
		}
		i += size
	}
	if start >= 0 {
		fn(text[start:], line)
	}
}

// nameByte marks the bytes below utf8.RuneSelf that a file name's word
// holds: letters, digits and "._~%+-/".
var nameByte = func() (t [utf8.RuneSelf]bool) {
	for c := range rune(utf8.RuneSelf) {
		t[c] = unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("._~%+-/", c)
	}
	return t
}()
