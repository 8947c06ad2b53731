package seal

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/audience"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// passphraseKeys returns the keys of keys/NAME.pub holding lines, loaded
// and resolved as a build does, with vars as the environment.
func passphraseKeys(t testing.TB, lines string, vars map[string]string) []audience.Key {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "keys", "g.pub"), []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := audience.Load(root, audience.LoadOptions{Getenv: func(n string) string { return vars[n] }})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := reg.Recipient("g")
	return r.Keys
}

// guest is a test recipient who reads with a passphrase only.
func guest(t testing.TB, name, pass string) *person {
	t.Helper()
	keys := passphraseKeys(t, "passphrase env:PASS\n", map[string]string{"PASS": pass})
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		t.Fatal(err)
	}
	return &person{name: name, ids: []age.Identity{id}, keys: keys}
}

func TestSplitKeysPassphrase(t *testing.T) {
	erin := fixturePeople(t)["erin"] // an X25519 key, then a hybrid one
	pass := passphraseKeys(t, "passphrase env:A\npassphrase env:B\n", map[string]string{"A": "first passphrase", "B": "second passphrase"})
	keys := []audience.Key{pass[0], erin.keys[0], pass[1], erin.keys[1]}
	var got []string
	for _, set := range splitKeys(keys) {
		var texts []string
		for _, k := range set {
			texts = append(texts, k.Type())
		}
		got = append(got, strings.Join(texts, "+"))
	}
	// age refuses an scrypt recipient beside any other: each passphrase
	// key is a keyring of its own.
	if s := strings.Join(got, " "); s != "x25519 mlkem768x25519 passphrase passphrase" {
		t.Errorf("sets: %s", s)
	}
}

