package audience

import (
	"strings"
	"testing"
)

func TestParseGroups(t *testing.T) {
	data := `# Who reads what.
board = ["alice", "bob"]
"psirt.vendors" = [
  "cisco-psirt",
  "juniper",
]
members = ["board", "psirt.vendors"] # everyone
'quoted' = ["alice"]
`
	groups, err := ParseGroups("keys/groups.toml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range groups {
		got = append(got, g.Name+"@"+itoa(g.Line)+"="+strings.Join(g.Members, ","))
		if g.File != "keys/groups.toml" {
			t.Errorf("group %s: File = %q", g.Name, g.File)
		}
	}
	want := "board@2=alice,bob psirt.vendors@3=cisco-psirt,juniper members@7=board,psirt.vendors quoted@8=alice"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("groups = %s\nwant     %s", s, want)
	}
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + itoa(n%10)
}

func TestParseGroupsEmptyFile(t *testing.T) {
	for _, data := range []string{"", "# no groups yet\n"} {
		groups, err := ParseGroups("keys/groups.toml", []byte(data))
		if err != nil || len(groups) != 0 {
			t.Errorf("ParseGroups(%q) = %v, %v", data, groups, err)
		}
	}
}

func TestParseGroupsErrors(t *testing.T) {
	const f = "keys/groups.toml"
	const listHint = `: want a list of recipient and group names, such as `
	tests := []struct {
		name, data string
		want       []string
	}{
		{"syntax", "board = [\"alice\"\nmembers = []\n", []string{f + ":2:"}},
		{"duplicate key", "board = [\"a\"]\nboard = [\"b\"]\n", []string{f + ":2:"}},
		{"string", "a = [\"x\"]\n\nboard = \"alice\"\n", []string{f + `:3: group "board"` + listHint + `board = ["alice", "bob"]`}},
		{"table", "[board]\nalice = true\n", []string{f + `:1: group "board"` + listHint + `board = ["alice", "bob"]; a table or dotted key is not a group (quote a name with dots: "a.b" = [...])`}},
		{"dotted key", "x = [\"y\"]\npsirt.vendors = [\"a\"]\n", []string{f + `:2: group "psirt"` + listHint + `psirt = ["alice", "bob"]; a table or dotted key is not a group (quote a name with dots: "a.b" = [...])`}},
		{"empty", "a = [\"x\"]\nboard = []\n", []string{f + `:2: group "board" is empty: list at least one recipient or group`}},
		{"number member", "board = [\"alice\", 3]\n", []string{f + `:1: group "board": members are names in quotes, such as "alice" (found a number)`}},
		{"nested list", "board = [[\"alice\"]]\n", []string{f + `:1: group "board": members are names in quotes, such as "alice" (found a list)`}},
		{"bad member", "board = [\"Alice\", \"bob smith\"]\n", []string{
			f + `:1: group "board": "Alice" is not a recipient or group name (want lower-case letters, digits, '.', '_' or '-', starting with a letter or digit)`,
			f + `:1: group "board": "bob smith" is not a recipient or group name (want lower-case letters, digits, '.', '_' or '-', starting with a letter or digit)`,
		}},
		{"twice", "board = [\"alice\", \"bob\", \"alice\"]\n", []string{f + `:1: group "board" lists "alice" twice`}},
		{"bad name", "x = [\"y\"]\nBoard = [\"alice\"]\n", []string{f + `:2: group name "Board": want lower-case letters, digits, '.', '_' or '-', starting with a letter or digit`}},
		{"not utf-8", "board = [\"caf\xe9\"]\n", []string{f + ":1:14: not valid UTF-8 text (save the file as UTF-8)"}},
		{"every problem", "a = []\nb = 1\nc = [\"x\", \"x\"]\n", []string{
			f + `:1: group "a" is empty: list at least one recipient or group`,
			f + `:2: group "b"` + listHint + `b = ["alice", "bob"]`,
			f + `:3: group "c" lists "x" twice`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			groups, err := ParseGroups(f, []byte(tt.data))
			if err == nil {
				t.Fatalf("no error; groups %v", groups)
			}
			got := errorLines(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for i := range got {
				// TOML syntax errors, whose wording is BurntSushi/toml's, are
				// checked by their location only.
				prefix, ok := strings.CutSuffix(tt.want[i], ":")
				if ok && !strings.HasPrefix(got[i], prefix+":") || !ok && got[i] != tt.want[i] {
					t.Errorf("error %d:\n%s\nwant:\n%s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestTopLevelKeyLines(t *testing.T) {
	data := `a = 1
  "b.c" = 2
'd' = 3
e.f = 4
"g\u0068" = 5
a = 6
[t]
x = 7
[[arr]]
["q.r".s]
`
	got := topLevelKeyLines([]byte(data))
	want := map[string]int{"a": 1, "b.c": 2, "d": 3, "e": 4, "gh": 5, "t": 7, "arr": 9, "q.r": 10}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("line of %q = %d, want %d", k, got[k], v)
		}
	}
	if got["x"] != 0 {
		t.Errorf("a key of a table is taken for a top-level key")
	}
}
