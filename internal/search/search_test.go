package search

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/conclave-dev/conclave/internal/format"
)

func tokens(s string) []string {
	var out []string
	Tokens(s, func(t string) { out = append(out, t) })
	return out
}

func TestTokens(t *testing.T) {
	for in, want := range map[string][]string{
		"CVE-2024-3094 in xz-utils":         {"cve", "2024", "3094", "in", "xz", "utils"},
		"a I x":                             nil,
		"Vendor's advisory, Ünïcode résumé": {"vendor", "advisory", "ünïcode", "résumé"},
		strings.Repeat("A", 40):             {strings.Repeat("a", format.SearchMaxTerm)},
		"<p>HTML&amp;text</p>":              {"html", "amp", "text"},
		"Ελληνικά 日本, 𝐀𝐁 \xe2\x82":          {"ελληνικά", "日本", "𝐀𝐁"},
	} {
		if got := tokens(in); !slices.Equal(got, want) {
			t.Errorf("Tokens(%q) = %q, want %q", in, got, want)
		}
	}
}

// AppendDistinct gives the terms Tokens gives, each once, in the order
// first seen, from bytes as from strings: invalid UTF-8, marks, scripts
// and cut terms included.
func TestAppendDistinct(t *testing.T) {
	texts := []string{
		"CVE-2024-3094 in xz-utils, cve again", "Ünïcode résumé \xff\xfe broken \xe2\x82",
		"Ελληνικά, 日本語のテキスト, e\u0301tude", strings.Repeat("Long", 20) + " xz",
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("aZ9 -é\u0301日\xffΩ.")
	for range 200 {
		var b strings.Builder
		for range r.IntN(40) {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		texts = append(texts, b.String())
	}
	var want []byte
	seen := map[string]bool{"in": true}
	var byteTexts [][]byte
	for _, s := range texts {
		for _, term := range tokens(s) {
			if !seen[term] {
				seen[term] = true
				want = append(append(want, term...), '\n')
			}
		}
		byteTexts = append(byteTexts, []byte(s))
	}
	got := AppendDistinct([]byte("x\n"), map[string]bool{"in": true}, byteTexts, 0)
	if want = append([]byte("x\n"), want...); !bytes.Equal(got, want) {
		t.Errorf("AppendDistinct =\n%q\nwant\n%q", got, want)
	}
}

// decode reads a term's postings back.
func decode(t *testing.T, b64 string) [][2]int {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]int
	doc := -1
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 || len(b) < n+1 {
			t.Fatalf("bad postings %q", b64)
		}
		doc += int(d)
		out = append(out, [2]int{doc, int(b[n])})
		b = b[n+1:]
	}
	return out
}

// Every term of every document is in exactly one shard, the one of its
// longest listed prefix, with a posting for each document that holds it;
// shards stay near their size; documents are numbered by date.
func TestPublicIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := make([]string, 3000)
	for i := range words {
		words[i] = fmt.Sprintf("%c%c%cword%d", 'a'+r.IntN(5), 'a'+r.IntN(26), 'a'+r.IntN(26), i)
	}
	var docs []*Doc
	has := map[string]map[string]bool{} // term → URLs
	for i := range 400 {
		var text []string
		for range 60 {
			text = append(text, words[r.IntN(len(words))])
		}
		d := &Doc{SearchDoc: format.SearchDoc{URL: fmt.Sprintf("p%03d/", i), Title: "Title", Text: strings.Join(text, " ")}, Sort: fmt.Sprintf("2026-01-%02d", 28-i%28)}
		docs = append(docs, d)
		for _, w := range append(text, "title") {
			if has[w] == nil {
				has[w] = map[string]bool{}
			}
			has[w][d.URL] = true
		}
	}
	x := Public(docs)
	for i := 1; i < len(x.Docs); i++ {
		if x.Docs[i-1].Sort > x.Docs[i].Sort {
			t.Fatalf("documents not in date order at %d", i)
		}
	}
	if len(x.Shards) < 4 {
		t.Errorf("%d shards, want the index split", len(x.Shards))
	}
	prefixes := map[string]bool{}
	for _, s := range x.Shards {
		prefixes[s.Prefix] = true
		if n := len(s.Data()); n > 2*ShardSize {
			t.Errorf("shard %q is %d bytes", s.Prefix, n)
		}
	}
	seen := map[string]bool{}
	for _, s := range x.Shards {
		for term, b64 := range s.Terms() {
			if !strings.HasPrefix(term, s.Prefix) {
				t.Errorf("term %q in shard %q", term, s.Prefix)
			}
			for l := len(term); l > len(s.Prefix); l-- {
				if prefixes[term[:l]] {
					t.Errorf("term %q in shard %q, not in the longer %q", term, s.Prefix, term[:l])
				}
			}
			if seen[term] {
				t.Errorf("term %q twice", term)
			}
			seen[term] = true
			got := map[string]bool{}
			for _, p := range decode(t, b64) {
				if p[1] < 1 || p[1] > 255 {
					t.Errorf("weight %d", p[1])
				}
				got[x.Docs[p[0]].URL] = true
			}
			if len(got) != len(has[term]) {
				t.Errorf("term %q: %d documents, want %d", term, len(got), len(has[term]))
			}
			for u := range got {
				if !has[term][u] {
					t.Errorf("term %q: posting for %s, which does not hold it", term, u)
				}
			}
		}
	}
	if len(seen) != len(has) {
		t.Errorf("%d terms indexed, want %d", len(seen), len(has))
	}
	var root format.SearchRoot
	if err := json.Unmarshal(x.Root(nil), &root); err != nil || root.Docs != 400 || len(root.Shards) != len(x.Shards) || root.Sealed == nil {
		t.Errorf("root %+v, %v", root, err)
	}
}

