package restricted

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/yuin/goldmark/ast"

	"github.com/conclave-dev/conclave/internal/tlp"
)

const help = `<p class="sealed-help">Only its recipients can read this %s. They read it with their age identity: in this page, which needs JavaScript; with <code>conclave open -i IDENTITY --key SIGNING_KEY.pub SITE</code>; or with the <code>age</code> command and the keyrings in <code>packets/keyrings/</code>.</p>` + "\n"

func TestRenderPlaceholder(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Sealed
		want string
	}{
		{"label and group", Sealed{Packet: "packets/3f9a.age", TLP: tlp.Amber, Audience: "board"},
			`<section class="sealed tlp-amber" data-packet="packets/3f9a.age" data-tlp="amber" aria-label="Sealed passage">` + "\n" +
				`<p class="sealed-label"><span class="tlp-label">TLP:AMBER</span> Sealed passage for board</p>` + "\n" +
				strings.Replace(help, "%s", "passage", 1) + "</section>\n"},
		{"amber+strict gets a CSS-safe class", Sealed{Packet: "packets/a.age", TLP: tlp.AmberStrict, Audience: "board and 2 named recipients"},
			`<section class="sealed tlp-amber-strict" data-packet="packets/a.age" data-tlp="amber+strict" aria-label="Sealed passage">` + "\n" +
				`<p class="sealed-label"><span class="tlp-label">TLP:AMBER+STRICT</span> Sealed passage for board and 2 named recipients</p>` + "\n" +
				strings.Replace(help, "%s", "passage", 1) + "</section>\n"},
		{"no label", Sealed{Packet: "packets/b.age", Audience: "1 named recipient"},
			`<section class="sealed" data-packet="packets/b.age" aria-label="Sealed passage">` + "\n" +
				`<p class="sealed-label">Sealed passage for 1 named recipient</p>` + "\n" +
				strings.Replace(help, "%s", "passage", 1) + "</section>\n"},
		{"whole page", Sealed{Packet: "packets/c.age", TLP: tlp.Red, Audience: "3 named recipients", Whole: true},
			`<section class="sealed tlp-red sealed-page" data-packet="packets/c.age" data-tlp="red" aria-label="Sealed passage">` + "\n" +
				`<p class="sealed-label"><span class="tlp-label">TLP:RED</span> Sealed briefing for 3 named recipients</p>` + "\n" +
				strings.Replace(help, "%s", "briefing", 1) + "</section>\n"},
		{"attributes and text escaped", Sealed{Packet: `packets/"><script>x</script>.age`, TLP: tlp.Green, Audience: `<b>"r&d"</b>`},
			`<section class="sealed tlp-green" data-packet="packets/&#34;&gt;&lt;script&gt;x&lt;/script&gt;.age" data-tlp="green" aria-label="Sealed passage">` + "\n" +
				`<p class="sealed-label"><span class="tlp-label">TLP:GREEN</span> Sealed passage for &lt;b&gt;&#34;r&amp;d&#34;&lt;/b&gt;</p>` + "\n" +
				strings.Replace(help, "%s", "passage", 1) + "</section>\n"},
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
			if !strings.HasPrefix(b.String(), PlaceholderStart) || !strings.HasSuffix(b.String(), PlaceholderEnd+"\n") || strings.Count(b.String(), "<section") != 1 {
				t.Errorf("placeholder does not start with %q and end with %q", PlaceholderStart, PlaceholderEnd)
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
	if got := b.String(); !strings.HasPrefix(got, "<p>Public.</p>\n"+PlaceholderStart) || strings.Contains(got, "Secret") || strings.Contains(got, "Inner") {
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
