package build

import (
	"crypto/sha256"
	"reflect"
	"slices"
	"time"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/markdown"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/render"
	"github.com/conclave-dev/conclave/internal/search"
	"github.com/conclave-dev/conclave/internal/site"
)

// patchBase is what a patch (see [Session.patch]) takes from the last
// good build of an author's preview, besides its files and records.
type patchBase struct {
	site   *site.Site
	conv   *markdown.Converter
	render *render.Renderer
	docs   []*search.Doc // the public search entries, in the order the build gave them
	views  []*render.PageView
	intros map[string]*render.Intro
	listed *render.ListsResult // its lists, of views as sorted
	rep    *Report
}

// base returns what a patch of b's build needs, for a session's author
// preview; nil for any other build.
func (b *builder) base() *patchBase {
	if !b.preview || !b.record || b.listed == nil || b.listed.Views == nil {
		return nil
	}
	return &patchBase{site: b.site, conv: b.conv, render: b.render, docs: b.searchDocs, views: b.views, intros: b.intros, listed: b.listed, rep: b.rep}
}

// patch builds the author's preview after a body edit, in time that
// grows with the pages edited, not with the site: it renders those pages
// again, updates the search index, and forks the last good build's
// output with their files in place of theirs. It applies only when the
// edit changes nothing any other file of the build is made of, and
// nothing any check of the whole site reads:
//
//   - every path changed is a public briefing of the last build whose
//     front matter, place and warnings are the same (site.Site.Reread);
//   - no embargo of the site lifts between the last build's time and
//     asOf;
//   - the page holds no restricted block, before or after;
//   - its links (by target and text), the file names it mentions, its
//     restricted heading IDs (none) and its embargoes are the same (its
//     public headings are read by its own page alone: links to a heading
//     are checked only for headings inside restricted blocks), and so is its view
//     (what lists, the feed and the sitemap show of it) but, for one page
//     of the batch at most, its summary: then the list pages that show it
//     and the feed are rendered again (render.Renderer.Relist).
//
// Otherwise ok is false, and nothing of the session has changed but its
// page cache and search index, which a full build brings up to date: the
// caller builds in full, which also reports any mistake. A full build
// after any sequence of patches gives the same files
// (TestSessionEqualsFullBuild).
func (s *Session) patch(base *patchBase, changed []string, asOf time.Time, start time.Time) (*Report, *output.Memory, bool) {
	if changed == nil || s.files == nil || s.records == nil || !embargoesHold(base.rep, asOf) {
		return nil, nil, false
	}
	st, pages, ok := base.site.Reread(changed, site.Options{Drafts: s.opt.Drafts, Pages: &s.pages, Now: asOf})
	if !ok {
		return nil, nil, false
	}
	mem := s.files.Fork()
	b := &builder{site: st, out: mem, conv: base.conv, render: base.render, preview: true, record: true,
		asOf: asOf, rep: &Report{}, held: &heldFiles{}}
	recs := make([]*pageRecord, len(pages))
	docs, cloned := base.docs, false
	var was, now []*search.Doc // the search entries replaced, and their replacements
	views, listed := base.views, base.listed
	var (
		relisted *render.Relisted // what Relist did, for the one page whose summary changed
		oldView  *render.PageView // that page's view in the last build
		newView  *render.PageView // and in this one
	)
	for i, p := range pages {
		old := s.records.Pages[p.Path]
		if old == nil || old.View == nil || len(old.Sealed) > 0 || len(old.Cuts) > 0 {
			return nil, nil, false
		}
		doc, rec, err := b.parse(p, pageKey(p))
		if err != nil || len(doc.Blocks) > 0 || !sameUses(old, rec) {
			return nil, nil, false
		}
		if err := b.renderDoc(doc, rec); err != nil {
			return nil, nil, false
		}
		sum, err := render.ViewSum(rec.View)
		known, ok := s.views[old.View]
		if err != nil || !ok {
			return nil, nil, false
		}
		if sum == known {
			// The same view as the lists were made of: the next build
			// finds its digest among the session's.
			rec.View = old.View
		} else {
			if relisted != nil {
				return nil, nil, false // two pages' lists: built in full
			}
			res, ok, err := base.render.Relist(views, base.intros, listed, old.View, rec.View, b.emit)
			if err != nil || !ok {
				return nil, nil, false
			}
			relisted, oldView, newView = res, old.View, rec.View
			views = res.Views
			listed = &render.ListsResult{Tags: listed.Tags, Pages: listed.Pages, TagViews: res.TagViews, Digests: listed.Digests, Views: listed.Views}
			if _, err := base.render.Feed(views, b.emit); err != nil {
				return nil, nil, false
			}
		}
		if (old.Search == nil) != (rec.Search == nil) {
			return nil, nil, false
		}
		if old.Search != nil {
			j := slices.Index(docs, old.Search)
			if j < 0 {
				return nil, nil, false
			}
			if !cloned {
				docs, cloned = slices.Clone(docs), true
			}
			docs[j] = rec.Search
			was, now = append(was, old.Search), append(now, rec.Search)
		}
		recs[i] = rec
	}
	rep := *base.rep
	if base.render.Searching() {
		var err error
		if rep.Search, err = b.patchSearch(s.index, docs, was, now, base.rep.Search); err != nil {
			return nil, nil, false
		}
	}
	mem.Freeze()
	for i, p := range pages {
		s.records.Pages[p.Path] = recs[i]
	}
	if relisted != nil {
		// The session's digests of views are the lists' own (listed.Views).
		delete(s.views, oldView)
		s.views[newView] = relisted.Sum
		for out, d := range relisted.Digests {
			s.records.Lists[out] = listRecord{Digest: d}
		}
	}
	rep.AsOf = asOf
	rep.Previewed, rep.PreviewedPages = 0, 0 // none rendered by this build
	rep.Reused = len(s.records.Pages) - len(pages) + rep.Lists
	if relisted != nil {
		rep.Reused -= len(relisted.Digests)
	}
	rep.Files, rep.Bytes = mem.Totals()
	rep.Duration = time.Since(start)
	s.files = mem
	s.patched++
	s.base = &patchBase{site: st, conv: base.conv, render: base.render, docs: docs, views: views, intros: base.intros, listed: listed, rep: &rep}
	return &rep, mem, true
}

