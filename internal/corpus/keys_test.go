package corpus

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/BurntSushi/toml"

	"github.com/conclave-dev/conclave/internal/secret"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// writeDir writes a corpus into a new temporary folder and returns it.
func writeDir(t *testing.T, opt Options) string {
	t.Helper()
	dir := t.TempDir()
	if err := Write(dir, opt); err != nil {
		t.Fatal(err)
	}
	return dir
}

var (
	pubLine      = regexp.MustCompile(`^age1[02-9ac-hj-np-z]{58}$`)
	identityLine = regexp.MustCompile(`^` + secretPrefix + `1[02-9AC-HJ-NP-Z]{58}$`)
)

func TestKeys(t *testing.T) {
	const n = 45
	dir := writeDir(t, Options{Pages: 20, Seed: 2, Recipients: n})
	keys := testtool.Tree(t, filepath.Join(dir, "keys"))
	ids := testtool.Tree(t, filepath.Join(dir, IdentitiesDir))
	if len(keys) != n+1 || len(ids) != n {
		t.Fatalf("%d files in keys/ and %d in identities/, want %d and %d", len(keys), len(ids), n+1, n)
	}
	seen := map[string]bool{}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("r-%04d", i)
		pub := strings.Split(strings.TrimSuffix(string(keys[name+".pub"]), "\n"), "\n")
		if len(pub) != 2 || !strings.HasPrefix(pub[0], "# ") || !pubLine.MatchString(pub[1]) {
			t.Fatalf("keys/%s.pub = %q, want a comment and an age1 recipient", name, pub)
		}
		if _, err := age.ParseX25519Recipient(pub[1]); err != nil {
			t.Errorf("keys/%s.pub: %v", name, err)
		}
		if seen[pub[1]] {
			t.Errorf("keys/%s.pub: recipient %s seen before", name, pub[1])
		}
		seen[pub[1]] = true

		idFile := string(ids[name+".txt"])
		lines := strings.Split(strings.TrimSuffix(idFile, "\n"), "\n")
		if len(lines) != 2 || lines[0] != "# public key: "+pub[1] || !identityLine.MatchString(lines[1]) {
			t.Fatalf("identities/%s.txt = %q", name, lines)
		}
		id, err := age.ParseX25519Identity(lines[1])
		if err != nil {
			t.Fatalf("identities/%s.txt: %v", name, err)
		}
		if got := id.Recipient().String(); got != pub[1] {
			t.Errorf("identities/%s.txt is the identity of %s, not of %s", name, got, pub[1])
		}
		parsed, err := age.ParseIdentities(strings.NewReader(idFile))
		if err != nil || len(parsed) != 1 {
			t.Errorf("identities/%s.txt: age.ParseIdentities: %d identities, %v", name, len(parsed), err)
		}
	}

	// No secret where a site build looks, and secrets where tests look.
	for _, sub := range []string{"content", "keys"} {
		for name, data := range testtool.Tree(t, filepath.Join(dir, sub)) {
			if line, what, ok := secret.Find(data); ok {
				t.Errorf("%s/%s:%d: %s", sub, name, line, what)
			}
		}
	}
	if _, _, ok := secret.Find(ids["r-0001.txt"]); !ok {
		t.Error("secret.Find does not recognise identities/r-0001.txt")
	}
	if fi, err := os.Stat(filepath.Join(dir, IdentitiesDir, "r-0001.txt")); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("identities/r-0001.txt is readable by others: %v %v", fi.Mode(), err)
	}

	// A recipient's key depends on the seed and its number only.
	other := testtool.Tree(t, filepath.Join(writeDir(t, Options{Pages: 3, Seed: 2, Recipients: 1}), "keys"))
	if string(other["r-0001.pub"]) != string(keys["r-0001.pub"]) {
		t.Error("r-0001 has another key when there are fewer recipients")
	}
	other = testtool.Tree(t, filepath.Join(writeDir(t, Options{Pages: 20, Seed: 3, Recipients: 1}), "keys"))
	if string(other["r-0001.pub"]) == string(keys["r-0001.pub"]) {
		t.Error("r-0001 has the same key under seeds 2 and 3")
	}
}

// readGroups reads keys/groups.toml, checking its layout: a comment, then
// one group a line.
func readGroups(t *testing.T, dir string) (map[string][]string, []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "keys", "groups.toml"))
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^([a-z0-9][a-z0-9._-]*) = \["[a-z0-9][a-z0-9._-]*"(, "[a-z0-9][a-z0-9._-]*")*\]$`)
	var order []string
	for i, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if i == 0 && strings.HasPrefix(l, "# ") {
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("groups.toml:%d: %q is not one group on one line", i+1, l)
		}
		order = append(order, m[1])
	}
	var groups map[string][]string
	if _, err := toml.Decode(string(data), &groups); err != nil {
		t.Fatalf("groups.toml: %v", err)
	}
	return groups, order
}

func TestGroups(t *testing.T) {
	for _, n := range []int{1, 9, 10, 30, 200, 457} {
		dir := writeDir(t, Options{Pages: 5, Seed: int64(n), Recipients: n})
		groups, order := readGroups(t, dir)
		ng := max(1, (n+10)/20)
		var want []string
		for i := range ng {
			want = append(want, fmt.Sprintf("g-%02d", i+1))
		}
		if !slices.Equal(order, append(slices.Clone(want), membersGroup)) {
			t.Errorf("%d recipients: groups %q, want %q and members", n, order, want)
			continue
		}
		if !slices.Equal(groups[membersGroup], want) {
			t.Errorf("%d recipients: members = %q, want %q", n, groups[membersGroup], want)
		}
		in := map[string]int{}
		for _, g := range want {
			m := groups[g]
			if !slices.IsSorted(m) || len(slices.Compact(slices.Clone(m))) != len(m) {
				t.Errorf("%d recipients: %s is not sorted or repeats a name: %q", n, g, m)
			}
			if ng > 1 && (len(m) < 15 || len(m) > 30) {
				t.Errorf("%d recipients: %s has %d members, want about 20", n, g, len(m))
			}
			for _, r := range m {
				if _, err := os.Stat(filepath.Join(dir, "keys", r+".pub")); err != nil {
					t.Errorf("%d recipients: %s: member %s: %v", n, g, r, err)
				}
				in[r]++
			}
		}
		twice := 0
		for i := 1; i <= n; i++ {
			switch c := in[fmt.Sprintf("r-%04d", i)]; {
			case c == 0 || c > 2:
				t.Errorf("%d recipients: r-%04d is in %d groups, want 1 or 2", n, i, c)
			case c == 2:
				twice++
			}
		}
		if n >= 200 && (twice < n/20 || twice > n/4) {
			t.Errorf("%d recipients: %d are in two groups, want some", n, twice)
		}
	}
}
