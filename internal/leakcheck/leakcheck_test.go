package leakcheck

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html"
	"html/template"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// collapse is the reference whitespace rule: each run of spaces, tabs,
// carriage returns and newlines becomes one space.
func collapse(s string) string {
	var b strings.Builder
	inSpace := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\r', '\n':
			if !inSpace {
				b.WriteByte(' ')
			}
			inSpace = true
		default:
			b.WriteByte(c)
			inSpace = false
		}
	}
	return b.String()
}

// naiveScan is the reference implementation of New followed by Scan,
// slow and obviously right.
func naiveScan(secrets []Secret, public [][]byte, files []File) []Leak {
	type fragment struct {
		text   string
		secret *Secret
	}
	var pub []string
	for _, p := range public {
		pub = append(pub, collapse(string(p)), collapse(html.UnescapeString(string(p))))
	}
	// Each fragment belongs to the first secret that has it, or to the
	// first concealed one; only a concealed fragment is looked for where
	// the public text holds it.
	owner := map[string]*Secret{}
	var order []string
	for i := range secrets {
		for _, t := range secrets[i].Texts {
			f := strings.Trim(collapse(t), " ")
			if len(f) < MinLen {
				continue
			}
			prev, seen := owner[f]
			if !seen {
				order = append(order, f)
			}
			if !seen || prev.Conceal == "" && secrets[i].Conceal != "" {
				owner[f] = &secrets[i]
			}
		}
	}
	var frags []fragment
	for _, f := range order {
		if owner[f].Conceal != "" || !slices.ContainsFunc(pub, func(p string) bool { return strings.Contains(p, f) }) {
			frags = append(frags, fragment{f, owner[f]})
		}
	}
	var leaks []Leak
	for _, file := range files {
		name := collapse(file.Path)
		text := collapse(html.UnescapeString(string(file.Data)))
		for _, f := range frags {
			if i := strings.Index(name, f.text); i >= 0 {
				leaks = append(leaks, Leak{Secret: f.secret, Text: f.text, Name: file.Path, Offset: i})
			}
			if i := strings.Index(text, f.text); i >= 0 {
				leaks = append(leaks, Leak{Secret: f.secret, Text: f.text, Path: file.Path, Offset: i})
			}
		}
	}
	slices.SortFunc(leaks, compareLeaks)
	return leaks
}

// describe renders leaks compactly for comparisons: "path@offset:text",
// or "name:path@offset:text" for a leak in a file name.
func describe(leaks []Leak) []string {
	var out []string
	for _, l := range leaks {
		s := fmt.Sprintf("%s@%d:%s", l.Path, l.Offset, l.Text)
		if l.Path == "" {
			s = fmt.Sprintf("name:%s@%d:%s", l.Name, l.Offset, l.Text)
		}
		out = append(out, s)
	}
	return out
}

