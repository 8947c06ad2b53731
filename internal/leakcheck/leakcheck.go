// Package leakcheck is the build's last line of defence: it scans every
// byte of the rendered output for the text of every restricted passage.
//
// Sealing removes restricted text from the document tree before anything
// is rendered. A bug there (a restricted heading that reaches a table of
// contents, a summary in a feed, a title in a <meta> tag, a block rendered
// in clear) would publish the text; this scan turns such a bug into a
// failed build, reported by [Errors], before the output replaces the
// previous one.
//
// # What is found
//
// Each passage is given as a [Secret]: a set of text fragments, such as the
// plain text of each paragraph and heading, each text run and link target.
// [Scanner.Scan] reports every fragment of at least [MinLen] bytes that
// occurs in an output file, where:
//
//   - the output is compared after decoding HTML and XML character
//     references (&amp;, &#39;, &#x27;, &quot;, &copy; ...), the way
//     [html.UnescapeString] decodes them, so text escaped by goldmark,
//     html/template or encoding/xml is found, in element content and in
//     attribute values alike (tags are not stripped);
//   - whitespace does not count: in fragments and output alike, a run of
//     spaces, tabs, carriage returns and newlines is one space, so a
//     paragraph is found however its lines were broken;
//   - the comparison is otherwise exact: bytes, case-sensitive;
//   - each file's path is checked too (without decoding), for fragments
//     such as the slug of a restricted heading used as a file name.
//
// # What is not found
//
// Text transformed beyond character references and whitespace is not
// found: changed case, percent-encoded URLs, JSON escapes such as \u003c,
// slugs, text truncated or split into pieces shorter than [MinLen], or
// text that only appears split across two elements. The build therefore
// adds such forms (the slug of a restricted heading, for one) as fragments
// of their own, and fragments shorter than [MinLen] bytes are not looked
// for at all, since they would match ordinary words.
//
// A fragment that also occurs in text the site publishes on purpose, given
// to [New], is not looked for either: finding it would prove nothing. A
// concealed secret's fragments ([Secret.Conceal]) are the exception.
//
// # Cost
//
// The scan decodes each file in one pass and then hashes each window of
// [MinLen] bytes of it, as in Rabin–Karp, testing the hash in a Bloom
// filter that nearly all windows fail: its cost grows with the size of
// the output, and hardly with the number of fragments. Files are scanned
// in parallel. Finding which fragments the public text holds costs as
// much for the public text; [NewFrom] does it again only for the text
// that changed since a [Memo].
package leakcheck

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"

	"github.com/conclave-dev/conclave/internal/diag"
)

// Secret is the text of one restricted passage.
type Secret struct {
	File string // source file, e.g. "content/briefings/icasi.md"
	Line int    // line of the passage's opening

	// Texts are fragments of the passage's text: the plain text of each
	// paragraph, heading, table cell and list item, each text run, link
	// targets, code lines, recipient public keys ... Fragments are plain
	// text, not HTML: they are not decoded.
	Texts []string

	// Conceal, if set, marks Texts as secrets in themselves, such as a
	// passphrase: they are looked for even where the public text holds
	// them (published on purpose, they are still leaked), and an error
	// says Conceal ("the passphrase of …") instead of quoting them. A
	// fragment that a concealed secret shares with another is concealed.
	Conceal string
}

// File is one output file.
type File struct {
	Path string // slash-separated output path, e.g. "briefings/icasi/index.html"
	Data []byte
}

// Leak is one restricted fragment found in the output.
type Leak struct {
	// Secret is the passage the fragment belongs to. It points into the
	// slice given to [New]; when several passages share a fragment, it is
	// the first of them.
	Secret *Secret
	// Text is the fragment as it was searched for, whitespace normalised.
	Text string
	// Path is the output file whose contents hold the fragment, or "" if
	// the fragment was found in a file's name; Name is then that file's
	// path.
	Path string
	Name string
	// Offset is the byte offset of the fragment's first occurrence in the
	// file's normalised text (decoded, whitespace collapsed), or in its
	// path for a leak in a name. It is meant for messages.
	Offset int
}

// where is the output path a leak is in, whether in the file's contents or
// its name.
func (l *Leak) where() string {
	if l.Path == "" {
		return l.Name
	}
	return l.Path
}

// MinLen is the shortest fragment, in bytes, that Scan looks for; shorter
// fragments are ignored (they would match ordinary words).
const MinLen = 8

// The search reads windows of MinLen bytes as one uint64: this fails to
// compile if MinLen is changed.
const _ = uint(MinLen-8) + uint(8-MinLen)

