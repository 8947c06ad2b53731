// Package corpus writes a synthetic site of security briefings, so that
// static site generators can be benchmarked on the same markdown.
//
// [Write] creates DIR/content holding a home page, content/_index.md, and
// [Options.Pages] briefings spread unevenly over [Options.Sections] sections,
// as content/section-S/page-NNNNN.md with N running from 1 to Pages across
// all sections. The same Options always produce the same files, byte for
// byte; a different Seed produces a different corpus of the same shape.
//
// Each briefing starts with YAML front matter between "---" lines holding
// exactly these keys, in this order:
//
//	title: "One line, double-quoted"
//	date: 2003-01-01 to 2026-12-31
//	summary: "One sentence, double-quoted"
//	tags: [one, to-four]
//	tlp: clear or green, or stricter with restricted blocks (below)
//
// Quoted values contain no double quote and no backslash. Tags are drawn
// from a fixed pool of 60 lowercase, hyphenated words, a few of them far
// more often than the rest, as on a real site.
//
// Bodies are CommonMark with the GitHub extensions (tables, task lists,
// autolinks) and footnotes. They use level-2 and level-3 headings,
// paragraphs, emphasis, inline code, bullet and numbered lists; about half
// of the briefings have a table and about 40% a fenced code block in one of
// go, bash, yaml, json, c or python. When there are two briefings or more,
// each links to one to three others by the relative path of their .md
// file, such as "../section-2/page-00042.md" or "page-00042.md" within a
// section, and every such link names a file of the corpus. The home page
// links to the first briefing of up to three sections. Bodies average
// about 700 words and range from 200 to 2,000, not counting restricted
// blocks. They hold no raw HTML, and no line starting with ":::" outside
// the fences of restricted blocks, so that without [Options.Restricted]
// every markdown renderer reads them the same way.
//
// The text is assembled from word lists. Its vendors, products, people and
// identifiers, CVE numbers included, are invented.
//
// # Recipients and restricted blocks
//
// With [Options.Recipients] set to N, Write also writes:
//
//   - DIR/keys/r-0001.pub to r-NNNN.pub, each a comment line and one age
//     X25519 recipient (age1…), and DIR/keys/groups.toml: groups g-01,
//     g-02, … of about 20 recipients each, one per line, some recipients
//     in two groups, and "members" holding every group;
//   - DIR/identities/r-NNNN.txt, the matching age identity files, outside
//     content/ and keys/ so that a site build never meets a secret;
//   - DIR/blocks.json, the listing of restricted blocks, read by
//     [ReadBlocks] (see [Block]).
//
// Key pairs come from a random stream of their own: recipient r-0001 has
// the same key whatever the other options, for a given Seed. With
// [Options.Restricted] set to F, the nearest whole number to F × Pages of
// the briefings get one to three restricted blocks each (DESIGN §2):
//
//	::: restricted to=g-03,r-0042 tlp=amber+strict
//	### A level-3 heading
//
//	Paragraphs, and sometimes a list, a short code block or a small table.
//
//	:::
//
// Blocks sit before a heading or a paragraph, or at the end of the body,
// never inside a list, table or code block, and never nest. They hold 40
// to 250 words, not counting canaries, and no footnote, link or link
// reference definition. As on a real site, a few audiences serve most
// blocks: they come from a pool that grows with the number of recipients
// (98 distinct audiences in 5,000 briefings of Seed 1, 200 recipients,
// Restricted 0.3): one group (half the blocks, TLP amber), two groups
// (amber), a group and one or two recipients outside it (amber+strict), or
// one to three recipients (red, which never names a group). A briefing's
// front matter label is raised to its strictest block's. Blocks draw from
// random streams of their own, so that the rest of every file, that label
// aside, is the same as without them. [Options.Canaries] puts a token
// matching [CanaryPattern] in every text element of every block, and
// changes nothing else.
package corpus

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options says what corpus to write.
type Options struct {
	// Pages is the number of briefings, not counting the home page.
	Pages int
	// Seed selects the corpus.
	Seed int64
	// Sections is the number of sections the briefings are spread over;
	// 0 means 5. A section that draws no briefing has no folder.
	Sections int
	// Recipients is the number of recipients written to keys/ (0: no keys/
	// folder and no restricted blocks).
	Recipients int
	// Restricted is the fraction of briefings that get 1 to 3 restricted
	// blocks (e.g. 0.3); it needs Recipients > 0.
	Restricted float64
	// Canaries puts a unique token matching [CanaryPattern] in every text
	// element of every restricted block: its heading, each paragraph, list
	// item and table cell, and each line of code. It changes nothing else.
	Canaries bool
}

