package restricted

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/tlp"
)

const help = `<p class="sealed-help">Only its recipients can read this %s, with their age identity: in this page, with JavaScript, when the site is served over HTTPS or from localhost (a page opened as a file cannot run the script); with <code>conclave open -i IDENTITY SITE</code> and the key or identity that signed the site; or with the <code>age</code> command: first your keyring, one of <code>packets/keyrings/</code>, then this %s's packet, <code>%p</code>.</p>` + "\n"

// helpFor is the help paragraph of a placeholder for what ("passage" or
// "briefing") sealed in packet (as written in HTML).
func helpFor(what, packet string) string {
	return strings.NewReplacer("%s", what, "%p", packet).Replace(help)
}

func TestRenderPlaceholder(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Sealed
		want string
	}{
		{"label and group", Sealed{Packet: "packets/3f9a.age", TLP: tlp.Amber, Audience: "board"},
			`<section class="sealed tlp-amber" data-packet="packets/3f9a.age" data-tlp="amber" aria-label="Sealed passage">` + "\n" +
				`<p class="sealed-label"><span class="tlp-label">TLP:AMBER</span> Sealed passage for board</p>` + "\n" +
				helpFor("passage", `packets/3f9a.age`) + "</section>\n"},
		{"amber+strict gets a CSS-safe class", Sealed{Packet: "packets/a.age", TLP: tlp.AmberStrict, Audience: "board and 2 named recipients"},
			`<section class="sealed tlp-amber-strict" data-packet="packets/a.age" data-tlp="amber+strict" aria-label="Sealed passage">` + "\n" +
				`<p class="sealed-label"><span class="tlp-label">TLP:AMBER+STRICT</span> Sealed passage for board and 2 named recipients</p>` + "\n" +
				helpFor("passage", `packets/a.age`) + "</section>\n"},
		{"no label", Sealed{Packet: "packets/b.age", Audience: "1 named recipient"},
			`<section class="sealed" data-packet="packets/b.age" aria-label="Sealed passage">` + "\n" +
				`<p class="sealed-label">Sealed passage for 1 named recipient</p>` + "\n" +
				helpFor("passage", `packets/b.age`) + "</section>\n"},
		{"whole page", Sealed{Packet: "packets/c.age", TLP: tlp.Red, Audience: "3 named recipients", Whole: true},
			`<section class="sealed tlp-red sealed-page" data-packet="packets/c.age" data-tlp="red" aria-label="Sealed passage">` + "\n" +
				`<p class="sealed-label"><span class="tlp-label">TLP:RED</span> Sealed briefing for 3 named recipients</p>` + "\n" +
				helpFor("briefing", `packets/c.age`) + "</section>\n"},
		{"attributes and text escaped", Sealed{Packet: `packets/"><script>x</script>.age`, TLP: tlp.Green, Audience: `<b>"r&d"</b>`},
			`<section class="sealed tlp-green" data-packet="packets/&#34;&gt;&lt;script&gt;x&lt;/script&gt;.age" data-tlp="green" aria-label="Sealed passage">` + "\n" +
				`<p class="sealed-label"><span class="tlp-label">TLP:GREEN</span> Sealed passage for &lt;b&gt;&#34;r&amp;d&#34;&lt;/b&gt;</p>` + "\n" +
				helpFor("passage", `packets/&#34;&gt;&lt;script&gt;x&lt;/script&gt;.age`) + "</section>\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := ast.NewDocument()
			s := tc.s
			doc.AppendChild(doc, &s)
			var b bytes.Buffer
			if err := newMarkdown().Renderer().Render(&b, nil, doc); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
			if !strings.HasPrefix(b.String(), format.PlaceholderStart) || !strings.HasSuffix(b.String(), format.PlaceholderEnd+"\n") || strings.Count(b.String(), "<section") != 1 {
				t.Errorf("placeholder does not start with %q and end with %q", format.PlaceholderStart, format.PlaceholderEnd)
			}
		})
	}
}

// The renderer refuses a block, and renders its placeholder once it is
// replaced.
func TestRenderRefusesBlocks(t *testing.T) {
	md := newMarkdown()
	src := []byte("Public.\n\n::: restricted to=board\nSecret text.\n\n::: restricted to=alice\nInner.\n:::\n:::\n")
	root, blocks, problems := parseBlocks(md, src)
	if len(blocks) != 2 || len(problems) != 0 {
		t.Fatalf("%d blocks, problems %v", len(blocks), problems)
	}
	var b bytes.Buffer
	if err := md.Renderer().Render(&b, src, root); !errors.Is(err, ErrUnsealed) {
		t.Fatalf("render of an unsealed tree: %v", err)
	}
	if strings.Contains(b.String(), "Secret") {
		t.Errorf("restricted text written before the error: %q", b.String())
	}
	// Once the outer block is sealed, its inner block is out of the tree.
	Replace(blocks[0], &Sealed{Packet: "packets/o.age"})
	b.Reset()
	if err := md.Renderer().Render(&b, src, root); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); !strings.HasPrefix(got, "<p>Public.</p>\n"+format.PlaceholderStart) || strings.Contains(got, "Secret") || strings.Contains(got, "Inner") {
		t.Errorf("rendered:\n%s", got)
	}
}

