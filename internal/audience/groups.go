package audience

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/site"
)

// GroupsFile is the slash path, from the site root, of the file that
// defines groups.
const GroupsFile = KeysDir + "/groups.toml"

// Group is a named set of recipients and other groups, defined by a line
// of keys/groups.toml such as
//
//	board = ["alice", "bob"]
type Group struct {
	Name    string
	Members []string // recipient and group names, as written
	Line    int      // 1-based line in File; 0 if unknown
	File    string   // slash path from the site root; "" means GroupsFile
}

func (g *Group) file() string {
	if g.File == "" {
		return GroupsFile
	}
	return g.File
}

const nameRule = "lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"

// ParseGroups parses the contents of groups.toml: top-level keys whose
// values are lists of recipient and group names. file is the slash path
// used in messages, such as "keys/groups.toml". The groups are returned in
// the order of the file.
//
// It checks each group on its own (its name, that it lists names, at least
// one, none twice); whether the members exist, and cycles, are checked by
// [New]. Every problem is reported, as a [diag.List] of errors located at
// the group's line.
func ParseGroups(file string, data []byte) ([]*Group, error) {
	if err := site.CheckText(file, data); err != nil {
		return nil, err
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, site.TOMLError(file, 0, err)
	}
	lines := topLevelKeyLines(data)
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		if lines[a] != lines[b] {
			return lines[a] - lines[b]
		}
		return strings.Compare(a, b)
	})
	var errs diag.List
	var groups []*Group
	for _, name := range names {
		g := &Group{Name: name, Line: lines[name], File: file}
		if err := parseMembers(g, raw[name]); err != nil {
			errs.Add(err)
			continue
		}
		groups = append(groups, g)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return groups, nil
}

// parseMembers checks the name and value of one group and sets g.Members.
func parseMembers(g *Group, v any) error {
	file := g.file()
	if !site.NamePattern.MatchString(g.Name) {
		return diag.Errorf(file, g.Line, "group name %q: want %s", g.Name, nameRule)
	}
	list, ok := v.([]any)
	if !ok {
		msg := fmt.Sprintf("group %q: want a list of recipient and group names, such as %s = [\"alice\", \"bob\"]", g.Name, tomlKey(g.Name))
		if _, table := v.(map[string]any); table {
			msg += "; a table or dotted key is not a group (quote a name with dots: \"a.b\" = [...])"
		}
		return diag.Errorf(file, g.Line, "%s", msg)
	}
	if len(list) == 0 {
		return diag.Errorf(file, g.Line, "group %q is empty: list at least one recipient or group", g.Name)
	}
	var errs diag.List
	seen := map[string]bool{}
	for _, item := range list {
		s, ok := item.(string)
		switch {
		case !ok:
			errs.Add(diag.Errorf(file, g.Line, "group %q: members are names in quotes, such as \"alice\" (found a %s)", g.Name, tomlType(item)))
		case !site.NamePattern.MatchString(s):
			errs.Add(diag.Errorf(file, g.Line, "group %q: %q is not a recipient or group name (want %s)", g.Name, s, nameRule))
		case seen[s]:
			errs.Add(diag.Errorf(file, g.Line, "group %q lists %q twice", g.Name, s))
		default:
			seen[s] = true
			g.Members = append(g.Members, s)
		}
	}
	return errs.Err()
}

// tomlKey writes name as a TOML key: quoted if it holds a dot.
func tomlKey(name string) string {
	if strings.Contains(name, ".") || !site.NamePattern.MatchString(name) {
		return fmt.Sprintf("%q", name)
	}
	return name
}

func tomlType(v any) string {
	switch v.(type) {
	case []any, []map[string]any:
		return "list"
	case map[string]any:
		return "table"
	case int64, float64:
		return "number"
	case bool:
		return "boolean"
	default:
		return "date or time"
	}
}

// keyStart matches the first part of a TOML key at the start of a line,
// bare or quoted, followed by "=", "." or (after a table header's "[") "]".
var (
	keyStart    = regexp.MustCompile(`^\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*[=.]`)
	tableHeader = regexp.MustCompile(`^\s*\[\[?\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*[.\]]`)
)

// topLevelKeyLines maps the first part of each top-level key, and of each
// table header, to the line where it first appears. BurntSushi/toml keeps
// no positions for decoded values. Keys after the first table header belong
// to that table, so they are left out; a key inside a multi-line string
// might be mistaken for one, which costs only a wrong line in a message.
func topLevelKeyLines(data []byte) map[string]int {
	lines := map[string]int{}
	inTable := false
	for i, l := range strings.Split(string(data), "\n") {
		var m []string
		if m = tableHeader.FindStringSubmatch(l); m != nil {
			inTable = true
		} else if inTable {
			continue
		} else if m = keyStart.FindStringSubmatch(l); m == nil {
			continue
		}
		key := m[1] + m[2] + m[3]
		if m[1] != "" {
			if s, err := unquoteBasic(m[1]); err == nil {
				key = s
			}
		}
		if lines[key] == 0 {
			lines[key] = i + 1
		}
	}
	return lines
}

// unquoteBasic decodes the escapes of a TOML basic string.
func unquoteBasic(s string) (string, error) {
	var v struct{ K string }
	if _, err := toml.Decode(`K = "`+s+`"`, &v); err != nil {
		return "", err
	}
	return v.K, nil
}
