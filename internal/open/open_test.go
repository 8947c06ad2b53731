package open

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/testtool"
)

// The test site: a briefing with a passage for the board (alice and bob)
// that holds one for alice alone, a passage for carol, and a page
// restricted as a whole to carol. Each passage has a word no other holds.
const (
	publicText = "PUBLIC-INTRO"
	boardText  = "BOARD-ALPHA"
	aliceText  = "ALICE-BRAVO"
	carolText  = "CAROL-CHARLIE"
	wholeText  = "WHOLE-DELTA"
)

var briefing = "---\ntitle: X\ntlp: amber\n---\n\n" + publicText + ".\n\n" +
	":::: restricted to=board tlp=amber\n" + boardText + ".\n\n" +
	"::: restricted to=alice tlp=amber\n" + aliceText + ".\n:::\n\nBoard again.\n::::\n\n" +
	"::: restricted to=carol tlp=amber\n" + carolText + ".\n:::\n"

var wholePage = "---\ntitle: Whole " + wholeText + "\nslug: k3x9q\ntlp: amber\naudience: [carol]\n---\n\n" + wholeText + " body.\n"

// people are the test site's recipients and their keys.
type people map[string]key

func newPeople(t testing.TB, names ...string) people {
	p := people{}
	for _, n := range names {
		p[n] = x25519Key(t)
	}
	return p
}

func (p people) keys() map[string][]key {
	m := map[string][]key{}
	for n, k := range p {
		m[n] = []key{k}
	}
	return m
}

func testSite(t testing.TB, p people) string {
	t.Helper()
	return buildSite(t, siteFiles{
		"keys/groups.toml":           "board = [\"alice\", \"bob\"]\n",
		"content/briefings/x.md":     briefing,
		"content/briefings/whole.md": wholePage,
		"content/briefings/open.md":  "---\ntitle: Open\ntlp: clear\n---\n\nNothing sealed.\n",
	}.withKeys(p.keys()))
}

// openCopy runs Site into a fresh folder and returns the report and the
// copy's files.
func openCopy(t *testing.T, site string, ids []age.Identity) (*Report, map[string][]byte) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "opened")
	rep, err := Site(site, out, ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep, testtool.Tree(t, out)
}

func TestSiteEachReader(t *testing.T) {
	p := newPeople(t, "alice", "bob", "carol")
	site := testSite(t, p)
	if n := len(keyrings(t, site)); n != 3 {
		t.Fatalf("the site has %d keyrings, want 3", n)
	}
	all := []string{boardText, aliceText, carolText, wholeText}
	for _, tc := range []struct {
		reader            string
		opened, notForYou int
		sees              []string
		// in the briefing x: placeholders opened, and left sealed
		unsealed, sealed int
	}{
		// alice: the board passage and hers inside it; carol's passage and
		// page are not for her.
		{"alice", 2, 2, []string{boardText, aliceText}, 2, 1},
		// bob: the board passage; alice's inside it, carol's passage and
		// page are not for him.
		{"bob", 1, 3, []string{boardText}, 1, 2},
		// carol: her passage and page; the board's is not for her (and
		// what it holds is not counted: she cannot know).
		{"carol", 2, 1, []string{carolText, wholeText}, 1, 1},
	} {
		t.Run(tc.reader, func(t *testing.T) {
			rep, files := openCopy(t, site, parse(t, p[tc.reader].Identity))
			want := Report{Out: rep.Out, Keyrings: 3, KeyringsOpened: 1, Pages: 2, Opened: tc.opened, NotForYou: tc.notForYou}
			if !reflect.DeepEqual(*rep, want) {
				t.Errorf("report:\n got %+v\nwant %+v", *rep, want)
			}
			var text bytes.Buffer
			for _, data := range files {
				text.Write(data)
			}
			for _, s := range all {
				if got, want := bytes.Contains(text.Bytes(), []byte(s)), slices.Contains(tc.sees, s); got != want {
					t.Errorf("copy holds %s: %v, want %v", s, got, want)
				}
			}
			page := files["briefings/x/index.html"]
			if !bytes.Contains(page, []byte(publicText)) {
				t.Errorf("the page lost its public text")
			}
			if got := bytes.Count(page, []byte(`<section class="sealed not-for-you`)); got != tc.sealed {
				t.Errorf("briefing: %d placeholders marked not-for-you, want %d:\n%s", got, tc.sealed, page)
			}
			if got := bytes.Count(page, []byte(`<section class="sealed`)); got != tc.sealed {
				t.Errorf("briefing: %d placeholders left, want %d (all marked not-for-you)", got, tc.sealed)
			}
			if got := bytes.Count(page, []byte(`<section class="unsealed`)); got != tc.unsealed {
				t.Errorf("briefing: %d unsealed sections, want %d", got, tc.unsealed)
			}
		})
	}
}

