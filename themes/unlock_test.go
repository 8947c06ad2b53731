package themes_test

// End-to-end tests of the default theme's unlock script in a real
// browser: Debian's Chromium, driven with chromedp, on sites built by
// conclave and served on 127.0.0.1.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/conclave-dev/conclave/internal/build"
	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/testtool"
)

var screenshots = flag.Bool("screenshots", false, "write screenshots of locked and unlocked pages to docs/")

// site is a built site served on loopback, with a record of every request
// the server saw.
type site struct {
	url string
	out string // the built site, which the server reads on every request
	ids map[string]*age.X25519Identity

	mu       sync.Mutex
	requests []string // "METHOD PATH?QUERY" + headers + body, one entry each
}

func (s *site) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// buildSite writes a site with the given recipients, groups and pages,
// builds it, and serves its output. Recipients get fresh X25519 keys.
func buildSite(t testing.TB, recipients []string, groups string, pages map[string]string) *site {
	t.Helper()
	return buildSiteEnv(t, recipients, groups, pages, nil)
}

// buildSiteEnv is buildSite with an environment for the build, which
// holds guests' passphrases; a page path starting "keys/" is a keys file.
func buildSiteEnv(t testing.TB, recipients []string, groups string, pages map[string]string, env map[string]string) *site {
	t.Helper()
	src := t.TempDir()
	files := map[string]string{
		"conclave.toml":    "title = \"Briefings\"\nbaseURL = \"https://briefings.example.org/\"\n",
		"keys/groups.toml": groups,
	}
	s := &site{ids: map[string]*age.X25519Identity{}}
	for _, r := range recipients {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		s.ids[r] = id
		files["keys/"+r+".pub"] = id.Recipient().String() + "\n"
	}
	for p, body := range pages {
		if strings.HasPrefix(p, "keys/") {
			files[p] = body
		} else {
			files["content/"+p] = body
		}
	}
	testtool.WriteSite(t, src, files)
	out := filepath.Join(t.TempDir(), "public")
	getenv := func(k string) string { return env[k] }
	if _, err := build.Run(build.Options{Source: src, Out: out, Getenv: getenv}); err != nil {
		t.Fatal(err)
	}
	files2 := http.FileServer(http.Dir(out))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var hdr strings.Builder
		for k, v := range r.Header {
			fmt.Fprintf(&hdr, "%s: %s\n", k, strings.Join(v, ", "))
		}
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI()+"\n"+hdr.String()+string(body))
		s.mu.Unlock()
		files2.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	s.out = out
	return s
}

// The site of most tests: alice and bob are the board; carol reads one
// passage of her own; dave is a recipient of another page only; the
// stranger is no recipient at all.
const (
	pageX = "---\ntitle: Embargoed advisory\ndate: 2026-11-01\ntlp: red\n---\n\nPUBLIC-INTRO.\n\n" +
		"::: restricted to=board tlp=amber\nBOARD-TEXT: the fix ships on 3 December.\n\n" +
		"::: restricted to=bob tlp=red\nBOB-ONLY detail.\n:::\n:::\n\n" +
		"::: restricted to=alice tlp=amber\nALICE-ONLY note.\n:::\n\n" +
		"::: restricted to=carol tlp=amber\nCAROL-ONLY note.\n:::\n\nPUBLIC-OUTRO.\n"
	pageY = "---\ntitle: Second page\ndate: 2026-11-02\n---\n\n::: restricted to=board tlp=amber\nBOARD-SECOND.\n:::\n\n" +
		"::: restricted to=dave tlp=amber\nDAVE-ONLY.\n:::\n"
	pageZ = "---\ntitle: Public page\ndate: 2026-11-03\n---\n\nNothing sealed here.\n"
)

func testSite(t testing.TB) *site {
	return buildSite(t, []string{"alice", "bob", "carol", "dave"}, "board = [\"alice\", \"bob\"]\n",
		map[string]string{"briefings/x.md": pageX, "briefings/y.md": pageY, "briefings/z.md": pageZ})
}

// browser starts a headless Chromium for the test, for at most 90 s.
func browser(t testing.TB) context.Context {
	t.Helper()
	return browserFor(t, 90*time.Second)
}

