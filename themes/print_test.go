package themes_test

// Printing with the default theme: Chromium prints pages of the sample
// site to PDF, and the test reads the text back, page by page.

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestPrint prints a locked briefing (sealed passages, the unlock panel)
// and a public one to PDF, A4, backgrounds off as in a print dialog's
// defaults, and checks each printed sheet carries the page's TLP label in
// its top and bottom margins; that a sealed passage prints as its label
// and audience, without the help for reading it; that external links
// print their address; and that the site's header links, search form,
// footer links and unlock panel do not print. With -screenshots, it writes
// the pages as print shows them to docs/print-locked.png and
// docs/print-public.png.
func TestPrint(t *testing.T) {
	s := sampleSite(t)
	ctx := browser(t)
	for _, tt := range []struct {
		name, path, label string
		ready             step
		want, never       []string
		shot              string
	}{
		{
			name: "locked briefing", path: "/briefings/security-cooperation-program/", label: "TLP:AMBER+STRICT", ready: waitState("locked"),
			want:  []string{"The Security Cooperation Program", "TLP:AMBER Sealed passage for members"},
			never: []string{"Only its recipients can read", "packets/keyrings/", "Sealed passages on this page", "Identity file", "Remember for this tab"},
			shot:  "print-locked.png",
		},
		{
			name: "public briefing", path: "/briefings/trusted-circles-timeline/", label: "TLP:CLEAR", ready: chromedp.WaitReady(chromedp.CSS("main")),
			want: []string{"Trusted circles", "(https://www.first.org/tlp/)"},
			shot: "print-public.png",
		},
	} {
		run(t, ctx, chromedp.Navigate(s.url+tt.path), tt.ready)
		pages := printPDF(t, ctx)
		if len(pages) < 2 {
			t.Errorf("%s: printed on %d sheet, want a briefing long enough for several", tt.name, len(pages))
		}
		var all strings.Builder
		for i, p := range pages {
			var top, bottom bool
			for _, r := range p.runs {
				all.WriteString(r.text + "\n")
				if strings.TrimSpace(r.text) == tt.label {
					top = top || r.y > p.height-pdfTopMargin
					bottom = bottom || r.y < pdfBottomMargin
				}
			}
			if !top || !bottom {
				t.Errorf("%s: sheet %d of %d: label %s in the top margin %v, in the bottom margin %v; want both:\n%s", tt.name, i+1, len(pages), tt.label, top, bottom, p)
			}
		}
		text := all.String()
		for _, never := range append(tt.never, "Skip to content", "Atom feed", "SHA256SUMS") {
			if strings.Contains(text, never) {
				t.Errorf("%s: %q is printed", tt.name, never)
			}
		}
		for _, want := range tt.want {
			if !strings.Contains(strings.Join(strings.Fields(text), " "), want) {
				t.Errorf("%s: %q is not printed:\n%s", tt.name, want, text)
			}
		}
		// What print styles show and hide, as the browser computes them,
		// printed from a light screen and from a dark one.
		for _, scheme := range []string{"light", "dark"} {
			run(t, ctx, command(emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print",
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}))
			for _, c := range eval[[]string](t, ctx, printChecks) {
				t.Errorf("%s, print styles (%s screen): %s", tt.name, scheme, c)
			}
		}
		run(t, ctx, command(emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}))
		printShot(t, ctx, tt.shot)
	}
}

