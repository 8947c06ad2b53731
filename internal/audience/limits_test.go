package audience

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/testtool"
)

// layeredGroups returns a groups.toml of layers × width groups, each
// listing every group of the next layer, the last layer listing alice:
// expanded path by path, the first layer covers width^(layers-1) paths.
func layeredGroups(layers, width int) string {
	var b strings.Builder
	for i := 1; i <= layers; i++ {
		for j := 1; j <= width; j++ {
			var members []string
			if i == layers {
				members = []string{`"alice"`}
			} else {
				for k := 1; k <= width; k++ {
					members = append(members, fmt.Sprintf(`"g%d-%d"`, i+1, k))
				}
			}
			fmt.Fprintf(&b, "g%d-%d = [%s]\n", i, j, strings.Join(members, ", "))
		}
	}
	return b.String()
}

// chainGroups returns a groups.toml of n groups, each holding the next,
// the last holding alice.
func chainGroups(n int) string {
	var b strings.Builder
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "c%d = [\"c%d\"]\n", i, i+1)
	}
	fmt.Fprintf(&b, "c%d = [\"alice\"]\n", n)
	return b.String()
}

// TestGroupBomb: 20 layers of 50 groups, each listing every group of the
// next layer (a 456 kB groups.toml, 50^19 paths), took longer than a
// minute when groups were expanded path by path. Each group is now
// expanded once.
func TestGroupBomb(t *testing.T) {
	data := layeredGroups(20, 50)
	testtool.BoundedAlloc(t, 64<<20, func() {
		r, err := New(recipients("alice", "bob"), groups(t, data))
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range []string{"g1-1", "g10-7", "g20-50"} {
			if got, err := r.Expand([]string{g, "bob"}); err != nil || strings.Join(got, ",") != "alice,bob" {
				t.Errorf("Expand(%s, bob) = %v, %v", g, got, err)
			}
		}
		if got := r.GroupsOf("alice"); len(got) != 1000 {
			t.Errorf("alice is in %d groups, want 1000", len(got))
		}
		if got := r.GroupsOf("g19-1"); len(got) != 18*50 {
			t.Errorf("g19-1 is in %d groups, want %d", len(got), 18*50)
		}
		if got := r.GroupsOf("bob"); len(got) != 0 {
			t.Errorf("bob is in %v", got)
		}
	})
}

