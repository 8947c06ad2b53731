package markdown

import (
	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// A table wider than the page scrolls sideways inside a box of its own,
// which a keyboard must be able to reach (WCAG 2.1.1; axe's
// "scrollable-region-focusable"): every table is wrapped in
//
//	<div class="table-scroll" role="region" tabindex="0" aria-label="Table">…</div>
//
// which the theme styles as the scrolling box.
const tableScrollOpen = `<div class="table-scroll" role="region" tabindex="0" aria-label="Table">` + "\n"

// kindTableScroll is the node kind of tableScroll.
var kindTableScroll = ast.NewNodeKind("TableScroll")

// tableScroll holds one table.
type tableScroll struct{ ast.BaseBlock }

func (n *tableScroll) Kind() ast.NodeKind { return kindTableScroll }

func (n *tableScroll) Dump(source []byte, level int) { ast.DumpHelper(n, source, level, nil, nil) }

// tableWrapper puts every table of a document in a tableScroll.
type tableWrapper struct{}

func (tableWrapper) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	var tables []ast.Node
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering && n.Kind() == east.KindTable {
			tables = append(tables, n)
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	for _, t := range tables {
		w := &tableScroll{}
		t.Parent().ReplaceChild(t.Parent(), t, w)
		w.AppendChild(w, t)
	}
}

// tableScrollRenderer renders a tableScroll.
type tableScrollRenderer struct{}

func (tableScrollRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(kindTableScroll, func(w util.BufWriter, _ []byte, _ ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			_, _ = w.WriteString(tableScrollOpen)
		} else {
			_, _ = w.WriteString("</div>\n")
		}
		return ast.WalkContinue, nil
	})
}
