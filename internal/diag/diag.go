// Package diag holds the located errors and warnings that every stage of a
// build reports.
//
// An [Error] names a file relative to the site root and, where it is known, a
// line and column. Its message reads like a compiler's:
//
//	content/briefings/icasi.md:14: unknown recipient "junper" (did you mean "juniper"?)
//
// A [List] collects several of them so that one build run reports every
// problem it found, one per line, instead of stopping at the first.
package diag

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error is a problem at a place in a file. File is slash-separated and
// relative to the site root. Line and Col are 1-based; zero means unknown.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
	Err  error // optional underlying error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an [*Error] at file:line with a formatted message.
func Errorf(file string, line int, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Warning is a located problem that does not stop the build.
type Warning = Error

// List is a set of errors reported together. The zero value is ready to use.
// Its Error method prints one error per line, sorted by file and line.
type List []error

// Add appends err to the list; a nil err is ignored. A List added to a
// List is flattened, at any depth, so that every error is reported on its
// own.
func (l *List) Add(err error) {
	if err == nil {
		return
	}
	var sub List
	if errors.As(err, &sub) {
		for _, e := range sub {
			l.Add(e)
		}
		return
	}
	*l = append(*l, err)
}

// Err returns nil if the list is empty, and otherwise the list sorted and
// without repeated messages.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	out := l[:1]
	for _, e := range l[1:] {
		if e.Error() != out[len(out)-1].Error() {
			out = append(out, e)
		}
	}
	return out
}

// Sort orders located errors by file, line and column, then the other
// errors by message.
func (l List) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, aok := l[i].(*Error)
		b, bok := l[j].(*Error)
		switch {
		case aok && bok:
			if a.File != b.File {
				return a.File < b.File
			}
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Col < b.Col
		case !aok && !bok:
			return l[i].Error() < l[j].Error()
		default:
			return aok && !bok
		}
	})
}

func (l List) Error() string {
	var b strings.Builder
	for i, err := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap lets [errors.Is] and [errors.As] see every error in the list.
func (l List) Unwrap() []error { return l }

// Suggest returns the candidate closest to name, or "" if none is close
// enough to be a likely typo. It is meant for "did you mean" hints.
func Suggest(name string, candidates []string) string {
	limit := max(2, len([]rune(name))/3)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if c == name {
			continue
		}
		if d := Distance(name, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// Distance is the Levenshtein edit distance between a and b, in runes.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
