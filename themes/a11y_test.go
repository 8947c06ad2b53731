package themes_test

// Accessibility of the default theme, checked in Chromium with axe-core on
// the repository's own sample site: every kind of page, light and dark,
// on a desktop and on the narrowest phone.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/conclave-dev/conclave/internal/build"
	"github.com/conclave-dev/conclave/internal/corpus"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// sampleSite builds the repository's sample site (its root: conclave.toml,
// content/, keys/, themes/default) without the seal cache, into a
// temporary folder, and serves it on loopback.
func sampleSite(t testing.TB) *site {
	t.Helper()
	out := filepath.Join(t.TempDir(), "public")
	if _, err := build.Run(build.Options{Source: "..", Out: out}); err != nil {
		t.Fatalf("building the sample site: %v", err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(out)))
	t.Cleanup(srv.Close)
	return &site{url: srv.URL, out: out}
}

// demoIdentity is the text of a sample recipient's identity file, as a
// reader would paste it.
func demoIdentity(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "demo", "identities", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// axeSource is axe-core's browser script, from the unlock script's
// development dependencies (npm --prefix themes/unlock ci).
func axeSource(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("unlock", "node_modules", "axe-core", "axe.min.js"))
	if err == nil {
		return string(b)
	}
	if testtool.Required() {
		t.Fatalf("axe-core is not installed and CONCLAVE_REQUIRE_TOOLS=1: run npm --prefix themes/unlock ci (%v)", err)
	}
	t.Skipf("axe-core is not installed (npm --prefix themes/unlock ci); skipping (set CONCLAVE_REQUIRE_TOOLS=1 to make this a failure)")
	return ""
}

// wcagTags are the axe rules the theme must pass: WCAG 2.0 and 2.1, levels
// A and AA.
const wcagTags = `["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]`

// axeViolation is one failed axe rule on one page, in one setting.
type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	Targets []struct {
		Target  []any  `json:"target"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// runAxe runs axe-core on the page as it is, injecting it first if the
// page does not hold it yet.
func runAxe(t testing.TB, ctx context.Context, src string) []axeViolation {
	t.Helper()
	if !eval[bool](t, ctx, `typeof window.axe === "object"`) {
		run(t, ctx, chromedp.Evaluate[chromedp.Void](src+"\n;void 0"))
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {runOnly: {type: "tag", values: `+wcagTags+`}, resultTypes: ["violations"]})
		.then((r) => r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
			nodes: v.nodes.map((n) => ({target: n.target, summary: n.failureSummary}))})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe: %v", err)
	}
	return v
}

// a11ySetting is how a page is seen: its color scheme and the viewport's width.
type a11ySetting struct {
	scheme string // "light" or "dark"
	width  int64
}

func (s a11ySetting) String() string { return fmt.Sprintf("%s, %d px", s.scheme, s.width) }

// apply emulates the setting in the tab: a phone's viewport (overlay
// scrollbars, the page's viewport meta) below 600 px, a desktop's above.
func (s a11ySetting) apply() step {
	vp := chromedp.EmulateViewport(s.width, 900)
	if s.width < 600 {
		vp = chromedp.EmulateViewport(s.width, 720, chromedp.EmulateScale(2), chromedp.EmulateMobile)
	}
	return chromedp.Steps(vp, command(emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: s.scheme}},
	}))
}

var a11ySettings = []a11ySetting{{"light", 1280}, {"dark", 1280}, {"light", 320}, {"dark", 320}}

// a11yPage is a page of the sample site to check, with what brings it to
// the state checked.
type a11yPage struct {
	name, path string
	ready      func(t *testing.T, ctx context.Context) step
}

func readyWhen(s step) func(*testing.T, context.Context) step {
	return func(*testing.T, context.Context) step { return s }
}

var searchDone = chromedp.WaitVisible(chromedp.CSS(`html[data-search="done"]`))

var a11yPages = []a11yPage{
	{"home", "/", nil},
	{"section", "/briefings/", nil},
	{"tag", "/tags/information-sharing/", nil},
	{"public briefing", "/briefings/partner-security-summit/", nil},
	{"locked briefing", "/briefings/security-cooperation-program/", readyWhen(waitState("locked"))},
	{"unlocked briefing", "/briefings/security-cooperation-program/", func(t *testing.T, ctx context.Context) step {
		// us-cert is in "government" and "members": it reads both passages.
		return chromedp.Steps(unlock(demoIdentity(t, "us-cert")), waitState("unlocked"))
	}},
	{"restricted page, locked", "/briefings/r-b7m2q9k4/", readyWhen(waitState("locked"))},
	// The search script marks <html> when it has shown the hits. No public
	// text of the sample site holds "vulnerability"; "incident" finds
	// several briefings; "reference" finds, once unlocked, the passage for
	// members.
	{"search", "/search/?q=vulnerability", readyWhen(searchDone)},
	{"search with hits", "/search/?q=incident", readyWhen(searchDone)},
	{"search, unlocked", "/search/?q=reference", func(t *testing.T, ctx context.Context) step {
		return chromedp.Steps(searchDone, chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.search = ""`),
			unlock(demoIdentity(t, "us-cert")), waitState("unlocked"), searchDone,
			chromedp.WaitVisible(chromedp.CSS(".search-hit-sealed")))
	}},
	{"404", "/404.html", nil},
}