func TestScan(t *testing.T) {
	page := func(data string) []File { return []File{{Path: "briefings/x/index.html", Data: []byte(data)}} }
	tests := []struct {
		name   string
		texts  []string
		public []string
		files  []File
		want   []string
	}{
		{
			name:  "plain",
			texts: []string{"The actor pivoted through the VPN concentrator."},
			files: page("<p>The actor pivoted through the VPN concentrator.</p>"),
			want:  []string{"briefings/x/index.html@3:The actor pivoted through the VPN concentrator."},
		},
		{
			name:  "goldmark escaping",
			texts: []string{`Tom & Jerry <b> "quoted"`},
			files: page(`<p>Tom &amp; Jerry &lt;b&gt; &quot;quoted&quot;</p>`),
			want:  []string{`briefings/x/index.html@3:Tom & Jerry <b> "quoted"`},
		},
		{
			name:  "html/template escaping",
			texts: []string{`it's 1+1 "x" <y> & z`},
			files: page(template.HTMLEscapeString(`<title>it's 1+1 "x" <y> & z</title>`)),
			want:  []string{`briefings/x/index.html@7:it's 1+1 "x" <y> & z`},
		},
		{
			name:  "html/template plus sign",
			texts: []string{"C++ toolchain"},
			files: page(`<meta content="C&#43;&#43; toolchain">`),
			want:  []string{"briefings/x/index.html@15:C++ toolchain"},
		},
		{
			name:  "encoding/xml escaping",
			texts: []string{"line one\nline two\t\"q\" 'r'"},
			files: []File{{Path: "index.xml", Data: xmlEscape("<description>line one\nline two\t\"q\" 'r'</description>")}},
			want:  []string{`index.xml@13:line one line two "q" 'r'`},
		},
		{
			name:  "hex and named references",
			texts: []string{"don't stop — ever"},
			files: page("<p>don&#x27;t stop &mdash; ever</p><p>don&apos;t stop &#8212; ever</p>"),
			want:  []string{"briefings/x/index.html@3:don't stop — ever"},
		},
		{
			name:  "split over lines",
			texts: []string{"the quick brown\nfox jumps over"},
			files: page("<p>the quick\n   brown fox\r\n\tjumps over</p>"),
			want:  []string{"briefings/x/index.html@3:the quick brown fox jumps over"},
		},
		{
			name:  "whitespace in the fragment",
			texts: []string{"  \talpha   beta\tgamma \n"},
			files: page("alpha beta gamma"),
			want:  []string{"briefings/x/index.html@0:alpha beta gamma"},
		},
		{
			name:  "whitespace from references",
			texts: []string{"alpha beta gamma"},
			files: page("alpha&#xA;&#x9;beta&#32;&NewLine;gamma"),
			want:  []string{"briefings/x/index.html@0:alpha beta gamma"},
		},
		{
			name:  "attribute values",
			texts: []string{"Operation Blue Fox & friends", "Lateral movement notes"},
			files: page(`<meta name="description" content="Operation Blue Fox &amp; friends"><a title="Lateral movement notes" href="#">x</a>`),
			want: []string{
				"briefings/x/index.html@34:Operation Blue Fox & friends",
				"briefings/x/index.html@74:Lateral movement notes",
			},
		},
		{
			name:  "file names",
			texts: []string{"Operation Blue Fox", "operation-blue-fox"},
			files: []File{{Path: "briefings/operation-blue-fox/index.html", Data: []byte("<h1>Briefing</h1>")}},
			want:  []string{"name:briefings/operation-blue-fox/index.html@10:operation-blue-fox"},
		},
		{
			name:  "file names are not decoded",
			texts: []string{"AT&T outage"},
			files: []File{{Path: "AT&amp;T outage/index.html"}, {Path: "AT&T outage/index.html"}},
			want:  []string{"name:AT&T outage/index.html@0:AT&T outage"},
		},
		{
			name:  "short fragments",
			texts: []string{"secret", "  abcdefg  ", "abcdefgh"},
			files: page("a secret abcdefg abcdefgh"),
			want:  []string{"briefings/x/index.html@17:abcdefgh"},
		},
		{
			name:   "public text",
			texts:  []string{"Executive summary", "Indicators of compromise", "Attribution is classified"},
			public: []string{"<h2>Executive\n  summary</h2>", "Indicators of compromise follow."},
			files:  page("Executive summary. Indicators of compromise. Attribution is classified."),
			want:   []string{"briefings/x/index.html@45:Attribution is classified"},
		},
		{
			name:   "public HTML is decoded",
			texts:  []string{"AT&T network outage", "AT&T network breach"},
			public: []string{"<p>AT&amp;T network outage</p>"},
			files:  page("AT&amp;T network outage; AT&amp;T network breach"),
			want:   []string{"briefings/x/index.html@21:AT&T network breach"},
		},
		{
			name:   "public plain text is taken as it is",
			texts:  []string{"https://x.example/?a=1&copy=2"},
			public: []string{"see https://x.example/?a=1&copy=2 for more"},
			files:  page(`<a href="https://x.example/?a=1&amp;copy=2">x</a>`),
		},
		{
			name:  "fragments are not decoded",
			texts: []string{"x &amp; y literal", "a <b> c tag here"},
			files: page("<code>x &amp;amp; y literal</code> a &amp;lt;b&amp;gt; c tag here"),
			want:  []string{"briefings/x/index.html@6:x &amp; y literal"},
		},
		{
			name:  "unicode",
			texts: []string{"Überprüfung der Schlüssel", "鍵の確認手順"},
			files: page("<p>&#220;berpr&#xFC;fung der Schl&uuml;ssel</p><h2 id=\"x\">鍵の確認手順</h2>"),
			want: []string{
				"briefings/x/index.html@3:Überprüfung der Schlüssel",
				"briefings/x/index.html@46:鍵の確認手順",
			},
		},
		{
			name:  "case-sensitive",
			texts: []string{"Blue Fox Rising"},
			files: page("blue fox rising BLUE FOX RISING"),
		},
		{
			name:  "one leak per fragment and file",
			texts: []string{"repeated passage"},
			files: []File{
				{Path: "b.html", Data: []byte("repeated passage, repeated passage")},
				{Path: "a.html", Data: []byte("xx repeated passage repeated passage")},
			},
			want: []string{"a.html@3:repeated passage", "b.html@0:repeated passage"},
		},
		{
			name:  "sorted by path then offset",
			texts: []string{"zzzz first text", "aaaa other text"},
			files: []File{
				{Path: "z/index.html", Data: []byte("aaaa other text")},
				{Path: "m/aaaa other text.html", Data: []byte("x zzzz first text, aaaa other text")},
			},
			want: []string{
				"name:m/aaaa other text.html@2:aaaa other text",
				"m/aaaa other text.html@2:zzzz first text",
				"m/aaaa other text.html@19:aaaa other text",
				"z/index.html@0:aaaa other text",
			},
		},
		{
			name:  "nested fragments",
			texts: []string{"The loader fetched stage two from a CDN.", "stage two"},
			files: page("The loader fetched stage two from a CDN."),
			want: []string{
				"briefings/x/index.html@0:The loader fetched stage two from a CDN.",
				"briefings/x/index.html@19:stage two",
			},
		},
		{
			name:  "at the very end and start",
			texts: []string{"12345678"},
			files: []File{{Path: "a", Data: []byte("12345678")}, {Path: "b", Data: []byte("x12345678")}, {Path: "c", Data: []byte("1234567")}},
			want:  []string{"a@0:12345678", "b@1:12345678"},
		},
		{
			name:  "binary",
			texts: []string{"\x00\xff\x01binary\xfe"},
			files: page("junk\x00\xff\x01binary\xfe junk"),
			want:  []string{"briefings/x/index.html@4:\x00\xff\x01binary\xfe"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secrets := []Secret{{File: "content/x.md", Line: 14, Texts: tt.texts}}
			var public [][]byte
			for _, p := range tt.public {
				public = append(public, []byte(p))
			}
			got := New(secrets, public).Scan(tt.files)
			if d := describe(got); !slices.Equal(d, tt.want) {
				t.Errorf("Scan:\n got %q\nwant %q", d, tt.want)
			}
			for _, l := range got {
				if l.Secret != &secrets[0] {
					t.Errorf("leak %q: Secret = %p, want %p", l.Text, l.Secret, &secrets[0])
				}
			}
			if n := naiveScan(secrets, public, tt.files); !reflect.DeepEqual(got, n) {
				t.Errorf("Scan and the reference differ:\n got %q\n ref %q", describe(got), describe(n))
			}
		})
	}
}

