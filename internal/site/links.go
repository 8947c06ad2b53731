package site

import (
	"errors"
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
// target that is not part of this build (a missing page or file, a draft,
// a file of a draft folder) is reported with ok false and a hint. Other
// relative links, such as to a folder, are returned unchanged.
func (s *Site) Resolve(from *Page, dest string) (u string, ok bool, hint string) {
	target, suffix, err := linkTarget(from, dest)
	switch {
	case err != nil:
		return "", false, err.Error()
	case target == "":
		return dest, true, ""
	case !strings.HasPrefix(target, ContentDir+"/"):
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
		return "", false, "no such page " + target + didYouMean(from, target, pagePaths(s.byPath))
	}
	if f, found := s.files[target]; found {
		return RelURL(from.URL, "/"+f.OutPath) + suffix, true, ""
	}
	if draft, found := s.draftFiles[target]; found {
		return "", false, target + " belongs to the draft " + draft + " (build with --drafts to include it)"
	}
	if path.Ext(target) != "" {
		return "", false, "no such file " + target + didYouMean(from, target, s.filePaths())
	}
	return dest, true, ""
}

// FileTarget returns the content file that a relative link in page from
// names, whether or not it will be published.
func (s *Site) FileTarget(from *Page, dest string) (string, bool) {
	if p, _ := splitLink(dest); strings.HasSuffix(p, ".md") {
		return "", false // a page, whatever the folder: no need to join paths
	}
	target, _, err := linkTarget(from, dest)
	if err != nil || target == "" || strings.HasSuffix(target, ".md") {
		return "", false
	}
	_, ok := s.files[target]
	return target, ok
}

// linkTarget splits a relative link into the slash path from the site root
// that it names ("" for a bare #anchor or ?query) and its suffix.
func linkTarget(from *Page, dest string) (target, suffix string, err error) {
	p, suffix := splitLink(dest)
	if p == "" {
		return "", suffix, nil
	}
	unescaped, err := url.PathUnescape(p)
	if err != nil {
		return "", "", errors.New("bad %-escape")
	}
	return path.Join(path.Dir(from.Path), unescaped), suffix, nil
}

// splitLink splits a link at its query or fragment.
func splitLink(dest string) (p, suffix string) {
	if i := strings.IndexAny(dest, "?#"); i >= 0 {
		return dest[:i], dest[i:]
	}
	return dest, ""
}

func didYouMean(from *Page, target string, candidates []string) string {
	if best := suggestPath(target, candidates); best != "" {
		return " (did you mean " + RelURL(path.Dir(from.Path)+"/", best) + "?)"
	}
	return ""
}

func pagePaths(m map[string]*Page) []string {
	out := make([]string, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	return out
}

func (s *Site) filePaths() []string {
	out := make([]string, 0, len(s.Files))
	for _, f := range s.Files {
		out = append(out, f.Path)
	}
	return out
}

func suggestPath(target string, candidates []string) string {
	best, bestDist := "", max(3, len(path.Base(target))/3)+1
	for _, p := range candidates {
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

// Page returns the published page at path p (a slash path from the site
// root), or nil.
func (s *Site) Page(p string) *Page { return s.byPath[p] }

// PageTarget returns the published page that a link in page from names,
// with the link's #fragment (without '#'), or nil: "#id" names from
// itself, "x.md#id" the page x.md.
func (s *Site) PageTarget(from *Page, dest string) (*Page, string) {
	target, suffix, err := linkTarget(from, dest)
	if err != nil {
		return nil, ""
	}
	fragment := ""
	if i := strings.IndexByte(suffix, '#'); i >= 0 {
		fragment = suffix[i+1:]
	}
	if target == "" {
		return from, fragment
	}
	if !strings.HasSuffix(target, ".md") {
		return nil, ""
	}
	return s.byPath[target], fragment
}