// browserFor starts a headless Chromium for the test, for at most d.
func browserFor(t testing.TB, d time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	exe := testtool.Require(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("enable-precise-memory-info", true), // performance.memory unrounded, for the benchmarks
		chromedp.WindowSize(1200, 1400),
	)
	opts = append(opts, extra...)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, d)
	t.Cleanup(cancel3)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

type step = chromedp.Action[chromedp.Void]

// run runs the steps in order and ends the test at the first error.
func run(t testing.TB, ctx context.Context, steps ...step) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// command makes a step of a DevTools protocol command.
func command[P, R any](cmd cdp.Command[P, R], params P) step {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cmd, params)
		return err
	})
}

// state is the unlock script's state, as it sets it on <html>.
func waitState(state string) step {
	return chromedp.WaitVisible(chromedp.CSS(`html[data-conclave="` + state + `"]`))
}

func identityText(id *age.X25519Identity) string {
	return "# created: 2026-11-01T00:00:00Z\n# public key: " + id.Recipient().String() + "\n" + id.String() + "\n"
}

// unlock pastes the identity text and clicks Unlock.
func unlock(text string) step {
	return chromedp.Steps(
		waitState("locked"),
		paste(text),
		chromedp.Click(chromedp.CSS("#conclave-unlock-button")),
	)
}

// paste puts text in the identity field, as pasting does.
func paste(text string) step {
	js, _ := json.Marshal(text)
	return chromedp.Evaluate[chromedp.Void](`(() => { const f = document.querySelector("#conclave-identity"); f.value = ` + string(js) + `; f.dispatchEvent(new Event("input", {bubbles: true})) })()`)
}

func click(sel string) step { return chromedp.Click(chromedp.CSS(sel)) }

func mainText(ctx context.Context, t testing.TB) string {
	t.Helper()
	return eval[string](t, ctx, `document.querySelector("main").innerText`)
}

func status(ctx context.Context, t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(eval[string](t, ctx, `document.querySelector("#conclave-status").textContent`))
}

func counts(ctx context.Context, t testing.TB) (opened, notForYou string) {
	t.Helper()
	return eval[string](t, ctx, `document.documentElement.dataset.conclaveOpened ?? ""`),
		eval[string](t, ctx, `document.documentElement.dataset.conclaveNotForYou ?? ""`)
}

func shot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	if !*screenshots {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 gives a PNG, below a JPEG
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "docs", name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUnlockMember(t *testing.T) {
	s := testSite(t)
	ctx := browser(t)
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), waitState("locked"))
	text := mainText(ctx, t)
	for _, secret := range []string{"BOARD-TEXT", "BOB-ONLY", "ALICE-ONLY", "CAROL-ONLY"} {
		if strings.Contains(text, secret) {
			t.Fatalf("%s shown before unlocking", secret)
		}
	}
	shot(t, ctx, "unlock-locked.png")

	run(t, ctx, unlock(identityText(s.ids["alice"])), waitState("unlocked"))
	text = mainText(ctx, t)
	for _, want := range []string{"PUBLIC-INTRO", "BOARD-TEXT: the fix ships on 3 December.", "ALICE-ONLY note.", "PUBLIC-OUTRO", "Restricted passage for board", "TLP:AMBER"} {
		if !strings.Contains(text, want) {
			t.Errorf("unlocked page lacks %q:\n%s", want, text)
		}
	}
	for _, hidden := range []string{"BOB-ONLY", "CAROL-ONLY"} {
		if strings.Contains(text, hidden) {
			t.Errorf("alice sees %s", hidden)
		}
	}
	if opened, nfy := counts(ctx, t); opened != "2" || nfy != "2" {
		t.Errorf("opened %s, not for you %s; want 2 and 2 (bob's nested passage and carol's)", opened, nfy)
	}
	if notForYou := eval[int](t, ctx, `document.querySelectorAll("section.sealed.not-for-you").length`); notForYou != 2 {
		t.Errorf("%d placeholders marked not-for-you, want 2", notForYou)
	}
	if st := status(ctx, t); st != "Unlocked 2 of 4 sealed passages, nested ones included. 2 are sealed for other audiences." {
		t.Errorf("status = %q", st)
	}
	shot(t, ctx, "unlock-unlocked.png")

	// bob reads the board's passage and his nested one, not alice's.
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), unlock(identityText(s.ids["bob"])), waitState("unlocked"))
	text = mainText(ctx, t)
	if !strings.Contains(text, "BOB-ONLY detail.") || !strings.Contains(text, "BOARD-TEXT") || strings.Contains(text, "ALICE-ONLY") {
		t.Errorf("bob's view:\n%s", text)
	}
}

