package open

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// fanOut forges packets that name each other: the first names the second
// fan times, and so on for levels, the last holding leaf. It returns the
// first's path.
func (h *hostile) fanOut(t *testing.T, tag, levels, fan int, leaf string) string {
	t.Helper()
	name := func(i int) string { return fmt.Sprintf("%08x%024x", tag, i) }
	h.forge(t, name(levels), leaf)
	for i := levels - 1; i >= 0; i-- {
		h.forge(t, name(i), strings.Repeat(placeholder("packets/"+name(i+1)+".age"), fan))
	}
	return "packets/" + name(0) + ".age"
}

// TestPageStreamed: a page that expands to 16 MiB (256 passages of 64 KiB,
// one packet named 16 times by a packet named 16 times) is written as it is
// expanded: opening it allocates a small part of what it writes, not
// several copies of the expanded page.
func TestPageStreamed(t *testing.T) {
	h := newHostile(t)
	leaf := "<p>" + strings.Repeat("x", 64<<10) + "</p>\n"
	h.setPacket(t, h.fanOut(t, 1, 2, 16, leaf))
	out := filepath.Join(t.TempDir(), "out")
	var rep *Report
	var err error
	testtool.BoundedAllocNoHang(t, 8<<20, func() { rep, err = Site(h.site, out, h.ids, nil) })
	if err != nil {
		t.Fatal(err)
	}
	page := readFile(t, filepath.Join(out, "briefings", "x", "index.html"))
	if n := bytes.Count(page, []byte("<p>xxx")); n != 256 || rep.Opened < 1+16+256 {
		t.Errorf("%d leaves in the page, %d passages opened", n, rep.Opened)
	}
}

// TestHostileSiteBudget: the same page many times over, each expanding to
// the most one page may (100,000 passages), stops at the site's bound:
// the rest of the site stays sealed, and one problem says so, not one for
// each page.
func TestHostileSiteBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a million passages")
	}
	h := newHostile(t)
	p := h.fanOut(t, 2, 2, 400, "<p>leaf</p>\n")
	h.setPacket(t, p)
	page := readFile(t, h.page)
	const pages = maxSitePassages/maxPassages + 3
	for i := range pages {
		if err := os.WriteFile(filepath.Join(h.site, "briefings", fmt.Sprintf("copy%02d.html", i)), page, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep, files := h.partialOpen(t, nil, siteExhausted)
	if n := strings.Count(problemText(h.site, rep.Problems), "whole site"); n != 1 {
		t.Errorf("%d problems about the site's bound, want one", n)
	}
	if rep.Opened > maxSitePassages {
		t.Errorf("opened %d passages, more than %d", rep.Opened, maxSitePassages)
	}
	sealed := 0
	for name, data := range files {
		if strings.HasPrefix(name, "briefings/copy") && !bytes.Contains(data, []byte("<p>leaf</p>")) {
			sealed++
		}
	}
	if sealed < 2 {
		t.Errorf("%d pages left sealed, want the last ones", sealed)
	}
}

// TestHostileKeyringKeys: a keyring that holds more than maxKeyringKeys
// keys is refused before its keys are parsed, and so are keyrings that
// would give the reader more than maxReaderKeys in all; the reader's own
// keyring still opens its passages.
func TestHostileKeyringKeys(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keys := func(n int) string { return "# keyring\n" + strings.Repeat(id.String()+"\n", n) }
	t.Run("one keyring", func(t *testing.T) {
		h := newHostile(t)
		ring := format.KeyringDir + "/ffffffffffffffffffffffffffffffff.age"
		os.WriteFile(filepath.Join(h.site, ring), encryptTo(t, keys(maxKeyringKeys+1), h.alice), 0o644)
		rep, files := h.partialOpen(t, nil, ring+": keyring not opened: it holds more than 10000 keys")
		if len(rep.Problems) != 1 || !containsAll(files["briefings/x/index.html"], boardText, aliceText) {
			t.Errorf("report %+v", rep)
		}
	})
	t.Run("in all", func(t *testing.T) {
		h := newHostile(t)
		for _, name := range []string{"fffffffffffffffffffffffffffffffe", "ffffffffffffffffffffffffffffffff"} {
			os.WriteFile(filepath.Join(h.site, format.KeyringDir, name+".age"), encryptTo(t, keys(maxReaderKeys/2+1), h.alice), 0o644)
		}
		rep, _ := h.partialOpen(t, nil, format.KeyringDir+"/ffffffffffffffffffffffffffffffff.age: keyring not opened: it opens, but with the keys of the keyrings opened before it the reader would hold")
		if len(rep.Problems) != 1 || rep.KeyringsOpened != 2 {
			t.Errorf("report %+v", rep)
		}
	})
}

// TestHostileKeyringFolder: a keyrings folder of many stray files reports
// the first maxKeyringProblems and counts the rest in one more warning,
// whether or not the site was verified.
func TestHostileKeyringFolder(t *testing.T) {
	for _, verified := range []bool{true, false} {
		t.Run(fmt.Sprint("verified=", verified), func(t *testing.T) {
			h := newHostile(t)
			var sums Sums
			if verified {
				sums = siteSums(t, h.site)
			}
			const stray = 3 * maxKeyringProblems
			for i := range stray {
				os.WriteFile(filepath.Join(h.site, format.KeyringDir, fmt.Sprintf("%032x.age", i)), nil, 0o644)
			}
			plain, warnings, err := File(filepath.Join(h.site, h.board), h.ids, sums)
			if err != nil || !bytes.Contains(plain, []byte(boardText)) {
				t.Fatalf("File: %v", err)
			}
			if len(warnings) != maxKeyringProblems+1 || !strings.Contains(warnings[len(warnings)-1].Error(), fmt.Sprintf("and %d more keyrings not opened", stray-maxKeyringProblems)) {
				t.Errorf("%d warnings, the last: %v", len(warnings), warnings[len(warnings)-1])
			}
		})
	}
}

// TestHostileLongAttribute: a placeholder whose packet path is a megabyte
// long is reported with the first bytes of it, not all of it.
func TestHostileLongAttribute(t *testing.T) {
	h := newHostile(t)
	long := strings.Repeat("a", 1<<20)
	os.WriteFile(filepath.Join(h.site, "briefings", "long.html"), []byte(placeholder(long)), 0o644)
	rep, _ := h.partialOpen(t, nil, `briefings/long.html: sealed passage not opened: "aaaa`, "… (1048576 bytes) is not a packet path")
	for _, p := range rep.Problems {
		if len(p.Msg) > 2*maxQuote+200 {
			t.Errorf("a problem of %d bytes: %.300s…", len(p.Msg), p.Msg)
		}
	}
}
