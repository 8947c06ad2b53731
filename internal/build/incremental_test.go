package build

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/open"
	"github.com/conclave-dev/conclave/internal/seal"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// editSite is a site whose every audience includes "root", so that one
// identity reads every passage and two builds can be compared in clear.
func editSite(t *testing.T) (string, *age.X25519Identity) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "site")
	files := map[string]string{
		"conclave.toml":    "title = \"Edits\"\nbaseURL = \"https://edits.example.org/\"\n\n[tlp]\namber = [\"all\"]\n",
		"keys/groups.toml": "board = [\"root\", \"alice\"]\nall = [\"board\", \"bob\"]\n",
		"content/_index.md": "---\ntitle: Home\n---\n\nWelcome, see [one](briefings/one.md).\n\n" +
			"::: restricted tlp=amber\nHome note for all.\n:::\n",
		"content/briefings/_index.md": "---\ntitle: Briefings\n---\n\nAll briefings.\n",
		"content/briefings/one.md":    "---\ntitle: One\ndate: 2024-01-01\ntags: [alpha, beta]\n---\n\n## Start\n\nPublic one.\n\n::: restricted to=board tlp=amber\n## Board heading\n\nBoard one.\n:::\n",
		"content/briefings/two.md":    "---\ntitle: Two\ndate: 2024-02-01\ntags: [beta]\n---\n\nPublic two, see [one](one.md).\n",
		"content/briefings/whole.md":  "---\ntitle: Whole secret\ndate: 2024-03-01\naudience: [board]\nslug: r-whole\ntlp: amber\n---\n\nWhole body.\n",
		"content/notes/three.md":      "---\ntitle: Three\ndate: 2023-05-05\n---\n\n```go\nfunc main() {}\n```\n\n::: restricted to=root,bob tlp=red\nRed for two.\n:::\n",
		"content/notes/map.svg":       "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
	}
	var root *age.X25519Identity
	for _, n := range []string{"root", "alice", "bob"} {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		if n == "root" {
			root = id
		}
		files["keys/"+n+".pub"] = id.Recipient().String() + "\n"
	}
	testtool.WriteSite(t, dir, files)
	return dir, root
}

// edits change an editSite in the ways authors do. Each keeps the site
// valid, and keeps "root" in every audience.
var edits = map[string]func(t *testing.T, dir string){
	"public body": func(t *testing.T, dir string) {
		appendTo(t, dir, "content/briefings/two.md", fmt.Sprintf("\nMore public text %d.\n", mrand.IntN(1e6)))
	},
	"long body": func(t *testing.T, dir string) {
		write(t, dir, "content/briefings/two.md", longBody("Two", fmt.Sprintf("Tail %d.", mrand.IntN(1e6))))
	},
	"restricted text": func(t *testing.T, dir string) {
		replaceIn(t, dir, "content/briefings/one.md", "Board one.", fmt.Sprintf("Board one, revised %d.", mrand.IntN(1e6)))
	},
	"title": func(t *testing.T, dir string) {
		replaceIn(t, dir, "content/briefings/two.md", "title: Two", fmt.Sprintf("title: Two %d", mrand.IntN(1e6)))
	},
	"date": func(t *testing.T, dir string) {
		replaceIn(t, dir, "content/briefings/two.md", "date: 2024-02-01", "date: 2022-02-01")
	},
	"tag": func(t *testing.T, dir string) {
		replaceIn(t, dir, "content/briefings/one.md", "tags: [alpha, beta]", "tags: [alpha, gamma]")
	},
	"new page": func(t *testing.T, dir string) {
		write(t, dir, fmt.Sprintf("content/briefings/new-%d.md", mrand.IntN(1e6)), "---\ntitle: New\ndate: 2025-01-01\ntags: [alpha]\n---\n\n::: restricted to=board\nNew board text.\n:::\n")
	},
	"remove page": func(t *testing.T, dir string) {
		if err := os.Remove(filepath.Join(dir, "content/briefings/two.md")); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		write(t, dir, "content/briefings/two.md", "---\ntitle: Two again\ndate: 2024-02-02\n---\n\nBack.\n")
	},
	"rename page": func(t *testing.T, dir string) {
		old := filepath.Join(dir, "content/notes/three.md")
		if _, err := os.Stat(old); err != nil {
			return
		}
		if err := os.Rename(old, filepath.Join(dir, "content/notes/three-renamed.md")); err != nil {
			t.Fatal(err)
		}
	},
	"group member": func(t *testing.T, dir string) {
		replaceIn(t, dir, "keys/groups.toml", `board = ["root", "alice"]`, `board = ["root", "alice", "bob"]`)
	},
	"config": func(t *testing.T, dir string) {
		replaceIn(t, dir, "conclave.toml", `title = "Edits"`, fmt.Sprintf(`title = "Edits %d"`, mrand.IntN(1e6)))
	},
	"theme override": func(t *testing.T, dir string) {
		write(t, dir, "themes/default/layouts/partials/meta.html", fmt.Sprintf("<p class=\"meta\">override %d {{with .Date}}{{.Text}}{{end}}</p>\n", mrand.IntN(1e6)))
	},
	"block added": func(t *testing.T, dir string) {
		appendTo(t, dir, "content/briefings/two.md", "\n::: restricted to=root tlp=red\nAdded red.\n:::\n")
		if data, err := os.ReadFile(filepath.Join(dir, "content/briefings/two.md")); err != nil {
			t.Fatal(err)
		} else if !bytes.Contains(data, []byte("\ntlp: red\n")) { // added before
			replaceIn(t, dir, "content/briefings/two.md", "---\n\n", "tlp: red\n---\n\n")
		}
	},
	"section title": func(t *testing.T, dir string) {
		replaceIn(t, dir, "content/briefings/_index.md", "title: Briefings", fmt.Sprintf("title: Briefings %d", mrand.IntN(1e6)))
	},
	"nothing": func(*testing.T, string) {},
	"output tampered": func(t *testing.T, dir string) {
		p := filepath.Join(dir, "public/briefings/two/index.html")
		if _, err := os.Stat(p); err == nil {
			appendTo(t, dir, "public/briefings/two/index.html", "<!-- edited after the build -->")
		}
	},
	// Changed in place, its size and modification time as they were:
	// only its change time (ctime) tells, which no program can set.
	"output tampered in place": func(t *testing.T, dir string) {
		for _, rel := range []string{"public/briefings/two/index.html", "public/index.html"} {
			p := filepath.Join(dir, rel)
			info, err := os.Stat(p)
			if err != nil {
				continue
			}
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.WriteAt([]byte("<!--x-->"), 0)
			if err := errors.Join(err, f.Close()); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, info.ModTime(), info.ModTime()); err != nil {
				t.Fatal(err)
			}
		}
	},
}

