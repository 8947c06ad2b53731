package corpus

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The second seeds of the PCG streams, ASCII names. Keys and blocks draw
// from streams of their own, so that a corpus without recipients is
// byte for byte what it was before they existed, and a corpus with them
// has the same public text.
const (
	streamMain   = 0x636f72707573 // "corpus"
	streamKeys   = 0x6b657973     // "keys"
	streamBlocks = 0x626c6f636b73 // "blocks"
	streamCanary = 0x63616e617279 // "canary"
)

// BlocksFile is the listing of restricted blocks that [Write] puts in DIR.
const BlocksFile = "blocks.json"

// CanaryPattern is a regular expression matching every canary token.
// Tokens are lower case, so that they survive the making of heading IDs.
const CanaryPattern = `canary-[0-9]{5,}-[1-3]-[0-9]{2}-[0-9a-f]{8}`

// Block describes one restricted block of a corpus, as listed in
// DIR/blocks.json.
type Block struct {
	// Page is the briefing's path from DIR, with slashes, such as
	// "content/section-2/page-00042.md".
	Page string `json:"page"`
	// Line and End are the 1-based lines of the opening and closing fences.
	Line int `json:"line"`
	End  int `json:"end"`
	// To is the audience as written after "to=": groups, then recipients.
	To []string `json:"to"`
	// Recipients is To with every group expanded, sorted.
	Recipients []string `json:"recipients"`
	// TLP is the block's label as written after "tlp=".
	TLP string `json:"tlp"`
	// Heading is the text of the block's level-3 heading.
	Heading string `json:"heading"`
	// Canaries lists the block's canary tokens, one per text element in
	// order, if Options.Canaries was set.
	Canaries []string `json:"canaries,omitempty"`
}

// ReadBlocks reads the listing that [Write] wrote in dir: every restricted
// block, in the order of the briefings' numbers, then of lines.
func ReadBlocks(dir string) ([]Block, error) {
	data, err := os.ReadFile(filepath.Join(dir, BlocksFile))
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	var blocks []Block
	if err := json.Unmarshal(data, &blocks); err != nil {
		return nil, fmt.Errorf("corpus: %s: %w", BlocksFile, err)
	}
	return blocks, nil
}

// blocksFile returns the listing: a JSON array, one block a line.
func blocksFile(blocks []Block) []byte {
	var b strings.Builder
	b.WriteString("[")
	for i, bl := range blocks {
		if i > 0 {
			b.WriteString(",")
		}
		data, err := json.Marshal(bl)
		if err != nil {
			panic("corpus: " + err.Error())
		}
		b.WriteString("\n")
		b.Write(data)
	}
	b.WriteString("\n]\n")
	return []byte(b.String())
}

// TLP labels from the least to the most restrictive.
var tlpOrder = []string{"clear", "green", "amber", "amber+strict", "red"}

// audience is one to= list a block may carry.
type audience struct {
	to         []string
	recipients []string
	tlp        string
}

// The kinds of audience, with the share of blocks each gets.
const (
	audGroup     = iota // one group, amber: half the blocks
	audTwoGroups        // two groups, amber
	audGroupPlus        // a group and one or two recipients, amber+strict
	audPeople           // one to three recipients, red
	audKinds
)

var audShares = [audKinds]int{50, 15, 15, 20}

// audiences is the pool blocks draw their audience from: as on a real
// site, a few tens to a few hundred distinct audiences, some used far more
// often than others.
type audiences [audKinds][]*audience

