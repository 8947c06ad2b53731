package themes_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/chromedp/chromedp"
)

// BenchmarkSearch compares conclave's site search with Pagefind's in
// headless Chromium, on sites built beforehand by .ci/bench/search (KEEP=1
// keeps them and prints this command):
//
//	CONCLAVE_SEARCH_BENCH_SITE=/dev/shm/…/public \
//	CONCLAVE_SEARCH_BENCH_PAGEFIND=/dev/shm/…/pagefind-site \
//	go test ./themes -run '^$' -bench BenchmarkSearch -benchtime 3x -timeout 60m
//
// CONCLAVE_SEARCH_BENCH_SITE is conclave's output, with its search page
// and index (public/search/); CONCLAVE_SEARCH_BENCH_PAGEFIND is a copy of
// a conclave output that Pagefind indexed (its pagefind/ folder). Either
// may be left out to measure one side. CONCLAVE_SEARCH_BENCH_WORDS=a,b,…
// chooses the words; by default they are chosen from the briefings' text:
// a rare word (on a handful of pages), the rarest word of letters when the
// rare one is a number, and a common word (on most pages).
//
// For each word and each tool, in a new browser context (empty cache):
//
//   - first: the word's query as the page's first, from its address
//     (conclave: /search/?q=WORD; Pagefind: a page of the harness at
//     /pagefind-bench.html?q=WORD that calls Pagefind's API). Bytes are
//     what the server sent for the search (scripts, wasm, index files,
//     pages fetched for their text, until the server has had no request
//     for 300 ms, so that snippets loaded after the results count; not
//     the page in the tab, its style sheets or images: see searchLoad),
//     counted by the server
//     because Pagefind fetches its index from a Web Worker, whose loads
//     the page's performance timeline does not list; gzip is what they
//     would weigh gzipped (-6), as a server that compresses would send
//     them. Times are from the page's own performance.measure: "from
//     navigation" is when results were shown, "own" the measure's
//     duration (conclave: from page load or the input event; Pagefind:
//     from the start of the query, the import of pagefind.js included).
//   - later: the next word typed into #search-q after the first query
//     (its value replaced, an input event dispatched), to results shown.
//   - again: the first word typed again after that.
//   - typed (in another new context): the next word's page loaded from
//     its address, its box emptied, then the word typed a key at a time,
//     typeKeys apart: from the last key to results shown, and the bytes
//     loaded since the box was emptied (every prefix's).
//
// Each tool is served by its own httptest server (no compression, no
// cache headers), the tools taking turns, over HTTP/2 with TLS, as GitHub
// Pages and CDNs serve sites (CONCLAVE_SEARCH_BENCH_HTTP=1.1: plain
// HTTP/1.1, where Chromium opens at most six connections to a server). The table at the end gives the
// min–max of b.N repetitions (-benchtime 3x: three).
//
// conclave's side is the contract of its search script: for every query
// it records performance.measure("conclave:search") ending when results
// are rendered, and sets data-search="done" and data-search-hits on
// <html>.
func BenchmarkSearch(b *testing.B) {
	siteDir := os.Getenv("CONCLAVE_SEARCH_BENCH_SITE")
	pfDir := os.Getenv("CONCLAVE_SEARCH_BENCH_PAGEFIND")
	if siteDir == "" && pfDir == "" {
		b.Skip("a benchmark of sites built beforehand, not a CI test: set CONCLAVE_SEARCH_BENCH_SITE (conclave's output, with search/) " +
			"and/or CONCLAVE_SEARCH_BENCH_PAGEFIND (a copy that Pagefind indexed); .ci/bench/search with KEEP=1 builds both and prints the command")
	}
	var tools []*searchTool
	if siteDir != "" {
		if _, err := os.Stat(filepath.Join(siteDir, "search", "index.html")); err != nil {
			b.Errorf("conclave: %s has no search/index.html: it was built by a conclave without site search, "+
				"or is not a conclave output; the conclave side is not measured", siteDir)
		} else {
			tools = append(tools, newSearchTool(b, "conclave", siteDir, "conclave:search",
				func(w string) string { return "/search/?q=" + url.QueryEscape(w) }))
		}
	}
	if pfDir != "" {
		if _, err := os.Stat(filepath.Join(pfDir, "pagefind", "pagefind.js")); err != nil {
			b.Fatalf("pagefind: %s has no pagefind/pagefind.js: run pagefind --site %s first", pfDir, pfDir)
		}
		tools = append(tools, newSearchTool(b, "pagefind", pfDir, "pagefind:search",
			func(w string) string { return "/pagefind-bench.html?q=" + url.QueryEscape(w) }))
	}
	if len(tools) == 0 {
		b.FailNow()
	}

	vocabDir := siteDir
	if vocabDir == "" {
		vocabDir = pfDir
	}
	start := time.Now()
	vocab, pages, avoid, err := briefingWords(vocabDir)
	if err != nil {
		b.Fatal(err)
	}
	if pages == 0 {
		b.Fatalf("no briefing pages (<body class=\"kind-page …\">) in %s", vocabDir)
	}
	words := chooseWords(vocab, pages, avoid)
	if env := os.Getenv("CONCLAVE_SEARCH_BENCH_WORDS"); env != "" {
		words = nil
		for _, w := range strings.Split(env, ",") {
			if w = strings.ToLower(strings.TrimSpace(w)); w != "" {
				words = append(words, searchWord{w, "chosen-" + w})
			}
		}
	}
	if len(words) < 2 {
		b.Fatalf("need two words or more, have %v", words)
	}
	fmt.Printf("search: %d briefings in %s, %d distinct words (read in %v)\n", pages, vocabDir, len(vocab), time.Since(start).Round(time.Millisecond))
	for _, w := range words {
		fmt.Printf("search: %s word %q is on %d briefings (%.2f%%)\n", w.class, w.word, vocab[w.word], 100*float64(vocab[w.word])/float64(pages))
	}

	// Over TLS (HTTP/2, as GitHub Pages and CDNs serve a site), Chromium
	// trusts the servers' certificates by their keys, and only those.
	var spki []string
	for _, tl := range tools {
		if c := tl.srv.Certificate(); c != nil {
			sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
			spki = append(spki, base64.StdEncoding.EncodeToString(sum[:]))
		}
	}
	var extra []chromedp.ExecAllocatorOption
	if len(spki) > 0 {
		extra = append(extra, chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(spki, ",")))
	}
	browserCtx := browserFor(b, 60*time.Minute, extra...)
	cells := map[[2]string]*searchCell{} // by tool, word
	cell := func(tool, word string) *searchCell {
		k := [2]string{tool, word}
		if cells[k] == nil {
			cells[k] = &searchCell{}
		}
		return cells[k]
	}
	broken := map[string]bool{}
	rep := 0
	for b.Loop() {
		for i, w := range words {
			other := words[(i+1)%len(words)].word
			for _, tl := range tools {
				if broken[tl.name] {
					continue
				}
				s, err := tl.session(browserCtx, w.word, other)
				if err != nil {
					b.Errorf("%s, %q then %q: %v", tl.name, w.word, other, err)
					broken[tl.name] = true
					continue
				}
				if rep == 0 {
					b.Logf("%s, first query %q loaded %d files: %s", tl.name, w.word, len(s.first.paths), strings.Join(s.first.paths, ", "))
				}
				c := cell(tl.name, w.word)
				c.firstNav = append(c.firstNav, s.first.end)
				c.firstOwn = append(c.firstOwn, s.first.own)
				c.firstBytes = append(c.firstBytes, float64(s.first.bytes))
				c.firstGzip = append(c.firstGzip, float64(s.first.gzip))
				c.firstReqs = append(c.firstReqs, float64(s.first.requests))
				c.again = append(c.again, s.again.ms)
				c.againBytes = append(c.againBytes, float64(s.again.bytes))
				c.hits = append(c.hits, float64(s.first.hits))
				ty, err := tl.typed(browserCtx, w.word, other)
				if err != nil {
					b.Errorf("%s, %q typed after %q: %v", tl.name, w.word, other, err)
					broken[tl.name] = true
					continue
				}
				if ty.hits != s.first.hits {
					b.Errorf("%s: %q gave %d hits first, %d typed", tl.name, w.word, s.first.hits, ty.hits)
				}
				c.typed = append(c.typed, ty.ms)
				c.typedBytes = append(c.typedBytes, float64(ty.bytes))
				o := cell(tl.name, other)
				o.later = append(o.later, s.later.ms)
				o.laterBytes = append(o.laterBytes, float64(s.later.bytes))
			}
		}
		rep++
	}

	fmt.Printf("\nsearch: %d repetitions, min–max; bytes as the server sent them (gzip: as they would weigh gzipped)\n\n", rep)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "tool\tword\tpages with word\thits\tfirst: KiB (gzip)\tfirst: files\tfirst: ms from navigation\tfirst: ms own measure\tlater: ms (after another word)\tlater: KiB\ttyped: ms after the last key\ttyped: KiB\tagain: ms (same word again)\tagain: KiB\t")
	for _, tl := range tools {
		for _, w := range words {
			c := cells[[2]string{tl.name, w.word}]
			if c == nil {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s (%s)\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", tl.name, w.word, vocab[w.word], span(c.hits, 1, "%.0f"),
				span(c.firstBytes, 1024, "%.1f"), span(c.firstGzip, 1024, "%.1f"), span(c.firstReqs, 1, "%.0f"),
				span(c.firstNav, 1, "%.0f"), span(c.firstOwn, 1, "%.0f"),
				span(c.later, 1, "%.1f"), span(c.laterBytes, 1024, "%.1f"), span(c.typed, 1, "%.1f"), span(c.typedBytes, 1024, "%.1f"), span(c.again, 1, "%.1f"), span(c.againBytes, 1024, "%.1f"))
			b.ReportMetric(median(c.firstNav), "ms-first-"+tl.name+"-"+w.class)
			if len(c.later) > 0 {
				b.ReportMetric(median(c.later), "ms-later-"+tl.name+"-"+w.class)
			}
			if len(c.typed) > 0 {
				b.ReportMetric(median(c.typed), "ms-typed-"+tl.name+"-"+w.class)
			}
			b.ReportMetric(median(c.firstBytes), "B-first-"+tl.name+"-"+w.class)
		}
	}
	tw.Flush()
	fmt.Println()
}

