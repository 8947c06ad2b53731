package themes_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

var attachmentMiB = flag.Int("attachment-mib", 256, "size of the attachment of BenchmarkUnlockAttachment, in MiB")

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

// BenchmarkUnlockAttachment times opening an attachment of
// -attachment-mib MiB (256 by default) in headless Chromium, and samples
// the page's memory meanwhile: from the click on its link to the Blob of
// the file (as the page's own clock measures it) and to the file saved
// whole in the download folder. MiB-peak-heap is the most the page's
// JavaScript heap (performance.memory.usedJSHeapSize, exact with the
// browser's --enable-precise-memory-info; it counts the bytes of array
// buffers too, where a packet held whole would be) grew above what it was
// before the click, sampled about every 50 ms. Each iteration loads the
// page anew.
//
//	go test ./themes -run XXX -bench UnlockAttachment -benchtime 3x
func BenchmarkUnlockAttachment(b *testing.B) {
	file := randomFile(*attachmentMiB << 20)
	s := buildSite(b, []string{"alice"}, "", map[string]string{
		"briefings/big.md":            "---\ntitle: Dump\ndate: 2026-11-05\n---\n\n::: restricted to=alice tlp=amber\nDUMP-TEXT: [the capture](files/dump-q9.bin).\n:::\n",
		"briefings/files/dump-q9.bin": string(file),
	})
	ctx := browserFor(b, 30*time.Minute)
	downloads := allowDownloads(b, ctx)
	saved := filepath.Join(downloads, "dump-q9.bin")
	run(b, ctx, command(page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `(() => {
		const create = URL.createObjectURL;
		URL.createObjectURL = function (...args) { window.blobAt = performance.now(); return create.apply(this, args); };
	})()`}))
	heap := func() float64 { return eval[float64](b, ctx, `performance.memory.usedJSHeapSize`) }
	var decrypt, whole, peak float64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		os.Remove(saved)
		run(b, ctx, chromedp.Navigate(s.url+"/briefings/big/"), unlock(identityText(s.ids["alice"])), waitState("unlocked"))
		heap0 := heap()
		b.StartTimer()
		start := time.Now()
		t0 := eval[float64](b, ctx, `(() => { const t = performance.now(); document.querySelector("a.attachment").click(); return t })()`)
		for {
			peak = max(peak, heap()-heap0)
			if fi, err := os.Stat(saved); err == nil && fi.Size() == int64(len(file)) {
				break
			}
			if time.Since(start) > 5*time.Minute {
				b.Fatal("not saved within 5 minutes")
			}
			time.Sleep(50 * time.Millisecond)
		}
		whole += float64(time.Since(start).Milliseconds())
		b.StopTimer()
		decrypt += eval[float64](b, ctx, `window.blobAt`) - t0
	}
	b.ReportMetric(decrypt/float64(b.N), "ms/click-to-blob")
	b.ReportMetric(whole/float64(b.N), "ms/click-to-saved")
	b.ReportMetric(peak/(1<<20), "MiB-peak-heap")
}
