package themes_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/chromedp/chromedp"

	"github.com/conclave-dev/conclave/internal/format"
)

// maxDepth is MAX_DEPTH in themes/unlock/src/unlock.js: how deep the
// unlock script opens nested passages, as deep as the build writes them
// and conclave open opens them.
const maxDepth = format.MaxNesting

const pageNest = "---\ntitle: Nested\ndate: 2026-11-07\n---\n\nPUBLIC-TEXT.\n\n" +
	"::: restricted to=alice tlp=amber\nNEST-PASSAGE.\n:::\n"

// placeholderOf returns the placeholder the built page writes for the
// packet path: from its start to its end, as readers find it.
func placeholderOf(t testing.TB, page, path string) string {
	t.Helper()
	at := strings.Index(page, format.AttrPacket+`="`+path+`"`)
	start := strings.LastIndex(page[:max(at, 0)], format.PlaceholderStart)
	if at < 0 || start < 0 {
		t.Fatalf("no placeholder for %s in the page", path)
	}
	end := strings.Index(page[start:], format.PlaceholderEnd)
	if end < 0 {
		t.Fatalf("the placeholder for %s does not end", path)
	}
	return page[start : start+end+len(format.PlaceholderEnd)]
}

// forgeChain makes the page name, in place of the packet target, a chain
// of n packets, each encrypted to r and named by its digest, as the build
// names packets: the passage of packet k shows "DEPTH-k." and holds the
// placeholder of packet k+1, in the markup of the page's own placeholder.
// It returns the chain's packet paths, outermost first.
func forgeChain(t testing.TB, s *site, page, target string, r age.Recipient, n int) []string {
	t.Helper()
	placeholder := placeholderOf(t, string(s.readFile(t, page)), target)
	paths := make([]string, n)
	for k := n; k >= 1; k-- {
		text := fmt.Sprintf("<p>DEPTH-%02d.</p>\n", k)
		if k < n {
			text += strings.ReplaceAll(placeholder, target, paths[k]) + "\n"
		}
		packet := encrypt(t, text, r)
		paths[k-1] = "packets/" + digestName(packet) + ".age"
		s.writeFile(t, paths[k-1], packet)
	}
	s.rename(t, page, target, paths[0])
	return paths
}

// TestUnlockNestingLimit: the unlock script opens passages nested up to
// 16 deep, and leaves one nested deeper sealed, says so, and never fetches
// its packet. The chains are forged, as whoever holds the audience key and
// can write to the site could: the build refuses to nest deeper than 16.
func TestUnlockNestingLimit(t *testing.T) {
	s := buildSite(t, []string{"alice"}, "", map[string]string{"briefings/full.md": pageNest, "briefings/deep.md": pageNest})
	plain, by := s.packets(t, s.audienceKeys(t, "alice"))
	if len(plain) != 2 {
		t.Fatalf("%d packets, want 2", len(plain))
	}
	packetOf := func(page string) string {
		for p := range plain {
			if strings.Contains(string(s.readFile(t, page)), p) {
				return p
			}
		}
		t.Fatalf("%s names no packet", page)
		return ""
	}
	fullTarget, deepTarget := packetOf("briefings/full/index.html"), packetOf("briefings/deep/index.html")
	full := forgeChain(t, s, "briefings/full/index.html", fullTarget, recipientOf(t, by[fullTarget]), maxDepth)
	deep := forgeChain(t, s, "briefings/deep/index.html", deepTarget, recipientOf(t, by[deepTarget]), maxDepth+1)

	sealed := func(ctx context.Context) []string {
		return eval[[]string](t, ctx, `[...document.querySelectorAll("section.sealed[data-packet]")].map((s) => s.getAttribute("data-packet"))`)
	}
	levels := func(ctx context.Context) (shown []int) {
		text := mainText(ctx, t)
		for k := 1; k <= maxDepth+1; k++ {
			if strings.Contains(text, fmt.Sprintf("DEPTH-%02d.", k)) {
				shown = append(shown, k)
			}
		}
		return shown
	}
	upTo := func(n int) []int {
		var l []int
		for k := 1; k <= n; k++ {
			l = append(l, k)
		}
		return l
	}
	alice := identityText(s.ids["alice"])
	ctx := browser(t)

	// 16 deep: every passage opens, and nothing is reported.
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/full/"), unlock(alice), waitState("unlocked"))
	if got := levels(ctx); fmt.Sprint(got) != fmt.Sprint(upTo(maxDepth)) {
		t.Errorf("16 deep: levels %v shown, want 1 to 16", got)
	}
	if opened, _ := counts(ctx, t); opened != "16" {
		t.Errorf("16 deep: opened %s passages, want 16", opened)
	}
	if left := sealed(ctx); len(left) != 0 {
		t.Errorf("16 deep: %v left sealed", left)
	}
	if st := status(ctx, t); st != "Unlocked 16 of 16 sealed passages, nested ones included." {
		t.Errorf("16 deep: status = %q", st)
	}

	// 17 deep: the 16 outer passages open; the 17th is left sealed, in
	// the 16th, and the status says why.
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/deep/"), unlock(alice), waitState("unlocked"))
	if got := levels(ctx); fmt.Sprint(got) != fmt.Sprint(upTo(maxDepth)) {
		t.Errorf("17 deep: levels %v shown, want 1 to 16", got)
	}
	if opened, _ := counts(ctx, t); opened != "16" {
		t.Errorf("17 deep: opened %s passages, want 16", opened)
	}
	if left := sealed(ctx); len(left) != 1 || left[0] != deep[maxDepth] {
		t.Errorf("17 deep: left sealed %v, want the 17th packet, %s", left, deep[maxDepth])
	}
	in := `section.unsealed[data-packet="` + deep[maxDepth-1] + `"] section.sealed[data-packet="` + deep[maxDepth] + `"]`
	if n := eval[int](t, ctx, `document.querySelectorAll(`+jsString(in)+`).length`); n != 1 {
		t.Errorf("17 deep: the 17th placeholder is not in the 16th passage")
	}
	if st := status(ctx, t); !strings.HasPrefix(st, "Unlocked 16 of 16 sealed passages, nested ones included.") ||
		!strings.Contains(st, "A sealed passage is nested more than 16 deep, which conclave never builds: left sealed.") {
		t.Errorf("17 deep: status = %q", st)
	}

	// The packets of both chains were fetched, but for the 17th.
	fetched := map[string]bool{}
	for _, r := range s.log() {
		if f := strings.Fields(r); len(f) >= 2 && f[0] == "GET" {
			fetched[strings.TrimPrefix(f[1], "/")] = true
		}
	}
	for i, p := range append(full, deep[:maxDepth]...) {
		if !fetched[p] {
			t.Errorf("packet %d of its chain, %s, was not fetched", i%maxDepth+1, p)
		}
	}
	if fetched[deep[maxDepth]] {
		t.Errorf("the 17th packet, %s, was fetched", deep[maxDepth])
	}
}
