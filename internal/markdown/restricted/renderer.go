package restricted

import (
	"errors"
	"html"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"

	"github.com/conclave-dev/conclave/internal/tlp"
)

// ErrUnsealed is returned when a [Block] reaches the renderer: every block
// must be sealed first.
var ErrUnsealed = errors.New("restricted block reached the renderer unsealed (refused: it would be published in clear)")

// Placeholder markup. A [Sealed] node renders as
//
//	<section class="sealed tlp-amber" data-packet="packets/….age" data-tlp="amber" aria-label="Sealed passage">
//	<p class="sealed-label"><span class="tlp-label">TLP:AMBER</span> Sealed for board</p>
//	<p class="sealed-help">…</p>
//	</section>
//
// with no other section element inside. Readers (the unlock script,
// conclave open) find placeholders by the attribute data-packet, whose value
// is the packet's path from the site root, and replace the whole element.
const (
	PlaceholderStart = `<section class="sealed`
	PlaceholderEnd   = "</section>"
)

// helpText is the placeholder's note to readers.
func helpText(what string) string {
	return `Only its recipients can read this ` + what + `. They read it with their age identity: in this page, which needs JavaScript; with <code>conclave open -i IDENTITY --key SIGNING_KEY.pub SITE</code>; or with the <code>age</code> command and the keyrings in <code>packets/keyrings/</code>.`
}

// Boilerplate is the text every placeholder carries whatever it seals:
// text the site publishes on purpose.
func Boilerplate() []string {
	return []string{"Sealed passage for", "Sealed briefing for", helpText("passage"), helpText("briefing")}
}

type htmlRenderer struct{}

// NewRenderer returns the renderer of restricted blocks and placeholders.
func NewRenderer() renderer.NodeRenderer { return htmlRenderer{} }

func (htmlRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(KindBlock, func(util.BufWriter, []byte, ast.Node, bool) (ast.WalkStatus, error) {
		return ast.WalkStop, ErrUnsealed
	})
	reg.Register(KindSealed, renderSealed)
}

func renderSealed(w util.BufWriter, _ []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	s := n.(*Sealed)
	class := "sealed"
	if s.TLP != tlp.None {
		class += " tlp-" + s.TLP.Class()
	}
	if s.Whole {
		class += " sealed-page"
	}
	w.WriteString(`<section class="` + class + `" data-packet="` + html.EscapeString(s.Packet) + `"`)
	if s.TLP != tlp.None {
		w.WriteString(` data-tlp="` + s.TLP.String() + `"`)
	}
	w.WriteString(` aria-label="Sealed passage">` + "\n")
	w.WriteString(`<p class="sealed-label">`)
	if s.TLP != tlp.None {
		w.WriteString(`<span class="tlp-label">` + s.TLP.Display() + `</span> `)
	}
	what := "passage"
	if s.Whole {
		what = "briefing"
	}
	w.WriteString("Sealed " + what + " for " + html.EscapeString(s.Audience) + "</p>\n")
	w.WriteString(`<p class="sealed-help">` + helpText(what) + `</p>` + "\n")
	w.WriteString(PlaceholderEnd + "\n")
	return ast.WalkSkipChildren, nil
}

type extension struct{}

// Extension adds restricted blocks to a goldmark instance.
var Extension goldmark.Extender = extension{}

func (extension) Extend(m goldmark.Markdown) {
	m.Parser().AddOptions(parser.WithBlockParsers(util.Prioritized(NewParser(), 50)))
	m.Renderer().AddOptions(renderer.WithNodeRenderers(util.Prioritized(NewRenderer(), 50)))
}
