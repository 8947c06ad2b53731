package open

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// attachmentSite builds a site whose restricted text links files (one of
// them from two audiences), and a page bundle restricted as a whole that
// holds a file it does not link. It returns the built site, the keys and
// the files' contents by their path in the output.
func attachmentSite(t *testing.T) (string, map[string][]key, map[string][]byte) {
	t.Helper()
	keys := map[string][]key{"alice": {x25519Key(t)}, "bob": {x25519Key(t)}, "carol": {x25519Key(t)}}
	random := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	files := map[string][]byte{
		// Ends in newlines and zeros, which padding must not eat or add.
		"b/files/report-xq7.pdf": append([]byte("%PDF-1.4\n"), append(random(70_000), "\n\n\x00\x00"...)...),
		"b/map-xq7.png":          append([]byte("\x89PNG\r\n\x1a\n"), random(3_000)...),
		"b/log-xq7.bin":          {},
		"b/deal/terms-xq7.txt":   []byte("Terms of the deal, sealed for carol only.\n"),
	}
	site := siteFiles{
		"keys/groups.toml": "board = [\"alice\", \"bob\"]\n",
		"content/b/x.md": "---\ntitle: X\ntlp: amber\n---\n\nPublic text.\n\n" +
			"::: restricted to=board tlp=amber\nRead [the report](files/report-xq7.pdf) and see ![the map](map-xq7.png).\n:::\n\n" +
			"::: restricted to=carol tlp=amber\nThe [log](log-xq7.bin), and ![the map](map-xq7.png) again.\n:::\n",
		"content/b/deal/index.md": "---\ntitle: Deal\naudience: [carol]\nslug: r-9k\ntlp: amber\n---\n\nThe deal.\n",
		"content/b/_index.md":     "---\ntitle: B\n---\n\nBriefings.\n",
	}
	for p, data := range files {
		site["content/"+p] = string(data)
	}
	return buildSite(t, site.withKeys(keys)), keys, files
}

// Attachments are sealed: the public output holds neither their bytes nor
// their names, and each reader's copy holds exactly the files of the
// passages they may read, byte for byte, where the passages' links point.
func TestOpenAttachments(t *testing.T) {
	site, keys, files := attachmentSite(t)
	for p, data := range testtool.Tree(t, site) {
		for name, content := range files {
			if bytes.Contains(data, []byte(filepath.Base(name))) || len(content) > 64 && bytes.Contains(data, content[:64]) {
				t.Errorf("public %s holds attachment %s", p, name)
			}
		}
		if strings.Contains(p, "xq7") || strings.Contains(p, "deal") {
			t.Errorf("public output holds %s", p)
		}
	}
	for name, want := range map[string][]string{
		"alice": {"b/files/report-xq7.pdf", "b/map-xq7.png"},
		"bob":   {"b/files/report-xq7.pdf", "b/map-xq7.png"},
		"carol": {"b/map-xq7.png", "b/log-xq7.bin", "b/deal/terms-xq7.txt"},
	} {
		t.Run(name, func(t *testing.T) {
			id, err := age.ParseX25519Identity(strings.TrimSpace(strings.TrimPrefix(string(keys[name][0].Identity), "# test identity\n")))
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "copy")
			rep, err := Site(site, out, []age.Identity{id}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Attachments != len(want) {
				t.Errorf("report: %d attachments, want %d", rep.Attachments, len(want))
			}
			tree := testtool.Tree(t, out)
			for p := range files {
				got, ok := tree[p]
				switch {
				case slices.Contains(want, p) && !ok:
					t.Errorf("the copy does not hold %s", p)
				case slices.Contains(want, p) && !bytes.Equal(got, files[p]):
					t.Errorf("%s: %d bytes in the copy, want its %d bytes", p, len(got), len(files[p]))
				case !slices.Contains(want, p) && ok:
					t.Errorf("the copy holds %s, which is not for %s", p, name)
				}
			}
			// Each passage links the copy's file, relative to the page.
			page := string(tree["b/x/index.html"])
			for _, p := range want {
				if p == "b/deal/terms-xq7.txt" {
					if !strings.Contains(string(tree["b/r-9k/index.html"]), `href="../deal/terms-xq7.txt"`) {
						t.Errorf("the bundle's page does not link its file:\n%s", tree["b/r-9k/index.html"])
					}
					continue
				}
				if rel := "../" + strings.TrimPrefix(p, "b/"); !strings.Contains(page, `="`+rel+`"`) {
					t.Errorf("the page does not link %s:\n%s", rel, page)
				}
			}
		})
	}
}

