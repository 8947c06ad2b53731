// Package restricted is the goldmark extension for restricted blocks:
//
//	::: restricted to=board,cisco-psirt tlp=amber+strict
//	Any markdown: paragraphs, lists, tables, code, headings.
//	:::
//
// The extension marks blocks; it does not seal them. Its parser turns each
// block into a [*Block] holding the names and label as written. The sealing
// stage replaces every Block with a [*Sealed] placeholder that names the
// encrypted packet. The renderer renders placeholders and refuses to render
// a Block, so that a block that missed sealing fails the build instead of
// reaching a page in clear.
//
// # Syntax
//
// The opening line is three or more colons, the word "restricted", then
// key=value tokens: to= is a comma-separated list of recipient and group
// names, tlp= a TLP 2.0 label. The closing line is a run of at least as many
// colons, alone. A closing line closes the innermost open block it can
// close; lines inside a fenced code block never close anything.
//
// The parser fails closed. A line that opens a fenced block with another
// word (a misspelt "restricted", or a pandoc-style "::: note") still opens a
// Block, so its text cannot reach a page, and it is reported as a
// [Problem]; so are bad tokens, an unterminated block and a closing line
// that closes nothing.
package restricted

import (
	"fmt"
	"strings"
	"time"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// MaxDepth is how deep restricted blocks may nest, a page restricted as a
// whole counting as one: the build refuses deeper ones, and every reader
// (conclave open, the browser) opens this many levels ([format.MaxNesting]).
const MaxDepth = format.MaxNesting

// KindBlock is the node kind of a [Block].
var KindBlock = ast.NewNodeKind("RestrictedBlock")

// KindSealed is the node kind of a [Sealed] placeholder.
var KindSealed = ast.NewNodeKind("SealedPassage")

// KindPreview is the node kind of a [Preview].
var KindPreview = ast.NewNodeKind("PreviewPassage")

// Block is a restricted passage as written. Its children are the passage's
// markdown.
type Block struct {
	ast.BaseBlock

	// To lists the names of the to= token as written, in order; nil when
	// the block has no to=.
	To []string
	// TLP is the block's own label, or tlp.None if it has no tlp=.
	TLP tlp.Label
	// Embargo is the time from which the passage is published in clear
	// (embargo=, or a whole page's embargo:); zero for none. After is the
	// label it is published with then (after=), tlp.None for the default,
	// clear. See [Lift].
	Embargo time.Time
	After   tlp.Label
	// Offset is the byte offset in the source of the block's opening line,
	// from which a caller computes its line number; End is the offset just
	// after its closing line. Source[Offset:End] holds the whole block.
	Offset, End int
	// Fence is the number of colons of the opening line; 0 for a block that
	// was not written as one (a page whose front matter names an audience).
	Fence int
	// Whole is set on the block that holds a whole page's body; Line is
	// then the line of the page's audience key.
	Whole bool
	Line  int

	closed bool // by a closing line
}

// NewWhole returns a Block for a page's whole body, restricted by its
// front matter: the caller moves the page's nodes into it.
func NewWhole(to []string, label tlp.Label, line int) *Block {
	return &Block{To: to, TLP: label, Whole: true, Line: line, closed: true}
}

// Lifts reports whether b's embargo has lifted at now: b has one, and now
// is at or after it. A zero now lifts nothing.
func (b *Block) Lifts(now time.Time) bool {
	return !b.Embargo.IsZero() && !now.IsZero() && !now.Before(b.Embargo)
}

// Lift puts b's children in its place: the passage is public text from
// now on, exactly as if it had been written without its fence.
func Lift(b *Block) {
	parent := b.Parent()
	if parent == nil {
		panic("restricted: Lift of a block outside a tree")
	}
	for c := b.FirstChild(); c != nil; {
		next := c.NextSibling()
		parent.InsertBefore(parent, b, c)
		c = next
	}
	parent.RemoveChild(parent, b)
}

// Kind implements ast.Node.
func (b *Block) Kind() ast.NodeKind { return KindBlock }

// Dump implements ast.Node.
func (b *Block) Dump(source []byte, level int) {
	ast.DumpHelper(b, source, level, map[string]string{
		"To":  strings.Join(b.To, ","),
		"TLP": b.TLP.String(),
	}, nil)
}

// Sealed is the placeholder that replaces a sealed [Block]. It has no
// children: the passage's text is only in the packet.
type Sealed struct {
	ast.BaseBlock

	// Packet is the packet's path from the site root, e.g.
	// "packets/3f9a….age".
	Packet string
	// TLP is the label shown on the placeholder, or tlp.None.
	TLP tlp.Label
	// Audience is the audience's display label, e.g. "board and 2 named
	// recipients". It never holds a recipient's name.
	Audience string
	// Whole is set when the placeholder stands for a whole page's body.
	Whole bool
}

// Kind implements ast.Node.
func (s *Sealed) Kind() ast.NodeKind { return KindSealed }

// Dump implements ast.Node.
func (s *Sealed) Dump(source []byte, level int) {
	ast.DumpHelper(s, source, level, map[string]string{"Packet": s.Packet, "TLP": s.TLP.String(), "Audience": s.Audience}, nil)
}

// Replace puts s in b's place in the tree. b and its children leave the
// tree.
func Replace(b *Block, s *Sealed) {
	parent := b.Parent()
	if parent == nil {
		panic("restricted: Replace of a block outside a tree")
	}
	parent.ReplaceChild(parent, b, s)
}

// Preview is a restricted passage shown in clear in the author's preview
// (conclave serve), in place of a [Block] whose audience and label were
// checked: its children are the block's markdown. Only a renderer made
// with [WithPreview] renders it; any other refuses it ([ErrPreview]), so
// that a tree prepared for the preview can never be published.
type Preview struct {
	ast.BaseBlock

	// TLP is the passage's label (its own, inherited or the page's), or
	// tlp.None.
	TLP tlp.Label
	// Names are the recipient and group names of the passage as written
	// (to=, or the page's audience:), or its label's default audience.
	Names []string
	// Members are the recipients the names expand to, sorted.
	Members []string
	// Whole is set when the passage is a whole page's body; Title is then
	// the title the page is published under.
	Whole bool
	Title string
}

// Kind implements ast.Node.
func (p *Preview) Kind() ast.NodeKind { return KindPreview }

// Dump implements ast.Node.
func (p *Preview) Dump(source []byte, level int) {
	ast.DumpHelper(p, source, level, map[string]string{
		"Names":   strings.Join(p.Names, ","),
		"Members": strings.Join(p.Members, ","),
		"TLP":     p.TLP.String(),
	}, nil)
}

// Reveal puts p in b's place in the tree and moves b's children into p:
// the passage stays in the tree, in clear, for the author's preview.
// Blocks nested in b move with the rest, and may be revealed before or
// after b.
func Reveal(b *Block, p *Preview) {
	parent := b.Parent()
	if parent == nil {
		panic("restricted: Reveal of a block outside a tree")
	}
	for c := b.FirstChild(); c != nil; {
		next := c.NextSibling()
		p.AppendChild(p, c)
		c = next
	}
	parent.ReplaceChild(parent, b, p)
}

// Problem is a mistake in a restricted block's syntax, at a byte offset of
// the source.
type Problem struct {
	Offset int
	Msg    string
}

var problemsKey = parser.NewContextKey()

// Problems returns the problems found while parsing with pc, in the order
// they were found.
func Problems(pc parser.Context) []Problem {
	if p, ok := pc.Get(problemsKey).(*[]Problem); ok {
		return *p
	}
	return nil
}

func addProblem(pc parser.Context, off int, format string, args ...any) {
	p, ok := pc.Get(problemsKey).(*[]Problem)
	if !ok {
		p = new([]Problem)
		pc.Set(problemsKey, p)
	}
	*p = append(*p, Problem{Offset: off, Msg: fmt.Sprintf(format, args...)})
}
