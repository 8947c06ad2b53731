package markdown

import (
	"fmt"
	"strings"
	"testing"

	"github.com/yuin/goldmark/ast"

	"github.com/conclave-dev/conclave/internal/markdown/restricted"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// blockText is the text inside b, without its nested blocks' text.
func blockText(d *Doc, b *restricted.Block) string {
	var out strings.Builder
	_ = ast.Walk(b, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if inner, ok := n.(*restricted.Block); ok && inner != b {
			return ast.WalkSkipChildren, nil
		}
		if t, ok := n.(*ast.Text); ok && entering {
			out.Write(t.Segment.Value(d.Source))
			out.WriteByte(' ')
		}
		if c, ok := n.(*ast.FencedCodeBlock); ok && entering {
			for i := 0; i < c.Lines().Len(); i++ {
				seg := c.Lines().At(i)
				out.Write(seg.Value(d.Source))
			}
		}
		return ast.WalkContinue, nil
	})
	return strings.Join(strings.Fields(out.String()), " ")
}

func TestRestrictedBlocks(t *testing.T) {
	c := newConv(t)
	type want struct {
		to    string // comma-joined names of each block, in order
		label tlp.Label
		text  string // the text inside, nested blocks' text left out
		depth int    // number of enclosing blocks
	}
	for _, tc := range []struct {
		name, src string
		blocks    []want
		outside   string // text outside every block
	}{
		{"simple", "Public.\n\n::: restricted to=board\nSecret.\n:::\n\nAfter.\n",
			[]want{{"board", tlp.None, "Secret.", 0}}, "Public. After."},
		{"label and several names", "::: restricted to=board,cisco-psirt tlp=amber+strict\nSecret.\n:::\n",
			[]want{{"board,cisco-psirt", tlp.AmberStrict, "Secret.", 0}}, ""},
		{"no space, trailing colons, longer close", ":::restricted tlp=red to=a :::\nSecret.\n::::::\nAfter.\n",
			[]want{{"a", tlp.Red, "Secret.", 0}}, "After."},
		{"no to=", "::: restricted tlp=amber\nSecret.\n:::\n", []want{{"", tlp.Amber, "Secret.", 0}}, ""},
		{"interrupts a paragraph", "Public\n::: restricted to=a\nSecret\n:::\n", []want{{"a", tlp.None, "Secret", 0}}, "Public"},
		{"nested, same fence: a closing line closes the innermost",
			"::: restricted to=board\nOuter one.\n\n::: restricted to=a\nInner.\n:::\n\nOuter two.\n:::\n\nAfter.\n",
			[]want{{"board", tlp.None, "Outer one. Outer two.", 0}, {"a", tlp.None, "Inner.", 1}}, "After."},
		{"nested, longer outer fence",
			":::: restricted to=board\nOuter.\n::: restricted to=a\nInner.\n:::\nOuter two.\n::::\nAfter.\n",
			[]want{{"board", tlp.None, "Outer. Outer two.", 0}, {"a", tlp.None, "Inner.", 1}}, "After."},
		{"fenced code inside never closes the block",
			"::: restricted to=a\n```\n:::\n```\nStill secret.\n:::\nAfter.\n",
			[]want{{"a", tlp.None, ":::\nStill secret.", 0}}, "After."},
		{"in a list item", "- Public item\n- ::: restricted to=a\n  Secret item.\n  :::\n- Last\n",
			[]want{{"a", tlp.None, "Secret item.", 0}}, "Public item Last"},
		{"in a quote", "> Quote.\n>\n> ::: restricted to=a\n> Secret quote.\n> :::\n",
			[]want{{"a", tlp.None, "Secret quote.", 0}}, "Quote."},
		{"example in code is not a block", "```\n::: restricted to=a\nnot secret\n:::\n```\n\nUse `::: restricted to=x`.\n",
			nil, "::: restricted to=a not secret ::: Use ::: restricted to=x ."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := c.Parse(page(tc.src), nil)
			if err := Validate(d); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if len(d.Blocks) != len(tc.blocks) {
				t.Fatalf("%d blocks, want %d", len(d.Blocks), len(tc.blocks))
			}
			for i, w := range tc.blocks {
				b := d.Blocks[i]
				depth := 0
				for p := b.Parent(); p != nil; p = p.Parent() {
					if _, ok := p.(*restricted.Block); ok {
						depth++
					}
				}
				if got := strings.Join(b.To, ","); got != w.to || b.TLP != w.label || depth != w.depth {
					t.Errorf("block %d: to=%q tlp=%v depth %d, want to=%q tlp=%v depth %d", i, got, b.TLP, depth, w.to, w.label, w.depth)
				}
				if got := blockText(d, b); got != strings.Join(strings.Fields(w.text), " ") {
					t.Errorf("block %d text = %q, want %q", i, got, w.text)
				}
			}
			if got := strings.Join(strings.Fields(textOutsideBlocks(d)), " "); got != strings.Join(strings.Fields(tc.outside), " ") {
				t.Errorf("text outside blocks = %q, want %q", got, tc.outside)
			}
		})
	}
}

