package corpus

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// feature is something a briefing has once, placed in one of its sections.
type feature int

const (
	featTable    feature = iota // a GFM table
	featCode                    // a fenced code block
	featTasks                   // a task list
	featLink                    // a sentence linking to another briefing
	featFootnote                // a footnote reference and its definition
	featAutolink                // a sentence with an external URL
)

// allSentences is every section's sentences: the pool a long section
// draws from once its own is used up.
var allSentences = func() []string {
	all := slices.Clone(summarySection.sentences)
	for _, s := range sections {
		all = append(all, s.sentences...)
	}
	return all
}()

// body writes a briefing's markdown: a summary section, then some of the
// other kinds of section in their fixed order, long enough together to
// reach a drawn word count.
func (g *gen) body(b *strings.Builder) {
	r := g.r
	target := g.wordTarget()
	n := min(max(int(math.Round(float64(target)/170)), 2), secCount+1)
	kinds := r.Perm(secCount)[:n-1]
	slices.Sort(kinds)

	// feats[i] holds the features of the i-th section, 0 being the summary.
	feats := make([][]feature, n)
	place := func(f feature, prefs ...int) {
		var cands []int
		for i, k := range kinds {
			if slices.Contains(prefs, k) {
				cands = append(cands, i+1)
			}
		}
		pos := r.IntN(n)
		if len(cands) > 0 {
			pos = pick(r, cands)
		} else if len(prefs) > 0 {
			pos = 1 + r.IntN(n-1)
		}
		feats[pos] = append(feats[pos], f)
	}
	if r.IntN(2) == 0 {
		place(featTable, secAffected, secTimeline, secTechnical, secExploitation)
	}
	if r.IntN(10) < 4 {
		place(featCode, secDetection, secMitigation, secTechnical)
	}
	if r.IntN(4) == 0 {
		place(featTasks, secMembers, secMitigation)
	}
	if len(g.pages) > 1 {
		for range 1 + r.IntN(3) {
			place(featLink)
		}
	}
	if r.IntN(4) == 0 {
		for range 1 + r.IntN(2) {
			place(featFootnote)
		}
	}
	if r.IntN(10) < 3 {
		place(featAutolink)
	}

	// Each section gets an equal share of the words still to write, so
	// that one section's overshoot shortens the next ones.
	var notes []string
	words := 0
	for i := range n {
		s, kind := &summarySection, -1
		if i > 0 {
			kind = kinds[i-1]
			s = &sections[kind]
		}
		words += g.section(b, s, kind, (target-words)/(n-i), feats[i], &notes)
	}
	for words < minWords {
		words += g.paragraph(b, allSentences, nil)
	}
	if len(notes) > 0 {
		for i, note := range notes {
			fmt.Fprintf(b, "[^%d]: %s\n", i+1, note)
		}
		b.WriteString("\n")
	}
	// Every block ends in a blank line; a file ends in one newline.
	trimmed := strings.TrimRight(b.String(), "\n") + "\n"
	b.Reset()
	b.WriteString(trimmed)
}

// section writes one level-2 section of about budget words and returns
// its word count. Inline features go into its first paragraph, block
// features after it.
func (g *gen) section(b *strings.Builder, s *section, kind, budget int, feats []feature, notes *[]string) int {
	r := g.r
	fmt.Fprintf(b, "## %s\n\n", pick(r, s.headings))

	var extras []string
	var blocks []feature
	for _, f := range feats {
		switch f {
		case featLink:
			g.link = g.linkTo()
			extras = append(extras, g.expand(pick(r, linkTemplates)))
		case featAutolink:
			extras = append(extras, g.expand(pick(r, autolinkTemplates)))
		case featFootnote:
			*notes = append(*notes, capitalize(g.expand(pick(r, footnoteTemplates))))
			extras = append(extras, fmt.Sprintf("[^%d]", len(*notes)))
		default:
			blocks = append(blocks, f)
		}
	}

	var subs []string
	if len(s.subs) > 0 && budget >= 200 {
		for _, i := range r.Perm(len(s.subs))[:2] {
			subs = append(subs, s.subs[i])
		}
	}
	parts := max(len(subs), 1)
	numbered := false
	total := 0
	for part := range parts {
		if subs != nil {
			fmt.Fprintf(b, "### %s\n\n", subs[part])
		}
		words := 0
		if part == 0 {
			words += g.paragraph(b, s.sentences, extras)
			for _, f := range blocks {
				words += g.block(b, f, kind)
			}
		} else {
			words += g.paragraph(b, s.sentences, nil)
		}
		for budget/parts-words > 40 {
			x := r.IntN(100)
			switch {
			case kind == secMitigation && !numbered && x < 30:
				numbered = true
				words += g.list(b, steps, true)
			case x < 20 || kind == secQuestions && x < 60:
				words += g.list(b, s.sentences, false)
			default:
				words += g.paragraph(b, s.sentences, nil)
			}
		}
		total += words
	}
	return total
}

