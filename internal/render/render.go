// Package render turns parsed pages into the site's files: one HTML page
// per briefing, the home page, section and tag lists, the Atom feed, the
// sitemap, the 404 page and the theme's static files.
//
// Lists, feed and sitemap are built from [PageView] values, which hold
// only what a list shows (title, date, summary, tags, label), never a
// page's body: whatever a later stage removes from a page's tree cannot
// reappear in a list.
package render

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/par"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// CSP is the Content-Security-Policy of every page: only the site's own
// scripts, styles, images and connections, and the images the unlock
// script decrypts from sealed attachments (blob:); no plugins, no base
// rewriting, no form posts.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"

// PerPage is how many briefings a list page shows.
const PerPage = 20

// Emit receives one output file: a slash path and its bytes. It is called
// from several goroutines at once.
type Emit func(path string, data []byte) error

// Renderer renders one site with one theme.
type Renderer struct {
	site  *site.Site
	theme *Theme
	conv  *markdown.Converter
	view  *SiteView
	// searching: the site has search (see Searching).
	searching bool
	// tags holds the TagRef of every tag spelling met so far, shared by
	// the views that carry it: a site has far fewer tags than pages.
	tags sync.Map // string → TagRef
	// dates holds the DateView of every date met so far, likewise.
	dates sync.Map // time.Time → *DateView
}

// New returns a Renderer for s.
func New(s *site.Site, theme *Theme, conv *markdown.Converter) *Renderer {
	r := &Renderer{site: s, theme: theme, conv: conv}
	cfg := s.Config
	r.searching = !cfg.NoSearch && theme.search != nil
	r.view = &SiteView{Title: cfg.Title, Language: cfg.Language, Copyright: cfg.Copyright, Description: cfg.Description, BaseURL: cfg.BaseURL}
	titles := map[string]string{}
	for _, p := range s.Pages {
		if p.Kind == site.KindSection && p.Front.Title != "" {
			titles[p.Section] = p.Front.Title
		}
	}
	seen := map[string]bool{}
	for _, p := range s.Pages {
		if p.Kind == site.KindPage && p.Section != "" && !seen[p.Section] {
			seen[p.Section] = true
			title := titles[p.Section]
			if title == "" {
				title = site.TitleFromName(p.Section)
			}
			r.view.Sections = append(r.view.Sections, SectionRef{Name: p.Section, Title: title, Rel: p.Section + "/"})
		}
	}
	slices.SortFunc(r.view.Sections, func(a, b SectionRef) int { return cmp.Compare(a.Name, b.Name) })
	return r
}

// SiteView is what templates see as .Site.
type SiteView struct {
	Title, Language, Copyright, Description, BaseURL string
	Sections                                         []SectionRef
}

// SectionRef names a section in the navigation.
type SectionRef struct{ Name, Title, Rel string }

// PageView is a page as templates and lists see it.
type PageView struct {
	Path    string // source, e.g. "content/briefings/icasi.md"
	URL     string // "/briefings/icasi/"
	Rel     string // URL without the leading slash
	Title   string
	Summary string
	Date    *DateView
	Tags    []TagRef
	TLP     *TLPView
	Section string
	Weight  int
	Content template.HTML      // only while the page itself is rendered
	TOC     []markdown.Heading // likewise
	Time    time.Time          // the date; zero if the page has none
}

// DateView formats a date for templates.
type DateView struct {
	Text string // "17 July 2007"
	ISO  string // "2007-07-17" or RFC 3339 with a time
}

// TagRef links to a tag page.
type TagRef struct{ Name, Slug, Rel string }

// TLPView is a label as templates show it.
type TLPView struct{ Display, Class, Meaning string }

// TagView is a tag with its pages.
type TagView struct {
	Name, Slug, Rel string
	Count           int
	pages           []*PageView
}

// Pager says where a list page sits among its siblings.
type Pager struct {
	Number, Total    int
	HasPrev, HasNext bool
	PrevRel, NextRel string // relative to the site root; "" is the root itself
}

