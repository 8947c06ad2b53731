package scaffold

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

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