func TestReplaceOutsideTree(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("Replace of a block without a parent did not panic")
		}
	}()
	Replace(&Block{}, &Sealed{})
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		b    *Block
		want string
	}{
		{&Block{Fence: 3, To: []string{"board", "a"}, TLP: tlp.AmberStrict}, "::: restricted to=board,a tlp=amber+strict"},
		{&Block{Fence: 4, TLP: tlp.Red}, ":::: restricted tlp=red"},
		{&Block{Fence: 3, To: []string{}}, "::: restricted to="},
		{NewWhole([]string{"board", "alice"}, tlp.Amber, 3), "audience: [board, alice]"},
	} {
		if got := tc.b.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

// newPreviewMarkdown is goldmark with this extension for the author's
// preview.
func newPreviewMarkdown() goldmark.Markdown {
	return goldmark.New(goldmark.WithExtensions(PreviewExtension))
}

// In the author's preview, a passage renders in clear inside a banner
// that names its audience, the recipients it expands to and its label.
func TestRenderPreview(t *testing.T) {
	const passage = "<p>Secret text.</p>\n"
	for _, tc := range []struct {
		name string
		p    Preview
		want string
	}{
		{"label and group", Preview{TLP: tlp.Amber, Names: []string{"board"}, Members: []string{"alice", "bob", "carol"}},
			`<section class="preview-restricted tlp-amber" data-tlp="amber" aria-label="Restricted passage (preview)">` + "\n" +
				`<p class="preview-banner"><span class="tlp-label">TLP:AMBER</span> Restricted — for board (alice, bob, carol). Published sealed; this plaintext is shown only in the preview.</p>` + "\n" +
				passage + "</section>\n"},
		{"group and individual, amber+strict", Preview{TLP: tlp.AmberStrict, Names: []string{"board", "cisco-psirt"}, Members: []string{"alice", "bob", "cisco-psirt"}},
			`<section class="preview-restricted tlp-amber-strict" data-tlp="amber+strict" aria-label="Restricted passage (preview)">` + "\n" +
				`<p class="preview-banner"><span class="tlp-label">TLP:AMBER+STRICT</span> Restricted — for board, cisco-psirt (alice, bob, cisco-psirt). Published sealed; this plaintext is shown only in the preview.</p>` + "\n" +
				passage + "</section>\n"},
		{"individuals only: no expansion to show", Preview{TLP: tlp.Red, Names: []string{"bob", "alice", "bob"}, Members: []string{"alice", "bob"}},
			`<section class="preview-restricted tlp-red" data-tlp="red" aria-label="Restricted passage (preview)">` + "\n" +
				`<p class="preview-banner"><span class="tlp-label">TLP:RED</span> Restricted — for bob, alice, bob. Published sealed; this plaintext is shown only in the preview.</p>` + "\n" +
				passage + "</section>\n"},
		{"no label", Preview{Names: []string{"alice"}, Members: []string{"alice"}},
			`<section class="preview-restricted" aria-label="Restricted passage (preview)">` + "\n" +
				`<p class="preview-banner">Restricted — for alice. Published sealed; this plaintext is shown only in the preview.</p>` + "\n" +
				passage + "</section>\n"},
		{"whole page", Preview{TLP: tlp.AmberStrict, Names: []string{"board"}, Members: []string{"chair", "secretary"}, Whole: true, Title: "Restricted briefing"},
			`<section class="preview-restricted preview-page tlp-amber-strict" data-tlp="amber+strict" aria-label="Restricted briefing (preview)">` + "\n" +
				`<p class="preview-banner"><span class="tlp-label">TLP:AMBER+STRICT</span> Restricted page — for board (chair, secretary). It will be published sealed, titled “Restricted briefing”, without summary or tags: its title and text are shown only in the preview.</p>` + "\n" +
				passage + "</section>\n"},
		{"names escaped", Preview{TLP: tlp.Green, Names: []string{`<b>"r&d"</b>`}, Members: []string{"x"}},
			`<section class="preview-restricted tlp-green" data-tlp="green" aria-label="Restricted passage (preview)">` + "\n" +
				`<p class="preview-banner"><span class="tlp-label">TLP:GREEN</span> Restricted — for &lt;b&gt;&#34;r&amp;d&#34;&lt;/b&gt; (x). Published sealed; this plaintext is shown only in the preview.</p>` + "\n" +
				passage + "</section>\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := newPreviewMarkdown()
			src := []byte("::: restricted to=x\nSecret text.\n:::\n")
			root, blocks, problems := parseBlocks(md, src)
			if len(blocks) != 1 || len(problems) != 0 {
				t.Fatalf("%d blocks, problems %v", len(blocks), problems)
			}
			p := tc.p
			Reveal(blocks[0], &p)
			var b bytes.Buffer
			if err := md.Renderer().Render(&b, src, root); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
			if !strings.HasPrefix(b.String(), PreviewStart) {
				t.Errorf("preview does not start with %q", PreviewStart)
			}
		})
	}
}

