package markdown

import (
	"bytes"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/markdown/restricted"
)

// InBlock returns the outermost restricted block that holds n, or nil.
func InBlock(n ast.Node) *restricted.Block {
	var out *restricted.Block
	for p := n.Parent(); p != nil; p = p.Parent() {
		if b, ok := p.(*restricted.Block); ok {
			out = b
		}
	}
	return out
}

func innermostBlock(n ast.Node) *restricted.Block {
	for p := n.Parent(); p != nil; p = p.Parent() {
		if b, ok := p.(*restricted.Block); ok {
			return b
		}
	}
	return nil
}

// collectBlocks lists the restricted blocks, turns the parser's problems
// into located errors, and refuses what goldmark would move out of a
// block: footnotes (their text goes to the page's public list) and link
// reference definitions (any link of the page may use them).
func (d *Doc) collectBlocks(pc parser.Context) {
	for _, p := range restricted.Problems(pc) {
		d.Errors.Add(diag.Errorf(d.Page.Path, d.Line(p.Offset), "%s", p.Msg))
	}
	for _, o := range observed(pc) {
		d.Errors.Add(diag.Errorf(d.Page.Path, d.Line(o.offset), "%s", o.msg))
	}
	_ = ast.Walk(d.Root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *restricted.Block:
			d.Blocks = append(d.Blocks, n)
			depth := 1
			for p := n.Parent(); p != nil; p = p.Parent() {
				if _, ok := p.(*restricted.Block); ok {
					depth++
				}
			}
			if depth == restricted.MaxDepth+1 {
				d.Errors.Add(diag.Errorf(d.Page.Path, d.BlockLine(n), "restricted blocks nested %d deep: at most %d may nest (a page restricted as a whole counts as one), as readers open no deeper", depth, restricted.MaxDepth))
			}
		case *east.FootnoteLink:
			// In a whole restricted page the list of notes is sealed with
			// the page; in a block, it would not be.
			if b := innermostBlock(n); b != nil && !b.Whole {
				d.Errors.Add(diag.Errorf(d.Page.Path, d.nodeLine(n), "a footnote reference inside a restricted block would show in the page's public list of notes which passage cites it: write the source in the block's text instead"))
			}
		}
		return ast.WalkContinue, nil
	})
}

// observer is a block parser that opens nothing: it sees every line that
// could start a footnote or link reference definition, with the container
// it would open in, and records those inside a restricted block.
type observer struct{}

var (
	observedKey   = parser.NewContextKey()
	footnoteDef   = regexp.MustCompile(`^\[\^[^\]\s]+\]:`)
	referenceDef  = regexp.MustCompile(`^\[(?:[^\]\\]|\\.)+\]:`)
	observerWords = []byte{'['}
)

type observation struct {
	offset int
	msg    string
}

func observed(pc parser.Context) []observation {
	if o, ok := pc.Get(observedKey).(*[]observation); ok {
		return *o
	}
	return nil
}

func (observer) Trigger() []byte { return observerWords }

func (observer) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	line, seg := reader.PeekLine()
	w, pos := util.IndentWidth(line, reader.LineOffset())
	if w > 3 {
		return nil, parser.NoChildren
	}
	inBlock := false
	for p := parent; p != nil; p = p.Parent() {
		if _, ok := p.(*restricted.Block); ok {
			inBlock = true
			break
		}
	}
	if !inBlock {
		return nil, parser.NoChildren
	}
	msg := ""
	switch rest := line[pos:]; {
	case footnoteDef.Match(rest):
		msg = "a footnote inside a restricted block would be published in the page's public list of notes: write its text in the block instead"
	case referenceDef.Match(rest):
		msg = "a link reference definition inside a restricted block can be used by any link of the page, so its address could be published: write the link inline, [text](address)"
	default:
		return nil, parser.NoChildren
	}
	o, ok := pc.Get(observedKey).(*[]observation)
	if !ok {
		o = new([]observation)
		pc.Set(observedKey, o)
	}
	*o = append(*o, observation{seg.Start, msg})
	return nil, parser.NoChildren
}

