package seal

import (
	"bytes"
	"strings"
	"testing"

	"github.com/yuin/goldmark/ast"

	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/markdown/restricted"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// previews returns the preview passages of a document's tree in order,
// each with its depth, and fails the test if a block is left in it.
func previews(t *testing.T, d *markdown.Doc) []*restricted.Preview {
	t.Helper()
	var out []*restricted.Preview
	_ = ast.Walk(d.Root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *restricted.Block:
			t.Errorf("%s: a restricted block is left in the tree of a preview", d.Page.Path)
		case *restricted.Sealed:
			t.Errorf("%s: a sealed placeholder in the tree of a preview", d.Page.Path)
		case *restricted.Preview:
			out = append(out, n)
		}
		return ast.WalkContinue, nil
	})
	return out
}

// Plan.Preview reveals every block with the names, members and label the
// plan gave it, keeps a whole page's title, summary and tags, and labels
// an unlabelled page as sealing does; nothing is encrypted.
func TestPlanPreview(t *testing.T) {
	pconv, err := markdown.New(markdown.Options{Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	reg := fixtureRegistry(t)
	cfg := config()
	cfg.TLP[tlp.Amber] = []string{"members"}
	type want struct {
		names, members string // comma-joined
		label          tlp.Label
		whole          bool
		parent         int // index of the enclosing preview, or -1
	}
	for _, tc := range []struct {
		name      string
		page      *site.Page
		previews  []want
		pageLabel tlp.Label
		texts     []string // in the rendered preview
	}{
		{"group and people",
			page(pagePath, "Public.\n\n::: restricted to=board,carol tlp=amber\nBoard text.\n:::\n"),
			[]want{{"board,carol", "alice,bob,carol", tlp.Amber, false, -1}}, tlp.Amber,
			[]string{"Restricted — for board, carol (alice, bob, carol).", "<p>Board text.</p>"}},
		{"[tlp] default audience",
			labelled(page(pagePath, "::: restricted tlp=amber\nMembers text.\n:::\n"), tlp.AmberStrict),
			[]want{{"members", "alice,bob,carol,juniper", tlp.Amber, false, -1}}, tlp.AmberStrict,
			[]string{"Restricted — for members (alice, bob, carol, juniper).", "<p>Members text.</p>"}},
		{"nested",
			page(pagePath, "::: restricted to=members tlp=amber\nOuter.\n\n::: restricted to=alice tlp=red\nInner.\n:::\n:::\n"),
			[]want{{"members", "alice,bob,carol,juniper", tlp.Amber, false, -1}, {"alice", "alice", tlp.Red, false, 0}}, tlp.Red,
			[]string{"<p>Outer.</p>", "<span class=\"tlp-label\">TLP:RED</span> Restricted — for alice.", "<p>Inner.</p>\n</section>\n</section>"}},
		{"whole page with a block",
			labelled(whole(page(pagePath, "Intro.\n\n::: restricted to=alice,bob\nPair.\n:::\n"), "board", "carol"), tlp.AmberStrict),
			[]want{{"board,carol", "alice,bob,carol", tlp.AmberStrict, true, -1}, {"alice,bob", "alice,bob", tlp.AmberStrict, false, 0}}, tlp.AmberStrict,
			[]string{"Restricted page — for board, carol (alice, bob, carol). It will be published sealed, titled “Restricted briefing”", "<p>Intro.</p>", "<p>Pair.</p>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.page.Front.Summary, tc.page.Front.Tags = "The summary.", []string{"tag"}
			orig := tc.page
			d := parse(t, pconv, tc.page)[0]
			plan, err := NewPlan([]*markdown.Doc{d}, reg, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := plan.Preview(d); err != nil {
				t.Fatal(err)
			}
			got := previews(t, d)
			if len(got) != len(tc.previews) || len(d.Blocks) != 0 {
				t.Fatalf("%d previews, %d blocks left; want %d previews", len(got), len(d.Blocks), len(tc.previews))
			}
			for i, w := range tc.previews {
				p := got[i]
				parent := -1
				for j, q := range got {
					if ast.Node(q) == p.Parent() {
						parent = j
					}
				}
				g := want{strings.Join(p.Names, ","), strings.Join(p.Members, ","), p.TLP, p.Whole, parent}
				if g != w {
					t.Errorf("preview %d:\n got %+v\nwant %+v", i, g, w)
				}
				if p.Whole && p.Title != RestrictedTitle || !p.Whole && p.Title != "" {
					t.Errorf("preview %d: title %q", i, p.Title)
				}
			}
			f := d.Page.Front
			if f.TLP != tc.pageLabel || f.Title != orig.Front.Title || f.Summary != "The summary." || len(f.Tags) != 1 {
				t.Errorf("page after preview: %+v", f)
			}
			if d.Page == orig {
				t.Errorf("the page itself was changed, not a copy")
			}
			var b bytes.Buffer
			if err := pconv.Render(&b, d); err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.texts {
				if !strings.Contains(b.String(), s) {
					t.Errorf("preview lacks %q:\n%s", s, b.String())
				}
			}
			// A publishing converter refuses the result.
			if err := newConv(t).Render(&b, d); err == nil {
				t.Errorf("a publishing converter rendered a preview")
			}
		})
	}
}

func TestPreviewUnplanned(t *testing.T) {
	conv := newConv(t)
	docs := parse(t, conv, page("content/a.md", "::: restricted to=board\nx\n:::\n"))
	plan, err := NewPlan(docs, fixtureRegistry(t), config())
	if err != nil {
		t.Fatal(err)
	}
	other := parse(t, conv, page("content/b.md", "Public.\n\n::: restricted to=board\ny\n:::\n"))[0]
	if err := plan.Preview(other); err == nil || err.Error() != "content/b.md:7: restricted block was not planned (a bug in conclave; refused)" {
		t.Errorf("error = %v", err)
	}
	if len(other.Blocks) != 1 {
		t.Errorf("an unplanned block was revealed")
	}
}