// embargoesHold says whether every embargo of the build rep reports lifts
// at asOf as it did then.
func embargoesHold(rep *Report, asOf time.Time) bool {
	for _, e := range rep.Embargoes {
		if e.Lifted != !asOf.Before(e.Time) {
			return false
		}
	}
	return true
}

// sameUses says whether a page's new record, made by parsing it again,
// gives the checks of the whole site (see linkUse) what its old one
// gave: the same links, by target and text (their lines may move), the
// same file names, the same restricted heading IDs and the same
// embargoes.
func sameUses(old, rec *pageRecord) bool {
	if len(old.Links) != len(rec.Links) || !slices.Equal(old.Names, rec.Names) || len(old.Mentions) != len(rec.Mentions) ||
		!slices.Equal(old.PrivateIDs, rec.PrivateIDs) || !reflect.DeepEqual(old.Embargoes, rec.Embargoes) {
		return false
	}
	for i, l := range rec.Links {
		o := old.Links[i]
		if l.Dest != o.Dest || l.Restricted != o.Restricted || l.Text != o.Text {
			return false
		}
	}
	for i, m := range rec.Mentions {
		if m.Name != old.Mentions[i].Name {
			return false
		}
	}
	return true
}

// patchSearch makes the public search index x that of docs, in which
// the entries now took the places of was, and writes the files of it
// that changed over those b.out holds from the last build; last is that
// build's report of the index.
func (b *builder) patchSearch(x *search.PublicIndex, docs, was, now []*search.Doc, last SearchReport) (SearchReport, error) {
	before := x.Files()
	if !x.Replace(was, now) { // x is not the last good build's index
		x.Update(docs)
	}
	shards, gone, changed := x.Since(before)
	mem := b.out.(*output.Memory)
	rep := SearchReport{Docs: len(x.Docs), Words: x.Words, Bytes: last.Bytes}
	write := func(p string, data []byte, sum [sha256.Size]byte) error {
		if old, ok := mem.Get(p); ok {
			rep.Bytes -= int64(len(old))
		}
		rep.Bytes += int64(len(data))
		return b.emitShared(p, data, sum)
	}
	remove := func(p string) error {
		n, err := mem.Remove(p)
		rep.Bytes -= n
		return err
	}
	for _, s := range shards {
		data, sum := s.File()
		if err := write(format.SearchShardPath(s.Prefix), data, sum); err != nil {
			return rep, err
		}
	}
	for _, prefix := range gone {
		if err := remove(format.SearchShardPath(prefix)); err != nil {
			return rep, err
		}
	}
	for _, n := range changed {
		data, sum := x.DocFile(n)
		if err := write(format.SearchDocPath(n), data, sum); err != nil {
			return rep, err
		}
	}
	for n := len(x.Docs); n < before.DocsIn(); n++ {
		if err := remove(format.SearchDocPath(n)); err != nil {
			return rep, err
		}
	}
	root := x.Root(nil) // a preview seals no index
	return rep, write(format.SearchIndex, root, sha256.Sum256(root))
}
