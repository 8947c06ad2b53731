package manifest

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// tree writes files (slash path → content) under a new folder and returns
// it with its manifest's entries.
func tree(t *testing.T, files map[string]string) (string, []Entry) {
	t.Helper()
	dir := t.TempDir()
	var entries []Entry
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, Entry{Path: p, Sum: sha256.Sum256([]byte(content))})
	}
	m, err := Build(entries)
	if err != nil {
		t.Fatal(err)
	}
	entries, err = Parse(Name, m)
	if err != nil {
		t.Fatal(err)
	}
	return dir, entries
}

var site = map[string]string{
	"index.html":                     "<h1>home</h1>",
	"css/conclave.css":               "body{}",
	"briefings/x/index.html":         "<p>x</p>",
	"packets/0123.age":               "age-encryption.org/v1 …",
	"packets/keyrings/alice-x.age":   "age-encryption.org/v1 …",
	"feed.xml":                       "<feed/>",
	"briefings/x/diagram.png":        "\x89PNG",
	"about/security.txt":             "Contact: x",
	"tags/embargo/index.html":        "<p>tag</p>",
	"sitemap.xml":                    "<urlset/>",
	"briefings/x/attachments/a.pdf":  "%PDF",
	"briefings/empty-file/index.txt": "",
}

func problems(t *testing.T, dir string, entries []Entry) string {
	t.Helper()
	got, err := Check(dir, entries)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range got {
		lines = append(lines, p.Error())
	}
	return strings.Join(lines, "\n")
}

func TestCheckClean(t *testing.T) {
	dir, entries := tree(t, site)
	// The manifest and its bundle may be at the root, unlisted.
	for _, name := range []string{Name, BundleName} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := problems(t, dir, entries); got != "" {
		t.Errorf("clean tree: problems:\n%s", got)
	}
}

