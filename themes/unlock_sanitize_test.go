package themes_test

// Tests of what the unlock script does with hostile packets and keyrings
// (DESIGN §5): each packet's bytes are checked against the digest in its
// name before it is decrypted, a packet that was altered, swapped or does
// not decrypt shows as tampered, and a passage's HTML is sanitized before
// it is put in the page. The site's own files are changed on disk after the
// build, as whoever can write to the web server could.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/chromedp/chromedp"
)

// keyringIndex is packets/keyrings.json.
type keyringIndex struct {
	Version  int            `json:"version"`
	Keyrings []keyringEntry `json:"keyrings"`
}

type keyringEntry struct {
	Name       string `json:"name"`
	Passphrase bool   `json:"passphrase"`
	Data       []byte `json:"data"`
}

func (s *site) readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.out, filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s *site) writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.out, filepath.FromSlash(path)), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rename makes a page name another packet wherever it names old.
func (s *site) rename(t testing.TB, page, old, new string) {
	t.Helper()
	b := s.readFile(t, page)
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not name %s", page, old)
	}
	s.writeFile(t, page, bytes.ReplaceAll(b, []byte(old), []byte(new)))
}

func (s *site) keyrings(t testing.TB) keyringIndex {
	t.Helper()
	var idx keyringIndex
	if err := json.Unmarshal(s.readFile(t, "packets/keyrings.json"), &idx); err != nil {
		t.Fatal(err)
	}
	return idx
}

func (s *site) setKeyrings(t testing.TB, idx keyringIndex) {
	t.Helper()
	b, err := json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	s.writeFile(t, "packets/keyrings.json", append(b, '\n'))
}

// keyring returns the index of the reader's keyring in packets/keyrings.json
// and its plaintext.
func (s *site) keyring(t testing.TB, reader string) (int, string) {
	t.Helper()
	for i, k := range s.keyrings(t).Keyrings {
		r, err := age.Decrypt(bytes.NewReader(k.Data), s.ids[reader])
		if err != nil {
			continue
		}
		text, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return i, string(text)
	}
	t.Fatalf("no keyring opens with %s's identity", reader)
	return 0, ""
}

// audienceKeys returns the audience identities in the reader's keyring.
func (s *site) audienceKeys(t testing.TB, reader string) []age.Identity {
	t.Helper()
	_, text := s.keyring(t, reader)
	ids, err := age.ParseIdentities(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// packets decrypts every packet of the site that ids open: packet path →
// plaintext, and the identity that opened it.
//
// Sealed search indexes are left out: they are no passages.
func (s *site) packets(t testing.TB, ids []age.Identity) (map[string]string, map[string]age.Identity) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.out, "packets", "*.age"))
	if err != nil {
		t.Fatal(err)
	}
	plain, by := map[string]string{}, map[string]age.Identity{}
	for _, f := range files {
		ct, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			r, err := age.Decrypt(bytes.NewReader(ct), id)
			if err != nil {
				continue
			}
			text, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.HasPrefix(text, []byte(`{"version":`)) {
				break // a sealed search index, no passage
			}
			path := "packets/" + filepath.Base(f)
			plain[path], by[path] = string(text), id
			break
		}
	}
	return plain, by
}

// packetWith returns the path of the packet whose plaintext holds text.
func packetWith(t testing.TB, plain map[string]string, text string) string {
	t.Helper()
	for p, s := range plain {
		if strings.Contains(s, text) {
			return p
		}
	}
	t.Fatalf("no packet holds %q", text)
	return ""
}

func recipientOf(t testing.TB, id age.Identity) age.Recipient {
	t.Helper()
	switch id := id.(type) {
	case *age.X25519Identity:
		return id.Recipient()
	case *age.HybridIdentity:
		return id.Recipient()
	}
	t.Fatalf("audience identity of type %T", id)
	return nil
}

