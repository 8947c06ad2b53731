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

// The keyring cache covers a passphrase key's passphrase, not only its
// text: the same "passphrase env:NAME" with another passphrase gets a new
// keyring, which the old passphrase does not open; the same passphrase
// gets the cached bytes, in this build and the next.
func TestKeyringCachePassphrase(t *testing.T) {
	const first, second = "first guest passphrase", "second guest passphrase"
	dir := t.TempDir()
	plan, err := NewPlan(nil, fixtureRegistry(t), config())
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSealer(plan, newConv(t), openCache(t, dir, testKey(1)))
	if err != nil {
		t.Fatal(err)
	}
	plaintext := []byte("# a keyring\n")
	a := passphraseKeys(t, "passphrase env:PASS\n", map[string]string{"PASS": first})
	b := passphraseKeys(t, "passphrase env:PASS\n", map[string]string{"PASS": second})
	if a[0].Text != b[0].Text {
		t.Fatalf("texts %q and %q", a[0].Text, b[0].Text)
	}
	ctA, err := s.keyring(a, plaintext)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.keyring(a, plaintext)
	if err != nil || !bytes.Equal(again, ctA) {
		t.Errorf("the same passphrase: not the cached keyring (%v)", err)
	}
	ctB, err := s.keyring(b, plaintext)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(ctA, ctB) {
		t.Fatal("another passphrase got the cached keyring")
	}
	scrypt := func(pass string) age.Identity {
		id, err := age.NewScryptIdentity(pass)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	if got := mustDecrypt(t, "the new keyring", ctB, scrypt(second)); !bytes.Equal(got, plaintext) {
		t.Errorf("the new keyring holds %q", got)
	}
	if _, err := decrypt(t, ctB, scrypt(first)); err == nil {
		t.Error("the old passphrase opens the new keyring")
	}
	// The next build, with the cache saved: the same bytes.
	if err := s.cache.Save(); err != nil {
		t.Fatal(err)
	}
	s2, err := NewSealer(plan, newConv(t), openCache(t, dir, testKey(1)))
	if err != nil {
		t.Fatal(err)
	}
	if ct, err := s2.keyring(b, plaintext); err != nil || !bytes.Equal(ct, ctB) {
		t.Errorf("the next build: not the cached keyring (%v)", err)
	}
	// A key loaded without the environment cannot be sealed to.
	unresolved, err := audience.ParseKeys("keys/g.pub", []byte("passphrase env:PASS\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.keyring(unresolved, plaintext); err == nil || !strings.Contains(err.Error(), "passphrase env:PASS was not resolved") {
		t.Errorf("unresolved key: %v", err)
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
	keyrings := b.out.under(KeyringDir)
	var index keyringIndex
	if err := json.Unmarshal(b.out.files[KeyringIndex], &index); err != nil {
		t.Fatal(err)
	}
	marked := map[string]bool{}
	for _, k := range index.Keyrings {
		marked[KeyringDir+"/"+k.Name] = k.Passphrase
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
