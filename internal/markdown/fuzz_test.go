package markdown

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/yuin/goldmark/ast"

	"github.com/conclave-dev/conclave/internal/markdown/restricted"
)

var (
	// A start tag with a style or event-handler attribute: either would
	// break the Content-Security-Policy or run script.
	unsafeAttr = regexp.MustCompile(`(?i)<[a-z][a-z0-9]*\b[^>]*\s(style|on[a-z]+)\s*=`)
	// A link or image address, as rendered.
	urlAttr = regexp.MustCompile(`(?i)\s(href|src)="([^"]*)"`)
	// Characters browsers ignore inside a URL scheme.
	schemeNoise = regexp.MustCompile(`[\x00-\x20]|&#[0-9]+;|&#x[0-9a-f]+;|&[a-z]+;`)
)

// FuzzMarkdown checks that no markdown, however malformed, panics the
// converter, renders script, a style or event attribute, or a script URL,
// or lets restricted text out: after any prefix, a restricted block's text
// is either inside a restricted block of the tree, or the page fails
// validation; the renderer refuses an unsealed block; and once blocks are
// replaced by placeholders, the HTML holds none of their text. In the
// author's preview, the preview converter renders revealed passages, and
// only inside their banners, while the default converter refuses them.
func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{
		"# Title\n\nText with *emphasis*, `code` and a [link](other.md#x).\n",
		"## Timeline {#when .note}\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n",
		"- [x] done\n- [ ] todo\n\n~~old~~ https://example.org\n\nNote[^1].\n\n[^1]: Source.\n",
		"```go\nfunc main() {}\n```\n", "<script>alert(1)</script>\n", "[x](javascript:alert(1))\n",
		"![i](data:text/html,x)\n", "> ::: restricted to=a\n> x\n> :::\n", "- :::restricted\n",
		"## H {onclick=\"x()\" style=\"color:red\"}\n", "<a href=\"x\" onmouseover=\"y\">z</a>\n",
		"[a]: JAVASCRIPT:x\n\n[a]\n", "Setext {style=\"a\"}\n===\n",
		"::: restricted to=a\n```\n", "<div>\n", "    indented\n", "::: restricted to=a\n:::: restricted to=a\n",
		"- item\n  ::: restricted to=a\n  text\n", "> quote\n", "```\n", "::: note\n", "Para\n",
	} {
		f.Add(s)
	}
	c, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	pc, err := New(Options{Preview: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		doc := c.Parse(page(src), fakeResolver{"other.md": "../other/"})
		valid := Validate(doc) == nil
		doc.Headings(2, 3)
		doc.Summary(50)
		var b bytes.Buffer
		err := c.Render(&b, doc)
		switch {
		case len(doc.Blocks) > 0 && err == nil:
			t.Fatalf("an unsealed restricted block rendered:\n%s", b.String())
		case len(doc.Blocks) == 0 && err != nil:
			t.Fatalf("render: %v", err)
		}
		sealAll(doc)
		b.Reset()
		if err := c.Render(&b, doc); err != nil {
			t.Fatalf("render after sealing: %v", err)
		}
		html := b.String()
		if valid {
			checkSafeHTML(t, html)
		}

		// The author's preview: an unrevealed block fails there too; a
		// revealed one renders by the preview converter only.
		pdoc := pc.Parse(page(src), fakeResolver{"other.md": "../other/"})
		blocks := len(pdoc.Blocks)
		b.Reset()
		if err := pc.Render(&b, pdoc); (blocks > 0) != (err != nil) {
			t.Fatalf("preview render of %d unrevealed blocks: %v", blocks, err)
		}
		revealAll(pdoc)
		b.Reset()
		if err := pc.Render(&b, pdoc); err != nil {
			t.Fatalf("preview render after revealing: %v", err)
		}
		if valid {
			checkSafeHTML(t, b.String())
		}
		if blocks > 0 {
			b.Reset()
			if err := c.Render(&b, pdoc); !errors.Is(err, restricted.ErrPreview) {
				t.Fatalf("the default converter rendered a preview: %v", err)
			}
		}

		// Whatever comes before it, a restricted block's text stays in a
		// block, or the page is refused.
		const canary = "Embargoed detail QX7"
		for _, tail := range []string{
			"\n\n::: restricted to=board\n" + canary + "\n:::\n",
			"\n\n::: restricted to=board\n## " + canary + "\n\n- " + canary + "\n:::\n",
		} {
			doc := c.Parse(page(src+tail), nil)
			if Validate(doc) != nil {
				continue
			}
			if out := textOutsideBlocks(doc); strings.Contains(out, "QX7") {
				t.Fatalf("restricted text outside a block after:\n%q\ntext outside blocks: %q", src, out)
			}
			for _, h := range doc.Headings(1, 6) {
				if strings.Contains(h.Text+h.ID, "QX7") || strings.Contains(h.ID, "qx7") {
					t.Fatalf("restricted heading listed: %+v", h)
				}
			}
			if strings.Contains(doc.Summary(50), "QX7") {
				t.Fatalf("restricted text in the summary after:\n%q", src)
			}
			sealAll(doc)
			b.Reset()
			if err := c.Render(&b, doc); err != nil {
				t.Fatalf("render after sealing: %v", err)
			}
			if strings.Contains(b.String(), "QX7") || strings.Contains(strings.ToLower(b.String()), "qx7") {
				t.Fatalf("restricted text rendered after sealing, after:\n%q\n%s", src, b.String())
			}

			// In the preview, the text shows inside a banner only, and
			// the table of contents and summary are the published ones.
			pdoc := pc.Parse(page(src+tail), nil)
			if Validate(pdoc) != nil {
				t.Fatalf("the preview converter refuses what the default one accepts:\n%q", src+tail)
			}
			revealAll(pdoc)
			for _, h := range pdoc.Headings(1, 6) {
				if strings.Contains(h.Text+h.ID, "QX7") || strings.Contains(h.ID, "qx7") {
					t.Fatalf("restricted heading listed in a preview: %+v", h)
				}
			}
			if strings.Contains(pdoc.Summary(50), "QX7") {
				t.Fatalf("restricted text in the summary of a preview after:\n%q", src)
			}
			b.Reset()
			if err := pc.Render(&b, pdoc); err != nil {
				t.Fatalf("preview render: %v", err)
			}
			if !strings.Contains(b.String(), "QX7") {
				t.Fatalf("the preview does not show the passage, after:\n%q\n%s", src, b.String())
			}
			if out := strings.ToLower(outsidePreviews(b.String())); strings.Contains(out, "qx7") {
				t.Fatalf("restricted text outside its banner in a preview, after:\n%q\n%s", src, b.String())
			}
		}
	})
}