func TestScanLongFragments(t *testing.T) {
	long := strings.Repeat("A long restricted paragraph, with words & numbers 12345. ", 40)
	almost := long[:len(long)-2] + "X "
	wrapped := html.EscapeString(strings.ReplaceAll(long, ". ", ".\n   "))
	secrets := []Secret{{File: "content/x.md", Line: 1, Texts: []string{long, almost}}}
	files := []File{{Path: "a.html", Data: []byte("<p>" + wrapped + "</p>")}}
	got := New(secrets, nil).Scan(files)
	if d := describe(got); len(d) != 1 || got[0].Offset != 3 || got[0].Text != strings.TrimSpace(long) {
		t.Errorf("Scan = %q, want the long fragment only, at offset 3", d)
	}
}

// TestScanSharedAnchors has fragments that overlap a lot, so that many
// share their anchors and checks.
func TestScanSharedAnchors(t *testing.T) {
	var texts []string
	for n := MinLen; n < 40; n++ {
		texts = append(texts, strings.Repeat("x", n), strings.Repeat("x", n)+"y", "y"+strings.Repeat("x", n))
	}
	secrets := []Secret{{File: "content/x.md", Line: 1, Texts: texts}}
	files := []File{
		{Path: "a", Data: []byte(strings.Repeat("x", 20))},
		{Path: "b", Data: []byte("y" + strings.Repeat("x", 30) + "y")},
		{Path: "c", Data: []byte(strings.Repeat("xy", 30))},
	}
	got := New(secrets, nil).Scan(files)
	want := naiveScan(secrets, nil, files)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Scan:\n got %q\nwant %q", describe(got), describe(want))
	}
	// In a, x{8} to x{20}; in b, x{n}, x{n}y and yx{n} for n from 8 to 30.
	if len(got) != 13+3*23 {
		t.Errorf("found %d leaks", len(got))
	}
}

func TestCommonness(t *testing.T) {
	for _, tc := range []struct {
		w    string
		want int
	}{
		{"abcdefgh", 8}, {"ABCDEFGH", 0}, {"the cat ", 8}, {"`{az@[AZ", 2}, {"CVE-2024", 0}, {"\xe1\xe2a b 12", 4},
	} {
		if got := commonness(window([]byte(tc.w), 0)); got != tc.want {
			t.Errorf("commonness(%q) = %d, want %d", tc.w, got, tc.want)
		}
	}
}