// TestCheckTamper changes the tree in every way a tamperer could and
// checks the exact problem reported.
func TestCheckTamper(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   string
	}{
		{"flipped byte in a page", flip("index.html"), "index.html: " + ReasonChanged},
		{"flipped byte in a packet", flip("packets/0123.age"), "packets/0123.age: " + ReasonChanged},
		{"flipped byte in a keyring", flip("packets/keyrings/alice-x.age"), "packets/keyrings/alice-x.age: " + ReasonChanged},
		{"flipped byte in css", flip("css/conclave.css"), "css/conclave.css: " + ReasonChanged},
		{"flipped byte in an image", flip("briefings/x/diagram.png"), "briefings/x/diagram.png: " + ReasonChanged},
		{"flipped byte in the feed", flip("feed.xml"), "feed.xml: " + ReasonChanged},
		{"flipped byte in a text file", flip("about/security.txt"), "about/security.txt: " + ReasonChanged},
		{"empty file filled", write("briefings/empty-file/index.txt", "x"), "briefings/empty-file/index.txt: " + ReasonChanged},
		{"truncated", write("sitemap.xml", ""), "sitemap.xml: " + ReasonChanged},
		{"added file", write("evil.html", "<script>"), "evil.html: " + ReasonUnlisted},
		{"added file in a listed folder", write("briefings/x/evil.js", "x"), "briefings/x/evil.js: " + ReasonUnlisted},
		{"added hidden file", write(".htaccess", "x"), `".htaccess": ` + ReasonUnsafe},
		{"added manifest look-alike", write("SHA256SUMS.sig", "x"), "SHA256SUMS.sig: " + ReasonUnlisted},
		{"added manifest name in a folder", write("css/SHA256SUMS", "x"), "css/SHA256SUMS: " + ReasonUnlisted},
		{"added folder", write("new/a/b.html", "x"), "new: " + ReasonFolder},
		{"added empty folder", mkdir("empty"), "empty: " + ReasonFolder},
		{"added empty folder inside", mkdir("briefings/x/sub"), "briefings/x/sub: " + ReasonFolder},
		{"removed file", remove("feed.xml"), "feed.xml: " + ReasonMissing},
		{"removed folder", remove("tags"), "tags/embargo/index.html: " + ReasonMissing},
		{"file replaced by a symlink to a copy", symlinkCopy("index.html"), "index.html: " + ReasonNotFile + " (a symbolic link)"},
		{"added symlink out", symlink("/etc/passwd", "passwd"), "passwd: " + ReasonNotFile + " (a symbolic link)"},
		{"folder replaced by a symlink", symlinkDir("css"), "css: " + ReasonNotFile + " (a symbolic link)\ncss/conclave.css: " + ReasonMissing},
		{"named pipe", fifo("briefings/x/pipe"), "briefings/x/pipe: " + ReasonNotFile + " (a named pipe)"},
		{"backslash name", write(`a\b.html`, "x"), `"a\\b.html": ` + ReasonUnsafe},
		{"newline name", write("a\nb.html", "x"), `"a\nb.html": ` + ReasonUnsafe},
		{"file replaced by a folder", func(t *testing.T, dir string) {
			remove("feed.xml")(t, dir)
			write("feed.xml/x", "x")(t, dir)
		}, "feed.xml: " + ReasonFolder + "\nfeed.xml: " + ReasonMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, entries := tree(t, site)
			tt.change(t, dir)
			if got := problems(t, dir, entries); got != tt.want {
				t.Errorf("problems:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestCheckSeveral(t *testing.T) {
	dir, entries := tree(t, site)
	flip("index.html")(t, dir)
	remove("feed.xml")(t, dir)
	write("z.html", "x")(t, dir)
	want := "feed.xml: " + ReasonMissing + "\nindex.html: " + ReasonChanged + "\nz.html: " + ReasonUnlisted
	if got := problems(t, dir, entries); got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

func TestCheckNoFolder(t *testing.T) {
	if _, err := Check(filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Error("Check of a missing folder succeeded")
	}
}

func flip(p string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		data, err := os.ReadFile(full)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 0x01
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func write(p, content string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mkdir(p string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(p)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func remove(p string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.RemoveAll(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
			t.Fatal(err)
		}
	}
}

func symlink(target, p string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(p))); err != nil {
			t.Fatal(err)
		}
	}
}

// symlinkCopy replaces p by a link to an identical copy elsewhere: the
// digest would match, but a link is never followed.
func symlinkCopy(p string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		data, err := os.ReadFile(full)
		if err != nil {
			t.Fatal(err)
		}
		other := filepath.Join(t.TempDir(), "copy")
		if err := os.WriteFile(other, data, 0o644); err != nil {
			t.Fatal(err)
		}
		remove(p)(t, dir)
		symlink(other, p)(t, dir)
	}
}

func symlinkDir(p string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		other := filepath.Join(t.TempDir(), "dir")
		if err := os.Rename(full, other); err != nil {
			t.Fatal(err)
		}
		symlink(other, p)(t, dir)
	}
}

func fifo(p string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := syscall.Mkfifo(filepath.Join(dir, filepath.FromSlash(p)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkCheck checks a site-shaped tree: 2,000 pages in folders of
// their own, 10 KiB each, under 20 sections.
func BenchmarkCheck(b *testing.B) {
	dir := b.TempDir()
	var entries []Entry
	page := []byte(strings.Repeat("<p>briefing text</p>\n", 500))
	for i := range 2000 {
		p := fmt.Sprintf("section-%d/page-%d/index.html", i%20, i)
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(full, page, 0o644); err != nil {
			b.Fatal(err)
		}
		entries = append(entries, Entry{Path: p, Sum: sha256.Sum256(page)})
	}
	m, err := Build(entries)
	if err != nil {
		b.Fatal(err)
	}
	if entries, err = Parse(Name, m); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(page) * len(entries)))
	for b.Loop() {
		if p, err := Check(dir, entries); err != nil || len(p) > 0 {
			b.Fatal(err, p)
		}
	}
}