// A word of the title weighs more than the same word in the body, and a
// word said often more than once; a long document's word less.
func TestWeights(t *testing.T) {
	if !(weight(4, 100) > weight(1, 100) && weight(2, 100) > weight(1, 100) && weight(1, 100) > weight(1, 3000)) {
		t.Errorf("weights: %d %d %d %d", weight(4, 100), weight(2, 100), weight(1, 100), weight(1, 3000))
	}
	if weight(1, 1e6) < 1 || weight(1e6, 1) > 255 {
		t.Error("weights out of range")
	}
}

// A few words added to a page change the postings of those words only:
// the page's length, by steps of about 9%, gives its other words the
// same weights, so their shards are the same bytes.
func TestWeightsLocalEdit(t *testing.T) {
	var words []string
	for i := range 600 {
		words = append(words, fmt.Sprintf("w%d", i%150))
	}
	text := strings.Join(words, " ")
	docs := func(extra string) []*Doc {
		return []*Doc{
			{SearchDoc: format.SearchDoc{URL: "a/", Title: "A", Text: text + extra}},
			{SearchDoc: format.SearchDoc{URL: "b/", Title: "B", Text: "w1 w2 other words"}},
		}
	}
	before, _ := index(docs(""))
	after, _ := index(docs(" new1 new2 new3 w7 new4"))
	for term, p := range before {
		if term != "w7" && !bytes.Equal(p, after[term]) {
			t.Errorf("postings of %q changed", term)
		}
	}
	if bytes.Equal(before["w7"], after["w7"]) || after["new1"] == nil {
		t.Errorf("the edit's own words: w7 %v, new1 %v", before["w7"], after["new1"])
	}
	if lengthStep(600) != lengthStep(605) || lengthStep(600) == lengthStep(700) {
		t.Errorf("length steps: 600 %v, 605 %v, 700 %v", lengthStep(600), lengthStep(605), lengthStep(700))
	}
}

// A sealed index holds its terms in its root while small, in shards of
// their own when large.
func TestSealed(t *testing.T) {
	small := Sealed([]*Doc{{SearchDoc: format.SearchDoc{URL: "a/", Text: "embargoed detail"}}})
	var r format.SealedSearch
	if err := json.Unmarshal(small.Root(nil), &r); err != nil || len(r.Terms) != 2 || r.Shards != nil || len(r.Docs) != 1 {
		t.Fatalf("small: %+v %v", r, err)
	}
	var docs []*Doc
	for i := range 3000 {
		docs = append(docs, &Doc{SearchDoc: format.SearchDoc{URL: "a/", Text: fmt.Sprintf("w%dx y%dz q%dq", i, i*7, i*13)}})
	}
	large := Sealed(docs)
	if len(large.Shards) < 2 {
		t.Fatalf("large: %d shards", len(large.Shards))
	}
	packets := map[string]string{}
	for _, s := range large.Shards {
		packets[s.Prefix] = "packets/x.age"
	}
	r = format.SealedSearch{}
	if err := json.Unmarshal(large.Root(packets), &r); err != nil || r.Terms != nil || len(r.Shards) != len(large.Shards) {
		t.Fatalf("large: %d shards, %d terms, %v", len(r.Shards), len(r.Terms), err)
	}
}

func TestCut(t *testing.T) {
	s := strings.Repeat("é", MaxText)
	c := cut(s, MaxText)
	if len(c) > MaxText || !utf8.ValidString(c) {
		t.Errorf("cut: %d bytes, valid %v", len(c), utf8.ValidString(c))
	}
}

// Tokens never panics, and gives terms of 2 to SearchMaxTerm letters,
// lowercased, that the text holds.
func FuzzTokens(f *testing.F) {
	f.Add("CVE-2024-3094 in xz-utils")
	f.Add("Ünïcode ǅ İstanbul ΣΑΣ")
	f.Add("\xff\xfe bad utf8")
	f.Fuzz(func(t *testing.T, s string) {
		Tokens(s, func(term string) {
			if n := utf8.RuneCountInString(term); n < 2 || n > format.SearchMaxTerm {
				t.Errorf("term %q of %d letters", term, n)
			}
		})
	})
}

