package markdown

import (
	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"
)

// taskBoxRenderer renders a task list's box ("- [x] done") as goldmark's
// TaskList extension does, a disabled checkbox, with an accessible name:
// goldmark's has none, and a screen reader then announces a box without
// saying what it is (WCAG 4.1.2; axe's "label" rule). The name says the
// state in words, "done" or "not done"; the item's text follows the box.
// Registered at a higher priority than the extension's renderer (500), it
// replaces it.
type taskBoxRenderer struct{}

func (taskBoxRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(east.KindTaskCheckBox, renderTaskBox)
}

func renderTaskBox(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	// The converter writes XHTML (html.WithXHTML), as goldmark's renderer
	// would, and the same attributes in the same order, the name last.
	if node.(*east.TaskCheckBox).IsChecked {
		_, _ = w.WriteString(`<input checked="" disabled="" type="checkbox" aria-label="done" /> `)
	} else {
		_, _ = w.WriteString(`<input disabled="" type="checkbox" aria-label="not done" /> `)
	}
	return ast.WalkContinue, nil
}