// searchCell holds the measurements of one tool and one word, one value
// per repetition.
type searchCell struct {
	firstNav, firstOwn, firstBytes, firstGzip, firstReqs []float64
	later, laterBytes, again, againBytes, hits           []float64
	typed, typedBytes                                    []float64
}

// span formats the min–max of v divided by div, or one value when they
// are the same as formatted.
func span(v []float64, div float64, f string) string {
	if len(v) == 0 {
		return "–"
	}
	lo, hi := fmt.Sprintf(f, slices.Min(v)/div), fmt.Sprintf(f, slices.Max(v)/div)
	if lo == hi {
		return lo
	}
	return lo + "–" + hi
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// searchTool is one side of the comparison: a site folder served on its
// own, the page of a first query, and the measure its page records for
// every query.
type searchTool struct {
	name    string
	measure string
	first   func(word string) string // the path of a first query's page
	srv     *countingServer
}

func newSearchTool(b *testing.B, name, dir, measure string, first func(string) string) *searchTool {
	s := &countingServer{root: dir, gzip: map[string]int64{}}
	files := http.FileServer(http.Dir(dir))
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countWriter{ResponseWriter: w}
		if r.URL.Path == "/pagefind-bench.html" && name == "pagefind" {
			cw.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(cw, pagefindPage)
		} else {
			files.ServeHTTP(cw, r)
		}
		s.record(r.URL.Path, searchLoad(r), cw.n)
	}))
	if os.Getenv("CONCLAVE_SEARCH_BENCH_HTTP") == "1.1" {
		s.Start()
	} else {
		s.EnableHTTP2 = true
		s.StartTLS()
	}
	b.Cleanup(s.Close)
	return &searchTool{name: name, measure: measure, first: first, srv: s}
}

