package markdown

import (
	"bytes"
	"cmp"
	"strconv"
	"time"

	"github.com/yuin/goldmark/ast"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/markdown/restricted"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// Embargo is an embargo of a page: on a restricted block (embargo=), or on
// the page restricted as a whole (embargo:).
type Embargo struct {
	Time  time.Time
	After tlp.Label // the label once lifted: after=, or clear
	Line  int
	Whole bool // the page's, not a block's
	// Lifted says the passage is public text in this parse: its time is
	// at or before the converter's ([Options.Now]).
	Lifted bool
	// Names and TLP are the passage's audience as written and its label,
	// while it is sealed.
	Names []string
	TLP   tlp.Label
}

// liftEmbargoes publishes the blocks whose embargo has lifted at now:
// each leaves the tree and its children take its place, as if it had
// been written without its fence. It records every embargo of the page
// (Embargoes), and refuses one that could not lift in clear: a block
// inside a block that does not lift at or before it, and a passage that
// stays sealed, with a label stricter than the page's once the page's own
// embargo lifts.
func (d *Doc) liftEmbargoes(now time.Time) {
	if f := d.Page.Front; f.Lifted {
		d.Embargoes = append(d.Embargoes, Embargo{Time: f.Embargo, After: cmp.Or(f.After, tlp.Clear), Line: f.Line("embargo"), Whole: true, Lifted: true})
	}
	var blocks []*restricted.Block
	_ = ast.Walk(d.Root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if b, ok := n.(*restricted.Block); ok && entering {
			blocks = append(blocks, b)
		}
		return ast.WalkContinue, nil
	})
	for _, b := range blocks {
		outer := enclosing(b)
		if !b.Embargo.IsZero() {
			line := d.BlockLine(b)
			if b.Whole {
				line = d.Page.Front.Line("embargo")
			}
			d.Embargoes = append(d.Embargoes, Embargo{Time: b.Embargo, After: cmp.Or(b.After, tlp.Clear), Line: line, Whole: b.Whole, Lifted: b.Lifts(now), Names: b.To, TLP: b.TLP})
			if outer != nil && (outer.Embargo.IsZero() || outer.Embargo.After(b.Embargo)) {
				what := "the block around it, on line " + strconv.Itoa(d.BlockLine(outer)) + ","
				if outer.Whole {
					what = "the page, restricted as a whole,"
				}
				d.Errors.Add(diag.Errorf(d.Page.Path, line, "embargo=%s: %s does not lift by then, and this passage would stay sealed inside it: give the enclosing one an embargo at or before this one, or move this passage out of it",
					b.Embargo.Format(time.RFC3339), what))
			}
		}
		// A passage that stays sealed when the page's embargo lifts must
		// not be stricter than the label the page takes then.
		if w := wholeOf(b); w != nil && b != w && !w.Embargo.IsZero() && (b.Embargo.IsZero() || b.Embargo.After(w.Embargo)) {
			if after := cmp.Or(w.After, tlp.Clear); b.TLP > after {
				d.Errors.Add(diag.Errorf(d.Page.Path, d.BlockLine(b), "tlp=%s is stricter than the page's label once its embargo lifts (after: %s), when this passage is still sealed: give the page a stricter after:, or this block an embargo no later than the page's",
					b.TLP, after))
			}
		}
	}
	for _, b := range blocks {
		if b.Lifts(now) && !b.Whole {
			restricted.Lift(b)
			d.lifted = append(d.lifted, b)
		}
	}
}

// enclosing returns the innermost restricted block around b, or nil.
func enclosing(b *restricted.Block) *restricted.Block {
	for p := b.Parent(); p != nil; p = p.Parent() {
		if o, ok := p.(*restricted.Block); ok {
			return o
		}
	}
	return nil
}

// wholeOf returns the block of the page restricted as a whole that holds
// b (b itself, if it is that block), or nil.
func wholeOf(b *restricted.Block) *restricted.Block {
	for n := ast.Node(b); n != nil; n = n.Parent() {
		if o, ok := n.(*restricted.Block); ok && o.Whole {
			return o
		}
	}
	return nil
}

// fenceCuts returns the byte ranges of the fence lines of the blocks that
// lifted: the opening line, which names the audience, is not public text,
// and neither is the closing one; what is between them is.
func (d *Doc) fenceCuts() [][2]int {
	var cuts [][2]int
	for _, b := range d.lifted {
		open := b.Offset + lineLen(d.Source[b.Offset:])
		cuts = append(cuts, [2]int{b.Offset, open})
		if b.End > open {
			start := bytes.LastIndexByte(d.Source[:b.End-1], '\n') + 1
			cuts = append(cuts, [2]int{max(start, open), b.End})
		}
	}
	return cuts
}

// lineLen is the length of the first line of b, its newline included.
func lineLen(b []byte) int {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return i + 1
	}
	return len(b)
}
