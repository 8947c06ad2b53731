package open

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/plugin"

	"github.com/conclave-dev/conclave/internal/format"
)

// FuzzUnseal gives random pages to a reader of a small real site: it never
// panics, reads nothing but packets/<32 hex>.age, and leaves a page with
// no placeholder exactly as it was.
func FuzzUnseal(f *testing.F) {
	p := newPeople(f, "alice", "bob", "carol")
	site := testSite(f, p)
	base, err := NewReader(site, parse(f, p["alice"].Identity), nil)
	if err != nil {
		f.Fatal(err)
	}
	defer base.Close()
	page := readFile(f, filepath.Join(site, "briefings", "x", "index.html"))
	pk := packets(page)
	var seeds [][]byte
	for _, rel := range []string{"briefings/x/index.html", "briefings/k3x9q/index.html", "index.html"} {
		if data, err := os.ReadFile(filepath.Join(site, filepath.FromSlash(rel))); err == nil {
			seeds = append(seeds, data)
		}
	}
	for _, s := range []string{
		"",
		"<p>no placeholder</p>",
		placeholder(pk[0]),
		placeholder(pk[1]) + placeholder(pk[0]),
		placeholder("../../etc/passwd"),
		placeholder("/etc/passwd"),
		placeholder("packets/keyrings/" + filepath.Base(keyrings(f, site)[0])),
		`<section class="sealed" data-packet="packets/` + strings.Repeat("0", 32) + `.age">`,
		`<section class="sealed"></section>`,
		`<section class="sealed" data-packet="x" data-packet="` + pk[0] + `"></section>`,
		`<section class="sealed ` + "\x00" + `" data-packet="` + pk[0] + `">` + placeholder(pk[1]),
	} {
		seeds = append(seeds, []byte(s))
	}
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, page []byte) {
		root, err := os.OpenRoot(site)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		rec := &recordFS{FS: root.FS()}
		r := &Reader{site: site, fsys: rec, ids: base.ids, packets: map[string]packet{}}
		out, opened, notForYou, err := r.Unseal(page)
		for _, p := range rec.paths {
			if !format.IsPacketPath(p) {
				t.Errorf("read %q", p)
			}
		}
		if opened < 0 || notForYou < 0 {
			t.Errorf("counts %d, %d", opened, notForYou)
		}
		if !bytes.Contains(page, []byte(format.PlaceholderStart)) {
			if err != nil || !bytes.Equal(out, page) || opened+notForYou != 0 {
				t.Errorf("a page with no placeholder: err %v, changed: %v, counts %d, %d", err, !bytes.Equal(out, page), opened, notForYou)
			}
		}
		if err == nil && opened+notForYou == 0 && !bytes.Equal(out, page) {
			t.Errorf("nothing opened, yet the page changed")
		}
	})
}

// secretLooking finds what in an identity file must never be quoted: key
// material and long runs of base64.
var secretLooking = regexp.MustCompile(`(?i)AGE-SECRET-KEY-[0-9A-Z-]{8,}|AGE-PLUGIN-[0-9A-Z-]{8,}|[A-Za-z0-9+/=]{24,}`)

// wrapAll returns stanzas of every kind an identity may meet, and some
// malformed ones.
func wrapAll(t testing.TB) [][]*age.Stanza {
	fileKey := make([]byte, 16)
	rand.Read(fileKey)
	x, pq := x25519Key(t), hybridKey(t)
	pubs := []string{x.Public, pq.Public, sshEd25519Key(t, "").Public, sshRSAKey(t, "").Public}
	var rs []age.Recipient
	for _, pub := range pubs {
		r, err := parseRecipient(pub)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	sc, err := age.NewScryptRecipient("pw")
	if err != nil {
		t.Fatal(err)
	}
	sc.SetWorkFactor(1)
	rs = append(rs, sc)
	out := [][]*age.Stanza{nil, {{Type: "X25519", Args: []string{"bad"}}}, {{Type: "ssh-ed25519"}}, {{Type: "scrypt", Args: []string{"x", "99"}}}}
	for _, r := range rs {
		s, err := r.Wrap(fileKey)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// FuzzParseIdentities gives random files to ParseIdentities: it never
// panics, its errors never quote what looks like key material, and what
// it returns can unwrap stanzas of every kind, and its own.
func FuzzParseIdentities(f *testing.F) {
	x, pq := x25519Key(f), hybridKey(f)
	ed, edPass, rsaKey := sshEd25519Key(f, ""), sshEd25519Key(f, "pw"), sshRSAKey(f, "")
	seeds := [][]byte{
		x.Identity,
		pq.Identity,
		[]byte("# created: 2026-01-01T00:00:00Z\n# public key: " + x.Public + "\n" + string(x.Identity) + "\r\n" + string(pq.Identity)),
		[]byte(x.Public + "\n"),
		[]byte(ed.Public + "\n"),
		[]byte("AGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQ\n"),
		[]byte("garbage\n"),
		[]byte(""),
		ed.Identity,
		edPass.Identity,
		rsaKey.Identity,
		scryptFile(f, x.Identity, "pw", false),
		scryptFile(f, pq.Identity, "pw", true),
		[]byte("-----BEGIN AGE-SECRET-KEY-" + "1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ-----\nQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n-----END AGE-SECRET-KEY-" + "1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ-----\n"),
		[]byte("age-encryption.org/v1\n-> AGE-SECRET-KEY-" + "1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n--- x\n"),
	}
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	all := wrapAll(f)
	errNoPrompt := errors.New("no passphrase while fuzzing")
	f.Fuzz(func(t *testing.T, data []byte) {
		ids, err := ParseIdentities("id.txt", data, UI{Prompt: func(string) ([]byte, error) { return nil, errNoPrompt }})
		if err != nil {
			msg := err.Error()
			for _, s := range secretLooking.FindAllString(string(data), -1) {
				if strings.Contains(msg, s) {
					t.Fatalf("the error quotes %q: %s", s, msg)
				}
			}
			if len(ids) != 0 {
				t.Errorf("identities and an error")
			}
			return
		}
		if len(ids) == 0 {
			t.Fatal("no identities and no error")
		}
		for _, id := range ids {
			if _, ok := id.(*plugin.Identity); ok {
				continue // Unwrap would run the plugin program
			}
			for _, s := range all {
				id.Unwrap(s)
			}
			var r age.Recipient
			switch id := id.(type) {
			case *age.X25519Identity:
				r = id.Recipient()
			case *age.HybridIdentity:
				r = id.Recipient()
			case *agessh.Ed25519Identity:
				r = id.Recipient()
			case *agessh.RSAIdentity:
				r = id.Recipient()
			case *encryptedSSH:
				r = id.Recipient()
			default:
				t.Fatalf("unexpected identity type %T", id)
			}
			fileKey := make([]byte, 16)
			rand.Read(fileKey)
			s, err := r.Wrap(fileKey)
			if err != nil {
				t.Fatalf("%T: wrapping to its recipient: %v", id, err)
			}
			got, err := id.Unwrap(s)
			if _, enc := id.(*encryptedSSH); enc {
				if !errors.Is(err, errNoPrompt) {
					t.Errorf("an encrypted SSH key without its passphrase: %v", err)
				}
				continue
			}
			if err != nil || !bytes.Equal(got, fileKey) {
				t.Errorf("%T does not unwrap its own stanza: %v", id, err)
			}
		}
	})
}
