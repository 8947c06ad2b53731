package build

// Canary property test and fuzz target.
//
// A generator turns a seed (and, for the fuzzer, bytes that drive its
// choices) into a small site: conclave.toml, keys/ with a few recipients
// and groups, and two to six pages under content/ in sections, some of them
// bundles. Every restricted thing carries canaries of its own: each text
// element of each restricted block, the title, summary, tags and body of
// each page restricted as a whole, and each attachment (a file linked only
// from restricted text, or one in the folder of a restricted bundle) in its
// name and its content. Public text carries none. The generator then
// applies the mistakes and variations authors make (stray text before the
// front matter, byte-order marks, line endings, fences with other colon
// counts, case, typos or indentation, blocks in list items and quotes,
// nested blocks, reference links, raw HTML, TOML front matter, duplicated
// pages, ...).
//
// For every site, the property is:
//
//   - a build that fails names its place: content/…, keys/… or
//     conclave.toml, then ":" and a line number (a panic, or an error with
//     no line, is a bug);
//   - a build that succeeds publishes no canary, in any byte of any file or
//     in any file name, in any letter case, and no recipient's name or key;
//   - the same holds with the leak scan turned off (testOnlySkipLeakScan):
//     redaction alone must publish nothing restricted;
//   - the scan agrees: it never lets a build through whose unscanned twin
//     leaks, and it never stops a build whose unscanned twin leaks nothing.
//
// A build that the scan alone stops, blaming the author (a passage's text
// copied into a content file, which is published as it is), is a refusal
// like any other; one that calls itself a bug in conclave while the
// unscanned output holds nothing restricted is a false alarm.
//
// Run a single seed with -run 'TestCanaryProperty/seed=17'. Flags, after
// -args: -canary.dump prints the site of each failing input, -canary.shrink
// a smaller site that fails the same way, -canary.v every build's notes and
// errors, -canary.find=REGEXP the seeds whose site matches (to find inputs
// that exercise something), -canary.seeds=N runs N seeds. While fuzzing,
// -canary.skip=feature,... leaves out generator features that hit a bug
// already known (see canaryFeatures), so that the fuzzer looks further:
//
//	go test ./internal/build -run XXX -fuzz FuzzCanarySite -fuzztime 10m -fuzzminimizetime 10s -args -canary.skip=topbundle

import (
	"bytes"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/corpus"
	"github.com/conclave-dev/conclave/internal/testtool"
)

var (
	canarySeedCount = flag.Int("canary.seeds", 150, "number of seeds TestCanaryProperty runs")
	canarySkipFlag  = flag.String("canary.skip", "", "comma-separated generator features to leave out (known bugs): see canaryFeatures")
	canaryDump      = flag.Bool("canary.dump", false, "print the generated site of every failing input")
	canaryVerbose   = flag.Bool("canary.v", false, "log every build error")
	canaryFind      = flag.String("canary.find", "", "list the seeds whose generated site (files and notes) matches this regular expression, and build nothing")
	canaryShrink    = flag.Bool("canary.shrink", false, "shrink every failing input to a smaller site that fails the same way, and print it")
)

// canaryFeatures are the generator's optional features, by the name that
// -canary.skip takes.
var canaryFeatures = map[string]string{
	"attach":     "files linked from restricted text with a markdown link or image",
	"rawattach":  "files linked from restricted text with raw HTML <a href> or <img src>",
	"bundlefile": "files in the folder of a restricted bundle",
	"bundledir":  "a canary in the folder name of a restricted bundle",
	"topbundle":  "bundles right under content/ (content/NAME/index.md)",
	"themewords": "restricted text runs of a single word (such as \"baseline\", which the theme's CSS holds)",
	"publicfile": "words in the public files of public bundles (which restricted text may use too)",
	"pagename":   "a canary in the file name of a page restricted as a whole",
	"corpus":     "sites made by internal/corpus, with mutated fences",
	"rawhtml":    "raw HTML (inline, blocks, comments) in restricted text",
	"reflink":    "reference-style links in restricted text",
	"nested":     "restricted blocks nested in restricted blocks",
	"wrap":       "restricted blocks inside list items, quotes, footnotes and <details>",
	"fnwrap":     "restricted blocks inside footnote definitions",
	"fence":      "mutated fences (colons, case, typos, indentation, closing line)",
	"file":       "file-level mutations (stray text before front matter, BOM, line endings)",
	"whole":      "pages restricted as a whole (front matter audience:)",
	"tags":       "canaries in the tags of pages restricted as a whole",
	"summary":    "canaries in the summary of pages restricted as a whole",
	"footnote":   "footnotes in restricted text",
	"recipients": "the check that no recipient name or key is published",
	"embargo":    "embargoes due in 2099 on blocks and pages restricted as a whole (sealed until then)",
}

func canarySkips(tb testing.TB) map[string]bool {
	skip := map[string]bool{}
	for _, f := range strings.Split(*canarySkipFlag, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if _, ok := canaryFeatures[f]; !ok {
			tb.Fatalf("-canary.skip: unknown feature %q", f)
		}
		skip[f] = true
	}
	return skip
}

// The recipients of every generated site (the first three to five of
// them), with keys made once per process: nothing the generator chooses
// depends on them.
var canaryPeople = []string{"kestrel-psirt", "osprey-cert", "merlin-board", "harrier-soc", "falcon-ir"}

var canaryKeys = sync.OnceValues(func() (map[string][]string, error) {
	keys := map[string][]string{}
	for _, p := range canaryPeople {
		for range 2 {
			id, err := age.GenerateX25519Identity()
			if err != nil {
				return nil, err
			}
			keys[p] = append(keys[p], id.Recipient().String())
		}
	}
	return keys, nil
})

// chooser draws the generator's choices: from the fuzzer's bytes while
// they last, then from a random stream of the seed.
type chooser struct {
	data []byte
	rng  *rand.Rand
}

func (c *chooser) intn(n int) int {
	if n <= 1 {
		return 0
	}
	if len(c.data) > 0 {
		b := c.data[0]
		c.data = c.data[1:]
		return int(b) % n
	}
	return c.rng.IntN(n)
}

// pct is true with probability p percent.
func (c *chooser) pct(p int) bool { return c.intn(100) < p }

func choose[T any](c *chooser, list []T) T { return list[c.intn(len(list))] }

// canarySite is a generated site.
type canarySite struct {
	files map[string]string // slash path → contents
	// canaries maps each canary, in lower case, to where it was put.
	canaries map[string]string
	notes    []string // the generator's notable choices
	people   []string // recipients
	keys     []string // their public keys
	corpus   bool     // made by internal/corpus
}

func (s *canarySite) note(format string, args ...any) {
	s.notes = append(s.notes, fmt.Sprintf(format, args...))
}

// audChoice is a block's or page's audience.
type audChoice struct {
	to      []string // nil: the [tlp] default of the label
	members []string // after group expansion, sorted
	people  bool     // names individuals only
}

var tlpLabels = []string{"green", "amber", "amber+strict", "red"}

func tlpRank(l string) int { return slices.Index(tlpLabels, l) }

type canaryGen struct {
	c      *chooser
	tokens *rand.Rand // canaries and slugs: never from the fuzzer's bytes
	skip   map[string]bool
	s      *canarySite
	auds   []*audChoice
	all    []string // every recipient
	hasDef bool     // conclave.toml has [tlp] amber = ["members"]
	seq    int      // for unique names
	level  int      // how many mistakes: 0 none, 1 few, 2 more
	// risky are the features of this site that the build may well
	// refuse (attachments, footnotes in blocks): each site has some.
	risky map[string]bool
	pages []*canaryPage
}

// canaryPage is a page being generated.
type canaryPage struct {
	path  string // content/…
	dir   string // its folder, content/…
	refs  []string
	whole bool
	neat  bool // its file name carries no canary, so public text may link to it
}

func (g *canaryGen) on(feature string) bool { return !g.skip[feature] }

// mutating is true with probability p percent on a site with mistakes,
// half that on one with few, and never on one without.
func (g *canaryGen) mutating(p int) bool {
	return g.level > 0 && g.c.pct(p*g.level/2)
}

