package site

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/tlp"
)

func TestParseFront(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		check    func(t *testing.T, f Front)
		body     string
		bodyLine int
	}{
		{
			name: "yaml",
			src:  "---\ntitle: \"ICASI\"\ndate: 2007-07-17\nsummary: Multi-vendor.\ntags: [icasi, Vendors]\ntlp: amber+strict\nweight: 3\nslug: icasi-2007\ndraft: true\n---\nBody\n",
			check: func(t *testing.T, f Front) {
				if f.Title != "ICASI" || f.Summary != "Multi-vendor." || f.Slug != "icasi-2007" || f.Weight != 3 || !f.Draft {
					t.Errorf("front = %+v", f)
				}
				if !f.Date.Equal(time.Date(2007, 7, 17, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("date = %v", f.Date)
				}
				if !slices.Equal(f.Tags, []string{"icasi", "Vendors"}) || f.TLP != tlp.AmberStrict {
					t.Errorf("tags %v tlp %v", f.Tags, f.TLP)
				}
				if f.Line("tlp") != 6 || f.Line("title") != 2 || f.Line("audience") != 0 || f.Line("no such key") != 0 {
					t.Errorf("lines = %v", f.lines)
				}
			},
			body: "Body\n", bodyLine: 11,
		},
		{
			name: "toml",
			src:  "+++\ntitle = \"SCP\"\ndate = 2005-02-02\ntags = [\"governments\"]\ntlp = \"green\"\nweight = -1\n+++\n\nText",
			check: func(t *testing.T, f Front) {
				if f.Title != "SCP" || f.TLP != tlp.Green || f.Weight != -1 || !slices.Equal(f.Tags, []string{"governments"}) {
					t.Errorf("front = %+v", f)
				}
				if !f.Date.Equal(time.Date(2005, 2, 2, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("date = %v (%v)", f.Date, f.Date.Location())
				}
				if f.Line("tlp") != 5 {
					t.Errorf("lines = %v", f.lines)
				}
			},
			body: "\nText", bodyLine: 8,
		},
		{
			name: "toml offset datetime",
			src:  "+++\ndate = 2024-05-01T10:00:00+02:00\n+++\n",
			check: func(t *testing.T, f Front) {
				if !f.Date.Equal(time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)) {
					t.Errorf("date = %v", f.Date)
				}
			},
			bodyLine: 4,
		},
		{
			name: "yaml quoted datetime and single tag",
			src:  "---\ndate: \"2024-05-01 10:30\"\ntags: solo\naudience: [board, cisco-psirt]\n---\n",
			check: func(t *testing.T, f Front) {
				if !f.Date.Equal(time.Date(2024, 5, 1, 10, 30, 0, 0, time.UTC)) {
					t.Errorf("date = %v", f.Date)
				}
				if !slices.Equal(f.Tags, []string{"solo"}) || !slices.Equal(f.Audience, []string{"board", "cisco-psirt"}) {
					t.Errorf("tags %v audience %v", f.Tags, f.Audience)
				}
			},
			bodyLine: 6,
		},
		{name: "no front matter", src: "# Hello\n", body: "# Hello\n", bodyLine: 1},
		{name: "empty yaml", src: "---\n---\nx", body: "x", bodyLine: 3},
		{name: "trailing spaces on delimiters", src: "--- \ntitle: A\n---  \nx", body: "x", bodyLine: 4,
			check: func(t *testing.T, f Front) {
				if f.Title != "A" {
					t.Errorf("title = %q", f.Title)
				}
			}},
		{name: "numeric title", src: "---\ntitle: 2024\n---\n", bodyLine: 4,
			check: func(t *testing.T, f Front) {
				if f.Title != "2024" {
					t.Errorf("title = %q", f.Title)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, body, line, warns, err := ParseFront("x.md", []byte(tt.src))
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if len(warns) > 0 {
				t.Errorf("warnings: %v", warns)
			}
			if string(body) != tt.body || line != tt.bodyLine {
				t.Errorf("body = %q at line %d, want %q at %d", body, line, tt.body, tt.bodyLine)
			}
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

func TestParseFrontErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unclosed yaml", "---\ntitle: x\n", `x.md:1: front matter opened with "---" is never closed`},
		{"unclosed toml", "+++\ntitle = 'x'\n", `x.md:1: front matter opened with "+++" is never closed`},
		{"yaml syntax", "---\ntitle: x\ntags: [a, b\n---\n", "x.md:"},
		{"yaml bad indentation", "---\ntitle: x\n  date: y\n---\n", "x.md:3: front matter:"},
		{"yaml not a mapping", "---\n- a\n- b\n---\n", "x.md:2: front matter must be a mapping"},
		{"yaml duplicate key", "---\ntitle: a\ntitle: b\n---\n", `x.md:3: front matter: key "title" already set on line 2`},
		{"toml syntax", "+++\ntitle = \n+++\n", "x.md:2:"},
		{"bad date", "---\ntitle: a\ndate: 17/07/2007\n---\n", `x.md:3: date: "17/07/2007" is not a date`},
		{"impossible date", "---\ndate: 2007-02-30\n---\n", `x.md:2: date:`},
		{"bad tlp", "---\ntlp: white\n---\n", `x.md:2: tlp: unknown TLP label "white": TLP 2.0 calls it "clear"`},
		{"bad draft", "---\ndraft: maybe\n---\n", "x.md:2: draft: want true or false, got text"},
		{"bad weight", "---\nweight: heavy\n---\n", "x.md:2: weight: want a whole number"},
		{"title list", "---\ntitle: [a]\n---\n", "x.md:2: title: want text, got a list"},
		{"slug with slash", "---\nslug: a/b\n---\n", `x.md:2: slug: "a/b" is not a valid slug`},
		{"slug dotdot", "---\nslug: ..x\n---\n", `not a valid slug`},
		{"tags map", "---\ntags: {a: 1}\n---\n", "x.md:2: tags: want a list"},
		{"empty tag", "---\ntags: [a, '']\n---\n", "x.md:2: tags: empty item"},
		{"punctuation tag", "---\ntags: ['!!']\n---\n", `tag "!!" has no letters or digits`},
		{"bad audience name", "---\naudience: [Board]\n---\n", `x.md:2: audience: "Board" is not a recipient or group name`},
		{"empty audience", "---\naudience: []\n---\n", "x.md:2: audience: empty audience"},
		{"yaml alias", "---\na: &x t\ntitle: *x\n---\n", "aliases are not supported"},
		{"yaml parser error line", "---\ntitle: a\ntags: [x, y\n---\n", "x.md:3: front matter: did not find expected ',' or ']'"},
		{"misspelt audience", "---\naudiance: [board]\n---\n", `x.md:2: unknown front matter key "audiance": did you mean "audience"? (refused`},
		{"misspelt draft", "---\ntitle: t\nDraft: true\n---\n", `x.md:3: unknown front matter key "Draft": did you mean "draft"? (refused: a misspelt draft would publish the page to everyone)`},
		{"misspelt draft toml", "+++\ndarft = true\n+++\n", `x.md:2: unknown front matter key "darft": did you mean "draft"?`},
		{"audience in capitals", "---\nAudience: [board]\n---\n", `x.md:2: unknown front matter key "Audience"`},
		{"toml bad tlp line", "+++\ntitle = 'a'\n\ntlp = 'purple'\n+++\n", `x.md:4: tlp: unknown TLP label "purple"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, _, err := ParseFront("x.md", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseFrontWarnsUnknownKeys(t *testing.T) {
	_, _, _, warns, err := ParseFront("x.md", []byte("---\ntitle: a\ntitel: b\nauthor: c\n---\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 2 {
		t.Fatalf("warnings = %v, want 2", warns)
	}
	if got := warns[0].Error(); got != `x.md:3: unknown front matter key "titel" (did you mean "title"?)` {
		t.Errorf("warning = %q", got)
	}
	if got := warns[1].Error(); !strings.HasPrefix(got, `x.md:4: unknown front matter key "author" (known: title, date`) {
		t.Errorf("warning = %q", got)
	}
}

func FuzzParseFront(f *testing.F) {
	seeds := []string{
		"---\ntitle: a\ndate: 2007-07-17\ntags: [a, b]\ntlp: green\n---\nbody",
		"+++\ntitle = 'a'\ndate = 2007-07-17\n+++\nbody",
		"---\n---\n", "+++\n+++\n", "---\n", "no front matter",
		"---\ntitle: [\n---\n", "---\n- a\n---\n", "---\naudience: [x]\nweight: 3\ndraft: true\nslug: s\n---\n",
		"+++\n[params]\nx = 1\n+++\n", "---\r\ntitle: crlf\r\n---\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		front, body, line, _, err := ParseFront("f.md", src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.md:") {
				t.Fatalf("error without location: %v", err)
			}
			return
		}
		if line < 1 {
			t.Fatalf("body line %d", line)
		}
		// The body is a suffix of the source that starts on bodyLine.
		if len(body) > 0 && !strings.HasSuffix(string(src), string(body)) {
			t.Fatalf("body is not a suffix of the source")
		}
		if front.Slug != "" && (strings.Contains(front.Slug, "/") || strings.Contains(front.Slug, "..")) {
			t.Fatalf("unsafe slug accepted: %q", front.Slug)
		}
		for _, n := range front.Audience {
			if !NamePattern.MatchString(n) {
				t.Fatalf("bad audience name accepted: %q", n)
			}
		}
	})
}

// Front matter that does not start on the first line would be published
// as text, its audience and draft keys ignored: it is refused, at the
// line of its delimiter. Only blank lines, white space, byte-order marks
// and HTML comments count as "before the first paragraph".
func TestParseFrontMisplaced(t *testing.T) {
	refused := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"blank line", "\n---\naudience: [board]\n---\nx\n", 2, "a blank line comes before"},
		{"space", " ---\naudience: [board]\n---\n", 1, "white space comes before"},
		{"tab and blank", "\t\n\t---\ndraft: true\n---\n", 2, "white space"},
		{"html comment", "<!-- top -->\n---\ntitle: x\n---\n", 2, "an HTML comment comes before"},
		{"multi-line comment", "<!--\nnote\n-->\n\n+++\ntitle = \"x\"\n+++\n", 5, "an HTML comment and a blank line"},
		{"bom after start", "\uFEFF---\naudience: [board]\n---\n", 1, "byte-order mark"},
		{"zero-width space", "\u200B\n---\naudience: [board]\n---\n", 2, "byte-order mark or zero-width"},
		{"toml", "\n+++\naudience = [\"board\"]\n+++\n", 2, "\"+++\""},
		{"four dashes", "\n----\naudience: [board]\n----\n", 2, "\"----\""},
		{"key without value", "\n---\naudience:\n  - board\n---\n", 2, "front matter must start"},
		{"second block", "---\ntitle: x\n---\n\n---\naudience: [board]\n---\n", 5, "a second front matter block"},
		{"delimiter with a comment", "\n--- # front\naudience: [board]\n---\n", 2, "front matter must start"},
		{"comment line before keys", "\n---\n# who reads it\naudience: [board]\n---\n", 2, "front matter must start"},
		{"quoted key", "\n---\n\"audience\": [board]\n---\n", 2, "front matter must start"},
		{"after a heading", "# Heading\n\n---\ntitle: x\naudience: [board]\n---\n", 3, "sets audience"},
		{"after a rule", "***\n---\ndraft: true\n---\n", 2, "sets draft"},
		{"after a list", "- item\n\n+++\naudience = [\"board\"]\n+++\n", 3, "sets audience"},
		{"after indented code", "    code\n\n---\nAudience: [board]\n---\n", 3, "sets audience"},
		{"after a setext heading", "Heading\n===\n---\n# who\naudiense: [board]\n---\n", 3, "sets audiense"},
		{"after a paragraph", "Text.\n\n---\ntitle: x\naudience: [board]\n---\n", 3, "sets audience"},
		{"in a quote", "Text.\n\n> ---\n> audience: [board]\n", 3, "sets audience"},
		{"after front matter and a heading", "---\ntitle: x\n---\n# x\n---\naudience: [board]\n---\n", 5, "sets audience"},
		{"second block after comment", "---\ntitle: x\n---\n<!-- c -->\n+++\ndraft = true\n+++\n", 5, "a second front matter block"},
	}
	for _, tc := range refused {
		_, _, _, _, err := ParseFront("content/a.md", []byte(tc.src))
		want := "content/a.md:" + strconv.Itoa(tc.line) + ": "
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want %q and %q", tc.name, err, want, tc.msg)
		}
	}
	accepted := []struct{ name, src string }{
		{"rule after a paragraph", "Intro.\n\n---\ntitle: not front matter\n"},
		{"rule then blank", "\n---\n\ntitle: x\n"},
		{"rule then list", "\n---\n- item\n"},
		{"front matter then rule after paragraph", "---\ntitle: x\n---\nText.\n\n---\nkey: value\n"},
		{"no front matter", "Just text: with a colon.\n"},
		{"example in fenced code", "Text.\n\n```yaml\n---\naudience: [board]\n---\n```\n"},
		{"example in tilde code in a quote", "Text.\n\n> ~~~\n> ---\n> draft: true\n> ~~~\n"},
		{"rule then other keys", "Text.\n\n---\ntitle: x\n"},
	}
	for _, tc := range accepted {
		if _, _, _, _, err := ParseFront("content/a.md", []byte(tc.src)); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// audience and draft are read only at the top level: nested inside a
// table (as Hugo's params), they would be ignored, and are refused.
func TestParseFrontNestedGuards(t *testing.T) {
	for _, src := range []string{
		"---\nparams:\n  audience: [board]\n---\n",
		"---\nextra:\n  - draft: true\n---\n",
		"+++\n[params]\nAudience = [\"board\"]\n+++\n",
		"---\nparams: {audiense: [board]}\n---\n",
	} {
		_, _, _, _, err := ParseFront("content/a.md", []byte(src))
		if err == nil || !strings.Contains(err.Error(), "content/a.md:2: ") || !strings.Contains(err.Error(), "only at the top level") {
			t.Errorf("%q: err = %v", src, err)
		}
	}
}

// Whatever invisible text precedes a page's front matter, the page is
// either refused or restricted: never published with its audience read as
// text.
func FuzzFrontPrefix(f *testing.F) {
	for _, s := range []string{"", "\x00", "\x01\x02", "\x03\x03", "\x04", "\x05\x00", "\x06\x07\x00"} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	pieces := []string{"\n", " ", "\t", "\r\n", "\uFEFF", "<!-- c -->\n", "\r", "\u200B"}
	f.Fuzz(func(t *testing.T, prefix []byte, toml bool) {
		var b strings.Builder
		for _, c := range prefix {
			b.WriteString(pieces[int(c)%len(pieces)])
		}
		fm := "---\ntitle: Secret\nslug: r-1\naudience: [board]\n---\nbody\n"
		if toml {
			fm = "+++\ntitle = \"Secret\"\nslug = \"r-1\"\naudience = [\"board\"]\n+++\nbody\n"
		}
		p, _, err := parsePage("content/b/x.md", []byte(b.String()+fm))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "content/b/x.md:") {
				t.Fatalf("error without location: %v", err)
			}
			return
		}
		if len(p.Front.Audience) == 0 || strings.Contains(string(p.Body), "board") {
			t.Fatalf("prefix %q: published with audience as text: body %q", b.String(), p.Body)
		}
	})
}
