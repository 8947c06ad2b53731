package build

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/seal"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// siteBanner is the banner every page of a preview carries.
const siteBanner = `<div class="preview-site-banner" role="note" aria-label="Author preview"><strong>Author preview:</strong> restricted passages are shown in plaintext. Publish with <code>conclave build</code>.</div>`

// previewSite is a small site with blocks for a group, for a [tlp]
// default audience, nested blocks, and a page restricted as a whole.
func previewSite(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "site")
	files := map[string]string{
		"conclave.toml":    "title = \"T\"\nbaseURL = \"https://t.example.org/\"\n\n[tlp]\namber = [\"all\"]\n",
		"keys/groups.toml": "board = [\"alice\", \"bob\"]\nall = [\"board\", \"carol\"]\n",
		"content/briefings/a.md": "---\ntitle: A\ntlp: red\n---\n\nPublic paragraph.\n\n" +
			"::: restricted to=board tlp=amber\nBoard detail one.\n:::\n\n" +
			"::: restricted tlp=amber\nDefault audience detail.\n:::\n\n" +
			"::: restricted to=bob\nBob detail.\n:::\n\n" +
			"::: restricted to=all tlp=amber\n## Outer heading\n\nOuter detail.\n\n" +
			"::: restricted to=alice,carol tlp=red\nInner detail.\n:::\n\nOuter detail again.\n:::\n",
		"content/briefings/merger.md": "---\ntitle: Merger talks\ndate: 2008-07-24\nsummary: The merger summary.\ntags: [merger]\ntlp: amber+strict\naudience: [board]\nslug: r-x1\n---\n\n## Whole heading\n\nWhole detail.\n",
		"content/briefings/public.md": "---\ntitle: Public one\ntags: [open]\n---\n\nNothing restricted.\n",
	}
	for _, n := range []string{"alice", "bob", "carol"} {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		files["keys/"+n+".pub"] = id.Recipient().String() + "\n"
	}
	testtool.WriteSite(t, dir, files)
	return dir
}

// previewSection is a passage of a preview page: where it starts and
// ends in the HTML, and the text of its banner.
type previewSection struct {
	start, end int
	banner     string
}

var bannerRE = regexp.MustCompile(`^<section class="preview-restricted[^"]*"[^>]*>\n<p class="preview-banner">(.*?)</p>`)