func TestRestrictedErrors(t *testing.T) {
	c := newConv(t)
	// page() puts the body on line 5 of its file.
	for _, tc := range []struct{ name, src, want string }{
		{"unterminated", "x\n\n::: restricted to=a\nSecret.\n", ":7: restricted block is never closed: add a line \":::\""},
		{"unterminated inner", "::: restricted to=a\n:::: restricted to=a\nx\n:::\n", ":6: restricted block is never closed: add a line \"::::\""},
		{"misspelt", "::: restriced to=a\nx\n:::\n", `:5: unknown block "restriced": did you mean "restricted"?`},
		{"upper case", "::: Restricted to=a\nx\n:::\n", `:5: write "restricted" in lower case`},
		{"other fenced block", "::: note\nx\n:::\n", `:5: unknown fenced block "note"`},
		{"unknown key", "::: restricted tp=amber\nx\n:::\n", `:5: restricted block: unknown key "tp" (did you mean "to"?)`},
		{"key twice", "::: restricted to=a to=b\nx\n:::\n", `:5: restricted block: to= is given twice`},
		{"empty to", "::: restricted to=\nx\n:::\n", `:5: restricted block: empty audience`},
		{"bad name", "::: restricted to=Board\nx\n:::\n", `:5: restricted block: "Board" is not a recipient or group name`},
		{"bad label", "::: restricted to=a tlp=white\nx\n:::\n", `TLP 2.0 calls it "clear"`},
		{"not a token", "::: restricted board\nx\n:::\n", `:5: restricted block: "board" is not a key=value token`},
		{"stray closing line", "x\n\n:::\n", ":7: a line of colons with no open restricted block to close"},
		{"indented four spaces", "x\n\n    ::: restricted to=a\n    secret\n    :::\n", ":7: this line looks like a restricted block but is not one"},
		{"inside HTML", "<div>\n::: restricted to=a\nsecret\n:::\n</div>\n", ":6: this line looks like a restricted block but is not one"},
		{"unclosed code fence before", "```\n\n::: restricted to=a\nsecret\n:::\n", ":7: this restricted block is inside a fenced code block that is never closed"},
		{"footnote definition inside", "Public[^1].\n\n::: restricted to=a\n[^1]: secret source\n:::\n", ":8: a footnote inside a restricted block would be published"},
		{"footnote reference inside", "::: restricted to=a\nSecret[^1].\n:::\n\n[^1]: note\n", ":6: a footnote reference inside a restricted block"},
		{"link reference definition inside", "::: restricted to=a\n[x]: https://secret.example/\n:::\n\n[x]\n", ":6: a link reference definition inside a restricted block"},
		{"two colons", "x\n\n:: restricted to=a\nsecret\n::\n", ":7: this line looks like a restricted block but is not one: an opening line starts with three or more colons"},
		{"one colon", ": restricted to=a\nsecret\n:\n", ":5: this line looks like a restricted block but is not one: an opening line starts with three or more colons"},
		{"two colons glued, upper case", "::Restricted to=a\nsecret\n", ":5: this line looks like a restricted block but is not one: an opening line starts with three or more colons"},
		{"two colons, misspelt", ":: restrcted to=a\nsecret\n", ":5: this line looks like a restricted block but is not one: an opening line starts with three or more colons"},
		{"fullwidth colons", "：：： restricted to=a\nsecret\n：：：\n", ":5: this line looks like a restricted block but is not one: an opening line starts with three or more colons"},
		{"two colons in a list item", "- :: restricted to=a\n  secret\n", ":5: this line looks like a restricted block but is not one: an opening line starts with three or more colons"},
		{"two colons in a quote", "> :: restricted to=a\n> secret\n", ":5: this line looks like a restricted block but is not one: an opening line starts with three or more colons"},
		{"two colons in an ordered item in a quote", "> 1. :: restricted to=a\n", ":5: this line looks like a restricted block but is not one: an opening line starts with three or more colons"},
		{"opened in a quote, closed outside", "> ::: restricted to=a\n> secret\n:::\n", ":5: restricted block is never closed"},
		{"opened in a list item, closed outside", "- ::: restricted to=a\n  secret\n:::\n", ":5: restricted block is never closed"},
		{"closing line with fewer colons", ":::: restricted to=a\nsecret\n:::\n", ":5: restricted block is never closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(c.Parse(page(tc.src), nil))
			if err == nil || !strings.Contains(err.Error(), "content/briefings/a.md"+tc.want) && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, tc.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "content/briefings/a.md:") {
				t.Errorf("error does not name the file and line: %v", err)
			}
		})
	}
}