// Scanner searches output for the fragments given to [New]. It is safe for
// concurrent use.
type Scanner struct {
	secrets []*Secret
	m       *matcher
	memo    *Memo // from NewFrom
}

// New prepares a scanner for secrets.
//
// public holds the text that the site publishes on purpose: the plain text
// of every public paragraph, heading, code block and front matter value,
// the configuration, the theme's files. A fragment that occurs in one of
// them is not a leak, and is not looked for. Each public text is compared
// with whitespace normalised as in output, both as it is and with its
// character references decoded, so that plain text and HTML can both be
// given.
func New(secrets []Secret, public [][]byte) *Scanner {
	return newScanner(secrets, public, nil, false)
}

// NewFrom is [New], reusing what an earlier scanner learned of the public
// texts (was, from its [Scanner.Memo]; nil: nothing): a fragment is
// looked for again only in the texts that scanner did not look in, unless
// it is new, or the text it was found in is gone and the new texts do
// not hold it either. The scanner is the
// one New would make, fragment for fragment, and its Memo gives what it
// learned, for the next.
func NewFrom(secrets []Secret, public [][]byte, was *Memo) *Scanner {
	return newScanner(secrets, public, was, true)
}

func newScanner(secrets []Secret, public [][]byte, was *Memo, remember bool) *Scanner {
	s := &Scanner{secrets: make([]*Secret, len(secrets))}
	n, size := 0, 0
	for i := range secrets {
		n += len(secrets[i].Texts)
		for _, t := range secrets[i].Texts {
			size += len(t)
		}
	}
	arena := make([]byte, 0, size)
	frags := make([]frag, 0, n)
	// Fragments by hash of their text; same[i] is the next fragment with
	// the hash of fragment i, or -1.
	seed := maphash.MakeSeed()
	byHash := make(map[uint64]int32, n)
	var same []int32
	for i := range secrets {
		s.secrets[i] = &secrets[i]
	texts:
		for _, t := range secrets[i].Texts {
			off := len(arena)
			arena = appendFragment(arena, t)
			f := arena[off:]
			if len(f) < MinLen {
				arena = arena[:off]
				continue
			}
			h := maphash.Bytes(seed, f)
			first, ok := byHash[h]
			for j := first; ok && j >= 0; j = same[j] {
				if bytes.Equal(arena[frags[j].off:][:frags[j].n], f) {
					if secrets[i].Conceal != "" && secrets[frags[j].secret].Conceal == "" {
						frags[j].secret = int32(i) // never quoted, always looked for
					}
					arena = arena[:off]
					continue texts
				}
			}
			if !ok {
				first = -1
			}
			byHash[h] = int32(len(frags))
			same = append(same, first)
			frags = append(frags, frag{off: int32(off), n: int32(len(f)), secret: int32(i)})
		}
	}
	s.m, s.memo = newMatcher(arena, frags, public, func(f frag) bool { return s.secrets[f.secret].Conceal != "" }, was, remember)
	return s
}

// Fingerprint is a digest of what s looks for: the text of each fragment
// it searches, as normalised, after those that occur in the public text
// were dropped (see [New]). What Scan finds in a file depends on nothing
// else than those and the file's path and bytes, so a file that a scanner
// of the same fingerprint found clean, under the same path and with the
// same bytes, is clean for s too: a build need not scan it again.
//
// The fingerprint also names the version of the matching rules
// (matchRules): a conclave that matches otherwise has other fingerprints.
func (s *Scanner) Fingerprint() [sha256.Size]byte {
	texts := make([][]byte, len(s.m.frags))
	for i, f := range s.m.frags {
		texts[i] = s.m.text(f)
	}
	slices.SortFunc(texts, bytes.Compare)
	h := sha256.New()
	h.Write([]byte(matchRules))
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(texts)))])
	for _, t := range texts {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(t)))])
		h.Write(t)
	}
	return [sha256.Size]byte(h.Sum(nil))
}

// matchRules names the rules by which Scan matches fragments: how text
// is normalised and what counts as an occurrence. Change it with them, so
// that no file found clean under the old rules is taken as clean under
// the new (see [Scanner.Fingerprint]).
const matchRules = "conclave leakcheck: decoded references, collapsed whitespace, exact bytes, paths plain; v1\x00"