func (observer) Continue(ast.Node, text.Reader, parser.Context) parser.State { return parser.Close }
func (observer) Close(ast.Node, text.Reader, parser.Context)                 {}
func (observer) CanInterruptParagraph() bool                                 { return true }
func (observer) CanAcceptIndentedLine() bool                                 { return false }

// checkStray refuses text that looks like a restricted block but did not
// parse as one: an opening line in an indented code block, an HTML block,
// or a paragraph. Its content would otherwise be published in clear.
// Examples of the syntax belong in fenced code blocks or code spans.
func (d *Doc) checkStray() error {
	if !bytes.Contains(d.Source, []byte(":")) && utf8.Valid(d.Source) && isASCII(d.Source) {
		return nil
	}
	opened := map[int]bool{}
	for _, b := range slices.Concat(d.Blocks, d.lifted) {
		if !b.Whole {
			opened[d.Line(b.Offset)] = true
		}
	}
	var literal, unclosed []text.Segment // code that is an example; code that runs to the end
	_ = ast.Walk(d.Root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.FencedCodeBlock:
			lines := n.Lines()
			if lines.Len() == 0 {
				break
			}
			seg := text.NewSegment(lines.At(0).Start, lines.At(lines.Len()-1).Stop)
			if d.closedFence(seg.Stop) {
				literal = append(literal, seg)
			} else {
				unclosed = append(unclosed, seg)
			}
		case *ast.CodeSpan:
			for c := n.FirstChild(); c != nil; c = c.NextSibling() {
				if t, ok := c.(*ast.Text); ok {
					literal = append(literal, t.Segment)
				}
			}
		}
		return ast.WalkContinue, nil
	})
	var errs diag.List
	for _, m := range fenceAttempts(d.Source) {
		word := strings.ToLower(string(d.Source[m[2]:m[3]]))
		if word != restricted.Word && diag.Suggest(word, []string{restricted.Word}) == "" {
			continue
		}
		line := d.Line(m[0])
		if opened[line] || inSegments(literal, m[0]) {
			continue
		}
		if inSegments(unclosed, m[0]) {
			errs.Add(diag.Errorf(d.Page.Path, line, "this restricted block is inside a fenced code block that is never closed, so it would be published as code: close the code block with a line of backticks"))
			continue
		}
		if !bytes.HasPrefix(d.Source[m[0]:], []byte(":::")) {
			errs.Add(diag.Errorf(d.Page.Path, line, "this line looks like a restricted block but is not one: an opening line starts with three or more colons (%q), so its text would be published in clear", "::: "+restricted.Word+" to=NAME"))
			continue
		}
		errs.Add(diag.Errorf(d.Page.Path, line, "this line looks like a restricted block but is not one (indented 4 spaces, inside HTML, or not at the start of a line?): put the opening line on a line of its own, or write an example in a code span or fenced code block"))
	}
	return errs.Err()
}

// Attempts at an opening line: ":::" followed by a word anywhere in a
// line, inside list items, quotes and code alike; and, at the start of a
// line after any quote and list markers, a run of colons or of characters
// that may pass for them (look-alike colons such as "：" or "ː", other
// non-ASCII punctuation and symbols, invisible and combining characters
// mixed in: "::\u200b:") followed by a word.
var (
	fenceWord  = regexp.MustCompile(`:{3,}[ \t]*(\p{L}+)`)
	lineMarker = regexp.MustCompile(`^(?:[ \t>]*(?:[-*+]|\d{1,9}[.)])?[ \t>]*)*`)
)

