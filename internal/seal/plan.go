package seal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/markdown/restricted"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// Audience is a set of recipients, after group expansion, that one or more
// blocks are sealed for. It gets one age identity per release.
type Audience struct {
	// Members are the recipients' names, sorted.
	Members []string
	// ID identifies the audience and its members' keys: a new member, a
	// removed one or a changed key gives another ID, and so a new audience
	// key. It is a hex SHA-256, never published.
	ID string
	// PostQuantum is set when the audience key is a hybrid post-quantum one.
	PostQuantum bool
}

// block is what the plan decided for one restricted block.
type block struct {
	aud     *Audience
	names   []string  // as written, or the [tlp] default
	label   tlp.Label // shown on the placeholder; tlp.None if none
	display string    // the audience as the placeholder shows it
}

// Plan is the checked audience and label of every restricted block of a
// build. [NewPlan] reports every problem before anything is encrypted.
type Plan struct {
	reg       *audience.Registry
	roster    string               // see rosterDigest
	audiences map[string]*Audience // by ID
	// byMembers are the audiences made by [Plan.audience], by its
	// arguments ([membersKey]): blocks share a few audiences, whose IDs
	// cost a digest of every member's keys.
	byMembers map[string]*Audience
	blocks    map[*restricted.Block]*block
	pageLabel map[*markdown.Doc]tlp.Label

	// Set by [Plan.Attach].
	attachments []*Attachment
	attached    map[string]*Attachment // by the file's path
	bundled     map[string][]string    // restricted bundle's page → its files
}

