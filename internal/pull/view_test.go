package pull

import (
	"os"
	"path/filepath"
	"testing"
)

// TestView: a page is compared as the reader sees it: without the packet
// names of its placeholders, and with its opened passages, nested ones
// included.
func TestView(t *testing.T) {
	page := func(outer, inner, other string) string {
		return `<p>intro</p>
<section class="unsealed tlp-amber" data-packet="packets/` + outer + `.age" data-tlp="amber">
<p class="unsealed-label">Restricted passage</p>
<p>board</p>
<section class="unsealed tlp-amber" data-packet="packets/` + inner + `.age">
<p>` + inner + `</p>
</section>
</section>
<section class="sealed not-for-you tlp-amber" data-packet="packets/` + other + `.age"><p>Not for you.</p></section>
`
	}
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.html", page("o1", "i1", "x1"))
	write("b.html", page("o2", "i1", "x2")) // new packet names, same text
	write("c.html", page("o1", "i2", "x1")) // the inner passage changed
	write(".gitignore", "*\n")
	v, err := readView(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 3 || v[".gitignore"] != nil {
		t.Fatalf("view of %d files: %v", len(v), v)
	}
	a, b, c := v["a.html"], v["b.html"], v["c.html"]
	if len(a.passages) != 2 {
		t.Errorf("a.html: %d passages, want 2 (one nested)", len(a.passages))
	}
	if a.sum != b.sum || newPassages(b.passages, a.passages) != 0 {
		t.Errorf("new packet names for the same text make a change")
	}
	if a.sum == c.sum || newPassages(c.passages, a.passages) != 2 {
		t.Errorf("an inner passage changed: same %v, %d new passages; want a change and 2 (it and the one holding it)", a.sum == c.sum, newPassages(c.passages, a.passages))
	}
	got := viewChanges(view{"a.html": a, "gone.html": a}, view{"a.html": c, "new.html": b})
	if len(got.added) != 1 || got.added[0] != (Change{Path: "new.html", Passages: 2}) ||
		len(got.changed) != 1 || got.changed[0] != (Change{Path: "a.html", Passages: 2}) ||
		len(got.removed) != 1 || got.removed[0] != (Change{Path: "gone.html"}) {
		t.Errorf("changes: %+v", got)
	}
	if v, err := readView(filepath.Join(dir, "none")); err != nil || len(v) != 0 {
		t.Errorf("no copy: %v, %v", v, err)
	}
}

func TestWithoutPackets(t *testing.T) {
	for in, want := range map[string]string{
		``:         ``,
		`<p>x</p>`: `<p>x</p>`,
		`<s data-packet="a"><s data-packet="bb">`: `<s data-packet=""><s data-packet="">`,
		`<s data-packet="unclosed`:                `<s data-packet="unclosed`,
	} {
		if got := string(withoutPackets([]byte(in))); got != want {
			t.Errorf("withoutPackets(%q) = %q, want %q", in, got, want)
		}
	}
}
