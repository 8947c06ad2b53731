package seal

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/format"
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

// BenchmarkKeyrings measures the keyring stage alone (Sealer.Keyrings:
// every keyring encrypted anew, padded to one size, and the index) for
// 200 and 2,000 recipients with a mix of keys: most one X25519 key, some
// two, some post-quantum (some with X25519 keys too, so two keyrings),
// some ssh-ed25519, some three keys including ssh-rsa of 2048 to 4096
// bits, in groups of 20, over the audiences of 1,000 passages. Every
// build pays it: keyrings are never cached.
//
//	go test ./internal/seal -run '^$' -bench BenchmarkKeyrings -benchtime 10x -benchmem
func BenchmarkKeyrings(b *testing.B) {
	for _, n := range []int{200, 2000} {
		b.Run(fmt.Sprintf("recipients=%d", n), func(b *testing.B) { benchKeyrings(b, n) })
	}
}

func benchKeyrings(b *testing.B, recipients int) {
	reg, names, groups := benchMixedRegistry(b, recipients)
	conv := newConv(b)
	pages := benchPages(1000, names, groups)
	docs := make([]*markdown.Doc, len(pages))
	for i, p := range pages {
		docs[i] = conv.Parse(p, nil)
	}
	plan, err := NewPlan(docs, reg, config())
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSealer(plan, conv, nil)
	if err != nil {
		b.Fatal(err)
	}
	discard := func(string, []byte) error { return nil }
	for _, d := range docs {
		if _, err := s.Seal(d, discard); err != nil {
			b.Fatal(err)
		}
	}
	var keyrings, size, index int
	emit := func(p string, data []byte) error {
		if p == format.KeyringIndex {
			index = len(data)
		} else {
			size = len(data)
		}
		return nil
	}
	var cpu time.Duration
	for b.Loop() {
		before, start := s.Stats().Keyrings, cpuTime()
		if err := s.Keyrings(reg, emit); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - start
		keyrings = s.Stats().Keyrings - before
	}
	// The processor time, which other work on the machine inflates less
	// than the wall time.
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(keyrings), "keyrings")
	b.ReportMetric(float64(size), "B/keyring")
	b.ReportMetric(float64(index)/(1<<20), "MiB-index")
	b.ReportMetric(float64(len(plan.Audiences())), "audiences")
}

// benchMixedRegistry makes n recipients with keys of every kind but
// passphrases (each costs an scrypt), in groups of about 20, and a group
// of all groups. The RSA keys are shared between recipients, which costs
// as much to encrypt to as keys of their own, and saves minutes of key
// generation.
func benchMixedRegistry(b *testing.B, n int) (reg *audience.Registry, names, groups []string) {
	b.Helper()
	rsa, err := rsaKeys()
	if err != nil {
		b.Fatal(err)
	}
	rsaLines := make([]string, 0, 3)
	for _, bits := range []int{2048, 3072, 4096} {
		pub, err := ssh.NewPublicKey(&rsa[bits].PublicKey)
		if err != nil {
			b.Fatal(err)
		}
		rsaLines = append(rsaLines, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))))
	}
	var rs []*audience.Recipient
	for i := range n {
		name := fmt.Sprintf("r%04d", i)
		var lines []string
		x := func() string {
			id, err := age.GenerateX25519Identity()
			if err != nil {
				b.Fatal(err)
			}
			return id.Recipient().String()
		}
		pq := func() string {
			id, err := age.GenerateHybridIdentity()
			if err != nil {
				b.Fatal(err)
			}
			return id.Recipient().String()
		}
		switch i % 20 {
		case 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10: // 55%: one X25519 key
			lines = []string{x()}
		case 11, 12: // 10%: two X25519 keys
			lines = []string{x(), x()}
		case 13, 14: // 10%: post-quantum
			lines = []string{pq()}
		case 15: // 5%: two post-quantum keys and an X25519 one
			lines = []string{pq(), pq(), x()}
		case 16, 17: // 10%: ssh-ed25519
			lines = []string{newSSHKey(b, 0).line}
		default: // 10%: X25519, ssh-ed25519 and ssh-rsa
			lines = []string{x(), newSSHKey(b, 0).line, rsaLines[i%3]}
		}
		keys, err := audience.ParseKeys("keys/"+name+".pub", []byte(strings.Join(lines, "\n")+"\n"))
		if err != nil {
			b.Fatal(err)
		}
		rs = append(rs, &audience.Recipient{Name: name, File: "keys/" + name + ".pub", Keys: keys})
		names = append(names, name)
	}
	var gs []*audience.Group
	for i := 0; i < n; i += 20 {
		g := &audience.Group{Name: fmt.Sprintf("team%d", len(gs)), Members: names[i:min(i+20, n)], Line: len(gs) + 1}
		gs = append(gs, g)
		groups = append(groups, g.Name)
	}
	gs = append(gs, &audience.Group{Name: "everyone", Members: groups, Line: len(gs) + 1})
	reg, err = audience.New(rs, gs)
	if err != nil {
		b.Fatal(err)
	}
	return reg, names, groups
}
