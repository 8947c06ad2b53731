package build

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/diag"
	"github.com/conclave-dev/conclave/internal/testtool"
)

var liftAt = time.Date(2026, 12, 9, 17, 0, 0, 0, time.UTC)

// embargoSite writes a site whose page x holds a passage under embargo
// until liftAt, with the label green after it, and whose page w is
// restricted as a whole until liftAt; pub, when set, writes the same
// pages as they read once lifted: the passage as public text, w public,
// labelled as after: says.
func embargoSite(t *testing.T, pub bool) string {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	x := "---\ntitle: Advisory\ndate: 2026-11-01\ntlp: amber\ntags: [vendors]\n---\n\nPublic intro.\n\n" +
		"::: restricted to=vendors tlp=amber embargo=2026-12-09T18:00:00+01:00 after=green\n## Fix details {#fix}\n\nEMBARGOED-FIX ships in 4.2.\n:::\n\n" +
		"::: restricted to=vendors tlp=amber\nSTILL-SEALED note.\n:::\n\nPublic outro.\n"
	w := "---\ntitle: Whole advisory\nslug: adv-7f2c\ndate: 2026-11-02\ntlp: amber\ntags: [kernel]\nsummary: WHOLE-SUMMARY\naudience: [vendors]\nembargo: 2026-12-09T17:00:00Z\n---\n\nWHOLE-BODY text.\n"
	if pub {
		x = strings.Replace(x, "::: restricted to=vendors tlp=amber embargo=2026-12-09T18:00:00+01:00 after=green\n## Fix details {#fix}\n\nEMBARGOED-FIX ships in 4.2.\n:::\n",
			"\n## Fix details {#fix}\n\nEMBARGOED-FIX ships in 4.2.\n\n", 1)
		w = strings.Replace(w, "tlp: amber\n", "tlp: clear\n", 1)
		w = strings.Replace(w, "audience: [vendors]\nembargo: 2026-12-09T17:00:00Z\n", "", 1)
	}
	dir := t.TempDir()
	testtool.WriteSite(t, dir, map[string]string{
		"conclave.toml":            "title = \"T\"\nbaseURL = \"https://example.org/\"\n",
		"keys/alice.pub":           id.Recipient().String() + "\n",
		"keys/groups.toml":         "vendors = [\"alice\"]\n",
		"content/briefings/x.md":   x,
		"content/briefings/w.md":   w,
		"content/briefings/pub.md": "---\ntitle: Other\ndate: 2026-10-01\n---\n\nNothing restricted.\n",
	})
	return dir
}

// at sets the build's clock to t for the test.
func at(t *testing.T, when time.Time) {
	t.Helper()
	old := clock
	clock = func() time.Time { return when }
	t.Cleanup(func() { clock = old })
}

// readTree reads every file of dir into a map by slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := testtool.ReadTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func holding(files map[string][]byte, s string) []string {
	var out []string
	for p, data := range files {
		if bytes.Contains(data, []byte(s)) {
			out = append(out, p)
		}
	}
	return out
}

