package themes_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/conclave-dev/conclave/internal/format"
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

// The attachments of the tests below, and the page that links them.
const pageFiles = "---\ntitle: Files\ndate: 2026-11-05\ntlp: amber\n---\n\nPUBLIC.\n\n" +
	"::: restricted to=alice tlp=amber\nALICE-FILES: [flipped](files/flipped-q9.bin), [swapped](files/swapped-q9.bin), " +
	"[donor](files/donor-q9.bin), [elsewhere](files/elsewhere-q9.bin), [oversized](files/oversized-q9.bin), [slow](files/slow-q9.bin).\n:::\n\n" +
	"::: restricted to=carol tlp=amber\nCAROL-FILES: [hers](files/carol-q9.bin).\n:::\n"

// randomFile returns n random bytes.
func randomFile(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// attachmentPackets maps the base name of each attachment the identities
// open to its packet's path.
func (s *site) attachmentPackets(t testing.TB, ids []age.Identity) map[string]string {
	t.Helper()
	plain, _ := s.packets(t, ids)
	out := map[string]string{}
	for p, text := range plain {
		a, _, err := format.ParseAttachment([]byte(text))
		if err == nil {
			out[path.Base(a.Path)] = p
		}
	}
	return out
}

// serveWith serves the built site again, as buildSite does, except for
// the paths of handlers (with their leading slash), which answer
// instead. It returns the server's URL.
func (s *site) serveWith(t testing.TB, handlers map[string]http.HandlerFunc) string {
	t.Helper()
	files := http.FileServer(http.Dir(s.out))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := handlers[r.URL.Path]; h != nil {
			h(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// stall is a handler that answers with the first bytes of a body it says
// is length bytes long, then sends nothing more until the client goes
// away or the test ends. It closes arrived when a request comes, and
// gone when its client goes away.
type stall struct {
	arrived, gone chan struct{}
	handler       http.HandlerFunc
}

func stalled(t testing.TB, first []byte, length int64) *stall {
	st := &stall{arrived: make(chan struct{}), gone: make(chan struct{})}
	end := make(chan struct{})
	t.Cleanup(func() { close(end) }) // before the server closes: it waits for this handler
	var arrived, gone sync.Once
	st.handler = func(w http.ResponseWriter, r *http.Request) {
		arrived.Do(func() { close(st.arrived) })
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(length, 10))
		w.Write(first)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			gone.Do(func() { close(st.gone) })
		case <-end:
		}
	}
	return st
}

// closed reports whether c is closed within 20 s.
func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	case <-time.After(20 * time.Second):
		return false
	}
}

// countBlobURLs makes every page the browser loads count the blob: URLs
// it creates, in window.blobURLs: a decrypted file is offered through
// one.
func countBlobURLs() step {
	return command(page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `(() => {
		const create = URL.createObjectURL;
		window.blobURLs = 0;
		URL.createObjectURL = function (...args) { window.blobURLs++; return create.apply(this, args); };
	})()`})
}

// allowDownloads makes the browser save downloads in a new folder, which
// it returns.
func allowDownloads(t testing.TB, ctx context.Context) string {
	t.Helper()
	dir := t.TempDir()
	events := true
	run(t, ctx, command(cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, EventsEnabled: &events}))
	return dir
}

// waitDownload waits until the browser has saved want at path, and fails
// the test if it saves something else.
func waitDownload(t testing.TB, path string, want []byte, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if fi, err := os.Stat(path); err == nil && fi.Size() >= int64(len(want)) {
			break
		}
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		entries, _ := os.ReadDir(filepath.Dir(path))
		t.Fatalf("downloaded %d bytes at %s (folder holds %v), want %d bytes, the file's", len(got), path, entries, len(want))
	}
}