func xmlEscape(s string) []byte {
	var b bytes.Buffer
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func TestScanSharedFragment(t *testing.T) {
	secrets := []Secret{
		{File: "content/a.md", Line: 3, Texts: []string{"shared sentence here"}},
		{File: "content/b.md", Line: 9, Texts: []string{"shared sentence here", "only in b, this one"}},
	}
	got := New(secrets, nil).Scan([]File{{Path: "p.html", Data: []byte("shared sentence here; only in b, this one")}})
	if len(got) != 2 || got[0].Secret != &secrets[0] || got[1].Secret != &secrets[1] {
		t.Fatalf("Scan = %+v, want the shared fragment from a.md and the other from b.md", got)
	}
}

// A concealed secret, such as a passphrase, is looked for even where the
// public text holds it, owns a fragment it shares with another secret,
// and is never quoted.
func TestScanConcealed(t *testing.T) {
	const pass = "correct horse battery staple"
	secrets := []Secret{
		{File: "content/a.md", Line: 3, Texts: []string{pass, "a restricted sentence"}},
		{File: "keys/guest.pub", Line: 2, Texts: []string{pass}, Conceal: "the passphrase of passphrase env:GUEST_PASS"},
	}
	public := [][]byte{[]byte("The passphrase is " + pass + ", and a restricted sentence.")}
	got := New(secrets, public).Scan([]File{{Path: "x/index.html", Data: []byte("<p>The passphrase is correct horse\nbattery staple, and a restricted sentence.</p>")}})
	if len(got) != 1 || got[0].Secret != &secrets[1] || got[0].Text != pass {
		t.Fatalf("Scan = %q, want the passphrase, and nothing public", describe(got))
	}
	err := Errors(got, nil)
	want := "keys/guest.pub:2: the passphrase of passphrase env:GUEST_PASS appears in x/index.html: take it out of the site, and treat it as exposed (change it); the build was stopped and nothing was published"
	if err == nil || err.Error() != want {
		t.Errorf("Errors =\n%v\nwant\n%s", err, want)
	}
}

func TestScanEmpty(t *testing.T) {
	files := []File{{Path: "index.html", Data: []byte("anything at all, really")}}
	for _, s := range []*Scanner{New(nil, nil), New([]Secret{{Texts: []string{"short", ""}}}, nil)} {
		if got := s.Scan(files); got != nil {
			t.Errorf("Scan = %v, want nil", got)
		}
	}
	s := New([]Secret{{Texts: []string{"anything at all"}}}, [][]byte{[]byte("anything at all")})
	if got := s.Scan(files); got != nil {
		t.Errorf("Scan with every fragment public = %v, want nil", got)
	}
	if got := New([]Secret{{Texts: []string{"anything at all"}}}, nil).Scan(nil); got != nil {
		t.Errorf("Scan(nil) = %v, want nil", got)
	}
}

// TestNormText compares the one-pass normalisation with the reference:
// html.UnescapeString, then collapsing whitespace.
func TestNormText(t *testing.T) {
	cases := []string{
		"", "&", "&&", "&;", "&#", "&#;", "&#x", "&#x;", "&#X41", "&#65", "&#65;x", "&#0;", "&#128;", "&#159",
		"&#xD800;", "&#x110000;", "&#4294967361;", "&#99999999999999999999;", "&#7000000000", "&#xFFFFFFFF;", "&#x80000000", "&amp", "&ampfoo;", "&amp;amp;",
		"&lt&gt", "&copy=1", "&notit;", "&notin;", "&NotEqualTilde;", "&CounterClockwiseContourIntegral;",
		"&" + strings.Repeat("a", 100) + ";", "&" + strings.Repeat("amp", 20), "&Tab;&NewLine;x", " a \n\t b ",
		"&#13;&#10;", "&nbsp;&nbsp;", "&middot; &copy;&reg;&mdash;&hellip;&rarr;&laquo;&raquo;&bull;&shy;&hearts;&euro;", "\xff&#xff;\xfe", "&nLt;abc", "&&amp;&", "a &#x20; b",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		cases = append(cases, randomText(r, 30))
	}
	for _, c := range cases {
		want := collapse(html.UnescapeString(c))
		if got := string(normText(nil, []byte(c))); got != want {
			t.Errorf("normText(%q) = %q, want %q", c, got, want)
		}
		if got, want := string(normPlain(nil, []byte(c))), collapse(c); got != want {
			t.Errorf("normPlain(%q) = %q, want %q", c, got, want)
		}
	}
}

// cases is how many random cases a property test makes: full, or a tenth
// of it with -short.
func cases(full int) int {
	if testing.Short() {
		return full / 10
	}
	return full
}

// randomText returns up to n pieces of text rich in references and
// whitespace.
func randomText(r *rand.Rand, n int) string {
	pieces := []string{
		"&", "#", "x", "X", ";", "a", "m", "p", "amp", "lt", "gt", "quot", "copy", "not", "in", "0", "9", "1", "f",
		"&amp;", "&#39;", "&#34;", "&#x27;", "&#43;", "&#xA;", "&#x9;", "&lt;", "&gt;", "&quot;", "&apos;", "&nbsp;",
		" ", "  ", "\n", "\t", "\r\n", "é", "\xff", "Blue", "Fox", "abcdefghijklmnop", "12345678 ", " \x01\x1f\x7f",
	}
	var b strings.Builder
	for range r.IntN(n + 1) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// encoders are the ways a fragment may be written into output.
var encoders = []func(string) string{
	func(s string) string { return s },
	html.EscapeString,
	template.HTMLEscapeString,
	func(s string) string { return string(xmlEscape(s)) },
	func(s string) string { // goldmark
		return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
	},
	func(s string) string { // every byte a numeric reference, where it can be
		var b strings.Builder
		for _, c := range s {
			if c == 0 || c >= 0x80 && c <= 0x9f || c == '\ufffd' {
				b.WriteRune(c)
			} else {
				fmt.Fprintf(&b, "&#%d;", c)
			}
		}
		return b.String()
	},
	func(s string) string { return strings.ReplaceAll(s, " ", "\n    ") }, // rewrapped
	func(s string) string { // cut short: must not be found
		return s[:len(s)/2]
	},
}

// randomCase makes secrets, public texts and files in which fragments
// occur often, written in all the ways of [encoders].
func randomCase(r *rand.Rand) ([]Secret, [][]byte, []File) {
	words := []string{"blue", "fox", "amp", "&", "<b>", `"`, "'", "+", "é", "鍵", " ", "\n", "\t", "&amp;", "CVE-2024", "x", "op"}
	phrase := func(n int) string {
		var b strings.Builder
		for range 1 + r.IntN(n) {
			b.WriteString(words[r.IntN(len(words))])
			if r.IntN(2) == 0 {
				b.WriteByte(' ')
			}
		}
		return b.String()
	}
	var all []string
	secrets := make([]Secret, 1+r.IntN(4))
	for i := range secrets {
		secrets[i] = Secret{File: fmt.Sprintf("content/%d.md", i), Line: i + 1}
		if i == 1 {
			secrets[i].Conceal = "the passphrase of keys/x.pub"
		}
		for range 1 + r.IntN(6) {
			t := phrase(8)
			secrets[i].Texts = append(secrets[i].Texts, t)
			all = append(all, t)
		}
	}
	pick := func() string {
		if len(all) == 0 || r.IntN(3) == 0 {
			return phrase(5)
		}
		return all[r.IntN(len(all))]
	}
	var public [][]byte
	for range r.IntN(3) {
		public = append(public, []byte(encoders[r.IntN(len(encoders))](pick())+phrase(3)))
	}
	files := make([]File, 1+r.IntN(4))
	for i := range files {
		files[i].Path = fmt.Sprintf("p%d/%s.html", i, strings.ReplaceAll(pick(), " ", "-"))
		var b strings.Builder
		for range r.IntN(6) {
			b.WriteString(phrase(4))
			b.WriteString(encoders[r.IntN(len(encoders))](pick()))
			b.WriteString(randomText(r, 3))
		}
		files[i].Data = []byte(b.String())
	}
	return secrets, public, files
}

// TestScanMatchesReference is a property test: on random inputs, Scan
// finds exactly what the slow reference finds.
func TestScanMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	n := cases(3000)
	leaks := 0
	for range n {
		secrets, public, files := randomCase(r)
		got := New(secrets, public).Scan(files)
		want := naiveScan(secrets, public, files)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("secrets %+v\npublic %q\nfiles %q\n got %q\nwant %q", secrets, public, files, describe(got), describe(want))
		}
		leaks += len(got)
	}
	if leaks < n {
		t.Errorf("only %d leaks in %d cases: the generator does not exercise matching", leaks, n)
	}
}

