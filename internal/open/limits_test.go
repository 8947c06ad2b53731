package open

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// measure runs f and returns the bytes it allocated, freed or not, and
// fails the test if f hangs (a named pipe must never be waited on): see
// [testtool.Allocated]. The fuzzers use it.
func measure(t *testing.T, f func()) uint64 {
	t.Helper()
	return testtool.Allocated(t, f)
}

// siteSums returns the sums of the site's own SHA256SUMS, as if verified.
func siteSums(t testing.TB, site string) Sums {
	t.Helper()
	entries, err := manifest.Parse(manifest.Name, readFile(t, filepath.Join(site, manifest.Name)))
	if err != nil {
		t.Fatal(err)
	}
	return VerifiedSums(entries)
}

// Ways a hostile copy replaces a file.
func sparseFile(size int64) func(t *testing.T, p string) {
	return func(t *testing.T, p string) { testtool.SparseFile(t, p, size) }
}

func linkTo(target string) func(t *testing.T, p string) {
	return func(t *testing.T, p string) {
		os.Remove(p)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
}

func namedPipe(t *testing.T, p string) {
	os.Remove(p)
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
}

// grown appends to the file: what was verified is no longer what is there.
func grown(t *testing.T, p string) {
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte("<p>injected</p>"), 1000))
	f.Close()
}

var hostileFiles = []struct {
	name     string
	change   func(*testing.T, string)
	verified bool   // with the verified manifest
	want     string // in the problem
}{
	{"1.5 GiB", sparseFile(3 << 29), false, "too large: 1610612736 bytes (1.5 GiB), more than a passage's packet ever holds (64 MiB at most): refused"},
	{"3 GiB", sparseFile(3 << 30), false, "too large: 3221225472 bytes (3.0 GiB), more than a passage's packet ever holds (64 MiB at most): refused"},
	{"3 GiB verified", sparseFile(3 << 30), true, "too large: 3221225472 bytes (3.0 GiB)"},
	{"just over the limit", sparseFile(manifest.MaxPacket + 1), false, "too large: 67108865 bytes (64.0 MiB)"},
	{"link to /dev/zero", linkTo("/dev/zero"), false, "not a regular file (a symbolic link)"},
	{"named pipe", namedPipe, false, "not a regular file (a named pipe)"},
	{"grown after verification", grown, true, ErrChanged.Error()},
}

// TestHostilePackets: a packet that is huge, a link to /dev/zero, a named
// pipe, or that grew after verification is refused without being read
// whole, within a few MiB and without blocking; the passage stays sealed,
// the problem names it, and everything else is opened. (The packet here is
// carol's, which alice's reader tries and cannot open: alice's own
// passages still open.)
func TestHostilePackets(t *testing.T) {
	for _, tt := range hostileFiles {
		t.Run(tt.name, func(t *testing.T) {
			h := newHostile(t)
			carol := packets(readFile(t, h.page))[1]
			var sums Sums
			if tt.verified {
				sums = siteSums(t, h.site)
			}
			tt.change(t, filepath.Join(h.site, carol))
			var rep *Report
			var files map[string][]byte
			testtool.BoundedAllocNoHang(t, 32<<20, func() {
				rep, files = h.partialOpen(t, sums, "briefings/x/index.html: sealed passage not opened: "+carol+": "+tt.want)
			})
			page := files["briefings/x/index.html"]
			if !containsAll(page, boardText, aliceText) || rep.Opened != 2 || rep.Failed != 1 || len(rep.Problems) != 1 {
				t.Errorf("alice's passages were not all opened: %+v", rep)
			}
			if bytes.Contains(page, []byte("injected")) {
				t.Errorf("content added after verification was used")
			}

			// Alone, as conclave open -i ID FILE.age reads it.
			var err error
			testtool.BoundedAllocNoHang(t, 8<<20, func() { _, _, err = File(filepath.Join(h.site, carol), h.ids, sums) })
			if err == nil || !strings.Contains(err.Error(), filepath.Join(h.site, carol)+": "+tt.want) {
				t.Errorf("File: %v\nwant %q", err, tt.want)
			}
		})
	}
}