// An age user opens an attachment with the recipe of internal/format (and
// the README): decrypt it with their keyring, read its size from the
// header line, and strip the header and the padding.
func TestAgeCLIAttachment(t *testing.T) {
	ageCmd := testtool.Require(t, "age")
	sh := testtool.Require(t, "sh")
	site, keys, files := attachmentSite(t)
	tmp := t.TempDir()
	id := filepath.Join(tmp, "alice.key")
	if err := os.WriteFile(id, keys["alice"][0].Identity, 0o600); err != nil {
		t.Fatal(err)
	}
	ring := filepath.Join(tmp, "ring.txt")
	for _, k := range keyrings(t, site) {
		if exec.Command(ageCmd, "-d", "-i", id, "-o", ring, k).Run() == nil {
			break
		}
	}
	header := regexp.MustCompile(`^` + regexp.QuoteMeta(format.AttachmentMagic) + ` size=(\d+) type=\S+ path=(\S+)$`)
	found := map[string]bool{}
	entries, err := os.ReadDir(filepath.Join(site, "packets"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".age") {
			continue
		}
		sealed := filepath.Join(tmp, "sealed.bin")
		packet := filepath.Join(site, "packets", e.Name())
		if exec.Command(ageCmd, "-d", "-i", ring, "-o", sealed, packet).Run() != nil {
			continue // not for alice
		}
		line, err := exec.Command(sh, "-c", `head -n 1 "$1"`, "sh", sealed).Output()
		if err != nil {
			t.Fatal(err)
		}
		m := header.FindStringSubmatch(strings.TrimSpace(string(line)))
		if m == nil {
			continue // a passage
		}
		size, _ := strconv.Atoi(m[1])
		got, err := exec.Command(sh, "-c", `tail -n +2 "$1" | head -c "$2"`, "sh", sealed, m[1]).Output()
		if err != nil {
			t.Fatal(err)
		}
		if want := files[m[2]]; !bytes.Equal(got, want) || len(got) != size {
			t.Errorf("%s: the recipe gives %d bytes, want the %d of %s", e.Name(), len(got), len(want), m[2])
		}
		found[m[2]] = true
	}
	if !found["b/files/report-xq7.pdf"] || !found["b/map-xq7.png"] || len(found) != 2 {
		t.Errorf("alice's keyring opens the attachments %v, want the report and the map", found)
	}
}

// conclave open FILE.age on an attachment's packet returns its plaintext
// whole, from which the file comes back byte for byte: trailing newlines
// and zeros included, which a passage's padding would have taken.
func TestOpenAttachmentFile(t *testing.T) {
	site, keys, files := attachmentSite(t)
	id, err := age.ParseX25519Identity(strings.TrimSpace(strings.TrimPrefix(string(keys["alice"][0].Identity), "# test identity\n")))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(site, "packets"))
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".age") {
			continue
		}
		plain, _, err := File(filepath.Join(site, "packets", e.Name()), []age.Identity{id}, nil)
		if err != nil {
			continue // not for alice
		}
		a, start, err := format.ParseAttachment(plain)
		if errors.Is(err, format.ErrNotAttachment) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if got := plain[start : start+int(a.Size)]; !bytes.Equal(got, files[a.Path]) {
			t.Errorf("%s: %d bytes, want the %d of %s", a.Path, len(got), len(files[a.Path]), a.Path)
		}
		found++
	}
	if found != 2 {
		t.Errorf("alice opens %d attachments, want 2", found)
	}
}

