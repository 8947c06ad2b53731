package open

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/build"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// The guests' test site: testSite's briefing, with two guests who read
// with a passphrase, in a group, and a passage for a guest and carol.
const (
	guestPass   = "guest passphrase, four words"
	guest2Pass  = "the other guest's passphrase"
	guestsText  = "GUESTS-ECHO"
	guestCText  = "GUEST-CAROL-FOXTROT"
	guestsPages = "---\ntitle: G\ntlp: amber\n---\n\nFor guests.\n\n" +
		"::: restricted to=guests tlp=amber\n" + guestsText + ".\n:::\n\n" +
		"::: restricted to=guest,carol tlp=amber\n" + guestCText + ".\n:::\n"
)

func guestSite(t testing.TB, p people) string {
	t.Helper()
	src := t.TempDir()
	files := siteFiles{
		"conclave.toml":          "title = \"T\"\n",
		"keys/groups.toml":       "board = [\"alice\", \"bob\"]\nguests = [\"guest\", \"guest2\"]\n",
		"keys/guest.pub":         "passphrase env:GUEST_PASS\n",
		"keys/guest2.pub":        "passphrase env:GUEST2_PASS\n",
		"content/briefings/x.md": briefing,
		"content/briefings/g.md": guestsPages,
	}.withKeys(p.keys())
	testtool.WriteSite(t, src, files)
	out := filepath.Join(src, "public")
	vars := map[string]string{"GUEST_PASS": guestPass, "GUEST2_PASS": guest2Pass}
	if _, err := build.Run(build.Options{Source: src, Out: out, Getenv: func(n string) string { return vars[n] }}); err != nil {
		t.Fatalf("building the test site: %v", err)
	}
	return out
}

// guestID is the passphrase identity of a guest who answers with pass.
func guestID(pass string) (age.Identity, *prompter) {
	ask := &prompter{answer: pass}
	return PassphraseIdentity(func() ([]byte, error) { return ask.prompt("passphrase") }), ask
}

func TestSitePassphrase(t *testing.T) {
	p := newPeople(t, "alice", "bob", "carol")
	site := guestSite(t, p)

	// A guest: asked once, although two keyrings are sealed with a
	// passphrase; reads their passages and no other.
	id, ask := guestID(guestPass)
	rep, files := openCopy(t, site, []age.Identity{id})
	g := files["briefings/g/index.html"]
	if len(ask.asked) != 1 || rep.KeyringsOpened != 1 || rep.Keyrings != 5 || !containsAll(g, guestsText, guestCText) {
		t.Errorf("after %d prompts: %+v", len(ask.asked), *rep)
	}
	if containsAll(files["briefings/x/index.html"], boardText) || containsAll(files["briefings/x/index.html"], carolText) {
		t.Error("the guest reads a passage of another audience")
	}
	// The other guest reads the group's passage only.
	id2, _ := guestID(guest2Pass)
	_, files = openCopy(t, site, []age.Identity{id2})
	if g := files["briefings/g/index.html"]; !containsAll(g, guestsText) || containsAll(g, guestCText) {
		t.Error("the other guest does not read exactly the group's passage")
	}

	// With a key too: both keyrings open.
	id, _ = guestID(guestPass)
	rep, files = openCopy(t, site, append(parse(t, p["alice"].Identity), id))
	if rep.KeyringsOpened != 2 || !containsAll(files["briefings/g/index.html"], guestsText, guestCText) || !containsAll(files["briefings/x/index.html"], boardText, aliceText) {
		t.Errorf("alice and a guest: %+v", *rep)
	}

	// A wrong passphrase is "not for you", not a failure of the keyring.
	id, ask = guestID("not the passphrase")
	_, err := Site(site, filepath.Join(t.TempDir(), "out"), []age.Identity{id}, nil)
	if err == nil || !strings.Contains(err.Error(), "none of the 5 keyrings of "+site+" opens with the given identities and passphrase: the passphrase is wrong") || len(ask.asked) != 1 {
		t.Errorf("wrong passphrase (%d prompts): %v", len(ask.asked), err)
	}
	// No way to ask: the prompt's error.
	noTTY := PassphraseIdentity(func() ([]byte, error) { return nil, errors.New("no terminal to ask on") })
	if _, err := NewReader(site, []age.Identity{noTTY}, nil); err == nil || !strings.Contains(err.Error(), "no terminal to ask on") {
		t.Errorf("prompt error: %v", err)
	}

	// One packet, with the passphrase: the site's keyrings open it.
	sealedPage := readFile(t, filepath.Join(site, "briefings", "g", "index.html"))
	for i, want := range []string{guestsText, guestCText} {
		id, _ = guestID(guestPass)
		plain, _, err := File(filepath.Join(site, filepath.FromSlash(packets(sealedPage)[i])), []age.Identity{id}, nil)
		if err != nil || !bytes.Contains(plain, []byte(want)) {
			t.Errorf("packet %d with the passphrase: %v", i, err)
		}
	}
}

