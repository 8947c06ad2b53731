// Package markdown turns a page's markdown into a document tree and the tree
// into HTML. It is the only package that uses goldmark.
//
// A [Converter] is configured once per build and is safe for concurrent use.
// [Converter.Parse] gives a [Doc] whose relative links have been resolved to
// page URLs; [Validate] reports located problems in it; [Converter.Render]
// writes HTML. Tables of contents and summaries are derived from the tree
// ([Doc.Headings], [Doc.Summary]) so that later stages can change the tree
// first.
package markdown

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/chroma/v2"
	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
	"github.com/yuin/goldmark"
	highlighting "github.com/yuin/goldmark-highlighting/v2"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/markdown/restricted"
	"github.com/conclave-dev/conclave/internal/site"
)

// Options configures a [Converter].
type Options struct {
	// HighlightStyle and HighlightStyleDark are the chroma styles whose CSS
	// [Converter.HighlightCSS] writes, the second for a dark color scheme.
	// Code is always marked up with classes, never inline styles, so that
	// pages work under a strict Content-Security-Policy.
	HighlightStyle, HighlightStyleDark string
	// Preview makes a converter for the author's preview: it renders
	// restricted passages in clear, inside a banner naming their audience
	// and label, once each block is replaced by a [restricted.Preview]
	// (seal.Plan.Preview does it). Without it, the converter refuses to
	// render a passage in clear, whether as a Block or a Preview. Never
	// set it for a site that is published.
	Preview bool
	// Now is the time the site is built as of: restricted blocks whose
	// embargo is at or before it are published in clear (see
	// [Doc.Embargoes]). Zero lifts nothing.
	Now time.Time
}

// Converter parses and renders markdown with the site's extensions: GitHub
// Flavored Markdown (tables, strikethrough, autolinks, task lists),
// footnotes, heading IDs and attributes, and syntax highlighting.
// Raw HTML in markdown is not rendered.
type Converter struct {
	md               goldmark.Markdown
	style, darkStyle string
	preview          bool
	now              time.Time
}

// New returns a Converter. It fails if the highlight style is unknown.
func New(opt Options) (*Converter, error) {
	style, dark := cmp.Or(opt.HighlightStyle, "github"), cmp.Or(opt.HighlightStyleDark, "github-dark")
	for _, s := range []string{style, dark} {
		if _, ok := styles.Registry[strings.ToLower(s)]; !ok {
			return nil, fmt.Errorf("unknown highlight style %q (see https://xyproto.github.io/splash/docs/)", s)
		}
	}
	ext := restricted.Extension
	if opt.Preview {
		ext = restricted.PreviewExtension
	}
	md := goldmark.New(
		goldmark.WithExtensions(
			// GitHub Flavored Markdown, with table alignment as attributes:
			// style attributes would break the Content-Security-Policy.
			extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
			extension.Strikethrough,
			extension.Linkify,
			extension.TaskList,
			extension.Footnote,
			ext,
		),
		goldmark.WithParserOptions(
			parser.WithAutoHeadingID(),
			parser.WithAttribute(),
			// Before the footnote parser (999), which would move a
			// definition out of its block.
			parser.WithBlockParsers(util.Prioritized(observer{}, 998)),
			// Before every parser of a container block (the first of
			// goldmark's is at 100).
			parser.WithBlockParsers(util.Prioritized(nestingGuard{}, 1)),
			// After the table extension's paragraph transformer (200).
			parser.WithASTTransformers(util.Prioritized(tableWrapper{}, 900)),
		),
		goldmark.WithRendererOptions(
			html.WithXHTML(),
			// Where goldmark-highlighting's extension puts its renderer.
			renderer.WithNodeRenderers(util.Prioritized(newCodeRenderer(style), 200)),
			// Before the TaskList extension's (500): boxes with a name.
			renderer.WithNodeRenderers(util.Prioritized(taskBoxRenderer{}, 400)),
			renderer.WithNodeRenderers(util.Prioritized(tableScrollRenderer{}, 400)),
		),
	)
	return &Converter{md: md, style: style, darkStyle: dark, preview: opt.Preview, now: opt.Now}, nil
}

// Preview reports whether the converter renders restricted passages in
// clear, for the author's preview ([Options.Preview]). A nil Converter
// does not.
func (c *Converter) Preview() bool { return c != nil && c.preview }