// pagefindPage is the Pagefind side's search page: Pagefind's API
// (https://pagefind.app/docs/api/), the first ten results' data loaded
// and shown, as its UI does; the query from ?q= at load, then each input
// event of #search-q. It follows conclave's contract for the harness. It
// has no Content Security Policy: Pagefind needs a Web Worker and wasm.
const pagefindPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Pagefind search</title></head>
<body>
<input id="search-q" type="search" autocomplete="off" aria-label="Search">
<p id="search-status" role="status"></p>
<ol id="search-results"></ol>
<script type="module">
let pf, seq = 0;
const input = document.getElementById("search-q");
const list = document.getElementById("search-results");
async function query(word) {
  const my = ++seq;
  const t0 = performance.now();
  if (word.trim().length === 0) { // an emptied box: no query, as conclave's page
    list.replaceChildren();
    document.documentElement.dataset.search = "done";
    return;
  }
  if (!pf) {
    pf = await import("/pagefind/pagefind.js");
    await pf.init();
  }
  const r = await pf.search(word);
  const data = await Promise.all(r.results.slice(0, 10).map((x) => x.data()));
  if (my !== seq) return; // a later query took over
  list.replaceChildren(...data.map((d) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = d.url;
    a.textContent = d.meta.title || d.url;
    const p = document.createElement("p");
    p.innerHTML = d.excerpt; // Pagefind's excerpt: escaped text with <mark>
    li.append(a, p);
    return li;
  }));
  document.getElementById("search-status").textContent = r.results.length + " results";
  const root = document.documentElement;
  root.dataset.searchHits = String(r.results.length);
  root.dataset.search = "done";
  performance.measure("pagefind:search", { start: t0, end: performance.now(), detail: { word, hits: r.results.length } });
}
input.addEventListener("input", () => query(input.value));
const q = new URLSearchParams(location.search).get("q");
if (q) {
  input.value = q;
  query(q);
}
</script>
</body>
</html>
`

// countingServer serves a folder and counts the bytes of what a search
// loads (see searchLoad).
type countingServer struct {
	*httptest.Server
	root string

	mu       sync.Mutex
	bytes    int64
	gzipped  int64
	requests int
	paths    []string
	last     time.Time
	gzip     map[string]int64 // gzip -6 size of each file served, by path
}

type countWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// searchLoad tells whether a request is one the search made: anything but
// the page navigated to, style sheets, images and fonts, by the
// request's Sec-Fetch-Dest (pages a script fetches, for their text, are
// counted; the page loaded in the tab is not), or by its path when the
// browser sent none.
func searchLoad(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Dest") {
	case "document", "iframe", "style", "image", "font":
		return false
	case "":
	default:
		return true
	}
	p := r.URL.Path
	if strings.HasSuffix(p, "/") {
		return false
	}
	switch path.Ext(p) {
	case ".html", ".css", ".svg", ".ico", ".png", ".jpg", ".woff", ".woff2":
		return false
	}
	return true
}

func (s *countingServer) record(p string, search bool, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = time.Now()
	if !search || n == 0 {
		return
	}
	g, ok := s.gzip[p]
	if !ok {
		g = n
		file := filepath.Join(s.root, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			file = filepath.Join(file, "index.html")
		}
		if data, err := os.ReadFile(file); err == nil {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, 6)
			zw.Write(data)
			zw.Close()
			g = int64(buf.Len())
		}
		s.gzip[p] = g
	}
	s.bytes += n
	s.gzipped += g
	s.requests++
	s.paths = append(s.paths, fmt.Sprintf("%s (%d B)", p, n))
}

// loads is what the server sent for searches since the last call.
type loads struct {
	bytes, gzip int64
	requests    int
	paths       []string
}

func (s *countingServer) take() loads {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := loads{s.bytes, s.gzipped, s.requests, s.paths}
	s.bytes, s.gzipped, s.requests, s.paths = 0, 0, 0, nil
	return l
}

// quiet waits until the server has had no request for 300 ms (at most 5 s),
// so that what a query left loading is not counted in the next.
func (s *countingServer) quiet() {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		idle := time.Since(s.last)
		s.mu.Unlock()
		if idle >= 300*time.Millisecond {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// queryResult is one query's: when results were shown (ms since the
// page's time origin), how long since it was issued, its own measure's
// duration, its hits, and what it loaded.
type queryResult struct {
	end, ms, own float64
	hits         int
	loads
}

type searchSession struct{ first, later, again queryResult }

// session loads the search page of word in a new browser context, then
// types other, then word again.
func (tl *searchTool) session(browserCtx context.Context, word, other string) (searchSession, error) {
	var s searchSession
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		return s, err
	}
	tl.srv.quiet()
	tl.srv.take()
	if err := chromedp.Do(ctx, chromedp.Navigate(tl.srv.URL+tl.first(word))); err != nil {
		return s, err
	}
	m, err := tl.waitMeasure(ctx, 1)
	if err != nil {
		return s, err
	}
	tl.srv.quiet() // the snippets' loads, which follow the results, count too
	s.first = queryResult{end: m.End, ms: m.End, own: m.End - m.Start, hits: m.Hits, loads: tl.srv.take()}
	for i, w := range []string{other, word} {
		tl.srv.quiet()
		tl.srv.take()
		t0, err := chromedp.Run(ctx, chromedp.Evaluate[float64](fmt.Sprintf(`(() => {
			const i = document.querySelector("#search-q");
			if (!i) throw new Error("no #search-q in the page");
			const t = performance.now();
			i.value = %q;
			i.dispatchEvent(new Event("input", {bubbles: true}));
			return t;
		})()`, w)))
		if err != nil {
			return s, err
		}
		m, err := tl.waitMeasure(ctx, i+2)
		if err != nil {
			return s, fmt.Errorf("typing %q: %w", w, err)
		}
		tl.srv.quiet()
		r := queryResult{end: m.End, ms: m.End - t0, own: m.End - m.Start, hits: m.Hits, loads: tl.srv.take()}
		if i == 0 {
			s.later = r
		} else {
			s.again = r
		}
	}
	if s.again.hits != s.first.hits {
		return s, fmt.Errorf("%q gave %d hits first, %d again", word, s.first.hits, s.again.hits)
	}
	return s, nil
}

// typeKeys is how long the typed queries wait between keys: a fast
// typist's pace (80 words a minute is about 150 ms a key).
const typeKeys = 150 * time.Millisecond

// typed loads the search page of other in a new browser context, empties
// the box, then types word into it one key every typeKeys, each key an
// input event with the box's new value, as a browser sends them; its
// result is the time from the last key to the results shown and what was
// loaded since the box was emptied.
func (tl *searchTool) typed(browserCtx context.Context, word, other string) (queryResult, error) {
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(tl.srv.URL+tl.first(other))); err != nil {
		return queryResult{}, err
	}
	if _, err := tl.waitMeasure(ctx, 1); err != nil {
		return queryResult{}, err
	}
	tl.srv.quiet()
	tl.srv.take()
	last, err := chromedp.Run(ctx, chromedp.Evaluate[float64](fmt.Sprintf(`(async (word, gap) => {
		const i = document.querySelector("#search-q");
		if (!i) throw new Error("no #search-q in the page");
		let t = 0;
		for (let n = 0; n <= word.length; n++) {
			if (n > 0) await new Promise((r) => setTimeout(r, gap));
			t = performance.now();
			i.value = word.slice(0, n);
			i.dispatchEvent(new Event("input", {bubbles: true}));
		}
		return t;
	})(%q, %d)`, word, typeKeys.Milliseconds()), chromedp.EvalAwaitPromise))
	if err != nil {
		return queryResult{}, fmt.Errorf("typing %q: %w", word, err)
	}
	m, err := tl.waitMeasureAfter(ctx, last)
	if err != nil {
		return queryResult{}, fmt.Errorf("typing %q: %w", word, err)
	}
	tl.srv.quiet()
	return queryResult{end: m.End, ms: m.End - last, own: m.End - m.Start, hits: m.Hits, loads: tl.srv.take()}, nil
}

// waitMeasureAfter waits for a measure of the page's search that started
// at or after t (the query of the last key: those of earlier keys start
// before it), and data-search="done", for up to 60 s.
func (tl *searchTool) waitMeasureAfter(ctx context.Context, t float64) (measured, error) {
	js := fmt.Sprintf(`(async (name, t) => {
		const deadline = performance.now() + 60000;
		for (;;) {
			const e = performance.getEntriesByName(name, "measure").find((e) => e.startTime >= t);
			const root = document.documentElement;
			if (e && root.dataset.search === "done") {
				return { Start: e.startTime, End: e.startTime + e.duration, Hits: Number(root.dataset.searchHits ?? -1) };
			}
			if (performance.now() > deadline) throw new Error("after 60 s, no measure named " + name + " of the last key");
			await new Promise((r) => setTimeout(r, 2));
		}
	})(%q, %v)`, tl.measure, t)
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return measured{}, err
	}
	var m measured
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("%s: %w", raw, err)
	}
	return m, nil
}

type measured struct {
	Start, End float64
	Hits       int
}

// waitMeasure waits for the page's n-th measure of its search, and
// data-search="done", for up to 60 s.
func (tl *searchTool) waitMeasure(ctx context.Context, n int) (measured, error) {
	js := fmt.Sprintf(`(async (name, n) => {
		const deadline = performance.now() + 60000;
		for (;;) {
			const m = performance.getEntriesByName(name, "measure");
			const root = document.documentElement;
			if (m.length >= n && root.dataset.search === "done") {
				const e = m[n - 1];
				return { Start: e.startTime, End: e.startTime + e.duration, Hits: Number(root.dataset.searchHits ?? -1) };
			}
			if (performance.now() > deadline) {
				throw new Error("after 60 s, " + m.length + " measures named " + name + ", data-search=" + root.dataset.search);
			}
			await new Promise((r) => setTimeout(r, 5));
		}
	})(%q, %d)`, tl.measure, n)
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		if tl.name == "conclave" {
			err = fmt.Errorf("%w (the search script must record performance.measure(%q) for every query and set data-search=\"done\" and data-search-hits on <html> when results are shown)", err, tl.measure)
		}
		return measured{}, err
	}
	var m measured
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("%s: %w", raw, err)
	}
	return m, nil
}

// searchWord is a query word and why it was chosen: rare, uncommon
// (the rarest word of letters), common, or chosen-WORD (by the
// environment); the class names the word's metrics.
type searchWord struct{ word, class string }

// briefingWords counts, for every term, the briefings that hold it in
// their <main> element, terms being what conclave's index makes of text
// (internal/search.Tokens): runs of letters, marks and numbers,
// lowercased, of 2 characters or more. A briefing is a page whose <body>
// has the class kind-page. It also returns the terms to avoid as query
// words, which the tools would not count alike: the words of tags (the
// theme writes tag links with no space between them, so that a tool that
// reads text, as Pagefind does, sees "2007regulationpatching"), and the
// numbers that digits joined across a dot or comma make ("10.0.16" is
// 10016 to Pagefind, three terms to conclave).
func briefingWords(dir string) (vocab map[string]int, pages int, avoid map[string]bool, err error) {
	vocab, avoid = map[string]int{}, map[string]bool{}
	joined := regexp.MustCompile(`[0-9]+(?:[.,][0-9]+)+`)
	briefing := regexp.MustCompile(`<body class="(?:[^"]* )?kind-page[ "]`)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "pagefind" || d.Name() == "search") && filepath.Dir(p) == filepath.Clean(dir) {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != "index.html" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		page := string(data)
		if !briefing.MatchString(page) {
			return nil
		}
		i := strings.Index(page, "<main")
		j := strings.LastIndex(page, "</main>")
		if i < 0 || j < i {
			return nil
		}
		pages++
		main := page[i:j]
		text := htmlText(main)
		seen := map[string]bool{}
		for _, t := range terms(text) {
			if !seen[t] {
				seen[t] = true
				vocab[t]++
			}
		}
		for _, n := range joined.FindAllString(text, -1) {
			avoid[strings.NewReplacer(".", "", ",", "").Replace(n)] = true
		}
		for rest := main; ; {
			k := strings.Index(rest, `class="tag"`)
			if k < 0 {
				break
			}
			rest = rest[k:]
			end := strings.Index(rest, "</a>")
			if end < 0 {
				break
			}
			for _, t := range terms(htmlText(rest[:end])) {
				avoid[t] = true
			}
			rest = rest[end:]
		}
		return nil
	})
	return vocab, pages, avoid, err
}