// Scan returns every leak in files, sorted by output path (a leak in a
// file's name first), then offset; at most one per fragment and file, at
// its first occurrence. It checks each file's contents and its path.
//
// Scan is safe for concurrent use, and uses up to GOMAXPROCS goroutines
// for large inputs.
func (s *Scanner) Scan(files []File) []Leak {
	m := s.m
	if len(m.frags) == 0 || len(files) == 0 {
		return nil
	}
	var total int
	for i := range files {
		total += len(files[i].Data)
	}
	// Largest files first, so that no worker is left with a big one at the
	// end.
	order := make([]int32, len(files))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int {
		return cmp.Compare(len(files[b].Data), len(files[a].Data))
	})
	states := spread(len(order), total, m.newState, func(st *state, k int) {
		i := order[k]
		f := &files[i]
		st.id++
		st.path = append(st.path[:0], f.Path...)
		st.buf = normPlain(st.buf[:0], st.path)
		st.find(st.buf, i, true)
		st.id++
		st.buf = normText(st.buf[:0], f.Data)
		st.find(st.buf, i, false)
	})
	var leaks []Leak
	for _, st := range states {
		for _, h := range st.hits {
			f := m.frags[h.frag]
			l := Leak{
				Secret: s.secrets[f.secret],
				Text:   string(m.text(f)),
				Path:   files[h.file].Path,
				Offset: h.pos,
			}
			if h.name {
				l.Path, l.Name = "", files[h.file].Path
			}
			leaks = append(leaks, l)
		}
	}
	slices.SortFunc(leaks, compareLeaks)
	return leaks
}

// compareLeaks orders leaks as Scan returns them.
func compareLeaks(a, b Leak) int {
	if c := cmp.Compare(a.where(), b.where()); c != 0 {
		return c
	}
	// A leak in the name first.
	if an, bn := a.Path == "", b.Path == ""; an != bn {
		if an {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(a.Offset, b.Offset); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Text, b.Text); c != 0 {
		return c
	}
	return compareSecrets(a.Secret, b.Secret)
}

func compareSecrets(a, b *Secret) int {
	switch {
	case a == b:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	if c := cmp.Compare(a.File, b.File); c != 0 {
		return c
	}
	return cmp.Compare(a.Line, b.Line)
}

// Errors turns leaks into located errors, one per passage and output file,
// each naming the passage's source file and line and quoting (the start
// of) the longest of its fragments found there (a concealed secret is
// named by its [Secret.Conceal] instead):
//
//	content/x.md:14: restricted text "…" appears in briefings/x/index.html (a bug in conclave: please report it); the build was stopped and nothing was published
//
// A leak into a file in copies (output paths of files published as they
// are, not rendered) is the author's copy of the passage, not a bug: its
// message says to take the text out of the file.
//
// The result is a [diag.List], or nil if there are no leaks.
func Errors(leaks []Leak, copies map[string]bool) error {
	type key struct {
		secret *Secret
		where  string
		name   bool
	}
	best := map[key]Leak{}
	var order []key
	for _, l := range leaks {
		k := key{l.Secret, l.where(), l.Path == ""}
		b, ok := best[k]
		if !ok {
			order = append(order, k)
		}
		if !ok || len(l.Text) > len(b.Text) || len(l.Text) == len(b.Text) && l.Offset < b.Offset {
			best[k] = l
		}
	}
	var list diag.List
	for _, k := range order {
		l := best[k]
		place := k.where
		if k.name {
			place = "the file name " + place
		}
		msg := fmt.Sprintf("restricted text %s appears in %s (a bug in conclave: please report it); the build was stopped and nothing was published", quote(l.Text), place)
		if copies[l.Path] {
			msg = fmt.Sprintf("restricted text %s appears in %s, a file of the site published as it is: take the passage's text out of the file; the build was stopped and nothing was published", quote(l.Text), place)
		}
		if l.Secret != nil && l.Secret.Conceal != "" {
			msg = fmt.Sprintf("%s appears in %s: take it out of the site, and treat it as exposed (change it); the build was stopped and nothing was published", l.Secret.Conceal, place)
		}
		if l.Secret == nil {
			list.Add(errors.New(msg))
			continue
		}
		list.Add(diag.Errorf(l.Secret.File, l.Secret.Line, "%s", msg))
	}
	return list.Err()
}

// quoteMax is how many characters of a fragment an error quotes.
const quoteMax = 60

// quote quotes the first quoteMax characters of s, marking a cut with "…".
func quote(s string) string {
	n := 0
	for i := range s {
		if n == quoteMax {
			return strconv.Quote(s[:i] + "…")
		}
		n++
	}
	return strconv.Quote(s)
}