// paragraph writes two to five sentences from list, with extras mixed in
// (a footnote reference is attached to the sentence before it), and
// returns its word count.
func (g *gen) paragraph(b *strings.Builder, list []string, extras []string) int {
	r := g.r
	sents := make([]string, 2+r.IntN(4))
	for i := range sents {
		sents[i] = g.sentence(list)
	}
	for _, e := range extras {
		if strings.HasPrefix(e, "[^") {
			i := r.IntN(len(sents))
			sents[i] += e
		} else {
			i := 1 + r.IntN(len(sents))
			sents = slices.Insert(sents, i, e)
		}
	}
	text := strings.Join(sents, " ")
	if r.IntN(6) == 0 {
		text = strings.Replace(text, g.cur.t.product, "**"+g.cur.t.product+"**", 1)
	} else if r.IntN(8) == 0 {
		text = strings.Replace(text, g.cur.t.v.name, "*"+g.cur.t.v.name+"*", 1)
	}
	b.WriteString(text)
	b.WriteString("\n\n")
	return countWords(text)
}

// list writes three to six items drawn from items, numbered if asked, and
// returns its word count.
func (g *gen) list(b *strings.Builder, items []string, numbered bool) int {
	r := g.r
	words := 0
	for i := range 3 + r.IntN(4) {
		item := g.sentence(items)
		words += countWords(item)
		if numbered {
			fmt.Fprintf(b, "%d. %s\n", i+1, item)
		} else {
			fmt.Fprintf(b, "- %s\n", item)
		}
	}
	b.WriteString("\n")
	return words
}

// sentence draws a sentence template not yet used on this page, from list
// if it has one left and from every section's sentences if not, and fills
// its slots.
func (g *gen) sentence(list []string) string {
	for _, pool := range [][]string{list, allSentences} {
		start := g.r.IntN(len(pool))
		for i := range pool {
			t := pool[(start+i)%len(pool)]
			if !g.used[t] {
				g.used[t] = true
				return capitalize(g.expand(t))
			}
		}
	}
	return capitalize(g.expand(pick(g.r, list)))
}

// linkTo returns a markdown link to another briefing, chosen at random.
func (g *gen) linkTo() string {
	i := g.r.IntN(len(g.pages) - 1)
	if i >= g.cur.num-1 {
		i++
	}
	to := g.pages[i]
	text := to.title
	if g.r.IntN(3) == 0 {
		text = pick(g.r, []string{"our earlier briefing", "the briefing on " + to.t.product, "that case", to.t.cve})
	}
	return fmt.Sprintf("[%s](%s)", text, relLink(g.cur, to))
}

// block writes a block feature and returns its word count.
func (g *gen) block(b *strings.Builder, f feature, kind int) int {
	switch f {
	case featTable:
		return g.table(b, kind)
	case featCode:
		return g.code(b)
	case featTasks:
		return g.tasks(b)
	}
	panic("corpus: not a block feature")
}

var codeLeads = []string{
	"A minimal check looks like this:",
	"For example:",
	"The relevant code, simplified:",
	"The following snippet shows the idea:",
	"One way to do this:",
}

