package scaffold

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/conclave-dev/conclave/internal/site"
)

func TestSiteLoadsAndBriefingIsADraft(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	files, err := Site(dir, "Vendor circle")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Errorf("files = %v", files)
	}
	s, err := site.Load(dir, site.Options{})
	if err != nil {
		t.Fatalf("the new site does not load: %v", err)
	}
	if s.Config.Title != "Vendor circle" || len(s.Warnings) != 0 {
		t.Errorf("title %q, warnings %v", s.Config.Title, s.Warnings)
	}
	if _, err := Site(dir, ""); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("second Site: %v", err)
	}

	rel, err := Briefing(dir, "briefings", "Embargoed advisory: CVE-2026-1234", time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("content", "briefings", "embargoed-advisory-cve-2026-1234.md"); rel != want {
		t.Errorf("path = %s, want %s", rel, want)
	}
	s, err = site.Load(dir, site.Options{})
	if err != nil {
		t.Fatalf("site with the new briefing does not load: %v", err)
	}
	if s.Drafts != 1 {
		t.Errorf("drafts = %d, want the new briefing as a draft", s.Drafts)
	}
	if _, err := Briefing(dir, "briefings", "Embargoed advisory: CVE-2026-1234", time.Now()); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("overwrite: %v", err)
	}
	for _, bad := range []struct{ section, title string }{{"../x", "t"}, {"", "t"}, {"briefings", "!!!"}} {
		if _, err := Briefing(dir, bad.section, bad.title, time.Now()); err == nil {
			t.Errorf("Briefing(%q, %q) accepted", bad.section, bad.title)
		}
	}
	if _, err := Briefing(t.TempDir(), "briefings", "x", time.Now()); err == nil || !strings.Contains(err.Error(), "conclave.toml not found") {
		t.Errorf("outside a site: %v", err)
	}
}

func TestLongTitle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	if _, err := Site(dir, ""); err != nil {
		t.Fatal(err)
	}
	title := strings.Repeat("Embargoed advisory ", 53)[:1000]
	rel, err := Briefing(dir, "briefings", title, time.Now())
	if err != nil {
		t.Fatalf("1000-character title: %v", err)
	}
	name := strings.TrimSuffix(filepath.Base(rel), ".md")
	if want := strings.TrimSuffix(strings.Repeat("embargoed-advisory-", 4), "-"); name != want {
		t.Errorf("file name %q, want %q", name, want)
	}
	data, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "title: "+strconv.Quote(title)+"\n") {
		t.Errorf("front matter does not keep the whole title:\n%.200s", data)
	}
	s, err := site.Load(dir, site.Options{Drafts: true})
	if err != nil {
		t.Fatalf("site with the long briefing does not load: %v", err)
	}
	found := false
	for _, p := range s.Pages {
		found = found || p.Front.Title == title
	}
	if !found {
		t.Error("no page has the whole title")
	}
}

func TestShortSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"short-slug", "short-slug"},
		{strings.Repeat("a", 80), strings.Repeat("a", 80)},
		{strings.Repeat("a", 81), strings.Repeat("a", 80)},
		// A hyphen just after the limit: the first 80 bytes are whole words.
		{strings.Repeat("abcd-", 15) + "abcde-fgh", strings.Repeat("abcd-", 15) + "abcde"},
		{strings.Repeat("abcd-", 16) + "efgh", strings.Repeat("abcd-", 15) + "abcd"},
		{strings.Repeat("abcdefghi-", 9), strings.TrimSuffix(strings.Repeat("abcdefghi-", 8), "-")},
		// A hyphen far back: cut the long word instead of keeping a stub.
		{"a-" + strings.Repeat("b", 100), "a-" + strings.Repeat("b", 78)},
		// Never inside a multi-byte character.
		{strings.Repeat("é", 100), strings.Repeat("é", 40)},
		{"x" + strings.Repeat("é", 100), "x" + strings.Repeat("é", 39)},
	}
	for _, tt := range tests {
		got := shortSlug(tt.in)
		if got != tt.want {
			t.Errorf("shortSlug(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(got) > 80 || strings.HasSuffix(got, "-") || !utf8.ValidString(got) {
			t.Errorf("shortSlug(%q) = %q: longer than 80 bytes, ends in a hyphen or cuts a character", tt.in, got)
		}
	}
}
