package build

import (
	"cmp"
	"time"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/render"
	"github.com/conclave-dev/conclave/internal/seal"
	"github.com/conclave-dev/conclave/internal/search"
	"github.com/conclave-dev/conclave/internal/site"
)

// Session builds a site into memory again and again, for a preview server
// that rebuilds after every save. Each build reads the site afresh and
// renders only the pages whose source changed since the last good build
// (and the lists whose content changed): the others, and their lists, are
// taken from the last good build's output in memory by the same records
// and digests that let a build to disk reuse its previous output. A
// change to the configuration, the theme, keys/ or the program makes
// every record stale, so everything is rendered again. In the author's
// preview, an edit of a page's body that changes nothing else the build
// is made of is patched into the last build instead (see Session.patch),
// in time that does not grow with the site.
//
// A failed build leaves the last good build in place. A Session is not
// safe for concurrent use.
type Session struct {
	opt     Options
	files   *output.Memory  // the last good build
	records *pagesData      // its records
	views   render.ViewSums // the digests of its records' views
	pages   site.PageCache  // the pages as read, parsed again only when their file changes
	// index is the public search index, updated by each build with what
	// changed. A failed build leaves it the index of that build's pages,
	// which the next build updates in turn: it holds its files itself,
	// and owes nothing to the last good build's.
	index *search.PublicIndex
	// base is what a patch needs of the last build: nil when it failed,
	// or when the session does not build the author's preview.
	base *patchBase
	// patched counts the builds patched in, for tests.
	patched int
}

// NewSession returns a session for the site opt names; with
// [Options.Preview], every build is the author's preview. Nothing is built
// before the first [Session.Build].
func NewSession(opt Options) *Session { return &Session{opt: opt} }

// Build builds the site into memory, reusing what still applies from the
// last good build, and returns the new build. On failure the last good
// build stays the session's.
//
// changed names the files and folders (slash paths from the site root)
// that may have changed since the last build, as a watcher reports them:
// the other pages are not read again. nil means anything may have
// changed (the first build, or a watcher that lost events): then every
// page is read, and parsed again if its file changed.
func (s *Session) Build(changed []string) (*Report, *output.Memory, error) {
	start := time.Now()
	s.pages.Invalidate(changed)
	src := cmp.Or(s.opt.Source, ".")
	asOf := s.opt.AsOf
	if asOf.IsZero() {
		asOf = clock()
	}
	// A body edit of an author's preview is patched in; anything else,
	// or a patch that does not apply, is built in full.
	if base := s.base; base != nil {
		s.base = nil // until this build succeeds
		if rep, mem, ok := s.patch(base, changed, asOf, start); ok {
			return rep, mem, nil
		}
	}
	st, err := site.Load(src, site.Options{Drafts: s.opt.Drafts, Pages: &s.pages, Now: asOf})
	if err != nil {
		return nil, nil, err
	}
	var cache *seal.Cache
	var warn *diag.Warning
	if !s.opt.Preview { // a preview neither reads nor writes the seal cache
		if cache, warn, err = openCache(src, s.opt.CacheKey); err != nil {
			return nil, nil, err
		}
	}
	size := 0 // room for as many files as the last build wrote
	if s.files != nil {
		size = s.files.Len()
	}
	mem := output.NewMemorySize(size)
	b := &builder{site: st, out: mem, cache: cache, getenv: s.opt.Getenv, preview: s.opt.Preview, record: true, now: releaseTime(s.opt.Now), asOf: asOf, lookAhead: !s.opt.AsOf.IsZero()}
	if s.index == nil {
		s.index = search.Kept()
	}
	b.index = s.index
	if last := s.files; last != nil {
		b.last = &lastBuild{records: s.records, views: s.views,
			carry: func(p string) ([]byte, error) { return mem.Carry(last, p) }}
	}
	rep, err := b.run()
	if rep != nil && warn != nil {
		rep.Warnings = append(rep.Warnings, warn)
	}
	if err != nil {
		return rep, nil, err
	}
	mem.Freeze()
	s.files, s.records, s.views, s.base = mem, b.records, b.listed.Views, b.base()
	rep.Duration = time.Since(start)
	return rep, mem, nil
}