// HighlightCSS returns the style sheet for highlighted code: the light
// style, then the dark one inside a prefers-color-scheme media query.
func (c *Converter) HighlightCSS() []byte {
	var b bytes.Buffer
	f := chromahtml.New(chromahtml.WithClasses(true))
	// Writing to a bytes.Buffer does not fail.
	_ = f.WriteCSS(&b, styles.Get(c.style))
	var dark bytes.Buffer
	_ = f.WriteCSS(&dark, styles.Get(c.darkStyle))
	b.WriteString("@media (prefers-color-scheme: dark) {\n")
	// A token the light style colours and the dark one does not would keep
	// its light colour on the dark background (Name.Other: #1f2328 on
	// #1b2128 with the github styles): it takes the text's colour instead.
	has := map[string]bool{}
	for _, m := range cssSelector.FindAllSubmatch(dark.Bytes(), -1) {
		has[string(m[1])] = true
	}
	for _, m := range cssSelector.FindAllSubmatch(b.Bytes(), -1) {
		if sel := string(m[1]); !has[sel] && strings.HasPrefix(sel, ".chroma .") {
			has[sel] = true
			fmt.Fprintf(&b, "%s { color: inherit; background-color: transparent }\n", sel)
		}
	}
	b.Write(dark.Bytes())
	b.WriteString("}\n")
	return b.Bytes()
}

// cssSelector matches the selector of each rule chroma writes, one a line.
var cssSelector = regexp.MustCompile(`(?m)^/\* \w+ \*/ ([^{]+?) \{`)

// Doc is a parsed page.
type Doc struct {
	Page   *site.Page
	Root   ast.Node
	Source []byte
	// Links are the relative links and images, and the links to an anchor
	// of the page itself ("#id"), as written.
	Links []Link
	// PrivateIDs are the IDs of the headings inside restricted blocks:
	// their words are as secret as the passage.
	PrivateIDs []string
	// Blocks are the page's restricted blocks in document order, each
	// before the blocks nested in it. Sealing replaces them in the tree.
	Blocks []*restricted.Block
	// FileLinks are the links and images of restricted blocks whose
	// target is a content file, when the resolver [Parse] was given can
	// tell ([FileTargeter]): such a file may be an attachment, sealed for
	// the blocks that link it (DESIGN §4a).
	FileLinks []FileLink
	// Embargoes are the page's embargoes, lifted or not, in document
	// order (the page's own first).
	Embargoes []Embargo
	// Errors holds problems found while parsing (broken links, mistakes in
	// restricted blocks); see [Validate].
	Errors diag.List

	// lifted are the blocks whose embargo lifted, out of the tree: their
	// fence lines are neither public text nor attempts at a block.
	lifted []*restricted.Block

	// newlines are the offsets of the newlines of Source, for Line; nil
	// until Parse sets them (then Line counts).
	newlines []int
}

// Link is a relative link or image destination of a page.
type Link struct {
	Dest string // as written
	Line int
	// Restricted is set for a link inside a restricted block.
	Restricted bool
	// Text is the plain text of a public link (not of an image), up to
	// 512 bytes, so that the build can tell a public link that repeats a
	// restricted page's title.
	Text string `json:",omitempty"`
}

// Resolver maps a relative link in a page to the URL it should have in the
// output. ok is false if the target does not exist; hint may explain why.
type Resolver interface {
	Resolve(from *site.Page, dest string) (url string, ok bool, hint string)
}

// FileTargeter is a [Resolver] that also names the content file a link
// points to ([site.Site.FileTarget]).
type FileTargeter interface {
	FileTarget(from *site.Page, dest string) (file string, ok bool)
}

// FileLink is a link or image of a restricted block to a content file.
type FileLink struct {
	Node  ast.Node          // the *ast.Link or *ast.Image
	File  string            // the file's slash path from the site root
	Block *restricted.Block // the innermost block holding the link
	Line  int
}

