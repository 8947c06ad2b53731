package markdown

import (
	"bytes"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/site"
)

func newConv(t *testing.T) *Converter {
	t.Helper()
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func page(body string) *site.Page {
	return &site.Page{Path: "content/briefings/a.md", URL: "/briefings/a/", Body: []byte(body), BodyLine: 5}
}

func render(t *testing.T, c *Converter, d *Doc) string {
	t.Helper()
	var b bytes.Buffer
	if err := c.Render(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestRenderFeatures(t *testing.T) {
	c := newConv(t)
	src := "## Timeline {#when}\n\n| Date | Event |\n|:-----|------:|\n| 2007 | ICASI |\n\n~~old~~ and https://example.org/x\n\n- [x] done\n- [ ] todo\n\nNote[^1].\n\n[^1]: Public reporting.\n\n```go\nfunc main() {}\n```\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1))\n\n## Styled {#styled .note style=\"color:red\" onclick=\"x()\"}\n"
	html := render(t, c, c.Parse(page(src), nil))
	for _, want := range []string{
		`<h2 id="when">Timeline</h2>`,
		`<th align="left">Date</th>`,
		`<del>old</del>`,
		`<a href="https://example.org/x">https://example.org/x</a>`,
		`<li><input checked="" disabled="" type="checkbox" aria-label="done" /> done</li>`,
		`<li><input disabled="" type="checkbox" aria-label="not done" /> todo</li>`,
		`class="footnote-ref"`,
		`<pre class="chroma"><code>`,
		`<span class="kd">func</span>`,
		`<!-- raw HTML omitted -->`,
		`<h2 id="styled" class="note">Styled</h2>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("output lacks %q:\n%s", want, html)
		}
	}
	for _, bad := range []string{"style=", "onclick", "<script>", "javascript:"} {
		if strings.Contains(html, bad) {
			t.Errorf("output contains %q:\n%s", bad, html)
		}
	}
}

type fakeResolver map[string]string

func (f fakeResolver) Resolve(_ *site.Page, dest string) (string, bool, string) {
	u, ok := f[dest]
	if !ok {
		return "", false, "no such page"
	}
	return u, true, ""
}

func TestLinks(t *testing.T) {
	c := newConv(t)
	src := "Intro.\n\nSee [B](b.md) and ![map](map.png).\n\nThen\n[missing](c.md) and [ext](https://x.org) and [top](#top) and [mail](mailto:a@b.org).\n"
	d := c.Parse(page(src), fakeResolver{"b.md": "../b/", "map.png": "../map.png"})
	err := Validate(d)
	if err == nil {
		t.Fatal("no error for a broken link")
	}
	if got := err.Error(); got != `content/briefings/a.md:10: broken link "c.md": no such page` {
		t.Errorf("error = %q", got)
	}
	html := render(t, c, d)
	for _, want := range []string{`href="../b/"`, `src="../map.png"`, `href="https://x.org"`, `href="#top"`, `href="mailto:a@b.org"`} {
		if !strings.Contains(html, want) {
			t.Errorf("output lacks %q:\n%s", want, html)
		}
	}
}

func TestIsRelative(t *testing.T) {
	for dest, want := range map[string]bool{
		"b.md": true, "../x/": true, "a/b:c.md": true, "x.md#y": true,
		"": false, "#x": false, "/abs/": false, "https://x": false, "mailto:a": false, "?q": false, "//host/x": false,
	} {
		if got := isRelative(dest); got != want {
			t.Errorf("isRelative(%q) = %v", dest, got)
		}
	}
}

func TestHeadingsAndSummary(t *testing.T) {
	c := newConv(t)
	d := c.Parse(page("# Title\n\nFirst *para*graph with `code` and a [link](x) and a footnote[^n].\nSecond line.\n\n## One\n\n### Two `x`\n\n#### Deep\n\n## One\n\n[^n]: note\n"), nil)
	hs := d.Headings(2, 3)
	got := []string{}
	for _, h := range hs {
		got = append(got, h.ID+"="+h.Text)
	}
	if want := "one=One two-x=Two x one-1=One"; strings.Join(got, " ") != want {
		t.Errorf("headings = %v, want %s", got, want)
	}
	if s := d.Summary(50); s != "First paragraph with code and a link and a footnote. Second line." {
		t.Errorf("summary = %q", s)
	}
	if s := d.Summary(3); s != "First paragraph with…" {
		t.Errorf("short summary = %q", s)
	}
}

func TestNewRejectsUnknownStyle(t *testing.T) {
	if _, err := New(Options{HighlightStyle: "no-such-style"}); err == nil {
		t.Error("unknown style accepted")
	}
	c := newConv(t)
	if css := c.HighlightCSS(); !bytes.Contains(css, []byte(".chroma")) {
		t.Errorf("CSS lacks .chroma: %s", css)
	}
}

// Plain text is the text a page shows: backslash escapes and character
// references decoded as the renderer decodes them, except in code, which
// shows them as written. The search index, summaries and the leak scan's
// fragments all take it, so the index never holds "amp" for "&".
func TestPlainTextDecodes(t *testing.T) {
	c := newConv(t)
	d := c.Parse(page("# R&amp;D \\#1\n\nTom &amp; Jerry &#x41;lpha &#66;eta \\*starred\\* &copy; &bogus; &#0; `&amp; code`.\n\n```\n&amp; block\n```\n"), nil)
	const shown = "Tom & Jerry Alpha Beta *starred* © &bogus; \uFFFD &amp; code."
	if s := d.Summary(50); s != shown {
		t.Errorf("summary = %q, want %q", s, shown)
	}
	if hs := d.Headings(1, 1); len(hs) != 1 || hs[0].Text != "R&D #1" {
		t.Errorf("headings = %+v", hs)
	}
	heads, body := d.SearchText(d.Root)
	if len(heads) != 1 || heads[0] != "R&D #1" || body != shown+"\n&amp; block\n" {
		t.Errorf("search text = %q, %q", heads, body)
	}
	// The text the page shows, checked against the renderer itself.
	if out := render(t, c, d); !strings.Contains(out, "Tom &amp; Jerry Alpha Beta *starred* © &amp;bogus; \uFFFD <code>&amp;amp; code</code>.") {
		t.Errorf("rendered %s", out)
	}
	texts := strings.Join(d.Texts(d.Root), "\n")
	for _, want := range []string{shown, "Tom & Jerry ", "Tom &amp; Jerry ", "R&D #1"} {
		if !strings.Contains(texts, want) {
			t.Errorf("fragments lack %q:\n%s", want, texts)
		}
	}
}