// canary returns a new canary and records where it is put. Some come in
// upper case: the output is compared in any case.
func (g *canaryGen) canary(where string) string {
	for {
		tok := fmt.Sprintf("zqcanary%08x", g.tokens.Uint32())
		if _, dup := g.s.canaries[tok]; dup {
			continue
		}
		g.s.canaries[tok] = where
		if g.tokens.IntN(8) == 0 {
			return strings.ToUpper(tok)
		}
		return tok
	}
}

var publicWords = strings.Fields(`gateway firmware patch vendor release review network partner schedule
	update service incident report timeline mitigation exposure scanner appliance router switch backlog
	rollout window customer sector triage upgrade console cluster monitor baseline inventory`)

var publicTags = []string{"advisory", "firmware", "network", "ics", "cloud"}

func (g *canaryGen) words(n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = publicWords[g.tokens.IntN(len(publicWords))]
	}
	return strings.Join(w, " ")
}

func (g *canaryGen) title() string {
	t := g.words(3)
	return strings.ToUpper(t[:1]) + t[1:]
}

func (g *canaryGen) name(prefix string) string {
	g.seq++
	return fmt.Sprintf("%s-%d", prefix, g.seq)
}

// genCanarySite makes the site of a seed and, for the fuzzer, its bytes.
func genCanarySite(tb testing.TB, seed uint64, data []byte, skip map[string]bool) *canarySite {
	g := &canaryGen{
		c:      &chooser{data: data, rng: rand.New(rand.NewPCG(seed, 0x636f6e636c617665))},
		tokens: rand.New(rand.NewPCG(seed, 0x7a7163616e617279)),
		skip:   skip,
		s:      &canarySite{files: map[string]string{}, canaries: map[string]string{}},
	}
	g.level = [...]int{0, 0, 0, 0, 1, 1, 1, 2, 2, 2}[g.c.intn(10)]
	g.s.note("mistakes: level %d", g.level)
	g.risky = map[string]bool{}
	for _, f := range []string{"attach", "rawattach", "bundlefile", "footnote"} {
		g.risky[f] = g.on(f) && g.c.pct(20)
		if g.risky[f] {
			g.s.note("risky feature %s", f)
		}
	}
	if g.on("corpus") && g.c.pct(8) {
		g.corpusSite(tb, seed)
		return g.s
	}
	g.config()
	g.keys(tb)
	for _, sec := range []string{"", "briefings", "advisories"} {
		if g.c.pct(25) {
			g.intro(sec)
		}
	}
	n := 2 + g.c.intn(5)
	if g.on("whole") && g.c.pct(10) {
		// A section of restricted pages only.
		if g.c.pct(60) {
			g.s.files["content/embargo/_index.md"] = "---\ntitle: Embargoed\n---\n\nPages of this section are sealed.\n"
			g.s.note("content/embargo/ has an _index.md")
		} else {
			g.s.note("content/embargo/ has no _index.md")
		}
		for range 1 + g.c.intn(2) {
			g.wholePage("content/embargo")
			n--
		}
	}
	// Public pages first, so that restricted ones mostly go to sections
	// that public text names already.
	kinds := make([]int, max(n, 1))
	for i := range kinds {
		kinds[i] = g.c.intn(100)
		if !g.on("whole") {
			kinds[i] = 0
		}
	}
	restrictedKind := func(k int) bool { return k >= 55 && k < 88 }
	slices.SortStableFunc(kinds, func(a, b int) int {
		switch {
		case restrictedKind(a) == restrictedKind(b):
			return 0
		case restrictedKind(a):
			return 1
		}
		return -1
	})
	sections := []string{"content", "content/briefings", "content/briefings", "content/advisories"}
	public := []string{"content"}
	for _, k := range kinds {
		sec := choose(g.c, sections)
		if restrictedKind(k) && !slices.Contains(public, sec) && g.c.pct(85) {
			sec = choose(g.c, public)
		}
		if sec == "content" && k >= 75 && !g.on("topbundle") {
			sec = "content/briefings"
		}
		switch {
		case k < 55:
			g.publicPage(sec, false)
			public = append(public, sec)
		case k < 75:
			g.wholePage(sec)
		case k < 88:
			g.restrictedBundle(sec)
		default:
			g.publicPage(sec, true)
			public = append(public, sec)
		}
	}
	g.duplicate()
	return g.s
}

func (g *canaryGen) config() {
	cfg := "title = \"Briefings\"\nbaseURL = \"https://briefs.example.org/\"\n"
	if g.c.pct(60) {
		cfg += "\n[tlp]\namber = [\"members\"]\n"
		g.hasDef = true
	}
	g.s.files["conclave.toml"] = cfg
}

func (g *canaryGen) keys(tb testing.TB) {
	keys, err := canaryKeys()
	if err != nil {
		tb.Fatal(err)
	}
	k := 3 + g.c.intn(3)
	g.all = slices.Clone(canaryPeople[:k])
	g.s.people = g.all
	for _, p := range g.all {
		text := fmt.Sprintf("# %s\n%s\n", p, keys[p][0])
		g.s.keys = append(g.s.keys, keys[p][0])
		if g.c.pct(20) {
			text += "# spare key\n" + keys[p][1] + "\n"
			g.s.keys = append(g.s.keys, keys[p][1])
		}
		g.s.files["keys/"+p+".pub"] = text
	}
	groups := "board = [\"kestrel-psirt\", \"merlin-board\"]\n"
	members := []string{"board", "osprey-cert"}
	ops := canaryPeople[3:k]
	if len(ops) > 0 {
		groups += "ops = [\"" + strings.Join(ops, "\", \"") + "\"]\n"
		members = append(members, "ops")
	}
	groups += "members = [\"" + strings.Join(members, "\", \"") + "\"]\n"
	g.s.files["keys/groups.toml"] = groups

	sorted := func(names ...string) []string { slices.Sort(names); return names }
	g.auds = []*audChoice{
		{to: []string{"members"}, members: sorted(g.all...)},
		{to: []string{"board"}, members: sorted("kestrel-psirt", "merlin-board")},
		{to: []string{"kestrel-psirt"}, members: sorted("kestrel-psirt"), people: true},
		{to: []string{"osprey-cert", "merlin-board"}, members: sorted("osprey-cert", "merlin-board"), people: true},
		{to: []string{"board", "osprey-cert"}, members: sorted("kestrel-psirt", "merlin-board", "osprey-cert")},
		{to: nil, members: sorted(g.all...)}, // the [tlp] default of amber
	}
	if len(ops) > 0 {
		g.auds = append(g.auds, &audChoice{to: []string{"ops"}, members: sorted(ops...)})
	}
}

// pickAudience chooses an audience and label within outer's (nil: any);
// rarely, a wider one, which the build must refuse.
func (g *canaryGen) pickAudience(outer *audChoice, outerLabel string) (*audChoice, string) {
	var cands []*audChoice
	for _, a := range g.auds {
		if outer == nil || subset(a.members, outer.members) {
			cands = append(cands, a)
		}
	}
	if outer != nil && g.mutating(6) {
		cands = g.auds
		g.s.note("nested block may widen its audience")
	}
	a := choose(g.c, cands)
	if a.to == nil && !g.hasDef && !g.mutating(30) {
		a = cands[0] // everyone, by name
	}
	if a.to == nil {
		return a, "amber"
	}
	var labels []string
	for _, l := range tlpLabels {
		if tlpRank(l) >= tlpRank(outerLabel) && (l != "red" || a.people) {
			labels = append(labels, l)
		}
	}
	if len(labels) == 0 || g.mutating(4) {
		labels = tlpLabels // a label the build must refuse
	}
	return a, choose(g.c, labels)
}

func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// intro writes the _index.md of a section ("" for the home page), public,
// sometimes with a restricted block.
func (g *canaryGen) intro(sec string) {
	p := &canaryPage{path: "content/_index.md", dir: "content"}
	if sec != "" {
		p.path, p.dir = "content/"+sec+"/_index.md", "content/"+sec
	}
	body := []string{g.words(8) + "."}
	if g.c.pct(50) {
		body = append(body, "")
		body = append(body, g.block(p, nil, "", 0)...)
	}
	g.writePage(p, []frontEntry{{key: "title", value: yamlQuote(g.title())}}, body)
}

