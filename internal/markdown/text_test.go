package markdown

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	ghtml "github.com/yuin/goldmark/renderer/html"
)

// The renderer's writer writes into sliceWriter what it writes into a
// bufio.Writer, for text full of what it decodes: backslash escapes,
// character references (named, numeric, bogus, cut short), NULs and
// bytes that are not UTF-8.
func TestSliceWriterWritesAsBufio(t *testing.T) {
	parts := []string{"&amp;", "&#x41;", "&#66;", "&copy;", "&bogus;", "&#0;", "&#", "&", "\\", "\\*", "\\&", "\x00", "\xff", "é", "a", " ", "<", ">", "\"", "&#x1F600;", "&#99999999;", "&lt"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		var v []byte
		for range r.IntN(40) {
			v = append(v, parts[r.IntN(len(parts))]...)
		}
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		ghtml.DefaultWriter.Write(w, v)
		w.Flush()
		var s sliceWriter
		ghtml.DefaultWriter.Write(&s, v)
		if !bytes.Equal(s, b.Bytes()) {
			t.Fatalf("%q: wrote %q, bufio %q", v, s, b.Bytes())
		}
	}
}

// collapseSpace is strings.Fields joined by one space, in place, after
// start; bytes before start are left alone.
func FuzzCollapseSpace(f *testing.F) {
	for _, s := range []string{"", " ", "a", "  a  b\t\nc  ", "x\u0085y\u00a0z\u2028w\u3000", "\xff \xfe\x80 a", "é  ü", "a\v\fb\rc"} {
		f.Add(s, 0)
		f.Add("lead "+s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, start int) {
		if start < 0 || start > len(s) {
			return
		}
		got := string(collapseSpace([]byte(s), start))
		want := s[:start] + strings.Join(strings.Fields(s[start:]), " ")
		if got != want {
			t.Errorf("collapseSpace(%q, %d) = %q, want %q", s, start, got, want)
		}
	})
}

func TestASCIISpace(t *testing.T) {
	for c := range rune(utf8.RuneSelf) {
		if asciiSpace[c] != unicode.IsSpace(c) {
			t.Errorf("asciiSpace[%q] = %v", c, asciiSpace[c])
		}
	}
}

func BenchmarkCollapseSpace(b *testing.B) {
	text := []byte(strings.Repeat("The vendor's  response team\tconfirmed the issue on 12 March;\n a fix ships in 4.2.1 — see the advisory. ", 200))
	buf := make([]byte, len(text))
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		copy(buf, text)
		collapseSpace(buf, 0)
	}
}