// printChecks is JavaScript that lists what print styles get wrong on
// the page: site chrome shown, a sealed passage's help shown or its
// label hidden, an external link without its address after it, a body
// without the named page of its label, text (code included) that is not
// dark on a light background.
const printChecks = `(() => {
	const bad = [];
	const lum = (c) => { const m = c.match(/[\d.]+/g).map(Number).slice(0, 3).map((v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]; };
	if (lum(getComputedStyle(document.body).backgroundColor) < 0.9) bad.push("the page's background is " + getComputedStyle(document.body).backgroundColor);
	for (const sel of ["body", ".content p", ".content pre", ".chroma span", ".chroma .nt"]) {
		const e = document.querySelector(sel);
		if (e && lum(getComputedStyle(e).color) > 0.2) bad.push(sel + " prints in " + getComputedStyle(e).color);
	}
	const shown = (e) => getComputedStyle(e).display !== "none" && [...ancestors(e)].every((a) => getComputedStyle(a).display !== "none");
	function* ancestors(e) { for (let a = e.parentElement; a; a = a.parentElement) yield a; }
	for (const sel of [".site-header nav", ".site-search", ".site-footer-links", ".skip", "#conclave-unlock", ".sealed:not(.not-for-you):not(.tampered) .sealed-help", ".toc"]) {
		for (const e of document.querySelectorAll(sel)) if (shown(e)) bad.push(sel + " is printed");
	}
	for (const sel of [".sealed-label", ".tlp", "h1", ".content"]) {
		for (const e of document.querySelectorAll(sel)) if (!shown(e)) bad.push(sel + " is not printed");
	}
	for (const a of document.querySelectorAll("main a[href^='http']")) {
		const after = getComputedStyle(a, "::after").content;
		if (!after.includes(a.getAttribute("href"))) bad.push("link to " + a.href + " prints " + after + " after it");
	}
	const tlp = document.querySelector(".briefing > .tlp");
	const want = tlp ? [...tlp.classList].find((c) => c.startsWith("tlp-") && c !== "tlp") : "";
	if (want && getComputedStyle(document.body).page !== want) bad.push("body's page is " + getComputedStyle(document.body).page + ", want " + want);
	return bad;
})()`

// The page margins of the theme's @page rule, in points (18 and 20 mm).
const pdfTopMargin, pdfBottomMargin = 18 / 25.4 * 72, 20 / 25.4 * 72

// printShot writes, with -screenshots, a screenshot of the page with print
// styles, as wide as an A4 sheet (794 px), the sheet's margins added as
// padding: the margin boxes with the label are only on paper.
func printShot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	if !*screenshots {
		return
	}
	run(t, ctx,
		command(emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}),
		chromedp.EmulateViewport(794, 1123),
		chromedp.Evaluate[chromedp.Void](`document.documentElement.style.setProperty("padding", "18mm 15mm 20mm")`),
	)
	shot(t, ctx, name)
	run(t, ctx, command(emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}))
}

// printPDF prints the page to PDF on A4, backgrounds off, and returns its
// sheets.
func printPDF(t testing.TB, ctx context.Context) []pdfPage {
	t.Helper()
	var pdf []byte
	run(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		r, err := cdp.Call(ctx, tg, page.PrintToPDF, page.PrintToPDFParams{PaperWidth: 210 / 25.4, PaperHeight: 297 / 25.4, PreferCSSPageSize: new(true)})
		pdf = r.Data
		return err
	}))
	pages, err := readPDF(pdf)
	if err != nil {
		t.Fatalf("reading the printed PDF: %v", err)
	}
	return pages
}

// A pdfPage is one sheet of a PDF: its height and its runs of text, each
// where it starts, in points from the sheet's bottom left corner.
type pdfPage struct {
	height float64
	runs   []pdfRun
}

type pdfRun struct {
	x, y float64
	text string
}

func (p pdfPage) String() string {
	var b strings.Builder
	for _, r := range p.runs {
		fmt.Fprintf(&b, "  (%3.0f, %3.0f) %s\n", r.x, r.y, r.text)
	}
	return b.String()
}

