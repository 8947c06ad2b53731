package render

import (
	"bytes"
	"encoding/xml"
	"strings"
	"time"
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
	Rights   string      `xml:"rights,omitempty"`
	Gen      string      `xml:"generator"`
	Entries  []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
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
// to the site root when there is no base URL.
func (r *Renderer) abs(url string) string {
	if r.view.BaseURL == "" {
		return strings.TrimPrefix(url, "/")
	}
	return r.view.BaseURL + strings.TrimPrefix(url, "/")
}

// Feed writes feed.xml, an Atom feed of the newest briefings with their
// titles, summaries and tags. views must be sorted with [SortPages].
func (r *Renderer) Feed(views []*PageView, emit Emit) error {
	f := atomFeed{
		Title:    r.view.Title,
		Subtitle: r.view.Description,
		ID:       r.abs("/"),
		Links: []atomLink{
			{Href: r.abs("/")},
			{Rel: "self", Type: "application/atom+xml", Href: r.abs("/feed.xml")},
		},
		Rights: r.view.Copyright,
		Gen:    "conclave",
	}
	var newest time.Time
	for i, v := range views {
		if i == FeedEntries {
			break
		}
		e := atomEntry{Title: v.Title, ID: r.abs(v.URL), Link: atomLink{Href: r.abs(v.URL)}, Summary: v.Summary}
		if !v.date.IsZero() {
			e.Updated = v.date.UTC().Format(time.RFC3339)
			e.Published = e.Updated
			if v.date.After(newest) {
				newest = v.date
			}
		} else {
			e.Updated = time.Unix(0, 0).UTC().Format(time.RFC3339)
		}
		for _, t := range v.Tags {
			e.Categories = append(e.Categories, atomCategory{Term: t.Name})
		}
		f.Entries = append(f.Entries, e)
	}
	if newest.IsZero() {
		newest = time.Unix(0, 0)
	}
	f.Updated = newest.UTC().Format(time.RFC3339)
	return emitXML("feed.xml", f, emit)
}

type urlset struct {
	XMLName xml.Name     `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
	URLs    []sitemapURL `xml:"url"`
}

type sitemapURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

// Sitemap writes sitemap.xml listing the home page, sections, briefings and
// tag pages.
func (r *Renderer) Sitemap(views []*PageView, emit Emit) error {
	s := urlset{URLs: []sitemapURL{{Loc: r.abs("/")}}}
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
	for _, t := range Tags(views) {
		s.URLs = append(s.URLs, sitemapURL{Loc: r.abs("/" + t.Rel)})
	}
	return emitXML("sitemap.xml", s, emit)
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
