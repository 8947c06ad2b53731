package build

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/testtool"
)

// longBody is a public page whose summary (its first 50 words) no edit
// below touches, with a link in its second paragraph.
func longBody(title, tail string) string {
	return "---\ntitle: " + title + "\ndate: 2024-02-01\ntags: [beta]\n---\n\n" +
		strings.Repeat("Public words that make the summary of this page long enough. ", 6) + "\n\n" +
		"See [one](one.md).\n\n" + tail + "\n"
}

// An edit of a page's body that changes nothing else is patched into the
// session's last build; any other edit is built in full. Either way the
// session serves what a full build of the same files gives, and reports
// the same counts.
func TestSessionPatch(t *testing.T) {
	dir, _ := editSite(t)
	opt := Options{Source: dir, Preview: true, Now: testNow}
	sess := NewSession(opt)
	if _, _, err := sess.Build(nil); err != nil {
		t.Fatal(err)
	}
	two, four := "content/briefings/two.md", "content/briefings/four.md"
	steps := []struct {
		name  string
		patch bool
		edit  func()
	}{
		{"long body", true, func() { write(t, dir, two, longBody("Two", "Tail one.")) }},
		{"new last paragraph", true, func() { appendTo(t, dir, two, "\nA later paragraph.\n") }},
		{"last paragraph rewritten", true, func() { replaceIn(t, dir, two, "A later paragraph.", "A paragraph, later, with other words.") }},
		{"links move down", true, func() { replaceIn(t, dir, two, "See [one]", "A new paragraph.\n\nSee [one]") }},
		{"two pages at once", false, func() { write(t, dir, four, longBody("Four", "Four's tail.")) }},
		{"both edited", true, func() {
			appendTo(t, dir, two, "\nMore of two.\n")
			appendTo(t, dir, four, "\nMore of four.\n")
		}},
		{"heading", true, func() { appendTo(t, dir, two, "\n## A new heading\n\nUnder it.\n") }},
		{"under the heading", true, func() { replaceIn(t, dir, two, "Under it.", "Under it, again.") }},
		{"link text", true, func() { replaceIn(t, dir, two, "See [one]", "See [the first]") }},
		{"a link to another page", true, func() { appendTo(t, dir, two, "\nAnd [the second](../notes/three.md).\n") }},
		{"a link to a page with restricted headings", false, func() { appendTo(t, dir, two, "\nAnd [the first](one.md#start).\n") }},
		{"a link to a page restricted as a whole", false, func() { appendTo(t, dir, two, "\nAnd [a secret](whole.md).\n") }},
		{"those links gone", true, func() {
			replaceIn(t, dir, two, "\nAnd [the first](one.md#start).\n", "")
			replaceIn(t, dir, two, "\nAnd [a secret](whole.md).\n", "")
		}},
		{"a file named", false, func() { appendTo(t, dir, two, "\nAs map.svg shows.\n") }},
		{"link to a file", false, func() { appendTo(t, dir, two, "\nA [map](../notes/map.svg).\n") }},
		{"summary", true, func() { replaceIn(t, dir, two, "Public words that make", "Public words which make") }},
		{"summary and another page", true, func() {
			replaceIn(t, dir, two, "Public words which make", "Public words that make")
			appendTo(t, dir, "content/briefings/four.md", "\nMore.\n")
		}},
		{"summaries of two pages", false, func() {
			replaceIn(t, dir, two, "Public words that make", "Public words which make")
			replaceIn(t, dir, four, "Public words that make", "Public words which make")
		}},
		{"restricted block", false, func() { appendTo(t, dir, two, "\n::: restricted to=board\nBoard only.\n:::\n") }},
		{"restricted block edited", false, func() { replaceIn(t, dir, two, "Board only.", "Board only, again.") }},
		{"restricted block gone", false, func() { replaceIn(t, dir, two, "::: restricted to=board\nBoard only, again.\n:::\n", "") }},
		{"body after the block", true, func() { appendTo(t, dir, two, "\nThe end.\n") }},
		{"title", false, func() { replaceIn(t, dir, two, "title: Two", "title: Two, retitled") }},
		{"unknown key warned", false, func() { replaceIn(t, dir, two, "title: Two", "colour: red\ntitle: Two") }},
		{"body of a warned page", false, func() { appendTo(t, dir, two, "\nStill warned.\n") }},
		{"warning gone", false, func() { replaceIn(t, dir, two, "colour: red\n", "") }},
		{"body again", true, func() { appendTo(t, dir, two, "\nNot warned.\n") }},
		{"restricted page's body", false, func() { appendTo(t, dir, "content/briefings/one.md", "\nPublic after the block.\n") }},
		{"intro", false, func() { appendTo(t, dir, "content/briefings/_index.md", "\nMore intro.\n") }},
		{"page gone", false, func() { os.Remove(filepath.Join(dir, four)) }},
		{"body once more", true, func() { appendTo(t, dir, two, "\nOnce more.\n") }},
	}
	for i, st := range steps {
		before := testtool.Tree(t, dir)
		st.edit()
		changed := treeChanges(before, testtool.Tree(t, dir))
		patched := sess.patched
		rep, got, err := sess.Build(changed)
		if err != nil {
			t.Fatalf("step %d (%s): %v", i, st.name, err)
		}
		if did := sess.patched > patched; did != st.patch {
			t.Errorf("step %d (%s): patched %t, want %t", i, st.name, did, st.patch)
		}
		fullRep, full, err := Memory(opt)
		if err != nil {
			t.Fatalf("step %d (%s): full build: %v", i, st.name, err)
		}
		what := fmt.Sprintf("step %d (%s)", i, st.name)
		sameTree(t, what, testtool.Tree(t, memToDir(t, full)), testtool.Tree(t, memToDir(t, got)))
		if rep.Files != fullRep.Files || rep.Bytes != fullRep.Bytes || !reflect.DeepEqual(rep.Search, fullRep.Search) ||
			rep.Briefings != fullRep.Briefings || rep.Lists != fullRep.Lists || rep.Tags != fullRep.Tags ||
			len(rep.Warnings) != len(fullRep.Warnings) || len(rep.Embargoes) != len(fullRep.Embargoes) {
			t.Errorf("%s: the session reports %+v\nthe full build %+v", what, *rep, *fullRep)
		}
	}
	// A broken save is built in full, and fails; the next body edit too
	// is built in full, from the last good build.
	good, err := os.ReadFile(filepath.Join(dir, two))
	if err != nil {
		t.Fatal(err)
	}
	// Links the checks of the whole site refuse: a patch would not see them.
	for _, bad := range []string{
		"\nSee the [Whole secret](whole.md).\n",      // repeats a title sealed with its page
		"\nSee [the board](one.md#board-heading).\n", // the ID of a restricted heading
	} {
		if _, _, err := sess.Build([]string{two}); err != nil { // a good build to patch
			t.Fatal(err)
		}
		write(t, dir, two, string(good)+bad)
		if _, _, err := sess.Build([]string{two}); err == nil {
			t.Errorf("a session built %q", bad)
		}
		write(t, dir, two, string(good))
	}
	write(t, dir, two, string(good)+"\n[broken](nowhere.md)\n")
	if _, _, err := sess.Build([]string{two}); err == nil {
		t.Fatal("a page with a broken link built")
	}
	write(t, dir, two, string(good)+"\nRepaired.\n")
	patched := sess.patched
	if _, got, err := sess.Build([]string{two}); err != nil {
		t.Fatal(err)
	} else if sess.patched != patched {
		t.Error("the build after a failed one was patched")
	} else {
		_, full, err := Memory(opt)
		if err != nil {
			t.Fatal(err)
		}
		sameTree(t, "after a failed build", testtool.Tree(t, memToDir(t, full)), testtool.Tree(t, memToDir(t, got)))
	}
}

// A session that seals (serve beyond loopback, or --sealed) is never
// patched: every build is a full one, with its leak scan.
func TestSessionSealedNotPatched(t *testing.T) {
	dir, _ := editSite(t)
	write(t, dir, "content/briefings/two.md", longBody("Two", "Tail."))
	sess := NewSession(Options{Source: dir, Now: testNow})
	if _, _, err := sess.Build(nil); err != nil {
		t.Fatal(err)
	}
	appendTo(t, dir, "content/briefings/two.md", "\nMore.\n")
	if _, _, err := sess.Build([]string{"content/briefings/two.md"}); err != nil {
		t.Fatal(err)
	}
	if sess.patched != 0 {
		t.Error("a sealed session was patched")
	}
}
