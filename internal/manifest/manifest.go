// Package manifest reads and writes SHA256SUMS, the list of a release's
// files and their SHA-256 digests in GNU sha256sum format:
//
//	<64 lower-case hex digits><space><space><path>
//
// one line per file, sorted by the byte order of the path, ending in a
// newline. Paths are relative, slash-separated, and safe: no absolute
// paths, no "." or ".." elements, no backslashes or control characters.
// `sha256sum -c SHA256SUMS` checks such a file.
package manifest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"unicode"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/format"
)

// Name is the manifest's file name at the root of a built site
// ([format.Manifest]).
const Name = format.Manifest

// Entry is one line of a manifest.
type Entry struct {
	Path string
	Sum  [sha256.Size]byte
}

// Excluded reports whether a file at the root of a site is left out of its
// manifest: the manifest itself and its signatures ("SHA256SUMS*").
func Excluded(p string) bool { return strings.HasPrefix(p, Name) && !strings.Contains(p, "/") }

// ErrUnsafePath is returned for a path that could escape the output.
var ErrUnsafePath = errors.New("unsafe output path")

// Limits on a path of a site, the same for the build that writes it and
// the readers that check it: a path is at most MaxPath bytes, of at most
// MaxDepth elements of at most MaxName bytes each. Every system conclave
// runs on takes a name of 255 bytes and a path of 1,024; a conclave site's
// paths are 10 to 100 bytes, and 3 to 8 deep. They bound what a manifest
// line holds, and what a check of a site does per listed file.
const (
	MaxPath  = 1024
	MaxName  = 255
	MaxDepth = 32
)

// CheckPath reports whether p is a clean relative slash path that stays in
// its folder: not empty, not absolute, no "." or ".." elements, no
// backslash, no control characters, within [MaxPath], [MaxName] and
// [MaxDepth], and no hidden name (one starting with "."): a build never
// writes one (it publishes no hidden file of content/ or of a theme), and
// a hidden folder in a copy a reader opens, such as a .git whose
// configuration runs commands, would act on the reader's machine.
func CheckPath(p string) error {
	if len(p) > MaxPath {
		return fmt.Errorf("%w %q: %w", ErrUnsafePath, p[:60]+"...", CheckPathLimits(p))
	}
	if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "." ||
		p == ".." || strings.HasPrefix(p, "../") || strings.ContainsAny(p, "\\\x00") {
		return fmt.Errorf("%w %q", ErrUnsafePath, p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w %q: control character", ErrUnsafePath, p)
		}
	}
	if p[0] == '.' || strings.Contains(p, "/.") {
		return fmt.Errorf("%w %q: a hidden name, which no build writes", ErrUnsafePath, p)
	}
	if err := CheckPathLimits(p); err != nil {
		return fmt.Errorf("%w %q: %w", ErrUnsafePath, p, err)
	}
	return nil
}

// CheckPathLimits reports whether the slash path p is within [MaxPath],
// [MaxName] and [MaxDepth]; its error does not repeat p.
func CheckPathLimits(p string) error {
	if len(p) > MaxPath {
		return fmt.Errorf("%d bytes long, more than %d", len(p), MaxPath)
	}
	depth := 0
	for e := range strings.SplitSeq(p, "/") {
		if depth++; depth > MaxDepth {
			return fmt.Errorf("more than %d folders deep", MaxDepth-1)
		}
		if len(e) > MaxName {
			return fmt.Errorf("a name of %d bytes, more than %d", len(e), MaxName)
		}
	}
	return nil
}

