package markdown

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/markdown/restricted"
	"github.com/conclave-dev/conclave/internal/site"
	"github.com/conclave-dev/conclave/internal/tlp"
)

// revealAll replaces every restricted block of doc with a preview, as
// seal.Plan.Preview does, innermost first.
func revealAll(doc *Doc) {
	for i := len(doc.Blocks) - 1; i >= 0; i-- {
		b := doc.Blocks[i]
		restricted.Reveal(b, &restricted.Preview{TLP: b.TLP, Names: b.To, Members: b.To, Whole: b.Whole})
	}
	doc.Blocks = nil
}

// outsidePreviews is html without the passages a preview shows in clear,
// nested ones included.
func outsidePreviews(html string) string {
	var out strings.Builder
	depth := 0
	for len(html) > 0 {
		open := strings.Index(html, "<section")
		closing := strings.Index(html, "</section>")
		switch {
		case open < 0 && closing < 0:
			if depth == 0 {
				out.WriteString(html)
			}
			return out.String()
		case open >= 0 && (closing < 0 || open < closing):
			if depth == 0 {
				out.WriteString(html[:open])
			}
			depth++
			html = html[open+len("<section"):]
		default:
			if depth == 0 {
				out.WriteString(html[:closing])
			}
			depth = max(depth-1, 0)
			html = html[closing+len("</section>"):]
		}
	}
	return out.String()
}

// A converter renders passages in clear only when made for the preview,
// and only once they are revealed; the tables of contents and summaries
// of a preview are those of the published page.
func TestPreviewConverter(t *testing.T) {
	pc, err := New(Options{Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	c := newConv(t)
	if !pc.Preview() || c.Preview() || (*Converter)(nil).Preview() {
		t.Fatalf("Preview() = %t for a preview converter, %t for a default one", pc.Preview(), c.Preview())
	}
	src := "## Public heading\n\n::: restricted to=board tlp=amber\n## Secret heading\n\nSecret paragraph.\n\n::: restricted to=alice tlp=red\nInner secret.\n:::\n:::\n\nPublic paragraph.\n"

	// Unrevealed: refused by both.
	for name, conv := range map[string]*Converter{"preview": pc, "default": c} {
		doc := conv.Parse(page(src), nil)
		if err := Validate(doc); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := conv.Render(&b, doc); !errors.Is(err, restricted.ErrUnsealed) {
			t.Errorf("%s converter rendered an unrevealed block: %v", name, err)
		}
	}

	doc := pc.Parse(page(src), nil)
	if err := Validate(doc); err != nil {
		t.Fatal(err)
	}
	revealAll(doc)
	var hs []string
	for _, h := range doc.Headings(1, 6) {
		hs = append(hs, h.Text)
	}
	if strings.Join(hs, "|") != "Public heading" {
		t.Errorf("headings of a preview = %q, want the public one only", hs)
	}
	html := render(t, pc, doc)
	for _, want := range []string{
		`<section class="preview-restricted tlp-amber" data-tlp="amber" aria-label="Restricted passage (preview)">`,
		`<h2 id="secret-heading">Secret heading</h2>`, "<p>Secret paragraph.</p>",
		`<section class="preview-restricted tlp-red" data-tlp="red"`, "<p>Inner secret.</p>\n</section>\n</section>\n<p>Public paragraph.</p>",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("preview lacks %q:\n%s", want, html)
		}
	}
	if out := outsidePreviews(html); strings.Contains(out, "ecret") || !strings.Contains(out, "Public paragraph") {
		t.Errorf("outside the previews: %q", out)
	}
	var b bytes.Buffer
	if err := c.Render(&b, doc); !errors.Is(err, restricted.ErrPreview) {
		t.Errorf("the default converter rendered a preview: %v", err)
	}
	if strings.Contains(b.String(), "ecret") {
		t.Errorf("restricted text written by the default converter: %q", b.String())
	}
}

// A page restricted as a whole: one preview around its body, which has
// no summary of its own, as once sealed.
func TestPreviewWholePage(t *testing.T) {
	pc, err := New(Options{Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	p := page("First secret paragraph.\n\n## Secret heading\n")
	p.Kind = site.KindPage
	p.Front.Audience, p.Front.TLP = []string{"board"}, tlp.Amber
	p.Front.SetLine("audience", 3)
	doc := pc.Parse(p, nil)
	if len(doc.Blocks) != 1 || !doc.Blocks[0].Whole {
		t.Fatalf("blocks = %v", doc.Blocks)
	}
	revealAll(doc)
	if s, hs := doc.Summary(50), doc.Headings(1, 6); s != "" || len(hs) != 0 {
		t.Errorf("summary %q, headings %v of a whole restricted page", s, hs)
	}
	html := render(t, pc, doc)
	if !strings.HasPrefix(html, `<section class="preview-restricted preview-page tlp-amber"`) || !strings.Contains(html, "<p>First secret paragraph.</p>") || !strings.HasSuffix(html, "</section>\n") {
		t.Errorf("whole page preview:\n%s", html)
	}
}