// Parse parses a page's body. Relative links and images are resolved with
// r, which may be nil to leave them as written (they are listed in
// [Doc.Links] either way).
func (c *Converter) Parse(p *site.Page, r Resolver) *Doc {
	doc := &Doc{Page: p, Source: p.Body, newlines: newlines(p.Body)}
	ids := &deferredIDs{}
	ctx := parser.NewContext(parser.WithIDs(ids))
	reader := &budgetReader{Reader: text.NewReader(p.Body), pc: ctx, stop: -1}
	doc.Root = c.md.Parser().Parse(reader, parser.WithContext(ctx))
	keepAttributes(doc.Root)
	if p.Front.Audience != nil && p.Kind == site.KindPage {
		// The whole body is one restricted block.
		w := restricted.NewWhole(p.Front.Audience, p.Front.TLP, p.Front.Line("audience"))
		w.Embargo, w.After = p.Front.Embargo, p.Front.After
		for c := doc.Root.FirstChild(); c != nil; {
			next := c.NextSibling()
			w.AppendChild(w, c)
			c = next
		}
		doc.Root.AppendChild(doc.Root, w)
	}
	if reader.stop >= 0 {
		doc.Errors.Add(diag.Errorf(p.Path, doc.Line(reader.stop), "nested too deep over too many lines: by this line, the page's lines have been inside more than %d block quotes, lists and restricted blocks in all "+
			"(the sum, over the lines, of the blocks around each), the most a page may cost the markdown parser; the rest of the page was not read: nest less, or split the page", MaxParseWork))
	}
	if off, ok := ctx.Get(tooDeepKey).(int); ok {
		doc.Errors.Add(diag.Errorf(p.Path, doc.Line(off), "nested too deep: block quotes, lists and restricted blocks nest more than %d levels here, the most a page may have "+
			"(the markdown parser slows down with depth); the rest of the line was not read", site.MaxNesting))
	}
	doc.liftEmbargoes(c.now)
	doc.collectBlocks(ctx)
	ids.assign(doc.Root)
	doc.PrivateIDs = privateIDs(doc.Root)
	doc.resolveLinks(r)
	return doc
}

// keepAttributes drops every attribute written in markdown
// (`## Title {#id .class style="…"}`) except id and class: a style
// attribute would break the Content-Security-Policy, and goldmark already
// drops event handlers.
func keepAttributes(root ast.Node) {
	_ = ast.Walk(root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering || n.Type() != ast.TypeBlock || n.Attributes() == nil {
			return ast.WalkContinue, nil
		}
		if _, ok := n.(*ast.Heading); ok {
			attrs := n.Attributes()
			n.RemoveAttributes()
			for _, a := range attrs {
				if name := string(a.Name); name == "id" || name == "class" {
					n.SetAttribute(a.Name, a.Value)
				}
			}
		}
		return ast.WalkContinue, nil
	})
}

// Render writes the document as HTML. It fails if the document still holds
// a restricted block: only sealed placeholders are rendered, and, by a
// preview converter ([Options.Preview]), passages prepared for the preview.
func (c *Converter) Render(w io.Writer, doc *Doc) error {
	return c.md.Renderer().Render(direct(w), doc.Source, doc.Root)
}

// RenderChildren writes the HTML of n's children, for the sealing stage
// to encrypt a block's content.
func (c *Converter) RenderChildren(w io.Writer, doc *Doc, n ast.Node) error {
	r := c.md.Renderer()
	w = direct(w)
	for child := n.FirstChild(); child != nil; child = child.NextSibling() {
		if err := r.Render(w, doc.Source, child); err != nil {
			return err
		}
	}
	return nil
}

// BlockLine returns the line of the page's file where b opens: its opening
// line, or the audience key of a whole page.
func (d *Doc) BlockLine(b *restricted.Block) int {
	if b.Whole {
		return b.Line
	}
	return d.Line(b.Offset)
}

// Line returns the line of the page's file on which byte offset off of the
// body lies. It takes a binary search, so that a page with many problems
// costs no more than linear time to report them all.
func (d *Doc) Line(off int) int {
	off = min(max(off, 0), len(d.Source))
	if d.newlines == nil {
		return d.Page.BodyLine + bytes.Count(d.Source[:off], []byte("\n"))
	}
	n, _ := slices.BinarySearch(d.newlines, off)
	return d.Page.BodyLine + n
}

// newlines returns the offsets of the newlines of src, never nil.
func newlines(src []byte) []int {
	out := make([]int, 0, bytes.Count(src, []byte("\n")))
	for i := 0; ; i++ {
		j := bytes.IndexByte(src[i:], '\n')
		if j < 0 {
			return out
		}
		i += j
		out = append(out, i)
	}
}

// nodeLine returns the file line where n starts, as near as the tree
// tells: its own lines, its first text, or its nearest block ancestor.
func (d *Doc) nodeLine(n ast.Node) int {
	for cur := n; cur != nil; cur = cur.Parent() {
		if cur.Type() == ast.TypeBlock {
			if l := cur.Lines(); l != nil && l.Len() > 0 {
				return d.Line(l.At(0).Start)
			}
		}
		if t, ok := cur.(*ast.Text); ok {
			return d.Line(t.Segment.Start)
		}
		for c := cur.FirstChild(); c != nil; c = c.NextSibling() {
			if t, ok := c.(*ast.Text); ok {
				return d.Line(t.Segment.Start)
			}
		}
	}
	return d.Page.BodyLine
}