func newAudiences(r *rand.Rand, k *keyring) *audiences {
	var a audiences
	seen := map[string]bool{}
	add := func(kind int, to []string, tlp string) bool {
		key := strings.Join(to, ",")
		if seen[key] {
			return false
		}
		seen[key] = true
		var rs []string
		for _, name := range to {
			rs = append(rs, k.expand[name]...)
		}
		slices.Sort(rs)
		a[kind] = append(a[kind], &audience{to: to, recipients: slices.Compact(rs), tlp: tlp})
		return true
	}
	groups := k.groups[:len(k.groups)-1] // g-NN, without members
	n, ng := len(k.recipients), len(groups)

	for _, g := range groups {
		add(audGroup, []string{g.name}, "amber")
	}
	add(audGroup, []string{membersGroup}, "amber")

	pairs := min(ng*(ng-1)/2, ng+2)
	for len(a[audTwoGroups]) < pairs {
		i, j := r.IntN(ng), r.IntN(ng-1)
		if j >= i {
			j++
		}
		add(audTwoGroups, sortedNames(groups[i].name, groups[j].name), "amber")
	}

	// Bounded tries: a small keyring has few distinct combinations.
	want := min(max(n/8, 1), 60)
	for try := 0; len(a[audGroupPlus]) < want && try < 20*want; try++ {
		g := groups[r.IntN(ng)]
		to := []string{g.name}
		for range 1 + r.IntN(2) {
			rc := k.recipients[r.IntN(n)].name
			if !slices.Contains(g.members, rc) && !slices.Contains(to, rc) {
				to = append(to, rc)
			}
		}
		if len(to) > 1 {
			add(audGroupPlus, append(to[:1], sortedNames(to[1:]...)...), "amber+strict")
		}
	}
	want = min(max(n/4, 1), 150)
	for try := 0; len(a[audPeople]) < want && try < 20*want; try++ {
		var to []string
		for range 1 + r.IntN(3) {
			if rc := k.recipients[r.IntN(n)].name; !slices.Contains(to, rc) {
				to = append(to, rc)
			}
		}
		add(audPeople, sortedNames(to...), "red")
	}
	return &a
}

func sortedNames(names ...string) []string {
	s := slices.Clone(names)
	slices.Sort(s)
	return s
}

// pick draws an audience: first its kind, then one of that kind, the first
// ones of each kind more often than the last.
func (a *audiences) pick(r *rand.Rand) *audience {
	x, kind := r.IntN(100), audKinds-1
	for k, share := range audShares {
		if x < share {
			kind = k
			break
		}
		x -= share
	}
	for len(a[kind]) == 0 {
		// A small keyring may have a single group, or no recipient
		// outside one: fall back to an audience of one group.
		kind--
	}
	u := r.Float64()
	return a[kind][int(u*u*float64(len(a[kind])))]
}

// planBlocks chooses the briefings with restricted blocks, exactly
// Restricted of them rounded, and each block's audience, and raises those
// briefings' TLP label to their strictest block's.
func (g *gen) planBlocks(opt Options) {
	r := g.rb
	pool := newAudiences(r, g.keys)
	n := int(opt.Restricted*float64(len(g.pages)) + 0.5)
	chosen := r.Perm(len(g.pages))[:n]
	slices.Sort(chosen)
	for _, i := range chosen {
		p := g.pages[i]
		for range 1 + r.IntN(3) {
			a := pool.pick(r)
			p.blocks = append(p.blocks, a)
			if slices.Index(tlpOrder, a.tlp) > slices.Index(tlpOrder, p.tlp) {
				p.tlp = a.tlp
			}
		}
	}
}