// TestGroupBombLoad is TestGroupBomb through Load, the one path of build,
// keys list, audit and serve.
func TestGroupBombLoad(t *testing.T) {
	k := keysFor(t)
	root := testtool.WriteSite(t, "", map[string]string{
		"keys/alice.pub":   k.x25519 + "\n",
		"keys/groups.toml": layeredGroups(20, 50),
	})
	testtool.BoundedAlloc(t, 64<<20, func() {
		r, err := Load(root, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := r.Expand([]string{"g1-1"}); strings.Join(got, ",") != "alice" {
			t.Errorf("Expand(g1-1) = %v", got)
		}
	})
}

func TestGroupDepth(t *testing.T) {
	// MaxGroupDepth levels are fine, one more is not.
	r, err := New(recipients("alice"), groups(t, chainGroups(MaxGroupDepth)))
	if err != nil {
		t.Fatalf("%d levels: %v", MaxGroupDepth, err)
	}
	if got, _ := r.Expand([]string{"c1"}); strings.Join(got, ",") != "alice" {
		t.Errorf("Expand(c1) = %v", got)
	}
	const f = "keys/groups.toml"
	for _, tt := range []struct {
		name, data string
		want       []string
	}{
		{"65 levels", chainGroups(MaxGroupDepth + 1), []string{
			f + ":1: groups nested more than 64 deep: c1 → c2 → c3 → … → c64 → c65: a group of groups of … of recipients may have at most 64 levels",
		}},
		// The walk starts from c1, the first in name order, and stops at
		// the 65th level: the error is at c1's line, and the rest of the
		// chain is never visited.
		{"10,000 levels", chainGroups(10_000), []string{
			f + ":1: groups nested more than 64 deep: c1 → c2 → c3 → … → c64 → c65: a group of groups of … of recipients may have at most 64 levels",
		}},
		// Reached through a group already expanded (a, 64 levels, the
		// first in name order): a path to it is checked with the depth
		// found the first time.
		{"deep group reached again", "a = [\"c1\"]\nx = [\"y\"]\ny = [\"a\"]\n" + chainGroups(MaxGroupDepth-1), []string{
			f + ":2: groups nested more than 64 deep: x → y → a → … → c61 → c62: a group of groups of … of recipients may have at most 64 levels",
		}},
		// A cycle found before the walk gets too deep is still reported.
		{"cycle", "a = [\"b\"]\nb = [\"a\"]\n", []string{
			f + ":1: group cycle: a → b → a (a group cannot contain itself)",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			testtool.BoundedAlloc(t, 64<<20, func() {
				_, err = New(recipients("alice"), groups(t, tt.data))
			})
			if got := errorLines(t, err); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestGroupMemberships: groups that expand to more than MaxMemberships
// (group, recipient) pairs in all are refused before they are all made.
func TestGroupMemberships(t *testing.T) {
	var names, quoted []string
	for i := range 2000 {
		names = append(names, fmt.Sprintf("r%d", i))
		quoted = append(quoted, fmt.Sprintf("%q", names[i]))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "all = [%s]\n", strings.Join(quoted, ", "))
	for i := range 1000 {
		fmt.Fprintf(&b, "g%04d = [\"all\", \"r%d\"]\n", i, i)
	}
	// 1,001 groups of 2,000 recipients: just over 2,000,000.
	var err error
	testtool.BoundedAlloc(t, 64<<20, func() {
		_, err = New(recipients(names...), groups(t, b.String()))
	})
	want := `keys/groups.toml:1001: groups cover more than 2000000 memberships once expanded (the sum, over every group, of the recipients it covers), reached at group "g0999": ` +
		"that many do not fit in memory and in conclave keys list; nest fewer groups inside one another"
	if got := errorLines(t, err); strings.Join(got, "\n") != want {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}

// newKeys returns n new X25519 public keys, one a line.
func newKeys(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for range n {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, id.Recipient().String())
	}
	return out
}

// TestTooManyKeys: age opens no file of more than 1,024 stanzas, and a
// keyring has one for each of its recipient's keys: a recipient has at
// most MaxKeys.
func TestTooManyKeys(t *testing.T) {
	keys := newKeys(t, MaxKeys+2)
	ok := "# laptop\n" + strings.Join(keys[:MaxKeys], "\n") + "\n"
	got, err := ParseKeys("keys/alice.pub", []byte(ok))
	if err != nil || len(got) != MaxKeys {
		t.Fatalf("%d keys: %d, %v", MaxKeys, len(got), err)
	}
	if n := CountKeys([]byte(ok)); n != MaxKeys {
		t.Errorf("CountKeys = %d", n)
	}
	tooMany := ok + "# two more\n" + keys[MaxKeys] + "\n" + keys[MaxKeys+1] + "\n"
	_, err = ParseKeys("keys/alice.pub", []byte(tooMany))
	want := "keys/alice.pub:67: too many keys: a recipient has at most 64 (its keyring is encrypted to all its keys, and age opens no file of more than 1,024); " +
		"remove keys no longer used, or give each member of a team keys of their own and the team a group (keys/groups.toml)"
	if got := errorLines(t, err); strings.Join(got, "\n") != want {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	if n := CountKeys([]byte(tooMany)); n != MaxKeys {
		t.Errorf("CountKeys = %d, want %d", n, MaxKeys)
	}

	// Load reports it, and the registry is refused.
	root := testtool.WriteSite(t, "", map[string]string{"keys/alice.pub": tooMany})
	r, err := Load(root, LoadOptions{})
	if r != nil || err == nil || !strings.Contains(err.Error(), "keys/alice.pub:67: too many keys") {
		t.Errorf("Load = %v, %v", r, err)
	}

	// A file of thousands of keys, within the 1 MiB of a keys file, costs
	// no more than parsing them.
	many := strings.Join(newKeys(t, 5000), "\n")
	testtool.BoundedAlloc(t, 64<<20, func() {
		if _, err := ParseKeys("keys/alice.pub", []byte(many)); err == nil {
			t.Error("5,000 keys accepted")
		}
	})
}

// TestLoadGroupsTooLarge: keys files are read up to MaxFileSize, never
// whole.
func TestLoadGroupsTooLarge(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(root, "keys", "groups.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	testtool.BoundedAlloc(t, 8<<20, func() {
		_, err = Load(root, LoadOptions{})
	})
	if err == nil || !strings.Contains(err.Error(), "keys/groups.toml: too large for a keys file (more than 1048576 bytes)") {
		t.Errorf("Load: %v", err)
	}
}

// BenchmarkGroups times New (parse excluded) on layered groups.toml files:
// the time grows with the number of member references (layers × width²),
// not with the number of paths (width^layers).
//
//	go test ./internal/audience -run XXX -bench Groups -benchmem
func BenchmarkGroups(b *testing.B) {
	for _, size := range []struct{ layers, width int }{{10, 50}, {20, 50}, {40, 50}, {20, 100}, {64, 10}} {
		b.Run(fmt.Sprintf("%dx%d", size.layers, size.width), func(b *testing.B) {
			data := layeredGroups(size.layers, size.width)
			gs, err := ParseGroups(GroupsFile, []byte(data))
			if err != nil {
				b.Fatal(err)
			}
			rs := recipients("alice")
			for b.Loop() {
				if _, err := New(rs, gs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("chain10000", func(b *testing.B) {
		gs, err := ParseGroups(GroupsFile, []byte(chainGroups(10_000)))
		if err != nil {
			b.Fatal(err)
		}
		rs := recipients("alice")
		for b.Loop() {
			if _, err := New(rs, gs); err == nil {
				b.Fatal("no error")
			}
		}
	})
}
