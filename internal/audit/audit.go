// Package audit tells who can read what: every restricted passage of a
// site with its label and the recipients its audience expands to, and what
// changed in access between two versions of a site.
//
// It reads the site's sources, as a build does, and encrypts nothing. Its
// output names recipients: it is for authors, never for publishing.
package audit

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/build"
	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/par"
	"github.com/conclave-dev/conclave/internal/seal"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// Passage is one restricted block, or a page restricted as a whole.
type Passage struct {
	Page  string `json:"page"`  // source file, e.g. "content/briefings/icasi.md"
	Index int    `json:"index"` // 1-based among the page's passages, in document order
	Line  int    `json:"line"`
	Whole bool   `json:"whole,omitempty"`
	TLP   string `json:"tlp,omitempty"`
	// Audience is the placeholder's display label; To the names as
	// written (or the [tlp] default).
	Audience string   `json:"audience"`
	To       []string `json:"to"`
	Readers  []string `json:"readers"` // recipients, sorted
	// Nested is the Index of the enclosing passage, or 0.
	Nested int `json:"nested,omitempty"`
	// Embargo is the time the passage is published in clear (RFC 3339,
	// UTC), with the label After; "" for a passage without an embargo.
	Embargo string `json:"embargo,omitempty"`
	After   string `json:"after,omitempty"`
}

// Lift is an embargo still holding: when its passage is published in
// clear, and who reads it until then.
type Lift struct {
	Time     string   `json:"time"` // RFC 3339, UTC
	Page     string   `json:"page"`
	Index    int      `json:"index"` // the passage's, among its page's
	Line     int      `json:"line"`
	Whole    bool     `json:"whole,omitempty"`
	After    string   `json:"after"` // the label it is published with
	Audience string   `json:"audience"`
	Readers  []string `json:"readers"`
}

// Attachment is a file sealed as an attachment: one that only restricted
// text links to, or a file of a page bundle restricted as a whole.
type Attachment struct {
	File    string   `json:"file"`    // e.g. "content/briefings/report.pdf"
	Readers []string `json:"readers"` // the union of the audiences that link it, sorted
}

// Report is who can read what on one version of a site.
type Report struct {
	Version  int       `json:"version"`
	Passages []Passage `json:"passages"`
	// Attachments are sorted by file; a report of an older conclave
	// has none.
	Attachments []Attachment `json:"attachments,omitempty"`
	// Recipients maps every recipient of keys/ to the passages it may
	// read, as "page#index".
	Recipients map[string][]string `json:"recipients"`
	// AsOf is the time the report is as of (RFC 3339, UTC): passages
	// whose embargo lifted by then are public, and not listed. Lifts are
	// the embargoes still holding then, by time.
	AsOf  string `json:"asOf,omitempty"`
	Lifts []Lift `json:"lifts,omitempty"`
}

// Version is the format of a [Report] in JSON.
const Version = 1

// Options controls [Load].
type Options struct {
	Drafts bool // include drafts, as build --drafts does
	// Now is the time the report is as of: embargoes lift as a build then
	// lifts them. Zero means now.
	Now time.Time
}

// Load reads the site at root and reports its passages. It fails with
// the build's located errors if the site would not build its audiences.
func Load(root string, opt Options) (*Report, error) {
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	s, err := site.Load(root, site.Options{Drafts: opt.Drafts, Now: now})
	if err != nil {
		return nil, err
	}
	reg, err := audience.Load(root, audience.LoadOptions{}) // who reads what needs no passphrase
	if err != nil {
		return nil, err
	}
	conv, err := markdown.New(markdown.Options{HighlightStyle: s.Config.HighlightStyle, HighlightStyleDark: s.Config.HighlightStyleDark, Now: now})
	if err != nil {
		return nil, err
	}
	docs := make([]*markdown.Doc, len(s.Pages))
	var (
		mu   sync.Mutex
		errs diag.List
	)
	par.Do(len(s.Pages), par.IO(), func(i int) {
		d := conv.Parse(s.Pages[i], s)
		if err := markdown.Validate(d); err != nil {
			mu.Lock()
			errs.Add(err)
			mu.Unlock()
			return
		}
		docs[i] = d
	})
	if err := errs.Err(); err != nil {
		return nil, err
	}
	var sealed []*markdown.Doc
	for _, d := range docs {
		if len(d.Blocks) > 0 {
			sealed = append(sealed, d)
		}
	}
	attached, err := build.Attachments(s, conv, docs)
	if err != nil {
		return nil, err
	}
	plan, err := seal.NewPlan(sealed, reg, s.Config)
	if err != nil {
		return nil, err
	}
	var files []site.File
	for _, f := range s.Files {
		if attached[f.Path] {
			files = append(files, f)
		}
	}
	if err := plan.Attach(sealed, files, s.Bundle, s.Config.PostQuantum); err != nil {
		return nil, err
	}
	rep := &Report{Version: Version, Recipients: map[string][]string{}, AsOf: now.UTC().Format(time.RFC3339)}
	for _, r := range reg.Recipients() {
		rep.Recipients[r.Name] = []string{}
	}
	for _, d := range sealed {
		index := map[any]int{}
		for i, b := range d.Blocks {
			index[b] = i + 1
			label, display := plan.Label(b)
			p := Passage{Page: d.Page.Path, Index: i + 1, Line: d.BlockLine(b), Whole: b.Whole, TLP: label.String(), Audience: display, To: plan.Names(b), Readers: plan.Of(b).Members}
			for n := b.Parent(); n != nil; n = n.Parent() {
				if j, ok := index[n]; ok {
					p.Nested = j
					break
				}
			}
			if !b.Embargo.IsZero() {
				p.Embargo, p.After = b.Embargo.UTC().Format(time.RFC3339), cmp.Or(b.After, tlp.Clear).String()
				rep.Lifts = append(rep.Lifts, Lift{Time: p.Embargo, Page: p.Page, Index: p.Index, Line: p.Line, Whole: p.Whole, After: p.After, Audience: p.Audience, Readers: p.Readers})
			}
			rep.Passages = append(rep.Passages, p)
			for _, m := range p.Readers {
				rep.Recipients[m] = append(rep.Recipients[m], p.key())
			}
		}
	}
	slices.SortFunc(rep.Passages, comparePassages)
	slices.SortFunc(rep.Lifts, func(a, b Lift) int {
		return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.Page, b.Page), cmp.Compare(a.Index, b.Index))
	})
	for _, a := range plan.Attachments() {
		rep.Attachments = append(rep.Attachments, Attachment{File: a.File.Path, Readers: a.Audience.Members})
	}
	slices.SortFunc(rep.Attachments, func(a, b Attachment) int { return cmp.Compare(a.File, b.File) })
	return rep, nil
}

func comparePassages(a, b Passage) int {
	return cmp.Or(cmp.Compare(a.Page, b.Page), cmp.Compare(a.Index, b.Index))
}

// key names a passage across versions: its page and its rank there.
func (p Passage) key() string { return fmt.Sprintf("%s#%d", p.Page, p.Index) }

// Parse reads a report written by [Report.JSON].
func Parse(data []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("not an audit report written by conclave audit --json: %v", err)
	}
	if r.Version != Version {
		return nil, fmt.Errorf("audit report of format version %d; this conclave reads version %d", r.Version, Version)
	}
	return &r, nil
}

// JSON returns the report as indented JSON.
func (r *Report) JSON() []byte {
	b, _ := json.MarshalIndent(r, "", "  ")
	return append(b, '\n')
}
