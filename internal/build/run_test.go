package build

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/testtool"
)

// sameTree fails t unless after holds the same files as before, byte for
// byte.
func sameTree(t *testing.T, what string, before, after map[string][]byte) {
	t.Helper()
	if len(after) != len(before) {
		t.Fatalf("%s changed: %d files before, %d after", what, len(before), len(after))
	}
	for p, b := range before {
		if !bytes.Equal(after[p], b) {
			t.Errorf("%s changed: %s", what, p)
		}
	}
}

// copySite copies testdata/site to a temporary folder and returns it.
func copySite(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "site")
	if err := os.CopyFS(dst, os.DirFS("testdata/site")); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestFailedBuildLeavesOutputUntouched(t *testing.T) {
	breakers := map[string]func(t *testing.T, src string){
		"front matter": func(t *testing.T, src string) {
			write(t, src, "content/briefings/alpha.md", "---\ntitle: [unclosed\n---\n")
		},
		"broken link": func(t *testing.T, src string) {
			write(t, src, "content/briefings/beta.md", "See [x](nope.md).\n")
		},
		"template": func(t *testing.T, src string) {
			write(t, src, "themes/default/layouts/page.html", "{{define \"main\"}}{{.Page.NoSuchField}}{{end}}")
		},
		"duplicate output path": func(t *testing.T, src string) {
			write(t, src, "content/favicon.svg", "<svg/>")
		},
		"secret": func(t *testing.T, src string) {
			write(t, src, "content/notes/key.txt", "AGE-SECRET-KEY-"+"1XYZ")
		},
	}
	for name, breakSite := range breakers {
		t.Run(name, func(t *testing.T) {
			src := copySite(t)
			out := filepath.Join(src, "public")
			if _, err := Run(Options{Source: src}); err != nil {
				t.Fatal(err)
			}
			before := testtool.Tree(t, out)
			breakSite(t, src)
			if _, err := Run(Options{Source: src}); err == nil {
				t.Fatal("broken site built")
			}
			sameTree(t, "output", before, testtool.Tree(t, out))
			leftovers, _ := filepath.Glob(filepath.Join(src, ".public.tmp-*"))
			if len(leftovers) > 0 {
				t.Errorf("temporary folders left behind: %v", leftovers)
			}
		})
	}
}

func write(t *testing.T, root, rel, body string) {
	t.Helper()
	testtool.WriteSite(t, root, map[string]string{rel: body})
}

func TestRebuildReplacesOutput(t *testing.T) {
	src := copySite(t)
	out := filepath.Join(src, "public")
	if _, err := Run(Options{Source: src}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(src, "content/notes/gamma.md")); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(Options{Source: src}); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"notes/gamma/index.html", "tags/notes/index.html"} {
		if _, err := os.Stat(filepath.Join(out, gone)); err == nil {
			t.Errorf("%s survived the rebuild", gone)
		}
	}

	// A file that SHA256SUMS does not list was not built: refuse to delete it.
	write(t, out, "briefings/notes.txt", "mine")
	_, err := Run(Options{Source: src})
	if want := "briefings/notes.txt is not listed in its SHA256SUMS"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("rebuild over an unlisted file: %v, want %q", err, want)
	}
	if data, err := os.ReadFile(filepath.Join(out, "briefings", "notes.txt")); string(data) != "mine" {
		t.Errorf("unlisted file: %q, %v", data, err)
	}
}

func TestRebuildKeepsHiddenEntries(t *testing.T) {
	src := copySite(t)
	out := filepath.Join(src, "public")
	if _, err := Run(Options{Source: src}); err != nil {
		t.Fatal(err)
	}
	write(t, out, ".git/HEAD", "ref: refs/heads/gh-pages\n")
	write(t, out, ".nojekyll", "")
	for range 2 {
		if _, err := Run(Options{Source: src}); err != nil {
			t.Fatal(err)
		}
	}
	if data, err := os.ReadFile(filepath.Join(out, ".git", "HEAD")); string(data) != "ref: refs/heads/gh-pages\n" {
		t.Errorf(".git/HEAD after rebuilds: %q, %v", data, err)
	}
	if _, err := os.Stat(filepath.Join(out, ".nojekyll")); err != nil {
		t.Error(err)
	}
	sums, err := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	if err != nil || bytes.Contains(sums, []byte("  .")) {
		t.Errorf("SHA256SUMS lists hidden entries (%v):\n%s", err, sums)
	}
}