// previewSections finds the preview passages of a page, nested ones
// included.
func previewSections(t *testing.T, html string) []previewSection {
	t.Helper()
	var out []previewSection
	var stack []int // indexes in out; -1 for another section
	for i := 0; i < len(html); i++ {
		switch {
		case strings.HasPrefix(html[i:], "<section"):
			if m := bannerRE.FindStringSubmatch(html[i:]); m != nil {
				out = append(out, previewSection{start: i, banner: m[1]})
				stack = append(stack, len(out)-1)
			} else {
				stack = append(stack, -1)
			}
		case strings.HasPrefix(html[i:], "</section>"):
			if len(stack) == 0 {
				t.Fatalf("unbalanced sections:\n%s", html)
			}
			if j := stack[len(stack)-1]; j >= 0 {
				out[j].end = i
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed sections:\n%s", html)
	}
	return out
}

// innermost returns the banner of the innermost preview passage that
// holds text, and how many passages hold it.
func innermost(t *testing.T, html, text string) (string, int) {
	t.Helper()
	pos := strings.Index(html, text)
	if pos < 0 {
		return "", 0
	}
	banner, depth := "", 0
	for _, s := range previewSections(t, html) {
		if s.start < pos && pos < s.end {
			banner, depth = s.banner, depth+1 // sections start in document order
		}
	}
	return banner, depth
}

func get(t *testing.T, mem *output.Memory, p string) string {
	t.Helper()
	data, ok := mem.Get(p)
	if !ok {
		t.Fatalf("%s is not in the build", p)
	}
	return string(data)
}

// A preview shows each passage in clear, inside a banner with its
// audience (names as written, and the recipients they expand to) and its
// label; nested passages nest; a page restricted as a whole keeps its
// title; every page says it is a preview; nothing is sealed.
func TestPreviewShowsPassages(t *testing.T) {
	dir := previewSite(t)
	rep, mem, err := Memory(Options{Source: dir, Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, page, text string
		banner           string
		depth            int
	}{
		{"group", "briefings/a/index.html", "Board detail one.",
			`<span class="tlp-label">TLP:AMBER</span> Restricted — for board (alice, bob). Published sealed; this plaintext is shown only in the preview.`, 1},
		{"[tlp] default audience", "briefings/a/index.html", "Default audience detail.",
			`<span class="tlp-label">TLP:AMBER</span> Restricted — for all (alice, bob, carol). Published sealed; this plaintext is shown only in the preview.`, 1},
		{"a block takes the page's label", "briefings/a/index.html", "Bob detail.",
			`<span class="tlp-label">TLP:RED</span> Restricted — for bob. Published sealed; this plaintext is shown only in the preview.`, 1},
		{"outer block", "briefings/a/index.html", "Outer detail.",
			`<span class="tlp-label">TLP:AMBER</span> Restricted — for all (alice, bob, carol). Published sealed; this plaintext is shown only in the preview.`, 1},
		{"heading in a block", "briefings/a/index.html", `<h2 id="outer-heading">Outer heading</h2>`,
			`<span class="tlp-label">TLP:AMBER</span> Restricted — for all (alice, bob, carol). Published sealed; this plaintext is shown only in the preview.`, 1},
		{"nested block", "briefings/a/index.html", "Inner detail.",
			`<span class="tlp-label">TLP:RED</span> Restricted — for alice, carol. Published sealed; this plaintext is shown only in the preview.`, 2},
		{"after the nested block", "briefings/a/index.html", "Outer detail again.",
			`<span class="tlp-label">TLP:AMBER</span> Restricted — for all (alice, bob, carol). Published sealed; this plaintext is shown only in the preview.`, 1},
		{"whole page", "briefings/r-x1/index.html", "Whole detail.",
			`<span class="tlp-label">TLP:AMBER+STRICT</span> Restricted page — for board (alice, bob). It will be published sealed, titled “Restricted briefing”, without summary or tags: its title and text are shown only in the preview.`, 1},
		{"public text", "briefings/a/index.html", "Public paragraph.", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			html := get(t, mem, tc.page)
			if !strings.Contains(html, tc.text) {
				t.Fatalf("%s lacks %q:\n%s", tc.page, tc.text, html)
			}
			banner, depth := innermost(t, html, tc.text)
			if banner != tc.banner || depth != tc.depth {
				t.Errorf("%q is inside %d passages, the innermost with banner\n%s\nwant %d, with\n%s", tc.text, depth, banner, tc.depth, tc.banner)
			}
		})
	}

	// The whole page: its real title, summary and tags, and the label of
	// its front matter.
	merger := get(t, mem, "briefings/r-x1/index.html")
	for _, want := range []string{"<title>Merger talks · T</title>", `<meta name="description" content="The merger summary.">`, "<h1>Merger talks</h1>", `href="../../tags/merger/"`, `<section class="preview-restricted preview-page tlp-amber-strict" data-tlp="amber+strict" aria-label="Restricted briefing (preview)">`} {
		if !strings.Contains(merger, want) {
			t.Errorf("whole page lacks %q:\n%s", want, merger)
		}
	}
	if strings.Contains(merger, seal.RestrictedTitle+"</") {
		t.Errorf("whole page titled %q in the preview:\n%s", seal.RestrictedTitle, merger)
	}
	// The table of contents is the published page's: public headings only.
	if a := get(t, mem, "briefings/a/index.html"); strings.Contains(a, `href="#outer-heading"`) {
		t.Errorf("restricted heading in the table of contents:\n%s", a)
	}

	// Every page says it is a preview, and loads no unlock script; nothing
	// is sealed.
	pages := 0
	for _, e := range mem.Entries() {
		if strings.HasPrefix(e.Path, format.PacketDir+"/") {
			t.Errorf("%s written by a preview", e.Path)
		}
		if !strings.HasSuffix(e.Path, ".html") {
			continue
		}
		pages++
		html := get(t, mem, e.Path)
		if !strings.Contains(html, "<body class=\"kind-") || !strings.Contains(html, ">\n"+siteBanner+"\n<a class=\"skip\"") {
			t.Errorf("%s lacks the preview banner at the top of <body>", e.Path)
		}
		if strings.Contains(html, "unlock.js") || strings.Contains(html, format.PlaceholderStart) {
			t.Errorf("%s has a sealed placeholder or the unlock script", e.Path)
		}
	}
	if pages < 8 {
		t.Errorf("only %d pages checked", pages)
	}
	if rep.Previewed != 6 || rep.PreviewedPages != 1 || rep.Seal != (seal.Stats{}) || rep.Briefings != 3 {
		t.Errorf("report: previewed %d (%d pages), seal %+v, briefings %d", rep.Previewed, rep.PreviewedPages, rep.Seal, rep.Briefings)
	}
	var b bytes.Buffer
	rep.Print(&b)
	if want := "  preview         6  restricted passages (1 page restricted as a whole) shown in clear, nothing sealed: publish with conclave build\n"; !strings.Contains(b.String(), want) {
		t.Errorf("summary:\n%s\nwant a line\n%s", b.String(), want)
	}
	if strings.Contains(b.String(), "sealed     ") {
		t.Errorf("summary of a preview counts sealed passages:\n%s", b.String())
	}
}

// Lists, tags and the feed of a preview show a page restricted as a whole
// by its real title, summary and tags: the preview is the author's own.
// A published build shows "Restricted briefing" instead, and no banner.
func TestPreviewLists(t *testing.T) {
	dir := previewSite(t)
	_, prev, err := Memory(Options{Source: dir, Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	_, pub, err := Memory(Options{Source: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"index.html", "briefings/index.html", "tags/merger/index.html", "feed.xml"} {
		html := get(t, prev, p)
		if !strings.Contains(html, "Merger talks") || !strings.Contains(html, "The merger summary.") {
			t.Errorf("preview %s does not list the whole restricted page by its title and summary:\n%s", p, html)
		}
	}
	if _, ok := pub.Get("tags/merger/index.html"); ok {
		t.Error("a published build lists a sealed page's tag")
	}
	for _, e := range pub.Entries() {
		if strings.HasPrefix(e.Path, "css/") {
			continue // the theme's style sheet styles previews too
		}
		data := get(t, pub, e.Path)
		for _, leak := range []string{"Merger talks", "merger summary", "preview-", "Author preview", "Whole detail", "Board detail"} {
			if strings.Contains(data, leak) {
				t.Errorf("published %s holds %q", e.Path, leak)
			}
		}
	}
	if home := get(t, pub, "index.html"); !strings.Contains(home, seal.RestrictedTitle) {
		t.Errorf("published home page does not list %q", seal.RestrictedTitle)
	}
	if _, ok := prev.Get(format.KeyringIndex); ok {
		t.Errorf("%s in a preview", format.KeyringIndex)
	}
	if sm := get(t, prev, "sitemap.xml"); !strings.Contains(sm, "briefings/r-x1/") {
		t.Errorf("preview sitemap:\n%s", sm)
	}
}

// A preview fails where the build fails, with the same located errors:
// the checks of audiences and labels run as they do when sealing.
func TestPreviewFailsLikeBuild(t *testing.T) {
	for _, tc := range []struct {
		name, file, body string
		want             string // part of the error
	}{
		{"unknown recipient", "content/briefings/a.md", "---\ntitle: A\ntlp: amber\n---\n\n::: restricted to=board,alcie\nx\n:::\n",
			`content/briefings/a.md:6: unknown recipient or group "alcie"`},
		{"bad label", "content/briefings/a.md", "---\ntitle: A\n---\n\n::: restricted to=board tlp=white\nx\n:::\n",
			`content/briefings/a.md:5: restricted block: unknown TLP label "white"`},
		{"TLP:CLEAR block", "content/briefings/a.md", "---\ntitle: A\n---\n\n::: restricted to=board tlp=clear\nx\n:::\n",
			"content/briefings/a.md:5: a restricted block cannot be TLP:CLEAR"},
		{"TLP:RED names a group", "content/briefings/a.md", "---\ntitle: A\n---\n\n::: restricted to=board tlp=red\nx\n:::\n",
			`content/briefings/a.md:5: TLP:RED is for named individuals, but "board" is a group`},
		{"nested block widens", "content/briefings/a.md", "---\ntitle: A\n---\n\n::: restricted to=board\nx\n\n::: restricted to=carol\ny\n:::\n:::\n",
			"content/briefings/a.md:8: nested restricted block widens the audience of the block on line 5"},
		{"page label below its block's", "content/briefings/a.md", "---\ntitle: A\ntlp: green\n---\n\n::: restricted to=board tlp=amber\nx\n:::\n",
			"content/briefings/a.md:3: tlp: the page is TLP:GREEN but its restricted block on line 6 is TLP:AMBER"},
		{"unclosed block", "content/briefings/a.md", "---\ntitle: A\n---\n\n::: restricted to=board\nx\n",
			"content/briefings/a.md:5: restricted block is never closed"},
		{"unknown name in audience:", "content/briefings/merger.md", "---\ntitle: M\naudience: [bord]\nslug: r-x1\n---\n\nx\n",
			`content/briefings/merger.md:3: unknown recipient or group "bord" (did you mean "board"?)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := previewSite(t)
			write(t, dir, tc.file, tc.body)
			out := filepath.Join(t.TempDir(), "public")
			_, runErr := Run(Options{Source: dir, Out: out})
			_, _, memErr := Memory(Options{Source: dir})
			_, mem, prevErr := Memory(Options{Source: dir, Preview: true})
			if runErr == nil || memErr == nil || prevErr == nil {
				t.Fatalf("errors: build %v, memory %v, preview %v", runErr, memErr, prevErr)
			}
			if mem != nil {
				t.Error("a failed preview returned files")
			}
			if !strings.Contains(runErr.Error(), tc.want) {
				t.Errorf("build error = %v\nwant it to contain %q", runErr, tc.want)
			}
			if prevErr.Error() != runErr.Error() || memErr.Error() != runErr.Error() {
				t.Errorf("errors differ:\nbuild:   %v\nmemory:  %v\npreview: %v", runErr, memErr, prevErr)
			}
		})
	}
}

// Run refuses a preview before it reads or writes anything: a preview is
// never published.
func TestRunRefusesPreview(t *testing.T) {
	dir := previewSite(t)
	key := make([]byte, seal.KeySize)
	for _, out := range []string{filepath.Join(dir, "public"), ""} {
		before := testtool.Tree(t, dir)
		rep, err := Run(Options{Source: dir, Out: out, Preview: true, CacheKey: key})
		if !errors.Is(err, ErrPreviewToDisk) || rep != nil {
			t.Fatalf("Run of a preview: report %v, error %v", rep, err)
		}
		if !strings.Contains(err.Error(), "preview builds are never written to disk") {
			t.Errorf("error = %v", err)
		}
		sameTree(t, "the site", before, testtool.Tree(t, dir))
		for _, p := range []string{"public", CacheDir} {
			if _, err := os.Stat(filepath.Join(dir, p)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s exists after a refused preview: %v", p, err)
			}
		}
	}
	// A published build already there stays as it was.
	out := filepath.Join(dir, "public")
	if _, err := Run(Options{Source: dir, Out: out, CacheKey: key}); err != nil {
		t.Fatal(err)
	}
	before := testtool.Tree(t, dir)
	if _, err := Run(Options{Source: dir, Out: out, Preview: true, CacheKey: key}); !errors.Is(err, ErrPreviewToDisk) {
		t.Fatalf("Run of a preview: %v", err)
	}
	sameTree(t, "the site and its output", before, testtool.Tree(t, dir))
}

// A preview neither reads nor writes the seal cache or the page cache:
// with the key of a cache it cannot read, it warns of nothing, and the
// cache stays as the last published build left it.
func TestPreviewLeavesCachesAlone(t *testing.T) {
	dir := previewSite(t)
	key := make([]byte, seal.KeySize)
	if _, err := Run(Options{Source: dir, Out: filepath.Join(dir, "public"), CacheKey: key}); err != nil {
		t.Fatal(err)
	}
	cacheDir := filepath.Join(dir, CacheDir)
	before := testtool.Tree(t, cacheDir)
	if len(before) < 2 {
		t.Fatalf("the published build left %d cache files", len(before))
	}
	wrong := bytes.Repeat([]byte{7}, seal.KeySize)
	for _, k := range [][]byte{key, wrong} {
		rep, mem, err := Memory(Options{Source: dir, Preview: true, CacheKey: k})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range rep.Warnings {
			if strings.Contains(w.Error(), CacheDir) {
				t.Errorf("a preview read the cache: %v", w)
			}
		}
		if rep.Seal.CachedPackets != 0 || rep.Reused != 0 {
			t.Errorf("a preview reused %d packets, %d pages", rep.Seal.CachedPackets, rep.Reused)
		}
		if !strings.Contains(get(t, mem, "briefings/a/index.html"), "Board detail one.") {
			t.Error("the preview does not show the passage")
		}
		sameTree(t, "the cache", before, testtool.Tree(t, cacheDir))
	}
	// A memory build that is not a preview does read it.
	rep, _, err := Memory(Options{Source: dir, CacheKey: wrong})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) == 0 {
		t.Error("a memory build with the wrong key did not warn about the cache: the test above proves nothing")
	}
}

// The leak scan, skipped in a preview only: restricted text copied into a
// public file fails the build, not the preview.
func TestPreviewSkipsTheLeakScanOnly(t *testing.T) {
	dir := previewSite(t)
	write(t, dir, "content/briefings/notes.txt", "Copied by mistake: Board detail one.\n")
	if _, _, err := Memory(Options{Source: dir}); err == nil || !strings.Contains(err.Error(), `restricted text "Board detail one." appears in briefings/notes.txt`) {
		t.Fatalf("memory build error = %v", err)
	}
	if _, _, err := Memory(Options{Source: dir, Preview: true}); err != nil {
		t.Fatalf("preview: %v", err)
	}
}

// The repository's own sample site previews: its blocks, nested blocks
// and page restricted as a whole show in clear.
func TestPreviewSampleSite(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "conclave.toml")); err != nil {
		t.Skipf("no sample site: %v", err)
	}
	rep, mem, err := Memory(Options{Source: root, Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Previewed < 4 || rep.PreviewedPages < 1 {
		t.Errorf("previewed %d passages, %d whole pages", rep.Previewed, rep.PreviewedPages)
	}
	nested, whole := 0, 0
	for _, e := range mem.Entries() {
		if strings.HasPrefix(e.Path, format.PacketDir+"/") {
			t.Errorf("%s in a preview", e.Path)
		}
		if !strings.HasSuffix(e.Path, ".html") {
			continue
		}
		html := get(t, mem, e.Path)
		if !strings.Contains(html, siteBanner) {
			t.Errorf("%s lacks the preview banner", e.Path)
		}
		for _, s := range previewSections(t, html) {
			for _, o := range previewSections(t, html) {
				if o.start < s.start && s.end < o.end {
					nested++
				}
			}
			if strings.Contains(s.banner, "Restricted page — for ") {
				whole++
				if strings.Contains(html, "<h1>"+seal.RestrictedTitle+"</h1>") {
					t.Errorf("%s: a whole restricted page titled %q in the preview", e.Path, seal.RestrictedTitle)
				}
			}
		}
	}
	if nested == 0 || whole == 0 {
		t.Errorf("%d nested passages, %d whole pages in the sample site's preview", nested, whole)
	}
}

// memoryRun builds the site at dir into memory with the records of an
// earlier memory build (prev, with its files), as a preview server that
// rebuilds does, and returns the build with its records.
func memoryRun(t *testing.T, dir string, preview bool, prev *pagesData, files *output.Memory) (*Report, *output.Memory, *pagesData) {
	t.Helper()
	s, err := site.Load(dir, site.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mem := output.NewMemory()
	b := &builder{site: s, out: mem, preview: preview, record: true}
	if files != nil {
		b.last = &lastBuild{records: prev, carry: func(p string) ([]byte, error) { return mem.Carry(files, p) }}
	}
	rep, err := b.run()
	if err != nil {
		t.Fatal(err)
	}
	return rep, mem, b.records
}

// Page records of a preview serve only a preview: a published build never
// takes a page from a preview's records (its HTML is in clear), nor a
// preview from a published build's.
func TestPreviewRecordsNeverServeABuild(t *testing.T) {
	dir := previewSite(t)
	_, pubFiles, pubRecs := memoryRun(t, dir, false, nil, nil)
	rep, prevFiles, prevRecs := memoryRun(t, dir, true, pubRecs, pubFiles)
	if rep.Reused != 0 || !strings.Contains(get(t, prevFiles, "briefings/a/index.html"), "Board detail one.") {
		t.Fatalf("a preview reused %d pages of a published build", rep.Reused)
	}
	rep, again, _ := memoryRun(t, dir, true, prevRecs, prevFiles)
	if rep.Reused == 0 {
		t.Error("a preview reused nothing of the last preview")
	}
	if a := get(t, again, "briefings/a/index.html"); !strings.Contains(a, "Board detail one.") || !strings.Contains(a, siteBanner) {
		t.Errorf("preview rebuilt from its records:\n%s", a)
	}
	rep, pub, _ := memoryRun(t, dir, false, prevRecs, prevFiles)
	if rep.Reused != 0 {
		t.Errorf("a published build reused %d pages of a preview", rep.Reused)
	}
	for _, e := range pub.Entries() {
		if data := get(t, pub, e.Path); strings.Contains(data, "Board detail") || strings.Contains(data, siteBanner) {
			t.Errorf("published %s holds preview text", e.Path)
		}
	}
}

// An attachment in serve: the author's preview shows it in clear where
// the passage links it, as it shows the passage; a sealed session (serve
// --sealed, or on a network address) seals it as a build does and holds
// it nowhere in clear.
func TestSessionAttachments(t *testing.T) {
	dir, _ := sealSite(t)
	write(t, dir, "content/briefings/c.md", "---\ntitle: C\ntlp: amber\n---\n\n::: restricted to=board tlp=amber\nThe [log](c-log-attq8wz.txt).\n:::\n")
	write(t, dir, "content/briefings/c-log-attq8wz.txt", "the log\n")
	_, preview, err := Memory(Options{Source: dir, Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	if data, ok := preview.Get("briefings/c-log-attq8wz.txt"); !ok || string(data) != "the log\n" {
		t.Errorf("the preview does not serve the file: %q", data)
	}
	if page, _ := preview.Get("briefings/c/index.html"); !bytes.Contains(page, []byte(`href="../c-log-attq8wz.txt"`)) {
		t.Errorf("the preview's passage does not link the file:\n%s", page)
	}
	rep, sealed, err := Memory(Options{Source: dir})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Seal.Attachments != 1 {
		t.Errorf("sealed session: %d attachments, want 1", rep.Seal.Attachments)
	}
	for _, e := range sealed.Entries() {
		data, _ := sealed.Get(e.Path)
		if strings.Contains(e.Path, "attq8wz") || !strings.HasPrefix(e.Path, "packets/") && bytes.Contains(data, []byte("attq8wz")) {
			t.Errorf("the sealed session publishes the attachment's name in %s", e.Path)
		}
	}
}
