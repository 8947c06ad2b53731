package markdown

import (
	"bytes"
	"cmp"
	"html"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	ghtml "github.com/yuin/goldmark/renderer/html"

	"github.com/conclave-dev/conclave/internal/markdown/restricted"
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
	var scratch []byte
	_ = ast.Walk(d.Root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n.(type) {
		case *restricted.Block, *restricted.Preview:
			// Never list a restricted heading: in the author's preview
			// too, the table of contents is the published page's.
			return ast.WalkSkipChildren, nil
		}
		h, ok := n.(*ast.Heading)
		if !ok {
			return ast.WalkContinue, nil
		}
		if h.Level >= minLevel && h.Level <= maxLevel {
			var id []byte
			if v, ok := h.AttributeString("id"); ok {
				id, _ = v.([]byte)
			}
			// The text and the ID in one allocation: a build keeps both
			// of every heading of every page until its end, and the
			// garbage collector's work grows with the number of objects
			// it keeps.
			scratch = d.appendPlainText(scratch[:0], h)
			n := len(scratch)
			scratch = append(scratch, id...)
			both := string(scratch)
			out = append(out, Heading{Level: h.Level, ID: both[n:], Text: both[:n]})
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
	return string(d.appendPlainText(nil, n))
}

// appendPlainText appends the text of n's inline content, without markup,
// to dst: its words separated by single spaces, as strings.Fields and
// strings.Join would give them.
func (d *Doc) appendPlainText(dst []byte, n ast.Node) []byte {
	start := len(dst)
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			dst = appendShown(dst, c.Segment.Value(d.Source), c.IsRaw(), false)
			if c.SoftLineBreak() || c.HardLineBreak() {
				dst = append(dst, ' ')
			}
		case *ast.String:
			dst = appendShown(dst, c.Value, c.IsRaw(), c.IsCode())
		case *ast.CodeSpan:
			for t := c.FirstChild(); t != nil; t = t.NextSibling() {
				if txt, ok := t.(*ast.Text); ok {
					dst = append(dst, txt.Segment.Value(d.Source)...)
				}
			}
			return ast.WalkSkipChildren, nil
		case *ast.AutoLink:
			dst = append(dst, c.Label(d.Source)...)
		case *east.FootnoteLink, *east.FootnoteBacklink:
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return collapseSpace(dst, start)
}

// appendShown appends to dst the text that the page shows a reader for
// the inline text v, as goldmark's renderer writes it: backslash escapes
// and character references decoded ("R\&amp;D" shows "R&D"), unless the
// node is raw, as a code span's text is. isHTML marks v as markup already,
// whose references are decoded alone.
//
// The renderer's own writer does the decoding, so that the text a page's
// search entry and leak fragments hold is the published text, to the
// byte, whatever edge of CommonMark's reference rules v touches.
func appendShown(dst, v []byte, raw, isHTML bool) []byte {
	switch {
	case isHTML:
		return append(dst, html.UnescapeString(string(v))...)
	case raw || bytes.IndexAny(v, "\\&\x00") < 0:
		return append(dst, v...)
	}
	w := sliceWriter(make([]byte, 0, len(v)))
	ghtml.DefaultWriter.Write(&w, v)
	return append(dst, html.UnescapeString(string(w))...)
}

// sliceWriter is the buffered writer goldmark's writer wants, appending
// to a slice: a bufio.Writer takes 4 KiB for each text, 735 MB in all at
// 50,000 pages.
type sliceWriter []byte

func (w *sliceWriter) Write(p []byte) (int, error) {
	*w = append(*w, p...)
	return len(p), nil
}

func (w *sliceWriter) WriteString(s string) (int, error) {
	*w = append(*w, s...)
	return len(s), nil
}

func (w *sliceWriter) WriteByte(c byte) error {
	*w = append(*w, c)
	return nil
}

func (w *sliceWriter) WriteRune(r rune) (int, error) {
	n := len(*w)
	*w = utf8.AppendRune(*w, r)
	return len(*w) - n, nil
}

func (w *sliceWriter) Available() int { return cap(*w) - len(*w) }
func (w *sliceWriter) Buffered() int  { return len(*w) }
func (w *sliceWriter) Flush() error   { return nil }

// collapseSpace rewrites b[start:] in place as strings.Fields and
// strings.Join(…, " ") would: white space (unicode.IsSpace) trimmed at
// both ends and each run of it made one space; every other byte, invalid
// UTF-8 included, kept as it is.
func collapseSpace(b []byte, start int) []byte {
	w := start
	space := false // a space is due before the next word
	for r := start; r < len(b); {
		c := b[r]
		if c < utf8.RuneSelf { // most text: one byte, looked up
			if asciiSpace[c] {
				space = w > start
				r++
				continue
			}
			if space {
				b[w] = ' '
				w++
				space = false
			}
			b[w] = c
			w++
			r++
			continue
		}
		u, size := utf8.DecodeRune(b[r:])
		if unicode.IsSpace(u) {
			space = w > start
			r += size
			continue
		}
		if space {
			b[w] = ' '
			w++
			space = false
		}
		w += copy(b[w:], b[r:r+size])
		r += size
	}
	return b[:w]
}

// asciiSpace marks the bytes below utf8.RuneSelf that unicode.IsSpace
// holds for.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

func truncateWords(s string, n int) string {
	words := strings.Fields(s)
	if len(words) <= n {
		return s
	}
	return strings.Join(words[:n], " ") + "…"
}

// Texts returns the text of n and everything below it, as the pieces in
// which it could reach a page or a list: the plain text of every
// paragraph, heading and table cell, every run of text of two words or
// more, every line of code, every heading ID and every absolute link
// address. The sealing
// stage gives them to the leak scan.
func (d *Doc) Texts(n ast.Node) []string {
	var out []string
	add := func(b []byte) {
		if s := strings.TrimSpace(string(b)); s != "" {
			out = append(out, s)
		}
	}
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Paragraph, *ast.TextBlock, *east.TableCell:
			add([]byte(d.plainText(c)))
		case *ast.Heading:
			add([]byte(d.plainText(c)))
			if id, ok := headingID(c); ok {
				add(id)
			}
		case *ast.Text:
			// A run of one word ("passage.") says too little: it would
			// match the same word anywhere. The plain text of its
			// paragraph, heading or cell is kept whole above.
			// The run as it shows, and as it is written if that differs
			// ("R\&D", "R&amp;D"): a copy of the source leaks the latter.
			raw := c.Segment.Value(d.Source)
			if v := appendShown(nil, raw, c.IsRaw(), false); bytes.ContainsAny(bytes.TrimSpace(v), " \t") {
				add(v)
				if !bytes.Equal(v, raw) {
					add(raw)
				}
			}
		case *ast.String:
			if v := appendShown(nil, c.Value, c.IsRaw(), c.IsCode()); bytes.ContainsAny(bytes.TrimSpace(v), " \t") {
				add(v)
			}
		case *ast.CodeBlock, *ast.FencedCodeBlock:
			lines := c.Lines()
			for i := 0; i < lines.Len(); i++ {
				seg := lines.At(i)
				add(seg.Value(d.Source))
			}
		case *ast.Link:
			addURL(add, c.Destination, c.Title)
		case *ast.Image:
			addURL(add, c.Destination, c.Title)
		case *ast.AutoLink:
			add(c.URL(d.Source))
		}
		return ast.WalkContinue, nil
	})
	return out
}

