package build

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"github.com/conclave-dev/conclave/internal/format"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/corpus"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/open"
	"github.com/conclave-dev/conclave/internal/seal"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// corpusSite writes a generated corpus with a configuration and returns
// its folder.
func corpusSite(t *testing.T, opt corpus.Options) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "site")
	if err := corpus.Write(dir, opt); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "conclave.toml", "title = \"Corpus\"\nbaseURL = \"https://corpus.example.org/\"\n")
	return dir
}

var (
	packetRef  = regexp.MustCompile(`data-packet="(packets/[0-9a-f]{32}\.age)"`)
	ageKey     = regexp.MustCompile(`age1[02-9ac-hj-np-z]{20,}`)
	recipients = regexp.MustCompile(`\br-[0-9]{4}\b`)
)

// Every restricted block of the corpus carries a unique canary in each of
// its text elements (headings, paragraphs, list items, table cells, code
// lines). None may appear in any byte of the output or in any file name,
// in any letter case; neither may a recipient's name or public key.
func TestSealedCorpusLeaksNothing(t *testing.T) {
	dir := corpusSite(t, corpus.Options{Pages: 300, Seed: 11, Recipients: 40, Restricted: 0.5, Canaries: true})
	blocks, err := corpus.ReadBlocks(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 200 {
		t.Fatalf("only %d blocks in the corpus", len(blocks))
	}
	out := filepath.Join(t.TempDir(), "public")
	rep, err := Run(Options{Source: dir, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Seal.Blocks != len(blocks) {
		t.Fatalf("sealed %d blocks, the corpus has %d", rep.Seal.Blocks, len(blocks))
	}
	tree := testtool.Tree(t, out)
	var checked int64
	for p, data := range tree {
		lower := bytes.ToLower(append([]byte(p+"\n"), data...))
		checked += int64(len(lower))
		if i := bytes.Index(lower, []byte("canary")); i >= 0 {
			t.Errorf("%s holds restricted text: %q", p, lower[max(0, i-40):min(len(lower), i+60)])
		}
		if m := recipients.Find(lower); m != nil {
			t.Errorf("%s names recipient %s", p, m)
		}
		// As written, not lowercased: an age key is lowercase, and a
		// keyring's base64, lowercased, reads as one now and then (about
		// one run in 200 on this corpus).
		if m := ageKey.Find(append([]byte(p+"\n"), data...)); m != nil {
			t.Errorf("%s holds a public key %s", p, m)
		}
		if bytes.Contains(lower, []byte("age-secret-key")) {
			t.Errorf("%s holds a secret key", p)
		}
	}
	// The check above must have had something to find: the canaries are
	// in the sources.
	src := testtool.Tree(t, filepath.Join(dir, "content"))
	n := 0
	for _, data := range src {
		n += bytes.Count(data, []byte("canary-"))
	}
	if n < len(blocks)*3 {
		t.Fatalf("only %d canaries in the sources", n)
	}
	t.Logf("%d blocks sealed, %d canaries, %d files and %d bytes of output checked", len(blocks), n, len(tree), checked)
}

// Over a generated corpus, every (recipient, block) pair opens if and only
// if the recipient is in the block's audience after group expansion, and
// what opens is the block's text.
func TestSealedAccessIsExact(t *testing.T) {
	dir := corpusSite(t, corpus.Options{Pages: 120, Seed: 5, Recipients: 24, Restricted: 0.6, Canaries: true})
	blocks, err := corpus.ReadBlocks(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "public")
	if _, err := Run(Options{Source: dir, Out: out}); err != nil {
		t.Fatal(err)
	}
	// The corpus never nests blocks: a page's placeholders follow its
	// blocks' order.
	packets := make([]string, len(blocks))
	byPage := map[string][]int{}
	for i, b := range blocks {
		byPage[b.Page] = append(byPage[b.Page], i)
	}
	for page, idx := range byPage {
		html, err := os.ReadFile(filepath.Join(out, strings.TrimSuffix(strings.TrimPrefix(page, "content/"), ".md"), "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		refs := packetRef.FindAllSubmatch(html, -1)
		if len(refs) != len(idx) {
			t.Fatalf("%s: %d placeholders for %d blocks", page, len(refs), len(idx))
		}
		for j, i := range idx {
			packets[i] = string(refs[j][1])
		}
	}
	names, err := filepath.Glob(filepath.Join(dir, corpus.IdentitiesDir, "*.txt"))
	if err != nil || len(names) != 24 {
		t.Fatalf("identities: %v %v", names, err)
	}
	pairs, opened := 0, 0
	for _, name := range names {
		who := strings.TrimSuffix(filepath.Base(name), ".txt")
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := open.ParseIdentities(name, data, open.UI{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := open.NewReader(out, ids, builtSums(t, out))
		for i, b := range blocks {
			want := slices.Contains(b.Recipients, who)
			got := false
			var plain []byte
			if err == nil {
				var perr error
				plain, got, perr = r.Packet(packets[i])
				if perr != nil {
					t.Fatal(perr)
				}
			}
			pairs++
			if got != want {
				t.Errorf("%s, block at %s:%d (to=%s): opens %t, want %t", who, b.Page, b.Line, strings.Join(b.To, ","), got, want)
				continue
			}
			if got {
				opened++
				for _, c := range b.Canaries {
					if !bytes.Contains(plain, []byte(c)) {
						t.Errorf("%s, block at %s:%d: packet lacks %s", who, b.Page, b.Line, c)
					}
				}
			}
		}
	}
	if opened == 0 || opened == pairs {
		t.Fatalf("%d of %d pairs opened: the corpus does not test access", opened, pairs)
	}
	t.Logf("%d recipient-block pairs checked, %d open", pairs, opened)
}

// sealSite is a small site with two groups over three recipients, whose
// identities it returns by name.
func sealSite(t *testing.T) (string, map[string]*age.X25519Identity) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "site")
	ids := map[string]*age.X25519Identity{}
	files := map[string]string{
		"conclave.toml":    "title = \"T\"\nbaseURL = \"https://t.example.org/\"\n",
		"keys/groups.toml": "board = [\"alice\", \"bob\"]\nall = [\"board\", \"carol\"]\n",
		"content/briefings/a.md": "---\ntitle: A\ntlp: amber\n---\n\nPublic.\n\n" +
			"::: restricted to=board tlp=amber\nBoard detail one.\n:::\n\n" +
			"::: restricted to=all tlp=amber\nAll detail.\n:::\n",
		"content/briefings/b.md": "---\ntitle: B\ntlp: amber\n---\n\n::: restricted to=board tlp=amber\nBoard detail two.\n:::\n",
	}
	for _, n := range []string{"alice", "bob", "carol"} {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = id
		files["keys/"+n+".pub"] = id.Recipient().String() + "\n"
	}
	testtool.WriteSite(t, dir, files)
	return dir, ids
}

// With the page cache, the scan does not read again the files the last
// build found clean, as they are, while it looks for the same fragments.
// A passage whose text an unchanged file holds makes it look for more:
// that file is scanned again, and stops the build.
func TestLeakScanRechecksWhenPassagesChange(t *testing.T) {
	dir, _ := sealSite(t)
	out := filepath.Join(dir, "public")
	key := make([]byte, seal.KeySize)
	const sentence = "The relay at Kestrel Point goes dark on Friday."
	write(t, dir, "content/briefings/notes.txt", "Field notes. "+sentence+"\n")
	rep, err := Run(Options{Source: dir, Out: out, CacheKey: key, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scan.Clean != 0 || rep.Scan.Files != rep.Files-1 {
		t.Errorf("first build: scanned %d files, %d taken as clean; want all %d scanned", rep.Scan.Files, rep.Scan.Clean, rep.Files-1)
	}
	appendTo(t, dir, "content/briefings/a.md", "\nMore public text.\n")
	if rep, err = Run(Options{Source: dir, Out: out, CacheKey: key, Now: testNow}); err != nil {
		t.Fatal(err)
	}
	if rep.Scan.Files+rep.Scan.Clean != rep.Files-1 || rep.Scan.Clean == 0 || rep.Scan.Files >= rep.Scan.Clean {
		t.Errorf("after a public edit: scanned %d files, %d taken as clean, of %d; want most taken as clean", rep.Scan.Files, rep.Scan.Clean, rep.Files-1)
	}
	var sum bytes.Buffer
	rep.Print(&sum)
	if want := fmt.Sprintf("  scanned    %6d  files for restricted text; %d more unchanged since the last build, found clean then\n", rep.Scan.Files, rep.Scan.Clean); !strings.Contains(sum.String(), want) {
		t.Errorf("summary:\n%s\nwant the line\n%s", sum.String(), want)
	}
	// A new page changes what every page's records depend on, not what
	// the scan looks for.
	write(t, dir, "content/briefings/c.md", "---\ntitle: C\n---\n\nA new public page.\n")
	if rep, err = Run(Options{Source: dir, Out: out, CacheKey: key}); err != nil {
		t.Fatal(err)
	}
	if rep.Scan.Clean == 0 || rep.Scan.Files+rep.Scan.Clean != rep.Files-1 {
		t.Errorf("after a new page: scanned %d files, %d taken as clean, of %d; want some taken as clean", rep.Scan.Files, rep.Scan.Clean, rep.Files-1)
	}
	before := testtool.Tree(t, out)
	appendTo(t, dir, "content/briefings/b.md", "\n::: restricted to=board tlp=amber\n"+sentence+"\n:::\n")
	_, err = Run(Options{Source: dir, Out: out, CacheKey: key})
	if err == nil {
		t.Fatal("restricted text in a file the last build found clean was published")
	}
	if want := `restricted text "` + sentence + `" appears in briefings/notes.txt`; !strings.Contains(err.Error(), "content/briefings/b.md:") || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v\nwant it to name content/briefings/b.md and contain %q", err, want)
	}
	sameTree(t, "output", before, testtool.Tree(t, out))
}

// A cached build looks for a passage's text in the public text only where
// the last build did not (see leakcheck.NewFrom): quoted in a new public
// page, the text is public, and the build goes on; no longer quoted
// there, it is looked for again, and a file published as it is that
// holds it stops the build.
func TestLeakScanRemembersPublicText(t *testing.T) {
	dir, _ := sealSite(t)
	out := filepath.Join(dir, "public")
	key := make([]byte, seal.KeySize)
	const sentence = "Board detail one."
	if _, err := Run(Options{Source: dir, Out: out, CacheKey: key}); err != nil {
		t.Fatal(err)
	}
	quoting := "---\ntitle: Q\n---\n\nAs the board said: " + sentence + "\n"
	write(t, dir, "content/briefings/q.md", quoting)
	if _, err := Run(Options{Source: dir, Out: out, CacheKey: key}); err != nil {
		t.Fatalf("a passage's text quoted in a new public page: %v", err)
	}
	write(t, dir, "content/briefings/q.md", "---\ntitle: Q\n---\n\nNothing quoted.\n")
	write(t, dir, "content/briefings/notes.txt", "Field notes. "+sentence+"\n")
	before := testtool.Tree(t, out)
	_, err := Run(Options{Source: dir, Out: out, CacheKey: key})
	if want := `restricted text "` + sentence + `" appears in briefings/notes.txt`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("the quote gone, a file holding the passage's text: error = %v\nwant it to contain %q", err, want)
	}
	sameTree(t, "output", before, testtool.Tree(t, out))
	// Quoted again, in the page the last successful build had.
	write(t, dir, "content/briefings/q.md", quoting)
	if _, err := Run(Options{Source: dir, Out: out, CacheKey: key}); err != nil {
		t.Fatalf("quoted again: %v", err)
	}
}

// The same in conclave serve --sealed, whose records, and the scanner's
// memo with them, stay in memory.
func TestSealedSessionRemembersPublicText(t *testing.T) {
	dir, _ := sealSite(t)
	const sentence = "Board detail one."
	sess := NewSession(Options{Source: dir})
	if _, _, err := sess.Build(nil); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "content/briefings/q.md", "---\ntitle: Q\n---\n\nAs the board said: "+sentence+"\n")
	if _, _, err := sess.Build(nil); err != nil {
		t.Fatalf("a passage's text quoted in a new public page: %v", err)
	}
	write(t, dir, "content/briefings/q.md", "---\ntitle: Q\n---\n\nNothing quoted.\n")
	write(t, dir, "content/briefings/notes.txt", "Field notes. "+sentence+"\n")
	_, _, err := sess.Build(nil)
	if want := `restricted text "` + sentence + `" appears in briefings/notes.txt`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("the quote gone, a file holding the passage's text: error = %v\nwant it to contain %q", err, want)
	}
}

// The same in conclave serve --sealed: a session's builds are sealed and
// scanned, and keep their records in memory.
func TestSealedSessionRechecksWhenPassagesChange(t *testing.T) {
	dir, _ := sealSite(t)
	const sentence = "The relay at Kestrel Point goes dark on Friday."
	write(t, dir, "content/briefings/notes.txt", "Field notes. "+sentence+"\n")
	// A fixed release time: release.json would otherwise change with the
	// second the build crosses into.
	sess := NewSession(Options{Source: dir, Now: testNow})
	if _, _, err := sess.Build(nil); err != nil {
		t.Fatal(err)
	}
	appendTo(t, dir, "content/briefings/a.md", "\nMore public text.\n")
	rep, _, err := sess.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scan.Clean == 0 || rep.Scan.Files >= rep.Scan.Clean {
		t.Errorf("after a public edit: scanned %d files, %d taken as clean; want most taken as clean", rep.Scan.Files, rep.Scan.Clean)
	}
	appendTo(t, dir, "content/briefings/b.md", "\n::: restricted to=board tlp=amber\n"+sentence+"\n:::\n")
	_, _, err = sess.Build(nil)
	if want := `restricted text "` + sentence + `" appears in briefings/notes.txt`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v\nwant it to contain %q", err, want)
	}
}

func packetsOf(t *testing.T, out, page string) []string {
	t.Helper()
	html, err := os.ReadFile(filepath.Join(out, page, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	var out2 []string
	for _, m := range packetRef.FindAllSubmatch(html, -1) {
		out2 = append(out2, string(m[1]))
	}
	return out2
}

// With the seal cache, a rebuild keeps unchanged blocks' packets byte for
// byte, so a deploy uploads only what changed; removing a member gives
// the audience a new key, which the removed member cannot open.
func TestSealCacheKeepsPacketsAndRekeysOnRemoval(t *testing.T) {
	dir, ids := sealSite(t)
	out := filepath.Join(dir, "public")
	key := make([]byte, seal.KeySize)
	rand.Read(key)
	opt := Options{Source: dir, Out: out, CacheKey: key, Now: testNow}

	if _, err := Run(opt); err != nil {
		t.Fatal(err)
	}
	first := testtool.Tree(t, out)
	rep, err := Run(opt)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Seal.CachedPackets != 3 || rep.Seal.Fresh != 0 {
		t.Errorf("second build: %d packets from the cache, %d fresh; want 3 and 0", rep.Seal.CachedPackets, rep.Seal.Fresh)
	}
	sameSiteNewKeyrings(t, "a rebuild of the same site", first, testtool.Tree(t, out))

	// Without the cache, every packet is encrypted anew; with it again,
	// the cached ones come back.
	cached := packetsOf(t, out, "briefings/a")
	if _, err := Run(Options{Source: dir, Out: out}); err != nil {
		t.Fatal(err)
	}
	if fresh := packetsOf(t, out, "briefings/a"); fresh[0] == cached[0] || fresh[1] == cached[1] {
		t.Errorf("packets without the cache %v equal the cached ones %v", fresh, cached)
	}
	if _, err := Run(opt); err != nil {
		t.Fatal(err)
	}
	before := map[string][]string{"a": packetsOf(t, out, "briefings/a"), "b": packetsOf(t, out, "briefings/b")}
	if !slices.Equal(before["a"], cached) {
		t.Errorf("packets %v after a build without the cache, want the cached %v", before["a"], cached)
	}
	write(t, dir, "content/briefings/b.md", "---\ntitle: B\ntlp: amber\n---\n\n::: restricted to=board tlp=amber\nBoard detail two, revised.\n:::\n")
	if _, err := Run(opt); err != nil {
		t.Fatal(err)
	}
	after := map[string][]string{"a": packetsOf(t, out, "briefings/a"), "b": packetsOf(t, out, "briefings/b")}
	if !slices.Equal(before["a"], after["a"]) || before["b"][0] == after["b"][0] {
		t.Errorf("after editing b: a %v → %v, b %v → %v", before["a"], after["a"], before["b"], after["b"])
	}

	// Bob leaves the board: the board's passages get a new key he cannot
	// open; so does every audience (any change to keys/ rekeys them all,
	// so that the packets that change do not tell whose audience did),
	// and he still reads the passage for everyone.
	write(t, dir, "keys/groups.toml", "board = [\"alice\"]\nall = [\"board\", \"bob\", \"carol\"]\n")
	if _, err := Run(opt); err != nil {
		t.Fatal(err)
	}
	removed := map[string][]string{"a": packetsOf(t, out, "briefings/a"), "b": packetsOf(t, out, "briefings/b")}
	if removed["a"][0] == after["a"][0] || removed["b"][0] == after["b"][0] {
		t.Error("the board's packets kept their ciphertext after a member left")
	}
	if removed["a"][1] == after["a"][1] {
		t.Error("the packet for everyone kept its ciphertext: the packets that changed tell that the board's membership did")
	}
	bob, err := open.NewReader(out, []age.Identity{ids["bob"]}, builtSums(t, out))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{removed["a"][0], removed["b"][0]} {
		if _, ok, err := bob.Packet(p); ok || err != nil {
			t.Errorf("bob opens %s after leaving the board (err %v)", p, err)
		}
	}
	if _, ok, _ := bob.Packet(removed["a"][1]); !ok {
		t.Error("bob no longer opens the passage for everyone")
	}
	alice, err := open.NewReader(out, []age.Identity{ids["alice"]}, builtSums(t, out))
	if err != nil {
		t.Fatal(err)
	}
	if plain, ok, _ := alice.Packet(removed["b"][0]); !ok || !bytes.Contains(plain, []byte("revised")) {
		t.Errorf("alice cannot read the board's passage: %q", plain)
	}
}

// The scan of the output is the safety net: restricted text that reaches
// the output by a way sealing does not know (here a file copied as it is)
// fails the build, names the passage and the file, and keeps the previous
// output.
func TestLeakScanStopsTheBuild(t *testing.T) {
	dir, _ := sealSite(t)
	out := filepath.Join(dir, "public")
	if _, err := Run(Options{Source: dir, Out: out}); err != nil {
		t.Fatal(err)
	}
	before := testtool.Tree(t, out)
	write(t, dir, "content/briefings/notes.txt", "Copied by mistake: Board detail one.\n")
	_, err := Run(Options{Source: dir, Out: out})
	if err == nil {
		t.Fatal("a copy of restricted text was published")
	}
	want := `content/briefings/a.md:8: restricted text "Board detail one." appears in briefings/notes.txt`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v\nwant it to contain %q", err, want)
	}
	after := testtool.Tree(t, out)
	sameTree(t, "output", before, after)
	if _, ok := after[path.Join("briefings", "notes.txt")]; ok {
		t.Error("the leaking file was published")
	}
}

// Pages rendered through the renderer's pooled buffers are scanned as they
// were written: a layout that prints restricted text into every page stops
// the build and names a page. (The layout composes the text, so that its
// source does not hold it: text a layout holds is published on purpose.)
func TestLeakScanSeesRenderedPages(t *testing.T) {
	dir, _ := sealSite(t)
	write(t, dir, "themes/default/layouts/partials/meta.html", `<p class="meta">{{print "All" " detail."}}</p>`)
	_, err := Run(Options{Source: dir, Out: filepath.Join(dir, "public")})
	if err == nil {
		t.Fatal("restricted text in a layout was published")
	}
	for _, want := range []string{`content/briefings/a.md:12: restricted text "All detail." appears in briefings/a/index.html`, `appears in briefings/b/index.html`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v\nwant it to contain %q", err, want)
		}
	}
}

// The leak scan must see a file as it was written, although the writer
// reuses its buffer afterwards; past the budget, files are read back.
func TestHeldFilesCopyAndBudget(t *testing.T) {
	h := &heldFiles{budget: 10}
	buf := []byte("restricted")
	h.add("a.html", buf)
	copy(buf, "overwrite!")
	h.add("b.html", []byte("x"))
	if len(h.files) != 1 || string(h.files[0].Data) != "restricted" || !h.paths["a.html"] || h.paths["b.html"] {
		t.Errorf("held %+v (paths %v): want a.html as written, and nothing past the budget", h.files, h.paths)
	}
}

// builtSums reads the manifest the build wrote to out: reading the site
// through it checks that every file the reader uses is listed with its
// digest.
func builtSums(t testing.TB, out string) open.Sums {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, manifest.Name))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := manifest.Parse(manifest.Name, data)
	if err != nil {
		t.Fatal(err)
	}
	return open.VerifiedSums(entries)
}