// TestScanParallel checks a scan big enough to use every CPU against the
// reference, and that concurrent scans agree.
func TestScanParallel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	secrets, _, _ := randomCase(r)
	var files []File
	filler := bytes.Repeat([]byte("filler text &amp; more filler\n"), 1000)
	for i := range 200 {
		_, _, fs := randomCase(r)
		for _, f := range fs {
			f.Path = fmt.Sprintf("%d/%s", i, f.Path)
			f.Data = append(slices.Clip(f.Data), filler...)
			files = append(files, f)
		}
	}
	s := New(secrets, nil)
	want := naiveScan(secrets, nil, files)
	results := make([][]Leak, 4)
	done := make(chan int)
	for i := range results {
		go func() { results[i] = s.Scan(files); done <- i }()
	}
	for range results {
		<-done
	}
	for _, got := range results {
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Scan found %d leaks, the reference %d", len(got), len(want))
		}
	}
}

func TestErrors(t *testing.T) {
	x := &Secret{File: "content/x.md", Line: 14}
	y := &Secret{File: "content/a.md", Line: 3}
	long := strings.Repeat("é", 59) + "abcdef"
	tests := []struct {
		name  string
		leaks []Leak
		want  string
	}{
		{"none", nil, ""},
		{
			"one",
			[]Leak{{Secret: x, Text: "The actor pivoted", Path: "briefings/x/index.html", Offset: 9}},
			`content/x.md:14: restricted text "The actor pivoted" appears in briefings/x/index.html (a bug in conclave: please report it); the build was stopped and nothing was published`,
		},
		{
			"the longest fragment per passage and file",
			[]Leak{
				{Secret: x, Text: "stage two", Path: "a.html", Offset: 1},
				{Secret: x, Text: "fetched stage two", Path: "a.html", Offset: 5},
				{Secret: x, Text: "stage three", Path: "a.html", Offset: 30},
			},
			`content/x.md:14: restricted text "fetched stage two" appears in a.html (a bug in conclave: please report it); the build was stopped and nothing was published`,
		},
		{
			"long text is cut",
			[]Leak{{Secret: x, Text: long, Path: "a.html"}},
			`content/x.md:14: restricted text "` + strings.Repeat("é", 59) + `a…" appears in a.html (a bug in conclave: please report it); the build was stopped and nothing was published`,
		},
		{
			"quotes escaped",
			[]Leak{{Secret: x, Text: "say \"hi\"\x00 now", Path: "a.html"}},
			`content/x.md:14: restricted text "say \"hi\"\x00 now" appears in a.html (a bug in conclave: please report it); the build was stopped and nothing was published`,
		},
		{
			"file name",
			[]Leak{{Secret: x, Text: "operation-blue-fox", Name: "briefings/operation-blue-fox/index.html", Offset: 10}},
			`content/x.md:14: restricted text "operation-blue-fox" appears in the file name briefings/operation-blue-fox/index.html (a bug in conclave: please report it); the build was stopped and nothing was published`,
		},
		{
			"one per passage and file, sorted by source",
			[]Leak{
				{Secret: x, Text: "first fragment", Path: "a.html"},
				{Secret: x, Text: "first fragment", Path: "b.html"},
				{Secret: y, Text: "second fragment", Path: "a.html"},
			},
			`content/a.md:3: restricted text "second fragment" appears in a.html (a bug in conclave: please report it); the build was stopped and nothing was published` + "\n" +
				`content/x.md:14: restricted text "first fragment" appears in a.html (a bug in conclave: please report it); the build was stopped and nothing was published` + "\n" +
				`content/x.md:14: restricted text "first fragment" appears in b.html (a bug in conclave: please report it); the build was stopped and nothing was published`,
		},
	}
	for _, tt := range tests {
		err := Errors(tt.leaks, nil)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: Errors =\n%s\nwant\n%s", tt.name, got, tt.want)
		}
	}
}