// clickForStatus clears the status line, clicks the link and waits until
// the status line says something, which it returns ("" if it says
// nothing within 20 s).
func clickForStatus(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector("#conclave-status").textContent = ""`), click(sel))
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`document.querySelector("#conclave-status").textContent !== ""`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		return ""
	}
	return status(ctx, t)
}

// TestUnlockLargeAttachment: an attachment larger than a passage may be
// (64 MiB) downloads in the browser, byte for byte, and its packet is
// fetched once.
func TestUnlockLargeAttachment(t *testing.T) {
	file := randomFile(96 << 20)
	s := buildSite(t, []string{"alice"}, "", map[string]string{
		"briefings/big.md":            "---\ntitle: Dump\ndate: 2026-11-05\n---\n\n::: restricted to=alice tlp=amber\nDUMP-TEXT: [the capture](files/dump-q9.bin).\n:::\n",
		"briefings/files/dump-q9.bin": string(file),
	})
	ctx := browserFor(t, 4*time.Minute) // about 5 s alone, much more beside other work
	downloads := allowDownloads(t, ctx)
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/big/"), unlock(identityText(s.ids["alice"])), waitState("unlocked"))
	packet := eval[string](t, ctx, `new URL(document.querySelector("a.attachment").href).pathname`)
	if !format.IsPacketPath(strings.TrimPrefix(packet, "/")) {
		t.Fatalf("the link points to %s, not to a packet", packet)
	}
	run(t, ctx, click("a.attachment"))
	waitDownload(t, filepath.Join(downloads, "dump-q9.bin"), file, 3*time.Minute)
	gets := 0
	for _, r := range s.log() {
		if strings.HasPrefix(r, "GET "+packet+"\n") {
			gets++
		}
	}
	if gets != 1 {
		t.Errorf("the packet was fetched %d times, want once", gets)
	}
}

// TestUnlockAttachmentTampered: an attachment's packet whose bytes were
// altered, or that was swapped for another genuine packet of the same
// audience, shows as tampered, and nothing of it is offered, although
// all but its end decrypts; a packet longer than any conclave seals is
// refused before it is read. The download of a packet the reader may not
// open stops at its header, and Lock stops a download under way.
func TestUnlockAttachmentTampered(t *testing.T) {
	files := map[string][]byte{
		"flipped-q9.bin":   randomFile(9 << 20), // more than one part of the Blob
		"swapped-q9.bin":   randomFile(3 << 20),
		"donor-q9.bin":     randomFile(2 << 20),
		"elsewhere-q9.bin": randomFile(1 << 20),
		"oversized-q9.bin": randomFile(1 << 20),
		"slow-q9.bin":      randomFile(1 << 20),
		"carol-q9.bin":     randomFile(4 << 20),
	}
	pages := map[string]string{"briefings/files.md": pageFiles}
	for name, b := range files {
		pages["briefings/files/"+name] = string(b)
	}
	s := buildSite(t, []string{"alice", "carol"}, "", pages)
	alices := s.attachmentPackets(t, s.audienceKeys(t, "alice"))
	carols := s.attachmentPackets(t, s.audienceKeys(t, "carol"))
	if len(alices) != 6 || len(carols) != 1 {
		t.Fatalf("alice opens %d attachments, carol %d; want 6 and 1", len(alices), len(carols))
	}

	// One byte flipped near the end: the last chunk and the digest fail,
	// after megabytes that decrypt.
	b := s.readFile(t, alices["flipped-q9.bin"])
	b[len(b)-100] ^= 0x01
	s.writeFile(t, alices["flipped-q9.bin"], b)
	// The donor's genuine packet under the swapped file's name: it
	// decrypts whole; only its digest tells.
	s.writeFile(t, alices["swapped-q9.bin"], s.readFile(t, alices["donor-q9.bin"]))
	// carol's packet under the name of one of alice's: it is not for her,
	// which its header tells, and the rest of it never comes.
	hers := s.readFile(t, carols["carol-q9.bin"])
	elsewhere := stalled(t, hers[:64<<10], int64(len(hers)))
	// A packet that says it is longer than any conclave seals.
	oversized := stalled(t, s.readFile(t, alices["oversized-q9.bin"])[:64<<10], format.MaxAttachmentPacket+1)
	// A genuine packet that comes slowly.
	b = s.readFile(t, alices["slow-q9.bin"])
	slow := stalled(t, b[:64<<10], int64(len(b)))
	url := s.serveWith(t, map[string]http.HandlerFunc{
		"/" + alices["elsewhere-q9.bin"]: elsewhere.handler,
		"/" + alices["oversized-q9.bin"]: oversized.handler,
		"/" + alices["slow-q9.bin"]:      slow.handler,
	})

	ctx := browser(t)
	downloads := allowDownloads(t, ctx)
	run(t, ctx, countBlobURLs(), chromedp.Navigate(url+"/briefings/files/"), unlock(identityText(s.ids["alice"])), waitState("unlocked"))
	if !strings.Contains(mainText(ctx, t), "ALICE-FILES") {
		t.Fatal("the passage did not open")
	}
	// Each link by the name of its file, whatever its href becomes.
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`for (const a of document.querySelectorAll("a.attachment")) a.dataset.test = a.textContent + "-q9.bin"`))
	link := func(name string) string { return `a.attachment[data-test="` + name + `"]` }
	for _, name := range []string{"flipped-q9.bin", "swapped-q9.bin", "oversized-q9.bin"} {
		if st := clickForStatus(t, ctx, link(name)); !strings.HasPrefix(st, "Altered:") {
			t.Errorf("%s: status %q, want it altered", name, st)
		}
		if href := eval[string](t, ctx, `document.querySelector(`+jsString(link(name))+`).href`); !strings.HasSuffix(href, alices[name]) {
			t.Errorf("%s: the link points to %s, want its packet still", name, href)
		}
	}
	if !closed(oversized.gone) {
		t.Error("the download of the oversized packet did not stop")
	}
	if st := clickForStatus(t, ctx, link("elsewhere-q9.bin")); st != "This file is sealed for another audience." {
		t.Errorf("carol's packet under alice's name: status %q", st)
	}
	if !closed(elsewhere.gone) {
		t.Error("the download of a packet not for the reader did not stop at its header")
	}
	if n := eval[int](t, ctx, `window.blobURLs`); n != 0 {
		t.Errorf("%d blob: URLs made of packets that were altered or not for the reader", n)
	}
	if entries, _ := os.ReadDir(downloads); len(entries) != 0 {
		t.Errorf("downloaded %v", entries)
	}

	// The donor itself downloads: the reader opens that audience's files.
	run(t, ctx, click(link("donor-q9.bin")))
	waitDownload(t, filepath.Join(downloads, "donor-q9.bin"), files["donor-q9.bin"], 20*time.Second)

	// Lock while a file downloads: the download stops, and nothing of it
	// is offered.
	run(t, ctx, click(link("slow-q9.bin")))
	if !closed(slow.arrived) {
		t.Fatal("the slow packet was not requested")
	}
	run(t, ctx, click("#conclave-lock-button"), waitState("locked"))
	if !closed(slow.gone) {
		t.Error("Lock did not stop the download under way")
	}
	if n := eval[int](t, ctx, `window.blobURLs`); n != 1 {
		t.Errorf("%d blob: URLs, want the donor's alone", n)
	}
}
