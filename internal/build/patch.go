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
//   - the file names it mentions, its restricted heading IDs (none) and
//     its embargoes are the same, and its links lead to the same content
//     files and to no page whose restricted text a link is checked
//     against (see linksAgree). Its public headings may change: only its
//     own page shows them, and a link's fragment is checked only against
//     headings inside restricted blocks;
//   - its view (what lists, the feed and the sitemap show of it) is the
//     same but, for one page of the batch at most, its summary: then the
//     list pages that show it and the feed are rendered again
//     (render.Renderer.Relist).
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
		if err != nil || len(doc.Blocks) > 0 || !sameUses(st, p, old, rec, s.records) {
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
			l := *listed
			l.TagViews = res.TagViews
			listed = &l
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
// gave: the same names of the site's content files, the same restricted
// heading IDs and the same embargoes, and links that agree (see
// linksAgree).
func sameUses(st *site.Site, p *site.Page, old, rec *pageRecord, records *pagesData) bool {
	if len(old.Mentions) != len(rec.Mentions) || !slices.Equal(old.PrivateIDs, rec.PrivateIDs) ||
		!reflect.DeepEqual(old.Embargoes, rec.Embargoes) {
		return false
	}
	if !slices.Equal(old.Names, rec.Names) {
		// Only the names of the site's content files count (linkUse.note).
		known := contentFileNames(st)
		files := func(names []string) []string {
			return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return !known[n] })
		}
		if !slices.Equal(files(old.Names), files(rec.Names)) {
			return false
		}
	}
	for i, m := range rec.Mentions {
		if m.Name != old.Mentions[i].Name {
			return false
		}
	}
	return linksAgree(st, p, old, rec, records)
}

// linksAgree says whether page p's new links (rec's) give the checks of
// the whole site what its old ones gave. Those to content files must
// be the same files, in the same order (they decide which files are
// published, sealed or left out); lines may move. Those to pages may
// change, if none of the new ones leads to a page restricted as a whole,
// nor by a fragment to a page with restricted headings: only those are
// checked, against the link's text and fragment (linkUse.checkAnchors).
func linksAgree(st *site.Site, p *site.Page, old, rec *pageRecord, records *pagesData) bool {
	same := len(old.Links) == len(rec.Links)
	for i := 0; same && i < len(rec.Links); i++ {
		l, o := rec.Links[i], old.Links[i]
		same = l.Dest == o.Dest && l.Restricted == o.Restricted && l.Text == o.Text
	}
	if same {
		return true
	}
	u := &linkUse{site: st}
	was, now := old.resolved, u.resolve(p, rec.Links)
	if was == nil {
		was = u.resolve(p, old.Links)
	}
	files := func(uses []fileUse) []string {
		out := make([]string, len(uses))
		for i, f := range uses {
			out[i] = f.file
		}
		return out
	}
	if len(now.private) > 0 || len(was.private) > 0 || !slices.Equal(files(now.linked), files(was.linked)) {
		return false
	}
	for _, l := range now.toPages {
		target, fragment := st.PageTarget(p, l.Dest)
		if target == nil {
			continue
		}
		if target.Front.Audience != nil {
			return false
		}
		if r := records.Pages[target.Path]; r == nil || (fragment != "" && len(r.PrivateIDs) > 0) {
			return false
		}
	}
	rec.resolved = now
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
	for _, k := range changed {
		data, sum := x.DocFile(k)
		if err := write(format.SearchDocPath(k), data, sum); err != nil {
			return rep, err
		}
	}
	for k := x.DocFiles(); k < before.DocFiles(); k++ {
		if err := remove(format.SearchDocPath(k)); err != nil {
			return rep, err
		}
	}
	root := x.Root(nil) // a preview seals no index
	return rep, write(format.SearchIndex, root, sha256.Sum256(root))
}