// Pages with sealed passages load the theme's unlock script with its
// Subresource Integrity; other pages load no script. A changed script
// gives the pages a new integrity value, even when they come from the
// page cache.
func TestUnlockScriptOnSealedPages(t *testing.T) {
	dir, _ := sealSite(t)
	testtool.WriteSite(t, dir, map[string]string{
		"content/briefings/c.md":             "---\ntitle: C\n---\n\nAll public.\n",
		"themes/default/static/js/unlock.js": "console.log('v1')\n",
	})
	out := filepath.Join(dir, "public")
	key := make([]byte, seal.KeySize)
	rand.Read(key)
	opt := Options{Source: dir, Out: out, CacheKey: key}
	check := func(version string) {
		t.Helper()
		if _, err := Run(opt); err != nil {
			t.Fatal(err)
		}
		tree := testtool.Tree(t, out)
		js := tree["js/unlock.js"]
		if !bytes.Contains(js, []byte(version)) {
			t.Fatalf("js/unlock.js is not the theme's %s", version)
		}
		sum := sha512.Sum384(js)
		tag := `<script type="module" src="../../js/unlock.js" integrity="sha384-` + base64.StdEncoding.EncodeToString(sum[:]) + `"></script>`
		for _, p := range []string{"briefings/a", "briefings/b"} {
			if html := tree[p+"/index.html"]; !bytes.Contains(html, []byte(tag)) {
				t.Errorf("%s (%s): no %s", p, version, tag)
			}
		}
		for _, p := range []string{"briefings/c/index.html", "index.html", "briefings/index.html", "tags/index.html", "404.html"} {
			if html, ok := tree[p]; !ok || bytes.Contains(html, []byte("unlock.js")) {
				t.Errorf("%s is missing, or loads the unlock script but holds no sealed passage", p)
			}
		}
		// The search page loads it too: its keys open the sealed indexes.
		if html := tree[format.SearchPage]; !bytes.Contains(html, []byte(strings.Replace(tag, "../../", "../", 1))) {
			t.Errorf("the search page (%s): no %s", version, tag)
		}
	}
	check("v1")
	testtool.WriteSite(t, dir, map[string]string{"themes/default/static/js/unlock.js": "console.log('v2')\n"})
	check("v2")
}