// frontEntry is one front matter key and its value, written in YAML, or
// its list of values.
type frontEntry struct {
	key, value string
	list       []string
}

func yamlQuote(s string) string { return `"` + s + `"` }

func yamlList(items []string) string { return "[" + strings.Join(items, ", ") + "]" }

// publicPage writes a public page, or a public bundle, with zero to three
// restricted blocks among its public text.
func (g *canaryGen) publicPage(dir string, bundle bool) {
	p := &canaryPage{dir: dir, neat: true}
	if bundle {
		p.dir = dir + "/" + g.name("bundle")
		p.path = p.dir + "/index.md"
		g.s.note("%s: a public bundle", p.path)
	} else {
		p.path = dir + "/" + g.name("gateway-review") + ".md"
	}
	front := []frontEntry{{key: "title", value: yamlQuote(g.title())}, {key: "date", value: "2025-0" + fmt.Sprint(1+g.c.intn(9)) + "-1" + fmt.Sprint(g.c.intn(10))}}
	if g.c.pct(50) {
		front = append(front, frontEntry{key: "summary", value: yamlQuote(g.words(6))})
	}
	if g.c.pct(60) {
		front = append(front, frontEntry{key: "tags", list: []string{choose(g.c, publicTags), choose(g.c, publicTags)}})
	}
	switch k := g.c.intn(10); {
	case k == 0:
		front = append(front, frontEntry{key: "tlp", value: "red"})
	case k < 2:
		front = append(front, frontEntry{key: "tlp", value: "amber"})
	}
	var body []string
	blocks := g.c.intn(4)
	if blocks > 0 && g.c.pct(25) {
		// A block first: the summary must not come from it.
		body = append(body, g.block(p, nil, "", 0)...)
		body = append(body, "")
		blocks--
	}
	body = append(body, capitalize(g.words(10))+".", "")
	if bundle {
		name := g.name("map") + ".txt"
		text := "public map\n"
		if g.on("publicfile") {
			text = "public map " + g.words(4) + "\n"
		}
		g.s.files[p.dir+"/"+name] = text
		body = append(body, "See the ["+g.words(1)+"]("+name+").", "")
	}
	for range blocks {
		switch g.c.intn(4) {
		case 0:
			body = append(body, "## "+capitalize(g.words(2)), "")
		case 1:
			body = append(body, "- "+g.words(3), "- "+g.words(3), "")
		case 2:
			if other := g.linkable(p); other != "" {
				body = append(body, "Related: ["+g.words(2)+"]("+other+").", "")
			}
		}
		if len(body) > 1 && body[len(body)-1] == "" && g.c.pct(12) {
			body = body[:len(body)-1] // no blank line before the block
			g.s.note("%s: a block right after a line of public text", p.path)
		}
		body = append(body, g.block(p, nil, "", 0)...)
		body = append(body, "")
		if g.c.pct(50) {
			body = append(body, capitalize(g.words(7))+".", "")
		}
	}
	if len(p.refs) > 0 {
		body = append(body, p.refs...)
	}
	g.writePage(p, front, body)
}

