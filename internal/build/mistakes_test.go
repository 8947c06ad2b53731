package build

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// outcome is what the build must do with an author's mistake.
type outcome int

const (
	// publish: the build succeeds and no canary is in the output.
	publish outcome = iota
	// refuse: the build fails, naming the file and line, and the previous
	// output is left as it was.
	refuse
	// refuseOrSafe: either refuse (naming the file), or publish without a
	// canary: for input whose reading the contract leaves to the parser,
	// as long as it fails closed.
	refuseOrSafe
)

func (o outcome) String() string {
	return [...]string{"publish", "refuse", "refuse or publish nothing restricted"}[o]
}

// mistake is an author's mistake: a few files added to [mistakeBase].
// Every restricted passage, every part of a restricted page (title,
// summary, tags, body, file and folder names) and every file linked from
// restricted text carries a word starting with "canary", which must never
// be published.
type mistake struct {
	name  string
	why   string
	files map[string]string
	want  outcome
	// at is where the error must point, "content/…md:LINE:" (for
	// refuseOrSafe, at least the file, "content/…md:"), and msg a part of
	// the message on the same line of the error.
	at, msg string
	// has lists output files that a published build must hold, so that
	// "nothing leaked" cannot pass because nothing was built.
	has []string
	// before are files of an earlier good build, added to the base first:
	// the cached path builds them, and the mistake's files after.
	before map[string]string
}

// allFiles are the files of m and of its earlier build, for a path that
// builds them at once.
func (m mistake) allFiles() map[string]string {
	files := maps.Clone(m.before)
	if files == nil {
		files = map[string]string{}
	}
	maps.Copy(files, m.files)
	return files
}

// md joins lines into a file, one "\n" after each: line i of the file is
// lines[i-1], so that the lines that errors name can be counted.
func md(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// crlf is md with Windows line endings.
func crlf(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

// page is a public page whose body starts on line 5.
func page(title string, body ...string) string {
	return md(append([]string{"---", "title: " + title, "---", ""}, body...)...)
}

// publicPages are n public pages in section b, dated 2024, tagged tag.
func publicPages(n int, tag string) map[string]string {
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("content/b/p%02d.md", i)] = md("---", fmt.Sprintf("title: Public %d", i), "date: 2024-02-03", "tags: ["+tag+"]", "---", "", "Public text.")
	}
	return files
}

const bom = "\uFEFF"

// mistakeBase is the site every mistake is added to: three recipients,
// two groups, a home page, a section with an intro and a public page.
// Nothing in it says "canary".
func mistakeBase(ids map[string]*age.X25519Identity) map[string]string {
	files := map[string]string{
		"conclave.toml":       "title = \"Mistakes\"\nbaseURL = \"https://mistakes.example.org/\"\n",
		"keys/groups.toml":    "board = [\"alice\", \"bob\"]\nall = [\"board\", \"carol\"]\n",
		"content/_index.md":   page("Home", "Welcome."),
		"content/b/_index.md": page("Briefings", "All briefings."),
		"content/b/pub.md":    md("---", "title: Public", "date: 2024-01-01", "tags: [shared]", "---", "", "A public briefing."),
	}
	for n, id := range ids {
		files["keys/"+n+".pub"] = id.Recipient().String() + "\n"
	}
	return files
}

func mistakeIdentities(t *testing.T) map[string]*age.X25519Identity {
	t.Helper()
	ids := map[string]*age.X25519Identity{}
	for _, n := range []string{"alice", "bob", "carol"} {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = id
	}
	return ids
}

// restrictedFront is the front matter of a page restricted to the board,
// in YAML, 7 lines, the audience on line 4.
func restrictedFront(title, slug string) []string {
	return []string{"---", "title: " + title, "tlp: amber", "audience: [board]", "slug: " + slug, "date: 2024-03-03", "---"}
}