// A passphrase keyring, like every keyring, is encrypted anew by every
// build, with the cache or without: it opens with its passphrase, and a
// new passphrase in the same variable gives a keyring that the old one
// does not open. A key loaded without the environment is refused.
func TestKeyringPassphraseAnew(t *testing.T) {
	const first, second = "first guest passphrase", "second guest passphrase"
	scrypt := func(pass string) age.Identity {
		id, err := age.NewScryptIdentity(pass)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	// ringOf returns the keyring that pass opens, and checks that it is
	// the only one.
	ringOf := func(b *build, pass string) []byte {
		t.Helper()
		var ring []byte
		for path, ct := range b.out.under(format.KeyringDir) {
			if !bytes.Contains(ct, []byte("\n-> scrypt ")) {
				continue
			}
			if _, err := decrypt(t, ct, scrypt(pass)); err == nil {
				if ring != nil {
					t.Fatalf("the passphrase opens two keyrings (%s)", path)
				}
				ring = ct
			}
		}
		return ring
	}
	ps := people{"alice": fixturePeople(t)["alice"], "guest": guest(t, "guest", first)}
	pages := []*site.Page{page("content/g.md", "::: restricted to=guest,alice\nFor the guest, secret G.\n:::\n")}
	dir := t.TempDir()
	b1 := sealBuild(t, registry(t, ps, ""), openCache(t, dir, testKey(1)), pages...)
	if err := b1.sealer.cache.Save(); err != nil {
		t.Fatal(err)
	}
	b2 := sealBuild(t, registry(t, ps, ""), openCache(t, dir, testKey(1)), pages...)
	ring1, ring2 := ringOf(b1, first), ringOf(b2, first)
	if ring1 == nil || ring2 == nil {
		t.Fatal("the passphrase opens no keyring")
	}
	if bytes.Equal(ring1, ring2) {
		t.Error("the second build published the first build's passphrase keyring")
	}
	if !bytes.Equal(b1.packetOf(t, "content/g.md"), b2.packetOf(t, "content/g.md")) {
		t.Error("the packet changed with the cache")
	}
	ps["guest"] = guest(t, "guest", second)
	b3 := sealBuild(t, registry(t, ps, ""), openCache(t, dir, testKey(1)), pages...)
	if ringOf(b3, first) != nil || ringOf(b3, second) == nil {
		t.Error("after a new passphrase: the old one opens a keyring, or the new one none")
	}

	// A key loaded without the environment cannot be sealed to.
	unresolved, err := audience.ParseKeys("keys/guest.pub", []byte("passphrase env:PASS\n"))
	if err != nil {
		t.Fatal(err)
	}
	ps["guest"] = &person{name: "guest", keys: unresolved}
	reg := registry(t, ps, "")
	conv := newConv(t)
	docs := parse(t, conv, pages...)
	plan, err := NewPlan(docs, reg, config())
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSealer(plan, conv, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := newOutputs()
	sealAll(t, s, docs, out.emit)
	if err := s.Keyrings(reg, out.emit); err == nil || err.Error() != "keys/guest.pub:1: encrypting guest's keyring: passphrase env:PASS was not resolved: its passphrase was not read from the environment (a bug in conclave)" {
		t.Errorf("unresolved key: %v", err)
	}
	if len(out.under(format.KeyringDir)) != 0 || out.files[format.KeyringIndex] != nil {
		t.Error("keyrings were emitted beside an error")
	}
}

// A guest is an ordinary member of groups and audiences; their keyring
// is sealed with their passphrase alone, holds the keys of exactly their
// audiences, and is marked in the keyring index.
func TestKeyringsPassphrase(t *testing.T) {
	ps := people{}
	for name, p := range fixturePeople(t) {
		ps[name] = p
	}
	ps["guest"] = guest(t, "guest", "guest passphrase, long enough")
	// A vendor with a key and a passphrase, for when the key is not at hand.
	own := newPerson(t, "vendor", false)
	v := guest(t, "vendor", "vendor passphrase, long enough")
	pass := v.keys[0]
	pass.Line = 2
	ps["vendor"] = &person{name: "vendor", ids: []age.Identity{own.ids[0], v.ids[0]}, keys: []audience.Key{own.keys[0], pass}}

	reg := registry(t, ps, fixtureGroups+"guests = [\"guest\", \"vendor\"]\n")
	pages := sealPages()
	pages = append(pages, labelled(page("content/g.md", "::: restricted to=guests\nFor the guests, secret G.\n:::\n\n"+
		"::: restricted to=guest,board\nGuest and board, secret H.\n:::\n\n::: restricted to=guest,pqteam\nGuest and pq, secret I.\n:::\n"), tlp.Amber))
	b := sealBuild(t, reg, nil, pages...)

	want := map[string][]string{} // recipient → its audiences' keys
	for _, a := range b.plan.Audiences() {
		for _, m := range a.Members {
			want[m] = append(want[m], identityString(b.sealer.ids[a.ID]))
		}
	}
	keyrings := b.out.under(format.KeyringDir)
	var index format.Keyrings
	if err := json.Unmarshal(b.out.files[format.KeyringIndex], &index); err != nil {
		t.Fatal(err)
	}
	marked := map[string]bool{}
	for _, k := range index.Keyrings {
		marked[format.KeyringDir+"/"+k.Name] = k.Passphrase
	}
	if len(marked) != len(keyrings) {
		t.Fatalf("%d keyrings in the index, %d written", len(marked), len(keyrings))
	}
	passphraseRings := 0
	for path, ct := range keyrings {
		isScrypt := bytes.Contains(ct, []byte("\n-> scrypt "))
		if marked[path] != isScrypt {
			t.Errorf("%s: marked passphrase %t, sealed with scrypt %t", path, marked[path], isScrypt)
		}
		if isScrypt {
			passphraseRings++
			if bytes.Count(ct, []byte("\n-> ")) != 1 || !bytes.Contains(ct, []byte(" 16\n")) {
				t.Errorf("%s: not one scrypt stanza of work factor 16:\n%s", path, ct[:bytes.Index(ct, []byte("\n---"))])
			}
		}
	}
	if passphraseRings != 2 {
		t.Errorf("%d passphrase keyrings, want 2 (guest, vendor)", passphraseRings)
	}
	for _, name := range []string{"guest", "vendor"} {
		p := ps[name]
		slices.Sort(want[name])
		for i, id := range p.ids {
			var opens []string
			for path, ct := range keyrings {
				pt, err := decrypt(t, ct, id)
				if err != nil {
					continue
				}
				opens = append(opens, path)
				if got := identityStrings(t, pt); !slices.Equal(got, want[name]) {
					t.Errorf("%s's keyring %s holds %d keys, want the %d of their audiences", name, path, len(got), len(want[name]))
				}
			}
			if len(opens) != 1 {
				t.Errorf("%s's identity %d opens %d keyrings, want 1", name, i, len(opens))
			}
		}
	}
	if len(want["guest"]) != 3 || len(want["vendor"]) != 1 {
		t.Errorf("guest in %d audiences, vendor in %d; want 3 and 1", len(want["guest"]), len(want["vendor"]))
	}
}

// A passphrase does not stop an audience from being post-quantum: its
// keyring is symmetric cryptography. An audience of guests only stays
// X25519, which every age reader opens. Its passphrase is part of the
// audience's ID: a new passphrase is a new audience key.
func TestAudiencePassphrase(t *testing.T) {
	ps := people{}
	for name, p := range fixturePeople(t) {
		ps[name] = p
	}
	ps["guest"] = guest(t, "guest", "guest passphrase, long enough")
	auds := planOf(t, registry(t, ps, fixtureGroups), config(), "guest", "guest,pqteam", "guest,alice", "guest,erin")
	for i, want := range []bool{false, true, false, false} {
		if auds[i].PostQuantum != want {
			t.Errorf("audience %s: PostQuantum = %t, want %t", strings.Join(auds[i].Members, ","), auds[i].PostQuantum, want)
		}
	}
	ps["guest"] = guest(t, "guest", "another passphrase, long enough")
	again := planOf(t, registry(t, ps, fixtureGroups), config(), "guest", "guest,alice")
	if again[0].ID == auds[0].ID || again[1].ID == auds[2].ID {
		t.Error("a new passphrase keeps the audience's ID")
	}
	ps["guest"] = guest(t, "guest", "another passphrase, long enough")
	if id := planOf(t, registry(t, ps, fixtureGroups), config(), "guest")[0].ID; id != again[0].ID {
		t.Error("the same passphrase gives another audience ID")
	}
}