// TestA11y runs axe-core's WCAG 2.1 A and AA rules on every kind of page
// of the sample site, in light and dark color schemes, 1280 and 320 px
// wide, and fails on any violation. At 320 px no page may scroll
// sideways. Focused links, buttons and fields must show an outline of at
// least 2 px with 3:1 contrast against what surrounds it.
func TestA11y(t *testing.T) {
	src := axeSource(t)
	s := sampleSite(t)
	ctx := browserFor(t, 3*time.Minute)
	checkA11y(t, ctx, src, s, a11yPages)
}

// TestA11yGenerated is TestA11y on a site of the benchmark corpus
// (internal/corpus): its tables, code, lists, footnotes and passages as
// the generator writes them, a public and a locked briefing of it, a
// section, a tag and the search page with hits.
func TestA11yGenerated(t *testing.T) {
	src := axeSource(t)
	dir := t.TempDir()
	if err := corpus.Write(dir, corpus.Options{Pages: 24, Seed: 3, Recipients: 6, Restricted: 0.4}); err != nil {
		t.Fatal(err)
	}
	testtool.WriteSite(t, dir, map[string]string{"conclave.toml": "title = \"Corpus\"\n"})
	out := filepath.Join(t.TempDir(), "public")
	if _, err := build.Run(build.Options{Source: dir, Out: out}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(out)))
	t.Cleanup(srv.Close)
	s := &site{url: srv.URL, out: out}
	var public, locked, section, tag string
	err := filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "index.html" {
			return err
		}
		rel := "/" + filepath.ToSlash(strings.TrimSuffix(strings.TrimPrefix(p, out+string(filepath.Separator)), "index.html"))
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(rel, "/tags/") && rel != "/tags/" && tag == "":
			tag = rel
		case strings.Count(rel, "/") == 2 && strings.HasPrefix(rel, "/section-") && section == "":
			section = rel
		case strings.Contains(rel, "/page-") && strings.Contains(string(b), `<section class="sealed`) && locked == "":
			locked = rel
		case strings.Contains(rel, "/page-") && !strings.Contains(string(b), `<section class="sealed`) && strings.Contains(string(b), "<table") && public == "":
			public = rel
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if public == "" || locked == "" || section == "" || tag == "" {
		t.Fatalf("the corpus lacks a kind of page: public %q, locked %q, section %q, tag %q", public, locked, section, tag)
	}
	ctx := browserFor(t, 3*time.Minute)
	checkA11y(t, ctx, src, s, []a11yPage{
		{"home", "/", nil},
		{"section", section, nil},
		{"tag", tag, nil},
		{"public briefing with a table", public, nil},
		{"locked briefing", locked, readyWhen(waitState("locked"))},
		{"search with hits", "/search/?q=vendor", readyWhen(searchDone)},
	})
}

