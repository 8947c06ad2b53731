package search

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/conclave-dev/conclave/internal/format"
)

// termList is what t holds, as words and frequencies, in order.
func termList(t Terms) []string {
	var out []string
	t.Each(func(term string, f int) { out = append(out, fmt.Sprintf("%s=%d", term, f)) })
	return out
}

// A document's terms keep their words, order and frequencies through a
// cache file, read by a process whose dictionary numbers them otherwise;
// a document counted again gives equal Terms.
func TestTermsGob(t *testing.T) {
	d := &Doc{SearchDoc: format.SearchDoc{Title: "Vendor advisory", Text: "The vendor ships the fix; the fix is out. Ünïcode wörds 42."}, Headings: []string{"Fix"}}
	d.Prepare()
	want := []string{"vendor=5", "advisory=4", "fix=4", "the=3", "ships=1", "is=1", "out=1", "ünïcode=1", "wörds=1", "42=1"}
	if got := termList(d.TF); !slices.Equal(got, want) || d.TF.Len() != len(want) {
		t.Fatalf("terms %v (%d), want %v", got, d.TF.Len(), want)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(d); err != nil {
		t.Fatal(err)
	}
	var back Doc
	if err := gob.NewDecoder(&buf).Decode(&back); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Terms read and not adopted were used")
			}
		}()
		termList(back.TF)
	}()
	if _, err := back.TF.GobEncode(); err == nil {
		t.Error("Terms read and not adopted were written")
	}
	if err := back.TF.Adopt(NewVocabulary(Words())); err != nil {
		t.Fatal(err)
	}
	if got := termList(back.TF); !slices.Equal(got, want) || !back.TF.Equal(d.TF) || back.Length != d.Length {
		t.Errorf("read back %v, length %d", got, back.Length)
	}
	again := &Doc{SearchDoc: d.SearchDoc, Headings: d.Headings}
	again.Prepare()
	if !again.TF.Equal(d.TF) {
		t.Error("the same document counted twice gives other Terms")
	}
	// A document that was never counted stays so.
	buf.Reset()
	if err := gob.NewEncoder(&buf).Encode(&Doc{SearchDoc: format.SearchDoc{URL: "/x/"}}); err != nil {
		t.Fatal(err)
	}
	var zero Doc
	if err := gob.NewDecoder(&buf).Decode(&zero); err != nil || !zero.TF.IsZero() {
		t.Errorf("zero terms read back as %v, %v", zero.TF, err)
	}
}

