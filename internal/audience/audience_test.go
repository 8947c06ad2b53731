package audience

import (
	"errors"
	"strings"
	"testing"
)

// recipients returns recipients with one placeholder key each: New does
// not look into keys.
func recipients(names ...string) []*Recipient {
	var out []*Recipient
	for _, n := range names {
		out = append(out, &Recipient{Name: n, File: "keys/" + n + ".pub", Keys: []Key{{Kind: X25519, Text: "age1" + n, Line: 1}}})
	}
	return out
}

func groups(t *testing.T, data string) []*Group {
	t.Helper()
	gs, err := ParseGroups(GroupsFile, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return gs
}

const vendorGroups = `board = ["alice", "bob"]
vendors = ["cisco-psirt", "juniper"]
members = ["board", "vendors", "carol"]
everyone = ["members", "alice", "dave"]
`

func vendorRegistry(t *testing.T) *Registry {
	t.Helper()
	r, err := New(recipients("alice", "bob", "carol", "cisco-psirt", "dave", "juniper"), groups(t, vendorGroups))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestExpand(t *testing.T) {
	r := vendorRegistry(t)
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"alice", "alice"},
		{"bob,alice,bob", "alice,bob"},
		{"board", "alice,bob"},
		{"members", "alice,bob,carol,cisco-psirt,juniper"},
		{"everyone", "alice,bob,carol,cisco-psirt,dave,juniper"},
		{"board,juniper,vendors", "alice,bob,cisco-psirt,juniper"},
	}
	for _, tt := range tests {
		var names []string
		if tt.in != "" {
			names = strings.Split(tt.in, ",")
		}
		got, err := r.Expand(names)
		if err != nil {
			t.Errorf("Expand(%s): %v", tt.in, err)
			continue
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("Expand(%s) = %v, want %s", tt.in, got, tt.want)
		}
		if got == nil {
			t.Errorf("Expand(%s) = nil, want an empty slice", tt.in)
		}
	}
}

func TestExpandUnknown(t *testing.T) {
	r := vendorRegistry(t)
	tests := []struct {
		names      []string
		name, sugg string
		msg        string
	}{
		{[]string{"alice", "junper"}, "junper", "juniper", `unknown recipient or group "junper" (did you mean "juniper"?)`},
		{[]string{"bord"}, "bord", "board", `unknown recipient or group "bord" (did you mean "board"?)`},
		{[]string{"cisco-psrt"}, "cisco-psrt", "cisco-psirt", `unknown recipient or group "cisco-psrt" (did you mean "cisco-psirt"?)`},
		{[]string{"zed-security"}, "zed-security", "", `unknown recipient or group "zed-security" (add the recipient's public key as keys/zed-security.pub, or define the group in keys/groups.toml)`},
		{[]string{"Zed Security"}, "Zed Security", "", `unknown recipient or group "Zed Security" (names are lower-case letters, digits, '.', '_' or '-', starting with a letter or digit)`},
	}
	for _, tt := range tests {
		_, err := r.Expand(tt.names)
		var ue *UnknownNameError
		if !errors.As(err, &ue) {
			t.Errorf("Expand(%v) = %v, want an *UnknownNameError", tt.names, err)
			continue
		}
		if ue.Name != tt.name || ue.Suggestion != tt.sugg || ue.Error() != tt.msg {
			t.Errorf("Expand(%v): %+v %q\nwant %q %q %q", tt.names, *ue, ue.Error(), tt.name, tt.sugg, tt.msg)
		}
	}
}

func TestGroupsOf(t *testing.T) {
	r := vendorRegistry(t)
	for name, want := range map[string]string{
		"alice":   "board,everyone,members",
		"bob":     "board,everyone,members",
		"juniper": "everyone,members,vendors",
		"dave":    "everyone",
		"board":   "everyone,members",
		"nobody":  "",
	} {
		if got := strings.Join(r.GroupsOf(name), ","); got != want {
			t.Errorf("GroupsOf(%s) = %s, want %s", name, got, want)
		}
	}
}

