package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Change is a difference in access to one passage, or one attachment,
// between two reports.
type Change struct {
	// File is the attachment's path, for a change to an attachment; Page,
	// Index, Line and the labels are then empty.
	File  string `json:"file,omitempty"`
	Page  string `json:"page,omitempty"`
	Index int    `json:"index"`
	Line  int    `json:"line"` // in the new version; in the old one for a removed passage
	Kind  string `json:"kind"` // "new", "removed", "changed", or "lifted" (its embargo lifted: it is public)
	// Gained and Lost are the recipients who may read the passage now and
	// could not before, and the reverse. For a new passage, Gained is
	// every reader; for a removed one, Lost is.
	Gained []string `json:"gained,omitempty"`
	Lost   []string `json:"lost,omitempty"`
	OldTLP string   `json:"oldTLP,omitempty"`
	TLP    string   `json:"tlp,omitempty"`
}

// DiffJSON returns changes as indented JSON: a list, empty when nothing
// changed.
func DiffJSON(changes []Change) []byte {
	if changes == nil {
		changes = []Change{}
	}
	b, _ := json.MarshalIndent(changes, "", "  ")
	return append(b, '\n')
}

// Diff lists what changed in access from old to cur, passage by passage,
// in page order. A passage is known by its page and its rank there.
func Diff(old, cur *Report) []Change {
	// A passage whose embargo lifted by cur's time is public now: it is
	// told as lifted, and the passages after it on its page are ranked
	// as cur ranks them, without it.
	var out []Change
	kept := make([]Passage, 0, len(old.Passages))
	shift := map[string]int{} // page -> passages lifted so far
	for _, o := range old.Passages {
		if o.Embargo != "" && cur.AsOf != "" && o.Embargo <= cur.AsOf { // RFC 3339, UTC, to the second: sorted as times
			out = append(out, Change{Page: o.Page, Index: o.Index, Line: o.Line, Kind: "lifted", OldTLP: o.TLP, TLP: o.After})
			shift[o.Page]++
			continue
		}
		o.Index -= shift[o.Page]
		kept = append(kept, o)
	}
	before := map[string]Passage{}
	for _, p := range kept {
		before[p.key()] = p
	}
	seen := map[string]bool{}
	for _, p := range cur.Passages {
		seen[p.key()] = true
		o, ok := before[p.key()]
		if !ok {
			out = append(out, Change{Page: p.Page, Index: p.Index, Line: p.Line, Kind: "new", Gained: p.Readers, TLP: p.TLP})
			continue
		}
		gained, lost := minus(p.Readers, o.Readers), minus(o.Readers, p.Readers)
		if len(gained) > 0 || len(lost) > 0 || o.TLP != p.TLP {
			out = append(out, Change{Page: p.Page, Index: p.Index, Line: p.Line, Kind: "changed", Gained: gained, Lost: lost, OldTLP: o.TLP, TLP: p.TLP})
		}
	}
	for _, o := range kept {
		if !seen[o.key()] {
			out = append(out, Change{Page: o.Page, Index: o.Index, Line: o.Line, Kind: "removed", Lost: o.Readers, OldTLP: o.TLP})
		}
	}
	slices.SortFunc(out, func(a, b Change) int {
		return comparePassages(Passage{Page: a.Page, Index: a.Index}, Passage{Page: b.Page, Index: b.Index})
	})
	return append(out, diffAttachments(old.Attachments, cur.Attachments)...)
}

// diffAttachments lists what changed in access to attachments, by file.
func diffAttachments(old, cur []Attachment) []Change {
	before := map[string]Attachment{}
	for _, a := range old {
		before[a.File] = a
	}
	var out []Change
	for _, a := range cur {
		o, ok := before[a.File]
		delete(before, a.File)
		switch gained, lost := minus(a.Readers, o.Readers), minus(o.Readers, a.Readers); {
		case !ok:
			out = append(out, Change{File: a.File, Kind: "new", Gained: a.Readers})
		case len(gained) > 0 || len(lost) > 0:
			out = append(out, Change{File: a.File, Kind: "changed", Gained: gained, Lost: lost})
		}
	}
	for _, o := range before {
		out = append(out, Change{File: o.File, Kind: "removed", Lost: o.Readers})
	}
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.File, b.File) })
	return out
}

