package markdown

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/yuin/goldmark/ast"

	"github.com/conclave-dev/conclave/internal/diag"
)

// resolveLinks records the destination of every relative link and image
// in d.Links and, if r is not nil, rewrites it through r, recording a
// located error for each target that does not exist.
func (d *Doc) resolveLinks(r Resolver) {
	_ = ast.Walk(d.Root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		var dest *[]byte
		switch n := n.(type) {
		case *ast.Link:
			dest = &n.Destination
		case *ast.Image:
			dest = &n.Destination
		default:
			return ast.WalkContinue, nil
		}
		s := string(*dest)
		if !isRelative(s) {
			return ast.WalkContinue, nil
		}
		d.Links = append(d.Links, s)
		if r == nil {
			return ast.WalkContinue, nil
		}
		url, ok, hint := r.Resolve(d.Page, s)
		if !ok {
			msg := fmt.Sprintf("broken link %q", s)
			if hint != "" {
				msg += ": " + hint
			}
			d.Errors.Add(diag.Errorf(d.Page.Path, d.nodeLine(n), "%s", msg))
			return ast.WalkContinue, nil
		}
		*dest = []byte(url)
		return ast.WalkContinue, nil
	})
}

// isRelative reports whether a link destination is a path relative to the
// page: not empty, not a fragment, not site-absolute, and with no scheme.
func isRelative(dest string) bool {
	if dest == "" || dest[0] == '#' || dest[0] == '/' || dest[0] == '?' {
		return false
	}
	if i := strings.IndexAny(dest, ":/?#"); i >= 0 && dest[i] == ':' {
		return false // a scheme such as https: or mailto:
	}
	return true
}

// Validate returns the located problems of a parsed page: broken links, and
// the features this build cannot publish safely.
func Validate(d *Doc) error {
	var errs diag.List
	errs.Add(d.Errors.Err())
	// Until blocks can be sealed, a restricted passage or page must never
	// reach the output as plaintext: refuse it (fail closed).
	if line, ok := d.Page.Front.Lines["audience"]; ok {
		errs.Add(diag.Errorf(d.Page.Path, line, "audience: this version of conclave cannot seal pages yet, so it refuses to publish a restricted page"))
	}
	if !bytes.Contains(d.Source, []byte(":::")) {
		return errs.Err()
	}
	for _, m := range fenceWord.FindAllSubmatchIndex(d.Source, -1) {
		word := strings.ToLower(string(d.Source[m[2]:m[3]]))
		if word == "restricted" || diag.Suggest(word, []string{"restricted"}) != "" {
			errs.Add(diag.Errorf(d.Page.Path, d.Line(m[0]), "restricted block: this version of conclave cannot seal blocks yet, so it refuses to publish one"))
		}
	}
	return errs.Err()
}

// fenceWord finds ":::" followed by a word anywhere in a line, inside list
// items, quotes and code alike, so that no restricted block (or a misspelt
// one) slips through as plain text.
var fenceWord = regexp.MustCompile(`:{3,}[ 	]*([A-Za-z]+)`)