func (g *gen) code(b *strings.Builder) int {
	lang := pick(g.r, codeLangs)
	lead := pick(g.r, codeLeads)
	fmt.Fprintf(b, "%s\n\n```%s\n%s\n```\n\n", lead, lang, g.expand(pick(g.r, codeBlocks[lang])))
	return countWords(lead)
}

func (g *gen) tasks(b *strings.Builder) int {
	r := g.r
	words := 0
	for _, i := range r.Perm(len(tasks))[:3+r.IntN(4)] {
		item := capitalize(g.expand(tasks[i]))
		words += countWords(item)
		box := " "
		if r.IntN(10) < 3 {
			box = "x"
		}
		fmt.Fprintf(b, "- [%s] %s\n", box, item)
	}
	b.WriteString("\n")
	return words
}

// table writes a GFM table suited to the section it is in.
func (g *gen) table(b *strings.Builder, kind int) int {
	r, t := g.r, &g.cur.t
	var rows [][]string
	switch kind {
	case secTimeline:
		rows = [][]string{{"Date", "Event"}, {":---", ":---"}}
		events := []string{
			"Report received by the {vendor} PSIRT",
			"{vendor} confirms the issue",
			"{cve} assigned",
			"Downstream vendors notified",
			"Fixed release {fixed} published",
			"Advisory {advid} published",
			"Public proof of concept",
			"First exploitation attempts seen by {org}",
		}
		back := 10 + r.IntN(40)
		for _, i := range r.Perm(len(events))[:4+r.IntN(4)] {
			rows = append(rows, []string{"", events[i]})
		}
		slices.SortStableFunc(rows[2:], func(a, b []string) int {
			return slices.Index(events, a[1]) - slices.Index(events, b[1])
		})
		for i := len(rows) - 1; i >= 2; i-- {
			rows[i][0] = g.cur.day.AddDate(0, 0, -back).Format("2006-01-02")
			back += 1 + r.IntN(30)
		}
	case secAffected:
		rows = [][]string{{"Product", "Affected versions", "Fixed in"}, {"---", "---", "---"}}
		editions := []string{"appliance", "virtual edition", "cloud edition", "client for Windows", "client for macOS", "container image"}
		for _, i := range r.Perm(len(editions))[:2+r.IntN(3)] {
			rows = append(rows, []string{t.product + " " + editions[i], "{affected}", "{fixed}"})
		}
		if r.IntN(2) == 0 {
			rows = append(rows, []string{t.product + " (extended support)", "all", "none: end of life"})
		}
	case secExploitation:
		rows = [][]string{{"Sector", "Exposed instances", "Patched after 7 days", "Patched after 30 days"}, {":---", "---:", "---:", "---:"}}
		for _, sec := range r.Perm(6)[:3+r.IntN(3)] {
			a := 20 + r.IntN(40)
			rows = append(rows, []string{
				[]string{"Finance", "Energy", "Health", "Government", "Telecoms", "Manufacturing"}[sec],
				fmt.Sprint(50 + r.IntN(3000)), fmt.Sprintf("%d%%", a), fmt.Sprintf("%d%%", a+r.IntN(100-a)),
			})
		}
	default:
		rows = [][]string{{"CVE", "Component", "CVSS", "Severity"}, {"---", "---", "---:", "---"}}
		rows = append(rows, []string{"{cve}", "{comp}", "{cvss}", "{severity}"})
		for range 1 + r.IntN(3) {
			score := float64(20+r.IntN(81)) / 10
			rows = append(rows, []string{
				fmt.Sprintf("CVE-%s-%d", strings.Split(t.cve, "-")[1], 1000+r.IntN(49000)),
				strings.TrimPrefix(pick(r, components), "the "),
				fmt.Sprintf("%.1f", score), severity(score),
			})
		}
	}
	words := 0
	for _, row := range rows {
		for i := range row {
			row[i] = g.expand(row[i])
			words += countWords(row[i])
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
	}
	b.WriteString("\n")
	return words
}