func TestRegistryAccessors(t *testing.T) {
	r := vendorRegistry(t)
	var names []string
	for _, rec := range r.Recipients() {
		names = append(names, rec.Name)
	}
	for _, g := range r.Groups() {
		names = append(names, g.Name)
	}
	if got := strings.Join(names, " "); got != "alice bob carol cisco-psirt dave juniper board everyone members vendors" {
		t.Errorf("Recipients, Groups = %s", got)
	}
	if rec, ok := r.Recipient("carol"); !ok || rec.File != "keys/carol.pub" {
		t.Errorf("Recipient(carol) = %v, %v", rec, ok)
	}
	if _, ok := r.Recipient("board"); ok {
		t.Error("Recipient(board) found a group")
	}
	if g, ok := r.Group("vendors"); !ok || g.Line != 2 || strings.Join(g.Members, ",") != "cisco-psirt,juniper" {
		t.Errorf("Group(vendors) = %+v, %v", g, ok)
	}
	if !r.IsGroup("members") || r.IsGroup("alice") || r.IsGroup("nobody") {
		t.Error("IsGroup is wrong")
	}
}

func TestEmptyRegistry(t *testing.T) {
	r, err := New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Recipients()) != 0 || len(r.Groups()) != 0 || len(r.GroupsOf("x")) != 0 {
		t.Error("empty registry is not empty")
	}
	var ue *UnknownNameError
	if _, err := r.Expand([]string{"alice"}); !errors.As(err, &ue) || ue.Suggestion != "" {
		t.Errorf("Expand on an empty registry: %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	const f = "keys/groups.toml"
	tests := []struct {
		name       string
		recipients []*Recipient
		groups     string
		want       []string
	}{
		{"unknown member", recipients("alice", "juniper"), "board = [\"alice\", \"junper\", \"zed\"]\n", []string{
			f + `:1: group "board": unknown member "junper" (did you mean "juniper"?)`,
			f + `:1: group "board": unknown member "zed" (add the recipient's public key as keys/zed.pub, or define the group in keys/groups.toml)`,
		}},
		{"suggests a group", recipients("alice"), "board = [\"alice\"]\nall = [\"bord\"]\n", []string{
			f + `:2: group "all": unknown member "bord" (did you mean "board"?)`,
		}},
		{"group named like a recipient", recipients("alice", "bob"), "x = [\"alice\"]\n\nbob = [\"alice\"]\n", []string{
			f + `:3: group "bob" has the name of a recipient (keys/bob.pub): rename one of them`,
		}},
		{"self", recipients("alice"), "a = [\"alice\", \"a\"]\n", []string{
			f + ":1: group cycle: a → a (a group cannot contain itself)",
		}},
		{"cycle of two", recipients("alice"), "b = [\"a\"]\na = [\"b\", \"alice\"]\n", []string{
			f + ":2: group cycle: a → b → a (a group cannot contain itself)",
		}},
		{"cycle of three, reached from outside", recipients("alice"), "top = [\"c\"]\nc = [\"a\"]\nb = [\"c\"]\na = [\"alice\", \"b\"]\n", []string{
			f + ":4: group cycle: a → b → c → a (a group cannot contain itself)",
		}},
		{"two cycles", recipients("alice"), "a = [\"b\"]\nb = [\"a\"]\nx = [\"y\"]\ny = [\"x\", \"alice\"]\n", []string{
			f + ":1: group cycle: a → b → a (a group cannot contain itself)",
			f + ":3: group cycle: x → y → x (a group cannot contain itself)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.recipients, groups(t, tt.groups))
			if err == nil {
				t.Fatal("no error")
			}
			if r != nil {
				t.Error("a registry returned with an error")
			}
			if got := errorLines(t, err); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestNewChecksParts(t *testing.T) {
	bad := []*Recipient{
		{Name: "Alice", Keys: []Key{{Text: "age1x"}}},
		{Name: "bob"},
		{Name: "carol", File: "keys/carol.pub", Keys: []Key{{Text: "age1y"}}},
		{Name: "carol", File: "elsewhere/carol.pub", Keys: []Key{{Text: "age1z"}}},
	}
	gs := []*Group{
		{Name: "g", Members: []string{"carol"}, Line: 1},
		{Name: "g", Members: []string{"carol"}, Line: 2},
		{Name: "empty", Line: 3},
		{Name: "Bad", Members: []string{"carol"}},
	}
	_, err := New(bad, gs)
	want := []string{
		"elsewhere/carol.pub: recipient \"carol\" is defined twice (also in keys/carol.pub)",
		"keys/Alice.pub: recipient name \"Alice\": want lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
		"keys/bob.pub: no keys: write the recipient's public keys in it, one a line (age1… or ssh-ed25519 …)",
		"keys/groups.toml: group name \"Bad\": want lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
		"keys/groups.toml:2: group \"g\" is defined twice (also on line 1)",
		"keys/groups.toml:3: group \"empty\" is empty: list at least one recipient or group",
	}
	if got := errorLines(t, err); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
