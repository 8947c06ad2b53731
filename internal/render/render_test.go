package render

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/testtool"
)

func TestRootFrom(t *testing.T) {
	for url, want := range map[string]string{"/": "./", "/a/": "../", "/a/b/": "../../", "/tags/x/page/2/": "../../../../"} {
		if got := rootFrom(url); got != want {
			t.Errorf("rootFrom(%q) = %q, want %q", url, got, want)
		}
	}
}

func writeTheme(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	testtool.WriteSite(t, root, files)
	return root
}

func TestThemeOverrideAndFallback(t *testing.T) {
	root := writeTheme(t, map[string]string{
		"themes/custom/layouts/404.html":          "custom 404 for {{.Site.Title}}",
		"themes/custom/layouts/partials/tlp.html": "<p>LABEL {{.Display}}</p>",
		"themes/custom/static/css/extra.css":      "body{}",
	})
	th, err := LoadTheme(root, "custom")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := th.Execute(&b, "404", &data{Site: &SiteView{Title: "T"}}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "custom 404 for T" {
		t.Errorf("404 = %q (a kind file without a main block is a whole page)", b.String())
	}
	b.Reset()
	d := &data{Site: &SiteView{Title: "T"}, Kind: "page", Root: "../../", Page: &PageView{Title: "P", TLP: &TLPView{Display: "TLP:RED", Class: "red"}}}
	if err := th.Execute(&b, "page", d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "<p>LABEL TLP:RED</p>") || !strings.Contains(b.String(), `href="../../css/conclave.css"`) {
		t.Errorf("page did not use the overriding partial within the built-in layout:\n%s", b.String())
	}
	var statics []string
	if err := th.Static(func(out string, _ []byte) error { statics = append(statics, out); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(statics, " "); got != "css/conclave.css css/extra.css favicon.svg js/search.js js/unlock.js" {
		t.Errorf("static files = %s", got)
	}
}

func TestThemeErrors(t *testing.T) {
	if _, err := LoadTheme(t.TempDir(), "missing"); err == nil || !strings.Contains(err.Error(), `theme "missing" not found: no folder themes/missing/`) {
		t.Errorf("missing theme: %v", err)
	}
	root := writeTheme(t, map[string]string{
		"themes/default/layouts/page.html":          "{{define \"main\"}}\n\n{{if}}{{end}}",
		"themes/default/layouts/partials/meta.html": "{{.Nope",
	})
	_, err := LoadTheme(root, "default")
	if err == nil {
		t.Fatal("broken templates accepted")
	}
	for _, want := range []string{"themes/default/layouts/page.html:3: template: missing value for if", "themes/default/layouts/partials/meta.html:1: template:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error = %q\nwant %q", err, want)
		}
	}
	if n := strings.Count(err.Error(), "meta.html"); n != 1 {
		t.Errorf("a broken partial is reported %d times, want once:\n%s", n, err)
	}

	root = writeTheme(t, map[string]string{"themes/default/layouts/tags.html": "{{define \"main\"}}\n{{.Missing.Field}}{{end}}"})
	th, err := LoadTheme(root, "default")
	if err != nil {
		t.Fatal(err)
	}
	err = th.Execute(&bytes.Buffer{}, "tags", &data{Site: &SiteView{}})
	if err == nil || !strings.HasPrefix(err.Error(), "themes/default/layouts/tags.html:2:") {
		t.Errorf("execution error = %v", err)
	}
}

func TestSortAndTags(t *testing.T) {
	d := func(s string) time.Time { tm, _ := time.Parse("2006-01-02", s); return tm }
	views := []*PageView{
		{Path: "a", Title: "A", Time: d("2007-01-01"), Tags: []TagRef{{Name: "ICASI", Slug: "icasi"}}},
		{Path: "b", Title: "B", Time: d("2008-01-01"), Tags: []TagRef{{Name: "icasi", Slug: "icasi"}, {Name: "x", Slug: "x"}}},
		{Path: "c", Title: "C", Time: d("2008-01-01"), Weight: -1},
		{Path: "d", Title: "D"},
	}
	SortPages(views)
	var order []string
	for _, v := range views {
		order = append(order, v.Path)
	}
	if got := strings.Join(order, ""); got != "cbad" {
		t.Errorf("order = %s, want cbad (newest first, then weight, undated last)", got)
	}
	tags := Tags(views)
	if len(tags) != 2 || tags[0].Name != "icasi" || tags[0].Count != 2 || tags[1].Slug != "x" {
		t.Errorf("tags = %+v", tags)
	}
}

func TestPagination(t *testing.T) {
	th, err := LoadTheme(t.TempDir(), "default")
	if err != nil {
		t.Fatal(err)
	}
	r := &Renderer{theme: th, view: &SiteView{Title: "T"}}
	var views []*PageView
	for i := range 2*PerPage + 1 {
		views = append(views, &PageView{Title: fmt.Sprintf("P%02d", i), Rel: fmt.Sprintf("p%d/", i)})
	}
	files := map[string]string{}
	jobs := r.listPages("home", "/", views, nil, "")
	r.listItems(jobs)
	for _, lp := range jobs {
		var b bytes.Buffer
		if err := th.Execute(&b, lp.kind, lp.data); err != nil {
			t.Fatal(err)
		}
		files[lp.out] = b.String()
	}
	if len(files) != 3 {
		t.Fatalf("files = %d, want 3", len(files))
	}
	p2 := files["page/2/index.html"]
	for _, want := range []string{`href="../../"`, `rel="prev" href="../../"`, `rel="next" href="../../page/3/"`, "Page 2 of 3", `href="../../p20/"`} {
		if !strings.Contains(p2, want) {
			t.Errorf("page 2 lacks %q", want)
		}
	}
	if strings.Contains(files["index.html"], "P20") || !strings.Contains(files["page/3/index.html"], "P40") {
		t.Error("pages split wrongly")
	}
}

func TestDescriptionFallsBackToSite(t *testing.T) {
	th, err := LoadTheme(t.TempDir(), "default")
	if err != nil {
		t.Fatal(err)
	}
	for _, desc := range []string{"Briefings for the circle.", ""} {
		r := &Renderer{theme: th, view: &SiteView{Title: "T", Description: desc}}
		views := []*PageView{{Path: "content/a.md", URL: "/a/", Rel: "a/", Title: "A", Tags: []TagRef{{Name: "x", Slug: "x", Rel: "tags/x/"}}}}
		emit, files := collect()
		if _, err := r.Lists(views, nil, emit, nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := r.NotFound(emit); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"index.html", "tags/index.html", "tags/x/index.html", "404.html"} {
			got, ok := files[p]
			if !ok {
				t.Fatalf("%s not rendered", p)
			}
			has := strings.Contains(got, `<meta name="description" content="`+desc+`">`)
			if desc != "" && !has {
				t.Errorf("%s has no description; want the site's", p)
			}
			if desc == "" && strings.Contains(got, `name="description"`) {
				t.Errorf("%s has an empty description meta tag", p)
			}
		}
	}
}

// The digest of a list page covers every field of its data: adding a
// field to data needs a line in digester.list, or list pages built from
// other data would be taken for unchanged.
func TestListDigestCoversData(t *testing.T) {
	covered := []string{"Site", "Kind", "Title", "Description", "Permalink", "Root", "CSP", "Section", "Heading", "Page", "Pages", "Pager", "Tags", "Content", "Unlock", "Search", "Preview"}
	derived := 1 // items: made of Pages, Root and the theme
	typ := reflect.TypeOf(data{})
	if typ.NumField() != len(covered)+derived {
		t.Fatalf("data has %d fields, the digest covers %d: update digester.list and this list", typ.NumField(), len(covered))
	}
	for _, name := range covered {
		if _, ok := typ.FieldByName(name); !ok {
			t.Errorf("data has no field %s any more", name)
		}
	}
	// Every field changes the digest.
	v := &PageView{Path: "p", URL: "/p/", Rel: "p/", Title: "P"}
	dg, err := newDigester(&SiteView{Title: "S"}, []*PageView{v}, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := func() *data {
		return &data{Site: &SiteView{Title: "S"}, Kind: "home", Pages: []*PageView{v}, Pager: &Pager{Number: 1, Total: 1}}
	}
	seen := map[[32]byte]string{dg.list(listPage{kind: "home", out: "index.html", data: base()}): "base"}
	for name, edit := range map[string]func(d *data){
		"Kind": func(d *data) { d.Kind = "tag" }, "Title": func(d *data) { d.Title = "x" },
		"Description": func(d *data) { d.Description = "x" }, "Permalink": func(d *data) { d.Permalink = "x" },
		"Root": func(d *data) { d.Root = "../" }, "CSP": func(d *data) { d.CSP = "x" },
		"Section": func(d *data) { d.Section = "x" }, "Heading": func(d *data) { d.Heading = "x" },
		"Page": func(d *data) { d.Page = &PageView{Title: "x"} }, "Pages": func(d *data) { d.Pages = nil },
		"Pager": func(d *data) { d.Pager.Number = 2 }, "Tags": func(d *data) { d.Tags = []*TagView{{Name: "x"}} },
		"Content": func(d *data) { d.Content = "x" },
		"Unlock":  func(d *data) { d.Unlock = &Script{Src: "js/unlock.js"} }, "Preview": func(d *data) { d.Preview = true },
	} {
		d := base()
		edit(d)
		sum := dg.list(listPage{kind: "home", out: "index.html", data: d})
		if prev, dup := seen[sum]; dup {
			t.Errorf("changing %s gives the digest of %s", name, prev)
		}
		seen[sum] = name
	}
}

// Known view digests are taken as given, for those views only; the others
// are computed, and the result holds exactly the views listed.
func TestDigesterKnownViews(t *testing.T) {
	a := &PageView{Path: "a", URL: "/a/", Title: "A"}
	b := &PageView{Path: "b", URL: "/b/", Title: "B"}
	gone := &PageView{Path: "gone"}
	fresh, err := newDigester(&SiteView{}, []*PageView{a, b}, nil)
	if err != nil {
		t.Fatal(err)
	}
	marker := [32]byte{1, 2, 3}
	dg, err := newDigester(&SiteView{}, []*PageView{a, b}, ViewSums{a: marker, gone: marker})
	if err != nil {
		t.Fatal(err)
	}
	if len(dg.views) != 2 || dg.views[a] != marker || dg.views[b] != fresh.views[b] {
		t.Errorf("views %v, want a's given digest and b's computed one", dg.views)
	}
	if fresh.views[a] == marker || fresh.views[a] == fresh.views[b] {
		t.Errorf("computed digests %v", fresh.views)
	}
}