// DefaultSections is the number of sections when Options.Sections is 0.
const DefaultSections = 5

// Write writes the corpus described by opt under dir, creating dir if
// needed. It fails if dir/content already exists, or with recipients
// dir/keys, dir/identities or dir/blocks.json, so that a corpus never
// mixes with older files.
func Write(dir string, opt Options) error {
	if opt.Pages < 0 {
		return fmt.Errorf("corpus: %d pages requested, want 0 or more", opt.Pages)
	}
	if opt.Sections == 0 {
		opt.Sections = DefaultSections
	}
	if opt.Sections < 0 {
		return fmt.Errorf("corpus: %d sections requested, want 1 or more", opt.Sections)
	}
	if opt.Recipients < 0 {
		return fmt.Errorf("corpus: %d recipients requested, want 0 or more", opt.Recipients)
	}
	if !(opt.Restricted >= 0 && opt.Restricted <= 1) {
		return fmt.Errorf("corpus: restricted fraction %v, want 0 to 1", opt.Restricted)
	}
	if opt.Restricted > 0 && opt.Recipients == 0 {
		return errors.New("corpus: restricted blocks need recipients: set Recipients too")
	}
	content := filepath.Join(dir, "content")
	outputs := []string{content}
	if opt.Recipients > 0 {
		outputs = append(outputs, filepath.Join(dir, "keys"), filepath.Join(dir, IdentitiesDir), filepath.Join(dir, BlocksFile))
	}
	for _, name := range outputs {
		if _, err := os.Lstat(name); err == nil {
			return fmt.Errorf("corpus: %s already exists; write the corpus to a new folder", name)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("corpus: %w", err)
		}
	}

	g := newGen(opt)
	if opt.Recipients > 0 {
		g.keys = newKeyring(opt.Seed, opt.Recipients)
		g.rb = rand.New(rand.NewPCG(uint64(opt.Seed), streamBlocks))
		g.rc = rand.New(rand.NewPCG(uint64(opt.Seed), streamCanary))
		g.canaries = opt.Canaries
		g.planBlocks(opt)
		if err := g.writeKeys(dir); err != nil {
			return fmt.Errorf("corpus: %w", err)
		}
	}
	if err := os.MkdirAll(content, 0o755); err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	made := map[int]bool{}
	for _, p := range g.pages {
		if !made[p.section] {
			if err := os.Mkdir(filepath.Join(content, sectionName(p.section)), 0o755); err != nil {
				return fmt.Errorf("corpus: %w", err)
			}
			made[p.section] = true
		}
	}
	if err := os.WriteFile(filepath.Join(content, "_index.md"), g.home(), 0o644); err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	for _, p := range g.pages {
		if err := os.WriteFile(filepath.Join(content, filepath.FromSlash(p.rel)), g.page(p), 0o644); err != nil {
			return fmt.Errorf("corpus: %w", err)
		}
	}
	if g.keys != nil {
		if err := os.WriteFile(filepath.Join(dir, BlocksFile), blocksFile(g.listing), 0o644); err != nil {
			return fmt.Errorf("corpus: %w", err)
		}
	}
	return nil
}

// IdentitiesDir is the folder of DIR where [Write] puts the recipients'
// secret keys, outside content/ and keys/.
const IdentitiesDir = "identities"