// readPDF reads the text of each page of a PDF as Chromium (Skia) writes
// one: a cross-reference table, no object streams, Type0 fonts with a
// ToUnicode map, text shown with hex strings, each BT..ET block one run.
// It reads what this test needs, not PDF in general.
func readPDF(pdf []byte) ([]pdfPage, error) {
	r := &pdfReader{data: pdf, offsets: map[int]int{}, cmaps: map[int]map[string]string{}}
	if err := r.xref(); err != nil {
		return nil, err
	}
	trailer := pdf[bytes.LastIndex(pdf, []byte("trailer")):]
	root, ok := pdfRef(string(trailer), "Root")
	if !ok {
		return nil, fmt.Errorf("no /Root in the trailer")
	}
	catalog, _, err := r.object(root)
	if err != nil {
		return nil, err
	}
	pagesRef, ok := pdfRef(catalog, "Pages")
	if !ok {
		return nil, fmt.Errorf("no /Pages in the catalog")
	}
	var pages []pdfPage
	var walk func(n, depth int) error
	walk = func(n, depth int) error {
		if depth > 32 {
			return fmt.Errorf("page tree too deep")
		}
		dict, _, err := r.object(n)
		if err != nil {
			return err
		}
		if regexp.MustCompile(`/Type\s*/Pages\b`).MatchString(dict) {
			kids := regexp.MustCompile(`/Kids\s*\[([^\]]*)\]`).FindStringSubmatch(dict)
			if kids == nil {
				return fmt.Errorf("object %d: pages without /Kids", n)
			}
			for _, k := range regexp.MustCompile(`(\d+)\s+0\s+R`).FindAllStringSubmatch(kids[1], -1) {
				id, _ := strconv.Atoi(k[1])
				if err := walk(id, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		p, err := r.page(dict)
		if err != nil {
			return fmt.Errorf("page object %d: %w", n, err)
		}
		pages = append(pages, p)
		return nil
	}
	if err := walk(pagesRef, 0); err != nil {
		return nil, err
	}
	return pages, nil
}

type pdfReader struct {
	data    []byte
	offsets map[int]int // object number → offset
	cmaps   map[int]map[string]string
}

// xref reads the cross-reference table that startxref points to.
func (r *pdfReader) xref() error {
	m := regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`).FindSubmatch(r.data)
	if m == nil {
		return fmt.Errorf("no startxref")
	}
	off, _ := strconv.Atoi(string(m[1]))
	if off >= len(r.data) || !bytes.HasPrefix(r.data[off:], []byte("xref")) {
		return fmt.Errorf("startxref %d is not a cross-reference table", off)
	}
	lines := strings.Split(string(r.data[off:min(len(r.data), off+64<<20)]), "\n")
	for i := 1; i < len(lines); i++ {
		f := strings.Fields(lines[i])
		if len(f) == 1 && f[0] == "trailer" || len(f) > 0 && strings.HasPrefix(f[0], "trailer") {
			return nil
		}
		if len(f) != 2 {
			return fmt.Errorf("cross-reference table: %q", lines[i])
		}
		first, _ := strconv.Atoi(f[0])
		count, _ := strconv.Atoi(f[1])
		for j := 0; j < count && i+1 < len(lines); j++ {
			i++
			e := strings.Fields(lines[i])
			if len(e) == 3 && e[2] == "n" {
				o, _ := strconv.Atoi(e[0])
				r.offsets[first+j] = o
			}
		}
	}
	return fmt.Errorf("cross-reference table without a trailer")
}

// object returns an object's dictionary (or other value) as text, and its
// stream, decompressed, if it has one.
func (r *pdfReader) object(n int) (string, []byte, error) {
	off, ok := r.offsets[n]
	if !ok {
		return "", nil, fmt.Errorf("no object %d", n)
	}
	head := fmt.Sprintf("%d 0 obj", n)
	if !bytes.HasPrefix(r.data[off:], []byte(head)) {
		return "", nil, fmt.Errorf("object %d is not at %d", n, off)
	}
	body := r.data[off+len(head):]
	end := bytes.Index(body, []byte("endobj"))
	s := bytes.Index(body, []byte("stream"))
	if s < 0 || end >= 0 && end < s {
		if end < 0 {
			return "", nil, fmt.Errorf("object %d has no end", n)
		}
		return string(body[:end]), nil, nil
	}
	dict := string(body[:s])
	data := body[s+len("stream"):]
	data = bytes.TrimPrefix(bytes.TrimPrefix(data, []byte("\r")), []byte("\n"))
	m := regexp.MustCompile(`/Length\s+(\d+)(\s+0\s+R)?`).FindStringSubmatch(dict)
	if m == nil {
		return "", nil, fmt.Errorf("object %d: a stream without /Length", n)
	}
	length, _ := strconv.Atoi(m[1])
	if m[2] != "" {
		l, _, err := r.object(length)
		if err != nil {
			return "", nil, err
		}
		length, _ = strconv.Atoi(strings.TrimSpace(l))
	}
	if length > len(data) {
		return "", nil, fmt.Errorf("object %d: stream longer than the file", n)
	}
	data = data[:length]
	if strings.Contains(dict, "/FlateDecode") {
		z, err := zlib.NewReader(bytes.NewReader(data))
		if err != nil {
			return "", nil, fmt.Errorf("object %d: %w", n, err)
		}
		data, err = io.ReadAll(io.LimitReader(z, 64<<20))
		if err != nil {
			return "", nil, fmt.Errorf("object %d: %w", n, err)
		}
	}
	return dict, data, nil
}

// pdfRef finds "/Key N 0 R" in a dictionary.
func pdfRef(dict, key string) (int, bool) {
	m := regexp.MustCompile(`/` + key + `\s+(\d+)\s+0\s+R`).FindStringSubmatch(dict)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[1])
	return n, true
}

// page reads one page: its height, fonts and content streams.
func (r *pdfReader) page(dict string) (pdfPage, error) {
	var p pdfPage
	mb := regexp.MustCompile(`/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]`).FindStringSubmatch(dict)
	if mb == nil {
		return p, fmt.Errorf("no /MediaBox")
	}
	p.height, _ = strconv.ParseFloat(mb[4], 64)
	fonts := map[string]map[string]string{}
	if f := regexp.MustCompile(`/Font\s*<<([^>]*)>>`).FindStringSubmatch(dict); f != nil {
		for _, m := range regexp.MustCompile(`/([^\s/]+)\s+(\d+)\s+0\s+R`).FindAllStringSubmatch(f[1], -1) {
			n, _ := strconv.Atoi(m[2])
			cmap, err := r.toUnicode(n)
			if err != nil {
				return p, err
			}
			fonts[m[1]] = cmap
		}
	}
	var content []byte
	if c := regexp.MustCompile(`/Contents\s*(\[[^\]]*\]|\d+\s+0\s+R)`).FindStringSubmatch(dict); c != nil {
		for _, m := range regexp.MustCompile(`(\d+)\s+0\s+R`).FindAllStringSubmatch(c[1], -1) {
			n, _ := strconv.Atoi(m[1])
			_, data, err := r.object(n)
			if err != nil {
				return p, err
			}
			content = append(append(content, data...), '\n')
		}
	}
	p.runs = textRuns(content, fonts)
	return p, nil
}

// toUnicode reads a font's ToUnicode map: glyph code (hex) → text.
func (r *pdfReader) toUnicode(font int) (map[string]string, error) {
	if m, ok := r.cmaps[font]; ok {
		return m, nil
	}
	dict, _, err := r.object(font)
	if err != nil {
		return nil, err
	}
	cmap := map[string]string{}
	r.cmaps[font] = cmap
	n, ok := pdfRef(dict, "ToUnicode")
	if !ok {
		return cmap, nil
	}
	_, data, err := r.object(n)
	if err != nil {
		return nil, err
	}
	text := func(h string) string {
		b, _ := hex.DecodeString(h)
		var rs []rune
		for i := 0; i+1 < len(b); i += 2 {
			rs = append(rs, rune(b[i])<<8|rune(b[i+1]))
		}
		return string(rs)
	}
	for _, sec := range regexp.MustCompile(`(?s)beginbfchar(.*?)endbfchar`).FindAllSubmatch(data, -1) {
		for _, m := range regexp.MustCompile(`<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>`).FindAllSubmatch(sec[1], -1) {
			cmap[strings.ToUpper(string(m[1]))] = text(string(m[2]))
		}
	}
	for _, sec := range regexp.MustCompile(`(?s)beginbfrange(.*?)endbfrange`).FindAllSubmatch(data, -1) {
		for _, m := range regexp.MustCompile(`<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>`).FindAllSubmatch(sec[1], -1) {
			lo, _ := strconv.ParseUint(string(m[1]), 16, 32)
			hi, _ := strconv.ParseUint(string(m[2]), 16, 32)
			dst, _ := strconv.ParseUint(string(m[3]), 16, 32)
			for c := lo; c <= hi && c-lo < 1<<16; c++ {
				cmap[fmt.Sprintf("%0*X", len(m[1]), c)] = string(rune(dst + c - lo))
			}
		}
	}
	return cmap, nil
}

// pdfMatrix is a PDF transformation pdfMatrix [a b c d e f].
type pdfMatrix [6]float64

var pdfIdentity = pdfMatrix{1, 0, 0, 1, 0, 0}

// times returns m × n: m applied first.
func (m pdfMatrix) times(n pdfMatrix) pdfMatrix {
	return pdfMatrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

// ligatures spells out the ligatures fonts show for letter pairs.
var ligatures = strings.NewReplacer("\ufb00", "ff", "\ufb01", "fi", "\ufb02", "fl", "\ufb03", "ffi", "\ufb04", "ffl")

var pdfToken = regexp.MustCompile(`<<|>>|<[0-9A-Fa-f\s]*>|\((?:\\.|[^\\)])*\)|\[|\]|/[^\s/\[\]<>()]+|[-+]?[\d.]+|[A-Za-z'"*]+`)

// textRuns interprets a page's content stream for its text: the
// graphics state's transformation (q, Q, cm) and text positioning (BT,
// Tm, Td, Tf, Tj, TJ). Each BT..ET block is one run.
func textRuns(content []byte, fonts map[string]map[string]string) []pdfRun {
	var runs []pdfRun
	var stack []pdfMatrix
	ctm, tm, tlm := pdfIdentity, pdfIdentity, pdfIdentity
	var font map[string]string
	var operands []string
	var cur *pdfRun
	show := func(s string) {
		var b strings.Builder
		switch {
		case strings.HasPrefix(s, "<"):
			h := strings.Join(strings.Fields(strings.Trim(s, "<>")), "")
			for i := 0; i+4 <= len(h); i += 4 {
				b.WriteString(font[strings.ToUpper(h[i:i+4])])
			}
		case strings.HasPrefix(s, "("):
			b.WriteString(s[1 : len(s)-1]) // literal: single bytes, unmapped
		}
		if cur == nil {
			m := tm.times(ctm)
			runs = append(runs, pdfRun{x: m[4], y: m[5]})
			cur = &runs[len(runs)-1]
		}
		cur.text += ligatures.Replace(b.String())
	}
	nums := func(n int) []float64 {
		if len(operands) < n {
			return nil
		}
		out := make([]float64, n)
		for i, o := range operands[len(operands)-n:] {
			out[i], _ = strconv.ParseFloat(o, 64)
		}
		return out
	}
	inArray := false
	var array []string
	for _, tok := range pdfToken.FindAllString(string(content), -1) {
		switch {
		case tok == "[":
			inArray, array = true, nil
			continue
		case tok == "]":
			inArray = false
			operands = append(operands, "[array]")
			continue
		case inArray:
			array = append(array, tok)
			continue
		case tok[0] == '/' || tok[0] == '<' || tok[0] == '(' || tok[0] == '-' || tok[0] == '+' || tok[0] == '.' || tok[0] >= '0' && tok[0] <= '9':
			operands = append(operands, tok)
			continue
		}
		switch tok {
		case "q":
			stack = append(stack, ctm)
		case "Q":
			if len(stack) > 0 {
				ctm, stack = stack[len(stack)-1], stack[:len(stack)-1]
			}
		case "cm":
			if n := nums(6); n != nil {
				ctm = pdfMatrix(n).times(ctm)
			}
		case "BT":
			tm, tlm, cur = pdfIdentity, pdfIdentity, nil
		case "ET":
			cur = nil
		case "Tm":
			if n := nums(6); n != nil {
				tm, tlm = pdfMatrix(n), pdfMatrix(n)
			}
		case "Td", "TD":
			if n := nums(2); n != nil {
				tlm = pdfMatrix{1, 0, 0, 1, n[0], n[1]}.times(tlm)
				tm = tlm
			}
		case "Tf":
			if len(operands) >= 2 {
				font = fonts[strings.TrimPrefix(operands[len(operands)-2], "/")]
			}
		case "Tj", "'", `"`:
			if len(operands) > 0 {
				show(operands[len(operands)-1])
			}
		case "TJ":
			for _, a := range array {
				if a[0] == '<' || a[0] == '(' {
					show(a)
				}
			}
		}
		operands = operands[:0]
	}
	return runs
}