// Nested passages nest in the preview, revealed in either order; a
// block left unrevealed still fails, even in the preview; and a renderer
// made without the preview option refuses a revealed passage.
func TestRenderPreviewNestedAndFailClosed(t *testing.T) {
	src := []byte("Public.\n\n::: restricted to=board\nOuter text.\n\n::: restricted to=alice\nInner text.\n:::\n\nOuter again.\n:::\n")
	for _, order := range []string{"outer first", "inner first"} {
		t.Run(order, func(t *testing.T) {
			md := newPreviewMarkdown()
			root, blocks, _ := parseBlocks(md, src)
			if len(blocks) != 2 {
				t.Fatalf("%d blocks", len(blocks))
			}
			outer := &Preview{TLP: tlp.Amber, Names: []string{"board"}, Members: []string{"alice", "bob"}}
			inner := &Preview{TLP: tlp.Red, Names: []string{"alice"}, Members: []string{"alice"}}
			var b bytes.Buffer
			if order == "outer first" {
				Reveal(blocks[0], outer)
				// The inner block is in the tree, unrevealed: refused.
				if err := md.Renderer().Render(&b, src, root); !errors.Is(err, ErrUnsealed) {
					t.Fatalf("preview render of an unrevealed block: %v", err)
				}
				if strings.Contains(b.String(), "Inner text") {
					t.Errorf("unrevealed text written before the error: %q", b.String())
				}
				Reveal(blocks[1], inner)
			} else {
				Reveal(blocks[1], inner)
				Reveal(blocks[0], outer)
			}
			b.Reset()
			if err := md.Renderer().Render(&b, src, root); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			want := "<p>Public.</p>\n" +
				`<section class="preview-restricted tlp-amber" data-tlp="amber" aria-label="Restricted passage (preview)">` + "\n" +
				`<p class="preview-banner"><span class="tlp-label">TLP:AMBER</span> Restricted — for board (alice, bob). Published sealed; this plaintext is shown only in the preview.</p>` + "\n" +
				"<p>Outer text.</p>\n" +
				`<section class="preview-restricted tlp-red" data-tlp="red" aria-label="Restricted passage (preview)">` + "\n" +
				`<p class="preview-banner"><span class="tlp-label">TLP:RED</span> Restricted — for alice. Published sealed; this plaintext is shown only in the preview.</p>` + "\n" +
				"<p>Inner text.</p>\n</section>\n<p>Outer again.</p>\n</section>\n"
			if got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}

			// The same tree, by a publishing renderer: refused, and
			// nothing of the passage written.
			b.Reset()
			if err := newMarkdown().Renderer().Render(&b, src, root); !errors.Is(err, ErrPreview) {
				t.Fatalf("publishing render of a preview: %v", err)
			}
			if strings.Contains(b.String(), "text") {
				t.Errorf("preview text written by a publishing renderer: %q", b.String())
			}
		})
	}
}

// Without the preview option, an unsealed block still fails, and
// NewRenderer with no option is the publishing renderer.
func TestRenderWithoutPreviewOption(t *testing.T) {
	src := []byte("::: restricted to=a\nSecret.\n:::\n")
	for name, md := range map[string]goldmark.Markdown{
		"Extension":     newMarkdown(),
		"NewRenderer()": goldmark.New(goldmark.WithExtensions(extensionWith{NewRenderer()})),
	} {
		t.Run(name, func(t *testing.T) {
			root, blocks, _ := parseBlocks(md, src)
			var b bytes.Buffer
			if err := md.Renderer().Render(&b, src, root); !errors.Is(err, ErrUnsealed) {
				t.Fatalf("render of an unsealed block: %v", err)
			}
			Reveal(blocks[0], &Preview{Names: []string{"a"}, Members: []string{"a"}})
			b.Reset()
			if err := md.Renderer().Render(&b, src, root); !errors.Is(err, ErrPreview) {
				t.Fatalf("render of a preview without the option: %v", err)
			}
			if strings.Contains(b.String(), "Secret") {
				t.Errorf("restricted text written: %q", b.String())
			}
		})
	}
}

// extensionWith adds the block parser and the given renderer.
type extensionWith struct{ r renderer.NodeRenderer }

func (e extensionWith) Extend(m goldmark.Markdown) {
	m.Parser().AddOptions(parser.WithBlockParsers(util.Prioritized(NewParser(), 50)))
	m.Renderer().AddOptions(renderer.WithNodeRenderers(util.Prioritized(e.r, 50)))
}

func TestRevealOutsideTree(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("Reveal of a block without a parent did not panic")
		}
	}()
	Reveal(&Block{}, &Preview{})
}
