package corpus

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/testtool"
)

// write writes a corpus into a new temporary folder and returns its files
// by slash path under content/.
func write(t *testing.T, opt Options) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	if err := Write(dir, opt); err != nil {
		t.Fatal(err)
	}
	return testtool.Tree(t, filepath.Join(dir, "content"))
}

func sameTree(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for name, data := range a {
		if other, ok := b[name]; !ok || !bytes.Equal(data, other) {
			return false
		}
	}
	return true
}

func TestSameSeedSameFiles(t *testing.T) {
	opt := Options{Pages: 300, Seed: 7}
	a, b := write(t, opt), write(t, opt)
	if !sameTree(a, b) {
		t.Fatal("two corpora written with the same options differ")
	}
}

func TestOtherSeedOtherFiles(t *testing.T) {
	a := write(t, Options{Pages: 300, Seed: 7})
	b := write(t, Options{Pages: 300, Seed: 8})
	if sameTree(a, b) {
		t.Fatal("seeds 7 and 8 gave the same corpus")
	}
	same := 0
	for name, data := range a {
		if bytes.Equal(data, b[name]) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d files are identical under seeds 7 and 8", same)
	}
}

func TestPageCount(t *testing.T) {
	for _, opt := range []Options{{Pages: 0}, {Pages: 1}, {Pages: 250, Seed: 3}, {Pages: 40, Seed: 1, Sections: 2}} {
		files := write(t, opt)
		if _, ok := files["_index.md"]; !ok {
			t.Errorf("%+v: no content/_index.md", opt)
		}
		pages, sections := 0, map[string]bool{}
		for name := range files {
			if name == "_index.md" {
				continue
			}
			dir, file := path.Split(name)
			if !regexp.MustCompile(`^section-[0-9]+/$`).MatchString(dir) || !regexp.MustCompile(`^page-[0-9]{5}\.md$`).MatchString(file) {
				t.Errorf("%+v: unexpected file %s", opt, name)
			}
			pages++
			sections[dir] = true
		}
		if pages != opt.Pages {
			t.Errorf("%+v: %d pages, want %d", opt, pages, opt.Pages)
		}
		want := opt.Sections
		if want == 0 {
			want = DefaultSections
		}
		if len(sections) > want {
			t.Errorf("%+v: %d sections, want at most %d", opt, len(sections), want)
		}
		if opt.Pages >= 250 && len(sections) != want {
			t.Errorf("%+v: %d sections, want %d", opt, len(sections), want)
		}
	}
}

func TestWriteRefusesExistingContent(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "content"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, Options{Pages: 1}); err == nil {
		t.Error("Write into a folder with content/ succeeded")
	}
	if err := Write(t.TempDir(), Options{Pages: -1}); err == nil {
		t.Error("Write with -1 pages succeeded")
	}
	if err := Write(t.TempDir(), Options{Pages: 1, Sections: -1}); err == nil {
		t.Error("Write with -1 sections succeeded")
	}
}

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

func TestLinksResolve(t *testing.T) {
	files := write(t, Options{Pages: 500, Seed: 11})
	for name, data := range files {
		n := 0
		for _, m := range mdLink.FindAllSubmatch(data, -1) {
			dest := string(m[1])
			if !strings.HasSuffix(dest, ".md") {
				t.Errorf("%s: link to %s is not to a .md file", name, dest)
				continue
			}
			target := path.Join(path.Dir(name), dest)
			if _, ok := files[target]; !ok {
				t.Errorf("%s: link to %s: no such file %s", name, dest, target)
			}
			if target == name {
				t.Errorf("%s links to itself", name)
			}
			n++
		}
		if name != "_index.md" && (n < 1 || n > 3) {
			t.Errorf("%s has %d links to other briefings, want 1 to 3", name, n)
		}
	}
}

