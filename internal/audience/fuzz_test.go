package audience

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/site"
)

// addSeeds adds the seed corpus of a fuzzer, which must not be empty: a
// fuzzer without seeds tests little when it only runs as a test.
func addSeeds(f *testing.F, seeds []string) {
	f.Helper()
	if len(seeds) == 0 {
		f.Fatal("no seeds for the fuzzer")
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
}

// checkLocated fails unless err is made of located errors in file, at lines
// within data.
func checkLocated(t *testing.T, file string, data []byte, err error) {
	t.Helper()
	var list diag.List
	if !errors.As(err, &list) {
		list = diag.List{err}
	}
	lines := strings.Count(string(data), "\n") + 1
	for _, e := range list {
		var de *diag.Error
		if !errors.As(e, &de) {
			t.Fatalf("not a located error: %T %v", e, e)
		}
		if de.File != file || !strings.HasPrefix(e.Error(), file+":") {
			t.Fatalf("error does not name %s: %v", file, e)
		}
		if de.Line < 0 || de.Line > lines {
			t.Fatalf("error at line %d of %d: %v", de.Line, lines, e)
		}
	}
}

func FuzzParseKeys(f *testing.F) {
	k, err := makeKeys(false)
	if err != nil {
		f.Fatal(err)
	}
	// RSA keys made by ssh-keygen, with their comments.
	rsa2048, err := os.ReadFile("testdata/ssh-rsa-2048.pub")
	if err != nil {
		f.Fatal(err)
	}
	rsa1024, err := os.ReadFile("testdata/ssh-rsa-1024.pub")
	if err != nil {
		f.Fatal(err)
	}
	addSeeds(f, []string{
		string(rsa2048), string(rsa1024),
		k.x25519 + "\n",
		"# alice\r\n" + k.hybrid + "\r\n\r\n" + k.ed25519 + " alice@laptop\r\n",
		k.tag + "\n" + k.tagPQ + "\n" + k.plugin + "\n",
		k.ecdsa + "\n", k.skEd + "\n",
		"", "\n\n# only a comment\n", "unknown\n", "ssh-ed25519\n", "ssh-ed25519 AAAA\n",
		"age1\n", "age1pq1\n", "age1tag1\n", "age1x1qqqq\n", "age1 x\n", "AGE1QQQ\n",
		k.x25519 + "\n" + k.x25519 + "\n",
		"# " + secretPrefix + "1QQQ\n", "AGE-PLUGIN-" + "X-1QQ\n", "-----BEGIN OPENSSH PRIVATE KEY-----\n",
		"\xff\xfe", "\uFEFF" + k.x25519,
		"passphrase env:GUEST_PASS\n", "# guest\r\n  passphrase \t env:_G1  \r\n" + k.x25519 + "\r\n",
		"passphrase env:A\npassphrase env:B\npassphrase  env:A\n", "passphrase\n", "passphrase env:\n",
		"passphrase correct horse battery staple\n", "passphrase: hunter2hunter2\n", "password=x\n",
		"PASSPHRASE env:A\n", "passphrase env:lower\n", "passphrase env:A # guest\n", "passphrases env:A\n",
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "keys/fuzz.pub"
		keys, err := ParseKeys(file, data)
		if err != nil {
			checkLocated(t, file, data, err)
			if keys != nil {
				t.Fatal("keys returned with an error")
			}
			// An unparsable line is never quoted: it might be a secret.
			for _, line := range strings.Split(string(data), "\n") {
				if line = strings.TrimSpace(line); len(line) >= 40 && strings.Contains(err.Error(), line) {
					t.Fatalf("the error quotes a line: %v", err)
				}
			}
			return
		}
		if len(keys) == 0 {
			t.Fatal("no keys and no error")
		}
		seen := map[string]bool{}
		for _, key := range keys {
			// A passphrase key is resolved by Load, never by ParseKeys,
			// which reads no environment.
			if (key.Recipient == nil) != (key.Kind == Passphrase) || key.Line < 1 || key.Text == "" || seen[key.Text] {
				t.Fatalf("bad key %+v", key)
			}
			seen[key.Text] = true
			if key.PostQuantum != (key.Kind == Hybrid || key.Kind == TagPQ) || (key.Plugin != "") != (key.Kind == Plugin) {
				t.Fatalf("inconsistent key %+v", key)
			}
			if (key.Env != "") != (key.Kind == Passphrase) || key.Passphrase() != "" ||
				key.Kind == Passphrase && (key.Text != "passphrase env:"+key.Env || !envName.MatchString(key.Env)) {
				t.Fatalf("inconsistent passphrase key %+v", key)
			}
			// Round trip: the text parses again to the same key.
			again, err := ParseKeys(file, []byte(key.Text))
			if err != nil {
				t.Fatalf("the text of a %s key does not parse again: %v", key.Kind, err)
			}
			if len(again) != 1 || again[0].Kind != key.Kind || again[0].Text != key.Text || again[0].Plugin != key.Plugin {
				t.Fatalf("round trip: %+v, then %+v", key, again)
			}
		}
	})
}

func FuzzParseGroups(f *testing.F) {
	addSeeds(f, []string{
		"board = [\"alice\", \"bob\"]\nmembers = [\"board\", \"vendors\"]\n",
		"\"psirt.vendors\" = [\n  \"cisco-psirt\",\n  \"juniper\",\n]\n",
		"a = [\"b\"]\nb = [\"a\"]\n", "a = [\"a\"]\n", "", "# none\n",
		"a = []\n", "a = \"x\"\n", "[a]\nb = 1\n", "a.b = [\"c\"]\n", "a = [1, \"x\", \"x\"]\n",
		"A = [\"b\"]\n", "a = [\"B c\"]\n", "a = [\n", "a = [\"x\"]\na = [\"y\"]\n", "\xff",
		"'q' = ['x', \"y\"]\r\nz = [\"q\"] # c\r\n",
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "keys/groups.toml"
		groups, err := ParseGroups(file, data)
		if err != nil {
			checkLocated(t, file, data, err)
			return
		}
		var text strings.Builder
		for _, g := range groups {
			if !site.NamePattern.MatchString(g.Name) || len(g.Members) == 0 || g.File != file {
				t.Fatalf("bad group %+v", g)
			}
			for i, m := range g.Members {
				if !site.NamePattern.MatchString(m) || slices.Contains(g.Members[:i], m) {
					t.Fatalf("bad member %q in %+v", m, g)
				}
			}
			fmt.Fprintf(&text, "%q = [", g.Name)
			for i, m := range g.Members {
				if i > 0 {
					text.WriteString(", ")
				}
				fmt.Fprintf(&text, "%q", m)
			}
			text.WriteString("]\n")
		}
		// Round trip: the groups written again parse to the same groups.
		again, err := ParseGroups(file, []byte(text.String()))
		if err != nil {
			t.Fatalf("groups written again do not parse: %v\n%s", err, text.String())
		}
		if len(again) != len(groups) {
			t.Fatalf("round trip: %d groups, then %d", len(groups), len(again))
		}
		for i := range again {
			if again[i].Name != groups[i].Name || !slices.Equal(again[i].Members, groups[i].Members) {
				t.Fatalf("round trip: %+v, then %+v", groups[i], again[i])
			}
		}
		// Resolve against recipients named by every member that is not a
		// group: New either fails with located errors or expands every group.
		isGroup := map[string]bool{}
		for _, g := range groups {
			isGroup[g.Name] = true
		}
		var recs []*Recipient
		for _, g := range groups {
			for _, m := range g.Members {
				if !isGroup[m] && !slices.ContainsFunc(recs, func(r *Recipient) bool { return r.Name == m }) {
					recs = append(recs, &Recipient{Name: m, Keys: []Key{{Kind: X25519, Text: "age1" + m, Line: 1}}})
				}
			}
		}
		r, err := New(recs, groups)
		if err != nil {
			checkLocated(t, file, data, err)
			return
		}
		for _, g := range groups {
			got, err := r.Expand([]string{g.Name})
			if err != nil || len(got) == 0 {
				t.Fatalf("Expand(%s) = %v, %v", g.Name, got, err)
			}
		}
	})
}
