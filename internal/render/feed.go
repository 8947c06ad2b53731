package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/conclave-dev/conclave/internal/diag"
)

// FeedEntries is how many of the newest briefings the Atom feed carries.
const FeedEntries = 50

type atomFeed struct {
	XMLName  xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title    string      `xml:"title"`
	Subtitle string      `xml:"subtitle,omitempty"`
	ID       string      `xml:"id"`
	Links    []atomLink  `xml:"link"`
	Updated  string      `xml:"updated"`
	Author   atomPerson  `xml:"author"`
	Rights   string      `xml:"rights,omitempty"`
	Gen      string      `xml:"generator"`
	Entries  []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

// atomPerson is an Atom person construct; entries inherit the feed's.
type atomPerson struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	Title      string         `xml:"title"`
	ID         string         `xml:"id"`
	Link       atomLink       `xml:"link"`
	Updated    string         `xml:"updated"`
	Published  string         `xml:"published,omitempty"`
	Summary    string         `xml:"summary,omitempty"`
	Categories []atomCategory `xml:"category"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

// abs makes a site path absolute with the base URL, or leaves it relative
// to the site root when there is no base URL. The path is percent-encoded,
// as a browser sends it: "/café/" becomes "/caf%C3%A9/".
func (r *Renderer) abs(p string) string {
	esc := strings.TrimPrefix((&url.URL{Path: p}).EscapedPath(), "/")
	if r.view.BaseURL == "" {
		return esc
	}
	return r.view.BaseURL + esc
}

// NoDate is the feed's <updated> when no briefing has a date: the Unix
// epoch, a fixed instant, so that a build never depends on the clock.
const NoDate = "1970-01-01T00:00:00Z"

// Feed writes feed.xml, an Atom feed of the newest dated briefings with
// their titles, summaries and tags, authored by the site. views must be
// sorted with [SortPages]. A briefing without a date has no instant to
// give its entry's <updated>, so it is left out of the feed: Feed returns
// a warning for each one, in file order.
func (r *Renderer) Feed(views []*PageView, emit Emit) ([]*diag.Warning, error) {
	f := atomFeed{
		Title:    r.view.Title,
		Subtitle: r.view.Description,
		ID:       r.abs("/"),
		Links: []atomLink{
			{Href: r.abs("/")},
			{Rel: "self", Type: "application/atom+xml", Href: r.abs("/feed.xml")},
		},
		Author: atomPerson{Name: r.view.Title},
		Rights: r.view.Copyright,
		Gen:    "conclave",
	}
	var warns []*diag.Warning
	var newest time.Time
	for _, v := range views {
		if v.Time.IsZero() {
			warns = append(warns, diag.Errorf(v.Path, 1, "no date: left out of the feed (add date: YYYY-MM-DD)"))
			continue
		}
		if len(f.Entries) == FeedEntries {
			continue
		}
		e := atomEntry{Title: v.Title, ID: r.abs(v.URL), Link: atomLink{Href: r.abs(v.URL)}, Summary: v.Summary}
		e.Updated = v.Time.UTC().Format(time.RFC3339)
		e.Published = e.Updated
		if v.Time.After(newest) {
			newest = v.Time
		}
		for _, t := range v.Tags {
			e.Categories = append(e.Categories, atomCategory{Term: t.Name})
		}
		f.Entries = append(f.Entries, e)
	}
	slices.SortFunc(warns, func(a, b *diag.Warning) int { return strings.Compare(a.File, b.File) })
	f.Updated = NoDate
	if !newest.IsZero() {
		f.Updated = newest.UTC().Format(time.RFC3339)
	}
	return warns, emitXML("feed.xml", f, emit)
}

type urlset struct {
	XMLName xml.Name     `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
	URLs    []sitemapURL `xml:"url"`
}

type sitemapURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

// SitemapFile is the sitemap's output path.
const SitemapFile = "sitemap.xml"

// Sitemap writes sitemap.xml listing the home page, sections, briefings and
// tag pages; tags are [Tags] of views, sorted with [SortPages]. It returns
// the digest of what the sitemap lists, and asks reuse (which may be nil)
// first, as [Renderer.Lists] does for a list page: the XML of a site's
// every URL is encoded only when one of them changed.
func (r *Renderer) Sitemap(views []*PageView, tags []*TagView, emit Emit, reuse Reuse) ([sha256.Size]byte, error) {
	s := urlset{URLs: make([]sitemapURL, 0, 2+len(r.view.Sections)+len(views)+len(tags))}
	s.URLs = append(s.URLs, sitemapURL{Loc: r.abs("/")})
	if len(views) > 0 && views[0].Date != nil {
		s.URLs[0].LastMod = views[0].Date.ISO
	}
	for _, sec := range r.view.Sections {
		s.URLs = append(s.URLs, sitemapURL{Loc: r.abs("/" + sec.Rel)})
	}
	for _, v := range views {
		u := sitemapURL{Loc: r.abs(v.URL)}
		if v.Date != nil {
			u.LastMod = v.Date.ISO
		}
		s.URLs = append(s.URLs, u)
	}
	s.URLs = append(s.URLs, sitemapURL{Loc: r.abs("/tags/")})
	for _, t := range tags {
		s.URLs = append(s.URLs, sitemapURL{Loc: r.abs("/" + t.Rel)})
	}
	h := sha256.New()
	for _, u := range s.URLs {
		h.Write([]byte(u.Loc))
		h.Write([]byte{0})
		h.Write([]byte(u.LastMod))
		h.Write([]byte{0})
	}
	var digest [sha256.Size]byte
	h.Sum(digest[:0])
	if reuse != nil && reuse(SitemapFile, digest) {
		return digest, nil
	}
	return digest, emitXML(SitemapFile, s, emit)
}

func emitXML(name string, v any, emit Emit) error {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.WriteByte('\n')
	return emit(name, b.Bytes())
}
