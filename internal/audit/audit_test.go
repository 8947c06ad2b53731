package audit

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/testtool"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/audit -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test ./internal/audit -update after checking the change):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// recipientKey returns a new age recipient, as a line of a .pub file.
func recipientKey(t *testing.T, pq bool) string {
	t.Helper()
	if pq {
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			t.Fatal(err)
		}
		return id.Recipient().String()
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id.Recipient().String()
}

// siteFiles is the audit fixture: recipients with real keys, groups, a
// [tlp] default, a page with blocks (one nested, one by default), a page
// restricted as a whole with a slug and a block inside, a public page and
// a draft.
func siteFiles(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{
		"conclave.toml":    "title = \"Audit fixture\"\n\n[tlp]\namber = [\"members\"]\n",
		"keys/groups.toml": "board = [\"alice\", \"bob\"]\nvendors = [\"carol\", \"dave\"]\nmembers = [\"board\", \"vendors\"]\n",
		"content/briefings/icasi.md": `---
title: ICASI
date: 2024-03-01
---

Public intro.

::: restricted to=board
Board only.
:::

::: restricted tlp=amber
Every member, by the site's default.
:::

::: restricted to=members tlp=amber
Outer passage.

::: restricted to=alice,carol tlp=red
Two people only.
:::
:::
`,
		"content/briefings/merger.md": `---
title: Merger
slug: secret-merger
tlp: amber+strict
audience: [alice, erin]
---

The whole page is sealed.

::: restricted to=erin
Erin only.
:::
`,
		"content/notes/public.md": "---\ntitle: Public note\n---\n\nNothing restricted.\n",
		"content/notes/draft.md":  "---\ntitle: Draft\ndraft: true\n---\n\n::: restricted to=eve\nDraft secret.\n:::\n",
	}
	for _, name := range []string{"alice", "bob", "carol", "dave", "eve"} {
		files["keys/"+name+".pub"] = "# " + name + "'s laptop\n" + recipientKey(t, false) + "\n"
	}
	files["keys/erin.pub"] = recipientKey(t, true) + "\n" + recipientKey(t, false) + "\n"
	return files
}

