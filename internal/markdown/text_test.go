package markdown

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"testing"

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