// writeKeys writes keys/ and the identities.
func (g *gen) writeKeys(dir string) error {
	keys, ids := filepath.Join(dir, "keys"), filepath.Join(dir, IdentitiesDir)
	for _, d := range []string{keys, ids} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for i := range g.keys.recipients {
		rc := &g.keys.recipients[i]
		if err := os.WriteFile(filepath.Join(keys, rc.name+".pub"), rc.pubFile(), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(ids, rc.name+".txt"), rc.identityFile(), 0o600); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(keys, "groups.toml"), g.keys.groupsFile(), 0o644)
}

// BenchPages is the number of pages a benchmark generates: $CONCLAVE_BENCH_PAGES
// if set, def otherwise.
func BenchPages(def int) (int, error) {
	v := os.Getenv("CONCLAVE_BENCH_PAGES")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("CONCLAVE_BENCH_PAGES=%q: want a number of pages", v)
	}
	return n, nil
}

func sectionName(n int) string { return fmt.Sprintf("section-%d", n) }

// page is a briefing's plan: everything but its body.
type page struct {
	num     int
	section int    // 1-based
	rel     string // path under content/, with slashes
	day     time.Time
	title   string
	summary string
	tags    []string
	tlp     string
	t       topic
	blocks  []*audience // restricted blocks, in order
}

// topic is what a briefing is about; slots draw on it so that a page
// talks about one product and one flaw throughout.
type topic struct {
	vendor, product, bin string
	v                    vuln
	component            string
	cve                  string
	cvss                 float64
	fixed                string
	affectedLow          string
	affectedHigh         string
	advid, port, path    string
	cfg, fn              string
}

// gen holds the random state; all output is drawn from r in a fixed order.
type gen struct {
	r     *rand.Rand
	tags  *rand.Zipf
	pages []*page

	cur  *page           // page being written
	used map[string]bool // templates already used on cur
	link string          // value of the {link} slot

	// With recipients only: the keys, the streams of restricted blocks
	// and of canaries, and the blocks written so far.
	keys     *keyring
	rb, rc   *rand.Rand
	canaries bool
	listing  []Block
}

var (
	firstDay = time.Date(2003, 1, 1, 0, 0, 0, 0, time.UTC)
	lastDay  = time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
)

func newGen(opt Options) *gen {
	// The second PCG seed is fixed: "corpus" in ASCII.
	r := rand.New(rand.NewPCG(uint64(opt.Seed), streamMain))
	g := &gen{r: r, tags: rand.NewZipf(r, 1.1, 2, uint64(len(tagPool)-1))}

	// Sections get uneven shares: section k in proportion to 1/(k+1).
	weights := make([]float64, opt.Sections)
	total := 0.0
	for k := range weights {
		weights[k] = 1 / float64(k+2)
		total += weights[k]
	}
	days := int(lastDay.Sub(firstDay).Hours()/24) + 1
	for i := range opt.Pages {
		x, sec := r.Float64()*total, opt.Sections
		for k, w := range weights {
			if x < w {
				sec = k + 1
				break
			}
			x -= w
		}
		p := &page{
			num:     i + 1,
			section: sec,
			rel:     fmt.Sprintf("%s/page-%05d.md", sectionName(sec), i+1),
			day:     firstDay.AddDate(0, 0, r.IntN(days)),
			tlp:     "clear",
		}
		if r.IntN(10) < 4 {
			p.tlp = "green"
		}
		p.t = g.topic(p.day)
		p.tags = g.pickTags()
		g.cur = p
		p.title = capitalize(g.expand(pick(r, titleTemplates)))
		p.summary = capitalize(g.expand(pick(r, summaryTemplates)))
		g.pages = append(g.pages, p)
	}
	g.cur = nil
	return g
}

