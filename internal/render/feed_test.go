package render

import (
	"encoding/xml"
	"fmt"
	"testing"
	"time"
)

// parsedFeed is what RFC 4287 requires of a feed and its entries.
type parsedFeed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Authors []struct {
		Name string `xml:"name"`
	} `xml:"author"`
	Entries []struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Link    struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
	} `xml:"entry"`
}

// feed renders the feed of views and parses it, checking every element
// RFC 4287 requires: id, title and updated on the feed and on each entry,
// and an author on the feed, which entries without one inherit.
func feed(t *testing.T, r *Renderer, views []*PageView) (*parsedFeed, []byte, []string) {
	t.Helper()
	SortPages(views)
	var out []byte
	warns, err := r.Feed(views, func(path string, data []byte) error {
		if path != "feed.xml" {
			t.Errorf("feed written to %s", path)
		}
		out = data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var f parsedFeed
	if err := xml.Unmarshal(out, &f); err != nil {
		t.Fatalf("feed does not parse: %v\n%s", err, out)
	}
	valid := func(what, id, title, updated string) {
		if id == "" || title == "" {
			t.Errorf("%s: id %q, title %q: both are required", what, id, title)
		}
		if _, err := time.Parse(time.RFC3339, updated); err != nil {
			t.Errorf("%s: updated %q is not an RFC 3339 date: %v", what, updated, err)
		}
	}
	valid("feed", f.ID, f.Title, f.Updated)
	if len(f.Authors) != 1 || f.Authors[0].Name != r.view.Title {
		t.Errorf("feed authors = %+v, want one named %q", f.Authors, r.view.Title)
	}
	for i, e := range f.Entries {
		valid(fmt.Sprintf("entry %d", i), e.ID, e.Title, e.Updated)
	}
	var msgs []string
	for _, w := range warns {
		msgs = append(msgs, w.Error())
	}
	return &f, out, msgs
}

func TestFeedLeavesOutUndated(t *testing.T) {
	r := &Renderer{view: &SiteView{Title: "Circle", BaseURL: "https://example.org/"}}
	d := func(s string) time.Time { tm, _ := time.Parse("2006-01-02", s); return tm }
	views := []*PageView{
		{Path: "content/b/old.md", URL: "/b/old/", Title: "Old", Time: d("1960-05-01")},
		{Path: "content/b/z.md", URL: "/b/z/", Title: "Z undated"},
		{Path: "content/b/new.md", URL: "/b/new/", Title: "New", Time: d("2008-07-07")},
		{Path: "content/a/undated.md", URL: "/a/undated/", Title: "A undated"},
	}
	f, _, warns := feed(t, r, views)
	if len(f.Entries) != 2 || f.Entries[0].Title != "New" || f.Entries[1].Title != "Old" {
		t.Errorf("entries = %+v, want New and Old only", f.Entries)
	}
	if f.Updated != "2008-07-07T00:00:00Z" {
		t.Errorf("feed updated = %s, want the newest briefing's date", f.Updated)
	}
	want := []string{
		"content/a/undated.md:1: no date: left out of the feed (add date: YYYY-MM-DD)",
		"content/b/z.md:1: no date: left out of the feed (add date: YYYY-MM-DD)",
	}
	if fmt.Sprint(warns) != fmt.Sprint(want) {
		t.Errorf("warnings = %q\nwant %q", warns, want)
	}
}

func TestFeedWithoutDates(t *testing.T) {
	r := &Renderer{view: &SiteView{Title: "Circle", BaseURL: "https://example.org/"}}
	views := []*PageView{{Path: "content/a.md", URL: "/a/", Title: "A"}}
	f, out, warns := feed(t, r, views)
	if len(f.Entries) != 0 || len(warns) != 1 {
		t.Errorf("entries %d, warnings %q: want none and one", len(f.Entries), warns)
	}
	if f.Updated != NoDate {
		t.Errorf("updated = %s, want %s", f.Updated, NoDate)
	}
	_, again, _ := feed(t, r, views)
	if string(again) != string(out) {
		t.Error("two feeds of the same briefings differ")
	}
	f, _, warns = feed(t, r, nil)
	if len(f.Entries) != 0 || len(warns) != 0 || f.Updated != NoDate {
		t.Errorf("empty site: entries %d, warnings %q, updated %s", len(f.Entries), warns, f.Updated)
	}
}