var frontLines = []*regexp.Regexp{
	regexp.MustCompile(`^title: "[^"\\]+"$`),
	regexp.MustCompile(`^date: ([0-9]{4}-[0-9]{2}-[0-9]{2})$`),
	regexp.MustCompile(`^summary: "[^"\\]+\."$`),
	regexp.MustCompile(`^tags: \[([a-z][a-z0-9-]*)((, [a-z][a-z0-9-]*){0,3})\]$`),
	regexp.MustCompile(`^tlp: (clear|green)$`),
}

// splitFront returns the lines of the front matter and the body.
func splitFront(t *testing.T, name string, data []byte) (front []string, body string) {
	t.Helper()
	fm, body, ok := strings.Cut(strings.TrimPrefix(string(data), "---\n"), "\n---\n")
	if !strings.HasPrefix(string(data), "---\n") || !ok {
		t.Fatalf("%s: no front matter between --- lines", name)
	}
	if !strings.HasPrefix(body, "\n") {
		t.Errorf("%s: no blank line after the front matter", name)
	}
	return strings.Split(fm, "\n"), body
}

func TestFrontMatter(t *testing.T) {
	files := write(t, Options{Pages: 1000, Seed: 5})
	tagCount := map[string]int{}
	years := map[int]bool{}
	for name, data := range files {
		front, _ := splitFront(t, name, data)
		if name == "_index.md" {
			if len(front) != 2 || !frontLines[0].MatchString(front[0]) || !strings.HasPrefix(front[1], `summary: "`) {
				t.Errorf("%s: front matter %q", name, front)
			}
			continue
		}
		if len(front) != len(frontLines) {
			t.Errorf("%s: %d front matter lines, want %d: %q", name, len(front), len(frontLines), front)
			continue
		}
		for i, re := range frontLines {
			if !re.MatchString(front[i]) {
				t.Errorf("%s: front matter line %q does not match %s", name, front[i], re)
			}
		}
		if d, err := time.Parse(time.DateOnly, strings.TrimPrefix(front[1], "date: ")); err != nil || d.Year() < 2003 || d.Year() > 2026 {
			t.Errorf("%s: bad date %q", name, front[1])
		} else {
			years[d.Year()] = true
		}
		if s := strings.TrimSuffix(strings.TrimPrefix(front[2], `summary: "`), `."`); strings.Contains(s, ". ") {
			t.Errorf("%s: summary is more than one sentence: %s", name, s)
		}
		tags := strings.Split(strings.Trim(strings.TrimPrefix(front[3], "tags: "), "[]"), ", ")
		for i, tag := range tags {
			if !slices.Contains(tagPool, tag) || slices.Contains(tags[:i], tag) {
				t.Errorf("%s: bad or repeated tag %q", name, tag)
			}
			tagCount[tag]++
		}
	}
	if len(years) != 24 {
		t.Errorf("dates span %d years, want 24 (2003 to 2026)", len(years))
	}
	if len(tagCount) < 40 {
		t.Errorf("only %d distinct tags in 1,000 pages", len(tagCount))
	}
	if tagCount[tagPool[0]] < 5*tagCount[tagPool[len(tagPool)-1]] {
		t.Errorf("tags are not Zipf-like: %q %d times, %q %d times", tagPool[0], tagCount[tagPool[0]], tagPool[len(tagPool)-1], tagCount[tagPool[len(tagPool)-1]])
	}
}

var (
	fence     = regexp.MustCompile("^```([a-z]*)$")
	codeSpan  = regexp.MustCompile("`[^`]*`")
	autolink  = regexp.MustCompile(`<https://[^>\s]+>`)
	languages = []string{"go", "bash", "yaml", "json", "c", "python"}
)