// Terms written by another process are numbered by its vocabulary, not
// this process's: numbers 0, 1 and 2 of a file whose words are its own.
func TestTermsAdoptOtherNumbers(t *testing.T) {
	v := NewVocabulary([]string{"zzadoptfirst", "vendor", "zzadoptthird"})
	var tm Terms
	if err := tm.GobDecode([]byte{3, 2, 0, 1, 4, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := tm.Adopt(v); err != nil {
		t.Fatal(err)
	}
	if got, want := termList(tm), []string{"zzadoptthird=4", "zzadoptfirst=1", "vendor=2"}; !slices.Equal(got, want) {
		t.Errorf("adopted %v, want %v", got, want)
	}
	for _, c := range []struct {
		words []string
		b     []byte
	}{
		{[]string{"one"}, []byte{1, 1, 1}},       // a number past the vocabulary
		{[]string{"Upper"}, []byte{1, 0, 1}},     // not a term: terms are lower case
		{[]string{"two words"}, []byte{1, 0, 1}}, // not a term
		{[]string{""}, []byte{1, 0, 1}},          // empty
	} {
		var tm Terms
		if err := tm.GobDecode(c.b); err != nil {
			t.Fatal(err)
		}
		if err := tm.Adopt(NewVocabulary(c.words)); err == nil {
			t.Errorf("%q % x adopted", c.words, c.b)
		}
	}
}

// What GobDecode refuses: anything GobEncode does not write.
func TestTermsGobDamaged(t *testing.T) {
	for _, b := range [][]byte{
		{5, 1, 2},                            // numbers cut short
		{1, 1},                               // no frequency
		{1, 1, 1, 2},                         // one number, two frequencies
		{2, 1, 2, 1},                         // two numbers, one frequency
		{1, 0x81, 1},                         // a number cut short
		{2, 0x81, 0, 1},                      // a number written long
		{1, 1, 0x81},                         // a frequency cut short
		{1, 1, 0x81, 0},                      // a frequency written long
		{0x80},                               // a length cut short
		{0x81, 0, 1, 1},                      // a length written long
		{5, 0xff, 0xff, 0xff, 0xff, 0x10, 1}, // a number past 32 bits
	} {
		var tm Terms
		if err := tm.GobDecode(b); err == nil {
			t.Errorf("% x: read", b)
		}
	}
}

// Documents counted at once number their terms at once: every term gets
// one number, and each document reads back its own words.
func TestTermsConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	docs := make([]*Doc, 64)
	for i := range docs {
		docs[i] = &Doc{SearchDoc: format.SearchDoc{Text: fmt.Sprintf("shared words concurrentword%d concurrentword%d", i, i%7)}}
		wg.Go(docs[i].Prepare)
	}
	wg.Wait()
	for i, d := range docs {
		want := []string{"shared=1", "words=1", fmt.Sprintf("concurrentword%d=1", i)}
		if i%7 != i {
			want = append(want, fmt.Sprintf("concurrentword%d=1", i%7))
		} else {
			want[2] = fmt.Sprintf("concurrentword%d=2", i)
		}
		if got := termList(d.TF); !slices.Equal(got, want) {
			t.Errorf("doc %d: %v, want %v", i, got, want)
		}
	}
}

// FuzzTermsGobDecode: GobDecode never panics; what it accepts, adopted
// by a vocabulary that holds its numbers, it writes back as it read it
// when the process numbers the words alike.
func FuzzTermsGobDecode(f *testing.F) {
	d := &Doc{SearchDoc: format.SearchDoc{Text: "fuzz the terms of the fuzz"}}
	d.Prepare()
	b, _ := d.TF.GobEncode()
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var tm Terms
		if err := tm.GobDecode(b); err != nil {
			return
		}
		if err := tm.Adopt(NewVocabulary(Words())); err != nil {
			return // a number the dictionary does not hold
		}
		out, err := tm.GobEncode()
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("% x read and written back as % x (%v)", b, out, err)
		}
	})
}

// TestUnseen is a property test: on random documents and texts, the terms
// left unseen are the document's terms that no text holds, as Tokens
// cuts them, in the document's order.
func TestUnseen(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 9))
	pool := []string{"Vendor", "vendor", "CVE-2026-1234", "é", "Émbargo", "鍵", "x", "42", "patch", "firmware", "a", "b", "PSIRT", "straße", "ΣΊΣΥΦΟΣ", "--", "&"}
	text := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(pool[r.IntN(len(pool))])
			b.WriteString([]string{" ", "", ".", "\n", "<b>"}[r.IntN(5)])
		}
		return b.String()
	}
	nonEmpty, left := 0, 0
	for range 2000 {
		d := &Doc{SearchDoc: format.SearchDoc{Title: text(2), Text: text(r.IntN(8))}, Tags: []string{text(1)}}
		d.Prepare()
		texts := make([]string, r.IntN(4))
		for i := range texts {
			texts[i] = text(r.IntN(60))
		}
		have := map[string]bool{}
		AddTerms(have, texts...)
		var want []string
		d.TF.Each(func(term string, _ int) {
			if !have[term] {
				want = append(want, term)
			}
		})
		u := d.TF.Unseen()
		for _, s := range texts { // one at a time, or all at once
			if r.IntN(2) == 0 {
				u.See(s)
			} else {
				u.See(texts...)
				break
			}
		}
		if got := u.notMet(); !slices.Equal(got, want) || u.Done() != (len(want) == 0) {
			t.Fatalf("doc %+v texts %q: unseen %q (done %v), want %q", d, texts, got, u.Done(), want)
		}
		if d.TF.Len() > 0 {
			nonEmpty++
		}
		if len(want) > 0 {
			left++
		}
	}
	if nonEmpty < 1000 || left < 200 || left > 1800 {
		t.Errorf("%d documents with terms, %d with terms left of 2000: the generator does not exercise both outcomes", nonEmpty, left)
	}
}

// notMet returns the terms not met yet, in the order of t.
func (u *Unseen) notMet() []string {
	var out []string
	for k, w := range u.terms {
		if !u.met[k] {
			out = append(out, w)
		}
	}
	return out
}