// nestingGuard is a block parser tried before every other on each line
// that could open a container block (a block quote, a list item, a
// restricted block, a footnote). Where the blocks around the line already
// nest [site.MaxNesting] deep, it takes the line itself, as an empty leaf,
// and records where: [Converter.Parse] reports it, and the page is
// refused. goldmark's time per line grows with the blocks open around it,
// so this keeps a page's parse time linear in its size whatever it holds.
// site.Load refuses the usual shapes first, from the starts of lines; only
// the parser knows the real depth of a line that lazy continuation or
// restricted blocks (which have no markers) keep nested.
type nestingGuard struct{}

var tooDeepKey = parser.NewContextKey()

func (nestingGuard) Trigger() []byte { return []byte(">-+*0123456789:[") }

func (nestingGuard) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	if len(pc.OpenedBlocks()) < site.MaxNesting {
		return nil, parser.NoChildren // parent and its ancestors are open blocks
	}
	pos := pc.BlockOffset()
	line, seg := reader.PeekLine()
	if pos < 0 || pos >= len(line) || !opensContainer(line[pos:]) || parent.Kind() == ast.KindList {
		// A list holds only items: an item is at its list's level.
		return nil, parser.NoChildren
	}
	depth := 0 // a list and its item are one level
	for n := parent; n != nil && depth < site.MaxNesting; n = n.Parent() {
		if n.Type() == ast.TypeBlock && n.Kind() != ast.KindListItem {
			depth++
		}
	}
	if depth < site.MaxNesting {
		return nil, parser.NoChildren
	}
	if pc.Get(tooDeepKey) == nil {
		pc.Set(tooDeepKey, seg.Start+pos)
	}
	reader.AdvanceToEOL()
	return ast.NewTextBlock(), parser.NoChildren
}

func (nestingGuard) Continue(ast.Node, text.Reader, parser.Context) parser.State { return parser.Close }
func (nestingGuard) Close(ast.Node, text.Reader, parser.Context)                 {}
func (nestingGuard) CanInterruptParagraph() bool                                 { return true }
func (nestingGuard) CanAcceptIndentedLine() bool                                 { return true }

// opensContainer reports whether a line, from its first character that is
// not white space, could open a container block: a block quote (">"), a
// list item ("-", "+" or "*", or up to 9 digits and "." or ")", then white
// space or the end of the line), a restricted block (3 colons or more and
// a word) or a footnote ("[^").
func opensContainer(l []byte) bool {
	blankOrEnd := func(i int) bool { return i >= len(l) || l[i] == ' ' || l[i] == '\t' || l[i] == '\n' || l[i] == '\r' }
	switch c := l[0]; {
	case c == '>':
		return true
	case c == '-' || c == '+' || c == '*':
		return blankOrEnd(1)
	case c >= '0' && c <= '9':
		i := 0
		for i < len(l) && i < 9 && l[i] >= '0' && l[i] <= '9' {
			i++
		}
		return i < len(l) && (l[i] == '.' || l[i] == ')') && blankOrEnd(i+1)
	case c == ':':
		i := 0
		for i < len(l) && l[i] == ':' {
			i++
		}
		return i >= 3 && len(bytes.TrimSpace(l[i:])) > 0
	case c == '[':
		return len(l) > 1 && l[1] == '^'
	}
	return false
}

// MaxParseWork bounds the work of parsing one page's blocks: the sum, over
// its lines, of the container blocks open around each line (block quotes,
// lists and their items, restricted blocks, footnotes). goldmark visits
// every open block on every line, and keeps a record of 24 bytes for each
// until the outermost block closes: a page that keeps many blocks open
// over many short lines costs that much memory and time (16 nested
// restricted blocks, the most allowed, around 1 MiB of one-letter lines
// took 0.9 GB and 4.5 s to build before this bound, 8 MiB of them 6 GB
// and 43 s). 4,194,304 is about 100 MB of those records; it lets a page
// of the largest size (site.MaxPageSize) be one list of one-line items,
// or be ordinary briefing text (lines of 40 bytes or more) 40 blocks deep.
const MaxParseWork = 1 << 22

// budgetReader is the reader of a page's blocks. It counts, at the end of
// each line, the container blocks open, and once the sum passes
// MaxParseWork it reads as the end of the page: goldmark closes every
// block and stops, and [Converter.Parse] reports the line.
type budgetReader struct {
	text.Reader
	pc   parser.Context
	work int
	stop int // offset of the line where the budget ran out, or -1
}

