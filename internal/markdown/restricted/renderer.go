package restricted

import (
	"errors"
	"html"
	"slices"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// ErrUnsealed is returned when a [Block] reaches the renderer: every block
// must be sealed first.
var ErrUnsealed = errors.New("restricted block reached the renderer unsealed (refused: it would be published in clear)")

// ErrPreview is returned when a [Preview] reaches a renderer made without
// [WithPreview]: a passage prepared for the author's preview is in clear.
var ErrPreview = errors.New("restricted passage prepared for the author's preview reached a publishing renderer (refused: it would be published in clear)")

// Placeholder markup. A [Sealed] node renders as
//
//	<section class="sealed tlp-amber" data-packet="packets/….age" data-tlp="amber" aria-label="Sealed passage">
//	<p class="sealed-label"><span class="tlp-label">TLP:AMBER</span> Sealed passage for board</p>
//	<p class="sealed-help">…</p>
//	</section>
//
// with no other section element inside: the placeholder of the
// published-output contract, whose names are internal/format's. Readers
// (the unlock script, conclave open) find placeholders by the attribute
// data-packet, whose value is the packet's path from the site root, and
// replace the whole element.

// helpText is the placeholder's note to readers.
func helpText(what string) string {
	return `Only its recipients can read this ` + what + `, with their age identity: in this page, with JavaScript, when the site is served over HTTPS or from localhost (a page opened as a file cannot run the script); with <code>conclave open -i IDENTITY SITE</code> and the key or identity that signed the site; or with the <code>age</code> command: first your keyring, one of <code>` + format.KeyringDir + `/</code>, then this ` + what + `'s packet,`
}

// The help texts of the two kinds of placeholder, made once.
var (
	helpPassage  = helpText("passage")
	helpBriefing = helpText("briefing")
)

// Boilerplate is the text every placeholder carries whatever it seals:
// text the site publishes on purpose.
func Boilerplate() []string {
	return []string{format.LabelSealed + "passage for", format.LabelSealed + "briefing for", helpPassage, helpBriefing}
}

type htmlRenderer struct {
	preview bool
}

// A RendererOption configures [NewRenderer].
type RendererOption func(*htmlRenderer)

// WithPreview makes a renderer for the author's preview: it renders
// [Preview] passages in clear, inside a banner naming their audience and
// label. Never use it for a site that is published.
func WithPreview() RendererOption {
	return func(r *htmlRenderer) { r.preview = true }
}

// NewRenderer returns the renderer of restricted blocks and placeholders.
// It refuses a [Block] ([ErrUnsealed]) whatever its options, and a
// [Preview] ([ErrPreview]) unless made [WithPreview].
func NewRenderer(opts ...RendererOption) renderer.NodeRenderer {
	var r htmlRenderer
	for _, o := range opts {
		o(&r)
	}
	return r
}

func (r htmlRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(KindBlock, func(util.BufWriter, []byte, ast.Node, bool) (ast.WalkStatus, error) {
		return ast.WalkStop, ErrUnsealed
	})
	reg.Register(KindSealed, renderSealed)
	if r.preview {
		reg.Register(KindPreview, renderPreview)
	} else {
		reg.Register(KindPreview, func(util.BufWriter, []byte, ast.Node, bool) (ast.WalkStatus, error) {
			return ast.WalkStop, ErrPreview
		})
	}
}

func renderSealed(w util.BufWriter, _ []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	s := n.(*Sealed)
	// Piece by piece, each constant part one string: a page of many
	// placeholders builds no strings for them.
	packet := html.EscapeString(s.Packet) // itself when it needs no escaping
	// format.PlaceholderStart, then the other classes.
	w.WriteString(format.PlaceholderStart)
	if s.TLP != tlp.None {
		w.WriteString(" " + format.ClassTLPPrefix)
		w.WriteString(s.TLP.Class())
	}
	if s.Whole {
		w.WriteString(" " + format.ClassSealedPage)
	}
	w.WriteString(`" ` + format.AttrPacket + `="`)
	w.WriteString(packet)
	w.WriteString(`"`)
	if s.TLP != tlp.None {
		w.WriteString(` ` + format.AttrTLP + `="`)
		w.WriteString(s.TLP.String())
		w.WriteString(`"`)
	}
	w.WriteString(` aria-label="Sealed passage">` + "\n" + `<p class="` + format.ClassSealedLabel + `">`)
	if s.TLP != tlp.None {
		w.WriteString(`<span class="` + format.ClassTLPLabel + `">`)
		w.WriteString(s.TLP.Display())
		w.WriteString(`</span> `)
	}
	what, help := "passage", helpPassage
	if s.Whole {
		what, help = "briefing", helpBriefing
	}
	w.WriteString(format.LabelSealed)
	w.WriteString(what)
	w.WriteString(" for ")
	w.WriteString(html.EscapeString(s.Audience))
	w.WriteString("</p>\n" + `<p class="` + format.ClassSealedHelp + `">`)
	w.WriteString(help)
	w.WriteString(` <code>`)
	w.WriteString(packet)
	w.WriteString(`</code>.</p>` + "\n" + format.PlaceholderEnd + "\n")
	return ast.WalkSkipChildren, nil
}

// Preview markup. A [Preview] renders as
//
//	<section class="preview-restricted tlp-amber" data-tlp="amber" aria-label="Restricted passage (preview)">
//	<p class="preview-banner"><span class="tlp-label">TLP:AMBER</span> Restricted — for board (alice, bob, carol). Published sealed; this plaintext is shown only in the preview.</p>
//	…the passage…
//	</section>
//
// and a page restricted as a whole gets the class preview-page and a
// banner that says what the published site shows instead.
const PreviewStart = `<section class="preview-restricted`

func renderPreview(w util.BufWriter, _ []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		w.WriteString("</section>\n")
		return ast.WalkContinue, nil
	}
	p := n.(*Preview)
	class := "preview-restricted"
	if p.Whole {
		class += " preview-page"
	}
	if p.TLP != tlp.None {
		class += " " + format.ClassTLPPrefix + p.TLP.Class()
	}
	w.WriteString(`<section class="` + class + `"`)
	if p.TLP != tlp.None {
		w.WriteString(` ` + format.AttrTLP + `="` + p.TLP.String() + `"`)
	}
	what := "passage"
	if p.Whole {
		what = "briefing"
	}
	w.WriteString(` aria-label="Restricted ` + what + ` (preview)">` + "\n")
	w.WriteString(`<p class="preview-banner">`)
	if p.TLP != tlp.None {
		w.WriteString(`<span class="` + format.ClassTLPLabel + `">` + p.TLP.Display() + `</span> `)
	}
	w.WriteString(html.EscapeString(previewBanner(p)) + "</p>\n")
	return ast.WalkContinue, nil
}