func TestUnlockNotForYou(t *testing.T) {
	s := testSite(t)
	ctx := browser(t)
	// dave is a recipient of the site, but of nothing on this page.
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), unlock(identityText(s.ids["dave"])), waitState("unlocked"))
	if opened, nfy := counts(ctx, t); opened != "0" || nfy != "3" {
		t.Errorf("dave: opened %s, not for you %s; want 0 and 3", opened, nfy)
	}
	text := mainText(ctx, t)
	if !strings.Contains(text, "Not for you") || strings.Contains(text, "BOARD-TEXT") {
		t.Errorf("dave's view:\n%s", text)
	}
	// A stranger is no recipient of the site: one plain message.
	stranger, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), unlock(identityText(stranger)), waitState("error"))
	if st := status(ctx, t); !strings.Contains(st, "not a recipient of this site") {
		t.Errorf("stranger: status = %q", st)
	}
}

func TestUnlockRefusesMalformedKeys(t *testing.T) {
	s := testSite(t)
	ctx := browser(t)
	for _, tt := range []struct{ name, text, want string }{
		{"nothing", "", "Choose or paste your age identity first"},
		{"garbage", "hello world", "not an age identity"},
		{"bad checksum", "AGE-SECRET-" + "KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ", "not an age identity"},
		{"public key", s.ids["alice"].Recipient().String(), "public key"},
		{"ssh key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n", "SSH"},
	} {
		run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), unlock(tt.text), waitState("error"))
		if st := status(ctx, t); !strings.Contains(st, tt.want) {
			t.Errorf("%s: status = %q, want %q", tt.name, st, tt.want)
		}
		if strings.Contains(mainText(ctx, t), "BOARD-TEXT") {
			t.Errorf("%s: unlocked", tt.name)
		}
	}
}

// A reader may choose their identity file instead of pasting it; a file
// that holds no age identity is refused with the same messages.
func TestUnlockWithIdentityFile(t *testing.T) {
	s := testSite(t)
	ctx := browser(t)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "alice.txt"), filepath.Join(dir, "alice.pub")
	if err := os.WriteFile(good, []byte(identityText(s.ids["alice"])), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(s.ids["alice"].Recipient().String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	choose := func(file string) step {
		return chromedp.Steps(
			waitState("locked"),
			chromedp.SetUploadFiles(chromedp.CSS("#conclave-identity-file"), []string{file}),
			click("#conclave-unlock-button"),
		)
	}
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), choose(bad), waitState("error"))
	if st := status(ctx, t); !strings.Contains(st, "public key") {
		t.Errorf("a public key file: status = %q", st)
	}
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), choose(good), waitState("unlocked"))
	if text := mainText(ctx, t); !strings.Contains(text, "ALICE-ONLY note.") || strings.Contains(text, "CAROL-ONLY") {
		t.Errorf("unlocked with alice's file:\n%s", text)
	}
}

