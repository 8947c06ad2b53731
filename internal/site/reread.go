package site

import (
	"maps"
	"reflect"
	"slices"
	"strings"
)

// Reread reads again the pages at paths, which a watcher reported
// changed since s was loaded with opt (opt.Pages the cache that load
// used), and returns s with them in place of the pages it holds, and the
// new pages, in the order of paths. It does so only for a body edit: each
// path is a briefing of s (not an intro, a draft, a page restricted as a whole or in a restricted bundle's folder),
// whose file still reads without an error or a warning, whose front
// matter (after [Front.Lift] at opt.Now) and place are the same, and no
// warning of s names it. Then everything [Load] would make of the rest of
// the site is unchanged: the pages and files, their URLs, the checks of
// URLs and folders, the drafts and the warnings. Otherwise ok is false,
// and the caller loads the site anew, which reports any error.
//
// s itself is not changed: the new site shares its pages and files.
func (s *Site) Reread(paths []string, opt Options) (next *Site, pages []*Page, ok bool) {
	if len(paths) == 0 || opt.Pages == nil {
		return nil, nil, false
	}
	for _, w := range s.Warnings {
		if slices.Contains(paths, w.File) {
			return nil, nil, false
		}
	}
	size := s.read
	pages = make([]*Page, len(paths))
	for i, rel := range paths {
		old := s.byPath[rel]
		if old == nil || old.Kind != KindPage || slices.Contains(paths[:i], rel) ||
			old.Front.Audience != nil || bundleOf(s.bundles, rel) != nil {
			return nil, nil, false
		}
		before, _ := opt.Pages.lookup(rel)
		p, warns, err := readPage(s.Root, rel, opt.Pages)
		after, _ := opt.Pages.lookup(rel)
		if err != nil || len(warns) > 0 || before == nil || after == nil {
			return nil, nil, false
		}
		p.Front.Lift(opt.Now)
		if p.Path != old.Path || p.Kind != old.Kind || p.Section != old.Section || p.URL != old.URL ||
			p.BodyLine != old.BodyLine || !reflect.DeepEqual(p.Front, old.Front) {
			return nil, nil, false
		}
		// The bytes Load would read in all, with the file's new size.
		if size += int64(len(after.raw)) - int64(len(before.raw)); size > MaxContentSize {
			return nil, nil, false
		}
		pages[i] = p
	}
	next = new(Site)
	*next = *s
	next.read = size
	next.Pages = slices.Clone(s.Pages)
	next.byPath = maps.Clone(s.byPath)
	for _, p := range pages {
		i, found := slices.BinarySearchFunc(next.Pages, p.Path, func(q *Page, rel string) int { return strings.Compare(q.Path, rel) })
		if !found {
			return nil, nil, false // Pages is sorted by path, and holds every page of byPath
		}
		next.Pages[i], next.byPath[p.Path] = p, p
	}
	return next, pages, true
}