// sealAll replaces every restricted block of doc with a placeholder, as
// the sealing stage does, innermost first.
func sealAll(doc *Doc) {
	for i := len(doc.Blocks) - 1; i >= 0; i-- {
		restricted.Replace(doc.Blocks[i], &restricted.Sealed{Packet: "packets/x.age", Audience: "board"})
	}
	doc.Blocks = nil
}

// textOutsideBlocks is every text of doc's tree that no restricted block
// holds.
func textOutsideBlocks(doc *Doc) string {
	var b strings.Builder
	_ = ast.Walk(doc.Root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *restricted.Block:
			return ast.WalkSkipChildren, nil
		case *ast.Text:
			b.Write(n.Segment.Value(doc.Source))
			b.WriteByte(' ')
		case *ast.String:
			b.Write(n.Value)
			b.WriteByte(' ')
		case *ast.CodeBlock, *ast.FencedCodeBlock, *ast.HTMLBlock:
			lines := n.Lines()
			for i := 0; i < lines.Len(); i++ {
				seg := lines.At(i)
				b.Write(seg.Value(doc.Source))
			}
		}
		if l, ok := n.(*ast.Link); ok {
			b.Write(l.Destination)
		}
		if h, ok := n.(*ast.Heading); ok {
			if id, ok := headingID(h); ok {
				b.Write(id)
			}
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

func checkSafeHTML(t *testing.T, html string) {
	t.Helper()
	if strings.Contains(strings.ToLower(html), "<script") {
		t.Fatalf("script element rendered:\n%s", html)
	}
	if m := unsafeAttr.FindString(html); m != "" {
		t.Fatalf("unsafe attribute rendered: %s\n%s", m, html)
	}
	for _, m := range urlAttr.FindAllStringSubmatch(html, -1) {
		u := strings.ToLower(schemeNoise.ReplaceAllString(m[2], ""))
		for _, scheme := range []string{"javascript:", "vbscript:", "data:text", "file:"} {
			if strings.HasPrefix(u, scheme) {
				t.Fatalf("%s URL rendered: %s\n%s", scheme, m[0], html)
			}
		}
	}
}