// TestRememberAndLock: "remember for this tab" keeps the page (and the
// site's other pages) unlocked across loads; Lock forgets it.
func TestRememberAndLock(t *testing.T) {
	s := testSite(t)
	ctx := browser(t)
	alice := identityText(s.ids["alice"])
	run(t, ctx,
		chromedp.Navigate(s.url+"/briefings/x/"),
		waitState("locked"),
		click("#conclave-remember"),
		unlock(alice),
		waitState("unlocked"),
		chromedp.Reload(),
		waitState("unlocked"))
	if !strings.Contains(mainText(ctx, t), "ALICE-ONLY") {
		t.Error("after reload with remember: not unlocked")
	}
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/y/"), waitState("unlocked"))
	if !strings.Contains(mainText(ctx, t), "BOARD-SECOND") {
		t.Error("another page of the site is not unlocked")
	}
	// What is remembered is never the identity itself.
	stored := eval[string](t, ctx, `JSON.stringify(Object.entries(sessionStorage)) + JSON.stringify(Object.entries(localStorage)) + document.cookie`)
	if strings.Contains(stored, s.ids["alice"].String()) || strings.Contains(strings.ToUpper(stored), strings.ToUpper(s.ids["alice"].String())) {
		t.Error("the identity itself is in web storage")
	}
	if !strings.Contains(stored, "conclave:keys:") {
		t.Errorf("nothing remembered: %s", stored)
	}

	run(t, ctx, click("#conclave-lock-button"), waitState("locked"))
	if text := mainText(ctx, t); strings.Contains(text, "BOARD-SECOND") {
		t.Error("Lock left the passage shown")
	}
	if sealed := eval[int](t, ctx, `document.querySelectorAll("section.sealed[data-packet]").length`); sealed != 2 {
		t.Errorf("after Lock, %d placeholders, want 2", sealed)
	}
	if stored := eval[string](t, ctx, `JSON.stringify(Object.entries(sessionStorage))`); stored != "[]" {
		t.Errorf("after Lock, sessionStorage = %s", stored)
	}
	run(t, ctx, chromedp.Reload(), waitState("locked"))
	if strings.Contains(mainText(ctx, t), "BOARD-SECOND") {
		t.Error("unlocked again after Lock and reload")
	}

	// Without "remember", nothing survives a reload.
	run(t, ctx, unlock(alice), waitState("unlocked"), chromedp.Reload(), waitState("locked"))
}

// TestIdentityNeverSent records every request the browser makes, at the
// server and in the browser itself, and checks none carries the identity
// and none leaves the site.
func TestIdentityNeverSent(t *testing.T) {
	s := testSite(t)
	ctx := browser(t)
	var mu sync.Mutex
	var seen []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			b, _ := json.Marshal(e.Request)
			mu.Lock()
			seen = append(seen, string(b))
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	alice := s.ids["alice"].String()
	run(t, ctx,
		command(network.Enable, network.EnableParams{}),
		chromedp.Navigate(s.url+"/briefings/x/"),
		waitState("locked"),
		click("#conclave-remember"),
		unlock(identityText(s.ids["alice"])),
		waitState("unlocked"),
		chromedp.Navigate(s.url+"/briefings/y/"),
		waitState("unlocked"),
		click("#conclave-lock-button"),
		waitState("locked"),
	)
	mu.Lock()
	browserSeen := append([]string(nil), seen...)
	mu.Unlock()
	if len(browserSeen) < 4 {
		t.Fatalf("only %d requests seen in the browser", len(browserSeen))
	}
	upper := strings.ToUpper(alice)
	for _, r := range append(browserSeen, s.log()...) {
		payload := upper[strings.LastIndexByte(upper, '1')+1:] // the key's bech32 data, without the prefix
		if strings.Contains(strings.ToUpper(r), upper) || strings.Contains(strings.ToUpper(r), payload) {
			t.Errorf("a request carries the identity:\n%s", r)
		}
	}
	for _, r := range browserSeen {
		var req network.Request
		json.Unmarshal([]byte(r), &req)
		if !strings.HasPrefix(req.URL, s.url+"/") {
			t.Errorf("a request leaves the site: %s %s", req.Method, req.URL)
		}
		if req.Method != "GET" || req.HasPostData {
			t.Errorf("a request that is not a plain GET: %s %s", req.Method, req.URL)
		}
	}
	for _, r := range s.log() {
		line := strings.SplitN(r, "\n", 2)[0]
		if strings.Contains(line, "?") {
			t.Errorf("a request with a query: %s", line)
		}
	}
}