// Text that merely mentions the syntax, or has a colon before the word
// elsewhere in a line, is not an attempt at a block.
// Characters that pass for colons, alone or mixed with colons, open no
// block and would publish the passage: each is refused at its line.
func TestLookAlikeFences(t *testing.T) {
	c := newConv(t)
	for _, fence := range []string{
		"ːːː", "׃׃׃", "։։։", "፡፡፡", "፥፥፥", "܃܃܃", "܄܄܄", "᛬᛬᛬", "⁚⁚⁚", "⁑⁑⁑", "⸬⸬⸬", "⸵⸵⸵",
		"꛴꛴꛴", "᠄᠄᠄", "༔༔༔", "⦂⦂⦂", "ःःः", "ઃઃઃ", "÷÷÷", "𝄆𝄆𝄆", "：：：", "∶∶∶", "꞉꞉꞉", "︓︓︓", "﹕﹕﹕",
		"::\u200b:", ":\u0338::", "\u00a0:::", "::\u00ad:",
	} {
		src := "Intro.\n\n" + fence + " restricted to=a tlp=amber\nSecret.\n" + fence + "\n"
		err := Validate(c.Parse(page(src), nil))
		if err == nil || !strings.Contains(err.Error(), "content/briefings/a.md:7: this line looks like a restricted block") {
			t.Errorf("%q: err = %v", fence, err)
		}
	}
}

