package open

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// hostile is a copy of a built site that a test may damage, and what it
// needs to forge packets that the reader's keyrings open.
type hostile struct {
	site  string         // the copy
	page  string         // briefings/x/index.html in it
	board string         // the board passage's packet path
	ids   []age.Identity // alice's
	alice string         // alice's public key
	aud   age.Recipient  // the board audience's key
}

func newHostile(t *testing.T) *hostile {
	t.Helper()
	p := newPeople(t, "alice", "bob", "carol")
	built := testSite(t, p)
	h := &hostile{site: filepath.Join(t.TempDir(), "site"), ids: parse(t, p["alice"].Identity), alice: p["alice"].Public}
	if err := os.CopyFS(h.site, os.DirFS(built)); err != nil {
		t.Fatal(err)
	}
	h.page = filepath.Join(h.site, "briefings", "x", "index.html")
	h.board = packets(readFile(t, h.page))[0]
	r, err := NewReader(h.site, h.ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data := readFile(t, filepath.Join(h.site, h.board))
	for _, id := range r.ids {
		if _, err := decryptWith([]age.Identity{id}, data); err == nil {
			h.aud = id.(*age.X25519Identity).Recipient()
		}
	}
	if h.aud == nil {
		t.Fatal("no key of alice's keyring opens the board's packet")
	}
	return h
}

// setPacket makes the page name packet p where it named the board's.
func (h *hostile) setPacket(t *testing.T, p string) {
	t.Helper()
	page := readFile(t, h.page)
	page = bytes.Replace(page, []byte(`data-packet="`+h.board+`"`), []byte(`data-packet="`+p+`"`), 1)
	if err := os.WriteFile(h.page, page, 0o644); err != nil {
		t.Fatal(err)
	}
}

// forge writes a packet named name holding html, encrypted to the board.
func (h *hostile) forge(t *testing.T, name, html string) string {
	t.Helper()
	var b bytes.Buffer
	w, err := age.Encrypt(&b, h.aud)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(html))
	w.Close()
	p := "packets/" + name + ".age"
	if err := os.WriteFile(filepath.Join(h.site, p), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func placeholder(p string) string {
	return `<section class="sealed tlp-amber" data-packet="` + p + `" data-tlp="amber">` + "\n</section>\n"
}

// failOpen checks that Site fails with want and writes nothing.
func (h *hostile) failOpen(t *testing.T, want string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	_, err := Site(h.site, out, h.ids, nil)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error containing %q", err, want)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Errorf("a failed open left %v", entries)
	}
}

// partialOpen checks that Site writes the copy and reports it incomplete,
// with problems that hold each of want (as "FILE: message" lines, FILE
// under the site), and returns the report and the copy's files.
func (h *hostile) partialOpen(t *testing.T, sums Sums, want ...string) (*Report, map[string][]byte) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	rep, err := Site(h.site, out, h.ids, sums)
	var inc *IncompleteError
	if !errors.As(err, &inc) || rep == nil {
		t.Fatalf("Site: %v, want an incomplete copy", err)
	}
	if len(inc.Problems) != len(rep.Problems) || len(rep.Problems) == 0 {
		t.Errorf("%d problems in the error, %d in the report", len(inc.Problems), len(rep.Problems))
	}
	text := problemText(h.site, rep.Problems)
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("problems:\n%s\nwant one holding %q", text, w)
		}
	}
	files := testtool.Tree(t, out)
	if !bytes.Contains(files["index.html"], []byte("<html")) {
		t.Errorf("the copy has no home page")
	}
	return rep, files
}

// problemText is problems as lines of "FILE: message", FILE relative to
// site.
func problemText(site string, problems []*diag.Warning) string {
	var b strings.Builder
	for _, p := range problems {
		rel, err := filepath.Rel(site, p.File)
		if err != nil {
			rel = p.File
		}
		fmt.Fprintf(&b, "%s: %s\n", filepath.ToSlash(rel), p.Msg)
	}
	return b.String()
}

// recordFS is a file system that records the paths opened in it.
type recordFS struct {
	fs.FS
	mu    sync.Mutex
	paths []string
}

func (r *recordFS) Open(name string) (fs.File, error) {
	r.mu.Lock()
	r.paths = append(r.paths, name)
	r.mu.Unlock()
	return r.FS.Open(name)
}

