package markdown

import (
	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"

	"github.com/conclave-dev/conclave/internal/markdown/restricted"
)

// SearchText returns what the search index takes of n: the plain text of
// its headings, and the plain text of everything else it renders as
// text (paragraphs, list items, table cells, code), one block a line.
// Restricted passages below n, sealed or not, are left out: they belong
// to their own audience's index. n itself may be a restricted block,
// whose passage is then indexed without the passages nested in it.
func (d *Doc) SearchText(n ast.Node) (headings []string, body string) {
	var b []byte
	if n == d.Root {
		// A page's text is about as long as its markdown: one buffer
		// then, not one for each time it would double (735 MB more
		// allocated at 50,000 pages).
		b = make([]byte, 0, len(d.Source))
	}
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *restricted.Block, *restricted.Sealed, *restricted.Preview:
			if c != n {
				return ast.WalkSkipChildren, nil
			}
		case *ast.Heading:
			headings = append(headings, d.plainText(c))
			return ast.WalkSkipChildren, nil
		case *ast.Paragraph, *ast.TextBlock, *east.TableCell:
			b = d.appendPlainText(b, c)
			b = append(b, '\n')
			return ast.WalkSkipChildren, nil
		case *ast.CodeBlock, *ast.FencedCodeBlock:
			lines := c.Lines()
			for i := 0; i < lines.Len(); i++ {
				seg := lines.At(i)
				b = append(b, seg.Value(d.Source)...)
			}
			return ast.WalkSkipChildren, nil
		case *ast.HTMLBlock, *ast.RawHTML:
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return headings, string(b)
}