func (g *gen) topic(day time.Time) topic {
	r := g.r
	kind := pick(r, productKinds)
	name := pick(r, productNames)
	vendor := pick(r, vendors)
	major, minor, patch := 1+r.IntN(12), r.IntN(10), 2+r.IntN(29)
	year := day.Year()
	if day.Month() == time.January {
		year--
	}
	var initials []byte
	for _, w := range strings.Fields(vendor) {
		initials = append(initials, w[0])
	}
	return topic{
		vendor:       vendor,
		product:      name + " " + kind.name,
		bin:          strings.ToLower(name) + "-" + kind.bin,
		v:            pick(r, vulns),
		component:    pick(r, components),
		cve:          fmt.Sprintf("CVE-%d-%d", year, 1000+r.IntN(49000)),
		cvss:         float64(40+r.IntN(61)) / 10,
		fixed:        fmt.Sprintf("%d.%d.%d", major, minor, patch),
		affectedLow:  fmt.Sprintf("%d.%d.0", major, minor),
		affectedHigh: fmt.Sprintf("%d.%d.%d", major, minor, patch-1),
		advid:        fmt.Sprintf("%s-SA-%d-%03d", initials, year, 1+r.IntN(120)),
		port:         pick(r, ports),
		path:         pick(r, apiPaths),
		cfg:          pick(r, configKeys),
		fn:           pick(r, funcs),
	}
}

