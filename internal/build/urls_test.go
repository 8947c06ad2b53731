package build

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/testtool"
)

// TestNonASCIIURLs checks that the sitemap and the feed percent-encode page
// paths, and name each page exactly as its canonical link does.
func TestNonASCIIURLs(t *testing.T) {
	src := t.TempDir()
	testtool.WriteSite(t, src, map[string]string{
		"conclave.toml":                     "title = \"T\"\nbaseURL = \"https://example.org/b/\"\n",
		"content/réunions/café briefing.md": "---\ndate: 2026-01-02\ntags: [sécurité]\n---\nText.\n",
	})
	_, mem, err := Memory(Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	get := func(p string) string {
		t.Helper()
		data, ok := mem.Get(p)
		if !ok {
			t.Fatalf("%s not built", p)
		}
		return string(data)
	}
	const page = "https://example.org/b/r%C3%A9unions/caf%C3%A9%20briefing/"
	const section = "https://example.org/b/r%C3%A9unions/"
	const tag = "https://example.org/b/tags/s%C3%A9curit%C3%A9/"
	sitemap, feed := get("sitemap.xml"), get("feed.xml")
	for _, want := range []string{"<loc>" + page + "</loc>", "<loc>" + section + "</loc>", "<loc>" + tag + "</loc>"} {
		if !strings.Contains(sitemap, want) {
			t.Errorf("sitemap lacks %s:\n%s", want, sitemap)
		}
	}
	for _, want := range []string{"<id>" + page + "</id>", `<link href="` + page + `">`} {
		if !strings.Contains(feed, want) {
			t.Errorf("feed lacks %s:\n%s", want, feed)
		}
	}
	if u, err := url.Parse(page); err != nil || u.Path != "/b/réunions/café briefing/" {
		t.Errorf("%s does not name the page: %v, %v", page, u, err)
	}
	canonical := regexp.MustCompile(`<link rel="canonical" href="([^"]*)">`)
	for file, want := range map[string]string{"réunions/café briefing/index.html": page, "réunions/index.html": section, "tags/sécurité/index.html": tag} {
		m := canonical.FindStringSubmatch(get(file))
		if m == nil || m[1] != want {
			t.Errorf("%s: canonical link %q, want %s as in the sitemap", file, m, want)
		}
	}
	if strings.Contains(sitemap, "é") {
		t.Errorf("raw non-ASCII URL left in the sitemap:\n%s", sitemap)
	}
}