// linkable returns a relative link from p to an earlier page whose path
// carries no canary, or "".
func (g *canaryGen) linkable(p *canaryPage) string {
	var cands []*canaryPage
	for _, q := range g.pages {
		if q.neat {
			cands = append(cands, q)
		}
	}
	if len(cands) == 0 {
		return ""
	}
	q := choose(g.c, cands)
	rel, err := filepath.Rel(p.dir, q.path)
	if err != nil {
		return ""
	}
	return filepath.ToSlash(rel)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// wholeFront is the front matter of a page restricted as a whole.
func (g *canaryGen) wholeFront(p *canaryPage) ([]frontEntry, *audChoice, string) {
	a, label := g.pickAudience(nil, "")
	for a.to == nil {
		a, label = g.pickAudience(nil, "")
	}
	var front []frontEntry
	if g.c.pct(85) {
		front = append(front, frontEntry{key: "title", value: yamlQuote(capitalize(g.words(2)) + " " + g.canary(p.path+": title"))})
	} else {
		g.s.note("%s: no title (it comes from the file name)", p.path)
	}
	if g.on("summary") && g.c.pct(70) {
		front = append(front, frontEntry{key: "summary", value: yamlQuote(g.words(2) + " " + g.canary(p.path+": summary"))})
	}
	if g.on("tags") && g.c.pct(70) {
		tags := []string{g.canary(p.path + ": tag")}
		if g.c.pct(50) {
			tags = append(tags, choose(g.c, publicTags))
		}
		front = append(front, frontEntry{key: "tags", list: tags})
	}
	front = append(front, frontEntry{key: "slug", value: fmt.Sprintf("r-%08x", g.tokens.Uint32())})
	if g.c.pct(60) {
		front = append(front, frontEntry{key: "tlp", value: label})
	}
	front = append(front, frontEntry{key: "date", value: "2025-02-0" + fmt.Sprint(1+g.c.intn(9))})
	if g.on("embargo") && hashPct(p.path, 15) {
		// The label once lifted is the page's: a passage nested in it,
		// still sealed then, may be as strict.
		front = append(front, frontEntry{key: "embargo", value: "2099-06-30T16:00:00Z"}, frontEntry{key: "after", value: label})
		g.s.note("%s: under embargo until 2099", p.path)
	}
	// The audience key goes anywhere among the others.
	at := g.c.intn(len(front) + 1)
	front = slices.Insert(front, at, frontEntry{key: "audience", list: a.to})
	return front, a, label
}

// wholeBody is the body of a page restricted as a whole: text elements,
// and sometimes a nested block for part of its audience.
func (g *canaryGen) wholeBody(p *canaryPage, a *audChoice, label string) []string {
	var body []string
	for range 1 + g.c.intn(4) {
		body = append(body, g.element(p, p.path+": body", 1)...)
		body = append(body, "")
	}
	if g.on("nested") && g.c.pct(25) {
		body = append(body, g.block(p, a, label, 1)...)
		body = append(body, "")
	}
	return append(body, p.refs...)
}

// wholePage writes a page restricted as a whole.
func (g *canaryGen) wholePage(dir string) {
	p := &canaryPage{dir: dir, whole: true, neat: true}
	name := g.name("notes")
	if g.on("pagename") && g.c.pct(40) {
		name = g.canary(dir + ": file name of a restricted page")
		p.neat = false
	}
	p.path = dir + "/" + name + ".md"
	front, a, label := g.wholeFront(p)
	g.s.note("%s: restricted as a whole to %v", p.path, a.to)
	g.writePage(p, front, g.wholeBody(p, a, label))
}

// restrictedBundle writes a bundle whose index.md is restricted as a
// whole, with files in its folder: linked from its text or not.
func (g *canaryGen) restrictedBundle(dir string) {
	p := &canaryPage{whole: true}
	folder := g.name("bundle")
	if g.on("bundledir") && g.c.pct(40) {
		folder = g.canary(dir + ": folder of a restricted bundle")
	} else {
		p.neat = true
	}
	p.dir = dir + "/" + folder
	p.path = p.dir + "/index.md"
	front, a, label := g.wholeFront(p)
	body := g.wholeBody(p, a, label)
	if g.risky["bundlefile"] {
		for range 1 + g.c.intn(2) {
			k := g.c.intn(3)
			name, link := g.attachment(p, p.dir+": file of a restricted bundle", k == 0)
			switch k {
			case 0:
				g.s.note("%s: bundle file %s linked from its text", p.path, name)
				body = append(body, "", link)
			case 1:
				g.s.note("%s: bundle file %s not linked", p.path, name)
			default:
				if g.risky["rawattach"] {
					g.s.note("%s: bundle file %s linked with raw HTML", p.path, name)
					body = append(body, "", `<a href="`+name+`">`+g.words(1)+`</a>`)
				}
			}
		}
	}
	g.s.note("%s: a restricted bundle for %v", p.path, a.to)
	g.writePage(p, front, body)
}

// attachment writes a file next to page p (or in a sub-folder), with a
// canary in its name and another in its content, and returns its relative
// name and a markdown link or image to it.
func (g *canaryGen) attachment(p *canaryPage, where string, withLink bool) (string, string) {
	ext := choose(g.c, []string{".txt", ".pdf", ".png", ".csv"})
	name := g.canary(where+": attachment name") + ext
	if g.c.pct(30) {
		name = g.words(1) + "-" + name
	}
	if g.c.pct(25) {
		name = "files/" + name
	}
	content := g.canary(where + ": attachment content")
	var data string
	switch ext {
	case ".pdf":
		data = "%PDF-1.4\n% " + content + "\n%%EOF\n"
	case ".png":
		data = "\x89PNG\r\n\x1a\n" + content + "\x00\x01"
	default:
		data = "restricted " + content + "\n"
	}
	g.s.files[p.dir+"/"+name] = data
	if !withLink {
		return name, ""
	}
	text := g.canary(where + ": link text")
	if ext == ".png" && g.c.pct(60) {
		return name, "![" + text + "](" + name + ")"
	}
	return name, "[" + text + "](" + name + ")"
}

// fence is how a block's opening and closing lines are written.
type fence struct {
	open, close  int    // colons
	word         string // "restricted", or a mistake
	glue         bool   // no space between colons and word
	tlpFirst     bool
	pandoc       bool   // trailing colons on the opening line
	indentOpen   int    // spaces before the opening line
	indentClose  int    // and the closing one
	trailing     string // after the closing colons
	trailingOpen string // after the opening line
	noClose      bool
	wrap         int // 0 none, 1 list item, 2 quote, 3 quote on some lines, 4 footnote, 5 <details>
	badCont      bool
	tight        bool // no blank lines around the content
}

var restrictedTypos = []string{"restriced", "restrictd", "resticted", "rstricted", "restrcted", "restrictde", "restircted", "restricetd", "restrictted", "restrictedd", "restricte", "estricted", "restricred"}

// block returns the lines of a restricted block within outer (nil: at the
// top level), at nesting depth depth.
func (g *canaryGen) block(p *canaryPage, outer *audChoice, outerLabel string, depth int) []string {
	a, label := g.pickAudience(outer, outerLabel)
	f := fence{open: 3, close: 3, word: "restricted"}
	if depth == 0 && g.c.pct(30) {
		f.open, f.close = 4, 4+g.c.intn(2)
	}
	f.glue = g.c.pct(5)
	f.tlpFirst = g.c.pct(10)
	f.tight = g.c.pct(30)
	if g.on("wrap") && g.c.pct(12) {
		f.wrap = 1 + g.c.intn(2)
		if depth == 0 && g.c.pct(40) {
			f.wrap = 4 + g.c.intn(2)
			if f.wrap == 4 && !g.on("fnwrap") {
				f.wrap = 5
			}
		}
		if g.mutating(40) {
			f.wrap = 3
		}
		f.badCont = f.wrap == 1 && g.mutating(30)
	}
	if g.on("fence") && g.mutating(14) {
		switch k := g.c.intn(11); k {
		case 0:
			f.open, f.close = 1+g.c.intn(5), 1+g.c.intn(5)
		case 1:
			f.word = choose(g.c, []string{"Restricted", "RESTRICTED", "rEstricted", "restrictED"})
		case 2:
			f.word = choose(g.c, restrictedTypos)
		case 3:
			f.indentOpen = 1 + g.c.intn(4)
			f.indentClose = f.indentOpen
			if g.c.pct(40) {
				f.indentClose = g.c.intn(5)
			}
		case 4:
			f.trailing = choose(g.c, []string{" ", "  ", "\t", " \t "})
			f.trailingOpen = choose(g.c, []string{"", " ", "\t"})
		case 5:
			f.noClose = true
		case 6:
			f.pandoc = true
		case 7:
			f.close = 1 + g.c.intn(f.open)
		case 8:
			f.word = choose(g.c, []string{"restricted", "Restricted", "restriced"})
			f.open = 1 + g.c.intn(2)
		case 9:
			f.glue = true
			f.word = choose(g.c, []string{"restricted", "RESTRICTED", "restricte"})
		case 10:
			f.indentOpen = 4
		}
		g.s.note("%s: fence %+v", p.path, f)
	}

	where := fmt.Sprintf("%s: block %d", p.path, g.seq)
	g.seq++
	var content []string
	for i := range 1 + g.c.intn(3) {
		if i > 0 {
			content = append(content, "")
		}
		content = append(content, g.element(p, where, depth)...)
	}
	if g.on("nested") && depth < 2 && g.c.pct(15) {
		content = append(content, "")
		inner := g.block(p, a, label, depth+1)
		g.s.note("%s: nested block at depth %d", p.path, depth+1)
		content = append(content, inner...)
	}

	// The opening line.
	tokens := []string{}
	if a.to != nil {
		tokens = append(tokens, "to="+strings.Join(a.to, ","))
	}
	if a.to == nil || g.c.pct(80) {
		if f.tlpFirst {
			tokens = append([]string{"tlp=" + label}, tokens...)
		} else {
			tokens = append(tokens, "tlp="+label)
		}
	}
	if depth == 0 && g.on("embargo") && hashPct(where, 15) {
		tokens = append(tokens, fmt.Sprintf("embargo=2099-0%d-1%dT17:00:00Z", 1+len(where)%9, len(where)%10))
		if hashPct(where+" after", 50) {
			tokens = append(tokens, "after=clear")
		}
		g.s.note("%s: %s under embargo until 2099", p.path, where)
	}
	open := strings.Repeat(" ", f.indentOpen) + strings.Repeat(":", f.open)
	if !f.glue {
		open += " "
	}
	open += f.word + " " + strings.Join(tokens, " ")
	if f.pandoc {
		open += " " + strings.Repeat(":", f.open)
	}
	open += f.trailingOpen
	lines := []string{open}
	if !f.tight {
		lines = append(lines, "")
	}
	lines = append(lines, content...)
	if !f.tight {
		lines = append(lines, "")
	}
	if !f.noClose {
		lines = append(lines, strings.Repeat(" ", f.indentClose)+strings.Repeat(":", f.close)+f.trailing)
	}

	switch f.wrap {
	case 1: // a list item
		for i := range lines {
			switch {
			case i == 0:
				lines[i] = "- " + lines[i]
			case lines[i] == "":
			case f.badCont && i == len(lines)-1:
				lines[i] = " " + lines[i]
			default:
				lines[i] = "  " + lines[i]
			}
		}
		g.s.note("%s: block in a list item (bad continuation %t)", p.path, f.badCont)
	case 2: // a quote
		for i := range lines {
			lines[i] = strings.TrimRight("> "+lines[i], " ")
		}
		g.s.note("%s: block in a quote", p.path)
	case 3: // a quote on some lines
		for i := range lines {
			if i == 0 || g.c.pct(50) {
				lines[i] = strings.TrimRight("> "+lines[i], " ")
			}
		}
		g.s.note("%s: block in a quote on some lines", p.path)
	case 4: // a footnote's definition, in public text
		n := g.name("note")
		out := []string{capitalize(g.words(3)) + "[^" + n + "].", "", "[^" + n + "]: " + capitalize(g.words(3)) + ".", ""}
		for _, l := range lines {
			if l != "" {
				l = "    " + l
			}
			out = append(out, l)
		}
		lines = out
		g.s.note("%s: block in a footnote", p.path)
	case 5: // raw HTML around it
		lines = append(append([]string{"<details>", "<summary>" + g.words(2) + "</summary>", ""}, lines...), "", "</details>")
		g.s.note("%s: block inside <details>", p.path)
	}
	return lines
}

// element returns the lines of one text element of restricted text, with
// canaries; where names the passage.
func (g *canaryGen) element(p *canaryPage, where string, depth int) []string {
	can := func(what string) string { return g.canary(where + ": " + what) }
	w := func() string { return g.words(1 + g.c.intn(3)) }
	if !g.on("themewords") {
		w = func() string { return g.words(2 + g.c.intn(2)) }
	}
	for {
		switch k := g.c.intn(24); k {
		case 0:
			return []string{strings.Repeat("#", 2+g.c.intn(3)) + " " + capitalize(w()) + " " + can("heading")}
		case 1:
			return []string{capitalize(w()) + " " + can("setext heading"), "---"}
		case 2:
			return []string{"### " + can("heading with an id") + " {#" + can("heading id") + "}"}
		case 3:
			return []string{capitalize(w()) + " " + can("paragraph") + " " + w() + "."}
		case 4:
			c := can("inline")
			return []string{capitalize(w()) + " " + choose(g.c, []string{"*" + c + "*", "**" + c + "**", "`" + c + "`", "~~" + c + "~~", "_" + c + "_"}) + " " + w() + "."}
		case 5:
			return []string{"- " + w() + " " + can("list item"), "- " + can("list item") + " " + w()}
		case 6:
			return []string{"1. " + can("numbered item"), "2. " + w() + " " + can("numbered item")}
		case 7:
			return []string{"- [ ] " + can("task"), "- [x] " + can("task")}
		case 8:
			return []string{"| " + capitalize(w()) + " | Value |", "| --- | --- |", "| " + can("table cell") + " | " + w() + " |", "| " + w() + " | `" + can("table code") + "` |"}
		case 9:
			fenceMark := choose(g.c, []string{"```", "~~~"})
			return []string{fenceMark + choose(g.c, []string{"", "bash", "go", "yaml"}), "curl -s https://c2.example/" + can("code url"), "echo " + can("code line"), fenceMark}
		case 10:
			if g.c.pct(50) {
				return []string{"    " + can("indented code") + " --flag"}
			}
			// Fence-like lines inside code never close the block.
			return []string{"```text", ":::", can("code after colons"), "::: restricted to=kestrel-psirt", "```"}
		case 11:
			return []string{"See [" + can("link text") + "](https://vendor.example/" + can("link url") + "/advisory \"" + can("link title") + "\")."}
		case 12:
			return []string{"![" + can("image alt") + "](https://img.example/" + can("image url") + ".png)"}
		case 13:
			return []string{"Write to <https://portal.example/" + can("autolink") + "> or <" + can("email autolink") + "@example.org>."}
		case 14:
			return []string{"Bare https://bare.example/" + can("bare url") + "/x and www." + can("www autolink") + ".example."}
		case 15:
			return []string{"> " + can("quote") + " " + w()}
		case 16:
			if !g.on("rawhtml") {
				continue
			}
			return []string{capitalize(w()) + ` <a href="https://raw.example/` + can("raw html url") + `">` + can("raw html text") + `</a> <span title="` + can("raw html attribute") + `">x</span>.`}
		case 17:
			if !g.on("rawhtml") {
				continue
			}
			switch g.c.intn(2) {
			case 0:
				return []string{`<div class="note">`, can("html block"), `</div>`}
			default:
				return []string{"<!-- " + can("html comment") + " -->"}
			}
		case 18:
			if !g.on("reflink") {
				continue
			}
			ref := g.name("ref")
			switch g.c.intn(4) {
			case 0, 1: // the definition outside, in public text: no canary
				p.refs = append(p.refs, "["+ref+"]: https://public.example/"+ref)
				g.s.note("%s: reference link, definition outside", p.path)
				return []string{"Read [" + can("reference link text") + "][" + ref + "] and [" + ref + "]."}
			case 2: // inside: the build must refuse it
				if !g.mutating(100) {
					continue
				}
				g.s.note("%s: reference link, definition inside", p.path)
				return []string{"Read [" + can("reference link text") + "][" + ref + "].", "", "[" + ref + "]: https://private.example/" + can("reference url")}
			default:
				g.s.note("%s: reference link, no definition", p.path)
				return []string{"Read [" + can("reference link text") + "][" + ref + "]."}
			}
		case 19, 20:
			if !g.risky["attach"] {
				continue
			}
			_, link := g.attachment(p, where, true)
			g.s.note("%s: attachment linked from restricted text", p.path)
			return []string{capitalize(w()) + ": " + link}
		case 21:
			if !g.risky["rawattach"] {
				continue
			}
			name, _ := g.attachment(p, where, false)
			g.s.note("%s: attachment linked with raw HTML from restricted text", p.path)
			if strings.HasSuffix(name, ".png") {
				return []string{`<img src="` + name + `" alt="` + can("raw image alt") + `">`}
			}
			return []string{capitalize(w()) + ` <a href="` + name + `">` + can("raw attachment text") + `</a>.`}
		case 22:
			if !g.risky["footnote"] {
				continue
			}
			n := g.name("fn")
			g.s.note("%s: footnote in restricted text", p.path)
			return []string{capitalize(w()) + " " + can("footnoted") + "[^" + n + "].", "", "[^" + n + "]: " + can("footnote")}
		case 23:
			if other := g.linkable(p); other != "" {
				return []string{"Compare [" + can("link to a page") + "](" + other + "#" + can("link fragment") + ")."}
			}
		}
	}
}

// writePage renders a page's front matter (YAML or TOML) and body, with
// the mutations an author's editor or hand makes to a whole file.
func (g *canaryGen) writePage(p *canaryPage, front []frontEntry, body []string) {
	var b strings.Builder
	if g.c.pct(15) {
		b.WriteString("+++\n")
		for _, e := range front {
			v := e.value
			switch {
			case e.list != nil:
				items := make([]string, len(e.list))
				for i := range e.list {
					items[i] = `"` + e.list[i] + `"`
				}
				v = "[" + strings.Join(items, ", ") + "]"
				if len(items) == 1 && g.c.pct(30) {
					v = items[0]
				}
			case strings.HasPrefix(v, `"`), e.key == "date":
			default:
				v = `"` + v + `"`
			}
			b.WriteString(e.key + " = " + v + "\n")
		}
		b.WriteString("+++\n")
		g.s.note("%s: TOML front matter", p.path)
	} else {
		b.WriteString("---\n")
		for _, e := range front {
			v := e.value
			if e.list != nil {
				switch k := g.c.intn(10); {
				case k < 6:
					v = yamlList(e.list)
				case len(e.list) == 1 && k < 8:
					v = e.list[0]
				default:
					v = "\n  - " + strings.Join(e.list, "\n  - ")
				}
			}
			b.WriteString(e.key + ": " + v + "\n")
		}
		b.WriteString("---\n")
	}
	b.WriteString("\n")
	b.WriteString(strings.Join(body, "\n"))
	b.WriteString("\n")
	text := b.String()

	if p.whole && g.mutating(8) {
		// The audience key, mistaken.
		var bad string
		switch g.c.intn(4) {
		case 0:
			bad = "Audience"
		case 1:
			bad = "  audience"
		case 2:
			bad = "audince"
		default:
			bad = "audiences"
		}
		text = strings.Replace(text, "\naudience", "\n"+bad, 1)
		g.s.note("%s: audience key written %q", p.path, bad)
	}
	if g.on("file") && g.mutating(10) {
		var what string
		switch g.c.intn(10) {
		case 0:
			text, what = "\n"+text, "a blank line before the front matter"
		case 1:
			text, what = " \n"+text, "a line of spaces before the front matter"
		case 2:
			text, what = "\t\n"+text, "a tab line before the front matter"
		case 3:
			text, what = "<!-- draft -->\n"+text, "an HTML comment before the front matter"
		case 4:
			text, what = "\uFEFF"+text, "a byte-order mark"
		case 5:
			text, what = "\uFEFF\n"+text, "a byte-order mark and a blank line"
		case 6:
			text, what = strings.ReplaceAll(text, "\n", "\r\n"), "CRLF line endings"
		case 7:
			lines := strings.SplitAfter(text, "\n")
			for i := range lines {
				if g.c.pct(50) {
					lines[i] = strings.Replace(lines[i], "\n", choose(g.c, []string{"\r\n", "\r"}), 1)
				}
			}
			text, what = strings.Join(lines, ""), "mixed line endings"
		case 8:
			text, what = " "+text, "a space before the front matter"
		default:
			text, what = strings.Replace(text, "---\n", "--- \n", 1), "a trailing space on the opening delimiter"
		}
		g.s.note("%s: %s", p.path, what)
	}
	g.s.files[p.path] = text
	g.pages = append(g.pages, p)
}

// duplicate sometimes copies a page, as an author copying a file to start
// another does.
func (g *canaryGen) duplicate() {
	if !g.mutating(10) || len(g.pages) == 0 {
		return
	}
	p := choose(g.c, g.pages)
	if strings.HasSuffix(p.path, "index.md") {
		return
	}
	dst := strings.TrimSuffix(p.path, ".md") + "-copy.md"
	if g.c.pct(40) {
		dst = "content/" + g.name("copy") + ".md"
	}
	g.s.files[dst] = g.s.files[p.path]
	g.s.note("%s duplicated as %s", p.path, dst)
}

// corpusSite makes a site with internal/corpus, canaries on, and mutates
// some of its blocks' fences.
func (g *canaryGen) corpusSite(tb testing.TB, seed uint64) {
	g.s.corpus = true
	dir, err := os.MkdirTemp("", "canary-corpus-")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.RemoveAll(dir)
	opt := corpus.Options{Pages: 2 + g.c.intn(3), Seed: int64(seed % (1 << 62)), Sections: 2, Recipients: 3, Restricted: 1, Canaries: true}
	if err := corpus.Write(dir, opt); err != nil {
		tb.Fatal(err)
	}
	blocks, err := corpus.ReadBlocks(dir)
	if err != nil {
		tb.Fatal(err)
	}
	for _, b := range blocks {
		for _, c := range b.Canaries {
			g.s.canaries[strings.ToLower(c)] = fmt.Sprintf("%s:%d: corpus block", b.Page, b.Line)
		}
	}
	for _, sub := range []string{"content", "keys"} {
		tree, err := testtool.ReadTree(filepath.Join(dir, sub))
		if err != nil {
			tb.Fatal(err)
		}
		for p, data := range tree {
			g.s.files[sub+"/"+p] = string(data)
		}
	}
	g.s.files["conclave.toml"] = "title = \"Corpus\"\nbaseURL = \"https://corpus.example.org/\"\n"
	for p, data := range g.s.files {
		if strings.HasPrefix(p, "keys/") && strings.HasSuffix(p, ".pub") {
			g.s.people = append(g.s.people, strings.TrimSuffix(strings.TrimPrefix(p, "keys/"), ".pub"))
			for _, l := range strings.Split(data, "\n") {
				if strings.HasPrefix(l, "age1") {
					g.s.keys = append(g.s.keys, l)
				}
			}
		}
	}
	g.s.note("corpus %+v", opt)
	// Mutate fences, in a fixed order of pages.
	var pages []string
	for p := range g.s.files {
		if strings.HasSuffix(p, ".md") {
			pages = append(pages, p)
		}
	}
	sort.Strings(pages)
	for _, p := range pages {
		lines := strings.Split(g.s.files[p], "\n")
		open := -1
		for i := 0; i < len(lines); i++ {
			l := lines[i]
			switch {
			case strings.HasPrefix(l, "::: restricted"):
				open = i
			case l == ":::" && open >= 0:
				if g.on("fence") && g.mutating(30) {
					lines = g.mutateCorpusBlock(p, lines, open, i)
				}
				open = -1
			}
		}
		g.s.files[p] = strings.Join(lines, "\n")
	}
}

// mutateCorpusBlock changes the block of lines[open..close].
func (g *canaryGen) mutateCorpusBlock(p string, lines []string, open, close int) []string {
	k := g.c.intn(8)
	switch k {
	case 0:
		lines[open] = strings.Repeat(":", 1+g.c.intn(5)) + strings.TrimLeft(lines[open], ":")
	case 1:
		lines[close] = strings.Repeat(":", 1+g.c.intn(5))
	case 2:
		lines[open] = strings.Replace(lines[open], "restricted", choose(g.c, append([]string{"Restricted", "RESTRICTED"}, restrictedTypos...)), 1)
	case 3:
		n := 1 + g.c.intn(4)
		lines[open] = strings.Repeat(" ", n) + lines[open]
		lines[close] = strings.Repeat(" ", g.c.intn(5)) + lines[close]
	case 4:
		lines[close] = "" // no closing line
	case 5:
		for i := open; i <= close; i++ {
			if i == open || g.c.pct(70) {
				lines[i] = strings.TrimRight("> "+lines[i], " ")
			}
		}
	case 6:
		for i := open; i <= close; i++ {
			switch {
			case i == open:
				lines[i] = "- " + lines[i]
			case lines[i] != "":
				lines[i] = "  " + lines[i]
			}
		}
	default:
		lines[close] += choose(g.c, []string{" ", "\t", "  "})
	}
	g.s.note("%s:%d: corpus block mutated (%d)", p, open+1, k)
	return lines
}

// canaryResult is what one build of a site gave.
type canaryResult struct {
	err      error
	panicked string
	leaks    []string // canaries found in the output
	names    []string // recipient names or keys found in the output
}

// buildCanary builds the site at dir once, with the leak scan off if
// noScan, and checks its output.
func buildCanary(t *testing.T, s *canarySite, dir string, noScan bool) (res canaryResult) {
	t.Helper()
	prev := testOnlySkipLeakScan
	testOnlySkipLeakScan = noScan
	defer func() { testOnlySkipLeakScan = prev }()
	return buildCanaryWith(t, s, Options{Source: dir, Out: filepath.Join(t.TempDir(), "public")}, 1)
}

// buildCanaryCached builds s twice into one output with one cache key,
// and checks the second build.
func buildCanaryCached(t *testing.T, s *canarySite, dir string) canaryResult {
	t.Helper()
	return buildCanaryWith(t, s, Options{Source: dir, Out: filepath.Join(t.TempDir(), "public"), CacheKey: make([]byte, 32)}, 2)
}

// buildCanaryWith builds with opt, times times, and checks the output of
// the last build.
func buildCanaryWith(t *testing.T, s *canarySite, opt Options, times int) (res canaryResult) {
	t.Helper()
	out := opt.Out
	for range times {
		res = canaryResult{}
		func() {
			defer func() {
				if r := recover(); r != nil {
					res.panicked = fmt.Sprintf("%v\n%s", r, debug.Stack())
				}
			}()
			_, res.err = Run(opt)
		}()
		if res.panicked != "" {
			return res
		}
	}
	if res.err != nil {
		return res
	}
	tree := testtool.Tree(t, out)
	paths := make([]string, 0, len(tree))
	for p := range tree {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		res.leaks = append(res.leaks, findCanaries(s, "the file name "+p, []byte(p))...)
		res.leaks = append(res.leaks, findCanaries(s, p, tree[p])...)
		lower := bytes.ToLower(tree[p])
		for _, name := range s.people {
			if i := bytes.Index(lower, []byte(name)); i >= 0 {
				res.names = append(res.names, fmt.Sprintf("%s names recipient %s: %q", p, name, around(lower, i)))
			}
		}
		for _, k := range s.keys {
			if i := bytes.Index(lower, []byte(strings.ToLower(k))); i >= 0 {
				res.names = append(res.names, fmt.Sprintf("%s holds the key %s", p, k))
			}
		}
	}
	return res
}

var corpusCanary = regexp.MustCompile(corpus.CanaryPattern)

// findCanaries lists the canaries in data, in any case, and where the
// generator put them.
func findCanaries(s *canarySite, where string, data []byte) []string {
	lower := bytes.ToLower(data)
	var out []string
	for off := 0; len(out) < 5; {
		i := bytes.Index(lower[off:], []byte("canary"))
		if i < 0 {
			break
		}
		i += off
		off = i + 1
		start := max(0, i-2)
		tok := string(lower[start:min(len(lower), start+16)])
		src, ok := s.canaries[tok]
		if m := corpusCanary.Find(lower[i:]); !ok && m != nil {
			tok = string(m)
			src, ok = s.canaries[tok]
		}
		if !ok {
			src = "unknown: not a canary the generator placed"
		}
		out = append(out, fmt.Sprintf("%s holds %s (%s): %q", where, tok, src, around(lower, i)))
	}
	return out
}

func around(b []byte, i int) string {
	return string(b[max(0, i-50):min(len(b), i+50)])
}

// located matches a located error line.
var located = regexp.MustCompile(`(content/|keys/|conclave\.toml)[^\s:]*:[0-9]+`)

// unlocated returns the lines of err that name no file and line.
func unlocated(err error) []string {
	var out []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if !located.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// scanOnly reports whether every line of err is the leak scan's, and
// whether one of them calls the leak a bug in conclave (the others blame
// the author: a passage's text copied into a content file, which is
// published as it is).
func scanOnly(err error) (only, bug bool) {
	for _, l := range strings.Split(err.Error(), "\n") {
		if !strings.Contains(l, "the build was stopped and nothing was published") {
			return false, false
		}
		bug = bug || strings.Contains(l, "a bug in conclave")
	}
	return true, bug
}

// canaryStats counts outcomes over many sites.
type canaryStats struct {
	built, failed int
	problems      map[string]int
}

// checkCanarySite builds s twice (scan on, scan off) and returns the
// broken properties, each starting with its class in brackets.
func checkCanarySite(t *testing.T, s *canarySite, skip map[string]bool) (problems []string, built bool) {
	t.Helper()
	return checkCanary(t, s, skip, true)
}

// checkCanary is checkCanarySite; without both, it builds only with the
// scan off, and does not compare the two builds.
func checkCanary(t *testing.T, s *canarySite, skip map[string]bool, both bool) (problems []string, built bool) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "site")
	testtool.WriteSite(t, dir, s.files)
	// The generator's own check: every canary is in the sources.
	var all strings.Builder
	for p, data := range s.files {
		all.WriteString(strings.ToLower(p + "\n" + data + "\n"))
	}
	for c, where := range s.canaries {
		if !strings.Contains(all.String(), c) {
			t.Fatalf("generator: canary %s (%s) is not in the sources", c, where)
		}
	}

	type run struct {
		name string
		res  canaryResult
	}
	var runs []run
	var scanned canaryResult
	if both {
		scanned = buildCanary(t, s, dir, false)
		runs = append(runs, run{"scanned build", scanned})
	}
	raw := buildCanary(t, s, dir, true)
	runs = append(runs, run{"unscanned build", raw})
	var cached canaryResult
	if both {
		// A build with the caches of the one before: pages published
		// again from their records, packets from the seal cache, files
		// the last scan found clean not read again.
		cached = buildCanaryCached(t, s, dir)
		runs = append(runs, run{"cached build", cached})
	}
	if !both {
		scanned = raw
	}
	if *canaryVerbose {
		outcome := "built"
		if scanned.err != nil {
			outcome = "refused"
		}
		t.Logf("%s; generator notes:\n  %s", outcome, strings.Join(s.notes, "\n  "))
	}
	if *canaryVerbose && scanned.err != nil {
		t.Logf("refused (%s): %s", strings.Join(s.notes[:1], ""), firstLines(scanned.err.Error(), 4))
		if *canaryDump {
			t.Logf("notes:\n  %s\nsite:\n%s", strings.Join(s.notes, "\n  "), dumpCanary(s))
		}
	}
	for _, r := range runs {
		switch {
		case r.res.panicked != "":
			problems = append(problems, "[panic] "+r.name+" panicked: "+r.res.panicked)
		case r.res.err != nil:
			if bad := unlocated(r.res.err); len(bad) > 0 {
				problems = append(problems, "[unlocated] "+r.name+" failed with an error that names no file and line: "+strings.Join(bad, " | "))
			}
		default:
			if n := len(r.res.leaks); n > 0 {
				shown := r.res.leaks[:min(n, 3)]
				problems = append(problems, fmt.Sprintf("[leak] %s: restricted text in the output (%d finds):\n\t%s", r.name, n, strings.Join(shown, "\n\t")))
			}
			if !skip["recipients"] {
				for _, n := range r.res.names {
					problems = append(problems, "[recipient] "+r.name+": "+n)
				}
			}
		}
	}
	var byScan, scanBug bool
	if scanned.err != nil {
		byScan, scanBug = scanOnly(scanned.err)
	}
	switch {
	case !both:
	case scanned.panicked != "" || raw.panicked != "":
	case scanned.err == nil && len(raw.leaks) > 0:
		problems = append(problems, "[scan-missed] the scanned build succeeded, but the unscanned output holds restricted text: a redaction bug the scan does not catch")
	case byScan && scanBug && raw.err == nil && len(raw.leaks) == 0 && len(raw.names) == 0:
		problems = append(problems, "[scan-false-alarm] the scan stopped the build as a bug in conclave, but the unscanned output holds no canary and no recipient: "+scanned.err.Error())
	case (scanned.err == nil) != (raw.err == nil) && !byScan:
		problems = append(problems, fmt.Sprintf("[disagree] the scanned build gave %v, the unscanned one %v", scanned.err, raw.err))
	}
	if both && cached.panicked == "" && scanned.panicked == "" && (cached.err == nil) != (scanned.err == nil) {
		problems = append(problems, fmt.Sprintf("[cached-disagree] the cold build gave %v, the cached one %v", scanned.err, cached.err))
	}
	return problems, scanned.err == nil && scanned.panicked == ""
}