// TestSiteNested checks where bob's copy puts the passage for alice that
// is nested in the board's: inside the opened board passage, still sealed.
func TestSiteNested(t *testing.T) {
	p := newPeople(t, "alice", "bob", "carol")
	site := testSite(t, p)
	_, files := openCopy(t, site, parse(t, p["bob"].Identity))
	page := string(files["briefings/x/index.html"])
	outer := strings.Index(page, `<section class="unsealed`)
	inner := strings.Index(page, `<section class="sealed not-for-you`)
	again := strings.Index(page, "Board again.")
	if outer < 0 || inner < outer || again < inner || !strings.Contains(page[inner:again], "Sealed passage for 1 named recipient") {
		t.Errorf("bob's page: want the board passage opened, holding alice's still sealed, then the rest of the board passage:\n%s", page)
	}
	if !strings.Contains(page[outer:inner], `<p class="unsealed-label"><span class="tlp-label">TLP:AMBER</span> Restricted passage for board</p>`) {
		t.Errorf("the opened passage lost its label:\n%s", page[outer:inner])
	}
}

func TestSiteNotARecipient(t *testing.T) {
	p := newPeople(t, "alice", "bob", "carol")
	site := testSite(t, p)
	for _, ids := range [][]age.Identity{
		parse(t, x25519Key(t).Identity),
		parse(t, hybridKey(t).Identity),
		parse(t, sshEd25519Key(t, "").Identity),
	} {
		_, err := Site(site, filepath.Join(t.TempDir(), "out"), ids, nil)
		want := fmt.Sprintf("none of the 3 keyrings of %s opens with the given identities", site)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a stranger's identity: %v, want %q", err, want)
		}
	}
	// A folder that is not a sealed site.
	_, err := Site(t.TempDir(), filepath.Join(t.TempDir(), "out"), parse(t, p["alice"].Identity), nil)
	if err == nil || !strings.Contains(err.Error(), "has no packets/keyrings/ folder") {
		t.Errorf("not a site: %v", err)
	}
}

// TestSiteSeveralIdentities: -i given twice opens the union of what each
// identity opens.
func TestSiteSeveralIdentities(t *testing.T) {
	p := newPeople(t, "alice", "bob", "carol")
	site := testSite(t, p)
	rep, files := openCopy(t, site, parse(t, p["alice"].Identity, p["carol"].Identity))
	if rep.KeyringsOpened != 2 || rep.Opened != 4 || rep.NotForYou != 0 {
		t.Errorf("alice and carol together: %+v, want 2 keyrings opened, 4 passages, none not for them", *rep)
	}
	if !containsAll(files["briefings/x/index.html"], boardText, aliceText, carolText) {
		t.Errorf("the copy misses a passage")
	}
}

func TestSiteSSHRecipient(t *testing.T) {
	ed, rsaKey := sshEd25519Key(t, ""), sshRSAKey(t, "")
	site := buildSite(t, siteFiles{
		"keys/groups.toml":       "board = [\"alice\", \"bob\"]\n",
		"content/briefings/x.md": briefing,
		"content/briefings/c.md": "---\ntitle: C\ntlp: amber\n---\n\n::: restricted to=carol tlp=amber\n" + carolText + ".\n:::\n",
	}.withKeys(map[string][]key{"alice": {ed}, "bob": {rsaKey}, "carol": {x25519Key(t)}}))
	rep, files := openCopy(t, site, parse(t, ed.Identity))
	if rep.Opened != 2 || !containsAll(files["briefings/x/index.html"], boardText, aliceText) {
		t.Errorf("alice's ed25519 key: %+v", *rep)
	}
	rep, files = openCopy(t, site, parse(t, rsaKey.Identity))
	if rep.Opened != 1 || !containsAll(files["briefings/x/index.html"], boardText) {
		t.Errorf("bob's RSA key: %+v", *rep)
	}
}