// fuzzSeeds are FuzzScan's seeds: secrets (passages separated by NUL,
// fragments by '|'), public texts ('|'), file contents (NUL) and a path.
var fuzzSeeds = []struct{ secrets, public, data, path string }{
	{"The actor pivoted|VPN concentrator", "", "<p>The actor\npivoted through the VPN concentrator</p>", "a/index.html"},
	{"Tom & Jerry <b>|it's 1+1 \"x\"", "Tom", "Tom &amp; Jerry &lt;b&gt;\x00it&#39;s 1&#43;1 &#34;x&#34;", "b.html"},
	{"line one line two", "public text", "line one&#xA;line&#x9;two", "index.xml"},
	{"operation-blue-fox|Operation Blue Fox\x00second secret", "Operation", "<h1>x</h1>", "briefings/operation-blue-fox/index.html"},
	{"Überprüfung der Schlüssel", "", "&#220;berpr&#xFC;fung der Schl&uuml;ssel", "de.html"},
	{"AT&T network outage|a=1&copy=2 link", "AT&amp;T network outage|a=1&copy=2 link", "AT&amp;T network outage a=1&amp;copy=2 link", "x"},
	{"&#4294967361;bcdefgh|Abcdefgh", "", "&#4294967361;bcdefgh &ampfoo; &#x; &#", "y"},
	{"short|12345678", "", "12345678\x0012345678", "12345678"},
}

// FuzzNormText checks the one-pass normalisation against the reference.
func FuzzNormText(f *testing.F) {
	seeds := []string{"a &amp; b", "&#x27;&#34;&#43;", "x\n\t y", "&ampfoo; &#7000000000 &notin; &noti;", "a  &#32; \r\n b", "&CounterClockwiseContourIntegral;"}
	if len(seeds) == 0 {
		f.Fatal("FuzzNormText has no seeds")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(normText(nil, []byte(s))), collapse(html.UnescapeString(s)); got != want {
			t.Fatalf("normText(%q) = %q, want %q", s, got, want)
		}
		if got, want := string(normPlain([]byte("prefix"), []byte(s))), "prefix"+collapse(s); got != want {
			t.Fatalf("normPlain(%q) = %q, want %q", s, got, want)
		}
	})
}

func FuzzScan(f *testing.F) {
	if len(fuzzSeeds) == 0 {
		f.Fatal("FuzzScan has no seeds")
	}
	for _, s := range fuzzSeeds {
		f.Add(s.secrets, s.public, s.data, s.path)
	}
	f.Fuzz(func(t *testing.T, secretText, publicText, data, path string) {
		var secrets []Secret
		for i, s := range strings.Split(secretText, "\x00") {
			secrets = append(secrets, Secret{File: fmt.Sprintf("content/%d.md", i), Line: i + 1, Texts: strings.Split(s, "|")})
		}
		var public [][]byte
		if publicText != "" {
			for _, p := range strings.Split(publicText, "|") {
				public = append(public, []byte(p))
			}
		}
		var files []File
		for i, d := range strings.Split(data, "\x00") {
			files = append(files, File{Path: fmt.Sprintf("%s%d", path, i), Data: []byte(d)})
		}
		got := New(secrets, public).Scan(files)
		want := naiveScan(secrets, public, files)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Scan and the reference differ:\n got %q\nwant %q", describe(got), describe(want))
		}
		if err := Errors(got, nil); (err != nil) != (len(got) > 0) {
			t.Fatalf("Errors = %v for %d leaks", err, len(got))
		}
	})
}

// The fingerprint is that of the fragments looked for: neither the
// passages they come from, nor their order, nor fragments too short or
// public, change it; a fragment looked for, or no longer public, does.
func TestFingerprint(t *testing.T) {
	a := []Secret{
		{File: "content/a.md", Line: 3, Texts: []string{"the first restricted sentence", "short", "a second  restricted\nsentence"}},
		{File: "content/b.md", Line: 9, Texts: []string{"a third restricted sentence"}},
	}
	public := [][]byte{[]byte("Public: a third restricted sentence.")}
	base := New(a, public).Fingerprint()
	same := map[string]*Scanner{
		"secrets in another order, from other files": New([]Secret{
			{File: "content/c.md", Line: 1, Texts: []string{"a second restricted sentence"}},
			{File: "content/d.md", Line: 2, Texts: []string{"the first restricted sentence", "the first restricted sentence"}},
		}, public),
		"a public fragment left out": New(a[:1], public),
		"more public text":           New(a, append(public, []byte("other words entirely"))),
		"whitespace otherwise":       New([]Secret{{Texts: []string{"the first restricted\tsentence", "a second restricted sentence", "a third restricted sentence"}}}, public),
	}
	for name, s := range same {
		if s.Fingerprint() != base {
			t.Errorf("%s: the fingerprint changed", name)
		}
	}
	differ := map[string]*Scanner{
		"no public text":      New(a, nil),
		"a fragment more":     New(append(a, Secret{Texts: []string{"a fourth restricted sentence"}}), public),
		"a fragment less":     New([]Secret{{Texts: []string{"the first restricted sentence"}}}, public),
		"a fragment changed":  New([]Secret{{Texts: []string{"the first restricted sentence!", "a second restricted sentence"}}}, public),
		"a public one pinned": New(append(a, Secret{Texts: []string{"a third restricted sentence"}, Conceal: "a passphrase"}), public),
	}
	for name, s := range differ {
		if s.Fingerprint() == base {
			t.Errorf("%s: the fingerprint is the same", name)
		}
	}
}