// reportCanary reports the problems of site s: with -canary.shrink, on a
// smaller site that fails the same way; with -canary.dump, with its files.
func reportCanary(t *testing.T, s *canarySite, problems []string, skip map[string]bool) {
	t.Helper()
	for _, p := range problems {
		t.Error(firstLines(p, 6))
	}
	t.Logf("generator notes:\n  %s", strings.Join(s.notes, "\n  "))
	if *canaryShrink {
		small := shrinkCanary(t, s, problemKey(problems[0]), skip)
		t.Logf("a smaller site that fails the same way (%s):\n%s", problemKey(problems[0]), dumpCanary(small))
		ps, _ := checkCanarySite(t, small, skip)
		for _, p := range ps {
			t.Logf("  %s", firstLines(p, 3))
		}
	} else if *canaryDump {
		t.Logf("site:\n%s", dumpCanary(s))
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines[n] = "…"
	}
	return strings.Join(lines, "\n")
}

func problemClass(p string) string {
	if i := strings.IndexByte(p, ']'); strings.HasPrefix(p, "[") && i > 0 {
		return p[:i+1]
	}
	return p
}

// problemKey tells problems apart for shrinking: their class and, for a
// leak, the first canary; for an unlocated error, the start of its text.
func problemKey(p string) string {
	class := problemClass(p)
	switch class {
	case "[leak]":
		if m := regexp.MustCompile(`(?i)zqcanary[0-9a-f]{8}|canary-[0-9a-f-]+`).FindString(p); m != "" {
			return class + " " + strings.ToLower(m)
		}
	case "[unlocated]":
		if _, msg, ok := strings.Cut(p, "line: "); ok {
			msg = regexp.MustCompile(`[0-9]+`).ReplaceAllString(msg, "N")
			return class + " " + msg[:min(len(msg), 30)]
		}
	}
	return class
}

