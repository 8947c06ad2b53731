package themes_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// BenchmarkUnlock times unlocking a page with 20 sealed passages in a site
// with 200 recipients, in headless Chromium: from the click on Unlock to
// the last passage in the page, as the page's own clock measures it. The
// reader is one recipient; the passages are sealed for the whole
// membership (8), the board (6), and the reader with one other recipient
// (6), so the reader's keyring holds 8 audience keys and finding it means
// trying all 200 keyrings. Each iteration loads the page anew; the first
// runs in a browser just started.
//
//	go test ./themes -run XXX -bench Unlock -benchtime 20x
func BenchmarkUnlock(b *testing.B) {
	var recipients []string
	for i := range 200 {
		recipients = append(recipients, fmt.Sprintf("r%03d", i))
	}
	groups := "members = [" + quoteAll(recipients) + "]\nboard = [" + quoteAll(recipients[:10]) + "]\n"
	var page strings.Builder
	page.WriteString("---\ntitle: Twenty passages\ndate: 2026-11-01\ntlp: amber\n---\n\nIntro.\n\n")
	for i := range 20 {
		to := "members"
		switch {
		case i%3 == 1:
			to = "board"
		case i%3 == 2:
			to = fmt.Sprintf("r000,r%03d", 100+i)
		}
		fmt.Fprintf(&page, "::: restricted to=%s tlp=amber\nPassage %d: %s\n:::\n\n", to, i, strings.Repeat("embargoed detail ", 40))
	}
	s := buildSite(b, recipients, groups, map[string]string{"briefings/twenty.md": page.String()})
	ctx := browser(b)
	reader := identityText(s.ids["r000"])
	var total, script, worst float64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		run(b, ctx,
			chromedp.Navigate(s.url+"/briefings/twenty/"),
			waitState("locked"),
			paste(reader),
		)
		b.StartTimer()
		t0 := eval[float64](b, ctx, `(() => { const t = performance.now(); document.querySelector("#conclave-unlock-button").click(); return t })()`)
		run(b, ctx, waitState("unlocked"))
		b.StopTimer()
		end := eval[float64](b, ctx, `performance.getEntriesByName("conclave:unlock-end")[0].startTime`)
		measured := eval[float64](b, ctx, `performance.getEntriesByName("conclave:unlock")[0].duration`)
		if opened, _ := counts(ctx, b); opened != "20" {
			b.Fatalf("opened %s passages, want 20", opened)
		}
		total += end - t0
		script += measured
		worst = max(worst, end-t0)
	}
	b.ReportMetric(total/float64(b.N), "ms/click-to-shown")
	b.ReportMetric(script/float64(b.N), "ms/unlock-measure")
	b.ReportMetric(worst, "ms/worst-click-to-shown") // the first, in a browser just started, included
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = `"` + n + `"`
	}
	return strings.Join(q, ", ")
}