// TestFingerprintSameFindings is a property test: two scanners of the same
// fingerprint, made from different passages and public text, find the
// same leaks in the same files.
func TestFingerprintSameFindings(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 17))
	n := cases(3000)
	sameCount, differCount := 0, 0
	for range n {
		secrets, public, files := randomCase(r)
		// Another scanner: some texts moved to another passage or
		// dropped, some public text dropped or added.
		var other []Secret
		for _, s := range secrets {
			o := Secret{File: s.File, Line: s.Line, Conceal: s.Conceal}
			for _, t := range s.Texts {
				switch r.IntN(6) {
				case 0: // dropped
				case 1:
					other = append(other, Secret{File: "content/moved.md", Line: 1, Texts: []string{t}})
				default:
					o.Texts = append(o.Texts, t)
				}
			}
			other = append(other, o)
		}
		r.Shuffle(len(other), func(i, j int) { other[i], other[j] = other[j], other[i] })
		var otherPublic [][]byte
		for _, p := range public {
			if r.IntN(4) > 0 {
				otherPublic = append(otherPublic, p)
			}
		}
		if r.IntN(3) == 0 && len(files) > 0 {
			otherPublic = append(otherPublic, files[0].Data)
		}
		s1, s2 := New(secrets, public), New(other, otherPublic)
		got1, got2 := describe(s1.Scan(files)), describe(s2.Scan(files))
		if s1.Fingerprint() == s2.Fingerprint() {
			sameCount++
			if !reflect.DeepEqual(got1, got2) {
				t.Fatalf("same fingerprint, other findings:\nsecrets %+v public %q\nother %+v public %q\nfiles %q\n got %q\nand %q", secrets, public, other, otherPublic, files, got1, got2)
			}
		} else if !reflect.DeepEqual(got1, got2) {
			differCount++
		}
	}
	if sameCount < n/10 || differCount < n/10 {
		t.Errorf("%d cases of the same fingerprint and %d of other findings in %d: the generator does not exercise both", sameCount, differCount, n)
	}
}

// kept returns the fragments s looks for, as normalised, sorted.
func kept(s *Scanner) []string {
	var out []string
	for _, f := range s.m.frags {
		out = append(out, string(s.m.text(f)))
	}
	slices.Sort(out)
	return out
}

// TestNewFromSameScanner is a property test: along chains of builds, each
// changing some passages and public texts, the scanner NewFrom makes with
// the last one's memo looks for exactly the fragments New would, and
// finds the same leaks.
func TestNewFromSameScanner(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 23))
	n := cases(1500)
	// How often a fragment's text was found again where it had been, and
	// found in a text the last memo had not looked in.
	carried, fresh := 0, 0
	for range n {
		secrets, public, files := randomCase(r)
		for range 3 {
			_, more, _ := randomCase(r)
			public = append(public, more...)
		}
		var was *Memo
		for step := range 4 {
			s := NewFrom(secrets, public, was)
			want := New(secrets, public)
			if got, w := kept(s), kept(want); !slices.Equal(got, w) {
				t.Fatalf("step %d: NewFrom looks for %q, New for %q\nsecrets %+v\npublic %q", step, got, w, secrets, public)
			}
			if got, w := describe(s.Scan(files)), describe(want.Scan(files)); !reflect.DeepEqual(got, w) {
				t.Fatalf("step %d: NewFrom finds %q, New %q", step, got, w)
			}
			m := s.Memo()
			if m == nil || len(m.Found) != len(m.Frags)/32 || len(m.Texts) != 32*len(public) {
				t.Fatalf("step %d: memo %+v for %d texts", step, m, len(public))
			}
			if was != nil {
				before := map[string]bool{}
				for i := 0; i < len(was.Texts); i += 32 {
					before[string(was.Texts[i:i+32])] = true
				}
				for _, f := range m.Found {
					switch {
					case f < 0:
					case before[string(m.Texts[32*f:32*f+32])]:
						carried++
					default:
						fresh++
					}
				}
			}
			// The next build: some passages' texts dropped or changed,
			// some public texts dropped, changed or added, among them
			// restricted text quoted.
			other, otherPublic, _ := randomCase(r)
			var next []Secret
			for i, sec := range secrets {
				o := Secret{File: sec.File, Line: sec.Line, Conceal: sec.Conceal}
				for _, text := range sec.Texts {
					switch r.IntN(8) {
					case 0:
					case 1:
						o.Texts = append(o.Texts, text+" more")
					default:
						o.Texts = append(o.Texts, text)
					}
				}
				if i < len(other) {
					o.Texts = append(o.Texts, other[i].Texts[:r.IntN(len(other[i].Texts)+1)]...)
				}
				next = append(next, o)
			}
			var nextPublic [][]byte
			for _, p := range public {
				switch r.IntN(6) {
				case 0:
				case 1:
					nextPublic = append(nextPublic, append(slices.Clip(p), " edited"...))
				default:
					nextPublic = append(nextPublic, p)
				}
			}
			nextPublic = append(nextPublic, otherPublic...)
			if r.IntN(2) == 0 {
				sec := next[r.IntN(len(next))]
				if len(sec.Texts) > 0 {
					nextPublic = append(nextPublic, []byte("quoted: "+sec.Texts[r.IntN(len(sec.Texts))]))
				}
			}
			r.Shuffle(len(nextPublic), func(i, j int) { nextPublic[i], nextPublic[j] = nextPublic[j], nextPublic[i] })
			secrets, public, was = next, nextPublic, m
		}
	}
	if carried < n/2 || fresh < n/4 {
		t.Errorf("%d fragments found where they had been and %d in new texts, in %d chains: the generator does not exercise the memo", carried, fresh, n)
	}
}