// pickTags draws one to four distinct tags, Zipf-distributed over tagPool.
func (g *gen) pickTags() []string {
	n := 1
	switch x := g.r.IntN(100); {
	case x >= 85:
		n = 4
	case x >= 60:
		n = 3
	case x >= 25:
		n = 2
	}
	var tags []string
	seen := map[uint64]bool{}
	for len(tags) < n {
		k := g.tags.Uint64()
		if !seen[k] {
			seen[k] = true
			tags = append(tags, tagPool[k])
		}
	}
	return tags
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// capitalize upper-cases s's first byte if it is a lowercase ASCII letter.
func capitalize(s string) string {
	if s != "" && 'a' <= s[0] && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// expand fills the slots of tmpl: {name} is replaced by g.slot(name), and
// {Name} by the same value capitalized. Braces around anything else, as in
// code, are left alone.
func (g *gen) expand(tmpl string) string {
	if !strings.Contains(tmpl, "{") {
		return tmpl
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		j := i + 1
		for j < len(tmpl) && (tmpl[j] == '_' || 'a' <= tmpl[j] && tmpl[j] <= 'z' || j == i+1 && 'A' <= tmpl[j] && tmpl[j] <= 'Z') {
			j++
		}
		if j == i+1 || j == len(tmpl) || tmpl[j] != '}' {
			b.WriteString(tmpl[:i+1])
			tmpl = tmpl[i+1:]
			continue
		}
		b.WriteString(tmpl[:i])
		name := tmpl[i+1 : j]
		if 'A' <= name[0] && name[0] <= 'Z' {
			b.WriteString(capitalize(g.slot(strings.ToLower(name[:1]) + name[1:])))
		} else {
			b.WriteString(g.slot(name))
		}
		tmpl = tmpl[j+1:]
	}
}

// slot returns the value of one template slot for the current page.
func (g *gen) slot(name string) string {
	r, t := g.r, &g.cur.t
	switch name {
	case "vendor":
		return t.vendor
	case "vendor_slug":
		return strings.ToLower(strings.ReplaceAll(t.vendor, " ", "-"))
	case "product":
		return t.product
	case "bin":
		return t.bin
	case "vuln":
		return t.v.name
	case "a_vuln":
		return t.v.article + " " + t.v.name
	case "impact":
		return pick(r, t.v.impacts)
	case "component":
		return t.component
	case "comp":
		return strings.TrimPrefix(t.component, "the ")
	case "cve":
		return t.cve
	case "cvss":
		return fmt.Sprintf("%.1f", t.cvss)
	case "severity":
		return severity(t.cvss)
	case "fixed":
		return t.fixed
	case "affected":
		return t.affectedLow + " to " + t.affectedHigh
	case "affected_low":
		return t.affectedLow
	case "advid":
		return t.advid
	case "port":
		return t.port
	case "path":
		return t.path
	case "cfg":
		return t.cfg
	case "func":
		return t.fn
	case "year":
		return fmt.Sprint(g.cur.day.Year())
	case "past_year":
		return fmt.Sprint(g.cur.day.Year() - 1 - r.IntN(4))
	case "month":
		return monthNames[g.cur.day.Month()-1]
	case "date":
		return g.cur.day.AddDate(0, 0, -1-r.IntN(180)).Format("2 January 2006")
	case "days":
		return fmt.Sprint(7 + r.IntN(114))
	case "small":
		return fmt.Sprint(2 + r.IntN(9))
	case "n":
		return fmt.Sprint(3 + r.IntN(40))
	case "nth":
		return pick(r, []string{"second", "third", "fourth", "fifth"})
	case "pct":
		return fmt.Sprint(20 + r.IntN(75))
	case "count":
		return fmt.Sprint(500 + r.IntN(40000))
	case "size":
		return pick(r, []string{"256", "1024", "4096", "8192"})
	case "reporter":
		return pick(r, reporters)
	case "org":
		return pick(r, orgs)
	case "other_vendor":
		for {
			if v := pick(r, vendors); v != t.vendor {
				return v
			}
		}
	case "mitigation":
		return pick(r, mitigationTech)
	case "surface":
		return g.expand(pick(r, surfaces))
	case "risk":
		return pick(r, risks)
	case "link":
		return g.link
	}
	panic("corpus: unknown slot {" + name + "}")
}

func severity(score float64) string {
	switch {
	case score >= 9:
		return "critical"
	case score >= 7:
		return "high"
	case score >= 4:
		return "medium"
	}
	return "low"
}

// home returns content/_index.md.
func (g *gen) home() []byte {
	var b strings.Builder
	b.WriteString("---\ntitle: \"Benchmark corpus\"\nsummary: \"Synthetic security briefings for comparing static site generators.\"\n---\n\n")
	fmt.Fprintf(&b, "This site holds %d synthetic security briefings: advisories, disclosure timelines and analyses of invented products and flaws, written to exercise a site generator the way a real briefing site does.", len(g.pages))
	// Link the first briefing of up to three sections.
	seen := map[int]bool{}
	var links []string
	for _, p := range g.pages {
		if !seen[p.section] && len(links) < 3 {
			seen[p.section] = true
			links = append(links, fmt.Sprintf("[%s](%s)", p.title, p.rel))
		}
	}
	if len(links) > 0 {
		b.WriteString(" Start with " + joinOr(links) + ".")
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// page returns a briefing's file.
func (g *gen) page(p *page) []byte {
	g.cur = p
	g.used = map[string]bool{}
	front := fmt.Sprintf("---\ntitle: \"%s\"\ndate: %s\nsummary: \"%s\"\ntags: [%s]\ntlp: %s\n---\n\n",
		p.title, p.day.Format(time.DateOnly), p.summary, strings.Join(p.tags, ", "), p.tlp)
	var b strings.Builder
	b.Grow(8192)
	g.body(&b)
	body := b.String()
	if len(p.blocks) > 0 {
		body = g.restrict(p, body, strings.Count(front, "\n")+1)
	}
	return []byte(front + body)
}

// Bodies have minWords to maxWords words.
const (
	minWords = 200
	maxWords = 2000
)

// wordTarget draws a body length: log-normal around 600 words, which
// averages about 700. The bounds leave room for the last block to
// overshoot.
func (g *gen) wordTarget() int {
	w := math.Exp(math.Log(600) + 0.5*g.r.NormFloat64())
	return int(min(max(w, minWords), maxWords-200))
}

// relLink is the relative link from page from's file to page to's file.
func relLink(from, to *page) string {
	if from.section == to.section {
		return strings.TrimPrefix(to.rel, sectionName(to.section)+"/")
	}
	return "../" + to.rel
}

// joinOr joins items as "a", "a or b", "a, b or c".
func joinOr(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// countWords counts the words of markdown text.
func countWords(s string) int { return len(strings.Fields(s)) }
