package corpus

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/testtool"
)

// treeHash hashes a tree: every file's path, size and bytes, in path order.
func treeHash(files map[string][]byte) string {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "%s %d\n", name, len(files[name]))
		h.Write(files[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestZeroOptionsUnchanged pins the corpus as it was before recipients and
// restricted blocks existed, so that benchmarks stay comparable: the hashes
// were computed on that code.
func TestZeroOptionsUnchanged(t *testing.T) {
	for _, c := range []struct {
		opt  Options
		hash string
	}{
		{Options{Pages: 200, Seed: 1}, "5e7ec2af6b85631be44fe33ffe364a7f175b84031c0bbdc2df295eeb45c260d5"},
		{Options{Pages: 60, Seed: 4, Sections: 3}, "583150dcd7e72ed0a17993d5a5eac80c05040c06fd1ef3faac42722db1e698eb"},
		// Canaries without recipients change nothing.
		{Options{Pages: 60, Seed: 4, Sections: 3, Canaries: true}, "583150dcd7e72ed0a17993d5a5eac80c05040c06fd1ef3faac42722db1e698eb"},
	} {
		dir := writeDir(t, c.opt)
		if got := treeHash(testtool.Tree(t, filepath.Join(dir, "content"))); got != c.hash {
			t.Errorf("%+v: content/ hashes to %s, want %s", c.opt, got, c.hash)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != "content" {
			t.Errorf("%+v: DIR holds %v, want content/ only", c.opt, entries)
		}
	}
}

func TestRestrictedOptionErrors(t *testing.T) {
	for _, opt := range []Options{
		{Pages: 5, Restricted: 0.3},
		{Pages: 5, Recipients: -1},
		{Pages: 5, Recipients: 5, Restricted: 1.5},
		{Pages: 5, Recipients: 5, Restricted: -0.1},
		{Pages: 5, Recipients: 5, Restricted: math.NaN()},
	} {
		if err := Write(t.TempDir(), opt); err == nil {
			t.Errorf("Write with %+v succeeded", opt)
		}
	}
	for _, name := range []string{"keys", IdentitiesDir, BlocksFile} {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := Write(dir, Options{Pages: 5, Recipients: 3, Restricted: 0.5}); err == nil {
			t.Errorf("Write into a folder with %s succeeded", name)
		}
	}
}

// fullTree reads every file under dir.
func fullTree(t *testing.T, dir string) map[string][]byte { return testtool.Tree(t, dir) }

func TestRestrictedSameOptionsSameFiles(t *testing.T) {
	opt := Options{Pages: 150, Seed: 7, Recipients: 60, Restricted: 0.4, Canaries: true}
	a, b := fullTree(t, writeDir(t, opt)), fullTree(t, writeDir(t, opt))
	if !sameTree(a, b) {
		t.Fatal("two corpora written with the same options differ")
	}
	opt.Seed = 8
	if c := fullTree(t, writeDir(t, opt)); treeHash(c) == treeHash(a) {
		t.Fatal("seeds 7 and 8 gave the same corpus")
	}
}

var (
	canaryRE      = regexp.MustCompile(CanaryPattern)
	canaryText    = regexp.MustCompile(` (?:(?:#|//) )?` + CanaryPattern)
	openFence     = regexp.MustCompile(`^::: restricted to=([a-z0-9][a-z0-9._-]*(?:,[a-z0-9][a-z0-9._-]*)*) tlp=(amber|amber\+strict|red)$`)
	tableDelim    = regexp.MustCompile(`^\| :?-+:? (\| :?-+:? )*\|$`)
	fullCanary    = regexp.MustCompile(`^` + CanaryPattern + `$`)
	recipientName = regexp.MustCompile(`^r-[0-9]{4}$`)
)

// expand returns the recipients of names, given groups.toml.
func expand(groups map[string][]string, names []string) []string {
	var out []string
	for _, n := range names {
		if m, ok := groups[n]; ok {
			out = append(out, expand(groups, m)...)
		} else {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// restrictedStats is what checkRestricted counts.
type restrictedStats struct {
	blocks, pages, audiences int
	lists, tables, code      int
}

// checkRestricted checks a corpus written with opt against its listing and
// the contract of the package doc, and returns what it counted.
func checkRestricted(t *testing.T, dir string, opt Options) restrictedStats {
	t.Helper()
	files := testtool.Tree(t, filepath.Join(dir, "content"))
	groups, _ := readGroups(t, dir)
	blocks, err := ReadBlocks(dir)
	if err != nil {
		t.Fatal(err)
	}
	var st restrictedStats
	st.blocks = len(blocks)

	byPage := map[string][]Block{}
	audiences := map[string]bool{}
	listed := map[string]Block{}
	for i, b := range blocks {
		if i > 0 && (path.Base(b.Page) < path.Base(blocks[i-1].Page) || b.Page == blocks[i-1].Page && b.Line <= blocks[i-1].End) {
			t.Errorf("blocks.json: block %d is out of order", i)
		}
		byPage[b.Page] = append(byPage[b.Page], b)
		audiences[strings.Join(b.To, ",")] = true
		for _, c := range b.Canaries {
			if _, dup := listed[c]; dup || !fullCanary.MatchString(c) {
				t.Errorf("blocks.json: canary %q repeated or malformed", c)
			}
			listed[c] = b
		}
		if !opt.Canaries && len(b.Canaries) > 0 {
			t.Errorf("%s:%d: canaries without Options.Canaries", b.Page, b.Line)
		}
	}
	st.pages, st.audiences = len(byPage), len(audiences)
	if want := int(math.Round(opt.Restricted * float64(opt.Pages))); len(byPage) != want {
		t.Errorf("%d briefings have blocks, want %d", len(byPage), want)
	}

	// Every canary in content/ is listed, occurs once, and in its block.
	found := map[string]bool{}
	for name, data := range files {
		for _, c := range canaryRE.FindAllString(string(data), -1) {
			if found[c] {
				t.Errorf("content/%s: canary %s occurs twice", name, c)
			}
			found[c] = true
			if b, ok := listed[c]; !ok || b.Page != "content/"+name {
				t.Errorf("content/%s: canary %s is not listed for this page", name, c)
			}
		}
	}
	if len(found) != len(listed) {
		t.Errorf("%d canaries in content/, %d listed", len(found), len(listed))
	}

	for name, data := range files {
		if name == "_index.md" {
			continue
		}
		page := "content/" + name
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		bs := byPage[page]
		label := strings.TrimPrefix(lines[5], "tlp: ")
		strictest := "clear"
		if len(bs) == 0 && label != "clear" && label != "green" {
			t.Errorf("%s: label %s without restricted blocks", page, label)
		}
		if len(bs) > 3 {
			t.Errorf("%s: %d blocks, want 1 to 3", page, len(bs))
		}
		inBlock := map[int]*Block{} // line number → its block, fences included
		for i := range bs {
			b := &bs[i]
			if slices.Index(tlpOrder, b.TLP) > slices.Index(tlpOrder, strictest) {
				strictest = b.TLP
			}
			for l := b.Line; l <= b.End; l++ {
				inBlock[l] = b
			}
			checkBlock(t, page, lines, b, groups, opt, &st)
		}
		if slices.Index(tlpOrder, label) < slices.Index(tlpOrder, strictest) {
			t.Errorf("%s: label %s is less strict than a block's %s", page, label, strictest)
		}

		// No ":::" line but the listed fences, and no fence in code.
		inCode := false
		for i, l := range lines {
			n := i + 1
			if strings.HasPrefix(l, "```") {
				inCode = !inCode
				continue
			}
			if strings.HasPrefix(l, ":::") {
				b := inBlock[n]
				if b == nil || n != b.Line && n != b.End {
					t.Errorf("%s:%d: unlisted fence %q", page, n, l)
				} else if inCode {
					t.Errorf("%s:%d: fence inside a code block", page, n)
				}
			}
		}
	}
	return st
}

// checkBlock checks one listed block against the lines of its file.
func checkBlock(t *testing.T, page string, lines []string, b *Block, groups map[string][]string, opt Options, st *restrictedStats) {
	t.Helper()
	at := fmt.Sprintf("%s:%d", page, b.Line)
	if b.Line < 9 || b.End > len(lines) || b.End-b.Line < 4 {
		t.Errorf("%s: block ends on line %d of %d", at, b.End, len(lines))
		return
	}
	m := openFence.FindStringSubmatch(lines[b.Line-1])
	if m == nil || m[1] != strings.Join(b.To, ",") || m[2] != b.TLP {
		t.Errorf("%s: opening line %q does not match the listing (to=%s tlp=%s)", at, lines[b.Line-1], b.To, b.TLP)
	}
	if lines[b.End-1] != ":::" {
		t.Errorf("%s: line %d is %q, want the closing :::", at, b.End, lines[b.End-1])
	}
	if lines[b.Line-2] != "" && !strings.HasPrefix(lines[b.Line-2], ":::") || b.End < len(lines) && lines[b.End] != "" {
		t.Errorf("%s: no blank line around the block", at)
	}
	if got := expand(groups, b.To); !slices.Equal(got, b.Recipients) {
		t.Errorf("%s: recipients %q, want %q", at, b.Recipients, got)
	}
	var nGroups, nPeople int
	for _, name := range b.To {
		if _, ok := groups[name]; ok {
			nGroups++
		} else if recipientName.MatchString(name) && name <= fmt.Sprintf("r-%04d", opt.Recipients) {
			nPeople++
		} else {
			t.Errorf("%s: unknown name %q", at, name)
		}
	}
	valid := map[string]bool{
		"amber":        nPeople == 0 && (nGroups == 1 || nGroups == 2),
		"amber+strict": nGroups == 1 && (nPeople == 1 || nPeople == 2),
		"red":          nGroups == 0 && nPeople >= 1 && nPeople <= 3,
	}
	if !valid[b.TLP] {
		t.Errorf("%s: tlp=%s for %d groups and %d recipients", at, b.TLP, nGroups, nPeople)
	}

	body := lines[b.Line : b.End-1]
	if body[0] != "### "+b.Heading {
		t.Errorf("%s: first line %q, want the heading %q", at, body[0], b.Heading)
	}
	words, elems, inCode := 0, 0, false
	var hasList, hasTable, hasCode bool
	for i, l := range body {
		n := b.Line + 1 + i
		if strings.HasPrefix(l, "```") {
			inCode = !inCode
			hasCode = true
			continue
		}
		if l == "" || !inCode && tableDelim.MatchString(l) {
			continue
		}
		for _, bad := range []string{":::", "[^", "](", "]:", "://", "www.", "<", "#### "} {
			if !inCode && strings.Contains(l, bad) {
				t.Errorf("%s:%d: %q in a block: %s", page, n, bad, l)
			}
		}
		cs := canaryRE.FindAllString(l, -1)
		want := 1
		if !inCode && strings.HasPrefix(l, "| ") {
			hasTable = true
			want = strings.Count(l, " | ") + 1
		}
		hasList = hasList || !inCode && strings.HasPrefix(l, "- ")
		if opt.Canaries && len(cs) != want {
			t.Errorf("%s:%d: %d canaries, want %d: %s", page, n, len(cs), want, l)
		}
		elems += len(cs)
		plain := canaryText.ReplaceAllString(l, "")
		if !inCode {
			plain = strings.TrimPrefix(strings.TrimPrefix(strings.ReplaceAll(plain, "|", " "), "### "), "- ")
		}
		words += countWords(plain)
	}
	if inCode {
		t.Errorf("%s: code block not closed", at)
	}
	if words < blockMin || words > blockMax {
		t.Errorf("%s: %d words, want %d to %d", at, words, blockMin, blockMax)
	}
	if opt.Canaries && elems != len(b.Canaries) {
		t.Errorf("%s: %d canaries in the block, %d listed", at, elems, len(b.Canaries))
	}
	st.lists += b2i(hasList)
	st.tables += b2i(hasTable)
	st.code += b2i(hasCode)
}

func TestRestricted(t *testing.T) {
	opt := Options{Pages: 1000, Seed: 3, Recipients: 200, Restricted: 0.3, Canaries: true}
	st := checkRestricted(t, writeDir(t, opt), opt)
	if st.blocks < 500 || st.blocks > 700 {
		t.Errorf("%d blocks in 300 briefings, want about 600", st.blocks)
	}
	if st.audiences < 20 || st.audiences > 200 {
		t.Errorf("%d distinct audiences, want some tens", st.audiences)
	}
	for what, n := range map[string]int{"a list": st.lists, "a table": st.tables, "code": st.code} {
		if n < st.blocks/10 {
			t.Errorf("%d of %d blocks have %s", n, st.blocks, what)
		}
	}
}

// TestRestrictedSmall covers keyrings too small for every kind of audience,
// and every briefing restricted.
func TestRestrictedSmall(t *testing.T) {
	for _, opt := range []Options{
		{Pages: 40, Seed: 1, Recipients: 1, Restricted: 1},
		{Pages: 40, Seed: 2, Recipients: 2, Restricted: 1, Canaries: true},
		{Pages: 40, Seed: 3, Recipients: 31, Restricted: 0.5},
		{Pages: 1, Seed: 4, Recipients: 3, Restricted: 1, Canaries: true},
		{Pages: 10, Seed: 5, Recipients: 3, Restricted: 0},
	} {
		t.Run(fmt.Sprintf("%d-%d-%v", opt.Pages, opt.Recipients, opt.Restricted), func(t *testing.T) {
			checkRestricted(t, writeDir(t, opt), opt)
		})
	}
}

// stripBlocks returns a briefing without its restricted blocks, the blank
// line each brought with it, and its front matter's label.
func stripBlocks(data []byte, blocks []Block) string {
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	drop := map[int]bool{5: true}
	for _, b := range blocks {
		from, to := b.Line-1, b.End // 0-based, the blank line after included
		if b.End == len(lines) {
			from, to = b.Line-2, b.End-1 // at the end: the blank line before
		}
		for i := from; i <= to; i++ {
			drop[i] = true
		}
	}
	var out []string
	for i, l := range lines {
		if !drop[i] {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// TestRestrictedKeepsPublicText checks that blocks are only added: without
// them and the raised label, every file is the corpus without recipients;
// and that canaries are only added to blocks.
func TestRestrictedKeepsPublicText(t *testing.T) {
	base := write(t, Options{Pages: 300, Seed: 12})
	opt := Options{Pages: 300, Seed: 12, Recipients: 50, Restricted: 0.5}
	dir := writeDir(t, opt)
	files := testtool.Tree(t, filepath.Join(dir, "content"))
	blocks, err := ReadBlocks(dir)
	if err != nil {
		t.Fatal(err)
	}
	byPage := map[string][]Block{}
	for _, b := range blocks {
		byPage[b.Page] = append(byPage[b.Page], b)
	}
	for name, data := range files {
		want, got := string(base[name]), string(data)
		if name != "_index.md" {
			want, got = stripBlocks(base[name], nil), stripBlocks(data, byPage["content/"+name])
		}
		if got != want {
			t.Errorf("content/%s differs from the corpus without recipients beyond its blocks", name)
		}
	}

	opt.Canaries = true
	dir = writeDir(t, opt)
	for name, data := range testtool.Tree(t, filepath.Join(dir, "content")) {
		if got := canaryText.ReplaceAllString(string(data), ""); got != string(files[name]) {
			t.Errorf("content/%s differs beyond its canaries", name)
		}
	}
	withCanaries, err := ReadBlocks(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(withCanaries) != len(blocks) {
		t.Fatalf("%d blocks with canaries, %d without", len(withCanaries), len(blocks))
	}
	for i, b := range withCanaries {
		b.Canaries = nil
		b.Heading = canaryText.ReplaceAllString(b.Heading, "")
		if !slices.Equal(b.To, blocks[i].To) || b.Page != blocks[i].Page || b.Heading != blocks[i].Heading {
			t.Errorf("block %d: %+v with canaries, %+v without", i, b, blocks[i])
		}
	}
}