// mistakes is the table of author mistakes.
func mistakes() []mistake {
	return []mistake{
		// Front matter that is not on the file's first line.
		{
			name: "fm/blank-line-yaml", why: "a blank line before --- makes the front matter a thematic break and a heading: audience ignored",
			files: map[string]string{"content/b/x.md": md("", "---", "title: Board only canaryfa1", "audience: [board]", "slug: r-fa", "---", "", "Body canaryfa2.")},
			want:  refuse, at: "content/b/x.md:2:", msg: "front matter",
		},
		{
			name: "fm/spaces-line-yaml", why: "a line of spaces before the front matter",
			files: map[string]string{"content/b/x.md": md("   ", "---", "title: Board only canaryfb1", "audience: [board]", "slug: r-fb", "---", "", "Body canaryfb2.")},
			want:  refuse, at: "content/b/x.md:2:", msg: "front matter",
		},
		{
			name: "fm/indented-delimiter", why: "the opening --- indented by two spaces",
			files: map[string]string{"content/b/x.md": md("  ---", "title: Board only canaryfc1", "audience: [board]", "slug: r-fc", "---", "", "Body canaryfc2.")},
			want:  refuse, at: "content/b/x.md:1:", msg: "front matter",
		},
		{
			name: "fm/tab-line", why: "a line holding a tab before the front matter",
			files: map[string]string{"content/b/x.md": md("\t", "---", "title: Board only canaryfd1", "audience: [board]", "slug: r-fd", "---", "", "Body canaryfd2.")},
			want:  refuse, at: "content/b/x.md:2:", msg: "front matter",
		},
		{
			name: "fm/html-comment-draft", why: "an HTML comment before the front matter: draft: true ignored, the draft published",
			files: map[string]string{"content/b/x.md": md("<!-- reviewed by legal -->", "---", "title: Draft canaryfe1", "draft: true", "---", "", "Unfinished canaryfe2.")},
			want:  refuse, at: "content/b/x.md:2:", msg: "front matter",
		},
		{
			name: "fm/bom-then-blank", why: "a BOM is skipped, but a blank line after it is not the first line",
			files: map[string]string{"content/b/x.md": bom + md("", "---", "title: Board only canaryff1", "audience: [board]", "slug: r-ff", "---", "", "Body canaryff2.")},
			want:  refuse, at: "content/b/x.md:2:", msg: "front matter",
		},
		{
			name: "fm/two-boms", why: "only one BOM is skipped: the second one hides the delimiter",
			files: map[string]string{"content/b/x.md": bom + bom + md("---", "title: Board only canaryfg1", "audience: [board]", "slug: r-fg", "---", "", "Body canaryfg2.")},
			want:  refuse, at: "content/b/x.md:1:", msg: "front matter",
		},
		{
			name: "fm/four-dashes", why: "---- is not the delimiter, but it is plainly an attempt at one",
			files: map[string]string{"content/b/x.md": md("----", "title: Board only canaryfh1", "audience: [board]", "slug: r-fh", "----", "", "Body canaryfh2.")},
			want:  refuse, at: "content/b/x.md:1:", msg: "front matter",
		},
		{
			name: "fm/yaml-document-end", why: "YAML's ... closes a document but not front matter: never closed",
			files: map[string]string{"content/b/x.md": md("---", "title: Board only canaryfi1", "audience: [board]", "slug: r-fi", "...", "", "Body canaryfi2.")},
			want:  refuse, at: "content/b/x.md:1:", msg: "never closed",
		},
		{
			name: "fm/blank-line-toml", why: "TOML front matter after a blank line",
			files: map[string]string{"content/b/x.md": md("", "+++", `title = "Board only canaryfj1"`, `audience = ["board"]`, `slug = "r-fj"`, "+++", "", "Body canaryfj2.")},
			want:  refuse, at: "content/b/x.md:2:", msg: "front matter",
		},
		{
			name: "fm/blank-line-yaml-crlf", why: "Windows line endings do not hide the blank line",
			files: map[string]string{"content/b/x.md": crlf("", "---", "title: Board only canaryfk1", "audience: [board]", "slug: r-fk", "---", "", "Body canaryfk2.")},
			want:  refuse, at: "content/b/x.md:2:", msg: "front matter",
		},
		{
			name: "fm/blank-line-toml-crlf", why: "TOML with Windows line endings after a blank line",
			files: map[string]string{"content/b/x.md": crlf("", "+++", `title = "Board only canaryfl1"`, `audience = ["board"]`, `slug = "r-fl"`, "+++", "", "Body canaryfl2.")},
			want:  refuse, at: "content/b/x.md:2:", msg: "front matter",
		},
		{
			name: "fm/second-block-yaml", why: "a second front matter after the first: its audience would be body text",
			files: map[string]string{"content/b/x.md": md("---", "title: Second block", "---", "", "---", "audience: [board]", "summary: canaryfm1", "---", "", "Body canaryfm2.")},
			want:  refuse, at: "content/b/x.md:5:", msg: "front matter",
		},
		{
			name: "fm/second-block-toml", why: "a second TOML block glued to the first",
			files: map[string]string{"content/b/x.md": md("+++", `title = "Second block"`, "+++", "+++", `audience = ["board"]`, `summary = "canaryfn1"`, "+++", "", "Body canaryfn2.")},
			want:  refuse, at: "content/b/x.md:4:", msg: "front matter",
		},
		{
			name: "fm/second-block-crlf", why: "a second YAML block, Windows line endings",
			files: map[string]string{"content/b/x.md": crlf("---", "title: Second block", "---", "---", "draft: true", "summary: canaryfo1", "---", "", "Body canaryfo2.")},
			want:  refuse, at: "content/b/x.md:4:", msg: "front matter",
		},
		{
			name: "fm/cr-only", why: "old Mac line endings: either CR ends lines (and the audience holds) or the file is refused",
			files: map[string]string{"content/b/x.md": strings.Join([]string{"---", "title: Board only canaryfp1", "audience: [board]", "slug: r-fp", "---", "", "Body canaryfp2.", ""}, "\r")},
			want:  refuseOrSafe, at: "content/b/x.md:",
		},
		{
			name: "fm/crlf-valid", why: "well-formed front matter with Windows line endings is honoured",
			files: map[string]string{"content/b/x.md": crlf("---", "title: Board only canaryfq1", "audience: [board]", "slug: r-fq", "tlp: amber", "---", "", "Body canaryfq2.")},
			want:  publish, has: []string{"b/r-fq/index.html"},
		},
		{
			name: "fm/bom-valid", why: "a BOM before well-formed front matter is skipped",
			files: map[string]string{"content/b/x.md": bom + md("---", "title: Board only canaryfr1", "audience: [board]", "slug: r-fr", "tlp: amber", "---", "", "Body canaryfr2.")},
			want:  publish, has: []string{"b/r-fr/index.html"},
		},

		// Front matter keys that decide who reads.
		{
			name: "key/audiense", why: "a misspelt audience would publish the page to everyone",
			files: map[string]string{"content/b/x.md": md("---", "title: Board only canaryka1", "audiense: [board]", "slug: r-ka", "---", "", "Body canaryka2.")},
			want:  refuse, at: "content/b/x.md:3:", msg: `did you mean "audience"`,
		},
		{
			name: "key/Audience", why: "audience in another letter case is not audience",
			files: map[string]string{"content/b/x.md": md("---", "title: Board only canarykb1", "Audience: [board]", "slug: r-kb", "---", "", "Body canarykb2.")},
			want:  refuse, at: "content/b/x.md:3:", msg: "audience",
		},
		{
			name: "key/audiance-toml", why: "a misspelt audience in TOML",
			files: map[string]string{"content/b/x.md": md("+++", `title = "Board only canarykc1"`, `audiance = ["board"]`, `slug = "r-kc"`, "+++", "", "Body canarykc2.")},
			want:  refuse, at: "content/b/x.md:3:", msg: `did you mean "audience"`,
		},
		{
			name: "key/darft", why: "a misspelt draft would publish the draft",
			files: map[string]string{"content/b/x.md": md("---", "title: Draft canarykd1", "darft: true", "---", "", "Unfinished canarykd2.")},
			want:  refuse, at: "content/b/x.md:3:", msg: `did you mean "draft"`,
		},
		{
			name: "key/draft-yes", why: "draft: yes is a string in YAML 1.2, not true",
			files: map[string]string{"content/b/x.md": md("---", "title: Draft canaryke1", "draft: yes", "---", "", "Unfinished canaryke2.")},
			want:  refuse, at: "content/b/x.md:3:", msg: "draft",
		},
		{
			name: "key/params-audience", why: "Hugo's habit: audience under params is not the page's audience (refused at params:)",
			files: map[string]string{"content/b/x.md": md("---", "title: Board only canarykf1", "params:", "  audience: [board]", "slug: r-kf", "---", "", "Body canarykf2.")},
			want:  refuse, at: "content/b/x.md:3:", msg: "audience",
		},
		{
			name: "fm/after-heading", why: "front matter after a heading is read as text: audience ignored, the page public",
			files: map[string]string{"content/b/x.md": md("# Heading canaryla1", "", "---", "title: Board only canaryla2", "slug: r-la", "audience: [board]", "---", "", "Body canaryla3.")},
			want:  refuse, at: "content/b/x.md:3:", msg: "sets audience",
		},
		{
			name: "fm/after-heading-in-quote-zero-width", why: "front matter in a quote after a heading, its key behind a zero-width space (as a copy and paste leaves it): audience ignored, the page public",
			files: map[string]string{"content/b/x.md": md("# Heading canaryzw1", "", "> ---", "> \u200Baudience: [board]", "> title: Board only canaryzw2", "> ---", "", "Body canaryzw3.")},
			want:  refuse, at: "content/b/x.md:3:", msg: "sets audience",
		},
		{
			name: "file/upper-case-md", why: "a briefing saved as .MD is not read as one, and would be published raw",
			files: map[string]string{"content/b/x.MD": md("---", "title: Board only canarylb1", "slug: r-lb", "audience: [board]", "---", "", "Body canarylb2.")},
			want:  refuse, at: "content/b/x.MD:1:", msg: "looks like a markdown file",
		},
		{
			name: "file/md-orig", why: "a merge tool's copy of a briefing would be published raw",
			files: map[string]string{"content/b/a.md.orig": md("::: restricted to=board", "Old canarylc1.", ":::")},
			want:  refuse, at: "content/b/a.md.orig:1:", msg: "looks like a markdown file",
		},
		{
			name: "fence/modifier-colons", why: "ːːː (modifier letter colons) opens no block: the passage would be a paragraph",
			files: map[string]string{"content/b/x.md": md("---", "title: X", "---", "", "Public.", "", "ːːː restricted to=board", "Secret canaryld1.", "ːːː")},
			want:  refuse, at: "content/b/x.md:7:", msg: "looks like a restricted block",
		},
		{
			name: "fence/zero-width-in-colons", why: "a zero-width space among the colons opens no block",
			files: map[string]string{"content/b/x.md": md("---", "title: X", "---", "", "Public.", "", "::\u200b: restricted to=board", "Secret canaryle1.", ":::")},
			want:  refuse, at: "content/b/x.md:7:", msg: "looks like a restricted block",
		},
		{
			name: "link/file-name-other-case", why: "names are compared as a reader's file system may: Report.PDF names report.pdf",
			files: map[string]string{
				"content/b/x.md":                md("---", "title: X", "---", "", "Public.", "", "::: restricted to=board", "See CanaryLG_Report.PDF.", ":::"),
				"content/b/canarylg_report.pdf": "%PDF canarylg2",
			},
			want: refuse, at: "content/b/x.md:8:", msg: "restricted text names content/b/canarylg_report.pdf",
		},
		{
			name: "link/escaped-file-name", why: "secret\\_poc.txt names the file as a reader sees it",
			files: map[string]string{
				"content/b/x.md":             md("---", "title: X", "---", "", "Public.", "", "::: restricted to=board", "See canarylf\\_poc.txt.", ":::"),
				"content/b/canarylf_poc.txt": "data canarylf2",
			},
			want: refuse, at: "content/b/x.md:8:", msg: "restricted text names content/b/canarylf_poc.txt",
		},
		{
			name: "key/slug-too-long", why: "no reader accepts a path name of more than 255 bytes: the page is refused at its slug, not published elsewhere",
			files: map[string]string{"content/b/x.md": md("---", "title: Board only canaryki1", "audience: [board]", "slug: r-"+strings.Repeat("k", 260), "---", "", "Body canaryki2.")},
			want:  refuse, at: "content/b/x.md:4:", msg: "its output path would be a name of 262 bytes, more than 255",
		},
		{
			name: "key/audience-empty", why: "an empty audience names nobody",
			files: map[string]string{"content/b/x.md": md("---", "title: Nobody canarykg1", "audience: []", "slug: r-kg", "---", "", "Body canarykg2.")},
			want:  refuse, at: "content/b/x.md:3:", msg: "empty audience",
		},
		{
			name: "key/audience-no-slug", why: "a restricted page's URL must not come from its file name",
			files: map[string]string{"content/b/canarykh1-embargo.md": md("---", "title: Board only canarykh2", "audience: [board]", "---", "", "Body canarykh3.")},
			want:  refuse, at: "content/b/canarykh1-embargo.md:3:", msg: "slug",
		},
		{
			name: "key/audience-slug-secret-file-name", why: "a restricted page whose file name holds what it is about, among public pages and a page with a passage, published and published again: the name reaches no public file or path (and the stages take pages in the order of their addresses, so the order files are made in does not show where it sorts: TestPagesTakenInAddressOrder)",
			before: map[string]string{
				"content/b/a.md": page("Before", "Public before."),
			},
			files: map[string]string{
				"content/b/canaryko1-merger.md": md(append(restrictedFront("Board only canaryko2", "r-ko"), "", "Body canaryko3.")...),
				"content/b/m.md":                page("Middle", "Public middle.", "", "::: restricted to=board", "Passage canaryko4.", ":::"),
				"content/b/z.md":                page("After", "Public after."),
			},
			want: publish, has: []string{"b/r-ko/index.html", "b/m/index.html", "b/z/index.html"},
		},
		{
			name: "key/audience-unknown", why: "an unknown name in audience: gets a suggestion",
			files: map[string]string{"content/b/x.md": md("---", "title: Board only canaryki1", "tlp: amber", "audience: [boad]", "slug: r-ki", "---", "", "Body canaryki2.")},
			want:  refuse, at: "content/b/x.md:4:", msg: `did you mean "board"`,
		},

		// Lines that try to open or close a restricted block.
		{
			name: "fence/two-colons", why: "two colons do not open a block: the passage would be a public paragraph",
			files: map[string]string{"content/b/x.md": page("Fence", ":: restricted to=board", "Passage canaryba1.", "::")},
			want:  refuse, at: "content/b/x.md:5:", msg: "restricted",
		},
		{
			name: "fence/one-colon", why: "one colon",
			files: map[string]string{"content/b/x.md": page("Fence", ": restricted to=board", "Passage canarybb1.", ":")},
			want:  refuse, at: "content/b/x.md:5:", msg: "restricted",
		},
		{
			name: "fence/two-colons-glued-capital", why: "two colons glued to Restricted",
			files: map[string]string{"content/b/x.md": page("Fence", "::Restricted to=board", "Passage canarybc1.", "::")},
			want:  refuse, at: "content/b/x.md:5:", msg: "restricted",
		},
		{
			name: "fence/upper-case", why: "RESTRICTED is an attempt, not another kind of block",
			files: map[string]string{"content/b/x.md": page("Fence", "::: RESTRICTED to=board", "Passage canarybd1.", ":::")},
			want:  refuse, at: "content/b/x.md:5:", msg: "lower case",
		},
		{
			name: "fence/misspelt", why: "restrcted is within distance 2 of restricted",
			files: map[string]string{"content/b/x.md": page("Fence", "::: restrcted to=board", "Passage canarybe1.", ":::")},
			want:  refuse, at: "content/b/x.md:5:", msg: `did you mean "restricted"`,
		},
		{
			name: "fence/pandoc-attributes", why: "pandoc's {.restricted} spelling",
			files: map[string]string{"content/b/x.md": page("Fence", "::: {.restricted to=board}", "Passage canarybf1.", ":::")},
			want:  refuse, at: "content/b/x.md:5:", msg: "restricted",
		},
		{
			name: "fence/unknown-name", why: "a misspelt group name gets a suggestion",
			files: map[string]string{"content/b/x.md": page("Fence", "::: restricted to=boad", "Passage canarybg1.", ":::")},
			want:  refuse, at: "content/b/x.md:5:", msg: `did you mean "board"`,
		},
		{
			name: "fence/name-upper-case", why: "names are lower case: Board is not board",
			files: map[string]string{"content/b/x.md": page("Fence", "::: restricted to=Board", "Passage canarybh1.", ":::")},
			want:  refuse, at: "content/b/x.md:5:", msg: "Board",
		},
		{
			name: "fence/spaced-equals", why: "to = board is three tokens, not an audience",
			files: map[string]string{"content/b/x.md": page("Fence", "::: restricted to = board", "Passage canarybi1.", ":::")},
			want:  refuse, at: "content/b/x.md:5:", msg: "key=value",
		},
		{
			name: "fence/empty-to", why: "to= with no name",
			files: map[string]string{"content/b/x.md": page("Fence", "::: restricted to= tlp=amber", "Passage canarybj1.", ":::")},
			want:  refuse, at: "content/b/x.md:5:", msg: "empty audience",
		},
		{
			name: "fence/no-to-no-default", why: "no to= and no [tlp] default for the label: nobody to seal for",
			files: map[string]string{"content/b/x.md": page("Fence", "::: restricted tlp=amber", "Passage canarybk1.", ":::")},
			want:  refuse, at: "content/b/x.md:5:", msg: "default audience",
		},
		{
			name: "fence/misspelt-key", why: "tpl= is not tlp=",
			files: map[string]string{"content/b/x.md": page("Fence", "::: restricted to=board tpl=amber", "Passage canarybl1.", ":::")},
			want:  refuse, at: "content/b/x.md:5:", msg: `unknown key "tpl"`,
		},
		{
			name: "fence/glued", why: ":::restricted is a valid opening line",
			files: map[string]string{"content/b/x.md": page("Fence", ":::restricted to=board tlp=amber", "Passage canarybm1.", ":::")},
			want:  publish, has: []string{"b/x/index.html"},
		},
		{
			name: "fence/indented-code", why: "indented 4 spaces it is a code block: published as code",
			files: map[string]string{"content/b/x.md": page("Fence", "Public.", "", "    ::: restricted to=board", "    Passage canarybn1.", "    :::")},
			want:  refuse, at: "content/b/x.md:7:", msg: "restricted block",
		},
		{
			name: "fence/tab-indented", why: "a tab indents to column 4: a code block too",
			files: map[string]string{"content/b/x.md": page("Fence", "Public.", "", "\t::: restricted to=board", "\tPassage canarybo1.", "\t:::")},
			want:  refuse, at: "content/b/x.md:7:", msg: "restricted block",
		},
		{
			name: "fence/in-html-block", why: "inside an HTML block the lines are HTML, not a block",
			files: map[string]string{"content/b/x.md": page("Fence", "<div class=\"note\">", "::: restricted to=board", "Passage canarybp1.", ":::", "</div>")},
			want:  refuse, at: "content/b/x.md:6:", msg: "restricted block",
		},
		{
			name: "fence/in-html-comment", why: "a block commented out is still an attempt; comments are never published",
			files: map[string]string{"content/b/x.md": page("Fence", "<!--", "::: restricted to=board", "Passage canarybq1.", ":::", "-->")},
			want:  refuse, at: "content/b/x.md:6:", msg: "restricted block",
		},
		{
			name: "fence/mid-paragraph", why: "an opening written mid-line is text",
			files: map[string]string{"content/b/x.md": page("Fence", "Public text ::: restricted to=board Passage canarybr1.", ":::")},
			want:  refuse, at: "content/b/x.md:5:", msg: "restricted",
		},
		{
			name: "fence/interrupts-paragraph", why: "an opening line right after a paragraph line opens a block",
			files: map[string]string{"content/b/x.md": page("Fence", "Public text.", "::: restricted to=board tlp=amber", "Passage canarybs1.", ":::")},
			want:  publish, has: []string{"b/x/index.html"},
		},
		{
			name: "fence/unclosed", why: "a block never closed",
			files: map[string]string{"content/b/x.md": page("Fence", "::: restricted to=board", "Passage canarybt1.")},
			want:  refuse, at: "content/b/x.md:5:", msg: "never closed",
		},
		{
			name: "fence/close-fewer-colons", why: "a closing line with fewer colons does not close",
			files: map[string]string{"content/b/x.md": page("Fence", "::::: restricted to=board", "Passage canarybu1.", ":::", "", "More canarybu2.")},
			want:  refuse, at: "content/b/x.md:5:", msg: "never closed",
		},
		{
			name: "fence/close-misspelt", why: "::: /restricted is no closing line",
			files: map[string]string{"content/b/x.md": page("Fence", "::: restricted to=board", "Passage canarybv1.", "::: /restricted")},
			want:  refuse, at: "content/b/x.md:7:", msg: "restricted",
		},
		{
			name: "fence/orphan-close", why: "the opening line deleted, the closing kept: the passage is now public",
			files: map[string]string{"content/b/x.md": page("Fence", "Public.", "", "Passage canarybw1 that lost its opening line.", ":::")},
			want:  refuse, at: "content/b/x.md:8:", msg: "restricted block",
		},
		{
			name: "fence/unclosed-code-fence", why: "a block inside a code fence that is never closed is published as code",
			files: map[string]string{"content/b/x.md": page("Fence", "```", "example", "", "::: restricted to=board", "Passage canarybx1.", ":::")},
			want:  refuse, at: "content/b/x.md:8:", msg: "never closed",
		},
		{
			name: "fence/list-open-close-outside", why: "opened in a list item, closed outside it",
			files: map[string]string{"content/b/x.md": page("Fence", "- Item one", "- Item two", "  ::: restricted to=board", "  Passage canaryby1.", ":::")},
			want:  refuseOrSafe, at: "content/b/x.md:",
		},
		{
			name: "fence/quote-open-close-outside", why: "opened in a block quote, closed outside it",
			files: map[string]string{"content/b/x.md": page("Fence", "> ::: restricted to=board", "> Passage canarybz1.", ":::")},
			want:  refuseOrSafe, at: "content/b/x.md:",
		},
		{
			name: "fence/quote-open-close-after-blank", why: "opened in a block quote, closed after it ended",
			files: map[string]string{"content/b/x.md": page("Fence", "> ::: restricted to=board", "> Passage canarybz2.", "", ":::")},
			want:  refuseOrSafe, at: "content/b/x.md:",
		},
		{
			name: "fence/in-list-item", why: "a block inside a list item, closed inside it",
			files: map[string]string{"content/b/x.md": page("Fence", "- Item one", "- Item two", "", "  ::: restricted to=board tlp=amber", "  Passage canaryca1.", "  :::", "- Item three")},
			want:  publish, has: []string{"b/x/index.html"},
		},
		{
			name: "fence/in-quote", why: "a block inside a block quote, closed inside it",
			files: map[string]string{"content/b/x.md": page("Fence", "> Quoted.", ">", "> ::: restricted to=board tlp=amber", "> Passage canarycb1.", "> :::")},
			want:  publish, has: []string{"b/x/index.html"},
		},
		{
			name: "fence/nested-widens", why: "a nested block may only narrow its audience",
			files: map[string]string{"content/b/x.md": page("Fence", "::: restricted to=board", "Outer canarycc1.", "", ":::: restricted to=alice,carol", "Inner canarycc2.", "::::", ":::")},
			want:  refuse, at: "content/b/x.md:8:", msg: "widens",
		},
		{
			name: "fence/nested-narrows", why: "a nested block that narrows is accepted",
			files: map[string]string{"content/b/x.md": page("Fence", "::: restricted to=all tlp=amber", "Outer canarycd1.", "", ":::: restricted to=alice tlp=amber", "Inner canarycd2.", "::::", ":::")},
			want:  publish, has: []string{"b/x/index.html"},
		},
		{
			name: "fence/red-group", why: "TLP:RED names individuals",
			files: map[string]string{"content/b/x.md": md("---", "title: Fence", "tlp: red", "---", "", "::: restricted to=board tlp=red", "Passage canaryce1.", ":::")},
			want:  refuse, at: "content/b/x.md:6:", msg: "TLP:RED",
		},
		{
			name: "fence/clear", why: "TLP:CLEAR is never restricted",
			files: map[string]string{"content/b/x.md": page("Fence", "::: restricted to=board tlp=clear", "Passage canarycf1.", ":::")},
			want:  refuse, at: "content/b/x.md:5:", msg: "TLP:CLEAR",
		},
		{
			name: "fence/footnote", why: "a footnote's text goes to the page's public list of notes",
			files: map[string]string{"content/b/x.md": page("Fence", "::: restricted to=board", "Passage canarycg1.[^n]", "", "[^n]: Note canarycg2.", ":::")},
			want:  refuse, at: "content/b/x.md:8:", msg: "footnote",
		},
		{
			name: "fence/reference-definition", why: "a definition inside a block serves every link of the page",
			files: map[string]string{"content/b/x.md": page("Fence", "See [the source][s].", "", "::: restricted to=board", "[s]: https://canarych1.example.org/", ":::")},
			want:  refuse, at: "content/b/x.md:8:", msg: "link reference definition",
		},

		{
			name: "fence/cr-separated", why: "lone CRs inside an LF file: not line endings to goldmark, so the block is not what it looks like",
			files: map[string]string{"content/b/x.md": page("Fence", "Public.", "", "::: restricted to=board\rPassage canaryci1.\r:::")},
			want:  refuseOrSafe, at: "content/b/x.md:",
		},
		{
			name: "fence/in-table-cell", why: "a table cell cannot hold a block",
			files: map[string]string{"content/b/x.md": page("Fence", "| a | b |", "|---|---|", "| ::: restricted to=board | canarycj1 |")},
			want:  refuse, at: "content/b/x.md:7:", msg: "restricted block",
		},
		{
			name: "fence/first-paragraph", why: "a page whose first paragraph is restricted must not take its summary from it",
			files: map[string]string{"content/b/x.md": page("Fence", "::: restricted to=board tlp=amber", "First paragraph canaryck1.", ":::", "", "Second, public.")},
			want:  publish, has: []string{"b/x/index.html"},
		},
		{
			name: "fence/section-intro", why: "a block in a section's intro",
			files: map[string]string{"content/b/_index.md": page("Briefings", "Intro.", "", "::: restricted to=board tlp=amber", "Intro canarycl1.", ":::")},
			want:  publish, has: []string{"b/index.html"},
		},
		{
			name: "fence/home-intro", why: "a block with a heading in the home page's intro",
			files: map[string]string{"content/_index.md": page("Home", "::: restricted to=board tlp=amber", "## Home canarycm1", "", "Home canarycm2.", ":::")},
			want:  publish, has: []string{"index.html"},
		},

		// Files linked from restricted text.
		{
			name: "link/inline", why: "a file linked only from restricted text is sealed as an attachment",
			files: map[string]string{
				"content/b/x.md":          page("Links", "::: restricted to=board", "See [the log](canaryla1.txt), canaryla2.", ":::"),
				"content/b/canaryla1.txt": "log canaryla3\n",
			},
			want: publish, has: []string{"b/x/index.html"},
		},
		{
			name: "link/image", why: "an image shown only in restricted text is sealed",
			files: map[string]string{
				"content/b/x.md":          page("Links", "::: restricted to=board", "![map canarylb2](canarylb1.svg)", ":::"),
				"content/b/canarylb1.svg": "<svg xmlns=\"http://www.w3.org/2000/svg\"><text>canarylb3</text></svg>",
			},
			want: publish, has: []string{"b/x/index.html"},
		},
		{
			name: "link/pdf-in-folder", why: "a PDF in a sub-folder linked only from restricted text: neither its name nor its folder's is published",
			files: map[string]string{
				"content/b/x.md":                page("Links", "::: restricted to=board", "Read [the report](files/canarylc1.pdf) canarylc2.", ":::"),
				"content/b/files/canarylc1.pdf": "%PDF-1.4 canarylc3\n",
			},
			want: publish, has: []string{"b/x/index.html"},
		},
		{
			name: "link/reference-defined-outside", why: "a reference link in the block whose definition is outside it names the sealed file in public text",
			files: map[string]string{
				"content/b/x.md":          page("Links", "::: restricted to=board", "See [the report][r] canaryld2.", ":::", "", "[r]: canaryld1.pdf"),
				"content/b/canaryld1.pdf": "%PDF-1.4 canaryld3\n",
			},
			want: refuse, at: "content/b/x.md:6:", msg: "but public text names canaryld1.pdf",
		},
		{
			name: "link/html-a", why: "an HTML link inside the block (the error names the file; raw HTML is matched by name)",
			files: map[string]string{
				"content/b/x.md":          page("Links", "::: restricted to=board", `See <a href="canaryle1.txt">the log</a> canaryle2.`, ":::"),
				"content/b/canaryle1.txt": "log canaryle3\n",
			},
			want: refuse, at: "content/b/x.md:6:", msg: "content/b/canaryle1.txt",
		},
		{
			name: "link/html-img", why: "an HTML image inside the block",
			files: map[string]string{
				"content/b/x.md":          page("Links", "::: restricted to=board", "Passage canarylf2.", "", `<img src="canarylf1.svg" alt="map">`, "", ":::"),
				"content/b/canarylf1.svg": "<svg xmlns=\"http://www.w3.org/2000/svg\"><text>canarylf3</text></svg>",
			},
			want: refuse, at: "content/b/x.md:8:", msg: "content/b/canarylf1.svg",
		},
		{
			name: "link/dot-slash-fragment", why: "./name#page=2 names the same file, which is sealed",
			files: map[string]string{
				"content/b/x.md":          page("Links", "::: restricted to=board", "See [page 2](./canarylg1.pdf#page=2) canarylg2.", ":::"),
				"content/b/canarylg1.pdf": "%PDF-1.4 canarylg3\n",
			},
			want: publish, has: []string{"b/x/index.html"},
		},
		{
			name: "link/percent-escaped", why: "a %-escaped name names the same file, which is sealed",
			files: map[string]string{
				"content/b/x.md":          page("Links", "::: restricted to=board", "See [the log](canary%6Ch1.txt) canarylh2.", ":::"),
				"content/b/canarylh1.txt": "log canarylh3\n",
			},
			want: publish, has: []string{"b/x/index.html"},
		},
		{
			name: "link/other-folder", why: "a file in another folder is sealed, and its name published nowhere",
			files: map[string]string{
				"content/b/x.md":               page("Links", "::: restricted to=board", "See [the log](../o/canaryli1.txt) canaryli2.", ":::"),
				"content/o/canaryli1.txt":      "log canaryli3\n",
				"content/o/_index.md":          page("Other", "Other things."),
				"content/o/public-neighbor.md": page("Neighbour", "Public."),
			},
			want: publish, has: []string{"b/x/index.html", "o/public-neighbor/index.html"},
		},
		{
			name: "link/whole-page", why: "a file linked only from a restricted page is sealed for its audience",
			files: map[string]string{
				"content/b/x.md":          md(append(restrictedFront("Whole canarylj2", "r-lj"), "", "See [the log](canarylj1.txt).")...),
				"content/b/canarylj1.txt": "log canarylj3\n",
			},
			want: publish, has: []string{"b/r-lj/index.html"},
		},
		{
			name: "link/also-public", why: "a file linked from public text too is public",
			files: map[string]string{
				"content/b/x.md":       page("Links", "The [shared log](shared.txt).", "", "::: restricted to=board tlp=amber", "See [the log](shared.txt) canarylk1.", ":::"),
				"content/b/shared.txt": "public log\n",
			},
			want: publish, has: []string{"b/x/index.html", "b/shared.txt"},
		},
		{
			name: "link/also-public-elsewhere", why: "a file linked from another page's public text is public",
			files: map[string]string{
				"content/b/x.md":       page("Links", "::: restricted to=board tlp=amber", "See [the log](shared.txt) canaryll1.", ":::"),
				"content/b/y.md":       page("Other links", "The [shared log](shared.txt)."),
				"content/b/shared.txt": "public log\n",
			},
			want: publish, has: []string{"b/x/index.html", "b/shared.txt"},
		},

		{
			name: "attach/named-in-public", why: "public text names a file that only restricted text links to: the name would tell of the attachment",
			files: map[string]string{
				"content/b/x.md":          page("Links", "::: restricted to=board", "See [the log](canarylm1.txt) canarylm2.", ":::"),
				"content/b/y.md":          page("Other", "Ask for canarylm1.txt."),
				"content/b/canarylm1.txt": "log canarylm3\n",
			},
			want: refuse, at: "content/b/x.md:6:", msg: "but public text names canarylm1.txt",
		},
		{
			name: "attach/also-linked-by-a-draft", why: "a file a draft links too is still sealed for the passage, never left out or published",
			files: map[string]string{
				"content/b/x.md":          page("Links", "::: restricted to=board", "See [the log](canarylq1.txt) canarylq2.", ":::"),
				"content/b/draft.md":      md("---", "title: Draft", "draft: true", "---", "", "The [log](canarylq1.txt)."),
				"content/b/canarylq1.txt": "log canarylq3\n",
			},
			want: publish, has: []string{"b/x/index.html"},
		},
		{
			name: "attach/streamed", why: "a file too large to hold (over site.StreamSize), linked from restricted text, is sealed as a stream: neither its name nor a line far into it is published",
			files: map[string]string{
				"content/b/x.md":          page("Links", "::: restricted to=board", "See [the capture](canaryls1.log) canaryls2.", ":::"),
				"content/b/canaryls1.log": strings.Repeat("a line of a large capture\n", site.StreamSize/26+1) + "canaryls3 at the end\n",
			},
			want: publish, has: []string{"b/x/index.html"},
		},
		{
			name: "attach/streamed-public-holds-a-block", why: "a file too large to hold, published in clear, is checked as it is copied: a restricted block far into it is refused at its line",
			files: map[string]string{
				"content/b/x.md":          page("Links", "The [log](canarylt1.log)."),
				"content/b/canarylt1.log": strings.Repeat("a line of a large log\n", site.StreamSize/22+1) + "::: restricted to=board\ncanarylt2\n:::\n",
			},
			want: refuse, at: fmt.Sprintf("content/b/canarylt1.log:%d:", site.StreamSize/22+2), msg: "holds a restricted block",
		},
		{
			name: "attach/two-audiences", why: "a file linked from blocks of two audiences is sealed once, for both",
			files: map[string]string{
				"content/b/x.md":          page("Links", "::: restricted to=board", "See [the log](canaryln1.txt) canaryln2.", ":::", "", "::: restricted to=carol tlp=amber", "Also [the log](canaryln1.txt) canaryln4.", ":::"),
				"content/b/canaryln1.txt": "log canaryln3\n",
			},
			want: publish, has: []string{"b/x/index.html"},
		},
		{
			name: "attach/whole-page-rebuilt", why: "a page restricted as a whole that links an attachment is rendered by every build, never published again from its record; on the cached path it is built three times beside a page published again by its file's stamp and a list kept as it was (hard-linked): neither its title, its body nor the file reaches the output (and its folder and file are made like the others': TestRebuildKeepsUnchangedFiles, TestRebuildMakesFoldersInAddressOrder)",
			before: map[string]string{
				"content/b/a.md": page("Before", "Public before."),
			},
			files: map[string]string{
				"content/b/x.md":          md(append(restrictedFront("Board only canarylw1", "r-lw"), "", "See [the log](canarylw2.txt) canarylw3.")...),
				"content/b/canarylw2.txt": "log canarylw4\n",
				"content/b/z.md":          page("After", "Public after."),
			},
			want: publish, has: []string{"b/r-lw/index.html", "b/a/index.html", "b/z/index.html"},
		},
		{
			name: "search/page-at-its-address", why: "a page at /search/ would stand where the search page is written: refused, not overwritten",
			files: map[string]string{
				"content/search.md": page("Search canarysr1", "Our own search."),
			},
			want: refuse, at: "content/search.md:", msg: "reserved for the search page",
		},
		{
			name: "search/passage-words", why: "the words of passages, nested ones, tables in them and pages restricted as a whole reach only their audience's sealed index, never the public one, in no form (word, prefix, count)",
			files: map[string]string{
				"content/b/x.md": page("Searchable", "Public words here.", "", "::: restricted to=board",
					"Board canarysw1 text.", "", "| canarysw2 | cell |", "| --- | --- |", "| canarysw3 | x |", "",
					"::: restricted to=alice tlp=red", "Nested canarysw4.", ":::", ":::", "", "More public words."),
				"content/b/w.md": md(append(restrictedFront("Whole canarysw5", "r-sw"), "", "Body canarysw6.")...),
			},
			want: publish, has: []string{"search/index.json", "search/index.html", "b/x/index.html"},
		},
		{
			name: "search/passage-words-any-case", why: "words of a passage in capitals, with accents or combining marks, or longer than a term, are lowercased and cut by the tokenizer's ASCII and Unicode paths alike: none reaches the public index, on a page whose public words share their prefixes",
			files: map[string]string{
				"content/b/y.md": page("Casing", "Public words: Über, ÉCOLE, e\u0301cole.", "", "::: restricted to=board",
					"CANARYSW7 Canarysw8Über CANARYSW9ÉCOLE canarysw10e\u0301 "+strings.Repeat("canarysw11", 5)+".", ":::", "", "More public words."),
			},
			want: publish, has: []string{"search/index.json", "b/y/index.html"},
		},
		{
			name: "search/public-words-split-by-markup", why: "a sealed page's public words split by inline markup, escaped or in code, checked against the body the page published: the page builds, the passage's words (one of them the public words joined) reach no public file",
			files: map[string]string{
				"content/b/z.md": page("Split words", "Public em*bargo* and `x`*y*, co\\_op, <span>half</span>way.", "", "::: restricted to=board",
					"Sealed canarysm1 embargoxy canarysm2.", ":::", "", "More public words."),
			},
			want: publish, has: []string{"search/index.json", "b/z/index.html"},
		},
		{
			name: "search/public-character-references", why: "a sealed page whose public text holds character references and escapes (R&amp;D, &#x41;, \\*) is indexed by the words it shows, not by the references' names: the page builds, and its passage, written with references too, reaches no public file",
			files: map[string]string{
				"content/b/r.md": page("R&amp;D notes", "Public R&amp;D &#x41;lpha \\*starred\\* &copy; words, and `&amp; in code`.", "", "::: restricted to=board",
					"Sealed R&amp;D canaryce1 &#x42;eta canaryce2.", ":::", "", "More public words."),
			},
			want: publish, has: []string{"search/index.json", "b/r/index.html"},
		},
		{
			name: "search/sealed-words-numbered-first", why: "search terms are numbers in one dictionary that every build of the process shares: a passage's words, numbered before or beside a public page's, reach no public entry, and the public page's words do",
			files: map[string]string{
				"content/b/s.md": page("Sealed first", "::: restricted to=board", "Canarysn1 canarysn2 canarysn3 canarysn4.", ":::", "", "Public tail words."),
				"content/b/t.md": page("Plain page", "Wholly public text about gateways."),
			},
			want: publish, has: []string{"search/index.json", "b/s/index.html", "b/t/index.html"},
		},
		{
			name: "scan/passage-text-in-a-file-found-clean", why: "a content file published clean by the last build holds a sentence that a new passage restricts: the file, unchanged, is scanned again and stops the build, though the last scan found it clean",
			before: map[string]string{
				"content/b/relay.txt": "Field notes. The relay canaryrc1 goes dark on Friday.\n",
			},
			files: map[string]string{
				"content/b/x.md": page("Relay", "Public words.", "", "::: restricted to=board", "The relay canaryrc1 goes dark on Friday.", ":::"),
			},
			want: refuse, at: "content/b/x.md:7:", msg: `appears in b/relay.txt`,
		},
		{
			name: "scan/quote-withdrawn", why: "a public page quoted a passage, so the last build's scan did not look for its text; the quote withdrawn, a published file that holds the text stops the build (the cached scan remembers where it found the text, and looks again once that text is gone)",
			before: map[string]string{
				"content/b/x.md": page("Relay", "Public words.", "", "::: restricted to=board", "The relay canaryqw1 goes dark on Friday.", ":::"),
				"content/b/q.md": page("Quote", "As the board said: The relay canaryqw1 goes dark on Friday."),
			},
			files: map[string]string{
				"content/b/q.md":      page("Quote", "Nothing quoted now."),
				"content/b/notes.txt": "Field notes. The relay canaryqw1 goes dark on Friday.\n",
			},
			want: refuse, at: "content/b/x.md:7:", msg: `appears in b/notes.txt`,
		},
		{
			name: "cache/front-matter-restricts", why: "a public page made restricted as a whole by an audience: added to its front matter, title and body unchanged: its bytes changed, so the build parses it again rather than take it as the last build read it (the read cache), and seals it",
			before: map[string]string{
				"content/b/fm.md": md("---", "title: Plans canaryfr1", "slug: r-fr", "date: 2024-03-03", "---", "", "Body canaryfr2."),
			},
			files: map[string]string{
				"content/b/fm.md": md("---", "title: Plans canaryfr1", "slug: r-fr", "date: 2024-03-03", "audience: [board]", "---", "", "Body canaryfr2."),
			},
			want: publish, has: []string{"b/r-fr/index.html"},
		},
		{
			name: "cache/files-swapped", why: "a public page and a page restricted as a whole swap their files' bytes: each path's last read says the other kind of page, but the bytes are not the ones read, so both are parsed again, and the restricted one is sealed at its new place",
			before: map[string]string{
				"content/b/sw1.md": md("---", "title: Public swap", "slug: p-sw", "date: 2024-03-03", "---", "", "Public body."),
				"content/b/sw2.md": md("---", "title: Plans canarysw1", "slug: r-sw", "date: 2024-03-03", "audience: [board]", "---", "", "Body canarysw2."),
			},
			files: map[string]string{
				"content/b/sw1.md": md("---", "title: Plans canarysw1", "slug: r-sw", "date: 2024-03-03", "audience: [board]", "---", "", "Body canarysw2."),
				"content/b/sw2.md": md("---", "title: Public swap", "slug: p-sw", "date: 2024-03-03", "---", "", "Public body."),
			},
			want: publish, has: []string{"b/r-sw/index.html", "b/p-sw/index.html"},
		},
		{
			name: "embargo/pending", why: "a passage or a page under an embargo that has not lifted is sealed like any other: its text, and the page's title, summary and tags, reach no public file",
			files: map[string]string{
				"content/b/x.md": page("Embargoed", "Public intro.", "", "::: restricted to=board tlp=amber embargo=2099-01-01T00:00:00Z after=clear",
					"Fix canaryem1 ships.", ":::", "", "Public outro."),
				"content/b/w.md": md("---", "title: Whole canaryem2", "summary: Sum canaryem3", "tags: [canaryem4]", "tlp: amber", "audience: [board]",
					"slug: r-em", "embargo: 2099-01-01T00:00:00Z", "date: 2024-03-03", "---", "", "Body canaryem5."),
			},
			want: publish, has: []string{"b/x/index.html", "b/r-em/index.html"},
		},
		{
			name: "embargo/lifted-keeps-nested", why: "a lifted passage is public text, but a passage nested in it without an embargo stays sealed, and the lifted fence's audience names reach no public text",
			files: map[string]string{
				"content/b/x.md": page("Lifted", "::: restricted to=board tlp=amber embargo=2000-01-01T00:00:00Z",
					"Now public.", "", ":::: restricted to=alice tlp=red", "Still sealed canaryel1.", "::::", ":::"),
			},
			want: publish, has: []string{"b/x/index.html"},
		},
		{
			name: "embargo/no-zone", why: "an embargo time without its zone is a guess at whose 17:00 it means: refused, never lifted early or late",
			files: map[string]string{
				"content/b/x.md": page("Zoneless", "::: restricted to=board tlp=amber embargo=2026-12-09T17:00:00", "Text canaryez1.", ":::"),
			},
			want: refuse, at: "content/b/x.md:5:", msg: "no zone",
		},
		{
			name: "embargo/public-page", why: "embargo: on a page with no audience would publish it at once: refused",
			files: map[string]string{
				"content/b/x.md": md("---", "title: Not yet canaryep1", "embargo: 2099-01-01T00:00:00Z", "---", "", "Body canaryep2."),
			},
			want: refuse, at: "content/b/x.md:3:", msg: "only a page restricted as a whole",
		},
		{
			name: "embargo/inside-sealed", why: "an embargo inside a passage that does not lift by then would stay sealed inside it: refused",
			files: map[string]string{
				"content/b/x.md": page("Nested", "::: restricted to=board tlp=amber", "", ":::: restricted to=alice tlp=red embargo=2000-01-01T00:00:00Z",
					"Text canaryei1.", "::::", ":::"),
			},
			want: refuse, at: "content/b/x.md:7:", msg: "does not lift by then",
		},
		{
			name: "bundle/public-link-into", why: "a public link to a file of a restricted bundle would publish the bundle's folder name",
			files: map[string]string{
				"content/b/canaryso1/index.md":      md(append(restrictedFront("Bundle canaryso2", "r-so"), "", "Body canaryso3.")...),
				"content/b/canaryso1/canaryso4.pdf": "%PDF-1.4 canaryso5\n",
				"content/b/y.md":                    page("Other", "The [report](canaryso1/canaryso4.pdf)."),
			},
			want: refuse, at: "content/b/y.md:5:", msg: "a page bundle restricted as a whole",
		},
		{
			name: "bundle/page-in-sub-folder", why: "a page in a sub-folder of a restricted bundle would publish the bundle's folder name",
			files: map[string]string{
				"content/b/canarysp1/index.md":           md(append(restrictedFront("Bundle canarysp2", "r-sp"), "", "Body canarysp3.", "", "![canarysp6](img/canarysp4.png)")...),
				"content/b/canarysp1/img/canarysp4.png":  "\x89PNG\r\n\x1a\ncanarysp5",
				"content/b/canarysp1/notes/canarysp7.md": "",
			},
			want: refuse, at: "content/b/canarysp1/index.md:4:", msg: "also holds the page",
		},
		{
			name: "bundle/sub-folder-file", why: "a file in a sub-folder of a restricted bundle, shown by its text",
			files: map[string]string{
				"content/b/canarysq1/index.md":          md(append(restrictedFront("Bundle canarysq2", "r-sq"), "", "Body canarysq3.", "", "![canarysq6](img/canarysq4.png)")...),
				"content/b/canarysq1/img/canarysq4.png": "\x89PNG\r\n\x1a\ncanarysq5",
			},
			want: publish, has: []string{"b/r-sq/index.html"},
		},

		// Anchors and titles of restricted text named in public text.
		{
			name: "anchor/same-page", why: "a public link to a restricted heading's ID publishes the heading's words",
			files: map[string]string{"content/b/x.md": page("Anchors", "See [the details](#canaryha1-details).", "", "::: restricted to=board tlp=amber", "## canaryha1 details", "", "Passage canaryha2.", ":::")},
			want:  refuse, at: "content/b/x.md:5:", msg: "canaryha1-details",
		},
		{
			name: "anchor/other-page", why: "a public link to a restricted heading of another page",
			files: map[string]string{
				"content/b/x.md": page("Anchors", "::: restricted to=board tlp=amber", "## canaryhb1 details", "", "Passage canaryhb2.", ":::"),
				"content/b/y.md": page("Pointer", "See [the details](x.md#canaryhb1-details)."),
			},
			want: refuse, at: "content/b/y.md:5:", msg: "canaryhb1-details",
		},
		{
			name: "anchor/page-with-restricted-headings", why: "public links to a page holding a restricted heading, without a fragment and to its public heading, as a preview patches them in: published, the heading's words nowhere",
			files: map[string]string{
				"content/b/x.md": page("Anchors", "## Open part", "", "Open text.", "", "::: restricted to=board tlp=amber", "## canaryhd1 details", "", "Passage canaryhd2.", ":::"),
				"content/b/y.md": page("Pointer", "See [the page](x.md) and [its open part](x.md#open-part)."),
			},
			want: publish, has: []string{"b/x/index.html", "b/y/index.html"},
		},
		{
			name: "title/public-link-text", why: "public text that repeats a restricted page's title verbatim: the author cannot mean both",
			files: map[string]string{
				"content/b/x.md": md(append(restrictedFront("canaryhc1 merger", "r-hc"), "", "Body canaryhc2.")...),
				"content/b/y.md": page("Pointer", "See [canaryhc1 merger](x.md)."),
			},
			want: refuse, at: "content/b/y.md:5:", msg: "title",
		},
		{
			name: "title/public-link-neutral", why: "a public link to a restricted page with neutral text is fine: the slug is public",
			files: map[string]string{
				"content/b/x.md": md(append(restrictedFront("canaryhd1 merger", "r-hd"), "", "Body canaryhd2.")...),
				"content/b/y.md": page("Pointer", "Board members: see [the board's page](x.md)."),
			},
			want: publish, has: []string{"b/r-hd/index.html", "b/y/index.html"},
		},

		// Whole restricted pages: every part of them.
		{
			name: "whole/all-fields", why: "title, summary, tags, headings and body of a restricted page stay out of lists, tags, feed and sitemap",
			files: map[string]string{"content/b/x.md": md("---", "title: Merger canarywa1", "summary: Summary canarywa2", "tags: [canarywa3, shared]", "date: 2024-05-05", "audience: [board]", "slug: r-wa", "tlp: amber", "---", "", "## Heading canarywa4", "", "Body canarywa5.")},
			want:  publish, has: []string{"b/r-wa/index.html", "tags/shared/index.html"},
		},
		{
			name: "whole/listed-at-every-depth", why: "a restricted page's list item, rendered once for every list and given each list page's root, shows none of its fields: it is on the second page of the home and section lists (25 newer public pages before it), at two depths, and on no tag list, though it shares a tag with them",
			before: publicPages(25, "shared"),
			files:  map[string]string{"content/b/x.md": md("---", "title: Merger canarywl1", "summary: Summary canarywl2", "tags: [canarywl3, shared]", "date: 2020-01-01", "audience: [board]", "slug: r-wl", "tlp: amber", "---", "", "Body canarywl4.")},
			want:   publish, has: []string{"b/r-wl/index.html", "page/2/index.html", "b/page/2/index.html", "tags/shared/page/2/index.html"},
		},
		{
			name: "whole/title-from-file-name", why: "a restricted page without a title must not take it from its file name",
			files: map[string]string{"content/b/canarywb1-plan.md": md("---", "audience: [board]", "slug: r-wb", "tlp: amber", "---", "", "Body canarywb2.")},
			want:  publish, has: []string{"b/r-wb/index.html"},
		},
		{
			name: "whole/toml", why: "a restricted page in TOML",
			files: map[string]string{"content/b/x.md": md("+++", `title = "Merger canarywc1"`, `summary = "Summary canarywc2"`, `tags = ["canarywc3"]`, `audience = ["board"]`, `slug = "r-wc"`, `tlp = "amber"`, "+++", "", "Body canarywc4.")},
			want:  publish, has: []string{"b/r-wc/index.html"},
		},
		{
			name: "whole/footnotes", why: "a restricted page's notes are sealed with it",
			files: map[string]string{"content/b/x.md": md(append(restrictedFront("Notes canarywe1", "r-we"), "", "Text canarywe2.[^1]", "", "[^1]: Note canarywe3.")...)},
			want:  publish, has: []string{"b/r-we/index.html"},
		},
		{
			name: "whole/tlp-clear", why: "a restricted page cannot be TLP:CLEAR",
			files: map[string]string{"content/b/x.md": md("---", "title: Clear canarywf1", "tlp: clear", "audience: [board]", "slug: r-wf", "---", "", "Body canarywf2.")},
			want:  refuse, at: "content/b/x.md:4:", msg: "TLP:CLEAR",
		},
		{
			name: "whole/section-intro", why: "a section's intro cannot be restricted as a whole",
			files: map[string]string{"content/b/_index.md": md("---", "title: Briefings", "audience: [board]", "---", "", "Intro canarywd1.")},
			want:  refuse, at: "content/b/_index.md:3:", msg: "audience",
		},

		// Folders: bundles and sections.
		{
			name: "bundle/extra-file", why: "a file in a restricted bundle's folder is an attachment, sealed for the page's audience",
			files: map[string]string{
				"content/b/canarysa1/index.md":      md(append(restrictedFront("Bundle canarysa2", "r-sa"), "", "Body canarysa3.")...),
				"content/b/canarysa1/canarysa4.pdf": "%PDF-1.4 canarysa5\n",
			},
			want: publish, has: []string{"b/r-sa/index.html"},
		},
		{
			name: "bundle/folder-name", why: "a restricted bundle's URL comes from its slug: its folder name is published nowhere",
			files: map[string]string{"content/b/canarysb1/index.md": md(append(restrictedFront("Bundle canarysb2", "r-sb"), "", "Body canarysb3.")...)},
			want:  publish,
		},
		{
			name: "bundle/no-slug", why: "a restricted bundle without a slug would be published at its folder's name",
			files: map[string]string{"content/b/canarysc1/index.md": md("---", "title: Bundle canarysc2", "audience: [board]", "---", "", "Body canarysc3.")},
			want:  refuse, at: "content/b/canarysc1/index.md:3:", msg: "slug",
		},
		{
			name: "section/all-restricted", why: "a folder of restricted pages only would publish its name in navigation, lists and sitemap",
			files: map[string]string{"content/canarysd1/x.md": md(append(restrictedFront("Deal canarysd2", "r-sd"), "", "Body canarysd3.")...)},
			want:  refuse, at: "content/canarysd1/x.md:4:", msg: "_index.md",
		},
		{
			name: "section/all-restricted-with-intro", why: "with an _index.md the folder's name is public on purpose",
			files: map[string]string{
				"content/deals/_index.md": page("Deals", "Deals we are working on."),
				"content/deals/x.md":      md(append(restrictedFront("Deal canaryse1", "r-se"), "", "Body canaryse2.")...),
			},
			want: publish, has: []string{"deals/index.html", "deals/r-se/index.html"},
		},
		{
			name: "section/nested-folder", why: "a nested folder in a restricted page's URL is published too",
			files: map[string]string{"content/b/canarysf1/x.md": md(append(restrictedFront("Deal canarysf2", "r-sf"), "", "Body canarysf3.")...)},
			want:  refuse, at: "content/b/canarysf1/x.md:4:", msg: "_index.md",
		},
		{
			name: "section/nested-folder-with-intro", why: "a nested folder with an _index.md is public on purpose",
			files: map[string]string{
				"content/b/deals/_index.md": page("Deals", "Deals."),
				"content/b/deals/x.md":      md(append(restrictedFront("Deal canarysg1", "r-sg"), "", "Body canarysg2.")...),
			},
			want: publish, has: []string{"b/deals/r-sg/index.html"},
		},
		{
			name: "section/mixed", why: "a folder with a public page is public: its restricted page is sealed",
			files: map[string]string{
				"content/mixed/pub.md": page("Public in mixed", "Public."),
				"content/mixed/x.md":   md(append(restrictedFront("Deal canarysh1", "r-sh"), "", "Body canarysh2.")...),
			},
			want: publish, has: []string{"mixed/pub/index.html", "mixed/r-sh/index.html"},
		},
	}
}

