package render

import (
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/testtool"
	"github.com/conclave-dev/conclave/themes"
)

// listFiles renders the lists of views with the theme at root and returns
// every file written.
func listFiles(t *testing.T, root, theme string, views []*PageView) map[string]string {
	t.Helper()
	th, err := LoadTheme(root, theme)
	if err != nil {
		t.Fatal(err)
	}
	r := &Renderer{theme: th, view: &SiteView{Title: "T", Sections: []SectionRef{{Name: "a", Title: "A", Rel: "a/"}, {Name: "b", Title: "B", Rel: "b/"}}}}
	emit, files := collect()
	if _, err := r.Lists(views, nil, emit, nil, nil); err != nil {
		t.Fatal(err)
	}
	return files
}

// collect returns an Emit that keeps what it is given, from several
// goroutines at once (as Lists calls it), in files.
func collect() (emit Emit, files map[string]string) {
	var mu sync.Mutex
	files = map[string]string{}
	return func(p string, data []byte) error {
		mu.Lock()
		defer mu.Unlock()
		files[p] = string(data)
		return nil
	}, files
}

// listViews are n briefings in two sections, with dates, labels, tags
// and text that escapers change.
func listViews(n int) []*PageView {
	var views []*PageView
	for i := range n {
		sec := []string{"a", "b"}[i%2]
		v := &PageView{
			Path: fmt.Sprintf("content/%s/p%d.md", sec, i), URL: fmt.Sprintf("/%s/p%d/", sec, i), Rel: fmt.Sprintf("%s/p%d/", sec, i),
			Title: fmt.Sprintf(`P%d "quoted" <b>`, i), Summary: fmt.Sprintf("Summary & more %d", i), Section: sec,
			Time: time.Date(2020, 1, 1+i%28, 0, 0, 0, 0, time.UTC),
		}
		v.Date = dateView(v.Time)
		if i%3 == 0 {
			v.TLP = &TLPView{Display: "TLP:AMBER", Class: "amber", Meaning: "limited"}
		}
		for _, tag := range []string{"x", "y y", "z"}[:i%4%3+1] {
			v.Tags = append(v.Tags, TagRef{Name: tag, Slug: strings.ReplaceAll(tag, " ", "-"), Rel: "tags/" + strings.ReplaceAll(tag, " ", "-") + "/"})
		}
		views = append(views, v)
	}
	return views
}

// The default theme's lists, each item rendered once and given each list
// page's root, are byte for byte those of the same layouts with the item
// inline in list.html's range, on list pages at every depth.
func TestItemsAsInline(t *testing.T) {
	list, err := fs.ReadFile(themes.Default, "layouts/partials/list.html")
	if err != nil {
		t.Fatal(err)
	}
	item, err := fs.ReadFile(themes.Default, "layouts/partials/"+ItemLayout)
	if err != nil {
		t.Fatal(err)
	}
	// The item's text, without its leading comment and its closing trim.
	body := string(item)
	body = body[strings.Index(body, "*/}}")+len("*/}}") : strings.LastIndex(body, "{{- /* */ -}}")]
	const ranged = "{{- range .Items}}{{.}}{{end}}"
	if !strings.Contains(string(list), ranged) {
		t.Fatalf("list.html no longer has %q", ranged)
	}
	inline := strings.Replace(string(list), ranged, "{{- range .Pages}}"+body+"{{- end}}", 1)
	root := writeTheme(t, map[string]string{"themes/inline/layouts/partials/list.html": inline})

	views := listViews(2*PerPage + 7)
	got := listFiles(t, t.TempDir(), "default", views)
	want := listFiles(t, root, "inline", listViews(2*PerPage+7))
	if len(got) != len(want) {
		t.Fatalf("%d files, want %d", len(got), len(want))
	}
	depths := map[string]bool{}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s differs:\n%s", p, testtool.FirstDiff([]byte(w), []byte(got[p])))
		}
		depths[rootFrom("/"+strings.TrimSuffix(p, "index.html"))] = true
	}
	if len(depths) < 5 {
		t.Errorf("list pages at %d depths, want all five kinds", len(depths))
	}
	if !strings.Contains(got["tags/x/page/2/index.html"], `href="../../../../a/p`) {
		t.Errorf("a tag's second page does not link its briefings from four folders down")
	}

	// And each item was rendered once, its root put in: none of the
	// default theme's roots needed an item rendered with it.
	th, err := LoadTheme(t.TempDir(), "default")
	if err != nil {
		t.Fatal(err)
	}
	r := &Renderer{theme: th, view: &SiteView{Title: "T"}}
	jobs := append(r.listPages("home", "/", views, nil, ""), r.listPages("tag", "/tags/x/", views, nil, "x")...)
	r.listItems(jobs)
	for _, j := range jobs {
		if err := r.execute(j.kind, j.out, j.data, func(string, []byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	li := jobs[0].data.items
	rendered, roots := 0, 0
	li.pieces.Range(func(_, _ any) bool { rendered++; return true })
	li.exact.Range(func(root, exact any) bool {
		roots++
		if !exact.(bool) {
			t.Errorf("root %q: items rendered with it", root)
		}
		return true
	})
	if rendered != len(views) || roots != 3 {
		t.Errorf("%d items rendered at %d roots, want %d at 3 (./, ../../ and four folders up)", rendered, roots, len(views))
	}
}

// A theme that puts the root where an escaper changes it (a query, a
// script) gets each item rendered with the root itself.
func TestItemsRootEscaped(t *testing.T) {
	const item = `<li><a href="x?r={{.Root}}">{{.Title}}</a><script>var r = {{.Root}};</script><a href="{{.Root}}{{.Rel}}">go</a></li>`
	root := writeTheme(t, map[string]string{
		"themes/items/layouts/partials/list.html":      `{{range .Items}}{{.}}{{end}}`,
		"themes/items/layouts/partials/" + ItemLayout:  item,
		"themes/inline/layouts/partials/list.html":     `{{range .Pages}}` + strings.ReplaceAll(item, ".Root", "$.Root") + `{{end}}`,
		"themes/inline/layouts/partials/" + ItemLayout: "unused",
	})
	got := listFiles(t, root, "items", listViews(PerPage+3))
	want := listFiles(t, root, "inline", listViews(PerPage+3))
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s differs:\n%s", p, testtool.FirstDiff([]byte(w), []byte(got[p])))
		}
	}
	if !strings.Contains(want["page/2/index.html"], `x?r=..%2f..%2f`) {
		t.Errorf("the escapers no longer change the root here: the test checks nothing\n%s", want["page/2/index.html"])
	}
}

// .Items anywhere but on a list page fails, naming the layout and line.
func TestItemsOnlyOnLists(t *testing.T) {
	root := writeTheme(t, map[string]string{"themes/odd/layouts/page.html": "{{define \"main\"}}\n{{range .Items}}{{.}}{{end}}{{end}}"})
	th, err := LoadTheme(root, "odd")
	if err != nil {
		t.Fatal(err)
	}
	r := &Renderer{theme: th, view: &SiteView{Title: "T"}}
	err = r.execute("page", "p/index.html", r.data("page", "/p/"), func(string, []byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "themes/odd/layouts/page.html:2:") || !strings.Contains(err.Error(), "only list pages list briefings") {
		t.Errorf("err = %v", err)
	}
}