func dumpCanary(s *canarySite) string {
	paths := make([]string, 0, len(s.files))
	for p := range s.files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		if strings.HasPrefix(p, "keys/") && strings.HasSuffix(p, ".pub") {
			fmt.Fprintf(&b, "=== %s (a public key)\n", p)
			continue
		}
		fmt.Fprintf(&b, "=== %s\n%q\n", p, s.files[p])
	}
	return b.String()
}

// shrinkCanary removes files, then runs of lines, from s while the site
// still has a problem of the class given.
func shrinkCanary(t *testing.T, s *canarySite, key string, skip map[string]bool) *canarySite {
	t.Helper()
	fails := func(c *canarySite) bool {
		class := problemClass(key)
		ps, _ := checkCanary(t, c, skip, strings.HasPrefix(class, "[scan") || class == "[disagree]")
		for _, p := range ps {
			if problemKey(p) == key {
				return true
			}
		}
		return false
	}
	cur := &canarySite{files: map[string]string{}, canaries: map[string]string{}, people: s.people, keys: s.keys}
	for k, v := range s.files {
		cur.files[k] = v
	}
	keepCanaries := func(c *canarySite) {
		// Only canaries still in the sources are checked for.
		var all strings.Builder
		for p, data := range c.files {
			all.WriteString(strings.ToLower(p + "\n" + data + "\n"))
		}
		for tok, where := range s.canaries {
			if strings.Contains(all.String(), tok) {
				c.canaries[tok] = where
			}
		}
	}
	try := func(files map[string]string) bool {
		if orphans(files) {
			return false
		}
		c := &canarySite{files: files, canaries: map[string]string{}, people: s.people, keys: s.keys}
		keepCanaries(c)
		if fails(c) {
			cur = c
			return true
		}
		return false
	}
	keepCanaries(cur)
	for pass, changed := 0, true; changed && pass < 3; pass++ {
		changed = false
		paths := make([]string, 0, len(cur.files))
		for p := range cur.files {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			if p == "conclave.toml" || p == "keys/groups.toml" {
				continue
			}
			files := cloneFiles(cur.files)
			delete(files, p)
			if try(files) {
				changed = true
			}
		}
		for _, p := range paths {
			if _, ok := cur.files[p]; !ok || !strings.HasSuffix(p, ".md") {
				continue
			}
			for chunk := 16; chunk >= 1; chunk /= 2 {
				for i := 0; ; {
					lines := strings.SplitAfter(cur.files[p], "\n")
					if i >= len(lines) {
						break
					}
					end := min(len(lines), i+chunk)
					if slices.ContainsFunc(lines[i:end], shrinkKeeps) {
						i += chunk
						continue
					}
					files := cloneFiles(cur.files)
					files[p] = strings.Join(append(slices.Clone(lines[:i]), lines[end:]...), "")
					if files[p] != cur.files[p] && try(files) {
						changed = true
					} else {
						i += chunk
					}
				}
			}
		}
	}
	return cur
}

