package restricted

import (
	"fmt"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// Word is the word that opens a restricted block.
const Word = "restricted"

var tokenKeys = []string{"to", "tlp", "embargo", "after"}

type blockParser struct{}

// NewParser returns the block parser of restricted blocks.
func NewParser() parser.BlockParser { return blockParser{} }

func (blockParser) Trigger() []byte { return []byte{':'} }

func (blockParser) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	line, seg := reader.PeekLine()
	w, pos := util.IndentWidth(line, reader.LineOffset())
	if w > 3 {
		return nil, parser.NoChildren
	}
	fence, rest := colons(line[pos:])
	if fence < 3 {
		return nil, parser.NoChildren
	}
	off := seg.Start
	fields := strings.Fields(string(rest))
	if len(fields) == 0 {
		// A closing line with no block open for it to close.
		addProblem(pc, off, "a line of colons with no open restricted block to close (an opening line is %q)", strings.Repeat(":", fence)+" "+Word+" to=NAME")
		return nil, parser.NoChildren
	}
	b := &Block{Offset: off, Fence: fence}
	word := fields[0]
	// "::: restricted" may be written ":::restricted"; a word other than
	// restricted still opens a block, so that its text stays out of the
	// page, and is reported.
	switch lower := strings.ToLower(word); {
	case word == Word:
	case lower == Word:
		addProblem(pc, off, "write %q in lower case: %q", Word, word)
	case diag.Suggest(lower, []string{Word}) != "":
		addProblem(pc, off, "unknown block %q: did you mean %q? (refused: a misspelt restricted block would be published in clear)", word, Word)
	default:
		addProblem(pc, off, "unknown fenced block %q: conclave knows only %q blocks (refused, so that the text inside is not published by mistake)", word, "::: "+Word)
	}
	seen := map[string]bool{}
	for _, tok := range fields[1:] {
		if strings.Trim(tok, ":") == "" {
			continue // trailing colons, as pandoc allows: ::: restricted to=a :::
		}
		key, value, ok := strings.Cut(tok, "=")
		if !ok {
			addProblem(pc, off, "restricted block: %q is not a key=value token (want to=NAME,… and optionally tlp=LABEL)", tok)
			continue
		}
		if seen[key] {
			addProblem(pc, off, "restricted block: %s= is given twice", key)
			continue
		}
		seen[key] = true
		switch key {
		case "to":
			b.To = []string{}
			for n := range strings.SplitSeq(value, ",") {
				switch {
				case n == "":
					addProblem(pc, off, "restricted block: empty name in to=%s", value)
				case !site.NamePattern.MatchString(n):
					addProblem(pc, off, "restricted block: %q is not a recipient or group name (want lower-case letters, digits, '.', '_' or '-')", n)
				default:
					b.To = append(b.To, n)
				}
			}
			if value == "" {
				addProblem(pc, off, "restricted block: empty audience: to= names at least one recipient or group")
			}
		case "tlp", "after":
			l, err := tlp.Parse(value)
			if err != nil && key == "after" {
				addProblem(pc, off, "restricted block: after=: %v", err)
				continue
			}
			if err != nil {
				addProblem(pc, off, "restricted block: %v", err)
				continue
			}
			if key == "tlp" {
				b.TLP = l
			} else {
				b.After = l
			}
		case "embargo":
			t, err := site.ParseEmbargo(value)
			if err != nil {
				addProblem(pc, off, "restricted block: embargo=%v", err)
				continue
			}
			b.Embargo = t
		default:
			msg := fmt.Sprintf("restricted block: unknown key %q", key)
			if s := diag.Suggest(strings.ToLower(key), tokenKeys); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += " (known: to, tlp, embargo, after)"
			}
			addProblem(pc, off, "%s", msg)
		}
	}
	switch {
	case b.After != tlp.None && b.Embargo.IsZero():
		addProblem(pc, off, "restricted block: after= is the label the passage is published with when its embargo lifts: give embargo=TIME too")
	case b.After != tlp.None && b.TLP != tlp.None && b.After > b.TLP:
		addProblem(pc, off, "restricted block: after=%s is stricter than tlp=%s: a passage's label can only relax when its embargo lifts", b.After, b.TLP)
	}
	reader.AdvanceToEOL()
	return b, parser.HasChildren
}

func (blockParser) Continue(node ast.Node, reader text.Reader, pc parser.Context) parser.State {
	b := node.(*Block)
	line, seg := reader.PeekLine()
	if w, pos := util.IndentWidth(line, reader.LineOffset()); w < 4 {
		n, rest := colons(line[pos:])
		if n >= b.Fence && util.IsBlank(rest) && !deeperTakes(b, n, pc) {
			reader.AdvanceToEOL()
			b.closed, b.End = true, seg.Stop
			return parser.Close
		}
	}
	return parser.Continue | parser.HasChildren
}

// deeperTakes reports whether a closing line of n colons belongs to a
// block opened inside b: an inner restricted block it can close, or a
// fenced code or HTML block, whose lines are never fences of ours.
func deeperTakes(b *Block, n int, pc parser.Context) bool {
	opened := pc.OpenedBlocks()
	i := 0
	for i < len(opened) && opened[i].Node != ast.Node(b) {
		i++
	}
	for _, o := range opened[min(i+1, len(opened)):] {
		switch inner := o.Node.(type) {
		case *Block:
			if inner.Fence <= n {
				return true
			}
		case *ast.FencedCodeBlock, *ast.HTMLBlock:
			return true
		}
	}
	return false
}

func (blockParser) Close(node ast.Node, reader text.Reader, pc parser.Context) {
	b := node.(*Block)
	if !b.closed {
		addProblem(pc, b.Offset, "restricted block is never closed: add a line %q after its last line (inside a list item or quote, indented like the opening line)", strings.Repeat(":", b.Fence))
	}
}

func (blockParser) CanInterruptParagraph() bool { return true }

func (blockParser) CanAcceptIndentedLine() bool { return false }

// colons returns the number of colons that line starts with and the rest
// of the line.
func colons(line []byte) (int, []byte) {
	n := 0
	for n < len(line) && line[n] == ':' {
		n++
	}
	return n, line[n:]
}

// String returns the block's opening as written, for messages, e.g.
// "::: restricted to=board tlp=amber", or its front matter for a whole page.
func (b *Block) String() string {
	if b.Whole {
		return "audience: [" + strings.Join(b.To, ", ") + "]"
	}
	s := strings.Repeat(":", b.Fence) + " " + Word
	if b.To != nil {
		s += " to=" + strings.Join(b.To, ",")
	}
	if b.TLP != tlp.None {
		s += " tlp=" + b.TLP.String()
	}
	return s
}
