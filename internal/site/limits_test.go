package site

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// TestLoadPageTooLarge: a markdown file larger than MaxPageSize is refused
// before it is read (a 200 MB page took 4.9 GB to build); one of exactly
// MaxPageSize is read.
func TestLoadPageTooLarge(t *testing.T) {
	root := writeSite(t, map[string]string{"content/a.md": "---\ntitle: A\n---\n"})
	big := filepath.Join(root, "content", "big.md")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(256 << 20); err != nil { // sparse: 256 MiB of zeros
		t.Fatal(err)
	}
	f.Close()
	testtool.BoundedAlloc(t, 4<<20, func() {
		_, err = Load(root, Options{})
	})
	want := "content/big.md: too large for a page: 268435456 bytes, more than 4 MiB (briefings are kilobytes; put large data in a file the page links to)"
	if err == nil || err.Error() != want {
		t.Errorf("Load: %v\nwant %s", err, want)
	}

	line := "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do.\n"
	text := "---\ntitle: Big\n---\n\n" + strings.Repeat(line, MaxPageSize/len(line))
	text += strings.Repeat("x", MaxPageSize-len(text))
	if err := os.WriteFile(big, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var s *Site
	testtool.BoundedAlloc(t, 4*MaxPageSize, func() {
		s, err = Load(root, Options{})
	})
	if err != nil {
		t.Fatalf("a page of %d bytes: %v", MaxPageSize, err)
	}
	if p := s.byPath["content/big.md"]; p == nil || len(p.Body) != MaxPageSize-len("---\ntitle: Big\n---\n") {
		t.Errorf("the page of %d bytes was not read whole", MaxPageSize)
	}

	if err := os.WriteFile(big, []byte(text+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err = Load(root, Options{}); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("content/big.md: too large for a page: %d bytes", MaxPageSize+1)) {
		t.Errorf("a page of %d bytes: %v", MaxPageSize+1, err)
	}
}

// TestLoadFileTooLarge: a content file that is not a page and is larger
// than format.MaxAttachmentSize is refused from its size, unread, and
// named; the other errors are reported with it. A file larger than
// StreamSize (here one larger than MaxFileSize, which the build may only
// seal) is checked as a stream, a chunk at a time, and never held.
func TestLoadFileTooLarge(t *testing.T) {
	root := writeSite(t, map[string]string{
		"content/a.md":        "---\ntitle: A\n---\n",
		"content/x/small.png": "PNG",
		"content/x/broken.md": "---\ntitle: [\n---\n",
	})
	testtool.SparseFile(t, filepath.Join(root, "content", "x", "big.pdf"), MaxFileSize+1)
	testtool.SparseFile(t, filepath.Join(root, "content", "huge.mp4"), 8<<30)
	var err error
	testtool.BoundedAlloc(t, 4<<20, func() { _, err = Load(root, Options{}) })
	want := []string{
		"content/huge.mp4: too large for a file of content/: 8589934592 bytes, more than 4 GiB (the most sealed as an attachment)",
		"content/x/broken.md:3: front matter: ",
	}
	var l diag.List
	if !errors.As(err, &l) || len(l) != len(want) {
		t.Fatalf("Load: %v\nwant %d errors", err, len(want))
	}
	for i, w := range want {
		if got := l[i].Error(); !strings.HasPrefix(got, w) {
			t.Errorf("error %d: %s\nwant %s", i, got, w)
		}
	}
}

// TestLoadStreamedChecked: a file too large to hold is not read by Load
// but checked as it is read (File.Each), a chunk at a time: a secret key
// far into it is refused at its line, and so is a restricted block in a
// file published in clear (not in one sealed).
func TestLoadStreamedChecked(t *testing.T) {
	filler := strings.Repeat("a line of a large log file\n", StreamSize/27+(3<<20)/27) // past StreamSize and the first chunks
	lines := strings.Count(filler, "\n")
	for _, tc := range []struct {
		tail            string
		inClear, sealed string // the errors Each returns, "" for none
	}{
		{"AGE-SECRET-KEY-" + "1XYZ\n", fmt.Sprintf("content/big.log:%d: holds an age secret key", lines+2), fmt.Sprintf("content/big.log:%d: holds an age secret key", lines+2)},
		{"::: restricted to=board\n", fmt.Sprintf("content/big.log:%d: holds a restricted block", lines+2), ""},
		{"nothing\n", "", ""},
	} {
		root := writeSite(t, map[string]string{"content/a.md": "---\ntitle: A\n---\n", "content/big.log": filler + "x\n" + tc.tail})
		var s *Site
		var err error
		testtool.BoundedAlloc(t, 2<<20, func() { s, err = Load(root, Options{}) })
		if err != nil {
			t.Fatal(err)
		}
		f := s.Files[0]
		if !f.Streamed() || f.Data != nil || f.Len() != int64(len(filler)+2+len(tc.tail)) {
			t.Fatalf("file %s: streamed %v, %d bytes, want streamed with its size", f.Path, f.Streamed(), f.Len())
		}
		for _, inClear := range []bool{true, false} {
			var read int
			testtool.BoundedAlloc(t, 4<<20, func() {
				err = f.Each(inClear, func(chunk []byte) error {
					read += len(chunk)
					return nil
				})
			})
			want := map[bool]string{true: tc.inClear, false: tc.sealed}[inClear]
			if want == "" && (err != nil || int64(read) != f.Len()) {
				t.Errorf("Each(%v): %v after %d bytes, want all %d read", inClear, err, read, f.Len())
			}
			if want != "" && (err == nil || !strings.HasPrefix(err.Error(), want)) {
				t.Errorf("Each(%v): %v\nwant %s…", inClear, err, want)
			}
		}
	}
}

// TestLoadContentTooLarge: Load adds up the sizes of content/'s files
// before it reads any: 2 GiB is read (here 128 files of StreamSize, the
// most one file read whole may hold), and the file that takes the total past
// MaxContentSize is refused, named, and nothing is read. The files are
// sparse: they take no room on disk, and reading them would take 2 GiB of
// memory.
func TestLoadContentTooLarge(t *testing.T) {
	// A guard: were the total not checked, the second page would end the
	// walk as one page too many, so that the test fails without reading
	// 2 GiB.
	defer func(n int) { maxPages = n }(maxPages)
	maxPages = 1
	root := writeSite(t, map[string]string{"content/z/a.md": "---\ntitle: A\n---\n", "content/z/b.md": "---\ntitle: B\n---\n"})
	if MaxContentSize != 128*StreamSize {
		t.Fatalf("MaxContentSize is not 128 × StreamSize: change the test")
	}
	for i := range 128 {
		testtool.SparseFile(t, filepath.Join(root, "content", fmt.Sprintf("f%d.bin", i)), StreamSize)
	}
	testWrite(t, filepath.Join(root, "content", "g.txt"), "x")
	var err error
	testtool.BoundedAlloc(t, 4<<20, func() { _, err = Load(root, Options{}) })
	want := "content/g.txt: content/ is too large: with this file it holds 2147483649 bytes to read, more than 2 GiB in all " +
		"(every page and file is read into memory to build the site; publish large files elsewhere and link to them, or split the site)"
	if err == nil || err.Error() != want {
		t.Errorf("Load: %v\nwant %s", err, want)
	}
	// Pages count: a page read after the 2 GiB is refused the same way.
	if err := os.Remove(filepath.Join(root, "content", "g.txt")); err != nil {
		t.Fatal(err)
	}
	testtool.BoundedAlloc(t, 4<<20, func() { _, err = Load(root, Options{}) })
	if want := "content/z/a.md: content/ is too large: with this file it holds 2147483665 bytes"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Load: %v\nwant %s…", err, want)
	}
}

// TestLoadKeysTooLarge: a file in keys/ larger than the 1 MiB the keys
// are read up to is refused before it is read for secrets.
func TestLoadKeysTooLarge(t *testing.T) {
	root := writeSite(t, map[string]string{"content/a.md": "x", "keys/alice.pub": "age1x\n"})
	f, err := os.Create(filepath.Join(root, "keys", "groups.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(256 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	testtool.BoundedAlloc(t, 4<<20, func() { _, err = Load(root, Options{}) })
	if want := "keys/groups.toml: too large for a keys file (more than 1048576 bytes)"; err == nil || err.Error() != want {
		t.Errorf("Load: %v\nwant %s", err, want)
	}
}

// TestLoadTooManyPages: past maxPages markdown files the walk stops, and
// no page is read.
func TestLoadTooManyPages(t *testing.T) {
	defer func(n int) { maxPages = n }(maxPages)
	maxPages = 10
	files := map[string]string{}
	for i := range 10 {
		files[fmt.Sprintf("content/s/p%02d.md", i)] = "x"
	}
	root := writeSite(t, files)
	if _, err := Load(root, Options{}); err != nil {
		t.Fatalf("%d pages: %v", maxPages, err)
	}
	// Drafts count: they are read too. A broken page is never read.
	testWrite(t, filepath.Join(root, "content/s/z-draft.md"), "---\ndraft: true\ndate: nonsense\n---\n")
	_, err := Load(root, Options{})
	want := "content: more than 10 pages (.md files, drafts included): a site holds at most 10; split it into several sites"
	if err == nil || err.Error() != want {
		t.Errorf("Load: %v\nwant %s", err, want)
	}
}

func testWrite(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// stair returns lines of a list nested depth deep, each level indented
// two more columns.
func stair(depth int) string {
	var b strings.Builder
	for d := range depth {
		b.WriteString(strings.Repeat("  ", d) + "- item\n")
	}
	return b.String()
}

func TestCheckNesting(t *testing.T) {
	const head = "---\ntitle: T\n---\n\n" // the body starts on line 5
	tests := []struct {
		name, body string
		want       string // "" for no error
	}{
		{"64 nested list items", stair(64), ""},
		{"65 nested list items", stair(65), "content/a.md:69: nested too deep: the line starts with 128 columns of indentation and 1 block quote or list marker, more than 64 levels of nesting (each marker, and every 2 columns of indentation, count as one); at most 64 levels of quotes and lists may nest, as the markdown parser slows down with depth"},
		{"64 quotes", strings.Repeat(">", 64) + " x\n", ""},
		{"65 quotes", "x\n\n" + strings.Repeat("> ", 65) + "x\n", "content/a.md:7: nested too deep: the line starts with 65 block quote and list markers"},
		{"a megabyte of quotes on a line", strings.Repeat(">", 1<<20) + "\n", "content/a.md:5: nested too deep: the line starts with 65 block quote and list markers, more than 64 levels"},
		{"items on one line", strings.Repeat("- ", 70) + "x\n", "content/a.md:5: nested too deep"},
		{"ordered items on one line", strings.Repeat("1. ", 70) + "x\n", "content/a.md:5: nested too deep"},
		{"ordered items and quotes, tabs", strings.Repeat("1)\t>\t", 30) + "x\n", "content/a.md:5: nested too deep"},
		{"tabs", strings.Repeat("\t", 33) + "x\n", "content/a.md:5: nested too deep: the line starts with 132 columns of indentation"},
		{"128 columns of indented code", strings.Repeat(" ", 128) + "code\n", ""},
		{"129 columns", "    code\n" + strings.Repeat(" ", 130) + "code\n", "content/a.md:6: nested too deep"},
		{"a blank line of white space", strings.Repeat(" ", 1000) + "\n" + strings.Repeat("\t", 100) + "\n", ""},
		{"dashes and stars that are not markers", strings.Repeat("-", 200) + "\n" + strings.Repeat("*x", 200) + "\n" + strings.Repeat("1", 200) + ". x\n", ""},
		{"64 quotes with spaces", strings.Repeat("> ", 64) + "x\n", ""},
		{"thematic break of spaced stars", strings.Repeat("* ", 40) + "\n", ""},
		{"70 spaced stars", strings.Repeat("* ", 70) + "\n", "content/a.md:5: nested too deep"},
		{"a number too long to be a marker", strings.Repeat("1234567890. ", 40) + "\n", ""},
		{"no final newline", "x\n" + strings.Repeat(">", 70), "content/a.md:6: nested too deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeSite(t, map[string]string{"content/a.md": head + tt.body})
			var err error
			testtool.BoundedAlloc(t, 16<<20+4*uint64(len(tt.body)), func() {
				_, err = Load(root, Options{})
			})
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error: %v", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("error: %v\nwant %s…", err, tt.want)
			}
		})
	}
}

// BenchmarkCheckNesting times the check on a megabyte of list items 64
// deep, the deepest allowed.
//
//	go test ./internal/site -run XXX -bench CheckNesting
func BenchmarkCheckNesting(b *testing.B) {
	body := []byte(strings.Repeat(stair(64)+"\npara\n\n", (1<<20)/len(stair(64))))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := checkNesting("content/a.md", body, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// strayPattern is what strayBriefing finds, as a regular expression.
var strayPattern = regexp.MustCompile(`(?im)^[ \t>]*(?::{3,}[ \t]*restricted|audience[ \t]*[:=])`)

// FuzzStrayBriefing: strayBriefing finds the line the regular expression
// finds, for ASCII text (its case folding is the regular expression's
// there).
func FuzzStrayBriefing(f *testing.F) {
	for _, s := range []string{"x\n::: restricted to=a\n", "> > :::::Restricted", "audience = [a]", "  AUDIENCE\t:", "::restricted", "audiences: x", "a\n\n:::  restrictedX", "text audience: x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for i := range len(s) {
			if s[i] >= 0x80 {
				return
			}
		}
		want := -1
		if m := strayPattern.FindStringIndex(s); m != nil {
			want = m[0]
		}
		if got := strayBriefing([]byte(s)); got != want {
			t.Fatalf("strayBriefing(%q) = %d, the regular expression finds %d", s, got, want)
		}
	})
}
