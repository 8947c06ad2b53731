package build

import (
	"io/fs"
	"path/filepath"
	"testing"
	"time"
)

// Every file and folder of a published build has the release's time: the
// order the build wrote them in (a packet before the page that names it)
// is not in the output.
func TestOutputTimes(t *testing.T) {
	dir, _ := sealSite(t)
	out := filepath.Join(t.TempDir(), "public")
	if _, err := Run(Options{Source: dir, Out: out, Now: testNow}); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := filepath.WalkDir(out, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if !info.ModTime().Equal(testNow.UTC().Truncate(time.Second)) {
			t.Errorf("%s: modified %v, want %v", p, info.ModTime(), testNow)
		}
		n++
		return nil
	})
	if err != nil || n < 10 {
		t.Fatalf("%d files, %v", n, err)
	}
}