// canaryWord finds a canary, whatever its letter case.
var canaryWord = regexp.MustCompile(`(?i)canary[a-z0-9]*`)

// canaries lists every canary in the names and bytes of tree, with where.
func canaries(tree map[string][]byte) []string {
	var out []string
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for p := range tree {
			if !yield(p) {
				return
			}
		}
	}) {
		if m := canaryWord.FindString(p); m != "" {
			out = append(out, fmt.Sprintf("file name %s", p))
		}
		data := tree[p]
		for _, loc := range canaryWord.FindAllIndex(data, 3) {
			out = append(out, fmt.Sprintf("%s: %q", p, data[max(0, loc[0]-60):min(len(data), loc[1]+30)]))
		}
	}
	return out
}

// errorLines splits a build error into its lines, one problem each.
func errorLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

// checkRefusal reports what is wrong with err as the refusal m wants.
func checkRefusal(m mistake, err error) string {
	for _, l := range errorLines(err) {
		if strings.Contains(l, m.at) && strings.Contains(l, m.msg) {
			return ""
		}
	}
	return fmt.Sprintf("no error at %s saying %q; got:\n%v", m.at, m.msg, err)
}

// checkPublished reports what is wrong with the published tree.
func checkPublished(m mistake, tree map[string][]byte) string {
	var problems []string
	for _, c := range canaries(tree) {
		problems = append(problems, "leaked: "+c)
	}
	for _, p := range m.has {
		if _, ok := tree[p]; !ok {
			problems = append(problems, "missing "+p)
		}
	}
	return strings.Join(problems, "\n")
}