func addURL(add func([]byte), dest, title []byte) {
	// Relative links were resolved to the site's own URLs, which are public.
	if bytes.Contains(dest, []byte(":")) {
		add(dest)
	}
	add(title)
}

// Cuts returns the byte ranges of the body that the page's restricted
// blocks hold, outermost blocks only; a page restricted as a whole is cut
// entirely. Call it before sealing.
func (d *Doc) Cuts() [][2]int {
	spans := make([][2]int, 0, len(d.Blocks)+2*len(d.lifted))
	for _, b := range d.Blocks {
		if b.Whole {
			return [][2]int{{0, len(d.Source)}}
		}
		spans = append(spans, [2]int{b.Offset, max(b.End, b.Offset)})
	}
	spans = append(spans, d.fenceCuts()...)
	// Blocks come in the tree's order, which is not the source's: goldmark
	// moves footnotes to the end. Sort, then merge nested and touching
	// ranges.
	slices.SortFunc(spans, func(a, b [2]int) int { return cmp.Compare(a[0], b[0]) })
	var cuts [][2]int
	for _, s := range spans {
		if n := len(cuts); n > 0 && s[0] <= cuts[n-1][1] {
			cuts[n-1][1] = max(cuts[n-1][1], s[1])
			continue
		}
		cuts = append(cuts, s)
	}
	return cuts
}

// Cut returns src without the byte ranges cuts (as given by [Doc.Cuts]):
// the page's public markdown.
func Cut(src []byte, cuts [][2]int) []byte {
	if len(cuts) == 0 {
		return src
	}
	out := make([]byte, 0, len(src))
	off := 0
	for _, c := range cuts {
		out = append(out, src[off:min(c[0], len(src))]...)
		out = append(out, '\n')
		off = min(c[1], len(src))
	}
	return append(out, src[off:]...)
}
