package themes_test

import (
	"bytes"
	"crypto/rand"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/conclave-dev/conclave/internal/testtool"
)

// Attachments in the browser: after unlock, an image a passage shows is
// decrypted and displayed from a Blob, and a file it links downloads under
// its own name with its exact bytes. A reader outside the audience gets
// neither; the public page names neither.
func TestUnlockAttachments(t *testing.T) {
	var img bytes.Buffer
	m := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for x := range 40 {
		m.Set(x, x%30, color.RGBA{200, 30, 30, 255})
	}
	if err := png.Encode(&img, m); err != nil {
		t.Fatal(err)
	}
	report := make([]byte, 5<<20) // several STREAM chunks, and more than one part of the Blob
	rand.Read(report)
	report = append([]byte("%PDF-1.4\n"), report...)
	s := buildSite(t, []string{"alice", "bob", "carol"}, "board = [\"alice\", \"bob\"]\n", map[string]string{
		"briefings/x.md": "---\ntitle: Advisory\ndate: 2026-11-01\ntlp: amber\n---\n\nPUBLIC-INTRO.\n\n" +
			"::: restricted to=board tlp=amber\nBOARD-TEXT. ![The network map](net-map-q9.png)\n\nRead [the full report](files/report-q9.pdf).\n:::\n\n" +
			"::: restricted to=carol tlp=amber\nCAROL-ONLY.\n:::\n",
		"briefings/net-map-q9.png":       img.String(),
		"briefings/files/report-q9.pdf":  string(report),
		"briefings/other.md":             "---\ntitle: Other\n---\n\nPublic.\n",
		"briefings/deal-q9/index.md":     "---\ntitle: Deal\naudience: [carol]\nslug: r-k2\ntlp: amber\n---\n\nCAROL-DEAL.\n",
		"briefings/deal-q9/terms-q9.txt": "The terms, for carol.\n",
	})
	for p, data := range testtool.Tree(t, s.out) {
		if strings.Contains(p, "q9") || !strings.HasPrefix(p, "packets/") && bytes.Contains(data, []byte("q9")) {
			t.Fatalf("the public %s names an attachment", p)
		}
	}
	var err error

	ctx := browser(t)
	downloads := t.TempDir()
	events := true
	run(t, ctx, command(cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads, EventsEnabled: &events}))
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), unlock(identityText(s.ids["alice"])), waitState("unlocked"))
	if !strings.Contains(mainText(ctx, t), "BOARD-TEXT") {
		t.Fatal("the passage did not open")
	}
	// The image shows, decoded from a blob: URL.
	run(t, ctx, chromedp.Poll[chromedp.Void](`(() => { const i = document.querySelector("img.attachment"); return i && i.complete && i.naturalWidth === 40 })()`, chromedp.WithPollingTimeout(20*time.Second)))
	if src := eval[string](t, ctx, `document.querySelector("img.attachment").src`); !strings.HasPrefix(src, "blob:") {
		t.Errorf("image src = %q, want a blob: URL", src)
	}
	shot(t, ctx, "unlock-attachments.png")

	// The link downloads the report under its name, byte for byte.
	run(t, ctx, click("a.attachment"))
	want := filepath.Join(downloads, "report-q9.pdf")
	deadline := time.Now().Add(20 * time.Second)
	var got []byte
	for time.Now().Before(deadline) {
		if got, err = os.ReadFile(want); err == nil && len(got) == len(report) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !bytes.Equal(got, report) {
		entries, _ := os.ReadDir(downloads)
		t.Fatalf("downloaded %d bytes at %s (folder holds %v), want the report's %d", len(got), want, entries, len(report))
	}

	// Lock: the image's decrypted URL is dropped.
	run(t, ctx, click("#conclave-lock-button"), waitState("locked"))
	if n := eval[int](t, ctx, `[...document.querySelectorAll("img")].filter((i) => i.src.startsWith("blob:")).length`); n != 0 {
		t.Errorf("%d blob: images after Lock", n)
	}

	// carol is not in the board: she sees neither file.
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), unlock(identityText(s.ids["carol"])), waitState("unlocked"))
	if n := eval[int](t, ctx, `document.querySelectorAll(".attachment").length`); n != 0 {
		t.Errorf("carol's view holds %d attachments", n)
	}

	// A file of her restricted bundle is listed at the end of its page,
	// linked or not, and downloads.
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/r-k2/"), unlock(identityText(s.ids["carol"])), waitState("unlocked"))
	if got := eval[string](t, ctx, `document.querySelector("section.attachments a.attachment").textContent`); got != "terms-q9.txt" {
		t.Errorf("the bundle lists %q, want terms-q9.txt", got)
	}
	run(t, ctx, click("section.attachments a.attachment"))
	want = filepath.Join(downloads, "terms-q9.txt")
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got, err = os.ReadFile(want); err == nil && len(got) > 0 {
			break
		}
	}
	if string(got) != "The terms, for carol.\n" {
		t.Errorf("downloaded %q, want the terms", got)
	}
}