// attachmentSite is sealSite with content/briefings/c.md, whose passage
// links the attachment c-log.txt holding log, and a new cache key.
func attachmentSite(t *testing.T, log string) (string, map[string]*age.X25519Identity, []byte) {
	t.Helper()
	dir, ids := sealSite(t)
	write(t, dir, "content/briefings/c.md", "---\ntitle: C\ntlp: amber\n---\n\n::: restricted to=board tlp=amber\nThe [log](c-log.txt).\n:::\n")
	write(t, dir, "content/briefings/c-log.txt", log)
	key := make([]byte, seal.KeySize)
	rand.Read(key)
	return dir, ids, key
}

// With the seal cache, an unchanged attachment keeps its packet, and so
// does the passage that links it; a changed file gets a new packet, and the
// passage a new one naming it, while the other passages keep theirs.
func TestSealCacheKeepsAttachments(t *testing.T) {
	dir, ids, key := attachmentSite(t, "the log, version 1\n")
	out := filepath.Join(dir, "public")
	opt := Options{Source: dir, Out: out, CacheKey: key}
	packets := func() map[string]bool {
		entries, err := os.ReadDir(filepath.Join(out, "packets"))
		if err != nil {
			t.Fatal(err)
		}
		set := map[string]bool{}
		for _, e := range entries {
			if !e.IsDir() {
				set[e.Name()] = true
			}
		}
		return set
	}
	// The one packet of the set that no page names: the attachment's.
	attachment := func(set map[string]bool) string {
		named := map[string]bool{}
		for p := range searchPackets(t, out) {
			named[strings.TrimPrefix(p, "packets/")] = true
		}
		for _, page := range []string{"briefings/a", "briefings/b", "briefings/c"} {
			for _, p := range packetsOf(t, out, page) {
				named[strings.TrimPrefix(p, "packets/")] = true
			}
		}
		var free []string
		for p := range set {
			if !named[p] && strings.HasSuffix(p, ".age") {
				free = append(free, p)
			}
		}
		if len(free) != 1 {
			t.Fatalf("%d packets no page names (%v), want the attachment's alone", len(free), free)
		}
		return free[0]
	}
	if _, err := Run(opt); err != nil {
		t.Fatal(err)
	}
	first, firstC := packets(), packetsOf(t, out, "briefings/c")
	rep, err := Run(opt)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Seal.Fresh != 0 || rep.Seal.Attachments != 1 {
		t.Errorf("rebuild: %d packets sealed anew, %d attachments; want 0 and 1", rep.Seal.Fresh, rep.Seal.Attachments)
	}
	if second := packets(); !maps.Equal(first, second) {
		t.Errorf("rebuild changed the packets:\n%v\n%v", first, second)
	}
	old := attachment(first)

	write(t, dir, "content/briefings/c-log.txt", "the log, version 2\n")
	if _, err := Run(opt); err != nil {
		t.Fatal(err)
	}
	third := packets()
	if cur := attachment(third); cur == old {
		t.Error("the changed file kept its packet")
	}
	if c := packetsOf(t, out, "briefings/c"); c[0] == firstC[0] {
		t.Error("the passage linking the changed file kept its packet, which names the old one")
	}
	for _, page := range []string{"briefings/a", "briefings/b"} {
		for _, p := range packetsOf(t, out, page) {
			if !first[strings.TrimPrefix(p, "packets/")] {
				t.Errorf("%s: packet %s is new, though nothing of it changed", page, p)
			}
		}
	}
	// The board reads the new version.
	copyDir := filepath.Join(t.TempDir(), "copy")
	if _, err := open.Site(out, copyDir, []age.Identity{ids["alice"]}, builtSums(t, out)); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(copyDir, "briefings", "c-log.txt")); err != nil || string(got) != "the log, version 2\n" {
		t.Errorf("alice's copy of the log: %q, %v", got, err)
	}
}