func TestBodies(t *testing.T) {
	const pages = 1000
	files := write(t, Options{Pages: pages, Seed: 9})
	var words, tables, code, footnotes, tasks, h3 int
	for name, data := range files {
		if name == "_index.md" {
			continue
		}
		_, body := splitFront(t, name, data)
		if !strings.HasSuffix(body, "\n") || strings.HasSuffix(body, "\n\n") {
			t.Errorf("%s: body does not end in exactly one newline", name)
		}
		var n int
		var inCode, hasTable, hasCode, hasNote, hasTask, hasH3 bool
		for i, line := range strings.Split(body, "\n") {
			if m := fence.FindStringSubmatch(line); m != nil {
				if !inCode {
					hasCode = true
					if !slices.Contains(languages, m[1]) {
						t.Errorf("%s:%d: code block language %q", name, i, m[1])
					}
				}
				inCode = !inCode
				continue
			}
			if inCode {
				continue
			}
			if strings.HasPrefix(line, ":::") {
				t.Errorf("%s:%d: line starts with :::", name, i)
			}
			if s := autolink.ReplaceAllString(codeSpan.ReplaceAllString(line, ""), ""); strings.ContainsAny(s, "<>") {
				t.Errorf("%s:%d: possible raw HTML: %s", name, i, line)
			}
			hasTable = hasTable || strings.HasPrefix(line, "| ")
			hasNote = hasNote || strings.HasPrefix(line, "[^")
			hasTask = hasTask || strings.HasPrefix(line, "- [ ] ") || strings.HasPrefix(line, "- [x] ")
			hasH3 = hasH3 || strings.HasPrefix(line, "### ")
			n += len(strings.Fields(line))
		}
		if inCode {
			t.Errorf("%s: code block not closed", name)
		}
		if !strings.HasPrefix(body, "\n## ") {
			t.Errorf("%s: body does not start with a level-2 heading", name)
		}
		if n < minWords || n > maxWords {
			t.Errorf("%s: %d words, want %d to %d", name, n, minWords, maxWords)
		}
		words += n
		tables += b2i(hasTable)
		code += b2i(hasCode)
		footnotes += b2i(hasNote)
		tasks += b2i(hasTask)
		h3 += b2i(hasH3)
	}
	if avg := words / pages; avg < 600 || avg > 800 {
		t.Errorf("average %d words a page, want about 700", avg)
	}
	for _, c := range []struct {
		what     string
		n        int
		min, max int // percent of pages
	}{
		{"a table", tables, 40, 60},
		{"a code block", code, 30, 50},
		{"footnotes", footnotes, 10, 40},
		{"a task list", tasks, 10, 40},
		{"level-3 headings", h3, 10, 90},
	} {
		if pct := 100 * c.n / pages; pct < c.min || pct > c.max {
			t.Errorf("%d%% of pages have %s, want %d%% to %d%%", pct, c.what, c.min, c.max)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestTemplates expands every template in the word lists, so that a slot
// misspelt in a rarely drawn template fails here rather than in a long run.
func TestTemplates(t *testing.T) {
	g := newGen(Options{Pages: 2, Seed: 1})
	g.cur = g.pages[0]
	var all []string
	all = append(all, titleTemplates...)
	all = append(all, summaryTemplates...)
	all = append(all, allSentences...)
	all = append(all, steps...)
	all = append(all, tasks...)
	all = append(all, footnoteTemplates...)
	all = append(all, linkTemplates...)
	all = append(all, autolinkTemplates...)
	all = append(all, surfaces...)
	for _, blocks := range codeBlocks {
		all = append(all, blocks...)
	}
	for _, s := range sections {
		if len(s.headings) == 0 || len(s.sentences) < 6 {
			t.Errorf("section %q has too few headings or sentences", s.headings)
		}
	}
	slot := regexp.MustCompile(`\{[A-Za-z_]+\}`)
	for _, tmpl := range all {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%q: %v", tmpl, r)
				}
			}()
			if out := g.expand(tmpl); slot.MatchString(out) {
				t.Errorf("%q expands to %q", tmpl, out)
			}
		}()
	}
	// Titles and summaries are written between double quotes.
	for _, tmpl := range append(slices.Clone(titleTemplates), summaryTemplates...) {
		for range 50 {
			if out := g.expand(tmpl); strings.ContainsAny(out, "\"\\\n") {
				t.Errorf("%q expands to %q", tmpl, out)
			}
		}
	}
	for _, lang := range codeLangs {
		if len(codeBlocks[lang]) == 0 {
			t.Errorf("no code block for %s", lang)
		}
	}
}
