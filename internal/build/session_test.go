package build

import (
	"bytes"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// memToDir writes a memory build to a new folder.
func memToDir(t *testing.T, m *output.Memory) string {
	t.Helper()
	files := map[string]string{}
	for _, e := range m.Entries() {
		data, _ := m.Get(e.Path)
		files[e.Path] = string(data)
	}
	return testtool.WriteSite(t, "", files)
}

// After any sequence of edits, what a session serves equals a full memory
// build of the same files: the stale-page bug class of partial
// re-rendering. A failed build in between (a broken edit, then its
// repair) leaves the session serving its last good build.
func TestSessionEqualsFullBuild(t *testing.T) {
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range edits {
			if !yield(k) {
				return
			}
		}
	})
	for _, preview := range []bool{false, true} {
		for seed := range 3 {
			t.Run(fmt.Sprintf("preview=%t/seed=%d", preview, seed), func(t *testing.T) {
				sessionEdits(t, names, seed, preview)
			})
		}
	}
}

func sessionEdits(t *testing.T, names []string, seed int, preview bool) {
	r := mrand.New(mrand.NewPCG(uint64(seed), 11))
	dir, root := editSite(t)
	opt := Options{Source: dir, Preview: preview, Now: testNow}
	sess := NewSession(opt)
	if _, _, err := sess.Build(nil); err != nil {
		t.Fatal(err)
	}
	reusedSome := false
	for step := range 16 {
		name := names[r.IntN(len(names))]
		before := testtool.Tree(t, dir)
		edits[name](t, dir)
		// What a watcher reports: the files that changed, appeared or went.
		changed := treeChanges(before, testtool.Tree(t, dir))
		if r.IntN(4) == 0 { // a broken save, then the good one again
			good, err := os.ReadFile(filepath.Join(dir, "content/briefings/two.md"))
			if err != nil {
				t.Fatal(err)
			}
			write(t, dir, "content/briefings/two.md", "---\ntitle: [unclosed\n---\n")
			if _, _, err := sess.Build([]string{"content/briefings/two.md"}); err == nil {
				t.Fatalf("step %d: a broken page built", step)
			}
			write(t, dir, "content/briefings/two.md", string(good))
			changed = append(changed, "content/briefings/two.md")
		}
		rep, got, err := sess.Build(changed)
		if err != nil {
			t.Fatalf("step %d (%s): session build: %v", step, name, err)
		}
		fullRep, full, err := Memory(opt)
		if err != nil {
			t.Fatalf("step %d (%s): full build: %v", step, name, err)
		}
		if fullRep.Reused != 0 {
			t.Fatalf("the full build reused %d pages", fullRep.Reused)
		}
		reusedSome = reusedSome || rep.Reused > 0
		what := fmt.Sprintf("step %d (%s)", step, name)
		if preview { // nothing sealed: the same bytes
			sameTree(t, what, testtool.Tree(t, memToDir(t, full)), testtool.Tree(t, memToDir(t, got)))
		} else {
			compareBuilds(t, what, memToDir(t, got), memToDir(t, full), root)
		}
	}
	if !reusedSome {
		t.Error("no session build reused a page: the test proves nothing")
	}
	t.Logf("%d of 16 builds patched in", sess.patched)
}

// summaryWord is the first words of longBody's first paragraph, as
// TestSessionPatchRandom edits them.
var summaryWord = regexp.MustCompile(`Public[0-9]* words`)

// Random edits of two long public pages, most of them to their bodies
// alone: after each, the session (patched or built in full) serves what
// a full build gives.
func TestSessionPatchRandom(t *testing.T) {
	for seed := range 3 {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			r := mrand.New(mrand.NewPCG(uint64(seed), 7))
			dir, _ := editSite(t)
			pages := []string{"content/briefings/two.md", "content/briefings/four.md"}
			for _, p := range pages {
				write(t, dir, p, longBody("Page", "Tail."))
			}
			opt := Options{Source: dir, Preview: true, Now: testNow}
			sess := NewSession(opt)
			if _, _, err := sess.Build(nil); err != nil {
				t.Fatal(err)
			}
			edits := []func(p string){
				func(p string) { appendTo(t, dir, p, fmt.Sprintf("\nParagraph %d.\n", r.IntN(1e6))) },
				func(p string) { appendTo(t, dir, p, fmt.Sprintf("\nParagraph %d.\n", r.IntN(1e6))) },
				func(p string) { write(t, dir, p, longBody("Page", fmt.Sprintf("Tail %d.", r.IntN(1e6)))) },
				func(p string) { write(t, dir, p, longBody("Page", fmt.Sprintf("Tail %d.", r.IntN(1e6)))) },
				func(p string) { appendTo(t, dir, p, fmt.Sprintf("\n## Heading %d\n", r.IntN(10))) },
				func(p string) { appendTo(t, dir, p, fmt.Sprintf("\nSee [page %d](/briefings/one/).\n", r.IntN(3))) },
				func(p string) { appendTo(t, dir, p, "\n::: restricted to=board\nBoard words.\n:::\n") },
				func(p string) { write(t, dir, p, "---\ntitle: Page\ndate: 2024-02-01\n---\n\nShort.\n") },
				func(p string) { appendTo(t, dir, p, fmt.Sprintf("\nWord%d word%d.\n", r.IntN(50), r.IntN(50))) },
				func(p string) { // the summary: a word of the first paragraph
					data, err := os.ReadFile(filepath.Join(dir, p))
					if err != nil {
						t.Fatal(err)
					}
					write(t, dir, p, summaryWord.ReplaceAllLiteralString(string(data), fmt.Sprintf("Public%d words", r.IntN(5))))
				},
				func(p string) { // its words, and another paragraph's
					data, err := os.ReadFile(filepath.Join(dir, p))
					if err != nil {
						t.Fatal(err)
					}
					write(t, dir, p, summaryWord.ReplaceAllLiteralString(string(data), fmt.Sprintf("Public%d words", r.IntN(5)))+fmt.Sprintf("\nTail %d.\n", r.IntN(9)))
				},
			}
			for step := range 40 {
				before := testtool.Tree(t, dir)
				for _, p := range pages {
					if r.IntN(3) > 0 {
						edits[r.IntN(len(edits))](p)
					}
				}
				changed := treeChanges(before, testtool.Tree(t, dir))
				_, got, err := sess.Build(changed)
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				_, full, err := Memory(opt)
				if err != nil {
					t.Fatalf("step %d: full build: %v", step, err)
				}
				sameTree(t, fmt.Sprintf("step %d", step), testtool.Tree(t, memToDir(t, full)), testtool.Tree(t, memToDir(t, got)))
			}
			if sess.patched == 0 {
				t.Error("no build was patched in: the test proves nothing")
			}
			t.Logf("%d of 40 builds patched in", sess.patched)
		})
	}
}

// treeChanges lists the paths whose content differs between two
// snapshots of a folder, or that are in only one of them.
func treeChanges(before, after map[string][]byte) []string {
	changed := []string{}
	for p, b := range before {
		if a, ok := after[p]; !ok || !bytes.Equal(a, b) {
			changed = append(changed, p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			changed = append(changed, p)
		}
	}
	return changed
}