func encrypt(t testing.TB, plaintext string, r age.Recipient) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := age.Encrypt(&b, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, plaintext); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// digestName names a file as the build does: 128 bits of its SHA-256.
func digestName(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// hostile is a forged passage: everything a passage must not bring into
// the page, around text that may show.
const hostile = `<h2 id="timeline" onclick="window.conclavePwned='heading'">Timeline</h2>
<p id="forged">FORGED-VISIBLE <a href="https://example.org/ok" title="ok">ok link</a> <a href="#timeline">anchor</a></p>
<meta http-equiv="refresh" content="0;url=/x">
<script>window.conclavePwned = "script"; document.title = "PWNED";</script>
<img src="x" alt="broken" onerror="window.conclavePwned='onerror'">
<a href="javascript:window.conclavePwned='href'" id="jslink">JS-LINK</a>
<a href="  JaVa&#x09;ScRiPt:window.conclavePwned='href2'">JS-LINK-2</a>
<a href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">DATA-LINK</a>
<a href="vbscript:msgbox(1)">VB-LINK</a>
<img src="data:image/svg+xml,&lt;svg/&gt;" alt="svg data">
<form action="/steal" method="post"><input type="text" name="location" value="v"><button formaction="/steal">Send</button></form>
<iframe src="/" srcdoc="&lt;script&gt;parent.conclavePwned='iframe'&lt;/script&gt;"></iframe>
<style>main { display: none }</style>
<base href="https://evil.example/">
<link rel="stylesheet" href="/evil.css">
<object data="/evil.bin"></object><embed src="/evil.bin">
<svg><script>window.conclavePwned = "svg"</script><a href="javascript:1"><text>SVG-TEXT</text></a></svg>
<math><mtext><img src="x" onerror="window.conclavePwned='math'"></mtext></math>
<div style="color: red" onmouseover="window.conclavePwned='hover'" class="x">STYLED-DIV</div>
<img name="getElementById" src="x" alt="clobber"><form name="cookie"></form>
<h3 id="conclave-status">not the status</h3>
<input type="text" value="typed">
<section class="sealed" data-packet="javascript:alert(1)" onclick="x" data-foo="bar">BAD-PLACEHOLDER</section>
<noscript><p title="</noscript><img src=x onerror=alert(1)>"></p></noscript>
<template><script>window.conclavePwned = "template"</script></template>
`

// TestUnlockSanitizesForgedPacket: a packet forged by someone who holds the
// audience key and can write to the site, named by its own digest, is
// shown without any of what a passage must not bring: the page does not
// navigate, no script runs, no element the renderer never writes remains.
func TestUnlockSanitizesForgedPacket(t *testing.T) {
	s := testSite(t)
	plain, by := s.packets(t, s.audienceKeys(t, "alice"))
	target := packetWith(t, plain, "ALICE-ONLY")
	forged := encrypt(t, hostile, recipientOf(t, by[target]))
	name := "packets/" + digestName(forged) + ".age"
	s.writeFile(t, name, forged)
	s.rename(t, "briefings/x/index.html", target, name)

	ctx := browser(t)
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), waitState("locked"),
		chromedp.Evaluate[chromedp.Void](`window.conclaveMarker = 1`))
	before := eval[string](t, ctx, `JSON.stringify([location.href, document.title, document.baseURI])`)
	run(t, ctx, unlock(identityText(s.ids["alice"])), waitState("unlocked"), chromedp.Sleep(1500*time.Millisecond))

	if marker := eval[int](t, ctx, `window.conclaveMarker ?? 0`); marker != 1 {
		t.Fatal("the page navigated away")
	}
	if after := eval[string](t, ctx, `JSON.stringify([location.href, document.title, document.baseURI])`); after != before {
		t.Errorf("location, title or base URI changed: %s, was %s", after, before)
	}
	if pwned := eval[string](t, ctx, `String(window.conclavePwned ?? "")`); pwned != "" {
		t.Errorf("forged script ran: %s", pwned)
	}
	text := mainText(ctx, t)
	for _, want := range []string{"FORGED-VISIBLE", "BOARD-TEXT", "JS-LINK", "STYLED-DIV", "BAD-PLACEHOLDER"} {
		if !strings.Contains(text, want) {
			t.Errorf("unlocked page lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "ALICE-ONLY") {
		t.Error("the packet the page named before shows")
	}
	if opened, _ := counts(ctx, t); opened != "2" {
		t.Errorf("opened %s passages, want 2", opened)
	}
	// In the page's main part, outside the unlock panel (a form of its own).
	count := func(sel string) int {
		return eval[int](t, ctx, `[...document.querySelector("main").querySelectorAll(`+jsString(sel)+`)].filter((e) => !e.closest("#conclave-unlock")).length`)
	}
	for sel, what := range map[string]string{
		"script, meta, style, base, link, form, iframe, object, embed, svg, math, noscript, template, button, textarea": "an element the renderer never writes",
		"[style]":                                "a style attribute",
		"[name]":                                 "a name attribute",
		"[data-foo], [srcdoc]":                   "an attribute the renderer never writes",
		`[href*="script:" i]`:                    "a script URL",
		`a[href^="data:"]`:                       "a data: link",
		`img[src^="data:image/svg"]`:             "an SVG data: image",
		`input:not([type="checkbox"][disabled])`: "an input other than a disabled checkbox",
		`section[data-packet^="javascript"]`:     "a placeholder naming no packet",
	} {
		if n := count(sel); n > 0 {
			t.Errorf("%d × %s (%s) in the page", n, what, sel)
		}
	}
	if on := eval[[]string](t, ctx, `[...document.querySelectorAll("*")].flatMap((e) => [...e.attributes].map((a) => a.name)).filter((n) => n.startsWith("on"))`); len(on) > 0 {
		t.Errorf("event handler attributes in the page: %q", on)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("[id='conclave-status']").length`); n != 1 {
		t.Errorf("%d elements with the status's ID, want 1", n)
	}
	// What the renderer writes stays: a heading's ID, even one that is
	// also a property of document, and ordinary links.
	if n := count(`h2#timeline, a[href="https://example.org/ok"][title="ok"], a[href="#timeline"]`); n != 3 {
		t.Errorf("%d of the heading ID and the two links kept, want 3", n)
	}
	for _, r := range s.log() {
		line := strings.SplitN(r, "\n", 2)[0]
		if strings.HasPrefix(line, "GET /x ") || strings.Contains(line, "/steal") || strings.Contains(line, "evil") {
			t.Errorf("the forged passage made the browser request %s", line)
		}
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

const pageTamper = "---\ntitle: Tampered page\ndate: 2026-11-05\n---\n\nPUBLIC-TEXT.\n\n" +
	"::: restricted to=alice tlp=amber\nFIRST-PASSAGE.\n:::\n\n" +
	"::: restricted to=alice tlp=amber\nSECOND-PASSAGE.\n:::\n\n" +
	"::: restricted to=alice tlp=amber\nTHIRD-PASSAGE.\n:::\n\n" +
	"::: restricted to=alice tlp=amber\nFOURTH-PASSAGE.\n:::\n"

// TestUnlockShowsTamperedPackets: a packet swapped for another of the
// site (one the reader could open), a packet with one byte changed, and a
// damaged packet renamed by its new digest each show as tampered, and
// nothing of them is put in the page.
func TestUnlockShowsTamperedPackets(t *testing.T) {
	s := buildSite(t, []string{"alice"}, "", map[string]string{"briefings/t.md": pageTamper})
	plain, _ := s.packets(t, s.audienceKeys(t, "alice"))
	first, second := packetWith(t, plain, "FIRST-PASSAGE"), packetWith(t, plain, "SECOND-PASSAGE")
	third, fourth := packetWith(t, plain, "THIRD-PASSAGE"), packetWith(t, plain, "FOURTH-PASSAGE")

	// Swapped: the second passage's name, the first one's bytes.
	s.writeFile(t, second, s.readFile(t, first))
	// One byte changed, in the payload; the name kept.
	b := s.readFile(t, third)
	b[len(b)-20] ^= 0x01
	s.writeFile(t, third, b)
	// Damaged, and named by the digest of its new bytes: it no longer
	// decrypts.
	b = s.readFile(t, fourth)
	b[len(b)-20] ^= 0x01
	renamed := "packets/" + digestName(b) + ".age"
	s.writeFile(t, renamed, b)
	s.rename(t, "briefings/t/index.html", fourth, renamed)

	ctx := browser(t)
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/t/"), unlock(identityText(s.ids["alice"])), waitState("unlocked"))
	text := mainText(ctx, t)
	if strings.Count(text, "FIRST-PASSAGE") != 1 {
		t.Errorf("FIRST-PASSAGE shows %d times, want once:\n%s", strings.Count(text, "FIRST-PASSAGE"), text)
	}
	for _, hidden := range []string{"SECOND-PASSAGE", "THIRD-PASSAGE", "FOURTH-PASSAGE"} {
		if strings.Contains(text, hidden) {
			t.Errorf("%s shows", hidden)
		}
	}
	opened, nfy := counts(ctx, t)
	if bad := eval[string](t, ctx, `document.documentElement.dataset.conclaveTampered ?? ""`); opened != "1" || nfy != "0" || bad != "3" {
		t.Errorf("opened %s, not for you %s, tampered %s; want 1, 0, 3", opened, nfy, bad)
	}
	notes := eval[[]string](t, ctx, `[...document.querySelectorAll("section.sealed.tampered")].map((s) => s.querySelector(".sealed-help").textContent)`)
	if len(notes) != 3 {
		t.Fatalf("%d placeholders marked tampered, want 3", len(notes))
	}
	for _, n := range notes {
		if !strings.Contains(n, "Altered") || !strings.Contains(n, "not opened") {
			t.Errorf("a tampered placeholder says %q", n)
		}
	}
	if st := status(ctx, t); !strings.Contains(st, "Unlocked 1 of 4") || !strings.Contains(st, "3 were altered") {
		t.Errorf("status = %q", st)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("section.sealed.tampered p:not(.sealed-label):not(.sealed-help), section.sealed.tampered .unsealed").length`); n != 0 {
		t.Errorf("a tampered placeholder holds %d elements of content", n)
	}

	run(t, ctx, click("#conclave-lock-button"), waitState("locked"))
	if n := eval[int](t, ctx, `document.querySelectorAll("section.tampered").length + (document.documentElement.hasAttribute("data-conclave-tampered") ? 1 : 0)`); n != 0 {
		t.Error("Lock left the tampered marks")
	}
}

// TestUnlockSkipsTamperedKeyring: a keyring whose bytes do not match its
// name is not tried, and the reader whose keyring it was is told.
func TestUnlockSkipsTamperedKeyring(t *testing.T) {
	s := testSite(t)
	i, _ := s.keyring(t, "bob")
	idx := s.keyrings(t)
	idx.Keyrings[i].Data[len(idx.Keyrings[i].Data)-5] ^= 0x01
	s.setKeyrings(t, idx)

	ctx := browser(t)
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), unlock(identityText(s.ids["bob"])), waitState("error"))
	if st := status(ctx, t); !strings.Contains(st, "not a recipient") || !strings.Contains(st, "1 keyring was altered") {
		t.Errorf("bob: status = %q", st)
	}
	if strings.Contains(mainText(ctx, t), "BOARD-TEXT") {
		t.Error("bob unlocked with an altered keyring")
	}
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), unlock(identityText(s.ids["alice"])), waitState("unlocked"))
	if !strings.Contains(mainText(ctx, t), "ALICE-ONLY") {
		t.Error("alice's keyring no longer opens")
	}
}

// TestUnlockKeyringComments: a keyring's plaintext is an age identity file
// that may hold comment lines (the build pads keyrings to one size with
// them), blank lines, spaces and \r\n line ends; a key in a comment is not
// used.
func TestUnlockKeyringComments(t *testing.T) {
	s := testSite(t)
	i, text := s.keyring(t, "alice")
	_, bobs := s.keyring(t, "bob")
	var keys, commented []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "AGE-") {
			keys = append(keys, l)
		}
	}
	for _, l := range strings.Split(bobs, "\n") {
		if strings.HasPrefix(l, "AGE-") && !strings.Contains(text, l) {
			commented = append(commented, l) // bob's own audience: BOB-ONLY
		}
	}
	if len(keys) == 0 || len(commented) == 0 {
		t.Fatalf("keyrings: alice %q, bob %q", text, bobs)
	}
	var b strings.Builder
	b.WriteString("\r\n# conclave keyring\r\n\r\n")
	for _, k := range commented {
		b.WriteString("# " + k + "\r\n#" + k + "\r\n")
	}
	for _, k := range keys {
		b.WriteString("  " + k + " \t\r\n\r\n")
	}
	b.WriteString(strings.Repeat("#"+strings.Repeat("#", 70)+"\n", 20) + "\n\n\n")
	ring := encrypt(t, b.String(), s.ids["alice"].Recipient())
	idx := s.keyrings(t)
	idx.Keyrings[i] = keyringEntry{Name: digestName(ring) + ".age", Data: ring}
	s.setKeyrings(t, idx)

	ctx := browser(t)
	run(t, ctx, chromedp.Navigate(s.url+"/briefings/x/"), unlock(identityText(s.ids["alice"])), waitState("unlocked"))
	text = mainText(ctx, t)
	if !strings.Contains(text, "ALICE-ONLY") || !strings.Contains(text, "BOARD-TEXT") {
		t.Errorf("alice's view with a commented, padded keyring:\n%s", text)
	}
	if strings.Contains(text, "BOB-ONLY") {
		t.Error("a key in a comment line was used")
	}
	if opened, nfy := counts(ctx, t); opened != "2" || nfy != "2" {
		t.Errorf("opened %s, not for you %s; want 2 and 2", opened, nfy)
	}
}

// The kitchen sink: every construct conclave's renderer writes in a
// passage, a nested placeholder, and a page restricted as a whole with its
// header and footnotes.
const (
	pageSink = "---\ntitle: Kitchen sink\ndate: 2026-11-06\ntlp: red\n---\n\nPublic intro.\n\n" +
		"::: restricted to=alice tlp=amber\n" +
		"# A heading {#custom-id .custom-class}\n\n## Timeline\n\n## Title\n\n### With *em* and `code`\n\n" +
		"Text with **strong**, *em*, ~~del~~, `code`, [a link](https://example.org \"Its title\"), [another page](other.md), " +
		"[a fragment](#timeline), <span>raw html</span>, www.example.com, me@example.org, https://example.net/x, " +
		"[a script](javascript:alert(1)), [a phone](tel:+123), [ftp](ftp://example.org/f), ![an image](https://example.org/a.png \"Image title\"), " +
		"![inline](data:image/png;base64,iVBORw0KGgo=), ![local](other.md).\nA hard break  \nand another\\\nend.\n\n" +
		"> A quote\n> - with a list\n\n1. one\n2. two\n\n3) three\n4) four\n\n- [ ] to do\n- [x] done\n- plain\n  - nested\n\n" +
		"| left | center | right | none |\n|:--|:-:|--:|---|\n| 1 | 2 | 3 | 4 |\n\n" +
		"```go\nfunc main() { fmt.Println(\"hi\") }\n```\n\n```\nplain fence <b>\n```\n\n```nosuchlanguage\nx < y\n```\n\n    indented code\n\n" +
		"---\n\n<div onclick=\"x\">raw block</div>\n\n" +
		"::: restricted to=alice tlp=red\nNESTED-PASSAGE.\n:::\n:::\n\nPublic outro.\n"
	pageSinkWhole = "---\ntitle: Whole sink\ndate: 2026-11-06\nsummary: A summary with <b>markup</b>\ntags: [one, two]\n" +
		"audience: alice\nslug: r-sink\ntlp: amber\n---\n\nText with a note.[^1] And another.[^n]\n\n[^1]: The note.\n[^n]: A *second* note.\n"
	pageOther = "---\ntitle: Other\ndate: 2026-11-06\n---\n\nOther page.\n"
)

// normalize is JavaScript that serializes a node's children with their
// attributes sorted, comments left out, and a nested passage (sealed or
// open) as the name of its packet: the same for a passage's HTML and the
// passage the unlock script put in the page if the sanitizer removed
// nothing.
const normalize = `function norm(node) {
	let out = "";
	for (const n of node.childNodes) {
		if (n.nodeType === Node.TEXT_NODE) out += n.data;
		if (n.nodeType !== Node.ELEMENT_NODE) continue;
		if (n.localName === "section" && n.hasAttribute("data-packet")) {
			out += "[[" + n.getAttribute("data-packet") + "]]";
			continue;
		}
		const attrs = [...n.attributes].map((a) => a.name + "=" + JSON.stringify(a.value)).sort();
		out += "<" + [n.localName, ...attrs].join(" ") + ">" + norm(n) + "</" + n.localName + ">";
	}
	return out;
}`

// TestUnlockKeepsRendererMarkup: the sanitizer's allowlist holds all that
// conclave's renderer writes. Each passage in the page after unlocking is
// its packet's HTML, parsed by the browser, with nothing removed. When
// this fails after a change to the renderer, add what it now writes to
// ALLOWED in themes/unlock/src/sanitize.js.
func TestUnlockKeepsRendererMarkup(t *testing.T) {
	s := buildSite(t, []string{"alice"}, "", map[string]string{
		"briefings/sink.md":  pageSink,
		"briefings/whole.md": pageSinkWhole,
		"briefings/other.md": pageOther,
	})
	plain, _ := s.packets(t, s.audienceKeys(t, "alice"))
	if len(plain) != 3 {
		t.Fatalf("%d packets, want 3", len(plain))
	}
	raw, err := json.Marshal(plain)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	for page, want := range map[string]int{"/briefings/sink/": 2, "/briefings/r-sink/": 1} {
		run(t, ctx, chromedp.Navigate(s.url+page), unlock(identityText(s.ids["alice"])), waitState("unlocked"))
		if opened, _ := counts(ctx, t); opened != strconv.Itoa(want) {
			t.Fatalf("%s: opened %s passages, want %d", page, opened, want)
		}
		diffs := eval[[]string](t, ctx, `(() => {
			`+normalize+`
			const raw = `+string(raw)+`;
			const diffs = [];
			for (const sec of document.querySelectorAll("section.unsealed[data-packet]")) {
				const path = sec.getAttribute("data-packet");
				const t = document.createElement("template");
				t.innerHTML = raw[path];
				const shown = sec.cloneNode(true);
				shown.querySelector(":scope > .unsealed-label").remove();
				const want = norm(t.content).trimEnd(), got = norm(shown).trimEnd();
				if (want !== got) diffs.push(path + "\nwant: " + want + "\ngot:  " + got);
			}
			return diffs;
		})()`)
		for _, d := range diffs {
			t.Errorf("%s: the sanitizer changed a passage the renderer wrote:\n%s", page, d)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll("section.unsealed[data-packet]").length`); n != want {
			t.Errorf("%s: %d passages compared, want %d", page, n, want)
		}
	}
	// The kitchen sink does hold the constructs it is for.
	all := strings.Join(mapValues(plain), "")
	for _, want := range []string{`<input checked="" disabled="" type="checkbox"`, `<th align="center">`, `class="chroma"`, `<ol start="3">`,
		`<sup id="fnref:1">`, `role="doc-endnotes"`, `<header class="sealed-header">`, `data-packet="packets/`, `<h2 id="timeline">`,
		`src="data:image/png;base64,`, `<code class="language-nosuchlanguage">`, `<del>`, `<br`} {
		if !strings.Contains(all, want) {
			t.Errorf("no passage holds %s: the kitchen sink misses a construct", want)
		}
	}
	if m := regexp.MustCompile(`<(\w+)[^>]* style=`).FindString(all); m != "" {
		t.Errorf("the renderer writes a style attribute: %s", m)
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