// TestKeyboardAndPhone: the panel is usable with the keyboard alone, and
// fits a phone-sized screen.
func TestKeyboardAndPhone(t *testing.T) {
	s := testSite(t)
	ctx := browser(t)
	run(t, ctx,
		chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(s.url+"/briefings/x/"),
		waitState("locked"),
		chromedp.Focus(chromedp.CSS("#conclave-identity")),
		paste(identityText(s.ids["alice"])),
	)
	// Tab from the identity field to the Unlock button, then Enter.
	var active string
	for range 6 {
		run(t, ctx, chromedp.KeyEvent("\t"))
		if active = eval[string](t, ctx, `document.activeElement.id`); active == "conclave-unlock-button" {
			break
		}
	}
	if active != "conclave-unlock-button" {
		t.Fatalf("Tab never reached the Unlock button (last: %q)", active)
	}
	run(t, ctx, chromedp.KeyEvent("\r"), waitState("unlocked"))
	width, viewport := eval[int](t, ctx, `document.documentElement.scrollWidth`), eval[int](t, ctx, `window.innerWidth`)
	if width > viewport {
		t.Errorf("page is %d px wide on a %d px screen", width, viewport)
	}
	shot(t, ctx, "unlock-phone.png")
}

// TestWithoutJavaScript: a reader without JavaScript sees how to read.
func TestWithoutJavaScript(t *testing.T) {
	s := testSite(t)
	ctx := browser(t)
	run(t, ctx, command(emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}),
		chromedp.Navigate(s.url+"/briefings/x/"), chromedp.WaitVisible(chromedp.CSS("section.sealed")))
	text := mainText(ctx, t)
	for _, want := range []string{"conclave open", "age", "packets/keyrings/"} {
		if !strings.Contains(text, want) {
			t.Errorf("without JavaScript the page does not mention %q:\n%s", want, text)
		}
	}
}

// TestTamperedScriptIsRefused: Subresource Integrity stops a changed
// unlock script from running.
func TestTamperedScriptIsRefused(t *testing.T) {
	s := testSite(t)
	ctx := browser(t)
	page, err := http.Get(s.url + "/briefings/x/")
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(html), `integrity="sha384-`) || !strings.Contains(string(html), `script-src 'self'`) && !strings.Contains(string(html), `script-src &#39;self&#39;`) {
		t.Fatalf("page lacks SRI or CSP:\n%s", html)
	}
	// A server that changes one byte of the script.
	tampered := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(s.url + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if strings.HasSuffix(r.URL.Path, "/js/unlock.js") {
			body = append(body, []byte("\n//x")...)
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.Write(body)
	}))
	defer tampered.Close()
	run(t, ctx, chromedp.Navigate(tampered.URL+"/briefings/x/"), chromedp.WaitVisible(chromedp.CSS("section.sealed")),
		chromedp.Sleep(500*time.Millisecond))
	if state := eval[string](t, ctx, `document.documentElement.dataset.conclave || ""`); state != "" {
		t.Errorf("a tampered script ran (state %q)", state)
	}
	// The untampered site runs it.
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), waitState("locked"))
	// A page with nothing sealed loads no unlock script: only the search
	// script, with its own integrity.
	page, err = http.Get(s.url + "/briefings/z/")
	if err != nil {
		t.Fatal(err)
	}
	html, _ = io.ReadAll(page.Body)
	page.Body.Close()
	if strings.Contains(string(html), "unlock.js") || strings.Count(string(html), "<script") != 1 || !strings.Contains(string(html), `src="../../js/search.js" integrity="sha384-`) {
		t.Error("a public page loads the unlock script, or another script than search.js with its integrity")
	}
}

// TestUnlockGuestPassphrase: a guest without keys types the passphrase the
// site's authors gave them.
func TestUnlockGuestPassphrase(t *testing.T) {
	const pass = "correct horse battery staple"
	s := buildSiteEnv(t, []string{"alice"}, "board = [\"alice\", \"guest\"]\n", map[string]string{
		"keys/guest.pub": "passphrase env:GUEST_PASS\n",
		"briefings/x.md": pageGuest,
	}, map[string]string{"GUEST_PASS": pass})
	ctx := browser(t)
	setPass := func(p string) step {
		js, _ := json.Marshal(p)
		return chromedp.Evaluate[chromedp.Void](`document.querySelector("#conclave-passphrase").value = ` + string(js))
	}
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), waitState("locked"), chromedp.WaitVisible(chromedp.CSS("#conclave-passphrase")),
		setPass("wrong horse battery staple"), click("#conclave-unlock-button"), waitState("error"))
	if st := status(ctx, t); !strings.Contains(st, "passphrase") {
		t.Errorf("wrong passphrase: status = %q", st)
	}
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), waitState("locked"),
		setPass(pass), click("#conclave-unlock-button"), waitState("unlocked"))
	text := mainText(ctx, t)
	if !strings.Contains(text, "BOARD-FOR-GUEST") || strings.Contains(text, "ALICE-ALONE") {
		t.Errorf("guest's view:\n%s", text)
	}
}