// restrict inserts p's blocks into body, a briefing's body as written
// without them, and lists them; startLine is the file line body begins on.
// Blocks go before a heading or a paragraph that follows a blank line,
// never before the body's first heading, inside a list, table or code
// block, or among footnote definitions; or after the last paragraph.
func (g *gen) restrict(p *page, body string, startLine int) string {
	lines := strings.Split(body, "\n") // the last one is empty
	var cands []int
	inCode, prev := false, ""
	for i, line := range lines {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
			prev = line
			continue
		}
		if inCode || line == "" {
			continue
		}
		if i > 1 && lines[i-1] == "" && (strings.HasPrefix(line, "## ") || strings.HasPrefix(line, "### ") || isParagraph(line)) {
			cands = append(cands, i)
		}
		prev = line
	}
	if !strings.HasPrefix(prev, "[^") {
		cands = append(cands, len(lines)-1)
	}

	// Positions are drawn without repeats while there are enough; two
	// blocks may otherwise follow each other.
	r := g.rb
	var at []int
	for i, j := range r.Perm(len(cands)) {
		if i == len(p.blocks) {
			break
		}
		at = append(at, cands[j])
	}
	for len(at) < len(p.blocks) {
		at = append(at, cands[r.IntN(len(cands))])
	}
	slices.Sort(at)

	var b strings.Builder
	b.Grow(len(body) + 1500*len(p.blocks))
	line := startLine
	next := 0
	for i, l := range lines {
		for next < len(at) && at[next] == i {
			if i == len(lines)-1 {
				b.WriteString("\n") // a blank line after the body's last one
				line++
			}
			text, info := g.restrictedBlock(p, next+1, p.blocks[next])
			info.Line = line
			line += strings.Count(text, "\n")
			info.End = line - 2
			g.listing = append(g.listing, info)
			b.WriteString(text)
			next++
		}
		b.WriteString(l)
		if i < len(lines)-1 {
			b.WriteString("\n")
			line++
		}
	}
	// Every block ends in a blank line; a file ends in one newline.
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// isParagraph reports whether a line outside code starts a paragraph
// rather than a heading, list item, table row or footnote definition.
func isParagraph(line string) bool {
	if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "- ") || strings.HasPrefix(line, "|") || strings.HasPrefix(line, "[^") {
		return false
	}
	i := 0
	for i < len(line) && '0' <= line[i] && line[i] <= '9' {
		i++
	}
	return i == 0 || !strings.HasPrefix(line[i:], ". ")
}

// Blocks have blockMin to blockMax words, not counting fences and canaries.
const (
	blockMin = 40
	blockMax = 250
)

// restrictedBlock returns the n-th restricted block of p, ending in a
// blank line, and its listing without line numbers. It draws from the
// blocks stream, and from the canary stream for canaries only, so that a
// corpus with canaries is the same corpus with tokens added.
func (g *gen) restrictedBlock(p *page, n int, a *audience) (string, Block) {
	saved := g.r
	g.r = g.rb // for g.sentence and g.slot
	defer func() { g.r = saved }()
	r := g.r

	info := Block{
		Page:       "content/" + p.rel,
		To:         a.to,
		Recipients: a.recipients,
		TLP:        a.tlp,
	}
	elem := 0
	canary := func() string {
		if !g.canaries {
			return ""
		}
		elem++
		c := fmt.Sprintf("canary-%05d-%d-%02d-%08x", p.num, n, elem, g.rc.Uint32())
		info.Canaries = append(info.Canaries, c)
		return " " + c
	}

	var b strings.Builder
	fmt.Fprintf(&b, "::: restricted to=%s tlp=%s\n", strings.Join(a.to, ","), a.tlp)
	info.Heading = pick(r, blockHeadings)
	words := countWords(info.Heading)
	info.Heading += canary()
	fmt.Fprintf(&b, "### %s\n\n", info.Heading)

	// Each element is written only if it keeps the block under blockMax.
	write := func(e element) {
		if w := e.words(); words+w <= blockMax {
			words += w
			e.write(&b, canary)
		}
	}
	src := &sections[pick(r, blockSources)]
	target := 50 + r.IntN(151)
	write(g.blockParagraph(src))
	if r.IntN(3) == 0 {
		write(g.blockList(src))
	}
	if r.IntN(4) == 0 {
		write(g.blockCode())
	}
	if r.IntN(4) == 0 {
		write(g.blockTable())
	}
	if words < target {
		write(g.blockParagraph(src))
	}
	for words < blockMin {
		write(element{kind: elemParagraph, lines: []string{g.sentence(src.sentences)}})
	}
	b.WriteString(":::\n\n")
	return b.String(), info
}

// element is a paragraph, list, table or code block of a restricted block.
type element struct {
	kind    int
	lines   []string // without canaries; for code, without its fences
	lang    string   // for code
	comment string   // for code: the language's comment marker
}