// orphans reports whether a file with a canary in its path is left with
// nothing that makes it restricted: no page names it, and no index.md
// with an audience sits in its folder or above. Shrinking never makes
// one: it would then be public, and published on purpose.
func orphans(files map[string]string) bool {
	for p := range files {
		if strings.HasSuffix(p, ".md") || !strings.Contains(strings.ToLower(p), "canary") {
			continue
		}
		held := false
		for q, data := range files {
			if strings.HasSuffix(q, ".md") && strings.Contains(data, path.Base(p)) {
				held = true
				break
			}
		}
		for dir := path.Dir(p); !held && dir != "content" && dir != "."; dir = path.Dir(dir) {
			held = strings.Contains(strings.ToLower(files[dir+"/index.md"]), "audience")
		}
		if !held {
			return true
		}
	}
	return false
}

// shrinkKeeps reports the lines that shrinking keeps: those that say
// what is restricted (front matter delimiters, audience keys, fences).
// Without them, restricted text would become public text, and a "leak"
// of it no bug.
func shrinkKeeps(line string) bool {
	l := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "\uFEFF>- \t"))
	return l == "---" || l == "+++" || strings.Contains(strings.ToLower(l), "audience") || strings.HasPrefix(l, ":")
}

func cloneFiles(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestCanaryProperty checks the property over a fixed set of generated
// sites.
func TestCanaryProperty(t *testing.T) {
	skip := canarySkips(t)
	st := canaryStats{problems: map[string]int{}}
	seeds := *canarySeedCount
	if testing.Short() {
		seeds = min(seeds, 30)
	}
	if *canaryFind != "" {
		re, err := regexp.Compile(*canaryFind)
		if err != nil {
			t.Fatal(err)
		}
		var found []uint64
		for seed := range uint64(seeds) {
			site := genCanarySite(t, seed, nil, skip)
			text := strings.Join(site.notes, "\n") + "\n" + dumpCanary(site)
			if re.MatchString(text) {
				found = append(found, seed)
			}
		}
		t.Logf("%d of %d seeds match %q: %v", len(found), seeds, *canaryFind, found[:min(len(found), 40)])
		return
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			s := genCanarySite(t, seed, nil, skip)
			problems, built := checkCanarySite(t, s, skip)
			if built {
				st.built++
			} else {
				st.failed++
			}
			seen := map[string]bool{}
			for _, p := range problems {
				if c := problemClass(p); !seen[c] {
					st.problems[c]++
					seen[c] = true
				}
			}
			if len(problems) > 0 {
				reportCanary(t, s, problems, skip)
			}
		})
	}
	t.Logf("%d sites: %d built, %d refused; sites with problems, by class: %v", seeds, st.built, st.failed, st.problems)
	// The property must have had something to check: many sites build.
	if seeds >= 50 && st.built < seeds/4 {
		t.Errorf("only %d of %d generated sites built: the generator tests mostly refusals", st.built, seeds)
	}
}

