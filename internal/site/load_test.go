package site

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/testtool"
)

// writeSite writes a site to a new folder with [testtool.WriteSite], adding
// a standard ConfigFile to files if they have none.
func writeSite(t *testing.T, files map[string]string) string {
	t.Helper()
	if _, ok := files[ConfigFile]; !ok {
		files[ConfigFile] = "title = \"T\"\nbaseURL = \"https://example.org/sub\"\n"
	}
	return testtool.WriteSite(t, "", files)
}

func TestLoad(t *testing.T) {
	root := writeSite(t, map[string]string{
		"content/_index.md":           "---\ntitle: Home\n---\nIntro",
		"content/about.md":            "---\ntitle: About\n---\n",
		"content/briefings/_index.md": "---\ntitle: Briefings\n---\n",
		"content/briefings/icasi.md":  "---\ntitle: ICASI\nslug: icasi-2007\n---\n",
		"content/briefings/scp.md":    "---\ntitle: SCP\ndraft: true\n---\n",
		"content/briefings/map.png":   "PNG",
		"content/briefings/deep/x.md": "no front matter",
		"content/bundle/index.md":     "---\ntitle: Bundle\n---\n",
		"content/.hidden.md":          "ignored",
		"content/briefings/notes.md~": "editor backup",
		"content/briefings/.DS_Store": "junk",
	})
	s, err := Load(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range s.Pages {
		got[p.Path] = p.URL
	}
	want := map[string]string{
		"content/_index.md":           "/",
		"content/about.md":            "/about/",
		"content/briefings/_index.md": "/briefings/",
		"content/briefings/icasi.md":  "/briefings/icasi-2007/",
		"content/briefings/deep/x.md": "/briefings/deep/x/",
		"content/bundle/index.md":     "/bundle/",
	}
	if len(got) != len(want) {
		t.Errorf("pages = %v\nwant %v", got, want)
	}
	for p, u := range want {
		if got[p] != u {
			t.Errorf("%s: URL %q, want %q", p, got[p], u)
		}
	}
	if s.Drafts != 1 {
		t.Errorf("drafts = %d, want 1", s.Drafts)
	}
	if len(s.Files) != 1 || s.Files[0].OutPath != "briefings/map.png" {
		t.Errorf("files = %+v", s.Files)
	}
	for _, p := range s.Pages {
		if p.Path == "content/briefings/deep/x.md" && (p.Front.Title != "X" || p.Section != "briefings") {
			t.Errorf("untitled page: title %q section %q", p.Front.Title, p.Section)
		}
	}
	with, err := Load(root, Options{Drafts: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(with.Pages) != len(s.Pages)+1 || with.Drafts != 0 {
		t.Errorf("with drafts: %d pages, %d drafts", len(with.Pages), with.Drafts)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"duplicate URL", map[string]string{
			"content/a/x.md": "---\ntitle: X\n---\n",
			"content/a/y.md": "---\ntitle: Y\nslug: x\n---\n",
		}, []string{"content/a/y.md:3: URL /a/x/ is already used by content/a/x.md"}},
		{"reserved URL", map[string]string{
			"content/tags.md": "x",
		}, []string{"content/tags.md:1: URL /tags/ is reserved for the tag index"}},
		{"secret in content", map[string]string{
			"content/a.md": "---\ntitle: a\n---\n\nAGE-SECRET-KEY-" + "1ABCDEF\n",
		}, []string{"content/a.md:5: holds an age secret key"}},
		{"secret in keys", map[string]string{
			"content/a.md":   "x",
			"keys/alice.pub": "age1xyz\n-----BEGIN OPENSSH PRIVATE KEY-----\n",
		}, []string{"keys/alice.pub:2: holds a PEM private key block"}},
		{"secret in a content file", map[string]string{
			"content/a.md":      "x",
			"content/notes.txt": "AGE-SECRET-KEY-" + "1",
		}, []string{"content/notes.txt:1: holds an age secret key"}},
		{"not utf-8", map[string]string{
			"content/a.md": "---\ntitle: caf\xe9\n---\n",
		}, []string{"content/a.md:2:11: not valid UTF-8"}},
		{"index at root", map[string]string{
			"content/index.md": "x",
		}, []string{"content/index.md:1: content/index.md would replace the home page"}},
		{"several problems reported together", map[string]string{
			"content/a.md": "---\ndate: x\n---\n",
			"content/b.md": "---\ntlp: purple\n---\n",
		}, []string{"content/a.md:2: date:", "content/b.md:2: tlp:"}},
		// Nothing is published at a path a reader would refuse.
		{"too deep", map[string]string{
			"content/" + strings.Repeat("d/", 31) + "x.md":  "x",
			"content/" + strings.Repeat("d/", 32) + "y.png": "x",
		}, []string{
			"content/" + strings.Repeat("d/", 31) + "x.md: cannot be published at /" + strings.Repeat("d/", 31) + "x/: its output path would be more than 31 folders deep",
			"content/" + strings.Repeat("d/", 32) + "y.png: cannot be published: its output path would be more than 31 folders deep",
		}},
		{"slug too long", map[string]string{
			"content/a.md": "---\ntitle: A\nslug: " + strings.Repeat("s", 256) + "\n---\n",
		}, []string{"content/a.md:3: cannot be published at /sss", "its output path would be a name of 256 bytes, more than 255"}},
		{"tag too long", map[string]string{
			"content/a.md": "---\ntitle: A\ntags: [" + strings.Repeat("t", 256) + "]\n---\n",
		}, []string{"content/a.md:3: tags: tag \"tttt", "is too long: its page's folder name would be 256 bytes, more than 255"}},
		{"bad config", map[string]string{
			ConfigFile:     "title = \"T\"\nbaseURL = \"example.org\"\n",
			"content/a.md": "x",
		}, []string{"conclave.toml:2: baseURL \"example.org\" must be an absolute http or https URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeSite(t, tt.files), Options{})
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error = %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadSymlinks(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret.md")
	if err := os.WriteFile(outside, []byte("---\ntitle: outside\n---\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := writeSite(t, map[string]string{"content/a.md": "---\ntitle: A\n---\n", "shared/b.md": "---\ntitle: B\n---\n"})
	// A link inside the site is followed.
	if err := os.Symlink(filepath.Join(root, "shared", "b.md"), filepath.Join(root, "content", "b.md")); err != nil {
		t.Fatal(err)
	}
	s, err := Load(root, Options{})
	if err != nil {
		t.Fatalf("link inside the site: %v", err)
	}
	if len(s.Pages) != 2 {
		t.Errorf("pages = %d, want 2", len(s.Pages))
	}
	// A link leaving the site is refused.
	if err := os.Symlink(outside, filepath.Join(root, "content", "c.md")); err != nil {
		t.Fatal(err)
	}
	_, err = Load(root, Options{})
	if err == nil || !strings.Contains(err.Error(), "content/c.md: symbolic link leaves the site") {
		t.Errorf("error = %v", err)
	}
}

func TestLoadSymlinksRelativeRoot(t *testing.T) {
	root := writeSite(t, map[string]string{"content/a.md": "---\ntitle: A\n---\n", "content/map.svg": "<svg/>"})
	if err := os.Symlink("map.svg", filepath.Join(root, "content", "copy.svg")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../etc/passwd", filepath.Join(root, "content", "x.txt")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	_, err := Load(".", Options{})
	if err == nil || !strings.Contains(err.Error(), "content/x.txt: ") || strings.Contains(err.Error(), "copy.svg") {
		t.Errorf("error = %v, want only content/x.txt refused", err)
	}
}

func TestLoadNoSite(t *testing.T) {
	_, err := Load(t.TempDir(), Options{})
	if err == nil || !strings.Contains(err.Error(), "conclave.toml not found") {
		t.Errorf("error = %v", err)
	}
}

func TestConfig(t *testing.T) {
	cfg, warns, err := ParseConfig([]byte("title = \"T\"\nbaseURL = \"https://example.org/sub\"\ntheme = \"dark\"\ntitel = \"x\"\n[tlp]\namber = [\"members\"]\n[markup]\nhighlightStyle = \"monokai\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BaseURL != "https://example.org/sub/" || cfg.Theme != "dark" || cfg.Language != "en" || cfg.HighlightStyle != "monokai" {
		t.Errorf("config = %+v", cfg)
	}
	if len(cfg.TLP) != 1 {
		t.Errorf("tlp = %v", cfg.TLP)
	}
	if len(warns) != 1 || warns[0].Error() != `conclave.toml:4: unknown key "titel" (did you mean "title"?)` {
		t.Errorf("warnings = %v", warns)
	}
	for _, bad := range []struct{ src, want string }{
		{"baseURL = 'x'", "conclave.toml:1: title is missing"},
		{"title = 'T'\ntheme = '../x'", "conclave.toml:2: theme \"../x\" is not a folder name"},
		{"title = 'T'\n[tlp]\nwhite = ['a']", "conclave.toml:3: [tlp]: unknown TLP label \"white\""},
		{"title = 'T'\n[tlp]\nred = ['Bad Name']", "is not a recipient or group name"},
		{"title = 'T'\ntitle = 'U'", "conclave.toml:2:"},
		{"title = \"T\xff\"", "conclave.toml:1:11: not valid UTF-8"},
		{"title = 'T'\nBaseURL = 'http://x?'", "conclave.toml:2: baseURL \"http://x?\" must be"},
		{"title = 'T'\nbaseURL = 'https://user:pw@example.org/'", "conclave.toml:2: baseURL"},
		{"title = 'T'\nbaseURL = 'https://example.org/#top'", "conclave.toml:2: baseURL"},
	} {
		if _, _, err := ParseConfig([]byte(bad.src)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseConfig(%q) = %v, want %q", bad.src, err, bad.want)
		}
	}
}

func TestResolve(t *testing.T) {
	root := writeSite(t, map[string]string{
		"content/briefings/a.md":    "---\ntitle: A\n---\n",
		"content/briefings/b.md":    "---\ntitle: B\nslug: bee\n---\n",
		"content/briefings/d.md":    "---\ntitle: D\ndraft: true\n---\n",
		"content/briefings/map.png": "PNG",
		"content/top.md":            "x",
		"content/secret/_index.md":  "---\ndraft: true\n---\n",
		"content/secret/plan.md":    "---\ntitle: Plan\n---\n",
		"content/secret/plan.pdf":   "PDF",
	})
	s, err := Load(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var a *Page
	for _, p := range s.Pages {
		if p.Path == "content/briefings/a.md" {
			a = p
		}
	}
	tests := []struct {
		dest, want string
		ok         bool
		hint       string
	}{
		{"b.md", "../bee/", true, ""},
		{"b.md#timeline", "../bee/#timeline", true, ""},
		{"./b.md?x=1", "../bee/?x=1", true, ""},
		{"../top.md", "../../top/", true, ""},
		{"map.png", "../map.png", true, ""},
		{"a.md", "./", true, ""},
		{"c.md", "", false, "no such page content/briefings/c.md (did you mean a.md?)"},
		{"d.md", "", false, "content/briefings/d.md is a draft"},
		{"../../outside.md", "", false, "points outside content/"},
		{"../elsewhere/", "../elsewhere/", true, ""},
		{"mpa.png", "", false, "no such file content/briefings/mpa.png (did you mean map.png?)"},
		{"report.pdf", "", false, "no such file content/briefings/report.pdf"},
		{"../secret/plan.pdf", "", false, "content/secret/plan.pdf belongs to the draft content/secret/_index.md (build with --drafts"},
		{"../secret/plan.md", "", false, "content/secret/plan.md is a draft"},
	}
	for _, tt := range tests {
		got, ok, hint := s.Resolve(a, tt.dest)
		if got != tt.want || ok != tt.ok || !strings.Contains(hint, tt.hint) {
			t.Errorf("Resolve(%q) = %q, %v, %q; want %q, %v, %q", tt.dest, got, ok, hint, tt.want, tt.ok, tt.hint)
		}
	}
}

func TestRelURL(t *testing.T) {
	tests := []struct{ from, to, want string }{
		{"/", "/tags/x/", "tags/x/"},
		{"/", "/", "./"},
		{"/briefings/icasi/", "/briefings/scp/", "../scp/"},
		{"/briefings/icasi/", "/css/site.css", "../../css/site.css"},
		{"/briefings/icasi/", "/briefings/icasi/", "./"},
		{"/briefings/icasi/", "/briefings/icasi/map.png", "map.png"},
		{"/a/b/c/", "/a/x.png", "../../x.png"},
		{"/a/", "/", "../"},
	}
	for _, tt := range tests {
		if got := RelURL(tt.from, tt.to); got != tt.want {
			t.Errorf("RelURL(%q, %q) = %q, want %q", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{"Incident Response": "incident-response", "TLP:AMBER+STRICT": "tlp-amber-strict", "  x  ": "x", "Öffentlich": "öffentlich", "--": ""} {
		if got := Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWithin(t *testing.T) {
	for _, tc := range []struct {
		dir, path string
		want      bool
	}{
		{"/s", "/s", true},
		{"/s", "/s/public", true},
		{"/s/content", "/s/content/..x", true},
		{"/s", "/site", false},
		{"/s/content", "/s/public", false},
		{"/s/content", "/s", false},
	} {
		if got := Within(tc.dir, tc.path); got != tc.want {
			t.Errorf("Within(%q, %q) = %v, want %v", tc.dir, tc.path, got, tc.want)
		}
	}
}

func TestLoadDraftFolder(t *testing.T) {
	files := map[string]string{
		"content/briefings/a.md":             "---\ntitle: A\n---\n",
		"content/secret/_index.md":           "---\ntitle: Secret\ndraft: true\n---\n",
		"content/secret/plan.md":             "---\ntitle: Plan\n---\n",
		"content/secret/deep/map.png":        "PNG",
		"content/briefings/bundle/index.md":  "---\ntitle: Bundle\ndraft: true\n---\n",
		"content/briefings/bundle/chart.svg": "<svg/>",
		"content/briefings/chart.svg":        "<svg/>",
	}
	root := writeSite(t, files)
	s, err := Load(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var pages, outFiles []string
	for _, p := range s.Pages {
		pages = append(pages, p.Path)
	}
	for _, f := range s.Files {
		outFiles = append(outFiles, f.Path)
	}
	if got := strings.Join(pages, " "); got != "content/briefings/a.md" {
		t.Errorf("pages = %s", got)
	}
	if got := strings.Join(outFiles, " "); got != "content/briefings/chart.svg" {
		t.Errorf("files = %s", got)
	}
	if s.Drafts != 3 || len(s.DraftPages) != 3 {
		t.Errorf("drafts = %d, draft pages = %d; want 3", s.Drafts, len(s.DraftPages))
	}

	s, err = Load(root, Options{Drafts: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Pages) != 4 || len(s.Files) != 3 || s.Drafts != 0 {
		t.Errorf("with drafts: %d pages, %d files, %d drafts; want 4, 3, 0", len(s.Pages), len(s.Files), s.Drafts)
	}
}

func TestLoadWarnsWhenNothingToPublish(t *testing.T) {
	root := writeSite(t, map[string]string{"content/notes.txt": "x"})
	s, err := Load(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0].Error(), "no pages to publish") {
		t.Errorf("warnings = %v", s.Warnings)
	}
}

func TestLoadSymlinksIntoOutputOrHidden(t *testing.T) {
	for _, tc := range []struct {
		name, target, out, want string
	}{
		{"default output", "public", "", "content/old: symbolic link points into the output folder"},
		{"chosen output", "site-out", "site-out", "content/old: symbolic link points into the output folder"},
		{"cache", ".conclave", "", "content/old: symbolic link points into a hidden file or folder"},
		{"git", ".git/objects", "", "content/old: symbolic link points into a hidden file or folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := writeSite(t, map[string]string{
				"content/a.md":                 "---\ntitle: A\n---\n",
				tc.target + "/index.html":      "old build",
				tc.target + "/briefing/x.html": "old build",
			})
			if err := os.Symlink(filepath.Join(root, tc.target), filepath.Join(root, "content", "old")); err != nil {
				t.Fatal(err)
			}
			opt := Options{}
			if tc.out != "" {
				opt.Out = filepath.Join(root, tc.out)
			}
			_, err := Load(root, opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

// A restricted page publishes no folder name that public pages do not
// already name, and a restricted bundle is alone in its folder: its files
// would be published in clear, its URL comes from its slug.
func TestLoadRestrictedFolders(t *testing.T) {
	const public = "---\ntitle: P\n---\n"
	restrictedPage := func(slug string) string {
		return "---\ntitle: Secret\nslug: " + slug + "\naudience: [board]\n---\nbody\n"
	}
	tests := []struct {
		name  string
		files map[string]string
		err   string // "" if it loads
		urls  map[string]string
	}{
		{"section of restricted pages only", map[string]string{
			"content/b/a.md":           public,
			"content/embargo-cve/x.md": restrictedPage("r-1"),
			"content/embargo-cve/y.md": restrictedPage("r-2"),
		}, `content/embargo-cve/x.md:4: audience: the folder name "embargo-cve" would be published`, nil},
		{"section with an _index.md", map[string]string{
			"content/vault/_index.md": "---\ntitle: Vault\n---\n",
			"content/vault/x.md":      restrictedPage("r-1"),
		}, "", map[string]string{"content/vault/x.md": "/vault/r-1/"}},
		{"section with a public page", map[string]string{
			"content/b/a.md": public,
			"content/b/x.md": restrictedPage("r-1"),
		}, "", nil},
		{"nested folder of restricted pages", map[string]string{
			"content/b/a.md":          public,
			"content/b/acme-rce/x.md": restrictedPage("r-1"),
		}, `content/b/acme-rce/x.md:4: audience: the folder name "acme-rce"`, nil},
		{"bundle takes its slug, not its folder", map[string]string{
			"content/b/a.md":              public,
			"content/b/acme-rce/index.md": restrictedPage("r-9"),
		}, "", map[string]string{"content/b/acme-rce/index.md": "/b/r-9/"}},
		{"bundle with a file", map[string]string{
			"content/b/a.md":              public,
			"content/b/acme-rce/index.md": restrictedPage("r-9"),
			"content/b/acme-rce/poc.py":   "print(1)",
		}, "", map[string]string{"content/b/acme-rce/index.md": "/b/r-9/"}},
		{"bundle with a file in a sub-folder", map[string]string{
			"content/b/a.md":                  public,
			"content/b/acme-rce/index.md":     restrictedPage("r-9"),
			"content/b/acme-rce/img/shot.png": "PNG",
		}, "", map[string]string{"content/b/acme-rce/index.md": "/b/r-9/"}},
		{"bundle with a page", map[string]string{
			"content/b/a.md":              public,
			"content/b/acme-rce/index.md": restrictedPage("r-9"),
			"content/b/acme-rce/more.md":  public,
		}, "also holds the page content/b/acme-rce/more.md", nil},
		{"bundle in a restricted-only section", map[string]string{
			"content/a.md":                  public,
			"content/vendors/acme/index.md": restrictedPage("r-9"),
		}, `the folder name "vendors"`, nil},
		{"public bundle keeps its files", map[string]string{
			"content/b/report/index.md":  public,
			"content/b/report/chart.svg": "<svg/>",
		}, "", map[string]string{"content/b/report/index.md": "/b/report/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load(writeSite(t, tc.files), Options{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for p, want := range tc.urls {
				if got := s.byPath[p]; got == nil || got.URL != want {
					t.Errorf("%s: URL %v, want %s", p, got, want)
				}
			}
		})
	}
}

// A lone CR is a line ending to markdown: front matter and fences must be
// found on it as on LF and CRLF.
func TestLoadLineEndings(t *testing.T) {
	for name, src := range map[string]string{
		"lf":   "---\ntitle: Secret\nslug: r-1\naudience: [board]\n---\nbody\n",
		"crlf": "---\r\ntitle: Secret\r\nslug: r-1\r\naudience: [board]\r\n---\r\nbody\r\n",
		"cr":   "---\rtitle: Secret\rslug: r-1\raudience: [board]\r---\rbody\r",
		"bom":  "\uFEFF---\r\ntitle: Secret\r\nslug: r-1\r\naudience: [board]\r\n---\r\nbody\r\n",
	} {
		s, err := Load(writeSite(t, map[string]string{"content/b/_index.md": "---\ntitle: B\n---\n", "content/b/x.md": src}), Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := s.byPath["content/b/x.md"]
		if p == nil || len(p.Front.Audience) != 1 || p.Front.Line("audience") != 4 || string(p.Body) != "body\n" {
			t.Errorf("%s: page %+v", name, p)
		}
	}
}

// A content file is published as it is: one that looks like a briefing
// under another ending, an editor's copy of one, or any text holding a
// restricted block or an audience key is refused, at its line.
func TestLoadRefusesStrayBriefings(t *testing.T) {
	const secret = "---\ntitle: x\nslug: r-1\naudience: [board]\n---\nsecret\n"
	for name, tc := range map[string]struct {
		path, body, want string
	}{
		"upper-case ending": {"content/b/zebra.MD", secret, "content/b/zebra.MD:1: looks like a markdown file"},
		".markdown":         {"content/b/zebra.markdown", secret, "content/b/zebra.markdown:1: looks like a markdown file"},
		".mdown":            {"content/b/zebra.mdown", "x", "looks like a markdown file"},
		".mkd":              {"content/b/zebra.mkd", "x", "looks like a markdown file"},
		"merge copy":        {"content/b/p.md.orig", "x", "content/b/p.md.orig:1: looks like a markdown file"},
		"backup copy":       {"content/b/p.md.bak", "x", "looks like a markdown file"},
		"block in a text":   {"content/b/notes.txt", "intro\n\n::: restricted to=board\nsecret\n:::\n", "content/b/notes.txt:3: holds a restricted block or an audience: key"},
		"audience in yaml":  {"content/b/meta.yaml", "title: x\naudience: [board]\n", "content/b/meta.yaml:2: holds a restricted block"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(writeSite(t, map[string]string{"content/b/a.md": "---\ntitle: A\n---\n", tc.path: tc.body}), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	for _, ok := range []string{"content/b/notes.txt", "content/b/map.png", "content/b/md.txt", "content/b/readme-md.pdf"} {
		if _, err := Load(writeSite(t, map[string]string{"content/b/a.md": "---\ntitle: A\n---\n", ok: "restricted to members: ask the chair\n"}), Options{}); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// The files of a page bundle restricted as a whole, in its folder or
// below, are its attachments; a public bundle's files and the files
// beside a bundle's folder are not.
func TestBundleFiles(t *testing.T) {
	s, err := Load(writeSite(t, map[string]string{
		"content/b/a.md":                  "---\ntitle: A\n---\nText.\n",
		"content/b/acme-rce/index.md":     "---\ntitle: R\naudience: [alice]\nslug: r-9\n---\nText.\n",
		"content/b/acme-rce/poc.py":       "print(1)",
		"content/b/acme-rce/img/shot.png": "PNG",
		"content/b/acme-rce-notes.txt":    "notes",
		"content/b/report/index.md":       "---\ntitle: P\n---\nText.\n",
		"content/b/report/chart.svg":      "<svg/>",
		"keys/alice.pub":                  "age1ef4lqltkghdxux66qfj58llksxqw4tkeqllvwsrtkqd380ll495qfryaen\n",
	}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	bundle := s.Page("content/b/acme-rce/index.md")
	for p, want := range map[string]*Page{
		"content/b/acme-rce/poc.py":       bundle,
		"content/b/acme-rce/img/shot.png": bundle,
		"content/b/acme-rce-notes.txt":    nil,
		"content/b/report/chart.svg":      nil,
	} {
		if got := s.Bundle(p); got != want {
			t.Errorf("Bundle(%s) = %v, want %v", p, got, want)
		}
	}
	if !s.BundleHasFiles(bundle) {
		t.Error("BundleHasFiles(acme-rce) = false")
	}
	if s.BundleHasFiles(s.Page("content/b/report/index.md")) {
		t.Error("BundleHasFiles(report), a public bundle, = true")
	}
}
