// Package tlp implements the Traffic Light Protocol 2.0 labels of FIRST
// (https://www.first.org/tlp/): clear, green, amber, amber+strict and red.
//
// A label is a handling instruction for humans. Labels are ordered from the
// least to the most restrictive, so a page's label can be checked against the
// strictest of its parts.
package tlp

import (
	"fmt"
	"strings"
)

// Label is a TLP 2.0 label. The zero value, [None], means "no label".
type Label int

const (
	None Label = iota
	Clear
	Green
	Amber
	AmberStrict
	Red
)

var names = [...]string{None: "", Clear: "clear", Green: "green", Amber: "amber", AmberStrict: "amber+strict", Red: "red"}

// Names lists the accepted spellings, least restrictive first.
func Names() []string { return []string{"clear", "green", "amber", "amber+strict", "red"} }

// Parse reads a label as written in front matter or a block's tlp= token.
// It accepts any letter case and an optional "TLP:" prefix; "white", the
// TLP 1.0 name of clear, is refused with a hint.
func Parse(s string) (Label, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	v = strings.TrimPrefix(v, "tlp:")
	for l, n := range names {
		if n != "" && n == v {
			return Label(l), nil
		}
	}
	if v == "white" {
		return None, fmt.Errorf("unknown TLP label %q: TLP 2.0 calls it \"clear\"", s)
	}
	return None, fmt.Errorf("unknown TLP label %q (want one of %s)", s, strings.Join(Names(), ", "))
}

// String returns the lower-case name, e.g. "amber+strict", or "" for None.
func (l Label) String() string {
	if l < 0 || int(l) >= len(names) {
		return fmt.Sprintf("tlp.Label(%d)", int(l))
	}
	return names[l]
}

// Display returns the label as FIRST prints it, e.g. "TLP:AMBER+STRICT".
func (l Label) Display() string {
	if l == None {
		return ""
	}
	return "TLP:" + strings.ToUpper(l.String())
}

// Class returns a CSS-safe class suffix, e.g. "amber-strict".
func (l Label) Class() string { return strings.ReplaceAll(l.String(), "+", "-") }

// Meaning is FIRST's one-line summary of who may receive the information.
func (l Label) Meaning() string {
	switch l {
	case Clear:
		return "Recipients can spread this to the world; there is no limit on disclosure."
	case Green:
		return "Recipients can spread this within their community, but not via publicly accessible channels."
	case Amber:
		return "Limited disclosure: recipients can only spread this on a need-to-know basis within their organization and its clients."
	case AmberStrict:
		return "Limited disclosure: recipients can only spread this on a need-to-know basis within their organization."
	case Red:
		return "For the eyes and ears of individual recipients only, no further disclosure."
	}
	return ""
}
