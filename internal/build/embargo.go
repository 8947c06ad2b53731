package build

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/conclave-dev/conclave/internal/markdown"
)

// EmbargoReport is an embargo of a page of the site (DESIGN §12), lifted
// in this build or still holding.
type EmbargoReport struct {
	Page string // the page's file, e.g. content/briefings/x.md
	markdown.Embargo
}

// LiftsWithin returns the embargoes of rep that still hold and lift
// within d of its time.
func (rep *Report) LiftsWithin(d time.Duration) []EmbargoReport {
	var out []EmbargoReport
	for _, e := range rep.Embargoes {
		if !e.Lifted && e.Time.Before(rep.AsOf.Add(d)) {
			out = append(out, e)
		}
	}
	return out
}

// NextLift returns the time of the first embargo still holding, if any,
// for a build as of its own start: a look ahead ([Options.AsOf]) lifts
// nothing as time goes by.
func (rep *Report) NextLift() (time.Time, bool) {
	if rep == nil || rep.LookAhead {
		return time.Time{}, false
	}
	for _, e := range rep.Embargoes { // by time
		if !e.Lifted {
			return e.Time, true
		}
	}
	return time.Time{}, false
}

// noteEmbargoes adds the embargoes of the page at path, from its record,
// to the report.
func (b *builder) noteEmbargoes(path string, rec *pageRecord) {
	for _, e := range rec.Embargoes {
		b.rep.Embargoes = append(b.rep.Embargoes, EmbargoReport{Page: path, Embargo: e})
	}
}

// sortEmbargoes orders the report's embargoes by time, then page and line.
func (b *builder) sortEmbargoes() {
	slices.SortFunc(b.rep.Embargoes, func(x, y EmbargoReport) int {
		return cmp.Or(x.Time.Compare(y.Time), strings.Compare(x.Page, y.Page), cmp.Compare(x.Line, y.Line))
	})
}

// embargoesAgree reports whether a page's embargoes, as its record holds
// them, lift at asOf as they did when it was made: otherwise the page is
// parsed again, and a passage whose embargo lifted is published.
func embargoesAgree(es []markdown.Embargo, asOf time.Time) bool {
	for _, e := range es {
		if e.Lifted != !asOf.Before(e.Time) {
			return false
		}
	}
	return true
}

// LiftCheck is what building the site as of a pending lift found: the
// errors that build would stop on, or none.
type LiftCheck struct {
	Time time.Time
	Err  error
}

// CheckLifts builds the site of opt in memory, as the author's preview
// (nothing is sealed or written), as of each time in rep at which
// embargoes still holding lift within [SoonLifts], and returns what each
// build found. A lift that makes the site fail to build (public text, once
// lifted, naming a file still sealed as an attachment, or linking into a
// passage still sealed) would stop the build that should publish it: this
// tells the author days before.
func CheckLifts(opt Options, rep *Report) []LiftCheck {
	var times []time.Time
	for _, e := range rep.LiftsWithin(SoonLifts) {
		if len(times) == 0 || !times[len(times)-1].Equal(e.Time) {
			times = append(times, e.Time)
		}
	}
	var out []LiftCheck
	for _, t := range times {
		o := opt
		o.Preview, o.AsOf, o.CacheKey, o.Out = true, t, nil, ""
		_, _, err := NewSession(o).Build(nil)
		out = append(out, LiftCheck{Time: t, Err: err})
	}
	return out
}