// A passphrase identity does not get in the way on a site without
// passphrase keyrings: it is never asked, and other identities read.
func TestSitePassphraseNotAsked(t *testing.T) {
	p := newPeople(t, "alice", "bob", "carol")
	id, ask := guestID(guestPass)
	rep, files := openCopy(t, testSite(t, p), append([]age.Identity{id}, parse(t, p["carol"].Identity)...))
	if len(ask.asked) != 0 || rep.KeyringsOpened != 1 || !containsAll(files["briefings/x/index.html"], carolText) {
		t.Errorf("after %d prompts: %+v", len(ask.asked), *rep)
	}
}

// age's own scrypt identity reports a file that is not passphrase-
// encrypted, and a wrong passphrase, as not for it: decrypt says "not for
// these identities", never fails.
func TestDecryptScryptIdentity(t *testing.T) {
	p := newPeople(t, "alice", "bob", "carol")
	site := guestSite(t, p)
	wrong, err := age.NewScryptIdentity("not the passphrase")
	if err != nil {
		t.Fatal(err)
	}
	right, err := age.NewScryptIdentity(guestPass)
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for _, k := range keyrings(t, site) {
		data := readFile(t, k)
		if _, ok, err := decryptFrom(bytes.NewReader(data), int64(len(data)), []age.Identity{wrong}); ok || err != nil {
			t.Errorf("%s with a wrong passphrase: ok %t, %v", filepath.Base(k), ok, err)
		}
		_, ok, err := decryptFrom(bytes.NewReader(data), int64(len(data)), []age.Identity{right})
		if err != nil {
			t.Errorf("%s with the passphrase: %v", filepath.Base(k), err)
		}
		if ok {
			opened++
		}
	}
	if opened != 1 {
		t.Errorf("the passphrase opens %d keyrings, want 1", opened)
	}
}

// A keyring that asks for far more scrypt work than conclave uses is
// refused before the reader is asked for anything.
func TestPassphraseWorkFactorBound(t *testing.T) {
	id, ask := guestID(guestPass)
	s := &age.Stanza{Type: "scrypt", Args: []string{"AAAAAAAAAAAAAAAAAAAAAA", "22"}, Body: make([]byte, 32)}
	_, err := id.Unwrap([]*age.Stanza{s})
	if err == nil || errors.Is(err, age.ErrIncorrectIdentity) || !strings.Contains(err.Error(), "scrypt work factor of 22, above the 16 conclave seals with") || len(ask.asked) != 0 {
		t.Errorf("work factor 22 (%d prompts): %v", len(ask.asked), err)
	}
	x := &age.Stanza{Type: "X25519", Args: []string{"x"}, Body: make([]byte, 32)}
	if _, err := id.Unwrap([]*age.Stanza{x}); !errors.Is(err, age.ErrIncorrectIdentity) || len(ask.asked) != 0 {
		t.Errorf("X25519 stanza: %v", err)
	}
}

// TestPassphraseTriesBound: a passphrase is tried on at most
// MaxPassphraseTries keyrings, the most a build writes; past them, no
// scrypt is run (a hostile site with 40 keyrings of work factor 18 took
// 28.6 s and 542 MiB), and one of work factor 17 is refused untried.
func TestPassphraseTriesBound(t *testing.T) {
	id, ask := guestID(guestPass)
	stanzas := func(pass string, logN int) []*age.Stanza {
		r, err := age.NewScryptRecipient(pass)
		if err != nil {
			t.Fatal(err)
		}
		r.SetWorkFactor(logN)
		s, err := r.Wrap(make([]byte, 16))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := id.Unwrap(stanzas(guestPass, 17)); err == nil || !strings.Contains(err.Error(), "work factor of 17, above the 16") || len(ask.asked) != 0 {
		t.Errorf("work factor 17: %v", err)
	}
	other := stanzas("not the guest's passphrase", MaxScryptWorkFactor)
	for i := range MaxPassphraseTries {
		if _, err := id.Unwrap(other); !errors.Is(err, age.ErrIncorrectIdentity) {
			t.Fatalf("try %d: %v", i+1, err)
		}
	}
	_, err := id.Unwrap(stanzas(guestPass, MaxScryptWorkFactor))
	if err == nil || errors.Is(err, age.ErrIncorrectIdentity) || !strings.Contains(err.Error(), "tried on 8 passphrase keyrings already, the most a site holds") || len(ask.asked) != 1 {
		t.Errorf("try %d: %v (%d prompts)", MaxPassphraseTries+1, err, len(ask.asked))
	}
}