// TestSiteSSHPassphrase: a passphrase-protected SSH key is asked for its
// passphrase only when a keyring of the site is encrypted to it.
func TestSiteSSHPassphrase(t *testing.T) {
	p := newPeople(t, "alice", "bob", "carol")
	sam := sshEd25519Key(t, "sam's pass")
	keys := p.keys()
	keys["alice"] = []key{sam}
	site := testSite(t, p)             // sam's key is in no keyring here
	samSite := buildSite(t, siteFiles{ // here it is alice's key
		"keys/groups.toml":           "board = [\"alice\", \"bob\"]\n",
		"content/briefings/x.md":     briefing,
		"content/briefings/whole.md": wholePage,
	}.withKeys(keys))

	ask := &prompter{answer: "sam's pass"}
	ids, err := ParseIdentities("id_sam", sam.Identity, UI{Prompt: ask.prompt})
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, parse(t, p["carol"].Identity)...)
	openCopy(t, site, ids)
	if len(ask.asked) != 0 {
		t.Errorf("asked for the passphrase of a key no keyring is for: %q", ask.asked)
	}
	rep, files := openCopy(t, samSite, ids)
	if len(ask.asked) != 1 || rep.Opened != 4 || !containsAll(files["briefings/x/index.html"], aliceText, carolText) {
		t.Errorf("after %d prompts: %+v", len(ask.asked), *rep)
	}

	wrong := &prompter{answer: "not it"}
	ids, _ = ParseIdentities("id_sam", sam.Identity, UI{Prompt: wrong.prompt})
	_, err = Site(samSite, filepath.Join(t.TempDir(), "out"), ids, nil)
	if err == nil || !strings.HasSuffix(err.Error(), ": SSH key id_sam: wrong passphrase") {
		t.Errorf("wrong passphrase: %v", err)
	}
}

// TestSiteClassicAndPostQuantum: a recipient with a classic and a
// post-quantum key gets a keyring for each, and reads with either.
func TestSiteClassicAndPostQuantum(t *testing.T) {
	classic, pq := x25519Key(t), hybridKey(t)
	p := newPeople(t, "bob", "carol")
	keys := p.keys()
	keys["alice"] = []key{classic, pq}
	site := buildSite(t, siteFiles{
		"keys/groups.toml":       "board = [\"alice\", \"bob\"]\n",
		"content/briefings/x.md": briefing,
	}.withKeys(keys))
	if n := len(keyrings(t, site)); n != 4 {
		t.Fatalf("%d keyrings, want 4 (two for alice)", n)
	}
	for name, k := range map[string]key{"classic": classic, "post-quantum": pq} {
		rep, files := openCopy(t, site, parse(t, k.Identity))
		if rep.KeyringsOpened != 1 || rep.Opened != 2 || !containsAll(files["briefings/x/index.html"], boardText, aliceText) {
			t.Errorf("alice's %s key: %+v", name, *rep)
		}
	}
	// Both at once open both keyrings, and the same passages.
	rep, _ := openCopy(t, site, parse(t, classic.Identity, pq.Identity))
	if rep.KeyringsOpened != 2 || rep.Opened != 2 {
		t.Errorf("both keys: %+v", *rep)
	}
}