func appendTo(t *testing.T, dir, rel, text string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, rel, string(data)+text)
}

func replaceIn(t *testing.T, dir, rel, old, new string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, rel, strings.Replace(string(data), old, new, 1))
}

// After any sequence of edits, a build that publishes unchanged pages
// again from its records equals a build that renders everything: the
// same files, and once opened by a reader of every passage, the same
// text. (New ciphertext is random, so packets are compared through what
// they decrypt to.)
func TestIncrementalBuildEqualsFullBuild(t *testing.T) {
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range edits {
			if !yield(k) {
				return
			}
		}
	})
	for seed := range 3 {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			r := mrand.New(mrand.NewPCG(uint64(seed), 7))
			dir, root := editSite(t)
			key := make([]byte, seal.KeySize)
			rand.Read(key)
			out := filepath.Join(dir, "public")
			if _, err := Run(Options{Source: dir, Out: out, CacheKey: key, Now: testNow}); err != nil {
				t.Fatal(err)
			}
			reusedSome, unreadSome := false, false
			for step := range 12 {
				name := names[r.IntN(len(names))]
				edits[name](t, dir)

				// The full build: the same site and seal cache, without
				// the page records.
				full := filepath.Join(t.TempDir(), "site")
				if err := os.CopyFS(full, os.DirFS(dir)); err != nil {
					t.Fatal(err)
				}
				os.Remove(filepath.Join(full, CacheDir, PagesFile))
				os.Remove(filepath.Join(full, CacheDir, ReadFile))
				os.RemoveAll(filepath.Join(full, "public"))
				fullRep, err := Run(Options{Source: full, Out: filepath.Join(full, "public"), CacheKey: key, Now: testNow})
				if err != nil {
					t.Fatalf("step %d (%s): full build: %v", step, name, err)
				}
				incRep, err := Run(Options{Source: dir, Out: out, CacheKey: key, Now: testNow})
				if err != nil {
					t.Fatalf("step %d (%s): incremental build: %v", step, name, err)
				}
				if fullRep.Reused != 0 {
					t.Fatalf("the full build reused %d pages", fullRep.Reused)
				}
				reusedSome = reusedSome || incRep.Reused > 0
				unreadSome = unreadSome || incRep.Unread > 0
				compareBuilds(t, fmt.Sprintf("step %d (%s)", step, name), out, filepath.Join(full, "public"), root)
			}
			if !reusedSome {
				t.Error("no build reused a page: the test proves nothing")
			}
			if !unreadSome {
				t.Error("no build published a file again by its stamp")
			}
		})
	}
}

// compareBuilds checks that two outputs are the same site: every file but
// packets, keyrings and the manifest byte for byte, and the readable
// copies a reader of every passage gets.
// packetPath is a packet's path wherever a page names it: in a
// placeholder's data-packet and in its help for age users.
var packetPath = regexp.MustCompile(`packets/[0-9a-f]{32}\.age`)

// anyPacket hides the packet names of a page, which differ between two
// builds of the same site (every build seals with new keys).
func anyPacket(page []byte) []byte {
	return searchTag.ReplaceAll(packetPath.ReplaceAll(page, []byte("packets/….age")), []byte(`"tag":"…"`))
}

// searchTag is a sealed search index's tag in the search root, which
// differs between two builds as the audiences' keys do.
var searchTag = regexp.MustCompile(`"tag":"[0-9a-f]{32}"`)

