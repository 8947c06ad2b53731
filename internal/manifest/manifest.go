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
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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

// CheckPath reports whether p is a clean relative slash path that stays in
// its folder: not empty, not absolute, no "." or ".." elements, no
// backslash, no control characters.
func CheckPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "." ||
		p == ".." || strings.HasPrefix(p, "../") || strings.ContainsAny(p, "\\\x00") {
		return fmt.Errorf("%w %q", ErrUnsafePath, p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w %q: control character", ErrUnsafePath, p)
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
	var errs diag.List
	lineCount := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		lineCount++
		errs.Add(diag.Errorf(file, lineCount, "last line does not end in a newline"))
	}
	if lineCount > MaxEntries {
		return nil, diag.Errorf(file, MaxEntries+1, "lists more than %d files: more than a reader accepts", MaxEntries)
	}
	entries := make([]Entry, 0, lineCount)
	rest := data
	for n := 1; len(rest) > 0; n++ {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if len(line) < 67 || line[64] != ' ' || line[65] != ' ' {
			errs.Add(diag.Errorf(file, n, "want \"<sha256 hex>  <path>\", got %q", clip(string(line[:min(len(line), 81)]))))
			continue
		}
		var e Entry
		hexSum := line[:64]
		if bytes.IndexFunc(hexSum, unicode.IsUpper) >= 0 {
			errs.Add(diag.Errorf(file, n, "digest must be lower-case hex"))
			continue
		}
		if _, err := hex.Decode(e.Sum[:], hexSum); err != nil {
			errs.Add(diag.Errorf(file, n, "bad digest: %v", err))
			continue
		}
		e.Path = string(line[66:])
		if err := CheckPath(e.Path); err != nil {
			errs.Add(diag.Errorf(file, n, "%v", err))
			continue
		}
		if Excluded(e.Path) {
			errs.Add(diag.Errorf(file, n, "%s must not list itself or its signature", Name))
			continue
		}
		if len(entries) > 0 {
			prev := entries[len(entries)-1].Path
			if prev == e.Path {
				errs.Add(diag.Errorf(file, n, "%s listed twice", e.Path))
				continue
			}
			if prev > e.Path {
				errs.Add(diag.Errorf(file, n, "%s is out of order (paths must be sorted by byte order)", e.Path))
				continue
			}
		}
		entries = append(entries, e)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return entries, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
