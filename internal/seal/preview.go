package seal

import (
	"slices"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/markdown/restricted"
)

// Preview prepares d for the author's preview (conclave serve) instead of
// sealing it: every restricted block of the plan is replaced by a
// [restricted.Preview] that keeps the passage in clear, with the names and
// members of its audience and its label, and nothing is encrypted. Only a
// converter made for the preview (markdown.Options.Preview) renders the
// result.
//
// As with [Sealer.Seal], a page without a label takes its strictest
// block's; unlike it, a page restricted as a whole keeps its title,
// summary and tags, which its banner says are sealed when published.
func (p *Plan) Preview(d *markdown.Doc) error {
	if len(d.Blocks) == 0 {
		return nil
	}
	page := *d.Page
	page.Front.TLP = p.PageLabel(d)
	for i := len(d.Blocks) - 1; i >= 0; i-- {
		b := d.Blocks[i]
		pb := p.blocks[b]
		if pb == nil {
			return diag.Errorf(d.Page.Path, d.BlockLine(b), "restricted block was not planned (a bug in conclave; refused)")
		}
		pv := &restricted.Preview{TLP: pb.label, Names: slices.Clone(pb.names), Members: slices.Clone(pb.aud.Members), Whole: b.Whole}
		if b.Whole {
			pv.Title = RestrictedTitle
		}
		restricted.Reveal(b, pv)
	}
	d.Blocks = nil
	d.Page = &page
	return nil
}