func TestNotAnAttempt(t *testing.T) {
	c := newConv(t)
	for _, src := range []string{
		"Status: restricted to members.\n",
		"Access is restricted: ask the chair.\n",
		"Write `:: restricted` with three colons.\n",
		"```\n:: restricted to=a\n```\n",
		"Time 10:30 restricted window.\n",
		"“Restricted” is the label we use.\n",
		"(Restricted) items follow.\n",
		"**Restricted** distribution.\n",
		"« restricted » en français.\n",
	} {
		if err := Validate(c.Parse(page(src), nil)); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}

func TestWholePage(t *testing.T) {
	c := newConv(t)
	p := page("## Plan\n\nSecret body[^1].\n\n[^1]: secret note\n")
	p.Front.Audience = []string{"board"}
	p.Front.SetLine("audience", 3)
	d := c.Parse(p, nil)
	if err := Validate(d); err != nil {
		t.Fatal(err)
	}
	if len(d.Blocks) != 1 || !d.Blocks[0].Whole || d.BlockLine(d.Blocks[0]) != 3 {
		t.Fatalf("blocks = %+v", d.Blocks)
	}
	if out := strings.TrimSpace(textOutsideBlocks(d)); out != "" {
		t.Errorf("text outside the page's block: %q", out)
	}
	if hs := d.Headings(1, 6); len(hs) != 0 || d.Summary(50) != "" {
		t.Errorf("headings %v, summary %q of a restricted page", hs, d.Summary(50))
	}
	// An intro page cannot be restricted as a whole.
	intro := page("x")
	intro.Kind = site.KindSection
	intro.Front.Audience = []string{"board"}
	intro.Front.SetLine("audience", 3)
	if err := Validate(c.Parse(intro, nil)); err == nil || !strings.Contains(err.Error(), "a.md:3: audience: a home or section page cannot be restricted") {
		t.Errorf("audience on an intro: %v", err)
	}
}

// A public heading's ID must not depend on a restricted heading before it.
func TestHeadingIDsIgnoreRestrictedHeadings(t *testing.T) {
	c := newConv(t)
	d := c.Parse(page("::: restricted to=a\n## Details\n## Plan {#plan}\n:::\n\n## Details\n\n## Plan\n"), nil)
	var ids []string
	_ = ast.Walk(d.Root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			id, _ := headingID(h)
			ids = append(ids, string(id))
		}
		return ast.WalkContinue, nil
	})
	// The explicit {#plan} inside the block is the author's choice and is
	// kept, even though it repeats a public ID once the page is unlocked.
	if got, want := strings.Join(ids, " "), "details-1 plan details plan"; got != want {
		t.Errorf("heading IDs = %q, want %q (public ones as if the block were not there)", got, want)
	}
}

func TestLinksInBlocks(t *testing.T) {
	c := newConv(t)
	d := c.Parse(page("[a](one.md)\n\n::: restricted to=a\n[b](two.md)\n:::\n"), nil)
	if len(d.Links) != 2 || d.Links[0].Restricted || !d.Links[1].Restricted || d.Links[1].Line != 8 {
		t.Errorf("links = %+v", d.Links)
	}
}

// Blocks nest at most restricted.MaxDepth deep, a whole page counting as
// one: the deeper opening line is refused at its line.
func TestNestingLimit(t *testing.T) {
	c := newConv(t)
	nest := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(strings.Repeat(":", 3+n-i) + " restricted to=a\n")
		}
		b.WriteString("x\n")
		for i := range n {
			b.WriteString(strings.Repeat(":", 4+i) + "\n")
		}
		return b.String()
	}
	if err := Validate(c.Parse(page(nest(restricted.MaxDepth)), nil)); err != nil {
		t.Errorf("%d deep: %v", restricted.MaxDepth, err)
	}
	err := Validate(c.Parse(page(nest(restricted.MaxDepth+1)), nil))
	want := fmt.Sprintf("content/briefings/a.md:%d: restricted blocks nested %d deep", 5+restricted.MaxDepth, restricted.MaxDepth+1)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%d deep: err = %v, want %q", restricted.MaxDepth+1, err, want)
	}
	if err != nil && strings.Count(err.Error(), "nested") != 1 {
		t.Errorf("one error per page is enough: %v", err)
	}
	whole := page(nest(restricted.MaxDepth))
	whole.Front.Audience = []string{"a"}
	whole.Front.SetLine("audience", 2)
	if err := Validate(c.Parse(whole, nil)); err == nil || !strings.Contains(err.Error(), "nested 17 deep") {
		t.Errorf("whole page with %d blocks: err = %v", restricted.MaxDepth, err)
	}
}
