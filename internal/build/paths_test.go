package build

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/open"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/seal"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// onePathSites are sites that every path must accept alike, besides the
// accepted mistakes of the table.
func onePathSites() []mistake {
	return []mistake{
		{
			name: "extra/nested-blocks", why: "three levels of nested blocks, in a list and a quote, with headings",
			files: map[string]string{"content/b/x.md": md("---", "title: Nested", "tlp: amber", "date: 2024-06-01", "tags: [shared]", "---", "",
				"## Public heading", "", "Public text.", "",
				"::: restricted to=all tlp=amber", "## All heading canarypa1", "", "All text canarypa2.", "",
				":::: restricted to=board tlp=amber", "Board text canarypa3.", "",
				"::::: restricted to=alice tlp=amber", "Alice text canarypa4.", ":::::", "::::", ":::", "",
				"- Item", "", "  ::: restricted to=carol tlp=amber", "  Carol item canarypa5.", "  :::", "",
				"> ::: restricted to=bob tlp=amber", "> Bob quote canarypa6.", "> :::")},
			want: publish, has: []string{"b/x/index.html"},
		},
		{
			name: "extra/restricted-page-and-public-file", why: "a restricted page and a public page link the same public file",
			files: map[string]string{
				"content/b/x.md":       md(append(restrictedFront("Whole canarypb1", "r-pb"), "", "See [the log](shared.txt), canarypb2.")...),
				"content/b/y.md":       page("Public log", "The [shared log](shared.txt)."),
				"content/b/shared.txt": "public log\n",
			},
			want: publish, has: []string{"b/r-pb/index.html", "b/y/index.html", "b/shared.txt"},
		},
		{
			name: "extra/default-audience", why: "a block without to= takes its label's default audience",
			files: map[string]string{
				"conclave.toml":  "title = \"Mistakes\"\nbaseURL = \"https://mistakes.example.org/\"\n\n[tlp]\namber = [\"all\"]\n",
				"content/b/x.md": page("Defaults", "::: restricted tlp=amber", "Passage canarypc1.", ":::"),
			},
			want: publish, has: []string{"b/x/index.html"},
		},
	}
}

// built is what one path made of a site: an error, or the output.
type built struct {
	path string
	err  error
	dir  string // the output on disk (memory builds are written out)
}

// memoryToDisk writes a memory build to a new folder.
func memoryToDisk(t *testing.T, mem *output.Memory) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mem")
	files := map[string]string{}
	for _, e := range mem.Entries() {
		data, ok := mem.Get(e.Path)
		if !ok {
			t.Fatalf("memory build lists %s but does not hold it", e.Path)
		}
		files[e.Path] = string(data)
	}
	testtool.WriteSite(t, dir, files)
	return dir
}

// changedPaths lists the files written, as a watcher would report them.
func changedPaths(files map[string]string) []string {
	return slices.Sorted(maps.Keys(files))
}