// data is the root object of every template execution.
type data struct {
	Site        *SiteView
	Kind        string
	Title       string // for <title>; "" on the home page
	Description string
	Permalink   string
	Root        string // relative path from this page to the site root
	CSP         string
	Section     string
	Heading     string
	Page        *PageView
	Pages       []*PageView
	Pager       *Pager
	Tags        []*TagView
	Content     template.HTML
	// Unlock is the script that unlocks sealed passages, on pages that
	// hold some (nil elsewhere).
	Unlock *Script
	// Search is the search script, on every page of a site with search
	// (nil: no search box).
	Search *Script
	// Preview is set on every page of the author's preview, whose
	// restricted passages are in clear: the converter was made for it
	// (markdown.Options.Preview).
	Preview bool
	// items renders Pages for Items, on list pages; it is made of Pages,
	// Root and the theme, which the list's digest covers.
	items *listItems
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Page renders a briefing and returns its view for lists, with Content
// and TOC cleared: a list shows neither, and the view of every page is
// kept until the lists are written (and in the page cache's records).
//
// A view's DateView, TLPView and the strings of its TagRefs are shared
// with other views of the same date, label and tags: views are read,
// never changed.
func (r *Renderer) Page(doc *markdown.Doc, emit Emit) (*PageView, error) {
	v, _, err := r.PageBody(doc, emit)
	return v, err
}

// PageBody is Page that also returns the page's body as the converter
// rendered it, the HTML the page's layout placed.
func (r *Renderer) PageBody(doc *markdown.Doc, emit Emit) (*PageView, string, error) {
	p := doc.Page
	v := r.pageView(p)
	if v.Summary == "" {
		v.Summary = doc.Summary(50)
	}
	v.TOC = doc.Headings(2, 3)
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	if err := r.conv.Render(buf, doc); err != nil {
		return nil, "", fmt.Errorf("%s: %w", p.Path, err)
	}
	v.Content = template.HTML(buf.String())
	d := r.data("page", p.URL)
	d.Title, d.Description, d.Page, d.Section = v.Title, v.Summary, v, v.Section
	if strings.Contains(string(v.Content), format.PlaceholderStart) {
		d.Unlock = r.theme.unlock
	}
	buf.Reset()
	if err := r.theme.Execute(buf, "page", d); err != nil {
		return nil, "", fmt.Errorf("%s: %w", p.Path, err)
	}
	if err := emit(OutPath(p.URL), buf.Bytes()); err != nil {
		return nil, "", err
	}
	body := string(v.Content)
	v.Content, v.TOC = "", nil
	return v, body, nil
}

func (r *Renderer) pageView(p *site.Page) *PageView {
	v := &PageView{Path: p.Path, URL: p.URL, Rel: p.URL[1:], Title: p.Front.Title, Summary: p.Front.Summary, Section: p.Section, Weight: p.Front.Weight, Time: p.Front.Date}
	if !p.Front.Date.IsZero() {
		v.Date = r.dateView(p.Front.Date)
	}
	if p.Front.TLP != tlp.None {
		v.TLP = tlpView(p.Front.TLP)
	}
	if len(p.Front.Tags) > 0 {
		v.Tags = make([]TagRef, 0, len(p.Front.Tags))
	}
tags:
	for _, t := range p.Front.Tags {
		ref := r.tagRef(t)
		for _, seen := range v.Tags {
			if seen.Slug == ref.Slug {
				continue tags // the first spelling of a slug wins
			}
		}
		v.Tags = append(v.Tags, ref)
	}
	return v
}

// tagRef returns the reference to the tag page of a tag as spelled.
func (r *Renderer) tagRef(name string) TagRef {
	if ref, ok := r.tags.Load(name); ok {
		return ref.(TagRef)
	}
	slug := site.Slugify(name)
	ref := TagRef{Name: name, Slug: slug, Rel: "tags/" + slug + "/"}
	r.tags.Store(name, ref)
	return ref
}

// dateView returns the view of a date, made once per date.
func (r *Renderer) dateView(t time.Time) *DateView {
	if d, ok := r.dates.Load(t); ok {
		return d.(*DateView)
	}
	d, _ := r.dates.LoadOrStore(t, dateView(t))
	return d.(*DateView)
}

// tlpViews are the views of the labels, made once.
var tlpViews sync.Map // tlp.Label → *TLPView

func tlpView(l tlp.Label) *TLPView {
	if v, ok := tlpViews.Load(l); ok {
		return v.(*TLPView)
	}
	v, _ := tlpViews.LoadOrStore(l, &TLPView{Display: l.Display(), Class: l.Class(), Meaning: l.Meaning()})
	return v.(*TLPView)
}

func dateView(t time.Time) *DateView {
	iso := t.Format("2006-01-02")
	if t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 || t.Location() != time.UTC {
		iso = t.Format(time.RFC3339)
	}
	return &DateView{Text: t.Format("2 January 2006"), ISO: iso}
}

func (r *Renderer) data(kind, url string) *data {
	d := &data{Site: r.view, Kind: kind, CSP: CSP, Root: rootFrom(url), Preview: r.conv.Preview()}
	if r.searching {
		d.Search = r.theme.search
	}
	switch kind {
	case "home", "section", "tag", "tags", "404":
		d.Description = r.view.Description // the site's, unless the page has its own
	}
	if r.view.BaseURL != "" && kind != "404" {
		d.Permalink = r.abs(url) // encoded as in the feed and sitemap
	}
	return d
}

// rootFrom is the relative path from a page's URL to the site root.
func rootFrom(url string) string {
	n := strings.Count(strings.Trim(url, "/"), "/") + 1
	if url == "/" {
		return "./"
	}
	return strings.Repeat("../", n)
}

// OutPath is the output path of the page at a URL: its index.html.
func OutPath(url string) string { return strings.TrimPrefix(url, "/") + "index.html" }

// SortPages orders views newest first; then by weight, title and path.
func SortPages(views []*PageView) {
	slices.SortFunc(views, func(a, b *PageView) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Weight, b.Weight); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Title, b.Title); c != 0 {
			return c
		}
		return cmp.Compare(a.Path, b.Path)
	})
}