// Before its time an embargoed passage, or page, is sealed like any other
// (the leak scan of the build checks every output file for its text);
// from its time on it is public, on a cold build and on a build that
// reuses the last build's pages alike, and the passage that has no
// embargo stays sealed.
func TestEmbargoLifts(t *testing.T) {
	dir := embargoSite(t, false)
	key := newCacheKey(t)
	secrets := []string{"EMBARGOED-FIX", "WHOLE-BODY", "WHOLE-SUMMARY", "Whole advisory", "STILL-SEALED"}
	for _, step := range []struct {
		name   string
		when   time.Time
		cached bool
		public []string
	}{
		{"before, cold", liftAt.Add(-time.Second), false, nil},
		{"before, cached", liftAt.Add(-time.Second), true, nil},
		{"at, cached", liftAt, true, []string{"EMBARGOED-FIX", "WHOLE-BODY", "WHOLE-SUMMARY", "Whole advisory"}},
		{"after, cold", liftAt.Add(time.Hour), false, []string{"EMBARGOED-FIX", "WHOLE-BODY", "WHOLE-SUMMARY", "Whole advisory"}},
	} {
		t.Run(step.name, func(t *testing.T) {
			at(t, step.when)
			opt := Options{Source: dir}
			if step.cached {
				opt.CacheKey = key
			} else {
				os.RemoveAll(filepath.Join(dir, CacheDir))
			}
			rep, err := Run(opt)
			if err != nil {
				t.Fatal(err)
			}
			files := readTree(t, filepath.Join(dir, "public"))
			for _, s := range secrets {
				got := holding(files, s)
				want := false
				for _, p := range step.public {
					want = want || p == s
				}
				if want != (len(got) > 0) {
					t.Errorf("%q public: %v, want %v (in %v)", s, len(got) > 0, want, got)
				}
			}
			lifted := 0
			for _, e := range rep.Embargoes {
				if e.Lifted {
					lifted++
				}
			}
			if want := map[bool]int{false: 0, true: 2}[len(step.public) > 0]; lifted != want || len(rep.Embargoes) != 2 {
				t.Errorf("report: %d embargoes, %d lifted; want 2, %d", len(rep.Embargoes), lifted, want)
			}
		})
	}
}

// A lifted page is the page written public from the start: the passage's
// fence lines gone, and a page restricted as a whole published with the
// label its after: names (clear by default). Its HTML, its feed and
// sitemap entries and its search entry are the same bytes.
func TestEmbargoLiftedEqualsPublic(t *testing.T) {
	at(t, liftAt)
	lifted, written := embargoSite(t, false), embargoSite(t, true)
	for _, dir := range []string{lifted, written} {
		if _, err := Run(Options{Source: dir}); err != nil {
			t.Fatal(err)
		}
	}
	a, b := readTree(t, filepath.Join(lifted, "public")), readTree(t, filepath.Join(written, "public"))
	for _, p := range []string{"briefings/adv-7f2c/index.html", "feed.xml", "sitemap.xml", "briefings/index.html", "index.html", "tags/kernel/index.html"} {
		if a[p] == nil || !bytes.Equal(a[p], b[p]) {
			t.Errorf("%s differs from the page written public (%d and %d bytes)", p, len(a[p]), len(b[p]))
		}
	}
	// Page x still holds a sealed passage, whose packet name differs
	// between the two builds: compare it with the packet names blanked.
	blank := func(b []byte) []byte {
		return packetName.ReplaceAll(b, []byte("packets/X.age"))
	}
	if x, y := blank(a["briefings/x/index.html"]), blank(b["briefings/x/index.html"]); !bytes.Equal(x, y) {
		t.Errorf("briefings/x/index.html differs from the page written public:\n%s\n----\n%s", x, y)
	}
	for p := range a {
		if strings.HasPrefix(p, "search/d/") || strings.HasPrefix(p, "search/t/") {
			if !bytes.Equal(a[p], b[p]) {
				t.Errorf("%s differs from the page written public", p)
			}
		}
	}
}

