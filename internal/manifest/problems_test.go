package manifest

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"

	"github.com/conclave-dev/conclave/internal/testtool"
)

// emptyFiles makes n empty files named 0000000 … in the folder dir, fast:
// hard links to one empty file (several times faster than creating
// files on a disk), as a hostile copy can hold.
func emptyFiles(t *testing.T, dir string, n int) {
	t.Helper()
	srcs := t.TempDir()
	var src string
	for i := range n {
		if i%50_000 == 0 { // ext4 allows 65,000 links to a file
			src = filepath.Join(srcs, fmt.Sprint(i))
			if err := os.WriteFile(src, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		name := filepath.Join(dir, fmt.Sprintf("%07d", i))
		if err := syscall.Link(src, name); err != nil {
			t.Fatal(err)
		}
	}
}

// checkCapped checks that problems hold the first MaxProblems of want
// (sorted), then one problem counting the rest.
func checkCapped(t *testing.T, got []Problem, want []string) {
	t.Helper()
	sort.Strings(want)
	if len(got) != MaxProblems+1 {
		t.Fatalf("%d problems, want %d and one counting the other %d", len(got), MaxProblems, len(want)-MaxProblems)
	}
	for i, p := range got[:MaxProblems] {
		if p.Error() != want[i] || p.More != 0 {
			t.Fatalf("problem %d: %q (More %d), want %q", i, p.Error(), p.More, want[i])
		}
	}
	last := got[MaxProblems]
	wantLast := fmt.Sprintf(".: %d more problems not listed (only the first %d are)", len(want)-MaxProblems, MaxProblems)
	if last.More != len(want)-MaxProblems || last.Error() != wantLast {
		t.Errorf("last problem %q (More %d), want %q (More %d)", last.Error(), last.More, wantLast, len(want)-MaxProblems)
	}
}

// TestCheckHugeFolder: a listed folder of a hostile copy holds 200,000
// empty unlisted files. The folder is read in batches and only
// MaxProblems problems are kept, so memory does not grow with the folder
// (reading it whole and keeping every problem allocated 109 MiB).
func TestCheckHugeFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("makes 200,000 files")
	}
	const n = 200_000
	dir, entries := tree(t, site)
	emptyFiles(t, filepath.Join(dir, "packets"), n)
	var got []Problem
	testtool.BoundedAllocNoHang(t, 24<<20, func() {
		var err error
		if got, err = Check(dir, entries); err != nil {
			t.Error(err)
		}
	})
	want := make([]string, 0, n)
	for i := range n {
		want = append(want, fmt.Sprintf("packets/%07d: %s", i, ReasonUnlisted))
	}
	checkCapped(t, got, want)
}

// TestCheckManyMissing: a manifest listing 5,000 files the folder does not
// hold reports the first MaxProblems and counts the others.
func TestCheckManyMissing(t *testing.T) {
	dir, entries := tree(t, site)
	var want []string
	for i := range 5000 {
		p := fmt.Sprintf("packets/%07d.age", i)
		entries = append(entries, Entry{Path: p, Sum: sha256.Sum256(nil)})
		want = append(want, p+": "+ReasonMissing)
	}
	got, err := Check(dir, entries)
	if err != nil {
		t.Fatal(err)
	}
	checkCapped(t, got, want)
}

// TestCheckCapMixed: problems of every kind, more than MaxProblems in all,
// are kept in sorted order whatever order they were found in: the report
// is the same from run to run.
func TestCheckCapMixed(t *testing.T) {
	dir, entries := tree(t, site)
	var want []string
	for i := range 700 {
		p := fmt.Sprintf("tags/%07d.age", i)
		entries = append(entries, Entry{Path: p, Sum: sha256.Sum256(nil)})
		want = append(want, p+": "+ReasonMissing)
	}
	emptyFiles(t, filepath.Join(dir, "css"), 700)
	for i := range 700 {
		want = append(want, fmt.Sprintf("css/%07d: %s", i, ReasonUnlisted))
	}
	flip("index.html")(t, dir)
	want = append(want, "index.html: "+ReasonChanged)
	first, err := Check(dir, entries)
	if err != nil {
		t.Fatal(err)
	}
	checkCapped(t, first, want)
	for range 3 {
		again, err := Check(dir, entries)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(again) != fmt.Sprint(first) {
			t.Fatal("problems differ from one check to the next")
		}
	}
}

// TestCheckAtCap: exactly MaxProblems problems are all reported, with no
// count after them.
func TestCheckAtCap(t *testing.T) {
	dir, entries := tree(t, site)
	for i := range MaxProblems {
		entries = append(entries, Entry{Path: fmt.Sprintf("tags/%07d.age", i), Sum: sha256.Sum256(nil)})
	}
	got, err := Check(dir, entries)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxProblems || got[len(got)-1].More != 0 {
		t.Errorf("%d problems, want %d, none counting others", len(got), MaxProblems)
	}
}