// TestHostileKeyrings: keyrings that are huge, links, named pipes, changed
// after verification, or that age refuses (more than 1,024 stanzas: a
// recipient with too many keys) are each a problem naming the keyring, and
// the reader's own keyring still opens everything it holds.
func TestHostileKeyrings(t *testing.T) {
	h := newHostile(t)
	sums := siteSums(t, h.site)
	dir := filepath.Join(h.site, "packets", "keyrings")
	add := func(name string, data []byte) string {
		p := filepath.Join(dir, name+".age")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A keyring encrypted to alice and 1,024 more keys: age makes it, and
	// refuses to read it.
	add("a1025", encryptTo(t, "# keyring\n", append([]string{h.alice}, randomRecipients(t, 1024)...)...))
	sparseFile(3<<30)(t, add("b-huge", nil))
	linkTo("/dev/zero")(t, add("c-zero", nil))
	namedPipe(t, add("d-pipe", nil))
	// Each listed as verified; the last is then changed.
	for _, name := range []string{"a1025", "b-huge", "c-zero", "d-pipe"} {
		sums[format.KeyringDir+"/"+name+".age"] = [32]byte{}
	}
	own := keyrings(t, h.site)
	var mine string
	for _, k := range own {
		if _, _, err := File(k, h.ids, nil); err == nil {
			mine = k
		}
	}
	ring := format.KeyringDir + "/"
	want := []string{
		ring + "a1025.age: keyring not opened: ",
		"header contains more than 1024 recipient stanzas",
		ring + "b-huge.age: keyring not opened: too large: 3221225472 bytes (3.0 GiB), more than a keyring ever holds (16 MiB at most): refused",
		ring + "c-zero.age: keyring not opened: not a regular file (a symbolic link)",
		ring + "d-pipe.age: keyring not opened: not a regular file (a named pipe)",
	}
	var rep *Report
	var files map[string][]byte
	testtool.BoundedAllocNoHang(t, 32<<20, func() { rep, files = h.partialOpen(t, nil, want...) })
	if rep.KeyringsOpened != 1 || len(rep.Problems) != 4 || !containsAll(files["briefings/x/index.html"], boardText, aliceText) {
		t.Errorf("report %+v", rep)
	}
	// Verified, the one listed with another digest is refused too.
	grown(t, mine)
	_, err := Site(h.site, filepath.Join(t.TempDir(), "out"), h.ids, sums)
	if err == nil || !strings.Contains(err.Error(), "none of the") {
		t.Fatalf("alice's keyring changed after verification: %v", err)
	}
	text := err.Error()
	for _, w := range append(want[2:], ring+filepath.Base(mine)+": keyring not opened: "+ErrChanged.Error(), "could not be read or tried (above)") {
		if !strings.Contains(text, w) {
			t.Errorf("error:\n%s\nwant %q", text, w)
		}
	}
}

// TestHostileFileWarnings: a packet opened alone opens with the keyrings
// that can be read, and names those that cannot.
func TestHostileFileWarnings(t *testing.T) {
	h := newHostile(t)
	namedPipe(t, filepath.Join(h.site, "packets", "keyrings", "00000000000000000000000000000000.age"))
	plain, warnings, err := File(filepath.Join(h.site, h.board), h.ids, nil)
	if err != nil || !bytes.Contains(plain, []byte(boardText)) {
		t.Fatalf("File: %v", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0].Error(), "00000000000000000000000000000000.age: keyring not opened: not a regular file (a named pipe)") {
		t.Errorf("warnings: %v", warnings)
	}
}

// TestHostilePages: a page that is a named pipe or a link is not copied,
// one too large to look for passages in is copied as it is, and one that
// grew after verification is left out; the rest is opened.
func TestHostilePages(t *testing.T) {
	h := newHostile(t)
	big := filepath.Join(h.site, "briefings", "big.html")
	if err := os.WriteFile(big, []byte(placeholder(h.board)), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(big, os.O_APPEND|os.O_WRONLY, 0)
	f.Truncate(maxPage + 10)
	f.Close()
	namedPipe(t, filepath.Join(h.site, "briefings", "pipe.html"))
	namedPipe(t, filepath.Join(h.site, "briefings", "pipe.css"))
	_, files := h.partialOpen(t, nil,
		"briefings/big.html: sealed passages not opened: too large: 67108874 bytes (64.0 MiB), more than a page with sealed passages ever holds (64 MiB at most): refused; the page is copied as it is",
		"briefings/pipe.html: not copied: not a regular file (a named pipe)",
		"briefings/pipe.css: not copied: not a regular file (a named pipe)",
	)
	if len(files["briefings/big.html"]) != maxPage+10 {
		t.Errorf("the large page was not copied")
	}

	h = newHostile(t)
	sums := siteSums(t, h.site)
	grown(t, h.page)
	grown(t, filepath.Join(h.site, "index.html"))
	css := filepath.Join(h.site, "css", "conclave.css")
	if _, err := os.Stat(css); err != nil {
		t.Fatal(err)
	}
	grown(t, css)
	_, files = h.partialOpen2(t, sums,
		"briefings/x/index.html: not copied: "+ErrChanged.Error(),
		"css/conclave.css: not copied: "+ErrChanged.Error(),
	)
	for _, p := range []string{"briefings/x/index.html", "css/conclave.css", "index.html"} {
		if _, ok := files[p]; ok {
			t.Errorf("%s, changed after verification, was copied", p)
		}
	}
}

// partialOpen2 is partialOpen for a copy without a home page.
func (h *hostile) partialOpen2(t *testing.T, sums Sums, want ...string) (*Report, map[string][]byte) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	rep, err := Site(h.site, out, h.ids, sums)
	var inc *IncompleteError
	if !errors.As(err, &inc) {
		t.Fatalf("Site: %v, want an incomplete copy", err)
	}
	text := problemText(h.site, rep.Problems)
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("problems:\n%s\nwant one holding %q", text, w)
		}
	}
	files := map[string][]byte{}
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(out, p)
			files[filepath.ToSlash(rel)], _ = os.ReadFile(p)
		}
		return nil
	})
	return rep, files
}