// checkA11y checks pages of the site s, served to the browser ctx, with
// axe (its source src), in every setting.
func checkA11y(t *testing.T, ctx context.Context, src string, s *site, pages []a11yPage) {
	t.Helper()
	for _, p := range pages {
		if dir, _, _ := strings.Cut(p.path, "?"); strings.HasSuffix(dir, "/") {
			if _, err := os.Stat(filepath.Join(s.out, filepath.FromSlash(dir), "index.html")); err != nil {
				t.Errorf("%s: the site has no page %s", p.name, dir)
				continue
			}
		}
		// Each page is loaded once, in the first setting, and then seen in
		// the others: emulated media and viewport apply without a reload.
		run(t, ctx, a11ySettings[0].apply(), chromedp.Navigate(s.url+p.path))
		if p.ready != nil {
			run(t, ctx, p.ready(t, ctx))
		}
		for _, set := range a11ySettings {
			run(t, ctx, set.apply())
			where := fmt.Sprintf("%s (%s, %s)", p.name, p.path, set)
			for _, v := range runAxe(t, ctx, src) {
				var b strings.Builder
				for _, n := range v.Targets {
					fmt.Fprintf(&b, "\n    %v: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
				}
				t.Errorf("%s: axe %s (%s): %s%s", where, v.ID, v.Impact, v.Help, b.String())
			}
			if set.width < 600 {
				// A phone's browser widens the layout viewport to fit what
				// overflows: innerWidth grows too, so compare with the screen.
				if w := eval[[]int64](t, ctx, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > set.width || w[1] > set.width {
					t.Errorf("%s: the page scrolls sideways: %d px wide, viewport %d px, on a %d px screen; too wide: %s", where, w[0], w[1], set.width, eval[string](t, ctx, overflowing))
				}
			}
			if set.width > 600 {
				for _, f := range focusRings(t, ctx) {
					if f.Problem != "" {
						t.Errorf("%s: focused %s: %s", where, f.Target, f.Problem)
					}
				}
			}
		}
	}
}

// overflowing is JavaScript that names the innermost elements whose right
// edge is past the screen's, but for those a scrolling box holds.
const overflowing = `(() => {
	const w = screen.width;
	const out = [];
	const clipped = (e) => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) if (getComputedStyle(a).overflowX !== "visible") return true; return false; };
	for (const e of document.querySelectorAll("body *")) {
		const r = e.getBoundingClientRect();
		if (r.right > w + 0.5 && !clipped(e) && ![...e.children].some((c) => c.getBoundingClientRect().right > w + 0.5)) {
			out.push(e.localName + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "") + " (" + Math.round(r.right) + ")");
		}
	}
	return out.slice(0, 8).join(", ") || "(none found)";
})()`

// focusRing is what a focused element shows.
type focusRing struct {
	Target  string `json:"target"`
	Problem string `json:"problem"`
}

// focusRings focuses, with the keyboard, each kind of control the page
// has (a link in the header, in the text, a tag; buttons, fields, the
// search box) and reports any whose focus outline is thinner than 2 px or
// has less than 3:1 contrast with the background around it.
func focusRings(t testing.TB, ctx context.Context) []focusRing {
	t.Helper()
	var out []focusRing
	sels := eval[[]string](t, ctx, `(() => {
		const kinds = [".site-title", ".site-header nav a", "#site-search-q", ".site-search button", ".content a", "a.tag", ".toc a",
			"#search-q", "#search-form button", ".search-hit-title", "#conclave-identity", "#conclave-identity-file", "#conclave-remember",
			"#conclave-unlock-button", "#conclave-lock-button", ".search-more", "summary", ".site-footer a", ".pager a"];
		return kinds.filter((k) => { const e = document.querySelector(k); return e && e.getClientRects().length > 0; });
	})()`)
	for _, sel := range sels {
		// A key press first, so that the focus that follows is a
		// keyboard user's (:focus-visible).
		run(t, ctx, command(input.DispatchKeyEvent, input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeRawKeyDown, Key: "Shift", Code: "ShiftLeft"}),
			command(input.DispatchKeyEvent, input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: "Shift", Code: "ShiftLeft"}),
			chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsString(sel)+`).focus()`))
		f := eval[focusRing](t, ctx, `(`+focusCheck+`)(`+jsString(sel)+`)`)
		out = append(out, f)
	}
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	return out
}

// focusCheck is JavaScript that reports the focus outline of the element
// a selector names, which must be focused: a problem if it is not
// :focus-visible, thinner than 2 px, or under 3:1 against the opaque
// background behind the element.
const focusCheck = `function (sel) {
	const e = document.querySelector(sel);
	const res = {target: sel, problem: ""};
	if (document.activeElement !== e) { res.problem = "could not be focused"; return res; }
	if (!e.matches(":focus-visible")) { res.problem = "not :focus-visible after keyboard focus"; return res; }
	const cs = getComputedStyle(e);
	if (cs.outlineStyle === "none" || parseFloat(cs.outlineWidth) < 2) { res.problem = "outline " + cs.outlineStyle + " " + cs.outlineWidth; return res; }
	const rgb = (c) => { const m = c.match(/[\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
	const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
	// The background around the outline: the nearest ancestor's opaque one.
	let bg = null;
	for (let n = e.parentElement; n; n = n.parentElement) {
		const c = rgb(getComputedStyle(n).backgroundColor);
		if (c.a === 1) { bg = c; break; }
	}
	if (!bg) bg = {r: 255, g: 255, b: 255, a: 1};
	const ring = rgb(cs.outlineColor);
	const l1 = lum(ring), l2 = lum(bg);
	const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
	if (ring.a < 1 || ratio < 3) res.problem = "outline " + cs.outlineColor + " on " + "rgb(" + bg.r + ", " + bg.g + ", " + bg.b + ") has contrast " + ratio.toFixed(2) + ":1, under 3:1";
	return res;
}`
