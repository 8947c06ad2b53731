package manifest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/testtool"
)

// TestCheckPathLimits: a path within MaxPath, MaxName and MaxDepth is
// accepted, one past any of them refused with a short message.
func TestCheckPathLimits(t *testing.T) {
	deep := strings.Repeat("a/", MaxDepth-1) + "a"
	long := strings.Repeat(strings.Repeat("n", MaxName-1)+"/", 5)[:MaxPath-1] + "x"
	for _, ok := range []string{deep, strings.Repeat("n", MaxName), long} {
		if err := CheckPath(ok); err != nil {
			t.Errorf("CheckPath(%d bytes, %d deep) = %v", len(ok), strings.Count(ok, "/")+1, err)
		}
	}
	for _, tt := range []struct{ p, want string }{
		{deep + "/a", "more than 31 folders deep"},
		{strings.Repeat("n", MaxName+1), "a name of 256 bytes, more than 255"},
		{long + "y", "1025 bytes long, more than 1024"},
		{strings.Repeat("a/", 5_000_000) + "a", "10000001 bytes long, more than 1024"},
	} {
		err := CheckPath(tt.p)
		if err == nil || !strings.Contains(err.Error(), tt.want) || len(err.Error()) > MaxPath+200 {
			t.Errorf("CheckPath(%d bytes): %.300v, want %q", len(tt.p), err, tt.want)
		}
	}
}

// repeatReader reads s over and over, n bytes in all.
type repeatReader struct {
	s   string
	off int
	n   int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	for i := range p {
		p[i] = r.s[r.off]
		r.off = (r.off + 1) % len(r.s)
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// TestParseReaderBounded: a manifest is parsed a line at a time, keeping
// neither its text nor a line longer than a path may be (a signed manifest
// with one path of 100 MB took 431–531 MiB), and reporting at most 100
// problems.
func TestParseReaderBounded(t *testing.T) {
	h := strings.Repeat("0f", 32)
	long := io.MultiReader(strings.NewReader(h+"  "), &repeatReader{s: "a/", n: 100 << 20}, strings.NewReader("a\n"+h+"  b\n"))
	var err error
	testtool.BoundedAllocNoHang(t, 1<<20, func() { _, err = ParseReader(Name, long) })
	if err == nil || !strings.Contains(err.Error(), "SHA256SUMS:1: line longer than 1091 bytes") || strings.Contains(err.Error(), ":2:") {
		t.Errorf("one line of 100 MiB: %.300v", err)
	}

	var bad bytes.Buffer
	for range 10_000 {
		bad.WriteString("junk\n")
	}
	_, err = ParseReader(Name, &bad)
	if err == nil || strings.Count(err.Error(), "\n") != 100 || !strings.HasSuffix(err.Error(), "SHA256SUMS: 9900 more problems not listed (only the first 100 are)") {
		t.Errorf("10,000 bad lines: %d lines of errors, ending %q", strings.Count(fmt.Sprint(err), "\n"), fmt.Sprint(err)[max(0, len(fmt.Sprint(err))-100):])
	}
}

// TestReadEntries: the entries come from the bytes whose digest is the
// one given; a manifest that is not the signed one is refused as changed,
// before its parse problems.
func TestReadEntries(t *testing.T) {
	h := strings.Repeat("0f", 32)
	good := h + "  a\n" + h + "  b/c\n"
	bad := "junk\n"
	fsys := fakeFS{
		"good": {mode: 0o644, size: int64(len(good)), content: bytesContent([]byte(good))},
		"bad":  {mode: 0o644, size: int64(len(bad)), content: bytesContent([]byte(bad))},
		"big":  {mode: 0o644, size: 10, content: endless},
	}
	entries, err := ReadEntries(fsys, "good", "site/SHA256SUMS", ManifestLimit, sha256.Sum256([]byte(good)))
	if err != nil || len(entries) != 2 || entries[1].Path != "b/c" {
		t.Errorf("good: %v, %v", entries, err)
	}
	if _, err := ReadEntries(fsys, "good", "site/SHA256SUMS", ManifestLimit, sha256.Sum256([]byte(bad))); err == nil || err.Error() != "changed while it was read: refused" {
		t.Errorf("good, other digest: %v", err)
	}
	if _, err := ReadEntries(fsys, "bad", "site/SHA256SUMS", ManifestLimit, sha256.Sum256([]byte(good))); err == nil || err.Error() != "changed while it was read: refused" {
		t.Errorf("bad, other digest: %v", err)
	}
	if _, err := ReadEntries(fsys, "bad", "site/SHA256SUMS", ManifestLimit, sha256.Sum256([]byte(bad))); err == nil || !strings.HasPrefix(err.Error(), "site/SHA256SUMS:1: want") {
		t.Errorf("bad, its digest: %v", err)
	}
	var tl *TooLargeError
	var rerr error
	testtool.BoundedAllocNoHang(t, 1<<20, func() {
		_, rerr = ReadEntries(fsys, "big", "site/SHA256SUMS", Limit{8 << 20, "a test file"}, [32]byte{})
	})
	if !errors.As(rerr, &tl) || !tl.Grew {
		t.Errorf("endless: %v", rerr)
	}
}

// TestCheckDeepPaths: checking a manifest of deep paths keeps no set of
// their folders (400,000 paths of 250 bytes took 774 MiB): what it
// allocates does not grow with their depth.
func TestCheckDeepPaths(t *testing.T) {
	dir, _ := tree(t, map[string]string{"index.html": "x"})
	entries := make([]Entry, 20_000)
	for i := range entries {
		entries[i].Path = fmt.Sprintf("%05d/", i) + strings.Repeat("a/", MaxDepth-2) + "f"
	}
	var got []Problem
	testtool.BoundedAllocNoHang(t, 4<<20, func() {
		var err error
		if got, err = Check(dir, entries); err != nil {
			t.Error(err)
		}
	})
	if len(got) != MaxProblems+1 || got[0].Path != "00000/"+strings.Repeat("a/", MaxDepth-2)+"f" || got[0].Reason != ReasonMissing {
		t.Errorf("%d problems, first %v", len(got), got[0])
	}
}

// TestCheckManyFolders: a listed folder of many subfolders, each holding a
// listed file, is checked by a fixed number of goroutines: there was one
// per folder, and a signed copy with a million of them crashed verify (8 GB
// of stacks). The queue of folders is bounded too.
func TestCheckManyFolders(t *testing.T) {
	const n = 3 * maxQueued
	dir := t.TempDir()
	entries := make([]Entry, 0, n)
	for i := range n {
		p := fmt.Sprintf("m/%06d/f", i)
		if err := os.MkdirAll(filepath.Join(dir, "m", fmt.Sprintf("%06d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(p)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, Entry{Path: p, Sum: sha256.Sum256(nil)})
	}
	stop := make(chan struct{})
	most := make(chan int)
	go func() {
		m := 0
		for {
			select {
			case <-stop:
				most <- m
				return
			default:
				m = max(m, runtime.NumGoroutine())
				runtime.Gosched()
			}
		}
	}()
	got, err := Check(dir, entries)
	close(stop)
	if m := <-most; m > runtime.GOMAXPROCS(0)+20 {
		t.Errorf("%d goroutines at once for %d folders", m, n)
	}
	if err != nil || len(got) != 0 {
		t.Errorf("Check: %v, %v", got, err)
	}
}
