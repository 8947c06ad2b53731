package themes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// searchFor opens the search page for query and waits for its results.
func searchFor(s *site, query string) step {
	return chromedp.Steps(
		chromedp.Navigate(s.url+"/search/?q="+url.QueryEscape(query)),
		chromedp.WaitVisible(chromedp.CSS(`html[data-search="done"]`)),
	)
}

// hits returns the text of the hits shown, one string each.
func hits(t *testing.T, ctx context.Context) []string {
	t.Helper()
	return eval[[]string](t, ctx, `[...document.querySelectorAll("#search-results li")].map((li) => li.innerText)`)
}

// typeQuery replaces the search box's text, as typing does, and waits for
// the results of it.
func typeQuery(query string) step {
	js, _ := json.Marshal(query)
	return chromedp.Steps(
		chromedp.Evaluate[chromedp.Void](`(() => { document.documentElement.dataset.search = ""; const f = document.querySelector("#search-q"); f.value = `+string(js)+`; f.dispatchEvent(new Event("input", {bubbles: true})) })()`),
		chromedp.WaitVisible(chromedp.CSS(`html[data-search="done"]`)),
	)
}

// holds reports whether any hit holds s.
func holds(hs []string, s string) bool {
	for _, h := range hs {
		if strings.Contains(h, s) {
			return true
		}
	}
	return false
}

// rememberKeys unlocks a page of the site with id, remembering the keys
// for the tab, as a reader does before searching.
func rememberKeys(s *site, page, id string) step {
	return chromedp.Steps(
		chromedp.Navigate(s.url+page),
		waitState("locked"),
		click("#conclave-remember"),
		unlock(id),
		waitState("unlocked"),
	)
}

