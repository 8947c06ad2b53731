package build

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/conclave-dev/conclave/internal/testtool"
	"github.com/conclave-dev/conclave/themes"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden builds testdata/site and compares every output file with
// testdata/golden. Run with -update after an intended change.
func TestGolden(t *testing.T) {
	out := filepath.Join(t.TempDir(), "public")
	rep, err := Run(Options{Source: "testdata/site", Out: out, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden")
	if *update {
		if err := os.RemoveAll(golden); err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(golden, os.DirFS(out)); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(golden, "js", "unlock.js")); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(golden, "js"))
	}
	got := testtool.Tree(t, out)
	// The unlock script is a bundle built from themes/unlock (CI checks it
	// against its sources): rather than a second copy here, it must be the
	// theme's file, byte for byte.
	script, err := fs.ReadFile(themes.Default, "static/js/unlock.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got["js/unlock.js"], script) {
		t.Error("js/unlock.js is not the theme's unlock script")
	}
	delete(got, "js/unlock.js")
	want := testtool.Tree(t, golden)
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			t.Errorf("%s: missing from the build", p)
			continue
		}
		if !bytes.Equal(g, w) {
			t.Errorf("%s differs from the golden file (run go test ./internal/build -run TestGolden -update after checking the change):\n%s", p, testtool.FirstDiff(w, g))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: written but not in the golden files", p)
		}
	}
	if rep.Briefings != 3 || rep.Drafts != 1 || rep.Tags != 3 || rep.Files != len(got)+1 {
		t.Errorf("report = %+v (files on disk %d)", rep, len(got))
	}
	var warns []string
	for _, w := range rep.Warnings {
		warns = append(warns, w.Error())
	}
	if want := "content/notes/gamma.md:1: no date: left out of the feed (add date: YYYY-MM-DD)"; len(warns) != 1 || warns[0] != want {
		t.Errorf("warnings = %q, want only %q", warns, want)
	}
}