// newMistakeBase writes and builds the base site, returning its folder:
// every case starts from a copy of it, with the output of a good build.
func newMistakeBase(t *testing.T, ids map[string]*age.X25519Identity) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "base")
	testtool.WriteSite(t, dir, mistakeBase(ids))
	if _, err := Run(Options{Source: dir}); err != nil {
		t.Fatalf("the base site does not build: %v", err)
	}
	if c := canaries(testtool.Tree(t, filepath.Join(dir, "public"))); len(c) > 0 {
		t.Fatalf("the base site's output says canary: %s", c)
	}
	return dir
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "site")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// mistakeCacheKey is the cache key of the cached builds of mistakes.
var mistakeCacheKey = make([]byte, 32)

// Every author mistake in the table is refused with its file and line,
// leaving the last good output as it was, or published with nothing
// restricted in any byte or file name of the output: built cold, and
// built again with the caches of its first build after a public edit
// (pages published again from their records, files the first build's
// scan found clean not scanned again).
func TestAuthorMistakes(t *testing.T) {
	ids := mistakeIdentities(t)
	base := newMistakeBase(t, ids)
	table := mistakes()
	names := map[string]bool{}
	for _, m := range table {
		if names[m.name] {
			t.Fatalf("two cases are named %s", m.name)
		}
		names[m.name] = true
		if m.why == "" || (m.want != publish && m.at == "") {
			t.Fatalf("%s: say why, and where the error is", m.name)
		}
	}
	if len(table) < 45 {
		t.Fatalf("only %d cases", len(table))
	}
	// Cached builds that published pages again from their records, and
	// took files as found clean by the build before.
	var reused atomic.Int64
	t.Run("cases", func(t *testing.T) { mistakeCases(t, base, table, &reused) })
	if reused.Load() == 0 {
		t.Error("no cached build published a page again and took a file as scanned clean: the cached path is not exercised")
	}
}