// Every mistake in an embargo is refused at its line: a time without its
// zone or that does not exist, an after= stricter than the label, after=
// without embargo=, a block inside one that does not lift by then, an
// embargo on a page that is not restricted, and a passage that would stay
// sealed, stricter than the page's label once it lifts.
func TestEmbargoErrors(t *testing.T) {
	at(t, liftAt.Add(-time.Hour))
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, page, want string }{
		{"no zone", "::: restricted to=alice tlp=amber embargo=2026-12-09T17:00:00\nX.\n:::\n", `x.md:5: restricted block: embargo="2026-12-09T17:00:00": no zone`},
		{"date only", "::: restricted to=alice tlp=amber embargo=2026-12-09\nX.\n:::\n", `x.md:5: restricted block: embargo="2026-12-09": a date without a time and zone`},
		{"impossible", "::: restricted to=alice tlp=amber embargo=2026-02-30T17:00:00Z\nX.\n:::\n", `x.md:5: restricted block: embargo="2026-02-30T17:00:00Z": day out of range`},
		{"after stricter", "::: restricted to=alice tlp=green embargo=2026-12-09T17:00:00Z after=amber\nX.\n:::\n", "x.md:5: restricted block: after=amber is stricter than tlp=green"},
		{"after alone", "::: restricted to=alice tlp=amber after=clear\nX.\n:::\n", "x.md:5: restricted block: after= is the label the passage is published with when its embargo lifts"},
		{"inside a block that stays", "::: restricted to=alice tlp=amber\n\n:::: restricted to=alice tlp=amber embargo=2026-12-09T17:00:00Z\nX.\n::::\n:::\n", "x.md:7: embargo=2026-12-09T17:00:00Z: the block around it, on line 5, does not lift by then"},
		{"inside a block that lifts later", "::: restricted to=alice tlp=amber embargo=2026-12-10T00:00:00Z\n\n:::: restricted to=alice tlp=amber embargo=2026-12-09T17:00:00Z\nX.\n::::\n:::\n", "x.md:7: embargo=2026-12-09T17:00:00Z: the block around it, on line 5, does not lift by then"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			testtool.WriteSite(t, dir, map[string]string{
				"conclave.toml":          "title = \"T\"\n",
				"keys/alice.pub":         id.Recipient().String() + "\n",
				"content/briefings/x.md": "---\ntitle: X\n---\n\n" + tt.page,
			})
			checkRefused(t, dir, tt.want)
		})
	}
	for _, tt := range []struct{ name, front, body, want string }{
		{"page not restricted", "embargo: 2026-12-09T17:00:00Z\n", "Text.\n", "x.md:3: embargo: only a page restricted as a whole"},
		{"page no zone", "audience: [alice]\nslug: s-1\nembargo: 2026-12-09 17:00\n", "Text.\n", `x.md:5: embargo: "2026-12-09 17:00"`},
		{"page no zone, TOML", "", "", `x.md:5: embargo: "2026-12-09T17:00:00": no zone`},
		{"page after stricter", "audience: [alice]\nslug: s-1\ntlp: green\nembargo: 2026-12-09T17:00:00Z\nafter: amber\n", "Text.\n", "x.md:7: after: amber is stricter than tlp: green"},
		{"page after alone", "audience: [alice]\nslug: s-1\nafter: clear\n", "Text.\n", "x.md:5: after: is the label the page is published with"},
		{"passage stricter than the lifted page", "audience: [alice]\nslug: s-1\ntlp: red\nembargo: 2026-12-09T17:00:00Z\nafter: amber\n", "::: restricted to=alice tlp=red\nX.\n:::\n", "x.md:10: tlp=red is stricter than the page's label once its embargo lifts (after: amber)"},
		{"passage in a page that stays", "audience: [alice]\nslug: s-1\n", "::: restricted to=alice embargo=2026-12-09T17:00:00Z\nX.\n:::\n", "x.md:7: embargo=2026-12-09T17:00:00Z: the page, restricted as a whole, does not lift by then"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			page := "---\ntitle: X\n" + tt.front + "---\n\n" + tt.body
			if strings.HasSuffix(tt.name, "TOML") {
				page = "+++\ntitle = \"X\"\naudience = [\"alice\"]\nslug = \"s-1\"\nembargo = 2026-12-09T17:00:00\n+++\n\nText.\n"
			}
			testtool.WriteSite(t, dir, map[string]string{
				"conclave.toml":               "title = \"T\"\n",
				"keys/alice.pub":              id.Recipient().String() + "\n",
				"content/briefings/_index.md": "---\ntitle: Briefings\n---\n",
				"content/briefings/x.md":      page,
			})
			checkRefused(t, dir, tt.want)
		})
	}
}

// checkRefused builds dir, which must fail with a located error starting
// with content/briefings/ and want, and write no public/.
func checkRefused(t *testing.T, dir, want string) {
	t.Helper()
	_, err := Run(Options{Source: dir})
	var list diag.List
	if !errors.As(err, &list) {
		t.Fatalf("want a located error, got %v", err)
	}
	found := false
	for _, e := range list {
		found = found || strings.HasPrefix(e.Error(), "content/briefings/"+want)
	}
	if !found {
		t.Errorf("got %v\nwant content/briefings/%s…", err, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "public")); !os.IsNotExist(err) {
		t.Errorf("a refused build wrote public/")
	}
}

