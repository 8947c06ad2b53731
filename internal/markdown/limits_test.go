package markdown

import (
	"bytes"
	"fmt"
	"github.com/conclave-dev/conclave/internal/testtool"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/site"
)

// Pathological nesting, as each shape grows deeper: size bytes of
// staircases of list items depth deep, of lines quoted depth times, or of
// restricted blocks nested depth deep around one line.
func stairs(size, depth int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		d := i % depth
		if d == 0 && i > 0 {
			b.WriteString("\npara\n\n")
		}
		b.WriteString(strings.Repeat("  ", d) + "- x\n")
	}
	return b.String()
}

// stair returns one staircase of list items depth deep.
func stair(depth int) string {
	var b strings.Builder
	for d := range depth {
		b.WriteString(strings.Repeat("  ", d) + "- x\n")
	}
	return b.String()
}

func quotes(size, depth int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		b.WriteString(strings.Repeat(">", depth) + " x\n")
		if i%50 == 49 {
			b.WriteString("\npara\n\n")
		}
	}
	return b.String()
}

func restrictedNest(size, depth int) string {
	var b strings.Builder
	for b.Len() < size {
		b.WriteString(strings.Repeat("::: restricted to=a\n", depth) + "x\n" + strings.Repeat(":::\n", depth) + "\npara\n\n")
	}
	return b.String()
}

func errorsOf(d *Doc) string {
	var lines []string
	for _, e := range d.Errors {
		lines = append(lines, e.Error())
	}
	return strings.Join(lines, "\n")
}

const tooDeep = "nested too deep: block quotes, lists and restricted blocks nest more than 64 levels here"

// TestNestingGuard: the parser opens no block 65 levels deep, however the
// line is reached (site.Load refuses most such lines first, from their
// starts): the line is reported, and the parse stays linear.
func TestNestingGuard(t *testing.T) {
	c := newConv(t)
	tests := []struct {
		name, src string
		line      int // of the error, 0 for none
	}{
		{"64 nested lists", stair(64), 0},
		{"65 nested lists", stair(65), 5 + 64},
		{"64 quotes", strings.Repeat(">", 64) + " x\n", 0},
		{"65 quotes", strings.Repeat(">", 65) + " x\n", 5},
		{"a megabyte of quotes", strings.Repeat(">", 1<<20) + "\n", 5},
		{"lists on one line", "para\n\n" + strings.Repeat("- ", 100) + "x\n", 7},
		// No markers at the start of the line: only the parser knows.
		{"65 nested restricted blocks", strings.Repeat("::: restricted to=a\n", 65) + "x\n" + strings.Repeat(":::\n", 65), 5 + 64},
		{"lists in restricted blocks", strings.Repeat("::: restricted to=a\n", 40) + stair(30), 5 + 40 + 24},
		{"footnotes in footnotes", strings.Repeat("[^a]: ", 70) + "x\n", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d *Doc
			testtool.BoundedAlloc(t, 64<<20, func() { d = c.Parse(page(tt.src), nil) })
			msgs := errorsOf(d)
			want := fmt.Sprintf("content/briefings/a.md:%d: %s", tt.line, tooDeep)
			switch {
			case tt.line == 0 && strings.Contains(msgs, "nested too deep"):
				t.Errorf("errors:\n%s", msgs)
			case tt.line != 0 && !strings.Contains(msgs, want):
				t.Errorf("errors:\n%s\nwant %s", msgs, want)
			}
			if strings.Count(msgs, tooDeep) > 1 {
				t.Errorf("reported more than once:\n%s", msgs)
			}
		})
	}
}

// TestNestingGuardKeepsText: below the limit, the guard changes nothing.
func TestNestingGuardKeepsText(t *testing.T) {
	c := newConv(t)
	src := "- a\n  - b\n    > c\n    > 1. d\n    >    ::: restricted to=x\n    >    e\n    >    :::\n\n[^n]: note\n\n- - - x\n\n* * *\n"
	html := render(t, c, c.Parse(page(strings.ReplaceAll(src, "::: restricted to=x\n    >    e\n    >    :::\n", "")), nil))
	for _, want := range []string{"<li>b\n<blockquote>", "<ol>\n<li>d</li>", "<hr />"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q:\n%s", want, html)
		}
	}
	if d := c.Parse(page(src), nil); len(d.Blocks) != 1 || errorsOf(d) != "" {
		t.Errorf("blocks %d, errors:\n%s", len(d.Blocks), errorsOf(d))
	}
}