// minus returns the names of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// Print writes the report for a terminal: each page's passages with their
// label, audience and readers, then each recipient's count.
func (r *Report) Print(w io.Writer) {
	if len(r.Passages) == 0 {
		fmt.Fprintln(w, "No restricted passages: every page is public.")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	page := ""
	for _, p := range r.Passages {
		if p.Page != page {
			if page != "" {
				fmt.Fprintln(tw)
			}
			page = p.Page
			fmt.Fprintln(tw, p.Page)
		}
		where := fmt.Sprintf("line %d", p.Line)
		if p.Whole {
			where = "whole page"
		}
		if p.Nested > 0 {
			where += fmt.Sprintf(" (in #%d)", p.Nested)
		}
		label := "-"
		if p.TLP != "" {
			label = "TLP:" + strings.ToUpper(p.TLP)
		}
		fmt.Fprintf(tw, "  #%d\t%s\t%s\t%s\t%s\n", p.Index, where, label, p.Audience, strings.Join(p.Readers, ", "))
	}
	tw.Flush()
	if len(r.Lifts) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "Embargoes (published in clear at the first build from their time; as of %s):\n", r.AsOf)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, l := range r.Lifts {
			what := fmt.Sprintf("%s:%d #%d", l.Page, l.Line, l.Index)
			if l.Whole {
				what += " (whole page)"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\tthen TLP:%s\n", l.Time, what, l.Audience, strings.ToUpper(l.After))
		}
		tw.Flush()
	}
	if len(r.Attachments) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Attachments (sealed files):")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, a := range r.Attachments {
			fmt.Fprintf(tw, "  %s\t%s\n", a.File, strings.Join(a.Readers, ", "))
		}
		tw.Flush()
	}
	if len(r.Recipients) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Recipients:")
	names := make([]string, 0, len(r.Recipients))
	for n := range r.Recipients {
		names = append(names, n)
	}
	slices.Sort(names)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, n := range names {
		pages := map[string]bool{}
		for _, k := range r.Recipients[n] {
			pages[k[:strings.LastIndexByte(k, '#')]] = true
		}
		fmt.Fprintf(tw, "  %s\t%s on %s\n", n, plural(len(r.Recipients[n]), "passage"), plural(len(pages), "page"))
	}
	tw.Flush()
}

// PrintDiff writes changes for a terminal: + for a reader gained, - for
// one lost.
func PrintDiff(w io.Writer, changes []Change) {
	if len(changes) == 0 {
		fmt.Fprintln(w, "No change in who can read what.")
		return
	}
	for _, c := range changes {
		head := fmt.Sprintf("%s:%d #%d", c.Page, c.Line, c.Index)
		switch {
		case c.File != "":
			fmt.Fprintf(w, "%s  %s\n", c.File, map[string]string{"new": "new attachment", "removed": "attachment removed", "changed": "access to the attachment changed"}[c.Kind])
		case c.Kind == "new":
			fmt.Fprintf(w, "%s  new passage%s\n", head, tlpNote("", c.TLP))
		case c.Kind == "removed":
			fmt.Fprintf(w, "%s  passage removed\n", head)
		case c.Kind == "lifted":
			fmt.Fprintf(w, "%s  embargo lifted: published in clear%s\n", head, tlpNote(c.OldTLP, c.TLP))
		default:
			fmt.Fprintf(w, "%s  access changed%s\n", head, tlpNote(c.OldTLP, c.TLP))
		}
		for _, n := range c.Gained {
			fmt.Fprintf(w, "  + %s\n", n)
		}
		for _, n := range c.Lost {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
}

func tlpNote(old, cur string) string {
	up := func(s string) string {
		if s == "" {
			return "no label"
		}
		return "TLP:" + strings.ToUpper(s)
	}
	switch {
	case old == cur && cur == "":
		return ""
	case old == cur || old == "":
		return " (" + up(cur) + ")"
	}
	return " (" + up(old) + " → " + up(cur) + ")"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
