package render

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// A build keeps the view of every page until its lists are written, so a
// view holds only what lists show, and what views have in common (a date,
// a label, a tag) is held once: the page itself still gets its table of
// contents, and lists the same tags as before.
func TestPageViewsKeepLittle(t *testing.T) {
	th, err := LoadTheme(t.TempDir(), "default")
	if err != nil {
		t.Fatal(err)
	}
	conv, err := markdown.New(markdown.Options{})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)
	page := func(name string, tags ...string) *site.Page {
		return &site.Page{Path: "content/notes/" + name + ".md", Kind: site.KindPage, Section: "notes", URL: "/notes/" + name + "/",
			Front: site.Front{Title: strings.ToUpper(name), Date: day, Tags: tags, TLP: tlp.Green},
			Body:  []byte("Intro.\n\n## First part\n\nText.\n\n## Second part\n\nMore text.\n")}
	}
	pages := []*site.Page{page("a", "Zero Day", "APT", "apt"), page("b", "APT", "zero day")}
	r := New(&site.Site{Config: &site.Config{Title: "T"}, Pages: pages}, th, conv)
	var views []*PageView
	for _, p := range pages {
		var html string
		v, err := r.Page(conv.Parse(p, nil), func(_ string, data []byte) error {
			html = string(data)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(html, `<a href="#first-part">First part</a>`) || !strings.Contains(html, `<a href="#second-part">Second part</a>`) {
			t.Errorf("%s: page has no table of contents:\n%s", p.Path, html)
		}
		if v.Content != "" || v.TOC != nil {
			t.Errorf("%s: view keeps content %q, TOC %v", p.Path, v.Content, v.TOC)
		}
		views = append(views, v)
	}
	a, b := views[0], views[1]
	if got := tagNames(a); got != "Zero Day,APT" {
		t.Errorf("tags of a = %s, want Zero Day,APT (one per slug, first spelling)", got)
	}
	if got := tagNames(b); got != "APT,zero day" {
		t.Errorf("tags of b = %s, want APT,zero day", got)
	}
	if a.Date == nil || a.Date != b.Date || a.Date.Text != "5 November 2026" {
		t.Errorf("dates %+v and %+v: want one view of the same date", a.Date, b.Date)
	}
	if a.TLP == nil || a.TLP != b.TLP || a.TLP.Display != tlp.Green.Display() {
		t.Errorf("labels %+v and %+v: want one view of the same label", a.TLP, b.TLP)
	}
	if ra, rb := a.Tags[1].Rel, b.Tags[0].Rel; ra != "tags/apt/" || unsafe.StringData(ra) != unsafe.StringData(rb) {
		t.Errorf("tag links %q and %q: want one string for the same tag", ra, rb)
	}
}

func tagNames(v *PageView) string {
	var names []string
	for _, t := range v.Tags {
		names = append(names, t.Name)
	}
	return strings.Join(names, ",")
}