// Intro is the rendered body of a home or section _index.md.
type Intro struct {
	Title   string
	Summary string
	Content template.HTML
}

// RenderIntro renders the body of an _index.md page.
func (r *Renderer) RenderIntro(doc *markdown.Doc) (*Intro, error) {
	var buf bytes.Buffer
	if err := r.conv.Render(&buf, doc); err != nil {
		return nil, fmt.Errorf("%s: %w", doc.Page.Path, err)
	}
	return &Intro{Title: doc.Page.Front.Title, Summary: doc.Page.Front.Summary, Content: template.HTML(buf.String())}, nil
}

// Reuse is asked before a list page is rendered: digest identifies the
// page's output path and everything its layout is given. It reports
// whether it published the page itself, as an earlier build rendered it
// from the same digest with the same theme and configuration.
type Reuse func(out string, digest [sha256.Size]byte) bool

// ListsResult says what [Renderer.Lists] did.
type ListsResult struct {
	Tags, Pages int
	TagViews    []*TagView                   // the tags, as [Tags] returns them
	Reused      int                          // pages published by Reuse
	Digests     map[string][sha256.Size]byte // of every list page, by output path
	Views       ViewSums                     // of every view listed; nil without reuse
}

// ViewSums are the digests of page views that list pages' digests are
// made of, by view. A caller that gives the next build the same *PageView
// for an unchanged page, unmodified (a preview session keeps its records
// in memory), passes the last build's ViewSums to [Renderer.Lists] so
// that those views are not encoded and hashed again.
type ViewSums map[*PageView][sha256.Size]byte