var auditNow = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func TestLoad(t *testing.T) {
	rep, err := Load(testtool.WriteSite(t, "", siteFiles(t)), Options{Now: auditNow})
	if err != nil {
		t.Fatal(err)
	}
	const icasi, merger = "content/briefings/icasi.md", "content/briefings/merger.md"
	want := &Report{
		Version: Version,
		AsOf:    "2026-12-06T12:00:00Z",
		Passages: []Passage{
			{Page: icasi, Index: 1, Line: 8, Audience: "board", To: []string{"board"}, Readers: []string{"alice", "bob"}},
			{Page: icasi, Index: 2, Line: 12, TLP: "amber", Audience: "members", To: []string{"members"}, Readers: []string{"alice", "bob", "carol", "dave"}},
			{Page: icasi, Index: 3, Line: 16, TLP: "amber", Audience: "members", To: []string{"members"}, Readers: []string{"alice", "bob", "carol", "dave"}},
			{Page: icasi, Index: 4, Line: 19, TLP: "red", Audience: "2 named recipients", To: []string{"alice", "carol"}, Readers: []string{"alice", "carol"}, Nested: 3},
			{Page: merger, Index: 1, Line: 5, Whole: true, TLP: "amber+strict", Audience: "2 named recipients", To: []string{"alice", "erin"}, Readers: []string{"alice", "erin"}},
			{Page: merger, Index: 2, Line: 10, TLP: "amber+strict", Audience: "1 named recipient", To: []string{"erin"}, Readers: []string{"erin"}, Nested: 1},
		},
		Recipients: map[string][]string{
			"alice": {icasi + "#1", icasi + "#2", icasi + "#3", icasi + "#4", merger + "#1"},
			"bob":   {icasi + "#1", icasi + "#2", icasi + "#3"},
			"carol": {icasi + "#2", icasi + "#3", icasi + "#4"},
			"dave":  {icasi + "#2", icasi + "#3"},
			"erin":  {merger + "#1", merger + "#2"},
			"eve":   {},
		},
	}
	if !reflect.DeepEqual(rep, want) {
		t.Errorf("report:\n%s\nwant:\n%s", rep.JSON(), want.JSON())
	}
	var b bytes.Buffer
	rep.Print(&b)
	golden(t, "print.golden", b.Bytes())

	// With drafts, eve reads the draft's passage.
	rep, err = Load(testtool.WriteSite(t, "", siteFiles(t)), Options{Drafts: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Recipients["eve"]; len(got) != 1 || got[0] != "content/notes/draft.md#1" {
		t.Errorf("with drafts, eve reads %v", got)
	}
}

func TestLoadNoPassages(t *testing.T) {
	files := siteFiles(t)
	for p := range files {
		if strings.HasPrefix(p, "content/briefings/") || strings.HasPrefix(p, "content/notes/draft") {
			delete(files, p)
		}
	}
	rep, err := Load(testtool.WriteSite(t, "", files), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Passages) != 0 || len(rep.Recipients) != 6 {
		t.Errorf("report: %s", rep.JSON())
	}
	var b bytes.Buffer
	rep.Print(&b)
	golden(t, "print-none.golden", b.Bytes())
}

// Load fails with the build's located errors.
func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"unknown name", "content/briefings/icasi.md", "---\ntitle: x\n---\n\n::: restricted to=bord\nx\n:::\n",
			`content/briefings/icasi.md:5: unknown recipient or group "bord" (did you mean "board"?)`},
		{"syntax", "content/briefings/icasi.md", "---\ntitle: x\n---\n\n::: restricted to=board\nx\n",
			`content/briefings/icasi.md:5: restricted block is never closed`},
		{"red to a group", "content/briefings/merger.md", "---\ntitle: x\nslug: r-merger\ntlp: red\naudience: [board]\n---\nx\n",
			`content/briefings/merger.md:5: TLP:RED is for named individuals, but "board" is a group (in audience:)`},
		{"keys", "keys/groups.toml", "board = [\"alice\", \"nobody\"]\n",
			`keys/groups.toml:1: group "board": unknown member "nobody"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := siteFiles(t)
			files[tc.file] = tc.content
			rep, err := Load(testtool.WriteSite(t, "", files), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, tc.want)
			}
			if rep != nil {
				t.Errorf("a report with an error")
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	rep, err := Load(testtool.WriteSite(t, "", siteFiles(t)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Report{rep, {Version: Version, Passages: []Passage{}, Recipients: map[string][]string{}}} {
		data := r.JSON()
		got, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("Parse(JSON()) =\n%+v\nwant\n%+v", got, r)
		}
		if !bytes.Equal(got.JSON(), data) || !bytes.HasSuffix(data, []byte("}\n")) {
			t.Errorf("JSON differs after a round trip")
		}
	}
	for _, tc := range []struct{ data, want string }{
		{"", "not an audit report written by conclave audit --json"},
		{"[]", "not an audit report written by conclave audit --json"},
		{`{"version": 2, "passages": []}`, "audit report of format version 2; this conclave reads version 1"},
		{`{"passages": []}`, "audit report of format version 0; this conclave reads version 1"},
	} {
		if _, err := Parse([]byte(tc.data)); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.data, err, tc.want)
		}
	}
}

func TestDiff(t *testing.T) {
	p := func(page string, index, line int, label string, readers ...string) Passage {
		return Passage{Page: page, Index: index, Line: line, TLP: label, Audience: "x", To: []string{"x"}, Readers: readers}
	}
	base := []Passage{
		p("content/a.md", 1, 5, "amber", "alice", "bob"),
		p("content/a.md", 2, 9, "red", "alice"),
		p("content/b.md", 1, 5, "", "carol"),
	}
	report := func(ps ...Passage) *Report { return &Report{Version: Version, Passages: ps} }
	for _, tc := range []struct {
		name string
		cur  []Passage
		want []Change
	}{
		{"no changes", base, nil},
		{"a line moved, nothing else", []Passage{p("content/a.md", 1, 7, "amber", "alice", "bob"), base[1], base[2]}, nil},
		{"reader gained", []Passage{p("content/a.md", 1, 5, "amber", "alice", "bob", "dave"), base[1], base[2]},
			[]Change{{Page: "content/a.md", Index: 1, Line: 5, Kind: "changed", Gained: []string{"dave"}, OldTLP: "amber", TLP: "amber"}}},
		{"reader lost", []Passage{p("content/a.md", 1, 6, "amber", "alice"), base[1], base[2]},
			[]Change{{Page: "content/a.md", Index: 1, Line: 6, Kind: "changed", Lost: []string{"bob"}, OldTLP: "amber", TLP: "amber"}}},
		{"readers swapped", []Passage{base[0], base[1], p("content/b.md", 1, 5, "", "dave")},
			[]Change{{Page: "content/b.md", Index: 1, Line: 5, Kind: "changed", Gained: []string{"dave"}, Lost: []string{"carol"}}}},
		{"label changed", []Passage{base[0], p("content/a.md", 2, 9, "amber+strict", "alice"), base[2]},
			[]Change{{Page: "content/a.md", Index: 2, Line: 9, Kind: "changed", OldTLP: "red", TLP: "amber+strict"}}},
		{"label added", []Passage{base[0], base[1], p("content/b.md", 1, 5, "green", "carol")},
			[]Change{{Page: "content/b.md", Index: 1, Line: 5, Kind: "changed", OldTLP: "", TLP: "green"}}},
		{"new passage", append(base[:2:2], p("content/a.md", 3, 20, "amber", "bob"), base[2], p("content/c.md", 1, 5, "green", "alice", "eve")),
			[]Change{
				{Page: "content/a.md", Index: 3, Line: 20, Kind: "new", Gained: []string{"bob"}, TLP: "amber"},
				{Page: "content/c.md", Index: 1, Line: 5, Kind: "new", Gained: []string{"alice", "eve"}, TLP: "green"},
			}},
		{"removed passages", []Passage{base[0]},
			[]Change{
				{Page: "content/a.md", Index: 2, Line: 9, Kind: "removed", Lost: []string{"alice"}, OldTLP: "red"},
				{Page: "content/b.md", Index: 1, Line: 5, Kind: "removed", Lost: []string{"carol"}},
			}},
		{"everything at once, in page order", []Passage{p("content/0.md", 1, 5, "green", "eve"), p("content/a.md", 1, 5, "red", "alice"), base[2]},
			[]Change{
				{Page: "content/0.md", Index: 1, Line: 5, Kind: "new", Gained: []string{"eve"}, TLP: "green"},
				{Page: "content/a.md", Index: 1, Line: 5, Kind: "changed", Lost: []string{"bob"}, OldTLP: "amber", TLP: "red"},
				{Page: "content/a.md", Index: 2, Line: 9, Kind: "removed", Lost: []string{"alice"}, OldTLP: "red"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Diff(report(base...), report(tc.cur...))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Diff:\n%s\nwant:\n%s", DiffJSON(got), DiffJSON(tc.want))
			}
		})
	}
	if got := string(DiffJSON(nil)); got != "[]\n" {
		t.Errorf("DiffJSON(nil) = %q", got)
	}
}

// The diff of two versions of a site: bob leaves the board, a passage is
// added, one is removed, a label changes.
func TestDiffSites(t *testing.T) {
	files := siteFiles(t)
	old, err := Load(testtool.WriteSite(t, "", files), Options{})
	if err != nil {
		t.Fatal(err)
	}
	files["keys/groups.toml"] = strings.Replace(files["keys/groups.toml"], `board = ["alice", "bob"]`, `board = ["alice"]`, 1)
	files["content/briefings/icasi.md"] = strings.Replace(files["content/briefings/icasi.md"], "to=alice,carol tlp=red", "to=alice,carol,dave tlp=red", 1)
	files["content/briefings/merger.md"] = strings.Replace(files["content/briefings/merger.md"], "tlp: amber+strict", "tlp: red", 1)
	files["content/briefings/merger.md"] = strings.Replace(files["content/briefings/merger.md"], "::: restricted to=erin\nErin only.\n:::\n", "", 1)
	files["content/notes/public.md"] += "\n::: restricted to=eve tlp=green\nNew for eve.\n:::\n"
	cur, err := Load(testtool.WriteSite(t, "", files), Options{})
	if err != nil {
		t.Fatal(err)
	}
	changes := Diff(old, cur)
	var b bytes.Buffer
	PrintDiff(&b, changes)
	golden(t, "diff.golden", b.Bytes())

	// The report of the old version, saved as JSON, gives the same diff.
	saved, err := Parse(old.JSON())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(Diff(saved, cur), changes) {
		t.Errorf("the diff against a saved report differs")
	}
	b.Reset()
	PrintDiff(&b, Diff(cur, cur))
	if b.String() != "No change in who can read what.\n" {
		t.Errorf("no change: %q", b.String())
	}
}

// Attachments are listed with the union of the audiences of the passages
// that link them (a bundle's files with the page's), and the diff says who
// gained or lost one; a file public text links is no attachment.
func TestAttachments(t *testing.T) {
	files := siteFiles(t)
	files["content/briefings/icasi.md"] += "\n::: restricted to=board\nThe [report](report.pdf), and the [log](public.log).\n:::\n\n" +
		"::: restricted to=alice,carol tlp=red\nThe [report](report.pdf) again.\n:::\n\nA public [log](public.log).\n"
	files["content/briefings/report.pdf"] = "%PDF-1.4\n"
	files["content/briefings/public.log"] = "log\n"
	files["content/briefings/deal/index.md"] = "---\ntitle: Deal\nslug: r-deal\ntlp: amber\naudience: [dave]\n---\n\nThe deal.\n"
	files["content/briefings/deal/terms.txt"] = "terms\n"
	dir := testtool.WriteSite(t, "", files)
	old, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Attachment{
		{File: "content/briefings/deal/terms.txt", Readers: []string{"dave"}},
		{File: "content/briefings/report.pdf", Readers: []string{"alice", "bob", "carol"}},
	}
	if !reflect.DeepEqual(old.Attachments, want) {
		t.Errorf("attachments %+v, want %+v", old.Attachments, want)
	}
	var b bytes.Buffer
	old.Print(&b)
	if !strings.Contains(b.String(), "Attachments (sealed files):\n  content/briefings/deal/terms.txt  dave\n  content/briefings/report.pdf      alice, bob, carol\n") {
		t.Errorf("printed report:\n%s", b.String())
	}
	// carol's passage no longer links the report: she loses it.
	testtool.WriteSite(t, dir, map[string]string{"content/briefings/icasi.md": strings.Replace(files["content/briefings/icasi.md"], "The [report](report.pdf) again.", "Not the report.", 1)})
	cur, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	changes := Diff(old, cur)
	got := []Change{}
	for _, c := range changes {
		if c.File != "" {
			got = append(got, c)
		}
	}
	if wantC := []Change{{File: "content/briefings/report.pdf", Kind: "changed", Lost: []string{"carol"}}}; !reflect.DeepEqual(got, wantC) {
		t.Errorf("attachment changes %+v, want %+v", got, wantC)
	}
	b.Reset()
	PrintDiff(&b, changes)
	if !strings.Contains(b.String(), "content/briefings/report.pdf  access to the attachment changed\n  - carol\n") {
		t.Errorf("printed diff:\n%s", b.String())
	}
}

// Embargoes still holding are listed with their time, audience and
// readers, in the JSON and the text; a lifted one is public, and gone
// from the report.
func TestLoadLifts(t *testing.T) {
	files := map[string]string{
		"conclave.toml":               "title = \"T\"\n",
		"keys/groups.toml":            "vendors = [\"alice\", \"bob\"]\n",
		"content/briefings/_index.md": "---\ntitle: Briefings\n---\n",
		"content/briefings/x.md": "---\ntitle: X\n---\n\n::: restricted to=vendors tlp=amber embargo=2026-12-09T18:00:00+01:00 after=green\nSoon.\n:::\n\n" +
			"::: restricted to=vendors tlp=amber embargo=2026-12-01T00:00:00Z\nLifted.\n:::\n",
		"content/briefings/w.md": "---\ntitle: W\nslug: w-1\naudience: [alice]\nembargo: 2027-01-12T17:00:00Z\n---\n\nLater.\n",
	}
	for _, name := range []string{"alice", "bob"} {
		files["keys/"+name+".pub"] = recipientKey(t, false) + "\n"
	}
	rep, err := Load(testtool.WriteSite(t, "", files), Options{Now: auditNow})
	if err != nil {
		t.Fatal(err)
	}
	want := []Lift{
		{Time: "2026-12-09T17:00:00Z", Page: "content/briefings/x.md", Index: 1, Line: 5, After: "green", Audience: "vendors", Readers: []string{"alice", "bob"}},
		{Time: "2027-01-12T17:00:00Z", Page: "content/briefings/w.md", Index: 1, Line: 4, Whole: true, After: "clear", Audience: "1 named recipient", Readers: []string{"alice"}},
	}
	if !reflect.DeepEqual(rep.Lifts, want) {
		t.Errorf("lifts:\n%+v\nwant:\n%+v", rep.Lifts, want)
	}
	if len(rep.Passages) != 2 {
		t.Errorf("passages: %+v (the lifted one is public)", rep.Passages)
	}
	var b bytes.Buffer
	rep.Print(&b)
	for _, line := range []string{
		"Embargoes (published in clear at the first build from their time; as of 2026-12-06T12:00:00Z):",
		"2026-12-09T17:00:00Z  content/briefings/x.md:5 #1",
		"2027-01-12T17:00:00Z  content/briefings/w.md:4 #1 (whole page)",
	} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("text report lacks %q:\n%s", line, b.String())
		}
	}
	back, err := Parse(rep.JSON())
	if err != nil || !reflect.DeepEqual(back.Lifts, want) {
		t.Errorf("JSON round trip: %v, %+v", err, back)
	}
}

// Between a report made before an embargo's time and one made after, the
// passage is told as lifted, not removed.
func TestDiffLifted(t *testing.T) {
	files := map[string]string{
		"conclave.toml":          "title = \"T\"\n",
		"content/briefings/x.md": "---\ntitle: X\n---\n\n::: restricted to=alice tlp=amber embargo=2026-12-09T17:00:00Z after=green\nSoon.\n:::\n\n::: restricted to=alice tlp=amber\nStays.\n:::\n",
		"keys/alice.pub":         recipientKey(t, false) + "\n",
	}
	dir := testtool.WriteSite(t, "", files)
	old, err := Load(dir, Options{Now: auditNow})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := Load(dir, Options{Now: auditNow.Add(96 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	changes := Diff(old, cur)
	var b bytes.Buffer
	PrintDiff(&b, changes)
	if !strings.Contains(b.String(), "content/briefings/x.md:5 #1  embargo lifted: published in clear (TLP:AMBER → TLP:GREEN)") {
		t.Errorf("diff:\n%s", b.String())
	}
	for _, c := range changes {
		if c.Kind == "removed" {
			t.Errorf("a lifted passage told as removed: %+v", c)
		}
	}
}