// TestHostileManyPlaceholders: a page of thousands of placeholders naming
// packets that are not there costs a thousand tries at most (980 more
// failures, and the one that says the rest were not tried), and reports
// twenty problems and a count, not one line each.
func TestHostileManyPlaceholders(t *testing.T) {
	h := newHostile(t)
	var b strings.Builder
	for i := range 5000 {
		b.WriteString(placeholder("packets/" + strings.Repeat("0", 28) + hex4(i) + ".age"))
	}
	if err := os.WriteFile(filepath.Join(h.site, "briefings", "many.html"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, files := h.partialOpen(t, nil, "briefings/many.html: sealed passage not opened: packets/00000000000000000000000000000000.age: the site does not hold this packet",
		"briefings/many.html: and 981 more problems with sealed passages")
	if len(rep.Problems) != maxPageProblems+1 || rep.Failed != 5000 {
		t.Errorf("%d problems, %d failed", len(rep.Problems), rep.Failed)
	}
	if n := bytes.Count(files["briefings/many.html"], []byte("not-opened")); n != 5000 {
		t.Errorf("%d placeholders marked, want 5000", n)
	}
}

func hex4(i int) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[i>>12&15], digits[i>>8&15], digits[i>>4&15], digits[i&15]})
}

// TestFinder: the placeholder is found whichever writes it is split over.
func TestFinder(t *testing.T) {
	text := []byte(strings.Repeat("x", 100) + format.PlaceholderStart + strings.Repeat("y", 100))
	for size := 1; size <= len(text); size++ {
		f := &finder{needle: []byte(format.PlaceholderStart)}
		for i := 0; i < len(text); i += size {
			f.Write(text[i:min(i+size, len(text))])
		}
		if !f.found {
			t.Errorf("writes of %d bytes: not found", size)
		}
		g := &finder{needle: []byte(format.PlaceholderStart)}
		other := bytes.Replace(text, []byte(format.PlaceholderStart), []byte(`<section class="seale_`), 1)
		for i := 0; i < len(other); i += size {
			g.Write(other[i:min(i+size, len(other))])
		}
		if g.found {
			t.Errorf("writes of %d bytes: found where there is none", size)
		}
	}
}