// Lists renders the home page, section pages, tag pages and the tag index
// from the views of every briefing, in parallel. intros maps "" (home) and
// section names to their _index.md. reuse may be nil; without it, the
// result holds no digests. known, which may be nil, are digests of views
// from an earlier build (see [ViewSums]).
func (r *Renderer) Lists(views []*PageView, intros map[string]*Intro, emit Emit, reuse Reuse, known ViewSums) (*ListsResult, error) {
	SortPages(views)
	jobs := r.listPages("home", "/", views, intros[""], "")
	bySection := map[string][]*PageView{}
	for _, v := range views {
		if v.Section != "" {
			bySection[v.Section] = append(bySection[v.Section], v)
		}
	}
	for _, s := range r.view.Sections {
		jobs = append(jobs, r.listPages("section", "/"+s.Rel, bySection[s.Name], intros[s.Name], s.Title)...)
	}
	tags := Tags(views)
	for _, t := range tags {
		jobs = append(jobs, r.listPages("tag", "/"+t.Rel, t.pages, nil, t.Name)...)
	}
	d := r.data("tags", "/tags/")
	d.Title, d.Tags = "Tags", tags
	jobs = append(jobs, listPage{kind: "tags", out: "tags/index.html", data: d})
	r.listItems(jobs)

	res := &ListsResult{Tags: len(tags), TagViews: tags, Pages: len(jobs), Digests: make(map[string][sha256.Size]byte, len(jobs))}
	errs := make([]error, len(jobs))
	digests := make([][sha256.Size]byte, len(jobs))
	reused := make([]bool, len(jobs))
	var dg *digester
	if reuse != nil {
		var err error
		if dg, err = newDigester(r.view, views, known); err != nil {
			return nil, err
		}
		res.Views = dg.views
	}
	par.Do(len(jobs), par.IO(), func(i int) {
		j := jobs[i]
		if dg == nil {
			errs[i] = r.execute(j.kind, j.out, j.data, emit)
			return
		}
		digests[i] = dg.list(j)
		if reuse(j.out, digests[i]) {
			reused[i] = true
			return
		}
		errs[i] = r.execute(j.kind, j.out, j.data, emit)
	})
	var all diag.List
	for i, err := range errs {
		all.Add(err)
		if dg != nil {
			res.Digests[jobs[i].out] = digests[i]
		}
		if reused[i] {
			res.Reused++
		}
	}
	if err := all.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// digester computes the digests of list pages: each view and the site's
// view are encoded once, as a list page holds many views and a view is on
// several lists.
type digester struct {
	site  [sha256.Size]byte
	views ViewSums
}

// newDigester encodes the site's view and every view but those known.
func newDigester(site *SiteView, views []*PageView, known ViewSums) (*digester, error) {
	dg := &digester{views: make(ViewSums, len(views))}
	b, err := json.Marshal(site)
	if err != nil {
		return nil, err
	}
	dg.site = sha256.Sum256(b)
	for _, v := range views {
		if sum, ok := known[v]; ok {
			dg.views[v] = sum
			continue
		}
		sum, err := ViewSum(v)
		if err != nil {
			return nil, err
		}
		dg.views[v] = sum
	}
	return dg, nil
}

// ViewSum is the digest of view v that list pages' digests are made of
// (see [ViewSums]): two views with the same digest give every list, the
// feed and the sitemap the same data.
func ViewSum(v *PageView) ([sha256.Size]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return [sha256.Size]byte{}, fmt.Errorf("%s: %w", v.Path, err)
	}
	return sha256.Sum256(b), nil
}