// A memo of other rules, or damaged, is not used: the scanner is New's.
func TestNewFromRefusesMemo(t *testing.T) {
	secrets := []Secret{{File: "content/a.md", Line: 1, Texts: []string{"a restricted sentence here", "another restricted sentence"}}}
	public := [][]byte{[]byte("public: a restricted sentence here")}
	good := NewFrom(secrets, public, nil).Memo()
	// A memo that says the other fragment is in the public text.
	lying := *good
	lying.Found = slices.Clone(good.Found)
	for i := range lying.Found {
		lying.Found[i] = 0
	}
	if got := kept(NewFrom(secrets, public, &lying)); len(got) != 0 {
		t.Fatalf("a memo of these rules, whole, was not used: NewFrom looks for %q", got)
	}
	want := kept(New(secrets, public))
	if len(want) != 1 {
		t.Fatalf("New looks for %q", want)
	}
	for name, m := range map[string]*Memo{
		"other rules":         {Rules: "other", Texts: lying.Texts, Frags: lying.Frags, Found: lying.Found},
		"a text number out":   {Rules: matchRules, Texts: lying.Texts, Frags: lying.Frags, Found: []int32{0, 5}},
		"a digest cut":        {Rules: matchRules, Texts: lying.Texts[:31], Frags: lying.Frags, Found: lying.Found},
		"fewer found":         {Rules: matchRules, Texts: lying.Texts, Frags: lying.Frags, Found: lying.Found[:1]},
		"found below nothing": {Rules: matchRules, Texts: lying.Texts, Frags: lying.Frags, Found: []int32{0, -2}},
	} {
		if got := kept(NewFrom(secrets, public, m)); !slices.Equal(got, want) {
			t.Errorf("%s: NewFrom looks for %q, New for %q", name, got, want)
		}
	}
}

// FuzzNewFrom checks NewFrom against New across two builds: the first
// makes a memo from its passages and public text, the second, with other
// passages and public text, reuses it.
func FuzzNewFrom(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s.secrets, s.public, s.data, s.public+"|"+s.data)
	}
	split := func(s, sep string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, sep)
	}
	f.Fuzz(func(t *testing.T, secrets1, public1, secrets2, public2 string) {
		build := func(secretText, publicText string) ([]Secret, [][]byte) {
			var secrets []Secret
			for i, s := range split(secretText, "\x00") {
				secrets = append(secrets, Secret{File: fmt.Sprintf("content/%d.md", i), Line: i + 1, Texts: strings.Split(s, "|")})
			}
			var public [][]byte
			for _, p := range split(publicText, "|") {
				public = append(public, []byte(p))
			}
			return secrets, public
		}
		s1, p1 := build(secrets1, public1)
		s2, p2 := build(secrets2, public2)
		first := NewFrom(s1, p1, nil)
		if got, want := kept(first), kept(New(s1, p1)); !slices.Equal(got, want) {
			t.Fatalf("first build: NewFrom looks for %q, New for %q", got, want)
		}
		if got, want := kept(NewFrom(s2, p2, first.Memo())), kept(New(s2, p2)); !slices.Equal(got, want) {
			t.Fatalf("second build: NewFrom looks for %q, New for %q", got, want)
		}
	})
}

// A digest whose first 8 bytes another has is not found, rather than
// taken for the other; equal digests are found as the first of them.
func TestDigestIndex(t *testing.T) {
	d := func(first, last byte) []byte {
		b := make([]byte, 32)
		b[0], b[31] = first, last
		return b
	}
	all := slices.Concat(d(1, 1), d(2, 2), d(1, 9), d(2, 2))
	x := newDigestIndex(all)
	for _, tc := range []struct {
		d    []byte
		want int32
		ok   bool
	}{
		{d(1, 1), 0, true},
		{d(2, 2), 1, true},
		{d(1, 9), -1, false}, // shares its first bytes with the first
		{d(3, 3), -1, false},
	} {
		if got, ok := x.find(tc.d); got != tc.want || ok != tc.ok {
			t.Errorf("find(%x…%x) = %d, %v; want %d, %v", tc.d[0], tc.d[31], got, ok, tc.want, tc.ok)
		}
	}
}