// A reader without keys finds public text, by words and their starts, with
// the words marked, by the page's address, and through the browser's
// history; restricted words find nothing, and no packet is fetched.
func TestSearchPublic(t *testing.T) {
	s := testSite(t)
	ctx := browser(t)
	run(t, ctx, searchFor(s, "public"))
	hs := hits(t, ctx)
	if len(hs) != 2 || !holds(hs, "Embargoed advisory") || !holds(hs, "Public page") {
		t.Fatalf("hits for public: %q", hs)
	}
	// Snippets come from the pages, after the hits show.
	run(t, ctx, chromedp.Poll[chromedp.Void](`document.querySelectorAll("#search-results .search-snippet mark").length >= 2`))
	if marks := eval[[]string](t, ctx, `[...document.querySelectorAll("#search-results mark")].map((m) => m.textContent.toLowerCase())`); len(marks) < 2 || marks[0] != "public-intro." && !strings.HasPrefix(marks[0], "public") {
		t.Errorf("words marked in the snippets: %q", marks)
	}
	if st := eval[string](t, ctx, `document.querySelector("#search-status").textContent`); !strings.Contains(st, "2 briefings match") {
		t.Errorf("status %q", st)
	}
	// As the reader types: "noth" finds "Nothing".
	run(t, ctx, typeQuery("noth"))
	if hs := hits(t, ctx); len(hs) != 1 || !holds(hs, "Public page") {
		t.Errorf("hits for noth: %q", hs)
	}
	if u := eval[string](t, ctx, `location.search`); u != "?q=noth" {
		t.Errorf("the address does not follow the query: %q", u)
	}
	// Every word must match, in any order.
	run(t, ctx, typeQuery("outro intro"))
	if hs := hits(t, ctx); len(hs) != 1 || !holds(hs, "Embargoed advisory") {
		t.Errorf("hits for outro intro: %q", hs)
	}
	run(t, ctx, typeQuery("intro zebra"))
	if hs := hits(t, ctx); len(hs) != 0 {
		t.Errorf("hits for intro zebra: %q", hs)
	}
	for _, secret := range []string{"board-text", "alice-only", "december", "dave-only"} {
		run(t, ctx, typeQuery(secret))
		if hs := hits(t, ctx); len(hs) != 0 {
			t.Errorf("a reader without keys finds %q: %q", secret, hs)
		}
	}
	// The browser's back button goes back to an earlier query.
	run(t, ctx, searchFor(s, "nothing"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#search-q").value = "intro"; document.documentElement.dataset.search = ""`),
		click("#search-form button[type=submit]"),
		chromedp.WaitVisible(chromedp.CSS(`html[data-search="done"]`)))
	if u := eval[string](t, ctx, `location.search`); u != "?q=intro" {
		t.Errorf("after submitting, the address is %q", u)
	}
	run(t, ctx,
		chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.search = ""; history.back()`),
		chromedp.WaitVisible(chromedp.CSS(`html[data-search="done"]`)))
	if v := eval[string](t, ctx, `document.querySelector("#search-q").value`); v != "nothing" {
		t.Errorf("after back, the query is %q", v)
	}
	for _, r := range s.log() {
		if strings.Contains(r, "/packets/") && !strings.Contains(r, "keyrings") {
			t.Errorf("a locked tab's search fetched a packet: %s", strings.SplitN(r, "\n", 2)[0])
		}
	}
}

// A member finds her audiences' passages once the tab holds her keys, and
// nothing of the passages sealed for others; a hit in a passage says so.
func TestSearchMember(t *testing.T) {
	s := testSite(t)
	ctx := browser(t)
	run(t, ctx, rememberKeys(s, "/briefings/x/", identityText(s.ids["alice"])), searchFor(s, "board"))
	hs := hits(t, ctx)
	if len(hs) != 2 || !holds(hs, "Embargoed advisory") || !holds(hs, "Second page") {
		t.Fatalf("alice's hits for board: %q", hs)
	}
	if !holds(hs, "restricted passage for board") {
		t.Errorf("a sealed hit does not say so: %q", hs)
	}
	shot(t, ctx, "search-results.png")
	for query, want := range map[string]string{"december": "Embargoed advisory", "alice-only": "Embargoed advisory", "board-second": "Second page"} {
		run(t, ctx, typeQuery(query))
		if hs := hits(t, ctx); len(hs) != 1 || !holds(hs, want) {
			t.Errorf("alice's hits for %s: %q", query, hs)
		}
	}
	// A public word and a sealed word of the same page find it together.
	run(t, ctx, typeQuery("outro december"))
	if hs := hits(t, ctx); len(hs) != 1 || !holds(hs, "Embargoed advisory") {
		t.Errorf("alice's hits for outro december: %q", hs)
	}
	for _, other := range []string{"bob-only", "carol-only", "dave-only"} {
		run(t, ctx, typeQuery(other))
		if hs := hits(t, ctx); len(hs) != 0 {
			t.Errorf("alice finds %s: %q", other, hs)
		}
	}
}

// A recipient of the site who is not in the board finds none of its
// passages, and finds his own.
func TestSearchNonMember(t *testing.T) {
	s := testSite(t)
	ctx := browser(t)
	run(t, ctx, rememberKeys(s, "/briefings/y/", identityText(s.ids["dave"])), searchFor(s, "board"))
	if hs := hits(t, ctx); len(hs) != 0 {
		t.Errorf("dave's hits for board: %q", hs)
	}
	run(t, ctx, typeQuery("dave"))
	if hs := hits(t, ctx); len(hs) != 1 || !holds(hs, "Second page") {
		t.Errorf("dave's hits for dave: %q", hs)
	}
}

// A reader of two audiences (the board, and his own nested passage) finds
// both; the nested passage is in his index alone, not the board's.
func TestSearchTwoAudiences(t *testing.T) {
	s := testSite(t)
	ctx := browser(t)
	run(t, ctx, rememberKeys(s, "/briefings/x/", identityText(s.ids["bob"])), searchFor(s, "bob-only"))
	if hs := hits(t, ctx); len(hs) != 1 || !holds(hs, "Embargoed advisory") || !holds(hs, "TLP:RED") {
		t.Errorf("bob's hits for bob-only: %q", hs)
	}
	run(t, ctx, typeQuery("board"))
	if hs := hits(t, ctx); len(hs) != 2 {
		t.Errorf("bob's hits for board: %q", hs)
	}
	// alice, of the board only, does not find the passage nested in the
	// board's.
	ctx2 := browser(t)
	run(t, ctx2, rememberKeys(s, "/briefings/x/", identityText(s.ids["alice"])), searchFor(s, "bob-only"))
	if hs := hits(t, ctx2); len(hs) != 0 {
		t.Errorf("alice finds bob's nested passage: %q", hs)
	}
}

// The search page unlocks too: without "remember", its keys search the
// reader's passages until Lock, and nothing after.
func TestSearchUnlockOnSearchPage(t *testing.T) {
	s := testSite(t)
	ctx := browser(t)
	run(t, ctx, searchFor(s, "december"))
	if hs := hits(t, ctx); len(hs) != 0 {
		t.Fatalf("locked: %q", hs)
	}
	run(t, ctx,
		chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.search = ""`),
		unlock(identityText(s.ids["carol"])), waitState("unlocked"),
		chromedp.WaitVisible(chromedp.CSS(`html[data-search="done"]`)))
	run(t, ctx, typeQuery("carol-only"))
	if hs := hits(t, ctx); len(hs) != 1 {
		t.Errorf("carol after unlocking on the search page: %q", hs)
	}
	run(t, ctx,
		chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.search = ""`),
		click("#conclave-lock-button"), waitState("locked"),
		chromedp.WaitVisible(chromedp.CSS(`html[data-search="done"]`)))
	if hs := hits(t, ctx); len(hs) != 0 {
		t.Errorf("after Lock: %q", hs)
	}
}

// The public index holds no restricted word, in any file.
func TestSearchIndexPublicOnly(t *testing.T) {
	s := testSite(t)
	err := filepath.WalkDir(filepath.Join(s.out, "search"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, secret := range []string{"board", "december", "alice", "bob", "carol", "dave"} {
			if strings.Contains(strings.ToLower(string(data)), secret) {
				t.Errorf("%s holds %q", p, secret)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// As a reader types a word, hits rank by weight (a page that says the word
// most comes first, a longer word that starts with it after the word
// itself), and the pages of the snippets load only for the query that
// stands: not those of each prefix's hits.
func TestSearchTyping(t *testing.T) {
	s := buildSite(t, nil, "", map[string]string{
		"notes/alpha.md": "---\ntitle: Alpha\ndate: 2026-10-01\n---\n\nPatch, patch, patch: the patch notes.\n",
		"notes/beta.md":  "---\ntitle: Beta\ndate: 2026-10-02\n---\n\nOne patch among the many other words of a longer page, which weigh the word down considerably.\n",
		"notes/gamma.md": "---\ntitle: Gamma\ndate: 2026-10-03\n---\n\nA patchwork of fixes.\n",
		"notes/delta.md": "---\ntitle: Delta\ndate: 2026-10-04\n---\n\nA pandemic plan.\n",
	})
	ctx := browser(t)
	run(t, ctx, searchFor(s, "zz"))
	before := len(s.log())
	// Each key as soon as the last one's results show, as a quick typist's
	// come: the snippets wait for the query to stand.
	run(t, ctx,
		chromedp.Evaluate[chromedp.Void](`(async () => {
			const f = document.querySelector("#search-q");
			const root = document.documentElement;
			for (const v of ["", "p", "pa", "pat", "patc", "patch"]) {
				root.dataset.search = "";
				f.value = v;
				f.dispatchEvent(new Event("input", {bubbles: true}));
				while (root.dataset.search !== "done") await new Promise((r) => setTimeout(r, 2));
			}
		})()`, chromedp.EvalAwaitPromise),
		chromedp.WaitVisible(chromedp.CSS(`html[data-search="done"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#search-results .search-snippet[aria-busy]").length === 0`))
	hs := hits(t, ctx)
	if len(hs) != 3 || !strings.HasPrefix(hs[0], "Alpha") || !strings.HasPrefix(hs[1], "Beta") || !strings.HasPrefix(hs[2], "Gamma") {
		t.Fatalf("hits for patch, in order: %q", hs)
	}
	pages := map[string]int{}
	for _, r := range s.log()[before:] {
		line := strings.SplitN(r, "\n", 2)[0]
		if strings.HasPrefix(line, "GET /notes/") {
			pages[strings.TrimPrefix(line, "GET ")]++
		}
	}
	want := map[string]int{"/notes/alpha/": 1, "/notes/beta/": 1, "/notes/gamma/": 1}
	if len(pages) != len(want) {
		t.Errorf("pages loaded for snippets while typing patch: %v, want %v", pages, want)
	}
	for p, n := range want {
		if pages[p] != n {
			t.Errorf("pages loaded for snippets while typing patch: %v, want %v", pages, want)
			break
		}
	}
}

// Public documents come eight to a file: a search whose hits span several
// files shows each hit's own title, date and address, page after page of
// results, and fetches each file once.
func TestSearchDocumentFiles(t *testing.T) {
	pages := map[string]string{}
	const n = 27 // three full files and a last one of three
	for i := range n {
		pages[fmt.Sprintf("notes/n%02d.md", i)] = fmt.Sprintf("---\ntitle: Note %02d\ndate: 2026-10-%02d\n---\n\nA kestrel note, number %02d.\n", i, 1+i, i)
	}
	s := buildSite(t, nil, "", pages)
	ctx := browser(t)
	before := len(s.log())
	run(t, ctx, searchFor(s, "kestrel"))
	for range 2 {
		run(t, ctx, click(".search-more"),
			chromedp.Poll[chromedp.Void](`document.querySelectorAll("#search-results li").length >= 20`))
	}
	run(t, ctx, chromedp.Poll[chromedp.Void](`document.querySelectorAll("#search-results li").length === `+fmt.Sprint(n)))
	type hit struct{ Title, Href, Date string }
	got := eval[[]hit](t, ctx, `[...document.querySelectorAll("#search-results li")].map((li) => ({
		Title: li.querySelector(".search-hit-title").textContent,
		Href: new URL(li.querySelector(".search-hit-title").href).pathname,
		Date: li.querySelector("time").getAttribute("datetime")}))`)
	seen := map[string]bool{}
	for _, h := range got {
		var i int
		if _, err := fmt.Sscanf(h.Title, "Note %02d", &i); err != nil {
			t.Fatalf("hit %+v: %v", h, err)
		}
		if want := (hit{fmt.Sprintf("Note %02d", i), fmt.Sprintf("/notes/n%02d/", i), fmt.Sprintf("2026-10-%02d", 1+i)}); h != want || seen[h.Title] {
			t.Errorf("hit %+v, want %+v, once", h, want)
		}
		seen[h.Title] = true
	}
	files := map[string]int{}
	for _, r := range s.log()[before:] {
		line := strings.SplitN(r, "\n", 2)[0]
		if p, ok := strings.CutPrefix(line, "GET /search/d/"); ok {
			files[p]++
		}
	}
	if len(files) != 4 {
		t.Errorf("document files fetched: %v, want 0.json to 3.json", files)
	}
	for f, k := range files {
		if k != 1 {
			t.Errorf("%s fetched %d times", f, k)
		}
	}
}