const pageGuest = "---\ntitle: Guest page\ndate: 2026-11-04\ntlp: amber\n---\n\n" +
	"::: restricted to=board tlp=amber\nBOARD-FOR-GUEST.\n:::\n\n::: restricted to=alice tlp=amber\nALICE-ALONE.\n:::\n"

// TestUnlockPassphraseBounds: the passphrase is tried on at most
// format.MaxPassphraseKeyrings keyrings, and only on those of the work
// factor the build seals with: a hostile site cannot make a guest's
// browser run thousands of scrypts, or scrypts of 1 GiB. The keyrings are
// forged, as whoever can write to the site could.
func TestUnlockPassphraseBounds(t *testing.T) {
	const pass = "correct horse battery staple"
	s := buildSiteEnv(t, []string{"alice"}, "board = [\"alice\", \"guest\"]\n", map[string]string{
		"keys/guest.pub": "passphrase env:GUEST_PASS\n",
		"briefings/x.md": pageGuest,
	}, map[string]string{"GUEST_PASS": pass})
	orig := s.keyrings(t)
	guest := slices.IndexFunc(orig.Keyrings, func(k keyringEntry) bool { return k.Passphrase })
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(bytes.NewReader(orig.Keyrings[guest].Data), id)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	sealed := func(pass string, logN int, text string) keyringEntry {
		r, err := age.NewScryptRecipient(pass)
		if err != nil {
			t.Fatal(err)
		}
		r.SetWorkFactor(logN)
		data := encrypt(t, text, r)
		return keyringEntry{Name: digestName(data) + ".age", Passphrase: true, Data: data}
	}
	others := make([]keyringEntry, format.MaxPassphraseKeyrings)
	for i := range others {
		others[i] = sealed(fmt.Sprintf("another guest's passphrase %d", i), format.ScryptWorkFactor, string(plain))
	}
	// with returns the site's keyrings with the guest's replaced by ring,
	// after the given forged ones.
	with := func(forged []keyringEntry, ring keyringEntry) keyringIndex {
		idx := keyringIndex{Version: orig.Version}
		idx.Keyrings = append(idx.Keyrings, forged...)
		for i, k := range orig.Keyrings {
			if i == guest {
				k = ring
			}
			idx.Keyrings = append(idx.Keyrings, k)
		}
		return idx
	}
	setPass := func(p string) step {
		js, _ := json.Marshal(p)
		return chromedp.Evaluate[chromedp.Void](`document.querySelector("#conclave-passphrase").value = ` + string(js))
	}
	ctx := browser(t)
	for _, tt := range []struct {
		name   string
		idx    keyringIndex
		opened bool
	}{
		{"one less than the bound before it", with(others[1:], orig.Keyrings[guest]), true},
		{"the bound before it", with(others, orig.Keyrings[guest]), false},
		{"work factor 17", with(nil, sealed(pass, format.ScryptWorkFactor+1, string(plain))), false},
	} {
		s.setKeyrings(t, tt.idx)
		want := "error"
		if tt.opened {
			want = "unlocked"
		}
		run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), waitState("locked"), chromedp.WaitVisible(chromedp.CSS("#conclave-passphrase")),
			setPass(pass), click("#conclave-unlock-button"), waitState(want))
		if text := mainText(ctx, t); strings.Contains(text, "BOARD-FOR-GUEST") != tt.opened {
			t.Errorf("%s: passage shown: %v, want %v", tt.name, !tt.opened, tt.opened)
		}
		run(t, ctx, chromedp.Evaluate[chromedp.Void](`localStorage.clear(); sessionStorage.clear()`))
	}
}
