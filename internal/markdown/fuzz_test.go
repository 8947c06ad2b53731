package markdown

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

var (
	// A start tag with a style or event-handler attribute: either would
	// break the Content-Security-Policy or run script.
	unsafeAttr = regexp.MustCompile(`(?i)<[a-z][a-z0-9]*\b[^>]*\s(style|on[a-z]+)\s*=`)
	// A link or image address, as rendered.
	urlAttr = regexp.MustCompile(`(?i)\s(href|src)="([^"]*)"`)
	// Characters browsers ignore inside a URL scheme.
	schemeNoise = regexp.MustCompile(`[\x00-\x20]|&#[0-9]+;|&#x[0-9a-f]+;|&[a-z]+;`)
)

// FuzzMarkdown checks that no markdown, however malformed, panics the
// converter, renders script, a style or event attribute, or a script URL,
// or lets a restricted block through validation.
func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{
		"# Title\n\nText with *emphasis*, `code` and a [link](other.md#x).\n",
		"## Timeline {#when .note}\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n",
		"- [x] done\n- [ ] todo\n\n~~old~~ https://example.org\n\nNote[^1].\n\n[^1]: Source.\n",
		"```go\nfunc main() {}\n```\n", "<script>alert(1)</script>\n", "[x](javascript:alert(1))\n",
		"![i](data:text/html,x)\n", "> ::: restricted to=a\n> x\n> :::\n", "- :::restricted\n",
		"## H {onclick=\"x()\" style=\"color:red\"}\n", "<a href=\"x\" onmouseover=\"y\">z</a>\n",
		"[a]: JAVASCRIPT:x\n\n[a]\n", "Setext {style=\"a\"}\n===\n",
	} {
		f.Add(s)
	}
	c, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		doc := c.Parse(page(src), fakeResolver{"other.md": "../other/"})
		_ = Validate(doc)
		doc.Headings(2, 3)
		doc.Summary(50)
		var b bytes.Buffer
		if err := c.Render(&b, doc); err != nil {
			t.Fatalf("render: %v", err)
		}
		html := b.String()
		if strings.Contains(strings.ToLower(html), "<script") {
			t.Fatalf("script element rendered:\n%s", html)
		}
		if m := unsafeAttr.FindString(html); m != "" {
			t.Fatalf("unsafe attribute rendered: %s\n%s", m, html)
		}
		for _, m := range urlAttr.FindAllStringSubmatch(html, -1) {
			u := strings.ToLower(schemeNoise.ReplaceAllString(m[2], ""))
			for _, scheme := range []string{"javascript:", "vbscript:", "data:text", "file:"} {
				if strings.HasPrefix(u, scheme) {
					t.Fatalf("%s URL rendered: %s\n%s", scheme, m[0], html)
				}
			}
		}

		// Whatever comes before it, a restricted block is refused.
		sealed := c.Parse(page(src+"\n\n::: restricted to=board\nEmbargoed detail\n:::\n"), nil)
		if Validate(sealed) == nil {
			t.Fatalf("restricted block passed validation after:\n%q", src)
		}
	})
}