// Public never panics, whatever the text, and every shard is valid JSON.
func FuzzPublic(f *testing.F) {
	f.Add("alpha beta", "gamma alpha", "T")
	f.Add("", "\x00", "ǅǅ")
	f.Fuzz(func(t *testing.T, a, b, title string) {
		x := Public([]*Doc{{SearchDoc: format.SearchDoc{URL: "a/", Title: title, Text: a}}, {SearchDoc: format.SearchDoc{URL: "b/", Text: b}}})
		for _, s := range x.Shards {
			if !json.Valid(s.Data()) {
				t.Fatalf("shard %q is not JSON", s.Prefix)
			}
		}
		if !json.Valid(x.Root(nil)) {
			t.Fatal("root is not JSON")
		}
	})
}

// BenchmarkPrepare counts the terms of a page of about 5 KB, 400 words of
// it distinct: what every page of a build pays once.
func BenchmarkPrepare(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	var text strings.Builder
	for text.Len() < 5000 {
		fmt.Fprintf(&text, "word%d ", r.IntN(400))
	}
	d := Doc{SearchDoc: format.SearchDoc{Title: "A briefing title", Text: text.String()}, Tags: []string{"firmware", "cve"}, Headings: []string{"Impact", "Mitigation"}}
	b.ReportAllocs()
	for b.Loop() {
		d.TF = Terms{}
		d.Prepare()
	}
}

// BenchmarkPublic indexes 20,000 documents of about 400 distinct terms
// drawn from a vocabulary of 60,000: the public index of a large site.
func BenchmarkPublic(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	docs := make([]*Doc, 20000)
	for i := range docs {
		var text strings.Builder
		for text.Len() < 4000 {
			fmt.Fprintf(&text, "w%d ", int(r.ExpFloat64()*3000)%60000)
		}
		docs[i] = &Doc{SearchDoc: format.SearchDoc{URL: fmt.Sprintf("/p/%d/", i), Title: "Page", Text: text.String()}}
		docs[i].Prepare()
	}
	b.ResetTimer()
	for b.Loop() {
		Public(docs)
	}
}

// A document's fingerprint changes with every field of it, the
// embedded SearchDoc's included: a field added later fails this test until
// the fingerprint and the test know it.
func TestDocFingerprintCoversFields(t *testing.T) {
	page := 3
	base := func() *Doc {
		d := &Doc{SearchDoc: format.SearchDoc{URL: "b/x/", Title: "T", Date: "1 May", ISO: "2024-05-01", TLP: "TLP:AMBER", Class: "amber", Audience: "board", Page: &page, Text: "Some text"},
			Tags: []string{"a"}, Headings: []string{"H"}, Sort: "2024", Length: 9}
		d.TF, _ = (&Doc{SearchDoc: format.SearchDoc{Title: "some words"}}).count()
		return d
	}
	fp := func(d *Doc) string {
		var b bytes.Buffer
		d.Fingerprint(&b)
		return b.String()
	}
	want := fp(base())
	if fp(base()) != want {
		t.Fatal("the same document, two fingerprints")
	}
	var visit func(v reflect.Value, path string)
	changed := 0
	visit = func(v reflect.Value, path string) {
		for i := range v.NumField() {
			f, name := v.Field(i), path+v.Type().Field(i).Name
			if v.Type().Field(i).Anonymous {
				visit(f, name+".")
				continue
			}
			d := base()
			dv := reflect.ValueOf(d).Elem()
			for _, part := range strings.Split(name, ".") {
				dv = dv.FieldByName(part)
			}
			switch x := dv.Addr().Interface().(type) {
			case *string:
				*x += "!"
			case *int:
				*x++
			case **int:
				other := page + 1
				*x = &other
			case *[]string:
				*x = append(*x, "more")
			case *Terms:
				*x, _ = (&Doc{SearchDoc: format.SearchDoc{Title: "other words"}}).count()
			default:
				t.Fatalf("field %s (%T): the test does not know how to change it", name, x)
			}
			if fp(d) == want {
				t.Errorf("changing %s leaves the fingerprint as it was", name)
			}
			changed++
		}
	}
	visit(reflect.ValueOf(*base()), "")
	if changed < 14 {
		t.Errorf("only %d fields changed", changed)
	}
	// A document whose terms were not worked out differs from one whose
	// were, and no Page differs from page 0.
	d := base()
	d.TF = Terms{}
	zero := 0
	e := base()
	e.Page = nil
	f := base()
	f.Page = &zero
	if fp(d) == want || fp(e) == fp(f) {
		t.Error("a missing field fingerprints as a present one")
	}
}