func TestHostilePacketPath(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside.age")
	for _, p := range []string{
		"../../etc/passwd",
		"/etc/passwd",
		outside,
		"packets/../../../../etc/passwd",
		"packets/../index.html",
		"packets/keyrings/0123456789abcdef0123456789abcdef.age",
		"packets/0123456789ABCDEF0123456789ABCDEF.age",
		"packets/0123456789abcdef0123456789abcdef.age/",
		"./packets/0123456789abcdef0123456789abcdef.age",
		"packets/0123456789abcdef0123456789abcdef.age\x00",
	} {
		t.Run(strings.ReplaceAll(p, "/", "_"), func(t *testing.T) {
			h := newHostile(t)
			if err := os.WriteFile(outside, readFile(t, filepath.Join(h.site, h.board)), 0o644); err != nil {
				t.Fatal(err)
			}
			h.setPacket(t, p)
			// The passage stays sealed, the rest of the page is opened.
			rep, files := h.partialOpen(t, nil, "briefings/x/index.html: sealed passage not opened: ", "is not a packet path (want packets/<32 hex digits>.age)")
			if len(rep.Problems) != 1 || rep.Failed != 1 {
				t.Errorf("report: %+v", rep)
			}
			if page := files["briefings/x/index.html"]; !bytes.Contains(page, []byte(`<section class="sealed not-opened`)) || !bytes.Contains(page, []byte(`<section class="sealed not-for-you`)) {
				t.Errorf("the page does not mark the passage not opened, and the other not for the reader:\n%s", page)
			}

			// What the reader reads: the keyrings and packets, nothing else.
			root, err := os.OpenRoot(h.site)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			rec := &recordFS{FS: manifest.RootFS(root)}
			r, err := newReader(h.site, rec, h.ids, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := r.Unseal(readFile(t, h.page)); err == nil {
				t.Errorf("Unseal accepted the page")
			}
			for _, p := range rec.paths {
				if p != format.KeyringDir && !strings.HasPrefix(p, format.KeyringDir+"/") && !format.IsPacketPath(p) {
					t.Errorf("read %s", p)
				}
			}
		})
	}
}

// TestHostileSymlinks: a site whose packets or pages are links that lead
// out of it is refused, even when what they lead to would open.
func TestHostileSymlinks(t *testing.T) {
	t.Run("packet", func(t *testing.T) {
		h := newHostile(t)
		p := filepath.Join(h.site, h.board)
		outside := filepath.Join(t.TempDir(), "board.age")
		os.Rename(p, outside)
		if err := os.Symlink(outside, p); err != nil {
			t.Fatal(err)
		}
		h.partialOpen(t, nil, "briefings/x/index.html: sealed passage not opened: "+h.board+": not a regular file (a symbolic link)")
	})
	t.Run("packet inside", func(t *testing.T) {
		// Even to a packet of the site: links are never followed.
		h := newHostile(t)
		p := filepath.Join(h.site, h.board)
		other := filepath.Join(h.site, "packets", "0123456789abcdef0123456789abcdef.age")
		os.Rename(p, other)
		if err := os.Symlink(filepath.Base(other), p); err != nil {
			t.Fatal(err)
		}
		h.partialOpen(t, nil, h.board+": not a regular file (a symbolic link)")
	})
	t.Run("keyrings", func(t *testing.T) {
		h := newHostile(t)
		p := filepath.Join(h.site, "packets", "keyrings")
		outside := filepath.Join(t.TempDir(), "keyrings")
		os.Rename(p, outside)
		if err := os.Symlink(outside, p); err != nil {
			t.Fatal(err)
		}
		h.failOpen(t, filepath.Join(h.site, "packets", "keyrings")+": a symbolic link, not a folder: refused in a site being opened")
	})
	t.Run("page", func(t *testing.T) {
		h := newHostile(t)
		outside := filepath.Join(t.TempDir(), "private.html")
		os.WriteFile(outside, []byte("private"), 0o600)
		if err := os.Symlink(outside, filepath.Join(h.site, "briefings", "link.html")); err != nil {
			t.Fatal(err)
		}
		_, files := h.partialOpen(t, nil, "briefings/link.html: not copied: not a regular file (a symbolic link): refused in a site being opened")
		if _, ok := files["briefings/link.html"]; ok {
			t.Errorf("the link was copied")
		}
		if !bytes.Contains(files["briefings/x/index.html"], []byte("ALICE")) {
			t.Errorf("the rest of the site was not opened")
		}
	})
}

// TestHostileNesting: a packet that names itself, or a few packets that
// name each other many times over, stop with an error instead of looping
// or filling memory.
func TestHostileNesting(t *testing.T) {
	t.Run("self", func(t *testing.T) {
		h := newHostile(t)
		const name = "5e1f5e1f5e1f5e1f5e1f5e1f5e1f5e1f"
		p := h.forge(t, name, "<p>again</p>\n"+placeholder("packets/"+name+".age"))
		h.setPacket(t, p)
		rep, files := h.partialOpen(t, nil, "briefings/x/index.html: sealed passage packets/"+name+".age is nested more than 16 deep (a packet that names itself?): left sealed")
		page := files["briefings/x/index.html"]
		if n := bytes.Count(page, []byte("<p>again</p>")); n != MaxNesting || rep.Failed != 1 || len(rep.Problems) != 1 {
			t.Errorf("%d passages opened (want %d), report %+v", n, MaxNesting, rep)
		}
		if !bytes.Contains(page, []byte(`<section class="sealed not-opened`)) {
			t.Errorf("the passage too deep is not marked")
		}
	})
	t.Run("cycle", func(t *testing.T) {
		h := newHostile(t)
		a, b := fmt.Sprintf("%032x", 0xa), fmt.Sprintf("%032x", 0xb)
		h.forge(t, a, placeholder("packets/"+b+".age"))
		h.forge(t, b, placeholder("packets/"+a+".age"))
		h.setPacket(t, "packets/"+a+".age")
		h.partialOpen(t, nil, "nested more than 16 deep")
	})
	t.Run("fan-out", func(t *testing.T) {
		// Each of 8 packets names the next ten times: 10^8 passages.
		h := newHostile(t)
		const levels = 8
		h.forge(t, fmt.Sprintf("%032x", levels), "<p>leaf</p>\n")
		for i := levels - 1; i >= 0; i-- {
			h.forge(t, fmt.Sprintf("%032x", i), strings.Repeat(placeholder(fmt.Sprintf("packets/%032x.age", i+1)), 10))
		}
		h.setPacket(t, fmt.Sprintf("packets/%032x.age", 0))
		start := time.Now()
		rep, _ := h.partialOpen(t, nil, "expand to more than 100000 passages or 256 MiB in one page")
		if len(rep.Problems) != 1 {
			t.Errorf("%d problems, want one for the page", len(rep.Problems))
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("took %v to refuse", d)
		}
	})
	t.Run("legitimate", func(t *testing.T) {
		// Nesting 16 deep is still read.
		h := newHostile(t)
		h.forge(t, fmt.Sprintf("%032x", 16), "<p>DEEPEST</p>\n")
		for i := 15; i >= 1; i-- {
			h.forge(t, fmt.Sprintf("%032x", i), placeholder(fmt.Sprintf("packets/%032x.age", i+1)))
		}
		h.setPacket(t, fmt.Sprintf("packets/%032x.age", 1))
		out := filepath.Join(t.TempDir(), "out")
		rep, err := Site(h.site, out, h.ids, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(readFile(t, filepath.Join(out, "briefings", "x", "index.html")), []byte("DEEPEST")) {
			t.Errorf("the deepest passage is missing")
		}
		if rep.Opened != 16 {
			t.Errorf("opened %d passages, want the 16 of the chain", rep.Opened)
		}
	})
}

// TestHostileDamagedPacket: a packet that is not an age file, or a keyring
// that opens but holds no keys, is a problem naming it, and the rest is
// opened.
func TestHostileDamagedPacket(t *testing.T) {
	h := newHostile(t)
	os.WriteFile(filepath.Join(h.site, h.board), []byte("not age\n"), 0o644)
	h.partialOpen(t, nil, "briefings/x/index.html: sealed passage not opened: "+h.board+": ")

	h = newHostile(t)
	ring := filepath.Join(h.site, "packets", "keyrings", "0123456789abcdef0123456789abcdef.age")
	os.WriteFile(ring, encryptTo(t, "not an identity file\n", h.alice), 0o644)
	_, files := h.partialOpen(t, nil, "packets/keyrings/0123456789abcdef0123456789abcdef.age: keyring not opened: it opens but holds no keys (a damaged site?)")
	if !bytes.Contains(files["briefings/x/index.html"], []byte("ALICE")) {
		t.Errorf("alice's passages were not opened with her good keyring")
	}

	// Keys, and a line that is not one: said so, not "no keys".
	h = newHostile(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	ring = filepath.Join(h.site, "packets", "keyrings", "0123456789abcdef0123456789abcdef.age")
	os.WriteFile(ring, encryptTo(t, id.String()+"\nhello\n", h.alice), 0o644)
	h.partialOpen(t, nil, "packets/keyrings/0123456789abcdef0123456789abcdef.age: keyring not opened: it opens, but not every line of it is an age identity, as conclave writes them (a damaged or hostile site?)")
}
