package build

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/open"
	"github.com/conclave-dev/conclave/internal/seal"
	"github.com/conclave-dev/conclave/internal/testtool"
)

const guestPass = "canary guest passphrase, four words"

// guestSite is sealSite with a guest who reads with a passphrase: a member
// of the group all, and the only reader of a passage of page c.
func guestSite(t *testing.T) (string, map[string]*age.X25519Identity) {
	t.Helper()
	dir, ids := sealSite(t)
	testtool.WriteSite(t, dir, map[string]string{
		"keys/guest.pub":   "# a guest without keys: the passphrase is in GUEST_PASS when the site is built\npassphrase env:GUEST_PASS\n",
		"keys/groups.toml": "board = [\"alice\", \"bob\"]\nall = [\"board\", \"carol\", \"guest\"]\n",
		"content/briefings/c.md": "---\ntitle: C\ntlp: amber\n---\n\nPublic part of C.\n\n" +
			"::: restricted to=guest tlp=amber\nGuest detail.\n:::\n",
	})
	return dir, ids
}

func getenv(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func scryptIdentity(t *testing.T, pass string) *age.ScryptIdentity {
	t.Helper()
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// passphraseKeyrings returns the keyrings that keyrings.json marks as
// sealed with a passphrase, by path, and checks that the marks are right.
func passphraseKeyrings(t *testing.T, tree map[string][]byte) map[string][]byte {
	t.Helper()
	var index struct {
		Keyrings []struct {
			Name       string
			Passphrase bool
			Data       []byte
		}
	}
	if err := json.Unmarshal(tree[format.KeyringIndex], &index); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, k := range index.Keyrings {
		p := format.KeyringDir + "/" + k.Name
		if !bytes.Equal(tree[p], k.Data) {
			t.Errorf("%s: not the keyring written", p)
		}
		if scrypt := bytes.Contains(k.Data, []byte("\n-> scrypt ")); scrypt != k.Passphrase {
			t.Errorf("%s: marked passphrase %t, sealed with scrypt %t", p, k.Passphrase, scrypt)
		}
		if k.Passphrase {
			out[p] = k.Data
		}
	}
	return out
}

// A guest's keyring is sealed with their passphrase alone, is marked in
// keyrings.json, and holds exactly the keys of the guest's audiences; the
// passphrase is nowhere in the output.
func TestPassphraseGuest(t *testing.T) {
	dir, ids := guestSite(t)
	out := filepath.Join(dir, "public")
	rep, err := Run(Options{Source: dir, Out: out, Getenv: getenv(map[string]string{"GUEST_PASS": guestPass})})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Seal.Recipients != 4 || rep.Seal.Keyrings != 4 {
		t.Errorf("seal stats %+v: want 4 keyrings for 4 recipients", rep.Seal)
	}
	tree := testtool.Tree(t, out)
	rings := passphraseKeyrings(t, tree)
	if len(rings) != 1 {
		t.Fatalf("%d passphrase keyrings, want 1", len(rings))
	}
	for p, ct := range rings {
		r, err := age.Decrypt(bytes.NewReader(ct), scryptIdentity(t, guestPass))
		if err != nil {
			t.Fatalf("%s does not open with the passphrase: %v", p, err)
		}
		var ring bytes.Buffer
		ring.ReadFrom(r)
		keys, err := age.ParseIdentities(bytes.NewReader(ring.Bytes()))
		if err != nil || len(keys) != 2 {
			t.Fatalf("the guest's keyring holds %d keys (%v), want those of all and of guest", len(keys), err)
		}
		// An audience of guests only stays X25519, which every age
		// reader opens.
		if bytes.Contains(ring.Bytes(), []byte("AGE-SECRET-KEY-PQ-")) {
			t.Error("the guest-only audience key is post-quantum")
		}
		if _, err := age.Decrypt(bytes.NewReader(ct), scryptIdentity(t, "another passphrase"), ids["alice"]); err == nil {
			t.Error("the guest's keyring opens without the passphrase")
		}
	}
	guest, err := open.NewReader(out, []age.Identity{scryptIdentity(t, guestPass)}, builtSums(t, out))
	if err != nil {
		t.Fatal(err)
	}
	defer guest.Close()
	a, c := packetsOf(t, out, "briefings/a"), packetsOf(t, out, "briefings/c")
	b := packetsOf(t, out, "briefings/b")
	for _, tc := range []struct {
		packet, text string
		opens        bool
	}{
		{a[0], "Board detail one.", false},
		{a[1], "All detail.", true},
		{b[0], "Board detail two.", false},
		{c[0], "Guest detail.", true},
	} {
		plain, ok, err := guest.Packet(tc.packet)
		if err != nil || ok != tc.opens || ok && !bytes.Contains(plain, []byte(tc.text)) {
			t.Errorf("the guest and %q: opens %t (%v), want %t", tc.text, ok, err, tc.opens)
		}
	}
	for p, data := range tree {
		if bytes.Contains(data, []byte("canary")) || strings.Contains(p, "canary") || bytes.Contains(data, []byte("GUEST_PASS")) {
			t.Errorf("%s holds the passphrase or its variable", p)
		}
	}
}

// A passphrase missing from the environment fails the build at its key's
// line, before anything is written; the previous output stays.
func TestPassphraseUnset(t *testing.T) {
	dir, _ := guestSite(t)
	out := filepath.Join(dir, "public")
	if _, err := Run(Options{Source: dir, Out: out, Getenv: getenv(map[string]string{"GUEST_PASS": guestPass})}); err != nil {
		t.Fatal(err)
	}
	before := testtool.Tree(t, out)
	for name, vars := range map[string]map[string]string{"unset": nil, "empty": {"GUEST_PASS": ""}} {
		_, err := Run(Options{Source: dir, Out: out, Getenv: getenv(vars)})
		want := "keys/guest.pub:2: passphrase env:GUEST_PASS: the environment variable GUEST_PASS is not set: set it when you build (never in the repository)"
		if err == nil || err.Error() != want {
			t.Errorf("%s: error = %v\nwant %s", name, err, want)
		}
		sameTree(t, "output", before, testtool.Tree(t, out))
	}
	// Options without Getenv: no variable is set.
	if _, err := Run(Options{Source: dir, Out: out}); err == nil || !strings.Contains(err.Error(), "keys/guest.pub:2: passphrase env:GUEST_PASS: the environment variable GUEST_PASS is not set") {
		t.Errorf("without Getenv: %v", err)
	}
	_, err := Run(Options{Source: dir, Out: out, Getenv: getenv(map[string]string{"GUEST_PASS": "canary"})})
	if err == nil || !strings.Contains(err.Error(), "keys/guest.pub:2: passphrase env:GUEST_PASS: the passphrase in GUEST_PASS is too short") || strings.Contains(err.Error(), "canary") {
		t.Errorf("short passphrase: %v", err)
	}
	sameTree(t, "output", before, testtool.Tree(t, out))
}

// A passphrase pasted into a page fails the build at its key's line,
// without quoting it, although the page publishes it on purpose.
func TestPassphraseLeak(t *testing.T) {
	dir, _ := guestSite(t)
	out := filepath.Join(dir, "public")
	opt := Options{Source: dir, Out: out, Getenv: getenv(map[string]string{"GUEST_PASS": guestPass})}
	if _, err := Run(opt); err != nil {
		t.Fatal(err)
	}
	before := testtool.Tree(t, out)
	write(t, dir, "content/briefings/c.md", "---\ntitle: C\ntlp: amber\n---\n\nGuests: your passphrase is "+guestPass+".\n\n"+
		"::: restricted to=guest tlp=amber\nGuest detail.\n:::\n")
	_, err := Run(opt)
	if err == nil {
		t.Fatal("a page publishing the passphrase was built")
	}
	want := "keys/guest.pub:2: the passphrase of passphrase env:GUEST_PASS appears in " + path.Join("briefings", "c", "index.html") + ": take it out of the site, and treat it as exposed (change it)"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v\nwant it to contain %q", err, want)
	}
	if strings.Contains(err.Error(), "canary") {
		t.Errorf("the error quotes the passphrase: %v", err)
	}
	sameTree(t, "output", before, testtool.Tree(t, out))
}

// With the cache, an unchanged passphrase keeps the guest's keyring byte
// for byte; a new one gives a new keyring, which the old passphrase does
// not open, and new audience keys, as a new public key would.
func TestPassphraseChanged(t *testing.T) {
	dir, _ := guestSite(t)
	out := filepath.Join(dir, "public")
	key := make([]byte, seal.KeySize)
	rand.Read(key)
	vars := map[string]string{"GUEST_PASS": guestPass}
	opt := Options{Source: dir, Out: out, CacheKey: key, Getenv: getenv(vars), Now: testNow}
	if _, err := Run(opt); err != nil {
		t.Fatal(err)
	}
	first := testtool.Tree(t, out)
	if _, err := Run(opt); err != nil {
		t.Fatal(err)
	}
	sameSiteNewKeyrings(t, "a rebuild with the same passphrase", first, testtool.Tree(t, out))

	vars["GUEST_PASS"] = "canary: a brand new passphrase"
	rep, err := Run(opt)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reused != 0 {
		t.Errorf("%d pages reused after the passphrase changed", rep.Reused)
	}
	second := testtool.Tree(t, out)
	rings := passphraseKeyrings(t, second)
	for p, ct := range rings {
		if _, ok := first[p]; ok {
			t.Errorf("%s: the same keyring with a new passphrase", p)
		}
		if _, err := age.Decrypt(bytes.NewReader(ct), scryptIdentity(t, guestPass)); err == nil {
			t.Errorf("%s opens with the old passphrase", p)
		}
	}
	if _, err := open.NewReader(out, []age.Identity{scryptIdentity(t, guestPass)}, nil); err == nil {
		t.Error("the old passphrase opens the site")
	}
	// The guest's packets are sealed to new audience keys.
	for _, page := range []string{"briefings/a", "briefings/c"} {
		for i, p := range packetsOf(t, out, page) {
			if _, ok := first[p]; ok && (page == "briefings/c" || i == 1) {
				t.Errorf("%s: the packet %s of the guest's audience is kept with a new passphrase", page, p)
			}
		}
	}
	guest, err := open.NewReader(out, []age.Identity{scryptIdentity(t, vars["GUEST_PASS"])}, builtSums(t, out))
	if err != nil {
		t.Fatal(err)
	}
	defer guest.Close()
	if plain, ok, err := guest.Packet(packetsOf(t, out, "briefings/c")[0]); !ok || err != nil || !bytes.Contains(plain, []byte("Guest detail.")) {
		t.Errorf("the new passphrase does not open the guest's passage: %v", err)
	}
}