// A build as of another time is never written into the site's public/.
func TestEmbargoAsOfNotPublic(t *testing.T) {
	dir := embargoSite(t, false)
	for _, out := range []string{"", filepath.Join(dir, "public"), filepath.Join(dir, "public", "inner")} {
		if _, err := Run(Options{Source: dir, Out: out, AsOf: liftAt}); !errors.Is(err, ErrAsOfPublic) {
			t.Errorf("out %q: %v, want ErrAsOfPublic", out, err)
		}
	}
	out := filepath.Join(t.TempDir(), "ahead")
	rep, err := Run(Options{Source: dir, Out: out, AsOf: liftAt})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.LookAhead || !rep.AsOf.Equal(liftAt) {
		t.Errorf("report: look ahead %v as of %v", rep.LookAhead, rep.AsOf)
	}
	var sum bytes.Buffer
	rep.Print(&sum)
	if !strings.Contains(sum.String(), "as of      2026-12-09T17:00:00Z (--now)") {
		t.Errorf("the summary does not say the build is a look ahead:\n%s", sum.String())
	}
	if len(holding(readTree(t, out), "EMBARGOED-FIX")) == 0 {
		t.Errorf("the passage is not lifted in a build as of its time")
	}
}

// The summary names the embargoes that lift within 7 days.
func TestEmbargoSummary(t *testing.T) {
	at(t, liftAt.Add(-50*time.Hour))
	rep, err := Run(Options{Source: embargoSite(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	var sum bytes.Buffer
	rep.Print(&sum)
	for _, want := range []string{
		"embargoes       0  lifted: published in clear; 2 still sealed",
		"lifts 2026-12-09T17:00:00Z (in 2d 2h): content/briefings/w.md:9, page for vendors, then clear",
		"lifts 2026-12-09T17:00:00Z (in 2d 2h): content/briefings/x.md:10, passage for vendors, then green",
	} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
	at(t, liftAt.Add(-8*24*time.Hour))
	rep, err = Run(Options{Source: embargoSite(t, false)})
	if err != nil {
		t.Fatal(err)
	}
	sum.Reset()
	rep.Print(&sum)
	if strings.Contains(sum.String(), "lifts ") {
		t.Errorf("the summary lists lifts more than 7 days away:\n%s", sum.String())
	}
}

var packetName = regexp.MustCompile(`packets/[0-9a-f]+\.age`)

// A lift due within 7 days that would stop the build then is found now: a
// passage that, once public, names a file still sealed as another
// passage's attachment.
func TestCheckLifts(t *testing.T) {
	at(t, liftAt.Add(-48*time.Hour))
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	page := "---\ntitle: X\ntlp: amber\n---\n\n::: restricted to=alice tlp=amber\nThe [report](report.pdf).\n:::\n\n" +
		"::: restricted to=alice tlp=amber embargo=2026-12-09T17:00:00Z\nSee report.pdf.\n:::\n"
	testtool.WriteSite(t, dir, map[string]string{
		"conclave.toml":                "title = \"T\"\n",
		"keys/alice.pub":               id.Recipient().String() + "\n",
		"content/briefings/x.md":       page,
		"content/briefings/report.pdf": "%PDF-1.4 sealed",
	})
	rep, err := Run(Options{Source: dir})
	if err != nil {
		t.Fatal(err)
	}
	checks := CheckLifts(Options{Source: dir}, rep)
	if len(checks) != 1 || !checks[0].Time.Equal(liftAt) || checks[0].Err == nil || !strings.Contains(checks[0].Err.Error(), "report.pdf") {
		t.Fatalf("checks: %+v", checks)
	}
	// Fixed, the lift builds.
	testtool.WriteSite(t, dir, map[string]string{"content/briefings/x.md": strings.Replace(page, "See report.pdf.", "See the report.", 1)})
	if rep, err = Run(Options{Source: dir}); err != nil {
		t.Fatal(err)
	}
	if checks := CheckLifts(Options{Source: dir}, rep); len(checks) != 1 || checks[0].Err != nil {
		t.Errorf("checks after the fix: %+v", checks)
	}
}