// fenceAttempts returns the index pairs of every attempt at an opening
// line in src, as FindAllSubmatchIndex does: m[0] is where the colons
// start, m[2]:m[3] the word.
func fenceAttempts(src []byte) [][]int {
	seen := map[int]bool{}
	var out [][]int
	for _, m := range fenceWord.FindAllSubmatchIndex(src, -1) {
		seen[m[2]] = true
		out = append(out, m)
	}
	for start := 0; start < len(src); {
		end := bytes.IndexByte(src[start:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += start
		}
		if m := nearFenceLine(src, start, end); m != nil && !seen[m[2]] {
			out = append(out, m)
		}
		start = end + 1
	}
	return out
}

// nearFenceLine returns the index pairs of an attempt at an opening line
// in src[start:end], one line, or nil.
func nearFenceLine(src []byte, start, end int) []int {
	line := src[start:end]
	at := len(lineMarker.Find(line))
	colons := at
	for colons < len(line) {
		r, size := utf8.DecodeRune(line[colons:])
		if !colonLike(r) {
			break
		}
		colons += size
	}
	if colons == at {
		return nil
	}
	word := colons
	for word < len(line) && (line[word] == ' ' || line[word] == '\t') {
		word++
	}
	wend := word
	for wend < len(line) {
		r, size := utf8.DecodeRune(line[wend:])
		if !unicode.IsLetter(r) {
			break
		}
		wend += size
	}
	if wend == word {
		return nil
	}
	return []int{start + at, start + wend, start + word, start + wend}
}

// colonLike reports whether r may stand for a colon in a fence: a colon,
// or a non-ASCII character that is neither a letter (but for modifier
// letters, such as "ː"), a digit, a space, a quotation mark nor a bracket.
func colonLike(r rune) bool {
	switch {
	case r == ':':
		return true
	case r < utf8.RuneSelf:
		return false
	case unicode.In(r, unicode.Lm, unicode.M, unicode.Cf):
		return true
	case unicode.IsLetter(r), unicode.IsDigit(r), unicode.IsSpace(r), unicode.In(r, unicode.Pi, unicode.Pf, unicode.Ps, unicode.Pe):
		return false
	}
	return unicode.In(r, unicode.P, unicode.S, unicode.Z) || !unicode.IsGraphic(r)
}

// closedFence reports whether the line that starts at off (just after a
// fenced code block's last line) is a closing fence, once the markers of
// enclosing quotes and list items are skipped.
func (d *Doc) closedFence(off int) bool {
	rest := d.Source[min(off, len(d.Source)):]
	rest = bytes.TrimLeft(rest, " \t>")
	return bytes.HasPrefix(rest, []byte("```")) || bytes.HasPrefix(rest, []byte("~~~"))
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func inSegments(segs []text.Segment, off int) bool {
	for _, s := range segs {
		if off >= s.Start && off < s.Stop {
			return true
		}
	}
	return false
}

// deferredIDs takes goldmark's requests for automatic heading IDs during
// a parse and hands out markers; assign replaces them after the parse,
// public headings first. A public heading's ID thus never depends on the
// headings of a restricted block: "details-1" would tell that a sealed
// passage has a heading "Details".
type deferredIDs struct{ values [][]byte }

const idMarker = "\x00id"

func (d *deferredIDs) Generate(value []byte, _ ast.NodeKind) []byte {
	d.values = append(d.values, bytes.Clone(value))
	return []byte(idMarker + strconv.Itoa(len(d.values)-1))
}

func (d *deferredIDs) Put([]byte) {}

func (d *deferredIDs) assign(root ast.Node) {
	var public, private []*ast.Heading
	_ = ast.Walk(root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			if InBlock(h) != nil {
				private = append(private, h)
			} else {
				public = append(public, h)
			}
		}
		return ast.WalkContinue, nil
	})
	reg := parser.NewContext().IDs()
	for _, hs := range [][]*ast.Heading{public, private} {
		// Explicit IDs first, so that no generated ID takes one of them.
		for _, h := range hs {
			if id, ok := headingID(h); ok && !bytes.HasPrefix(id, []byte(idMarker)) {
				reg.Put(id)
			}
		}
		for _, h := range hs {
			if id, ok := headingID(h); ok && bytes.HasPrefix(id, []byte(idMarker)) {
				i, err := strconv.Atoi(string(id[len(idMarker):]))
				if err != nil || i >= len(d.values) {
					continue
				}
				h.SetAttribute([]byte("id"), reg.Generate(d.values[i], ast.KindHeading))
			}
		}
	}
}

func headingID(h *ast.Heading) ([]byte, bool) {
	v, ok := h.AttributeString("id")
	if !ok {
		return nil, false
	}
	b, ok := v.([]byte)
	return b, ok
}
