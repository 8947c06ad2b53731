package themes_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/conclave-dev/conclave/internal/build"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/serve"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// TestServeReloadsPage: with conclave serve's live server, an open page
// reloads by itself after a save, shows a build error over itself, and
// recovers on the next good save.
func TestServeReloadsPage(t *testing.T) {
	dir := t.TempDir()
	testtool.WriteSite(t, dir, map[string]string{
		"conclave.toml":          "title = \"Live\"\n",
		"content/briefings/a.md": "---\ntitle: A\ndate: 2026-01-01\n---\n\nBEFORE-EDIT.\n",
	})
	session := build.NewSession(build.Options{Source: dir, Preview: true})
	_, first, err := session.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve.Run(ctx, serve.Config{Root: dir, Watch: []string{"content"}, Listener: ln, Options: serve.ListenOptions("127.0.0.1"), First: first,
			Build: func(changed []string) (*output.Memory, []string, error) {
				_, files, err := session.Build(changed)
				if err != nil {
					return nil, []string{err.Error()}, err
				}
				return files, nil, nil
			}})
	}()
	defer func() {
		cancel()
		<-done
	}()
	b := browser(t)
	url := "http://" + ln.Addr().String() + "/briefings/a/"
	run(t, b, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`html[data-conclave-build="live"]`)))
	// A marker that only this load of the page holds: a reload drops it.
	run(t, b, chromedp.Evaluate[chromedp.Void](`window.conclaveMarker = 1`))

	page := filepath.Join(dir, "content/briefings/a.md")
	if err := os.WriteFile(page, []byte("---\ntitle: A\ndate: 2026-01-01\n---\n\nAFTER-EDIT.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, `document.body.innerText.includes("AFTER-EDIT") && window.conclaveMarker === undefined`)

	if err := os.WriteFile(page, []byte("---\ntitle: [broken\n---\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, b, chromedp.WaitVisible(chromedp.CSS("#conclave-build-error")))
	overlay := eval[string](t, b, `document.querySelector("#conclave-build-error").innerText`)
	if !strings.Contains(overlay, "content/briefings/a.md:") || !strings.Contains(overlay, "front matter") {
		t.Errorf("overlay: %q", overlay)
	}
	if !strings.Contains(mainText(b, t), "AFTER-EDIT") {
		t.Error("the last good page is gone under the overlay")
	}
	if err := os.WriteFile(page, []byte("---\ntitle: A\ndate: 2026-01-01\n---\n\nRECOVERED.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, `document.body.innerText.includes("RECOVERED") && !document.querySelector("#conclave-build-error")`)
}

// waitFor polls a JavaScript condition until it holds, for up to 10 s.
func waitFor(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("not within 10 s: %s", cond)
}
