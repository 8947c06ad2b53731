package markdown

import (
	"strings"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
)

// Heading is an entry of a table of contents.
type Heading struct {
	Level int
	ID    string
	Text  string
}

// Headings lists the document's headings of the given levels in order,
// with their IDs and plain text.
func (d *Doc) Headings(minLevel, maxLevel int) []Heading {
	var out []Heading
	_ = ast.Walk(d.Root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		h, ok := n.(*ast.Heading)
		if !ok {
			return ast.WalkContinue, nil
		}
		if h.Level >= minLevel && h.Level <= maxLevel {
			id := ""
			if v, ok := h.AttributeString("id"); ok {
				if b, ok := v.([]byte); ok {
					id = string(b)
				}
			}
			out = append(out, Heading{Level: h.Level, ID: id, Text: d.plainText(h)})
		}
		return ast.WalkSkipChildren, nil
	})
	return out
}

// Summary returns the plain text of the document's first paragraph,
// shortened to about maxWords words.
func (d *Doc) Summary(maxWords int) string {
	for n := d.Root.FirstChild(); n != nil; n = n.NextSibling() {
		if p, ok := n.(*ast.Paragraph); ok {
			return truncateWords(d.plainText(p), maxWords)
		}
	}
	return ""
}

// plainText is the text of n's inline content, without markup.
func (d *Doc) plainText(n ast.Node) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Segment.Value(d.Source))
			if c.SoftLineBreak() || c.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		case *ast.CodeSpan:
			for t := c.FirstChild(); t != nil; t = t.NextSibling() {
				if txt, ok := t.(*ast.Text); ok {
					b.Write(txt.Segment.Value(d.Source))
				}
			}
			return ast.WalkSkipChildren, nil
		case *ast.AutoLink:
			b.Write(c.Label(d.Source))
		case *east.FootnoteLink, *east.FootnoteBacklink:
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

func truncateWords(s string, n int) string {
	words := strings.Fields(s)
	if len(words) <= n {
		return s
	}
	return strings.Join(words[:n], " ") + "…"
}