func TestRefusesDangerousOut(t *testing.T) {
	src := copySite(t)
	foreign := filepath.Join(t.TempDir(), "home")
	write(t, foreign, "thesis.tex", "precious")
	// Symbolic links to the site's content/ folder, to the site, and to
	// the folder holding it.
	links := t.TempDir()
	for name, target := range map[string]string{"pubs": filepath.Join(src, "content"), "site": src, "up": filepath.Dir(src)} {
		if err := os.Symlink(target, filepath.Join(links, name)); err != nil {
			t.Fatal(err)
		}
	}
	link := func(p string) string { return filepath.Join(links, p) }
	tests := []struct{ src, out, want string }{
		{src, foreign, "refusing to replace"},
		{src, src, "would contain the site itself"},
		{src, filepath.Dir(src), "would contain the site itself"},
		{src, filepath.Join(src, "content", "out"), "inside the site's content/ folder"},
		{src, filepath.Join(src, "themes"), "inside the site's themes/ folder"},
		{src, link("pubs/x"), "output " + link("pubs/x") + " is inside the site's content/ folder once symbolic links are resolved (it is " + filepath.Join(src, "content", "x") + ")"},
		{src, link("pubs/new/deeper"), "inside the site's content/ folder"},
		{src, link("up/site/content/x"), "inside the site's content/ folder"},
		{src, link("up"), "would contain the site itself"},
		{link("site"), filepath.Join(src, "content", "x"), "inside the site's content/ folder"},
		{link("site"), src, "would contain the site itself"},
	}
	for _, tt := range tests {
		_, err := Run(Options{Source: tt.src, Out: tt.out})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("source %s, out %s: error %v, want %q", tt.src, tt.out, err, tt.want)
		}
	}
	if data, err := os.ReadFile(filepath.Join(foreign, "thesis.tex")); err != nil || string(data) != "precious" {
		t.Errorf("foreign folder touched: %q, %v", data, err)
	}
	for _, p := range []string{"content/x", "content/new"} {
		if _, err := os.Lstat(filepath.Join(src, p)); err == nil {
			t.Errorf("%s written into the site", p)
		}
	}
}

func TestDeterministicAndMemoryEqualsDisk(t *testing.T) {
	src := copySite(t)
	var trees []map[string][]byte
	for i := range 2 {
		out := filepath.Join(t.TempDir(), "p"+string(rune('0'+i)))
		if _, err := Run(Options{Source: src, Out: out, Now: testNow}); err != nil {
			t.Fatal(err)
		}
		trees = append(trees, testtool.Tree(t, out))
	}
	_, mem, err := Memory(Options{Source: src, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	for p, b := range trees[0] {
		if !bytes.Equal(trees[1][p], b) {
			t.Errorf("%s differs between two builds", p)
		}
		if m, ok := mem.Get(p); !ok || !bytes.Equal(m, b) {
			t.Errorf("%s differs between memory and disk", p)
		}
	}
	if n := len(mem.Entries()); n != len(trees[0]) {
		t.Errorf("memory has %d files, disk %d", n, len(trees[0]))
	}
}

func TestDraftsOption(t *testing.T) {
	src := copySite(t)
	rep, mem, err := Memory(Options{Source: src, Drafts: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Drafts != 0 || rep.Briefings != 4 {
		t.Errorf("report = %+v", rep)
	}
	if _, ok := mem.Get("briefings/draft/index.html"); !ok {
		t.Error("draft not built with Drafts")
	}
}

// sameSiteNewKeyrings checks a rebuild of an unchanged site: every file but
// the keyrings, keyrings.json and SHA256SUMS is the same byte for byte; the
// keyrings are as many, all new (every release encrypts them anew), and all
// of one size.
func sameSiteNewKeyrings(t *testing.T, what string, before, after map[string][]byte) {
	t.Helper()
	strip := func(tree map[string][]byte) (map[string][]byte, int) {
		out, rings := map[string][]byte{}, 0
		for p, d := range tree {
			switch {
			case strings.HasPrefix(p, "packets/keyrings/"):
				rings++
			case p != "packets/keyrings.json" && p != "SHA256SUMS":
				out[p] = d
			}
		}
		return out, rings
	}
	b, nb := strip(before)
	a, na := strip(after)
	sameTree(t, what, b, a)
	if na != nb || na == 0 {
		t.Errorf("%s: %d keyrings, then %d", what, nb, na)
	}
	size := -1
	for p, d := range after {
		if !strings.HasPrefix(p, "packets/keyrings/") {
			continue
		}
		if _, ok := before[p]; ok {
			t.Errorf("%s: keyring %s published again", what, p)
		}
		if size >= 0 && len(d) != size {
			t.Errorf("%s: keyrings of %d and %d bytes", what, size, len(d))
		}
		size = len(d)
	}
}