// NewPlan resolves the audience of every block of docs with reg and the
// site's [tlp] defaults, and checks DESIGN §2's rules: names exist, groups
// have members, a nested block's audience lies within its enclosing one's,
// TLP:RED names individuals, TLP:CLEAR is never restricted, and a page's
// label is at least its strictest block's. A page without a label takes its
// strictest block's. A site that refuses linkable keys ([seal] linkable =
// false) gets an error for every such key in keys/, restricted blocks or
// not: build, serve and audit all plan. Every problem is a located error;
// all are returned.
func NewPlan(docs []*markdown.Doc, reg *audience.Registry, cfg *site.Config) (*Plan, error) {
	p := &Plan{reg: reg, roster: rosterDigest(reg), audiences: map[string]*Audience{}, byMembers: map[string]*Audience{}, blocks: map[*restricted.Block]*block{}, pageLabel: map[*markdown.Doc]tlp.Label{}}
	var errs diag.List
	if cfg.RefuseLinkable {
		errs.Add(reg.RefuseLinkable(cfg.LinkableSetting()))
	}
	for _, d := range docs {
		errs.Add(p.planDoc(d, cfg))
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

// Reuse adds the audience of a block that an earlier build sealed and this
// build publishes again ([Sealer.Reuse]), so that its key is kept and its
// members' keyrings hold it. The earlier build checked the block; the
// caller reuses it only if nothing it depends on changed.
func (p *Plan) Reuse(r Record) {
	if _, ok := p.audiences[r.Audience.ID]; !ok {
		a := r.Audience
		a.Members = slices.Clone(a.Members)
		p.audiences[a.ID] = &a
	}
}

// Audiences lists the distinct audiences of the plan, sorted by ID.
func (p *Plan) Audiences() []*Audience {
	out := make([]*Audience, 0, len(p.audiences))
	for _, a := range p.audiences {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *Audience) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Of returns the audience of a planned block, or nil.
func (p *Plan) Of(b *restricted.Block) *Audience {
	if pb := p.blocks[b]; pb != nil {
		return pb.aud
	}
	return nil
}

// Names returns the recipient and group names of a planned block: its to=,
// or the default audience of its label.
func (p *Plan) Names(b *restricted.Block) []string {
	if pb := p.blocks[b]; pb != nil {
		return pb.names
	}
	return nil
}

// Label returns the label a planned block shows, and the audience's
// display label.
func (p *Plan) Label(b *restricted.Block) (tlp.Label, string) {
	if pb := p.blocks[b]; pb != nil {
		return pb.label, pb.display
	}
	return tlp.None, ""
}

// PageLabel returns the label of a page: its own, or its strictest
// block's when it has none.
func (p *Plan) PageLabel(d *markdown.Doc) tlp.Label {
	if l, ok := p.pageLabel[d]; ok {
		return l
	}
	return d.Page.Front.TLP
}

func (p *Plan) planDoc(d *markdown.Doc, cfg *site.Config) error {
	var errs diag.List
	file := d.Page.Path
	pageLabel := d.Page.Front.TLP
	strictest, strictestLine := tlp.None, 0
	for _, b := range d.Blocks {
		line := d.BlockLine(b)
		bad := func(format string, args ...any) {
			errs.Add(diag.Errorf(file, line, format, args...))
		}
		outer := enclosing(b)
		var outerPlan *block
		if outer != nil {
			outerPlan = p.blocks[outer]
			if outerPlan == nil {
				continue // the enclosing block has an error of its own
			}
		}

		// The label: the block's own, else its enclosing block's, else
		// the page's.
		label := b.TLP
		switch {
		case label != tlp.None:
		case outerPlan != nil:
			label = outerPlan.label
		default:
			label = pageLabel
		}

		// The names: to=, else the default audience of the block's label.
		names, from := b.To, "to="
		if b.Whole {
			from = "audience:"
		}
		if names == nil {
			if b.TLP == tlp.None {
				bad("restricted block has no to=: name its recipients or groups (to=NAME,…), or give it a tlp= label that has a default audience in %s [tlp]", site.ConfigFile)
				continue
			}
			def, ok := cfg.TLP[b.TLP]
			if !ok {
				bad("restricted block has no to= and %s has no default audience for %s: add to=NAME,…, or in %s: [tlp] %s = [\"group\"]", site.ConfigFile, b.TLP.Display(), site.ConfigFile, tomlKey(b.TLP))
				continue
			}
			names, from = def, fmt.Sprintf("the default audience of %s in %s", b.TLP.Display(), site.ConfigFile)
		}
		members, err := p.reg.Expand(names)
		if err != nil {
			// A name the author wrote is reported as such; one that
			// comes from conclave.toml says so, or the author looks
			// for it in a block that has no to=.
			var unknown *audience.UnknownNameError
			if errors.As(err, &unknown) && b.To != nil {
				bad("%v", err)
			} else {
				bad("%s: %v", from, err)
			}
			continue
		}
		if len(members) == 0 {
			bad("empty audience: %s names no recipient once its groups are expanded", from)
			continue
		}
		ok := true
		switch label {
		case tlp.Clear:
			bad("a restricted block cannot be TLP:CLEAR, which allows disclosure to anyone: use green or stricter, or do not restrict the text")
			ok = false
		case tlp.Red:
			for _, n := range names {
				if p.reg.IsGroup(n) {
					bad("TLP:RED is for named individuals, but %q is a group (in %s): name its members one by one", n, from)
					ok = false
				}
			}
		}
		if outerPlan != nil {
			if extra := difference(members, outerPlan.aud.Members); len(extra) > 0 {
				bad("nested restricted block widens the audience of the block on line %d: %s %s not in it (a nested block may only narrow it)", d.BlockLine(outer), quoteList(extra), isAre(len(extra)))
				ok = false
			}
			if b.TLP != tlp.None && b.TLP < outerPlan.label {
				bad("nested restricted block is %s inside a %s block (line %d): a nested block's label must be at least its enclosing block's", b.TLP.Display(), outerPlan.label.Display(), d.BlockLine(outer))
				ok = false
			}
		}
		if !ok {
			continue
		}
		if label > strictest {
			strictest, strictestLine = label, line
		}
		p.blocks[b] = &block{aud: p.audience(members, cfg.PostQuantum), names: names, label: label, display: p.display(names)}
	}
	if strictest != tlp.None {
		switch {
		case pageLabel == tlp.None:
			p.pageLabel[d] = strictest
		case pageLabel < strictest:
			line := max(d.Page.Front.Line("tlp"), 1)
			errs.Add(diag.Errorf(file, line, "tlp: the page is %s but its restricted block on line %d is %s: a page's label must be at least its strictest block's (set tlp: %s)", pageLabel.Display(), strictestLine, strictest.Display(), strictest))
		}
	}
	return errs.Err()
}

// enclosing returns the restricted block around b, or nil.
func enclosing(b *restricted.Block) *restricted.Block {
	for n := b.Parent(); n != nil; n = n.Parent() {
		if o, ok := n.(*restricted.Block); ok {
			return o
		}
	}
	return nil
}

// audience returns the plan's audience of these members, making it on
// first use.
//
// The audience key is post-quantum when every key of every member is: an
// X25519 key would let a future quantum computer open the keyring, and so
// the audience key, whatever that key is. A passphrase key does not count
// against it: its keyring is sealed with scrypt and ChaCha20-Poly1305,
// symmetric cryptography that a quantum computer does not break (at most
// it speeds up guessing, which the passphrase's strength already bounds).
// So an audience of post-quantum readers and passphrase guests is
// post-quantum; one of guests only stays X25519, which every age reader
// opens (the age CLI reads post-quantum keys only from version 1.3).
//
// The ID covers each key's [audience.Key.ID], passphrases included: a new
// passphrase gives the audience a new key, as a new public key does.
func (p *Plan) audience(members []string, forcePQ bool) *Audience {
	mk := membersKey(members, forcePQ)
	if a, ok := p.byMembers[mk]; ok {
		return a
	}
	a := p.newAudience(members, forcePQ)
	p.byMembers[mk] = a
	return a
}

// membersKey identifies the arguments of [Plan.audience]: recipient names
// hold no newline.
func membersKey(members []string, forcePQ bool) string {
	n := 2
	for _, m := range members {
		n += len(m) + 1
	}
	var b strings.Builder
	b.Grow(n)
	if forcePQ {
		b.WriteString("+\n")
	} else {
		b.WriteString("-\n")
	}
	for _, m := range members {
		b.WriteString(m)
		b.WriteByte('\n')
	}
	return b.String()
}

// newAudience returns the audience of these members, as [Plan.audience]
// but without its memory of earlier calls.
func (p *Plan) newAudience(members []string, forcePQ bool) *Audience {
	h := sha256.New()
	h.Write([]byte("conclave audience v1\n"))
	pq, anyPQ := true, false
	for _, m := range members {
		r, _ := p.reg.Recipient(m)
		keys := make([]string, 0, len(r.Keys))
		for _, k := range r.Keys {
			keys = append(keys, k.ID())
			pq = pq && (k.PostQuantum || k.Kind == audience.Passphrase)
			anyPQ = anyPQ || k.PostQuantum
		}
		slices.Sort(keys)
		fmt.Fprintf(h, "%s\n%s\n\n", m, strings.Join(keys, "\n"))
	}
	pq = pq && anyPQ || forcePQ
	fmt.Fprintf(h, "pq=%t\nroster=%s\n", pq, p.roster)
	id := hex.EncodeToString(h.Sum(nil))
	if a, ok := p.audiences[id]; ok {
		return a
	}
	a := &Audience{Members: members, ID: id, PostQuantum: pq}
	p.audiences[id] = a
	return a
}

// rosterDigest is a digest of every recipient's keys and every group of
// reg. It is part of every audience's ID, so that any change to keys/
// gives every audience a new key, and so every packet new ciphertext:
// packets that change between two releases then tell only that keys/
// changed, not which audience's membership did, nor who shares it.
func rosterDigest(reg *audience.Registry) string {
	h := sha256.New()
	h.Write([]byte("conclave roster v1\n"))
	for _, r := range reg.Recipients() {
		keys := make([]string, 0, len(r.Keys))
		for _, k := range r.Keys {
			keys = append(keys, k.ID())
		}
		slices.Sort(keys)
		fmt.Fprintf(h, "r %s\n%s\n\n", r.Name, strings.Join(keys, "\n"))
	}
	for _, g := range reg.Groups() {
		members := slices.Clone(g.Members)
		slices.Sort(members)
		fmt.Fprintf(h, "g %s\n%s\n\n", g.Name, strings.Join(members, "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// display is how a placeholder names an audience: its groups by name and
// its individual recipients by number, never by name.
func (p *Plan) display(names []string) string {
	var groups []string
	people := map[string]bool{}
	for _, n := range names {
		if p.reg.IsGroup(n) {
			if !slices.Contains(groups, n) {
				groups = append(groups, n)
			}
		} else {
			people[n] = true
		}
	}
	parts := groups
	switch len(people) {
	case 0:
	case 1:
		parts = append(parts, "1 named recipient")
	default:
		parts = append(parts, fmt.Sprintf("%d named recipients", len(people)))
	}
	switch len(parts) {
	case 1:
		return parts[0]
	default:
		return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
	}
}

// difference returns the members of a that are not in b; both are sorted.
func difference(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) > 5 {
		q = append(q[:5], fmt.Sprintf("and %d more", len(names)-5))
	}
	return strings.Join(q, ", ")
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// tomlKey is how a label is written as a key of conclave.toml's [tlp].
func tomlKey(l tlp.Label) string {
	if strings.Contains(l.String(), "+") {
		return `"` + l.String() + `"`
	}
	return l.String()
}