// A hidden file or folder below the top of a site (a .git whose config
// runs commands when git looks at the copy, a .envrc) is never copied: no
// build writes one, and it would act on the reader's machine.
func TestOpenSkipsHiddenNames(t *testing.T) {
	site, keys, _ := attachmentSite(t)
	testtool.WriteSite(t, site, map[string]string{
		"b/.git/config": "[core]\n\tfsmonitor = touch pwned\n",
		"b/.git/HEAD":   "ref: refs/heads/main\n",
		"b/x/.envrc":    "touch pwned\n",
	})
	id, err := age.ParseX25519Identity(strings.TrimSpace(strings.TrimPrefix(string(keys["carol"][0].Identity), "# test identity\n")))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "copy")
	_, err = Site(site, out, []age.Identity{id}, nil)
	if err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("err = %v, want an incomplete copy", err)
	}
	for p := range testtool.Tree(t, out) {
		if strings.Contains(p, "/.") {
			t.Errorf("the copy holds %s", p)
		}
	}
}

// The paths an attachment's header may name: a build's, never one that
// escapes, hides, shadows the manifest or packets, or shows another name.
func TestCheckAttachmentPath(t *testing.T) {
	for _, ok := range []string{"b/report.pdf", "b/files/a b.png", "rapport-été.pdf"} {
		if err := checkAttachmentPath(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"../x", "/etc/passwd", "b/../../x", ".git/config", "b/.git/config", "packets/x.age", "packets",
		"SHA256SUMS", "b/\u202egpj.exe", "b/zero\u200bwidth.pdf", "a\\b", "b/x\n.pdf"} {
		if err := checkAttachmentPath(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Opening a site again into its copy takes each page whose bytes did not
// change from the old copy, with its attachments, when the same keys open
// it: the copy is the same as one written anew. A changed page is opened
// again; other identities, or a record that names a path outside the
// copy, take nothing.
func TestOpenAgain(t *testing.T) {
	site, keys, _ := attachmentSite(t)
	ident := func(name string) []age.Identity {
		id, err := age.ParseX25519Identity(strings.TrimSpace(strings.TrimPrefix(string(keys[name][0].Identity), "# test identity\n")))
		if err != nil {
			t.Fatal(err)
		}
		return []age.Identity{id}
	}
	out := filepath.Join(t.TempDir(), "copy")
	first, err := Site(site, out, ident("carol"), nil)
	if err != nil {
		t.Fatal(err)
	}
	fresh := testtool.Tree(t, out)
	again, err := Site(site, out, ident("carol"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Again != first.Pages || again.Opened != first.Opened || again.NotForYou != first.NotForYou || again.Attachments != first.Attachments {
		t.Errorf("again: %+v; first: %+v", again, first)
	}
	sameTree(t, fresh, testtool.Tree(t, out))

	// One page changed: it alone is opened again.
	page := filepath.Join(site, "b", "x", "index.html")
	testtool.WriteSite(t, site, map[string]string{"b/x/index.html": string(readFile(t, page)) + "<!-- changed -->\n"})
	changed, err := Site(site, out, ident("carol"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Again != first.Pages-1 || changed.Attachments != first.Attachments {
		t.Errorf("after one page changed: %+v", changed)
	}
	// Another reader's keys take nothing from carol's copy.
	if bob, err := Site(site, out, ident("bob"), nil); err != nil || bob.Again != 0 {
		t.Errorf("bob: %+v, %v", bob, err)
	}
	// A record naming a path outside the copy is not followed.
	rec := filepath.Join(out, RecordFile)
	if _, err := Site(site, out, ident("carol"), nil); err != nil {
		t.Fatal(err)
	}
	data := strings.Replace(string(readFile(t, rec)), `"b/map-xq7.png"`, `"../../escape.png"`, 1)
	if err := os.WriteFile(rec, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	hostile, err := Site(site, out, ident("carol"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if hostile.Again != first.Pages-1 {
		t.Errorf("with a hostile record: %d pages taken again, want all but the one naming ../../escape.png", hostile.Again)
	}
	if _, err := os.Lstat(filepath.Join(out, "..", "..", "escape.png")); err == nil {
		t.Error("escape.png was written outside the copy")
	}
}

func sameTree(t *testing.T, want, got map[string][]byte) {
	t.Helper()
	for p, w := range want {
		if p == RecordFile {
			continue
		}
		if g, ok := got[p]; !ok || !bytes.Equal(g, w) {
			t.Errorf("%s differs from a fresh copy", p)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s is not in a fresh copy", p)
		}
	}
}
