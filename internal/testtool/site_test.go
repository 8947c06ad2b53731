package testtool_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/testtool"
)

func TestWriteSite(t *testing.T) {
	files := map[string]string{
		"conclave.toml":            "title = \"T\"\n",
		"content/briefings/one.md": "---\ntitle: One\n---\n",
		"./keys/alice.pub":         "age1x\n",
		"empty":                    "",
	}
	want := map[string][]byte{
		"conclave.toml":            []byte("title = \"T\"\n"),
		"content/briefings/one.md": []byte("---\ntitle: One\n---\n"),
		"keys/alice.pub":           []byte("age1x\n"),
		"empty":                    {},
	}
	dir := filepath.Join(t.TempDir(), "given")
	if got := testtool.WriteSite(t, dir, files); got != dir {
		t.Errorf("WriteSite returned %q, want %q", got, dir)
	}
	if got := testtool.Tree(t, dir); !maps.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Errorf("wrote %q, want %q", got, want)
	}

	tmp := testtool.WriteSite(t, "", files)
	if tmp == "" || tmp == dir {
		t.Fatalf("WriteSite with no folder returned %q", tmp)
	}
	if got := testtool.Tree(t, tmp); !maps.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Errorf("wrote %q to a new folder, want %q", got, want)
	}
}

// fatalTB records the first fatal message and ends the goroutine, as
// testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// A path that is empty, absolute or leads out of the folder ends the test
// before any file is written.
func TestWriteSiteRefusesEscapes(t *testing.T) {
	for _, bad := range []string{"", "/etc/passwd", "../outside", "a/../../outside", "..", "content/../../x"} {
		t.Run(bad, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "site")
			f := &fatalTB{TB: t}
			done := make(chan bool)
			go func() {
				defer close(done)
				testtool.WriteSite(f, dir, map[string]string{"a.md": "fine", bad: "escaped"})
				done <- true
			}()
			if <-done {
				t.Fatalf("WriteSite accepted %q", bad)
			}
			if !strings.Contains(f.msg, fmt.Sprintf("%q", bad)) {
				t.Errorf("message %q does not name %q", f.msg, bad)
			}
			entries, err := os.ReadDir(parent)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 0 {
				t.Errorf("files written despite the refusal: %v", entries)
			}
		})
	}
}