// list identifies a list page by its kind, its output path and every field
// of the data its layout is given (see TestListDigestCoversData).
func (dg *digester) list(j listPage) [sha256.Size]byte {
	d := j.data
	b := make([]byte, 0, 1024)
	str := func(s string) { b = append(binary.AppendUvarint(b, uint64(len(s))), s...) }
	flag := func(v bool) {
		if v {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	str(j.kind)
	str(j.out)
	b = append(b, dg.site[:]...) // d.Site
	for _, s := range []string{d.Kind, d.Title, d.Description, d.Permalink, d.Root, d.CSP, d.Section, d.Heading, string(d.Content), scriptKey(d.Unlock), scriptKey(d.Search)} {
		str(s)
	}
	flag(d.Preview)
	if d.Page != nil {
		page, _ := json.Marshal(d.Page)
		str(string(page))
	} else {
		str("")
	}
	b = binary.AppendUvarint(b, uint64(len(d.Pages)))
	for _, v := range d.Pages {
		sum, ok := dg.views[v]
		if !ok {
			view, _ := json.Marshal(v)
			sum = sha256.Sum256(view)
		}
		b = append(b, sum[:]...)
	}
	flag(d.Pager != nil)
	if p := d.Pager; p != nil {
		b = binary.AppendUvarint(binary.AppendUvarint(b, uint64(p.Number)), uint64(p.Total))
		flag(p.HasPrev)
		flag(p.HasNext)
		str(p.PrevRel)
		str(p.NextRel)
	}
	b = binary.AppendUvarint(b, uint64(len(d.Tags)))
	for _, t := range d.Tags {
		str(t.Name)
		str(t.Slug)
		str(t.Rel)
		b = binary.AppendUvarint(b, uint64(t.Count))
	}
	return sha256.Sum256(b)
}

func scriptKey(s *Script) string {
	if s == nil {
		return ""
	}
	return s.Src + " " + s.Integrity
}

// Tags groups views by tag slug; a tag's name is its first spelling in
// list order. The result is sorted by name.
func Tags(views []*PageView) []*TagView {
	bySlug := map[string]*TagView{}
	var out []*TagView
	for _, v := range views {
		for _, t := range v.Tags {
			tv := bySlug[t.Slug]
			if tv == nil {
				tv = &TagView{Name: t.Name, Slug: t.Slug, Rel: t.Rel}
				bySlug[t.Slug] = tv
				out = append(out, tv)
			}
			tv.pages = append(tv.pages, v)
			tv.Count++
		}
	}
	slices.SortFunc(out, func(a, b *TagView) int { return cmp.Compare(a.Slug, b.Slug) })
	return out
}

// listPage is one page of a list, ready to execute.
type listPage struct {
	kind, out string
	data      *data
}

// listPages splits a list of views at url into pages of [PerPage].
func (r *Renderer) listPages(kind, url string, views []*PageView, intro *Intro, heading string) []listPage {
	total := listTotal(views)
	out := make([]listPage, 0, total)
	for n := 1; n <= total; n++ {
		out = append(out, r.listPage(kind, url, views, intro, heading, n))
	}
	return out
}

// listTotal is the number of pages of a list of views.
func listTotal(views []*PageView) int { return max(1, (len(views)+PerPage-1)/PerPage) }

// listPage is page n of the list of views at url.
func (r *Renderer) listPage(kind, url string, views []*PageView, intro *Intro, heading string, n int) listPage {
	total := listTotal(views)
	pageURL := func(n int) string {
		if n == 1 {
			return url
		}
		return url + "page/" + strconv.Itoa(n) + "/"
	}
	u := pageURL(n)
	d := r.data(kind, u)
	d.Heading = heading
	d.Pages = views[(n-1)*PerPage : min(n*PerPage, len(views))]
	d.Pager = &Pager{Number: n, Total: total}
	if n > 1 {
		d.Pager.HasPrev, d.Pager.PrevRel = true, pageURL(n - 1)[1:]
	}
	if n < total {
		d.Pager.HasNext, d.Pager.NextRel = true, pageURL(n + 1)[1:]
	}
	switch kind {
	case "section":
		d.Section, d.Title = strings.Trim(url, "/"), heading
	case "tag":
		d.Title = "Tagged " + heading
	}
	if intro != nil {
		if intro.Title != "" {
			if kind == "home" {
				d.Heading = ""
			} else {
				d.Heading, d.Title = intro.Title, intro.Title
			}
		}
		if intro.Summary != "" {
			d.Description = intro.Summary
		}
		if n == 1 {
			d.Content = intro.Content
		}
	}
	if n > 1 {
		d.Title = strings.TrimSpace(d.Title + " (page " + strconv.Itoa(n) + ")")
	}
	return listPage{kind: kind, out: OutPath(u), data: d}
}

// Relisted is what [Renderer.Relist] did.
type Relisted struct {
	Views    []*PageView                  // the views listed, sorted, next in old's place
	TagViews []*TagView                   // the tags, next in old's place
	Sum      [sha256.Size]byte            // next's digest (see ViewSum)
	Digests  map[string][sha256.Size]byte // of the list pages rendered again, by output path
}

// Relist renders again the list pages that show old, a view that the
// lists of the last [Renderer.Lists] show, now to be shown as next: a
// view of the same page that sorts, is tagged and is placed as old (its
// summary alone may differ). last is that call's result, views the views
// as it sorted them, intros the intros it was given. It renders the one
// page of the home, of old's section and of each of its tags that holds
// it, as Lists would with next in old's place; the other list pages,
// the tag index and the sitemap are the same. ok is false, and nothing is
// rendered, if next differs from old in more than its summary or old is
// not in the lists.
func (r *Renderer) Relist(views []*PageView, intros map[string]*Intro, last *ListsResult, old, next *PageView, emit Emit) (res *Relisted, ok bool, err error) {
	a, b := *old, *next
	a.Summary, b.Summary = "", ""
	sa, err := ViewSum(&a)
	if err != nil {
		return nil, false, err
	}
	if sb, err := ViewSum(&b); err != nil || sa != sb || last == nil || last.Views == nil {
		return nil, false, err
	}
	res = &Relisted{Digests: map[string][sha256.Size]byte{}}
	if res.Sum, err = ViewSum(next); err != nil {
		return nil, false, err
	}
	// in returns list with next in old's place, and the number of the
	// page that holds it.
	in := func(list []*PageView) ([]*PageView, int) {
		i := slices.Index(list, old)
		if i < 0 {
			return nil, 0
		}
		list = slices.Clone(list)
		list[i] = next
		return list, i/PerPage + 1
	}
	var jobs []listPage
	home, n := in(views)
	if home == nil {
		return nil, false, nil
	}
	res.Views = home
	jobs = append(jobs, r.listPage("home", "/", home, intros[""], "", n))
	if old.Section != "" {
		for _, sec := range r.view.Sections {
			if sec.Name != old.Section {
				continue
			}
			var section []*PageView
			for _, v := range home {
				if v.Section == sec.Name {
					section = append(section, v)
				}
			}
			jobs = append(jobs, r.listPage("section", "/"+sec.Rel, section, intros[sec.Name], sec.Title, slices.Index(section, next)/PerPage+1))
		}
	}
	res.TagViews = slices.Clone(last.TagViews)
	for i, t := range res.TagViews {
		if !slices.ContainsFunc(old.Tags, func(ref TagRef) bool { return ref.Slug == t.Slug }) {
			continue
		}
		pages, n := in(t.pages)
		if pages == nil {
			return nil, false, nil
		}
		tv := *t
		tv.pages = pages
		res.TagViews[i] = &tv
		jobs = append(jobs, r.listPage("tag", "/"+t.Rel, pages, nil, t.Name, n))
	}
	r.listItems(jobs)
	site, err := json.Marshal(r.view)
	if err != nil {
		return nil, false, err
	}
	dg := &digester{site: sha256.Sum256(site), views: last.Views} // next's digest is worked out
	for _, j := range jobs {
		res.Digests[j.out] = dg.list(j)
		if err := r.execute(j.kind, j.out, j.data, emit); err != nil {
			return nil, false, err
		}
	}
	return res, true, nil
}

// listItems gives the list pages of jobs one [listItems]: a briefing's
// item is rendered once for all of them.
func (r *Renderer) listItems(jobs []listPage) {
	li := newListItems(r.theme)
	for _, j := range jobs {
		j.data.items = li
	}
}

func (r *Renderer) execute(kind, out string, d *data, emit Emit) error {
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	if err := r.theme.Execute(buf, kind, d); err != nil {
		return err
	}
	return emit(out, buf.Bytes())
}

// Searching reports whether the site has search: its configuration does
// not turn it off, and its theme ships [SearchScript].
func (r *Renderer) Searching() bool { return r.searching }

// SearchPage renders the search page, search/index.html, whose results
// the search script fills in. On a site with sealed indexes (sealed), it
// loads the unlock script too, whose keys open them.
func (r *Renderer) SearchPage(emit Emit, sealed bool) error {
	d := r.data("search", "/"+format.SearchDir+"/")
	d.Title = "Search"
	if sealed {
		d.Unlock = r.theme.unlock
	}
	return r.execute("search", format.SearchPage, d, emit)
}

// NotFound renders 404.html. Hosts serve it at any depth, so its links are
// rooted at the base URL's path instead of being relative.
func (r *Renderer) NotFound(emit Emit) error {
	d := r.data("404", "/404.html")
	d.Title = "Page not found"
	d.Root = "/"
	if r.view.BaseURL != "" {
		if i := strings.Index(r.view.BaseURL, "://"); i >= 0 {
			if j := strings.IndexByte(r.view.BaseURL[i+3:], '/'); j >= 0 {
				d.Root = r.view.BaseURL[i+3+j:]
			}
		}
	}
	return r.execute("404", "404.html", d, emit)
}