// htmlText returns the text of an HTML fragment: tags and entities become
// spaces.
func htmlText(html string) string {
	var b strings.Builder
	inTag, inEntity := false, false
	for _, r := range html {
		switch {
		case inTag:
			inTag = r != '>'
		case r == '<':
			b.WriteByte(' ')
			inTag = true
		case inEntity:
			inEntity = r != ';' && r != ' '
		case r == '&':
			b.WriteByte(' ')
			inEntity = true
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// terms returns the terms of text, as internal/search.Tokens makes them
// (without cutting long ones).
func terms(text string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) >= 2 {
			out = append(out, string(cur))
		}
		cur = cur[:0]
	}
	for _, r := range text {
		if unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r) {
			cur = append(cur, unicode.ToLower(r))
			continue
		}
		flush()
	}
	flush()
	return out
}

// chooseWords picks the query words: a rare one, on 3 to 10 briefings
// (5 if it can; of letters if there is one, else a number); when that is
// a number, the rarest word of letters too; and a common one, of 6
// letters or more, on the most briefings short of 95% of them (words on
// every page are the theme's). Each is distinct: no other term starts
// with it (conclave matches words by their start), and a word of letters
// shares no stem-like prefix with another (Pagefind stems words); and
// none is a term to avoid (see briefingWords), so that both tools should
// find the same pages.
func chooseWords(vocab map[string]int, pages int, avoid map[string]bool) []searchWord {
	all := make([]string, 0, len(vocab))
	for w := range vocab {
		all = append(all, w)
	}
	slices.Sort(all)
	letters := func(w string) bool {
		for _, r := range w {
			if !unicode.IsLetter(r) {
				return false
			}
		}
		return true
	}
	distinct := func(w string) bool {
		i, _ := slices.BinarySearch(all, w)
		if i+1 < len(all) && strings.HasPrefix(all[i+1], w) {
			return false // a longer term starts with w
		}
		if !letters(w) {
			return true
		}
		// The terms that share 4 letters or more with w are sorted next to it.
		for _, step := range []int{-1, 1} {
			for j := i + step; j >= 0 && j < len(all); j += step {
				v := all[j]
				n := commonPrefix(w, v)
				if n < 4 {
					break
				}
				if n >= min(len(w), len(v))-2 {
					return false
				}
			}
		}
		return true
	}
	// best returns the term for which better says so, among those ok takes.
	best := func(ok func(w string, n int) bool, better func(a, b string) bool) string {
		pick := ""
		for _, w := range all {
			if !avoid[w] && ok(w, vocab[w]) && distinct(w) && (pick == "" || better(w, pick)) {
				pick = w
			}
		}
		return pick
	}
	dist := func(n int) int { return max(n-5, 5-n) }
	closeTo5 := func(a, b string) bool {
		da, db := dist(vocab[a]), dist(vocab[b])
		return da < db || da == db && a < b
	}
	var words []searchWord
	rare := best(func(w string, n int) bool { return n >= 3 && n <= 10 && letters(w) }, closeTo5)
	if rare == "" {
		rare = best(func(w string, n int) bool { return n >= 3 && n <= 10 }, closeTo5)
		if rare != "" {
			words = append(words, searchWord{rare, "rare"})
		}
		uncommon := best(func(w string, n int) bool { return n >= 3 && len(w) >= 5 && letters(w) }, func(a, b string) bool {
			return vocab[a] < vocab[b] || vocab[a] == vocab[b] && a < b
		})
		if uncommon != "" {
			words = append(words, searchWord{uncommon, "uncommon"})
		}
	} else {
		words = append(words, searchWord{rare, "rare"})
	}
	common := best(func(w string, n int) bool { return len(w) >= 6 && letters(w) && float64(n) <= 0.95*float64(pages) }, func(a, b string) bool {
		return vocab[a] > vocab[b] || vocab[a] == vocab[b] && a < b
	})
	if common != "" {
		words = append(words, searchWord{common, "common"})
	}
	return words
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