// The stages take pages in the order of their addresses, not of their
// files' names: the order files are made in shows in the output (inode
// numbers, birth times, listings), and a restricted page's file name,
// which its random address hides, would show where it sorts. Here the
// files' names sort the other way round from the addresses.
func TestPagesTakenInAddressOrder(t *testing.T) {
	dir, _ := sealSite(t)
	files := map[string]string{}
	for i := range 6 {
		// z0.md has slug a0, …: the names in reverse of the addresses.
		files[fmt.Sprintf("content/briefings/z%d.md", 5-i)] = fmt.Sprintf("---\ntitle: Whole %d\naudience: [board]\ntlp: amber\nslug: r-a%d\n---\n\nSecret %d.\n", i, i, i)
		files[fmt.Sprintf("content/briefings/y%d.md", 5-i)] = fmt.Sprintf("---\ntitle: Public %d\nslug: p-a%d\n---\n\nPublic %d.\n", i, i, i)
	}
	testtool.WriteSite(t, dir, files)
	var mu sync.Mutex
	lists := map[string][]string{} // stage → the addresses of its pages, by place
	defer func() { testOnlyStarted = func(string, int, *site.Page) {} }()
	testOnlyStarted = func(stage string, k int, p *site.Page) {
		mu.Lock()
		defer mu.Unlock()
		l := lists[stage]
		for len(l) <= k {
			l = append(l, "")
		}
		l[k] = p.URL
		lists[stage] = l
	}
	if _, err := Run(Options{Source: dir, Out: filepath.Join(t.TempDir(), "out")}); err != nil {
		t.Fatal(err)
	}
	for stage, n := range map[string]int{"pages": 14, "seal": 8} {
		if l := lists[stage]; len(l) != n || !slices.IsSorted(l) {
			t.Errorf("the %s stage took %d pages in this order, want %d in the order of their addresses:\n%q", stage, len(l), n, l)
		}
	}
}