func compareBuilds(t *testing.T, what, a, b string, reader age.Identity) {
	t.Helper()
	ta, tb := testtool.Tree(t, a), testtool.Tree(t, b)
	plain := func(tree map[string][]byte) map[string][]byte {
		out := map[string][]byte{}
		for p, d := range tree {
			if !strings.HasPrefix(p, "packets/") && p != "SHA256SUMS" {
				out[p] = anyPacket(d)
			}
		}
		return out
	}
	pa, pb := plain(ta), plain(tb)
	for p := range pb {
		if _, ok := pa[p]; !ok {
			t.Errorf("%s: %s only in the full build", what, p)
		}
	}
	for p, d := range pa {
		if e, ok := pb[p]; !ok {
			t.Errorf("%s: %s only in the incremental build", what, p)
		} else if !bytes.Equal(d, e) {
			t.Errorf("%s: %s differs:\nincremental: %.300s\nfull:        %.300s", what, p, d, e)
		}
	}
	count := func(tree map[string][]byte, prefix string) int {
		n := 0
		for p := range tree {
			if strings.HasPrefix(p, prefix) {
				n++
			}
		}
		return n
	}
	if count(ta, "packets/keyrings/") != count(tb, "packets/keyrings/") || count(ta, "packets/") != count(tb, "packets/") {
		t.Errorf("%s: %d packets and keyrings, full build %d", what, count(ta, "packets/"), count(tb, "packets/"))
	}
	oa, ob := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	ra, err := open.Site(a, oa, []age.Identity{reader}, builtSums(t, a))
	if err != nil {
		t.Fatalf("%s: opening the incremental build: %v", what, err)
	}
	rb, err := open.Site(b, ob, []age.Identity{reader}, builtSums(t, b))
	if err != nil {
		t.Fatalf("%s: opening the full build: %v", what, err)
	}
	if ra.NotForYou != 0 || rb.NotForYou != 0 || ra.Opened != rb.Opened || ra.Opened == 0 {
		t.Errorf("%s: opened %d (%d not for the reader), full build %d (%d)", what, ra.Opened, ra.NotForYou, rb.Opened, rb.NotForYou)
	}
	ca, cb := testtool.Tree(t, oa), testtool.Tree(t, ob)
	delete(ca, ".conclave-opened") // names the folder it was made from
	delete(cb, ".conclave-opened")
	delete(ca, open.RecordFile) // digests of the keys that opened the copy
	delete(cb, open.RecordFile)
	for p, d := range ca {
		d, e := anyPacket(d), anyPacket(cb[p])
		if !bytes.Equal(d, e) {
			t.Errorf("%s: opened %s differs:\nincremental: %s\nfull:        %s", what, p, d, e)
		}
	}
	if len(ca) != len(cb) {
		t.Errorf("%s: opened copies hold %d and %d files", what, len(ca), len(cb))
	}
}

// A page's key covers its front matter and body through its file's
// digest, and its place through its path: a page whose file or place
// changed in any way is never published again as it was.
func TestPageKeyCoversFront(t *testing.T) {
	base := "---\ntitle: A\ndate: 2024-01-01\nsummary: S\ntags: [t]\nweight: 1\ntlp: amber\n---\n\nBody.\n"
	variants := map[string]string{
		"base":     base,
		"Title":    strings.Replace(base, "title: A", "title: B", 1),
		"Date":     strings.Replace(base, "2024-01-01", "2024-01-02", 1),
		"Summary":  strings.Replace(base, "summary: S", "summary: T", 1),
		"Tags":     strings.Replace(base, "tags: [t]", "tags: [u]", 1),
		"Draft":    strings.Replace(base, "weight: 1", "weight: 1\ndraft: false", 1),
		"Slug":     strings.Replace(base, "weight: 1", "weight: 1\nslug: s", 1),
		"Weight":   strings.Replace(base, "weight: 1", "weight: 2", 1),
		"TLP":      strings.Replace(base, "tlp: amber", "tlp: green", 1),
		"Lines":    strings.Replace(base, "title: A\n", "\ntitle: A\n", 1),
		"Body":     strings.Replace(base, "Body.", "Body!", 1),
		"BodyLine": strings.Replace(base, "---\n\nBody", "---\n\n\nBody", 1),
	}
	seen := map[[32]byte]string{}
	for name, text := range variants {
		dir := t.TempDir()
		testtool.WriteSite(t, dir, map[string]string{"conclave.toml": "title = \"T\"\n", "content/a.md": text})
		s, err := site.Load(dir, site.Options{Drafts: true})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := s.Pages[0]
		if p.Digest == ([32]byte{}) {
			t.Fatalf("%s: the loaded page has no digest", name)
		}
		k := pageKey(p)
		if prev, dup := seen[k]; dup {
			t.Errorf("changing %s gives the key of %s", name, prev)
		}
		seen[k] = name
		// The place counts too.
		moved := *p
		moved.Path, moved.URL = "content/b.md", "/b/"
		if pageKey(&moved) == k {
			t.Errorf("%s: a page moved keeps its key", name)
		}
	}
}