func TestSiteCopy(t *testing.T) {
	p := newPeople(t, "alice", "bob", "carol")
	site := testSite(t, p)
	ids := parse(t, p["alice"].Identity)
	out := filepath.Join(t.TempDir(), "copy", "opened")
	if _, err := Site(site, out, ids, nil); err != nil {
		t.Fatal(err)
	}
	files := testtool.Tree(t, out)
	for _, want := range []string{".gitignore", marker, "index.html", "briefings/x/index.html", "css/conclave.css"} {
		if files[want] == nil {
			t.Errorf("the copy has no %s", want)
		}
	}
	for p := range files {
		if strings.HasPrefix(p, "packets/") || strings.HasPrefix(p, "SHA256SUMS") {
			t.Errorf("the copy holds %s", p)
		}
	}
	if !bytes.Contains(files[".gitignore"], []byte("\n*\n")) {
		t.Errorf(".gitignore ignores nothing:\n%s", files[".gitignore"])
	}
	// Public files are copied as they are.
	for _, p := range []string{"css/conclave.css", "briefings/open/index.html"} {
		if !bytes.Equal(files[p], readFile(t, filepath.Join(site, p))) {
			t.Errorf("%s differs from the site's", p)
		}
	}
	err := filepath.WalkDir(out, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if e.IsDir() {
			want = fs.ModeDir | 0o700
		}
		if info.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, info.Mode(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A second run replaces the copy: a file added since is gone, and no
	// temporary folder is left beside it.
	if err := os.WriteFile(filepath.Join(out, "stray.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := Site(site, out, parse(t, p["carol"].Identity), nil)
	if err != nil {
		t.Fatalf("replacing a copy: %v", err)
	}
	files = testtool.Tree(t, out)
	if files["stray.txt"] != nil || bytes.Contains(files["briefings/x/index.html"], []byte(aliceText)) || rep.Opened != 2 {
		t.Errorf("the second copy is not carol's alone")
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Errorf("left beside the copy: %v", entries)
	}

	// An empty folder may be used.
	empty := filepath.Join(t.TempDir(), "empty")
	os.Mkdir(empty, 0o755)
	if _, err := Site(site, empty, ids, nil); err != nil {
		t.Errorf("empty folder: %v", err)
	}
}

func TestSiteRefusesOut(t *testing.T) {
	p := newPeople(t, "alice", "bob", "carol")
	site := testSite(t, p)
	ids := parse(t, p["alice"].Identity)
	tmp := t.TempDir()

	notCopy := filepath.Join(tmp, "notes")
	testtool.WriteSite(t, notCopy, map[string]string{"todo.txt": "mine"})
	file := filepath.Join(tmp, "file")
	os.WriteFile(file, []byte("mine"), 0o600)
	link := filepath.Join(tmp, "link")
	if err := os.Symlink(site, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ out, want string }{
		{notCopy, "refusing to replace " + notCopy + ": it is not empty and not a readable copy made by conclave open"},
		{file, "refusing to replace " + file + ": it is not a folder"},
		{filepath.Join(site, "opened"), "is inside the site"},
		{site, "is inside the site"},
		{filepath.Join(link, "opened"), "is inside the site"},
		{filepath.Dir(site), "holds the site"},
	} {
		_, err := Site(site, tc.out, ids, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("-o %s: %v, want %q", tc.out, err, tc.want)
		}
	}
	if got := readFile(t, filepath.Join(notCopy, "todo.txt")); string(got) != "mine" {
		t.Errorf("the refused folder was changed")
	}
	if got := readFile(t, file); string(got) != "mine" {
		t.Errorf("the refused file was changed")
	}
	if _, err := os.Stat(filepath.Join(site, "opened")); err == nil {
		t.Errorf("a copy was written inside the site")
	}
}

func TestFile(t *testing.T) {
	p := newPeople(t, "alice", "bob", "carol")
	site := testSite(t, p)
	page := readFile(t, filepath.Join(site, "briefings", "x", "index.html"))
	pk := packets(page)
	if len(pk) != 2 {
		t.Fatalf("the briefing names %d packets, want 2 (the board's, which holds alice's, and carol's)", len(pk))
	}
	board, carol := filepath.Join(site, pk[0]), filepath.Join(site, pk[1])
	bob := parse(t, p["bob"].Identity)

	html, _, err := File(board, bob, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(html, []byte(boardText)) || !bytes.HasSuffix(html, []byte("</p>\n")) || len(packets(html)) != 1 {
		t.Errorf("the board's packet: want its HTML, alice's placeholder in it, padding removed:\n%q", html)
	}

	_, _, err = File(carol, bob, nil)
	if want := carol + " is not for these identities: none of the keyrings they open holds its audience's key"; err == nil || err.Error() != want {
		t.Errorf("carol's packet for bob: %v\nwant %s", err, want)
	}

	// A keyring encrypted to the reader opens with the identity itself.
	var ring []byte
	for _, k := range keyrings(t, site) {
		if got, _, err := File(k, bob, nil); err == nil {
			ring = got
		}
	}
	if !bytes.Contains(ring, []byte("AGE-SECRET-"+"KEY-1")) {
		t.Errorf("no keyring opened for bob")
	}

	// Any other file is neither.
	other := filepath.Join(t.TempDir(), "x.age")
	os.WriteFile(other, readFile(t, carol), 0o644)
	if _, _, err := File(other, bob, nil); err == nil || !strings.Contains(err.Error(), "is not a packet of a site") {
		t.Errorf("an age file outside a site: %v", err)
	}
	if _, _, err := File(filepath.Join(site, "index.html"), bob, nil); err == nil {
		t.Errorf("an HTML page opened as an age file")
	}
}

func TestUnsealNoPlaceholder(t *testing.T) {
	p := newPeople(t, "alice", "bob", "carol")
	site := testSite(t, p)
	r, err := NewReader(site, parse(t, p["alice"].Identity), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, page := range []string{"", "<p>plain</p>", `<section class="other">x</section>`, "<section class=\"seal\">"} {
		out, opened, notForYou, err := r.Unseal([]byte(page))
		if err != nil || string(out) != page || opened+notForYou != 0 {
			t.Errorf("Unseal(%q) = %q, %d, %d, %v", page, out, opened, notForYou, err)
		}
	}
	for page, want := range map[string]string{
		`<section class="sealed" data-packet="packets/00000000000000000000000000000000.age">`:           "not closed",
		`<section class="sealed"></section>`:                                                            "names no packet",
		`<section class="sealed" data-packet="packets/00000000000000000000000000000000.age"></section>`: "the site does not hold this packet",
	} {
		if _, _, _, err := r.Unseal([]byte(page)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Unseal(%q): %v, want %q", page, err, want)
		}
	}
}

// A placeholder not for the reader is rewritten in place, and what follows
// it is copied once, whatever the rewrite's length.
func TestUnsealNotForYouKeepsTheRest(t *testing.T) {
	reader, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyrings := filepath.Join(dir, "packets", "keyrings")
	if err := os.MkdirAll(keyrings, 0o755); err != nil {
		t.Fatal(err)
	}
	other, _ := age.GenerateX25519Identity()
	var ring, packet bytes.Buffer
	w, _ := age.Encrypt(&ring, reader.Recipient())
	w.Write([]byte(other.String() + "\n"))
	w.Close()
	nobody, _ := age.GenerateX25519Identity()
	w, _ = age.Encrypt(&packet, nobody.Recipient())
	w.Write([]byte("<p>not for the reader</p>"))
	w.Close()
	os.WriteFile(filepath.Join(keyrings, "00000000000000000000000000000001.age"), ring.Bytes(), 0o644)
	const p = "packets/00000000000000000000000000000000.age"
	os.WriteFile(filepath.Join(dir, filepath.FromSlash(p)), packet.Bytes(), 0o644)
	r, err := NewReader(dir, []age.Identity{reader}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	page := `<p>before</p><section class="sealed tlp-amber" data-packet="` + p + `" aria-label="Sealed passage">
<p class="sealed-label">Sealed passage for board</p>
<p class="sealed-help">A long help text, longer than the one that replaces it, so that a wrong offset shows.</p>
</section>
<p>after</p>`
	got, opened, notForYou, err := r.Unseal([]byte(page))
	if err != nil || opened != 0 || notForYou != 1 {
		t.Fatalf("Unseal: %v, %d opened, %d not for you", err, opened, notForYou)
	}
	want := `<p>before</p><section class="sealed not-for-you tlp-amber" data-packet="` + p + `" aria-label="Sealed passage">
<p class="sealed-label">Sealed passage for board</p>
<p class="sealed-help">Not for your identities: sealed for another audience.</p>
</section>
<p>after</p>`
	if string(got) != want {
		t.Errorf("Unseal =\n%s\nwant\n%s", got, want)
	}
}

// A copy stopped part way (Ctrl-C, a stop signal) leaves nothing behind:
// what was written holds restricted text.
func TestSiteStoppedLeavesNothing(t *testing.T) {
	p := newPeople(t, "alice", "bob", "carol")
	site := testSite(t, p)
	ids := parse(t, p["alice"].Identity)
	parent := t.TempDir()
	out := filepath.Join(parent, "opened")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := SiteContext(ctx, site, out, ids, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("a stopped copy returned %v", err)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("a stopped copy left %v", left)
	}
}

// An opened packet is never written inside its site.
func TestCheckFileOut(t *testing.T) {
	p := newPeople(t, "alice", "bob", "carol")
	site := testSite(t, p)
	pkt := filepath.Join(site, "packets", "0123456789abcdef0123456789abcdef.age")
	for _, out := range []string{filepath.Join(site, "x.html"), filepath.Join(site, "briefings", "x", "passage.html")} {
		if err := CheckFileOut(pkt, out); err == nil || !strings.Contains(err.Error(), "inside the site") {
			t.Errorf("CheckFileOut(%s) = %v", out, err)
		}
	}
	if err := CheckFileOut(pkt, filepath.Join(t.TempDir(), "passage.html")); err != nil {
		t.Errorf("outside the site: %v", err)
	}
}