func newCacheKey(t *testing.T) []byte {
	t.Helper()
	key := make([]byte, seal.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return key
}

// buildEveryPath builds the base site with files added on every path and
// returns what each made:
//
//   - cold: Run without the cache;
//   - cached: Run with the cache on the base site, then twice on the site
//     with files (the first of them must end like the second);
//   - serve: a new Session's first build;
//   - serve rebuild: a Session that built the base site, rebuilt with the
//     changed paths.
func buildEveryPath(t *testing.T, base map[string]string, files map[string]string) []built {
	t.Helper()
	site := func() string {
		dir := filepath.Join(t.TempDir(), "site")
		testtool.WriteSite(t, dir, base)
		return dir
	}
	var out []built

	cold := site()
	testtool.WriteSite(t, cold, files)
	_, err := Run(Options{Source: cold, Now: testNow})
	out = append(out, built{path: "cold", err: err, dir: filepath.Join(cold, "public")})

	cached, key := site(), newCacheKey(t)
	if _, err := Run(Options{Source: cached, CacheKey: key, Now: testNow}); err != nil {
		t.Fatalf("cached: the base site does not build: %v", err)
	}
	testtool.WriteSite(t, cached, files)
	_, err1 := Run(Options{Source: cached, CacheKey: key, Now: testNow})
	_, err2 := Run(Options{Source: cached, CacheKey: key, Now: testNow})
	if (err1 == nil) != (err2 == nil) || !sameErrors(err1, err2) {
		t.Errorf("cached: two builds of the same site end differently:\nfirst:  %v\nsecond: %v", err1, err2)
	}
	out = append(out, built{path: "cached", err: err2, dir: filepath.Join(cached, "public")})

	_, mem, err := NewSession(Options{Source: cold, Now: testNow}).Build(nil)
	b := built{path: "serve", err: err}
	if err == nil {
		b.dir = memoryToDisk(t, mem)
	}
	out = append(out, b)

	again := site()
	s := NewSession(Options{Source: again, Now: testNow})
	if _, _, err := s.Build(nil); err != nil {
		t.Fatalf("serve: the base site does not build: %v", err)
	}
	testtool.WriteSite(t, again, files)
	_, mem, err = s.Build(changedPaths(files))
	b = built{path: "serve rebuild", err: err}
	if err == nil {
		b.dir = memoryToDisk(t, mem)
	}
	out = append(out, b)
	return out
}

// randomSlug is the random slug that an error suggests for a restricted
// page without one: a new one every time, not a difference between paths.
var randomSlug = regexp.MustCompile(`"slug: r-[a-z0-9]{10}"`)

// sameErrors reports whether two build errors name the same problems.
func sameErrors(a, b error) bool {
	norm := func(err error) []string {
		lines := errorLines(err)
		for i, l := range lines {
			lines[i] = randomSlug.ReplaceAllString(l, `"slug: r-…"`)
		}
		slices.Sort(lines)
		return lines
	}
	return slices.Equal(norm(a), norm(b))
}

// sameOutcome checks that every path refused with the same errors, or
// that every path published the same site. It reports whether they
// agree, and the error they refused with, or nil.
func sameOutcome(t *testing.T, what string, paths []built, readers []age.Identity) (bool, error) {
	t.Helper()
	first := paths[0]
	agree := true
	for _, p := range paths[1:] {
		if (p.err == nil) != (first.err == nil) || !sameErrors(p.err, first.err) {
			agree = false
		}
	}
	if !agree {
		var b strings.Builder
		for _, p := range paths {
			fmt.Fprintf(&b, "\n%s: ", p.path)
			if p.err == nil {
				b.WriteString("built")
				if c := canaries(testtool.Tree(t, p.dir)); len(c) > 0 {
					fmt.Fprintf(&b, ", leaking %s", strings.Join(c, "; "))
				}
			} else {
				fmt.Fprintf(&b, "refused:\n  %s", strings.ReplaceAll(p.err.Error(), "\n", "\n  "))
			}
		}
		t.Errorf("%s: the paths disagree:%s", what, b.String())
		return false, nil
	}
	if first.err != nil {
		return true, first.err
	}
	var leaked []string // what the first path leaked
	for i, p := range paths {
		c := canaries(testtool.Tree(t, p.dir))
		switch {
		case len(c) == 0:
		case i > 0 && slices.Equal(c, leaked):
			t.Errorf("%s: %s build leaked as the %s build did", what, p.path, first.path)
		default:
			t.Errorf("%s: %s build leaked:\n%s", what, p.path, strings.Join(c, "\n"))
		}
		if i == 0 {
			leaked = c
		}
	}
	for _, p := range paths[1:] {
		samePublished(t, fmt.Sprintf("%s: %s vs %s", what, p.path, first.path), p.dir, first.dir, readers)
	}
	return true, nil
}

// samePublished checks that two outputs are the same site: every page
// byte for byte once packet names are hidden, as many packets and
// keyrings, and the same readable copy for readers of every passage.
func samePublished(t *testing.T, what, a, b string, readers []age.Identity) {
	t.Helper()
	ta, tb := testtool.Tree(t, a), testtool.Tree(t, b)
	plain := func(tree map[string][]byte) (map[string][]byte, int, int) {
		out, packets, keyrings := map[string][]byte{}, 0, 0
		for p, d := range tree {
			switch {
			case strings.HasPrefix(p, format.KeyringDir+"/"):
				keyrings++
			case strings.HasPrefix(p, "packets/"):
				packets++
			case p != "SHA256SUMS":
				out[p] = anyPacket(d)
			}
		}
		return out, packets, keyrings
	}
	pa, na, ka := plain(ta)
	pb, nb, kb := plain(tb)
	for _, p := range slices.Sorted(maps.Keys(pa)) {
		if e, ok := pb[p]; !ok {
			t.Errorf("%s: %s only in the first", what, p)
		} else if !bytes.Equal(pa[p], e) {
			t.Errorf("%s: %s differs:\n%s\n%s", what, p, whereDiffers(pa[p], e), whereDiffers(e, pa[p]))
		}
	}
	for _, p := range slices.Sorted(maps.Keys(pb)) {
		if _, ok := pa[p]; !ok {
			t.Errorf("%s: %s only in the second", what, p)
		}
	}
	if na != nb || ka != kb {
		t.Errorf("%s: %d packets and %d keyrings, against %d and %d", what, na, ka, nb, kb)
	}
	if na == 0 {
		return
	}
	oa, ob := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	ra, err := open.Site(a, oa, readers, builtSums(t, a))
	if err != nil {
		t.Fatalf("%s: opening the first: %v", what, err)
	}
	rb, err := open.Site(b, ob, readers, builtSums(t, b))
	if err != nil {
		t.Fatalf("%s: opening the second: %v", what, err)
	}
	if ra.NotForYou != 0 || rb.NotForYou != 0 || ra.Opened != rb.Opened || ra.Opened == 0 {
		t.Errorf("%s: opened %d passages (%d not for the readers), against %d (%d)", what, ra.Opened, ra.NotForYou, rb.Opened, rb.NotForYou)
	}
	ca, cb := testtool.Tree(t, oa), testtool.Tree(t, ob)
	delete(ca, ".conclave-opened")
	delete(cb, ".conclave-opened")
	delete(ca, open.RecordFile) // digests of the keys that opened the copy
	delete(cb, open.RecordFile)
	for _, p := range slices.Sorted(maps.Keys(ca)) {
		if d, e := anyPacket(ca[p]), anyPacket(cb[p]); !bytes.Equal(d, e) {
			t.Errorf("%s: opened %s differs:\n%s\n%s", what, p, whereDiffers(d, e), whereDiffers(e, d))
		}
	}
	if len(ca) != len(cb) {
		t.Errorf("%s: the opened copies hold %d and %d files", what, len(ca), len(cb))
	}
}

// whereDiffers shows a where it first differs from b.
func whereDiffers(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return fmt.Sprintf("%q", a[max(0, i-80):min(len(a), i+80)])
}

// Every site, accepted or refused, ends the same way on every path that
// builds it: a cold build, a cached build that reuses pages and packets,
// and serve's session, first build or rebuild. A rule that holds on one
// path and not another is a bug (DESIGN.md §2).
func TestOnePath(t *testing.T) {
	ids := mistakeIdentities(t)
	readers := []age.Identity{ids["alice"], ids["bob"], ids["carol"]}
	base := mistakeBase(ids)
	for _, m := range append(mistakes(), onePathSites()...) {
		t.Run("site/"+m.name, func(t *testing.T) {
			t.Parallel()
			paths := buildEveryPath(t, base, m.allFiles())
			agree, err := sameOutcome(t, m.name, paths, readers)
			switch {
			case !agree:
				t.Errorf("%s (%s): want %s on every path", m.name, m.why, m.want)
			case err == nil && m.want == refuse:
				t.Errorf("%s: every path built; want an error at %s saying %q", m.name, m.at, m.msg)
			case err != nil && m.want == publish:
				t.Errorf("%s: every path refused; want it published:\n%v", m.name, err)
			case err != nil:
				if p := checkRefusal(m, err); p != "" {
					t.Errorf("%s: %s", m.name, p)
				}
			}
		})
	}
	t.Run("edits", testEdits)
}

// mutationBase is an accepted site that mutations turn into refused ones:
// a page whose block links a file that a public page links too, a section
// of restricted pages with an intro, and a restricted bundle.
func mutationBase(ids map[string]*age.X25519Identity) map[string]string {
	files := mistakeBase(ids)
	maps.Copy(files, map[string]string{
		"content/b/m.md":           page("Mixed", "Public.", "", "::: restricted to=board tlp=amber", "See [the log](shared.txt) canarymb1.", ":::"),
		"content/b/n.md":           page("Public log", "The [shared log](shared.txt)."),
		"content/b/shared.txt":     "public log\n",
		"content/deals/_index.md":  page("Deals", "Deals we are working on."),
		"content/deals/x.md":       md(append(restrictedFront("Deal canarymb2", "r-mb"), "", "Body canarymb3.")...),
		"content/b/plans/index.md": md(append(restrictedFront("Plans canarymb4", "r-pl"), "", "Body canarymb5.")...),
	})
	return files
}

// A site that builds, then changes into one that must be refused, is
// refused by a cached build that reuses the unchanged pages and by a
// session's rebuild that reads only the changed paths, with the errors of
// a cold build of the changed site: the reuse paths apply the same checks.
func testEdits(t *testing.T) {
	t.Parallel()
	ids := mistakeIdentities(t)
	base := mutationBase(ids)
	mutations := []struct {
		name    string
		why     string
		write   map[string]string
		remove  []string
		at, msg string
		// sealed: the edit adds an attachment, which every path seals
		// and no published build holds at its output path, gone.
		sealed bool
		gone   string
	}{
		{
			name: "restricted link to a new file", why: "the edited page links a new file from its block only",
			write: map[string]string{
				"content/b/m.md":          page("Mixed", "Public.", "", "::: restricted to=board tlp=amber", "See [the log](canarymx1.txt) canarymb1.", ":::"),
				"content/b/canarymx1.txt": "log canarymx2\n",
			},
			sealed: true, gone: "b/canarymx1.txt",
		},
		{
			name: "public link removed", why: "the page with the block is unchanged (reused), but the file's public link is gone: the file is sealed, and the block again",
			write:  map[string]string{"content/b/n.md": page("Public log", "No link any more.")},
			sealed: true, gone: "b/shared.txt",
		},
		{
			name: "blank line before front matter", why: "the restricted page's front matter no longer starts the file",
			write: map[string]string{"content/deals/x.md": "\n" + md(append(restrictedFront("Deal canarymb2", "r-mb"), "", "Body canarymb3.")...)},
			at:    "content/deals/x.md:2:", msg: "front matter",
		},
		{
			name: "section intro removed", why: "the restricted page is unchanged, but its folder has no _index.md any more",
			remove: []string{"content/deals/_index.md"},
			at:     "content/deals/x.md:4:", msg: "_index.md",
		},
		{
			name: "file added to a restricted bundle", why: "no page changed: a file appeared in a restricted bundle's folder, and is sealed",
			write:  map[string]string{"content/b/plans/canarymx3.pdf": "%PDF-1.4 canarymx4\n"},
			sealed: true, gone: "b/plans/canarymx3.pdf",
		},
	}
	for _, mu := range mutations {
		t.Run(mu.name, func(t *testing.T) {
			t.Parallel()
			want := mistake{name: mu.name, why: mu.why, want: refuse, at: mu.at, msg: mu.msg}
			mutate := func(dir string) {
				testtool.WriteSite(t, dir, mu.write)
				for _, p := range mu.remove {
					if err := os.Remove(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
						t.Fatal(err)
					}
				}
			}
			site := func() string {
				dir := filepath.Join(t.TempDir(), "site")
				testtool.WriteSite(t, dir, base)
				return dir
			}

			cold := site()
			mutate(cold)
			_, coldErr := Run(Options{Source: cold})

			cached, key := site(), newCacheKey(t)
			if _, err := Run(Options{Source: cached, CacheKey: key}); err != nil {
				t.Fatalf("the site does not build before the edit: %v", err)
			}
			out := filepath.Join(cached, "public")
			before := testtool.Tree(t, out)
			mutate(cached)
			_, cachedErr := Run(Options{Source: cached, CacheKey: key})

			served := site()
			s := NewSession(Options{Source: served})
			if _, _, err := s.Build(nil); err != nil {
				t.Fatalf("serve: the site does not build before the edit: %v", err)
			}
			mutate(served)
			_, _, serveErr := s.Build(append(changedPaths(mu.write), mu.remove...))

			if mu.sealed {
				for _, r := range []struct {
					path string
					err  error
				}{{"cold", coldErr}, {"cached", cachedErr}, {"serve rebuild", serveErr}} {
					if r.err != nil {
						t.Errorf("%s (%s): the %s build refused the edit: %v", mu.name, mu.why, r.path, r.err)
					}
				}
				for _, out := range []string{filepath.Join(cold, "public"), out} {
					tree := testtool.Tree(t, out)
					if c := canaries(tree); len(c) > 0 {
						t.Errorf("%s: %s leaked:\n%s", mu.name, out, strings.Join(c, "\n"))
					}
					if _, ok := tree[mu.gone]; ok {
						t.Errorf("%s: %s holds %s in clear", mu.name, out, mu.gone)
					}
				}
				return
			}
			for _, r := range []struct {
				path string
				err  error
			}{{"cold", coldErr}, {"cached", cachedErr}, {"serve rebuild", serveErr}} {
				if r.err == nil {
					t.Errorf("%s (%s): the %s build accepted the edit; want an error at %s saying %q", mu.name, mu.why, r.path, mu.at, mu.msg)
					continue
				}
				if p := checkRefusal(want, r.err); p != "" {
					t.Errorf("%s (%s): %s build: %s", mu.name, mu.why, r.path, p)
				}
			}
			if coldErr != nil && cachedErr != nil && !sameErrors(coldErr, cachedErr) {
				t.Errorf("%s: the cached build's errors differ from the cold build's:\ncached: %v\ncold:   %v", mu.name, cachedErr, coldErr)
			}
			if coldErr != nil && serveErr != nil && !sameErrors(coldErr, serveErr) {
				t.Errorf("%s: the session's errors differ from the cold build's:\nserve: %v\ncold:  %v", mu.name, serveErr, coldErr)
			}
			if cachedErr != nil {
				sameTree(t, mu.name+": public/ after the refused cached build", before, testtool.Tree(t, out))
			} else if c := canaries(testtool.Tree(t, out)); len(c) > 0 {
				t.Errorf("%s: the cached build leaked:\n%s", mu.name, strings.Join(c, "\n"))
			}
		})
	}
}