// Build returns the manifest of entries, leaving out [Excluded] paths. It
// fails on an unsafe or repeated path.
func Build(entries []Entry) ([]byte, error) {
	sorted := make([]Entry, 0, len(entries))
	for _, e := range entries {
		if Excluded(e.Path) {
			continue
		}
		if err := CheckPath(e.Path); err != nil {
			return nil, err
		}
		sorted = append(sorted, e)
	}
	slices.SortFunc(sorted, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	b := make([]byte, 0, len(sorted)*100)
	for i, e := range sorted {
		if i > 0 && sorted[i-1].Path == e.Path {
			return nil, fmt.Errorf("%s listed twice", e.Path)
		}
		b = hex.AppendEncode(b, e.Sum[:])
		b = append(b, "  "...)
		b = append(b, e.Path...)
		b = append(b, '\n')
	}
	return b, nil
}

// Parse reads a manifest strictly: every line must be in the format Build
// writes, in order, with no repeats, and there must be at most
// [MaxEntries] lines. Problems are located errors naming file (the
// manifest's path for messages) and line.
func Parse(file string, data []byte) ([]Entry, error) {
	return ParseReader(file, bytes.NewReader(data))
}

// maxLine is the longest line a manifest may hold: a digest, two spaces,
// a path of [MaxPath] bytes and the newline.
const maxLine = 64 + 2 + MaxPath + 1

// maxParseErrors is the most problems Parse reports; the others are
// counted by a last one.
const maxParseErrors = 100

// ParseReader is [Parse] reading from r as a stream, a line at a time: it
// keeps the entries and at most [maxParseErrors] problems, never the
// manifest's text, and stops at the first line past [MaxEntries]. A line
// longer than any a build writes is skipped without being kept.
func ParseReader(file string, r io.Reader) ([]Entry, error) {
	var errs diag.List
	more := 0
	problem := func(err error) {
		if len(errs) < maxParseErrors {
			errs.Add(err)
		} else {
			more++
		}
	}
	br := bufio.NewReaderSize(r, maxLine+1)
	var entries []Entry
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// Longer than any line a build writes: skip to its end.
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			if n > MaxEntries {
				return nil, diag.Errorf(file, n, "lists more than %d files: more than a reader accepts", MaxEntries)
			}
			problem(diag.Errorf(file, n, "line longer than %d bytes: a path is at most %d bytes", maxLine, MaxPath))
			if err == io.EOF {
				problem(diag.Errorf(file, n, "last line does not end in a newline"))
				break
			}
			if err != nil {
				return nil, diag.Errorf(file, n, "%v", err)
			}
			continue
		}
		if err != nil && err != io.EOF {
			return nil, diag.Errorf(file, n, "%v", err)
		}
		if len(line) == 0 && err == io.EOF {
			break
		}
		if n > MaxEntries {
			return nil, diag.Errorf(file, n, "lists more than %d files: more than a reader accepts", MaxEntries)
		}
		if err == io.EOF {
			problem(diag.Errorf(file, n, "last line does not end in a newline"))
		} else {
			line = line[:len(line)-1]
		}
		if e, ok := parseLine(file, n, line, entries, problem); ok {
			entries = append(entries, e)
		}
		if err == io.EOF {
			break
		}
	}
	if more > 0 {
		errs.Add(fmt.Errorf("%s: %d more problems not listed (only the first %d are)", file, more, maxParseErrors))
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return entries, nil
}

// parseLine parses line n, the entries before it being entries.
func parseLine(file string, n int, line []byte, entries []Entry, problem func(error)) (Entry, bool) {
	var e Entry
	if len(line) < 67 || line[64] != ' ' || line[65] != ' ' {
		problem(diag.Errorf(file, n, "want \"<sha256 hex>  <path>\", got %q", clip(string(line[:min(len(line), 81)]))))
		return e, false
	}
	hexSum := line[:64]
	if bytes.IndexFunc(hexSum, unicode.IsUpper) >= 0 {
		problem(diag.Errorf(file, n, "digest must be lower-case hex"))
		return e, false
	}
	if _, err := hex.Decode(e.Sum[:], hexSum); err != nil {
		problem(diag.Errorf(file, n, "bad digest: %v", err))
		return e, false
	}
	e.Path = string(line[66:])
	if err := CheckPath(e.Path); err != nil {
		problem(diag.Errorf(file, n, "%v", err))
		return e, false
	}
	if Excluded(e.Path) {
		problem(diag.Errorf(file, n, "%s must not list itself or its signature", Name))
		return e, false
	}
	if len(entries) > 0 {
		prev := entries[len(entries)-1].Path
		if prev == e.Path {
			problem(diag.Errorf(file, n, "%s listed twice", e.Path))
			return e, false
		}
		if prev > e.Path {
			problem(diag.Errorf(file, n, "%s is out of order (paths must be sorted by byte order)", e.Path))
			return e, false
		}
	}
	return e, true
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