func (r *budgetReader) AdvanceLine() {
	r.Reader.AdvanceLine()
	if r.stop >= 0 {
		return
	}
	open := r.pc.OpenedBlocks()
	n := len(open)
	if n > 0 {
		switch open[n-1].Node.Kind() {
		case ast.KindParagraph, ast.KindCodeBlock, ast.KindFencedCodeBlock, ast.KindHTMLBlock, ast.KindTextBlock:
			n-- // a leaf, not around the line
		}
	}
	r.work += n
	if r.work > MaxParseWork {
		line, seg := r.Reader.Position()
		r.stop = seg.Start
		end := len(r.Reader.Source())
		r.Reader.SetPosition(line, text.NewSegment(end, end))
	}
}

// bufferWriter lets goldmark write into a bytes.Buffer directly: given
// any other writer that is not a [util.BufWriter], it wraps it in a
// bufio.Writer of 4 KiB for each call, which it then copies out.
type bufferWriter struct{ *bytes.Buffer }

func (bufferWriter) Buffered() int { return 0 }
func (bufferWriter) Flush() error  { return nil }

// direct returns w as goldmark writes into it without a buffer of its
// own: a bytes.Buffer as a [util.BufWriter], any other writer as it is.
func direct(w io.Writer) io.Writer {
	if b, ok := w.(*bytes.Buffer); ok {
		return bufferWriter{b}
	}
	return w
}

// codeRenderer renders fenced code blocks as goldmark-highlighting does,
// with chroma and CSS classes, but with one chroma formatter for every
// block of the build: goldmark-highlighting makes a formatter for each
// block, and with it the table of the style's CSS for every token type
// (hundreds of strings), which is most of what a block costs beyond
// lexing. Blocks with attributes ("```go {linenos=true}") or in a
// language chroma does not know are left to goldmark-highlighting's own
// renderer, which writes them as before.
type codeRenderer struct {
	fallback  renderer.NodeRenderer // goldmark-highlighting's
	style     *chroma.Style
	formatter *chromahtml.Formatter // safe for concurrent use
}

func newCodeRenderer(style string) *codeRenderer {
	return &codeRenderer{
		fallback: highlighting.NewHTMLRenderer(
			highlighting.WithStyle(style),
			highlighting.WithFormatOptions(chromahtml.WithClasses(true)),
		),
		style:     styles.Get(style),
		formatter: chromahtml.New(chromahtml.WithClasses(true)),
	}
}

// SetOption passes goldmark's HTML options (XHTML) to the fallback.
func (r *codeRenderer) SetOption(name renderer.OptionName, value any) {
	if so, ok := r.fallback.(renderer.SetOptioner); ok {
		so.SetOption(name, value)
	}
}

// RegisterFuncs renders fenced code blocks, keeping the fallback's
// function for those that need it.
func (r *codeRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	var fallback renderer.NodeRendererFunc
	r.fallback.RegisterFuncs(registerFunc(func(kind ast.NodeKind, f renderer.NodeRendererFunc) {
		if kind == ast.KindFencedCodeBlock {
			fallback = f
		}
	}))
	reg.Register(ast.KindFencedCodeBlock, func(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		if ok := r.render(w, source, node.(*ast.FencedCodeBlock)); !ok {
			return fallback(w, source, node, entering)
		}
		return ast.WalkContinue, nil
	})
}

type registerFunc func(ast.NodeKind, renderer.NodeRendererFunc)

func (f registerFunc) Register(kind ast.NodeKind, fn renderer.NodeRendererFunc) { f(kind, fn) }

// render writes n highlighted, exactly as goldmark-highlighting's
// renderFencedCodeBlock does for a block without attributes in a language
// chroma knows, and reports whether it did. It writes nothing otherwise.
func (r *codeRenderer) render(w util.BufWriter, source []byte, n *ast.FencedCodeBlock) bool {
	if n.Attributes() != nil {
		return false
	}
	if n.Info != nil && bytes.IndexByte(n.Info.Segment.Value(source), '{') >= 0 {
		return false // attributes in the info string: {linenos=true}, {hl_lines=[2]}
	}
	language := n.Language(source)
	if language == nil {
		return false
	}
	lexer := lexers.Get(string(language))
	if lexer == nil {
		return false
	}
	var code strings.Builder
	lines := n.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		code.Write(seg.Value(source))
	}
	iterator, err := chroma.Coalesce(lexer).Tokenise(nil, code.String())
	if err != nil {
		return false
	}
	_ = r.formatter.Format(w, r.style, iterator)
	return true
}
