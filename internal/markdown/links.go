package markdown

import (
	"fmt"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/util"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/site"
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
		// As the renderer will: backslash escapes and character
		// references decoded ("secret\_poc.txt", "a&#95;b.txt").
		raw := util.ResolveEntityNames(util.ResolveNumericReferences(util.UnescapePunctuations(*dest)))
		anchor := len(raw) > 1 && raw[0] == '#'
		if !anchor && !isRelative(string(raw)) {
			return ast.WalkContinue, nil
		}
		l := Link{Line: d.nodeLine(n), Restricted: InBlock(n) != nil}
		if _, ok := n.(*ast.Link); ok && !l.Restricted {
			// The destination and the text in one allocation: the
			// build keeps both until its end (see Headings).
			both := d.appendPlainText(raw[:len(raw):len(raw)], n)
			s := string(both)
			l.Dest, l.Text = s[:len(raw)], s[len(raw):]
			if len(l.Text) > 512 {
				l.Text = l.Text[:512]
			}
		} else {
			l.Dest = string(raw)
		}
		s := l.Dest
		d.Links = append(d.Links, l)
		if r == nil || anchor {
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
		if ft, isFT := r.(FileTargeter); isFT && l.Restricted {
			if f, isFile := ft.FileTarget(d.Page, s); isFile {
				d.FileLinks = append(d.FileLinks, FileLink{Node: n, File: f, Block: innermostBlock(n), Line: l.Line})
			}
		}
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

// Validate returns the located problems of a parsed page: broken links,
// mistakes in restricted blocks, and text that looks like a restricted
// block but did not parse as one.
func Validate(d *Doc) error {
	var errs diag.List
	errs.Add(d.Errors.Err())
	errs.Add(d.checkStray())
	if line := d.Page.Front.Line("audience"); line > 0 && d.Page.Kind != site.KindPage {
		errs.Add(diag.Errorf(d.Page.Path, line, "audience: a home or section page cannot be restricted as a whole; put restricted blocks in its text instead"))
	}
	return errs.Err()
}

// privateIDs returns the IDs of the headings inside restricted blocks.
func privateIDs(root ast.Node) []string {
	var out []string
	_ = ast.Walk(root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering && InBlock(h) != nil {
			if id, ok := headingID(h); ok {
				out = append(out, string(id))
			}
		}
		return ast.WalkContinue, nil
	})
	return out
}