const (
	elemParagraph = iota
	elemList
	elemTable // lines[1] is the delimiter row
	elemCode
)

// words counts the element's words: a table's and a list's, without
// their markup.
func (e *element) words() int {
	n := 0
	for i, l := range e.lines {
		switch {
		case e.kind == elemTable && i == 1:
		case e.kind == elemTable:
			n += countWords(strings.ReplaceAll(l, "|", " "))
		case e.kind == elemList:
			n += countWords(strings.TrimPrefix(l, "- "))
		default:
			n += countWords(l)
		}
	}
	return n
}

// write writes the element and a blank line, with canary() after every
// text: a paragraph, a list item, a table cell, a line of code (in a
// comment).
func (e *element) write(b *strings.Builder, canary func() string) {
	if e.kind == elemCode {
		fmt.Fprintf(b, "```%s\n", e.lang)
	}
	for i, l := range e.lines {
		switch {
		case e.kind == elemTable && i == 1:
		case e.kind == elemTable:
			cells := strings.Split(strings.TrimSuffix(strings.TrimPrefix(l, "| "), " |"), " | ")
			for j := range cells {
				cells[j] += canary()
			}
			l = "| " + strings.Join(cells, " | ") + " |"
		case e.kind == elemCode:
			if c := canary(); c != "" {
				l += " " + e.comment + c
			}
		default:
			l += canary()
		}
		b.WriteString(l)
		b.WriteString("\n")
	}
	if e.kind == elemCode {
		b.WriteString("```\n")
	}
	b.WriteString("\n")
}

// blockParagraph returns one to three sentences from src.
func (g *gen) blockParagraph(src *section) element {
	sents := make([]string, 1+g.r.IntN(3))
	for i := range sents {
		sents[i] = g.sentence(src.sentences)
	}
	return element{kind: elemParagraph, lines: []string{strings.Join(sents, " ")}}
}

// blockList returns two to four bullet items from src.
func (g *gen) blockList(src *section) element {
	items := make([]string, 2+g.r.IntN(3))
	for i := range items {
		items[i] = "- " + g.sentence(src.sentences)
	}
	return element{kind: elemList, lines: items}
}

// blockCode returns a short fenced code block.
func (g *gen) blockCode() element {
	c := pick(g.r, blockCode)
	e := element{kind: elemCode, lang: c.lang, comment: "#", lines: strings.Split(g.expand(c.text), "\n")}
	if c.lang == "go" || c.lang == "c" {
		e.comment = "//"
	}
	return e
}

// blockTable returns a small two-column table.
func (g *gen) blockTable() element {
	r := g.r
	var rows []string
	switch r.IntN(3) {
	case 0:
		rows = []string{"| Indicator | Type |", "| --- | --- |"}
		for range 2 + r.IntN(3) {
			switch r.IntN(3) {
			case 0:
				rows = append(rows, fmt.Sprintf("| `198.51.100.%d` | %s |", 1+r.IntN(254), pick(r, []string{"Scanning host", "Command and control", "Exfiltration server"})))
			case 1:
				rows = append(rows, fmt.Sprintf("| `%s-%d.example.net` | Domain |", g.slot("bin"), r.IntN(100)))
			default:
				rows = append(rows, fmt.Sprintf("| `%016x` | Implant hash, truncated |", r.Uint64()))
			}
		}
	case 1:
		rows = []string{"| Organisation | Role |", "| --- | --- |"}
		for _, i := range r.Perm(len(blockRoles))[:2+r.IntN(3)] {
			rows = append(rows, fmt.Sprintf("| %s | %s |", capitalize(pick(r, orgs)), blockRoles[i]))
		}
	default:
		rows = []string{"| Sector | Members affected |", "| --- | ---: |"}
		for _, i := range r.Perm(len(blockSectors))[:2+r.IntN(3)] {
			rows = append(rows, fmt.Sprintf("| %s | %d |", blockSectors[i], 1+r.IntN(20)))
		}
	}
	return element{kind: elemTable, lines: rows}
}