func mistakeCases(t *testing.T, base string, table []mistake, reused *atomic.Int64) {
	for _, m := range table {
		for _, cached := range []bool{false, true} {
			name := m.name + "/cold"
			if cached {
				name = m.name + "/cached"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				dir := copyDir(t, base)
				out := filepath.Join(dir, "public")
				opt := Options{Source: dir}
				if cached {
					// The base, and the earlier files, built with the
					// caches whose records the mistake's builds use.
					opt.CacheKey = mistakeCacheKey
					if _, err := Run(opt); err != nil {
						t.Fatalf("the base with caches: %v", err)
					}
				}
				testtool.WriteSite(t, dir, m.before)
				if cached && m.before != nil {
					if _, err := Run(opt); err != nil {
						t.Fatalf("the earlier files: %v", err)
					}
				}
				before := testtool.Tree(t, out)
				testtool.WriteSite(t, dir, m.files)
				if cached {
					// A build whose records the next one uses, after
					// an edit to a public page.
					Run(opt)
					appendTo(t, dir, "content/b/pub.md", "\nAn edit after the last build.\n")
				}
				rep, err := Run(opt)
				if cached && rep != nil && rep.Reused > 0 && rep.Scan.Clean > 0 {
					reused.Add(1)
				}
				switch {
				case err != nil && m.want == publish:
					t.Errorf("%s (%s): refused, want published:\n%v", m.name, m.why, err)
				case err != nil:
					if p := checkRefusal(m, err); p != "" {
						t.Errorf("%s (%s): %s", m.name, m.why, p)
					}
					sameTree(t, m.name+": public/ after the refused build", before, testtool.Tree(t, out))
				case m.want == refuse:
					msg := fmt.Sprintf("%s (%s): built, want an error at %s saying %q", m.name, m.why, m.at, m.msg)
					if c := canaries(testtool.Tree(t, out)); len(c) > 0 {
						msg += "; leaked:\n" + strings.Join(c, "\n")
					}
					t.Error(msg)
				default:
					if p := checkPublished(m, testtool.Tree(t, out)); p != "" {
						t.Errorf("%s (%s):\n%s", m.name, m.why, p)
					}
				}
			})
		}
	}
}