// previewBanner is the text of a preview's banner, after its label.
func previewBanner(p *Preview) string {
	audience := strings.Join(p.Names, ", ")
	names := slices.Clone(p.Names)
	slices.Sort(names)
	if !slices.Equal(slices.Compact(names), p.Members) {
		audience += " (" + strings.Join(p.Members, ", ") + ")"
	}
	if p.Whole {
		title := "without a title"
		if p.Title != "" {
			title = "titled “" + p.Title + "”"
		}
		return "Restricted page — for " + audience + ". It will be published sealed, " + title + ", without summary or tags: its title and text are shown only in the preview."
	}
	return "Restricted — for " + audience + ". Published sealed; this plaintext is shown only in the preview."
}

type extension struct {
	preview bool
}

// Extension adds restricted blocks to a goldmark instance.
var Extension goldmark.Extender = extension{}

// PreviewExtension adds restricted blocks to a goldmark instance whose
// renderer shows [Preview] passages in clear ([WithPreview]): for the
// author's preview only, never for a published site.
var PreviewExtension goldmark.Extender = extension{preview: true}

func (e extension) Extend(m goldmark.Markdown) {
	var opts []RendererOption
	if e.preview {
		opts = append(opts, WithPreview())
	}
	m.Parser().AddOptions(parser.WithBlockParsers(util.Prioritized(NewParser(), 50)))
	m.Renderer().AddOptions(renderer.WithNodeRenderers(util.Prioritized(NewRenderer(opts...), 50)))
}
