package site

import (
	"net/url"
	"path"
	"strings"

	"github.com/conclave-dev/conclave/internal/diag"
)

// Resolve maps a relative link written in page from to the URL it has in
// the output, relative to from's URL so that the site works under any base
// path and from a local copy.
//
// A link to a .md file becomes the link to that page (keeping any #anchor);
// a link to another file under content/ becomes the link to its copy. A
// .md target that is not a page of this build is reported with ok false.
// Other relative links are returned unchanged.
func (s *Site) Resolve(from *Page, dest string) (u string, ok bool, hint string) {
	p, suffix := dest, ""
	if i := strings.IndexAny(dest, "?#"); i >= 0 {
		p, suffix = dest[:i], dest[i:]
	}
	if p == "" {
		return dest, true, ""
	}
	unescaped, err := url.PathUnescape(p)
	if err != nil {
		return "", false, "bad %-escape"
	}
	target := path.Join(path.Dir(from.Path), unescaped)
	if !strings.HasPrefix(target, ContentDir+"/") {
		if strings.HasSuffix(target, ".md") {
			return "", false, "it points outside " + ContentDir + "/"
		}
		return dest, true, ""
	}
	if strings.HasSuffix(target, ".md") {
		if pg := s.byPath[target]; pg != nil {
			return RelURL(from.URL, pg.URL) + suffix, true, ""
		}
		if s.draftPaths[target] {
			return "", false, target + " is a draft (build with --drafts to include it)"
		}
		hint := "no such page " + target
		if best := suggestPath(target, s.byPath); best != "" {
			hint += " (did you mean " + RelURL(path.Dir(from.Path)+"/", best) + "?)"
		}
		return "", false, hint
	}
	if f, found := s.files[target]; found {
		return RelURL(from.URL, "/"+f.OutPath) + suffix, true, ""
	}
	return dest, true, ""
}

func suggestPath(target string, pages map[string]*Page) string {
	best, bestDist := "", max(3, len(path.Base(target))/3)+1
	for p := range pages {
		if d := diag.Distance(target, p); d < bestDist || (d == bestDist && p < best) {
			best, bestDist = p, d
		}
	}
	return best
}

// RelURL returns the relative URL from the page at directory URL from (such
// as "/briefings/icasi/") to the site path to (such as "/tags/icasi/" or
// "/css/site.css"). Both must start with "/".
func RelURL(from, to string) string {
	fromDir := strings.Split(strings.Trim(from[:strings.LastIndexByte(from, '/')+1], "/"), "/")
	if len(fromDir) == 1 && fromDir[0] == "" {
		fromDir = nil
	}
	toParts := strings.Split(strings.TrimPrefix(to, "/"), "/")
	i := 0
	for i < len(fromDir) && i < len(toParts)-1 && fromDir[i] == toParts[i] {
		i++
	}
	var b strings.Builder
	for range len(fromDir) - i {
		b.WriteString("../")
	}
	b.WriteString(strings.Join(toParts[i:], "/"))
	if b.Len() == 0 {
		return "./"
	}
	return b.String()
}