// TestParseWorkBudget: blocks kept open over many lines cost goldmark
// memory for each line and block (16 nested restricted blocks around a
// megabyte of one-letter lines took 0.9 GB): past MaxParseWork the parse
// stops, at a reported line.
func TestParseWorkBudget(t *testing.T) {
	c := newConv(t)
	tests := []struct {
		name, src string
		stops     bool
	}{
		{"16 restricted blocks around a megabyte of lines",
			strings.Repeat("::: restricted to=a\n", 16) + strings.Repeat("x\n", 1<<19) + strings.Repeat(":::\n", 16), true},
		{"16 restricted blocks around a megabyte of blank lines",
			strings.Repeat("::: restricted to=a\n", 16) + "x\n" + strings.Repeat("\n", 1<<20) + strings.Repeat(":::\n", 16), true},
		{"16 restricted blocks around a megabyte of code",
			strings.Repeat("::: restricted to=a\n", 16) + "```\n" + strings.Repeat("x\n", 1<<19), true},
		// goldmark keeps lazily continued quotes open: they count.
		{"64 quotes, lazily continued", strings.Repeat(">", 64) + " x\n" + strings.Repeat("x\n", 1<<19), true},
		// Ordinary pages of the largest size do not come near.
		{"4 MiB of one paragraph", strings.Repeat("x\n", site.MaxPageSize/2), false},
		{"4 MiB of list items", strings.Repeat("- x\n", site.MaxPageSize/4), false},
		{"4 MiB of prose in a restricted block in a list", "- item\n\n  ::: restricted to=a\n" +
			strings.Repeat("  Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n", site.MaxPageSize/60) + "  :::\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if testing.Short() && len(tt.src) > 2<<20 {
				t.Skip("a page of several megabytes")
			}
			// goldmark allocates some 250 times the size of a page of
			// short lines in all (the 4 MiB pages: about 1 GiB); without
			// the bound, the first case took 1.4 GiB, 5 GiB at 64 deep.
			max := uint64(1 << 30)
			if len(tt.src) > 2<<20 {
				max = 3 << 29
			}
			var d *Doc
			testtool.BoundedAlloc(t, max, func() { d = c.Parse(page(tt.src), nil) })
			msgs := errorsOf(d)
			stopped := strings.Contains(msgs, "nested too deep over too many lines: by this line")
			if stopped != tt.stops {
				t.Errorf("stopped %v, want %v; errors:\n%.2000s", stopped, tt.stops, msgs)
			}
		})
	}
}

// TestLine: the line index agrees with counting.
func TestLine(t *testing.T) {
	src := []byte("a\n\nbc\nd\n\n\nlast")
	d := &Doc{Page: page(string(src)), Source: src, newlines: newlines(src)}
	slow := &Doc{Page: d.Page, Source: src}
	for off := -2; off < len(src)+3; off++ {
		if d.Line(off) != slow.Line(off) {
			t.Errorf("Line(%d) = %d, want %d", off, d.Line(off), slow.Line(off))
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 1<<16)
	for i := range big {
		big[i] = "ab\n"[r.IntN(3)]
	}
	d = &Doc{Page: page(""), Source: big, newlines: newlines(big)}
	for range 1000 {
		off := r.IntN(len(big))
		if want := 5 + bytes.Count(big[:off], []byte("\n")); d.Line(off) != want {
			t.Fatalf("Line(%d) = %d, want %d", off, d.Line(off), want)
		}
	}
}

// BenchmarkNesting parses a megabyte of each shape of nesting at growing
// depths: past 64 the guard stops the nesting, and the time per byte stays
// flat.
//
//	go test ./internal/markdown -run XXX -bench Nesting
func BenchmarkNesting(b *testing.B) {
	c, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	shapes := []struct {
		name string
		gen  func(size, depth int) string
	}{{"list", stairs}, {"quote", quotes}, {"restricted", restrictedNest}}
	for _, sh := range shapes {
		for _, depth := range []int{4, 16, 64, 256, 1024} {
			b.Run(fmt.Sprintf("%s/depth=%d", sh.name, depth), func(b *testing.B) {
				p := page(sh.gen(1<<20, depth))
				b.SetBytes(int64(len(p.Body)))
				for b.Loop() {
					c.Parse(p, nil)
				}
			})
		}
	}
}

// TestNestingGuardRandom parses pages that mix every container at around
// the limit, with lazy lines, blank lines and code fences: the guard never
// leaves goldmark a tree it cannot finish or render (a list holds only
// items), and never reports more than once.
func TestNestingGuardRandom(t *testing.T) {
	c := newConv(t)
	r := rand.New(rand.NewPCG(7, 64))
	guarded := 0
	openers := []string{">", "> ", "- ", "* ", "1. ", "2) ", "[^n]: ", "  ", " "}
	others := []string{"x", "", ":::", "```", "- - -", "* * *", "# h", "| a |\n|---|\n| b |", "[x]: /y", "<div>", "text", "    code"}
	for i := range 300 {
		var b strings.Builder
		for range 20 + r.IntN(60) {
			if r.IntN(8) == 0 {
				b.WriteString(strings.Repeat("::: restricted to=a\n", r.IntN(70)))
			}
			for range r.IntN(90) {
				b.WriteString(openers[r.IntN(len(openers))])
			}
			b.WriteString(others[r.IntN(len(others))] + "\n")
		}
		src := b.String()
		func() {
			defer func() {
				if v := recover(); v != nil {
					t.Fatalf("page %d: panic %v\n%q", i, v, src)
				}
			}()
			d := c.Parse(page(src), nil)
			switch strings.Count(errorsOf(d), tooDeep) {
			case 0:
			case 1:
				guarded++
			default:
				t.Errorf("page %d: reported more than once", i)
			}
			var out bytes.Buffer
			_ = c.Render(&out, d) // refuses restricted blocks; must not panic
		}()
	}
	if guarded < 30 {
		t.Errorf("only %d of 300 pages reached the limit", guarded)
	}
}
