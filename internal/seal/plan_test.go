package seal

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/tlp"
)

const pagePath = "content/briefings/a.md"

// TestPlanErrors pins one located error per rule of DESIGN §2. Test pages
// have their tlp: on line 3, their audience: on line 2 and their body from
// line 5.
func TestPlanErrors(t *testing.T) {
	conv := newConv(t)
	reg := fixtureRegistry(t)
	for _, tc := range []struct {
		name  string
		page  *site.Page
		cfg   map[tlp.Label][]string
		parse bool // parse without Validate: the page has syntax errors of its own
		want  string
	}{
		{name: "unknown name with a suggestion",
			page: page(pagePath, "::: restricted to=board,junper\nx\n:::\n"),
			want: `content/briefings/a.md:5: unknown recipient or group "junper" (did you mean "juniper"?)`},
		{name: "unknown name without a suggestion",
			page: page(pagePath, "Public.\n\n::: restricted to=zzzzzz\nx\n:::\n"),
			want: `content/briefings/a.md:7: unknown recipient or group "zzzzzz" (add the recipient's public key as keys/zzzzzz.pub, or define the group in keys/groups.toml)`},
		{name: "unknown name in a [tlp] default",
			page: page(pagePath, "::: restricted tlp=amber\nx\n:::\n"),
			cfg:  map[tlp.Label][]string{tlp.Amber: {"membrs"}},
			want: `content/briefings/a.md:5: the default audience of TLP:AMBER in conclave.toml: unknown recipient or group "membrs" (did you mean "members"?)`},
		{name: "unknown name in a whole page's audience",
			page: whole(page(pagePath, "Body.\n"), "bord"),
			want: `content/briefings/a.md:2: unknown recipient or group "bord" (did you mean "board"?)`},
		// Groups cannot be empty (audience.New), nor can a [tlp] default
		// or a page's audience: (site.ParseConfig, site.ParseFront). An
		// empty audience only reaches the plan from a to= whose names were
		// all refused by the parser, or a configuration made in memory.
		{name: "empty audience: to= with no valid name", parse: true,
			page: page(pagePath, "::: restricted to=Board\nx\n:::\n"),
			want: `content/briefings/a.md:5: empty audience: to= names no recipient once its groups are expanded`},
		{name: "empty audience: empty [tlp] default",
			page: page(pagePath, "::: restricted tlp=green\nx\n:::\n"),
			cfg:  map[tlp.Label][]string{tlp.Green: {}},
			want: `content/briefings/a.md:5: empty audience: the default audience of TLP:GREEN in conclave.toml names no recipient once its groups are expanded`},
		{name: "no to= and no tlp",
			page: page(pagePath, "::: restricted\nx\n:::\n"),
			cfg:  map[tlp.Label][]string{tlp.Amber: {"members"}},
			want: `content/briefings/a.md:5: restricted block has no to=: name its recipients or groups (to=NAME,…), or give it a tlp= label that has a default audience in conclave.toml [tlp]`},
		{name: "no to= and a tlp without a default",
			page: page(pagePath, "::: restricted tlp=amber+strict\nx\n:::\n"),
			cfg:  map[tlp.Label][]string{tlp.Amber: {"members"}},
			want: `content/briefings/a.md:5: restricted block has no to= and conclave.toml has no default audience for TLP:AMBER+STRICT: add to=NAME,…, or in conclave.toml: [tlp] "amber+strict" = ["group"]`},
		{name: "TLP:CLEAR block",
			page: page(pagePath, "::: restricted to=board tlp=clear\nx\n:::\n"),
			want: `content/briefings/a.md:5: a restricted block cannot be TLP:CLEAR, which allows disclosure to anyone: use green or stricter, or do not restrict the text`},
		{name: "TLP:CLEAR from the page's label",
			page: labelled(page(pagePath, "::: restricted to=board\nx\n:::\n"), tlp.Clear),
			want: `content/briefings/a.md:5: a restricted block cannot be TLP:CLEAR, which allows disclosure to anyone: use green or stricter, or do not restrict the text`},
		{name: "TLP:RED naming a group in to=",
			page: page(pagePath, "::: restricted to=alice,board tlp=red\nx\n:::\n"),
			want: `content/briefings/a.md:5: TLP:RED is for named individuals, but "board" is a group (in to=): name its members one by one`},
		{name: "TLP:RED from the page's label, naming a group in to=",
			page: labelled(page(pagePath, "::: restricted to=vendors\nx\n:::\n"), tlp.Red),
			want: `content/briefings/a.md:5: TLP:RED is for named individuals, but "vendors" is a group (in to=): name its members one by one`},
		{name: "TLP:RED page restricted as a whole to a group",
			page: labelled(whole(page(pagePath, "Body.\n"), "alice", "board"), tlp.Red),
			want: `content/briefings/a.md:2: TLP:RED is for named individuals, but "board" is a group (in audience:): name its members one by one`},
		{name: "TLP:RED default naming a group",
			page: page(pagePath, "::: restricted tlp=red\nx\n:::\n"),
			cfg:  map[tlp.Label][]string{tlp.Red: {"board"}},
			want: `content/briefings/a.md:5: TLP:RED is for named individuals, but "board" is a group (in the default audience of TLP:RED in conclave.toml): name its members one by one`},
		{name: "nested block widens its enclosing audience",
			page: page(pagePath, "::: restricted to=board\nOuter.\n\n::: restricted to=alice,carol\nInner.\n:::\n\n:::\n"),
			want: `content/briefings/a.md:8: nested restricted block widens the audience of the block on line 5: "carol" is not in it (a nested block may only narrow it)`},
		{name: "nested block widens by a group",
			page: page(pagePath, "::: restricted to=board\nOuter.\n\n::: restricted to=members\nInner.\n:::\n\n:::\n"),
			want: `content/briefings/a.md:8: nested restricted block widens the audience of the block on line 5: "carol", "juniper" are not in it (a nested block may only narrow it)`},
		{name: "nested block with a lower label",
			page: page(pagePath, "::: restricted to=alice,bob tlp=red\nOuter.\n\n::: restricted to=alice tlp=amber\nInner.\n:::\n\n:::\n"),
			want: `content/briefings/a.md:8: nested restricted block is TLP:AMBER inside a TLP:RED block (line 5): a nested block's label must be at least its enclosing block's`},
		{name: "nested block lower than the label its enclosing block takes from the page",
			page: labelled(page(pagePath, "::: restricted to=board\nOuter.\n\n::: restricted to=alice tlp=green\nInner.\n:::\n\n:::\n"), tlp.Amber),
			want: `content/briefings/a.md:8: nested restricted block is TLP:GREEN inside a TLP:AMBER block (line 5): a nested block's label must be at least its enclosing block's`},
		{name: "block widens a page restricted as a whole",
			page: whole(page(pagePath, "Intro.\n\n::: restricted to=vendors\nx\n:::\n"), "board"),
			want: `content/briefings/a.md:7: nested restricted block widens the audience of the block on line 2: "carol", "juniper" are not in it (a nested block may only narrow it)`},
		{name: "page label lower than its strictest block",
			page: labelled(page(pagePath, "::: restricted to=board tlp=green\nx\n:::\n\n::: restricted to=alice tlp=amber+strict\ny\n:::\n"), tlp.Green),
			want: `content/briefings/a.md:3: tlp: the page is TLP:GREEN but its restricted block on line 9 is TLP:AMBER+STRICT: a page's label must be at least its strictest block's (set tlp: amber+strict)`},
		{name: "every problem of a page, in line order",
			page: page(pagePath, "::: restricted to=junper\nx\n:::\n\n::: restricted\ny\n:::\n"),
			want: "content/briefings/a.md:5: unknown recipient or group \"junper\" (did you mean \"juniper\"?)\n" +
				"content/briefings/a.md:9: restricted block has no to=: name its recipients or groups (to=NAME,…), or give it a tlp= label that has a default audience in conclave.toml [tlp]"},
		{name: "a block inside a refused block is not checked again",
			page: page(pagePath, "::: restricted to=junper\nOuter.\n\n::: restricted to=zzzzzz\nInner.\n:::\n\n:::\n"),
			want: `content/briefings/a.md:5: unknown recipient or group "junper" (did you mean "juniper"?)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d *markdown.Doc
			if tc.parse {
				d = conv.Parse(tc.page, nil)
			} else {
				d = parse(t, conv, tc.page)[0]
			}
			cfg := config()
			maps.Copy(cfg.TLP, tc.cfg)
			p, err := NewPlan([]*markdown.Doc{d}, reg, cfg)
			if err == nil {
				t.Fatalf("no error, want\n%s", tc.want)
			}
			if p != nil {
				t.Errorf("a plan with an error")
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tc.want)
			}
		})
	}
}

// Every problem of every page is reported at once, sorted by file.
func TestPlanErrorsOfSeveralPages(t *testing.T) {
	conv := newConv(t)
	docs := parse(t, conv,
		page("content/b.md", "::: restricted to=bord\nx\n:::\n"),
		page("content/a.md", "::: restricted to=board tlp=clear\nx\n:::\n"),
		page("content/c.md", "::: restricted to=board\nfine\n:::\n"))
	_, err := NewPlan(docs, fixtureRegistry(t), config())
	want := "content/a.md:5: a restricted block cannot be TLP:CLEAR, which allows disclosure to anyone: use green or stricter, or do not restrict the text\n" +
		`content/b.md:5: unknown recipient or group "bord" (did you mean "board"?)`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestPlanBlocks(t *testing.T) {
	conv := newConv(t)
	reg := fixtureRegistry(t)
	cfg := config()
	cfg.TLP[tlp.Amber] = []string{"members"}
	cfg.TLP[tlp.Green] = []string{"board", "dave"}
	type want struct {
		names   string // comma-joined
		members string // comma-joined
		label   tlp.Label
		display string
	}
	for _, tc := range []struct {
		name      string
		page      *site.Page
		blocks    []want
		pageLabel tlp.Label
	}{
		{"to= with a group and people",
			page(pagePath, "::: restricted to=board,carol,dave tlp=amber\nx\n:::\n"),
			[]want{{"board,carol,dave", "alice,bob,carol,dave", tlp.Amber, "board and 2 named recipients"}}, tlp.Amber},
		{"[tlp] default",
			page(pagePath, "::: restricted tlp=amber\nx\n:::\n"),
			[]want{{"members", "alice,bob,carol,juniper", tlp.Amber, "members"}}, tlp.Amber},
		{"[tlp] default with a person",
			page(pagePath, "::: restricted tlp=green\nx\n:::\n"),
			[]want{{"board,dave", "alice,bob,dave", tlp.Green, "board and 1 named recipient"}}, tlp.Green},
		{"no label",
			page(pagePath, "::: restricted to=alice\nx\n:::\n"),
			[]want{{"alice", "alice", tlp.None, "1 named recipient"}}, tlp.None},
		{"a page without a label takes its strictest block's",
			page(pagePath, "::: restricted to=board tlp=green\nx\n:::\n\n::: restricted to=alice,bob tlp=red\ny\n:::\n\n::: restricted to=board tlp=amber\nz\n:::\n"),
			[]want{
				{"board", "alice,bob", tlp.Green, "board"},
				{"alice,bob", "alice,bob", tlp.Red, "2 named recipients"},
				{"board", "alice,bob", tlp.Amber, "board"},
			}, tlp.Red},
		{"a page keeps its own label when it is stricter",
			labelled(page(pagePath, "::: restricted to=board tlp=green\nx\n:::\n"), tlp.Amber),
			[]want{{"board", "alice,bob", tlp.Green, "board"}}, tlp.Amber},
		{"a block without a label takes the page's",
			labelled(page(pagePath, "::: restricted to=board\nx\n:::\n"), tlp.AmberStrict),
			[]want{{"board", "alice,bob", tlp.AmberStrict, "board"}}, tlp.AmberStrict},
		{"a nested block narrows and takes its enclosing block's label",
			page(pagePath, "::: restricted to=members tlp=amber\nOuter.\n\n::: restricted to=vendors\nInner.\n:::\n\n::: restricted to=alice tlp=red\nInnermost.\n:::\n\n:::\n"),
			[]want{
				{"members", "alice,bob,carol,juniper", tlp.Amber, "members"},
				{"vendors", "carol,juniper", tlp.Amber, "vendors"},
				{"alice", "alice", tlp.Red, "1 named recipient"},
			}, tlp.Red},
		{"a page restricted as a whole with blocks inside",
			labelled(whole(page(pagePath, "Intro.\n\n::: restricted to=board\nx\n:::\n\n::: restricted to=alice,bob tlp=amber+strict\ny\n:::\n"), "members"), tlp.AmberStrict),
			[]want{
				{"members", "alice,bob,carol,juniper", tlp.AmberStrict, "members"},
				{"board", "alice,bob", tlp.AmberStrict, "board"},
				{"alice,bob", "alice,bob", tlp.AmberStrict, "2 named recipients"},
			}, tlp.AmberStrict},
		{"a page restricted as a whole without a label takes its strictest block's",
			whole(page(pagePath, "Intro.\n\n::: restricted to=board tlp=amber\nx\n:::\n\n::: restricted to=alice,bob tlp=red\ny\n:::\n"), "members"),
			[]want{
				{"members", "alice,bob,carol,juniper", tlp.None, "members"},
				{"board", "alice,bob", tlp.Amber, "board"},
				{"alice,bob", "alice,bob", tlp.Red, "2 named recipients"},
			}, tlp.Red},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := parse(t, conv, tc.page)[0]
			p, err := NewPlan([]*markdown.Doc{d}, reg, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Blocks) != len(tc.blocks) || len(p.blocks) != len(tc.blocks) {
				t.Fatalf("%d blocks, %d planned, want %d", len(d.Blocks), len(p.blocks), len(tc.blocks))
			}
			for i, w := range tc.blocks {
				b := d.Blocks[i]
				label, display := p.Label(b)
				got := want{strings.Join(p.Names(b), ","), strings.Join(p.Of(b).Members, ","), label, display}
				if got != w {
					t.Errorf("block %d (%s):\n got %+v\nwant %+v", i, b, got, w)
				}
			}
			if got := p.PageLabel(d); got != tc.pageLabel {
				t.Errorf("PageLabel = %v, want %v", got, tc.pageLabel)
			}
		})
	}
}

// A page restricted as a whole, built by markdown.Parse from its front
// matter, is one block that holds the page's own blocks.
func TestPlanWholePage(t *testing.T) {
	conv := newConv(t)
	p := labelled(whole(page(pagePath, "Intro.\n\n::: restricted to=board tlp=red\nx\n:::\n"), "members"), tlp.Red)
	p.Front.Audience = []string{"alice", "bob", "carol"}
	d := parse(t, conv, p)[0]
	plan, err := NewPlan([]*markdown.Doc{d}, fixtureRegistry(t), config())
	if err == nil || err.Error() != `content/briefings/a.md:7: TLP:RED is for named individuals, but "board" is a group (in to=): name its members one by one` {
		t.Fatalf("error = %v", err)
	}
	p = labelled(whole(page(pagePath, "Intro.\n\n::: restricted to=alice,bob\nx\n:::\n"), "alice", "bob", "carol"), tlp.Red)
	d = parse(t, conv, p)[0]
	plan, err = NewPlan([]*markdown.Doc{d}, fixtureRegistry(t), config())
	if err != nil {
		t.Fatal(err)
	}
	outer, inner := d.Blocks[0], d.Blocks[1]
	if !outer.Whole || inner.Whole || enclosing(inner) != outer {
		t.Fatalf("blocks: %v, %v", outer, inner)
	}
	if l, disp := plan.Label(outer); l != tlp.Red || disp != "3 named recipients" || d.BlockLine(outer) != 2 {
		t.Errorf("whole page: %v %q line %d", l, disp, d.BlockLine(outer))
	}
	if l, disp := plan.Label(inner); l != tlp.Red || disp != "2 named recipients" || d.BlockLine(inner) != 7 {
		t.Errorf("inner block: %v %q line %d", l, disp, d.BlockLine(inner))
	}
	if got := strings.Join(plan.Of(outer).Members, ","); got != "alice,bob,carol" {
		t.Errorf("whole page members: %s", got)
	}
}

func TestDisplay(t *testing.T) {
	reg := fixtureRegistry(t)
	p := &Plan{reg: reg}
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"board"}, "board"},
		{[]string{"alice"}, "1 named recipient"},
		{[]string{"alice", "alice"}, "1 named recipient"},
		{[]string{"alice", "bob"}, "2 named recipients"},
		{[]string{"board", "carol", "dave"}, "board and 2 named recipients"},
		{[]string{"board", "alice"}, "board and 1 named recipient"},
		{[]string{"board", "vendors"}, "board and vendors"},
		{[]string{"board", "vendors", "board"}, "board and vendors"},
		{[]string{"vendors", "board", "pq1"}, "vendors, board and 1 named recipient"},
		{[]string{"board", "vendors", "pqteam", "erin", "eve", "dave"}, "board, vendors, pqteam and 3 named recipients"},
	} {
		got := p.display(tc.names)
		if got != tc.want {
			t.Errorf("display(%q) = %q, want %q", tc.names, got, tc.want)
		}
		for _, r := range reg.Recipients() {
			if strings.Contains(got, r.Name) {
				t.Errorf("display(%q) = %q names recipient %q", tc.names, got, r.Name)
			}
		}
	}
}

// planOf plans one page with blocks to each audience given, in order, and
// returns the audiences.
func planOf(t *testing.T, reg *audience.Registry, cfg *site.Config, tos ...string) []*Audience {
	t.Helper()
	var body strings.Builder
	for i, to := range tos {
		body.WriteString("::: restricted to=" + to + "\nBlock " + strings.Repeat("x", i) + "\n:::\n\n")
	}
	conv := newConv(t)
	d := parse(t, conv, page(pagePath, body.String()))[0]
	p, err := NewPlan([]*markdown.Doc{d}, reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*Audience, len(d.Blocks))
	for i, b := range d.Blocks {
		out[i] = p.Of(b)
	}
	return out
}

func TestAudienceIDs(t *testing.T) {
	ps := fixturePeople(t)
	reg := fixtureRegistry(t)
	auds := planOf(t, reg, config(), "board", "alice,bob", "bob,board,alice", "members", "board,vendors", "board,carol")
	if auds[0] != auds[1] || auds[0] != auds[2] {
		t.Errorf("the same members give different audiences: %p %p %p", auds[0], auds[1], auds[2])
	}
	if auds[3] != auds[4] {
		t.Errorf("members and board,vendors give different audiences")
	}
	if auds[0].ID == auds[5].ID || auds[0].ID == auds[3].ID {
		t.Errorf("different members give the same ID")
	}
	if got := strings.Join(auds[0].Members, ","); got != "alice,bob" {
		t.Errorf("members = %s", got)
	}
	if len(auds[0].ID) != 64 {
		t.Errorf("ID %q is not a hex SHA-256", auds[0].ID)
	}
	board := auds[0].ID

	// The same members in another build, with the same keys: the same ID.
	if id := planOf(t, registry(t, ps, fixtureGroups), config(), "board")[0].ID; id != board {
		t.Errorf("the same audience in another plan has another ID")
	}
	// A member added, a member removed.
	added := registry(t, ps, strings.Replace(fixtureGroups, `board = ["alice", "bob"]`, `board = ["alice", "bob", "dave"]`, 1))
	if id := planOf(t, added, config(), "board")[0].ID; id == board {
		t.Errorf("adding a member keeps the audience's ID")
	}
	removed := registry(t, ps, strings.Replace(fixtureGroups, `board = ["alice", "bob"]`, `board = ["alice"]`, 1))
	if id := planOf(t, removed, config(), "board")[0].ID; id == board {
		t.Errorf("removing a member keeps the audience's ID")
	}
	// A member's key changed, added, or removed.
	for name, alice := range map[string]*person{
		"changed": newPerson(t, "alice", false),
		"added":   {name: "alice", keys: append(slices.Clone(ps["alice"].keys), ps["eve"].keys[0])},
	} {
		changed := maps.Clone(ps)
		changed["alice"] = alice
		if id := planOf(t, registry(t, changed, fixtureGroups), config(), "board")[0].ID; id == board {
			t.Errorf("a member's key %s keeps the audience's ID", name)
		}
	}
	// The order of a member's keys does not matter.
	swapped := maps.Clone(ps)
	erin := *ps["erin"]
	erin.keys = []audience.Key{ps["erin"].keys[1], ps["erin"].keys[0]}
	swapped["erin"] = &erin
	if a, b := planOf(t, reg, config(), "erin")[0].ID, planOf(t, registry(t, swapped, fixtureGroups), config(), "erin")[0].ID; a != b {
		t.Errorf("the order of a member's keys changes the audience's ID")
	}
}

func TestAudiencePostQuantum(t *testing.T) {
	reg := fixtureRegistry(t)
	auds := planOf(t, reg, config(), "pqteam", "pq1", "erin", "pq1,alice", "board")
	for i, want := range []bool{true, true, false, false, false} {
		if auds[i].PostQuantum != want {
			t.Errorf("audience %s: PostQuantum = %t, want %t", strings.Join(auds[i].Members, ","), auds[i].PostQuantum, want)
		}
	}
	cfg := config()
	cfg.PostQuantum = true
	forced := planOf(t, reg, cfg, "board", "pqteam")
	if !forced[0].PostQuantum || !forced[1].PostQuantum {
		t.Errorf("site.Config.PostQuantum: audiences are not post-quantum")
	}
	// A classic key cached for an audience must not serve once the site
	// asks for post-quantum keys.
	if forced[0].ID == auds[4].ID {
		t.Errorf("forcing post-quantum keys keeps the audience's ID")
	}
	if forced[1].ID != auds[0].ID {
		t.Errorf("an audience that was post-quantum already changed ID when the site asks for post-quantum keys")
	}
}