// canaryFuzzSeeds are representative inputs, found with -canary.find:
// seeds alone (the random stream chooses), then bytes that steer the
// first choices (mistake level, risky features, corpus or not, ...).
var canaryFuzzSeeds = []struct {
	seed uint64
	data []byte
}{
	{0, nil},                          // blocks nested two deep
	{1, nil},                          // a section of restricted pages with _index.md; <details>
	{8, nil},                          // attachments: markdown and raw HTML links, bundle file linked with raw HTML
	{11, nil},                         // block in a list item; a block right after public text
	{13, nil},                         // footnote in restricted text
	{18, nil},                         // audience key misspelt; page with no title
	{22, nil},                         // mixed line endings
	{23, nil},                         // a corpus site with mutated fences
	{24, nil},                         // block in a quote on some lines
	{27, nil},                         // block in a footnote definition
	{34, nil},                         // restricted bundle with an unlinked file
	{47, nil},                         // a duplicated page
	{48, nil},                         // CRLF; reference definition inside a block
	{56, nil},                         // a nested block that widens its audience
	{67, nil},                         // a section of restricted pages without _index.md
	{111, nil},                        // an HTML comment before the front matter
	{113, nil},                        // byte-order mark; list item with a bad continuation
	{140, nil},                        // duplicated page; bad continuation
	{205, nil},                        // bundle file linked with raw HTML
	{260, nil},                        // restricted-only section without _index.md
	{0, []byte{0, 99, 99, 99, 99, 5}}, // no mistakes, no risky feature, corpus
	{1, []byte{9, 0, 0, 0, 0, 99, 9}}, // most mistakes, every risky feature
	{2, bytes.Repeat([]byte{50}, 32)}, // middle of every range
	{3, bytes.Repeat([]byte{7, 200, 13}, 40)},
}

// FuzzCanarySite checks the property on sites generated from the fuzzer's
// seed and bytes.
func FuzzCanarySite(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzCanarySite"))
	if err != nil && !os.IsNotExist(err) {
		f.Fatal(err)
	}
	if len(canaryFuzzSeeds) < 20 || len(canaryFuzzSeeds)+len(entries) == 0 {
		f.Fatalf("FuzzCanarySite has %d seeds (and %d seed files): it needs at least 20", len(canaryFuzzSeeds), len(entries))
	}
	for _, s := range canaryFuzzSeeds {
		f.Add(s.seed, s.data)
	}
	skip := canarySkips(f)
	f.Fuzz(func(t *testing.T, seed uint64, data []byte) {
		if len(data) > 4096 {
			data = data[:4096]
		}
		s := genCanarySite(t, seed, data, skip)
		if problems, _ := checkCanarySite(t, s, skip); len(problems) > 0 {
			reportCanary(t, s, problems, skip)
		}
	})
}

// hashPct is true for p percent of the strings s, by a hash of s: a
// choice that draws nothing from the generator's random streams, so that
// the sites of the seeds kept in testdata stay the sites they were.
func hashPct(s string, p int) bool {
	h := fnv.New32a()
	h.Write([]byte(s))
	return int(h.Sum32()%100) < p
}
