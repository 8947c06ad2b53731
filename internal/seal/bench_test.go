package seal

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/site"
)

// BenchmarkSeal measures one cold build's sealing (audience keys, every
// block's packet, every recipient's keyring) over a grid of blocks and
// recipients. DESIGN §4 promises a cost that grows with blocks plus
// recipients, not with their product: doubling the recipients should add
// about the same time whatever the number of blocks.
//
//	go test ./internal/seal -run '^$' -bench BenchmarkSeal -benchtime 3x
func BenchmarkSeal(b *testing.B) {
	for _, blocks := range []int{250, 500, 1000} {
		for _, recipients := range []int{25, 50, 100} {
			b.Run(fmt.Sprintf("blocks=%d/recipients=%d", blocks, recipients), func(b *testing.B) {
				benchSeal(b, blocks, recipients)
			})
		}
	}
}

func benchSeal(b *testing.B, blocks, recipients int) {
	reg, names, groups := benchRegistry(b, recipients)
	pages := benchPages(blocks, names, groups)
	conv := newConv(b)
	cfg := config()
	discard := func(string, []byte) error { return nil }
	audiences := 0
	for b.Loop() {
		// Sealing replaces the blocks of the tree: parse anew, untimed.
		b.StopTimer()
		docs := make([]*markdown.Doc, len(pages))
		for i, p := range pages {
			docs[i] = conv.Parse(p, nil)
		}
		plan, err := NewPlan(docs, reg, cfg)
		if err != nil {
			b.Fatal(err)
		}
		audiences = len(plan.audiences)
		b.StartTimer()

		s, err := NewSealer(plan, conv, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range docs {
			if _, err := s.Seal(d, discard); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Keyrings(reg, discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(audiences), "audiences")
}

// benchRegistry makes n recipients, each with an X25519 key and every
// tenth with a post-quantum key too, in groups of about 20 members, and a
// group of all groups.
func benchRegistry(b *testing.B, n int) (reg *audience.Registry, names, groups []string) {
	b.Helper()
	var rs []*audience.Recipient
	for i := range n {
		kinds := []bool{false}
		if i%10 == 9 {
			kinds = append(kinds, true)
		}
		p := newPerson(b, fmt.Sprintf("r%03d", i), kinds...)
		rs = append(rs, p.recipient())
		names = append(names, p.name)
	}
	var gs []*audience.Group
	for i := 0; i < n; i += 20 {
		g := &audience.Group{Name: fmt.Sprintf("team%d", len(gs)), Members: names[i:min(i+20, n)], Line: len(gs) + 1}
		gs = append(gs, g)
		groups = append(groups, g.Name)
	}
	gs = append(gs, &audience.Group{Name: "everyone", Members: groups, Line: len(gs) + 1})
	reg, err := audience.New(rs, gs)
	if err != nil {
		b.Fatal(err)
	}
	return reg, names, groups
}

// benchPages writes pages of two blocks each, with a realistic mix of
// audiences: a group, a group and a person, a few people, two groups,
// everyone.
func benchPages(blocks int, names, groups []string) []*site.Page {
	rng := rand.New(rand.NewPCG(1, 2))
	person := func() string { return names[rng.IntN(len(names))] }
	group := func() string { return groups[rng.IntN(len(groups))] }
	var pages []*site.Page
	for i := 0; i < blocks; i += 2 {
		var body strings.Builder
		fmt.Fprintf(&body, "Public summary of briefing %d: what happened, and what to patch.\n\n", i)
		for j := i; j < min(i+2, blocks); j++ {
			var to, label string
			switch r := rng.IntN(100); {
			case r < 40:
				to, label = group(), "amber"
			case r < 65:
				to, label = group()+","+person(), "amber"
			case r < 85:
				to, label = person()+","+person()+","+person(), "red"
			case r < 95:
				to, label = group()+","+group(), "amber+strict"
			default:
				to, label = "everyone", "green"
			}
			fmt.Fprintf(&body, "::: restricted to=%s tlp=%s\n## Details of passage %d\n\n", to, label, j)
			fmt.Fprintf(&body, "Affected versions of component %d: 1.%d through 1.%d. The fix ships in 1.%d; until then, disable the *%d* module.\n\n", j, j%7, j%7+3, j%7+4, j)
			fmt.Fprintf(&body, "- Indicator: `%08x.example.net`\n- Contact: psirt-%d@example.org\n- Timeline: embargo until day %d\n:::\n\n", rng.Uint32(), j, j%30)
		}
		p := page(fmt.Sprintf("content/briefings/b%04d.md", i/2), body.String())
		pages = append(pages, p)
	}
	return pages
}
