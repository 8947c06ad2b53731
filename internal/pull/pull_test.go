package pull

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/sign"
)

// TestPullIncremental pulls a site, then releases of it with one passage
// changed, as alice: each pull asks for SHA256SUMS, its bundle and the
// files whose content changed, nothing else; the mirror verifies; and the
// report says what changed for alice, not for others.
func TestPullIncremental(t *testing.T) {
	f := newFixture(t)
	v1 := f.release(nil)
	srv := newServer(t, v1)
	dir := filepath.Join(t.TempDir(), "mirror")
	alice := f.ids["alice"]

	// First pull: everything.
	rep := pullOK(t, srv.options(dir, f.signer(), alice))
	asked, sent := srv.requests()
	entries := readEntries(t, v1)
	if !rep.First || rep.Files != len(entries) || rep.Fetched != len(entries) || rep.Reused != 0 {
		t.Errorf("first pull: %+v, want every one of %d files fetched", rep, len(entries))
	}
	if len(asked) != len(entries)+2 || rep.Requests != int64(len(asked)) || rep.Bytes != sent {
		t.Errorf("first pull: %d requests (report: %d), %d bytes served (report: %d); want %d requests", len(asked), rep.Requests, sent, rep.Bytes, len(entries)+2)
	}
	if rep.Signer != "key "+sign.Fingerprint(&f.key.PublicKey) {
		t.Errorf("signer = %q", rep.Signer)
	}
	if _, err := sign.VerifySite(filepath.Join(dir, MirrorDir), sign.Policy{Key: &f.key.PublicKey}); err != nil {
		t.Errorf("the mirror does not verify: %v", err)
	}
	page := readFile(t, filepath.Join(dir, ReadableDir, "briefings/x/index.html"))
	if !strings.Contains(page, aliceText) || !strings.Contains(page, boardText) || strings.Contains(page, carolText) {
		t.Errorf("alice's readable copy of briefings/x:\n%s", page)
	}
	if rep.Opened == nil || rep.Opened.Passages != 2 || rep.Opened.NotForYou != 2 {
		t.Errorf("opened: %+v, want 2 passages opened, 2 not for alice", rep.Opened)
	}
	if len(rep.New) == 0 || !slices.ContainsFunc(rep.New, func(c Change) bool { return c.Path == "briefings/x/index.html" && c.Passages == 2 }) {
		t.Errorf("first pull: new = %+v", rep.New)
	}

	// Nothing changed: two requests, no signer needed.
	rep = pullOK(t, srv.options(dir, nil, alice))
	asked, _ = srv.requests()
	if want := []string{manifest.Name, manifest.BundleName}; !slices.Equal(asked, want) || rep.Fetched != 0 || rep.Reused != len(entries) || rep.First {
		t.Errorf("unchanged: asked for %v, report %+v; want %v and every file reused", asked, rep, want)
	}
	if len(rep.New)+len(rep.Changed)+len(rep.Removed) != 0 {
		t.Errorf("unchanged: changes %+v %+v %+v", rep.New, rep.Changed, rep.Removed)
	}

	// Alice's passage changed: the page changed for her, one passage
	// inside another (the board's, which holds it).
	f.write(map[string]string{"content/briefings/x.md": briefing(boardText, "ALICE-ECHO", carolText)})
	v2 := f.release(nil)
	srv.serve(v2)
	rep = pullOK(t, srv.options(dir, nil, alice))
	checkFetched(t, srv, rep, v1, v2)
	if !slices.Equal(rep.Changed, []Change{{Path: "briefings/x/index.html", Passages: 2}}) || len(rep.New) != 0 || len(rep.Removed) != 0 {
		t.Errorf("alice's passage changed: new %+v, changed %+v, removed %+v", rep.New, rep.Changed, rep.Removed)
	}
	if page := readFile(t, filepath.Join(dir, ReadableDir, "briefings/x/index.html")); !strings.Contains(page, "ALICE-ECHO") {
		t.Errorf("the readable copy does not hold the new passage:\n%s", page)
	}

	// Carol's passage changed: files were fetched, but nothing changed
	// for alice.
	f.write(map[string]string{"content/briefings/x.md": briefing(boardText, "ALICE-ECHO", "CAROL-FOXTROT")})
	v3 := f.release(nil)
	srv.serve(v3)
	rep = pullOK(t, srv.options(dir, nil, alice))
	checkFetched(t, srv, rep, v2, v3)
	if rep.Fetched == 0 || len(rep.New)+len(rep.Changed)+len(rep.Removed) != 0 {
		t.Errorf("carol's passage changed: fetched %d; for alice: new %+v, changed %+v, removed %+v", rep.Fetched, rep.New, rep.Changed, rep.Removed)
	}

	// A page added, one removed.
	if err := os.Remove(filepath.Join(f.src, "content/briefings/open.md")); err != nil {
		t.Fatal(err)
	}
	f.write(map[string]string{"content/briefings/y.md": "---\ntitle: Y\ntlp: amber\n---\n\nNew.\n\n::: restricted to=alice tlp=amber\nALICE-GOLF.\n:::\n"})
	v4 := f.release(nil)
	srv.serve(v4)
	rep = pullOK(t, srv.options(dir, nil, alice))
	checkFetched(t, srv, rep, v3, v4)
	if !slices.Contains(rep.New, Change{Path: "briefings/y/index.html", Passages: 1}) || !slices.Contains(rep.Removed, Change{Path: "briefings/open/index.html"}) {
		t.Errorf("page added and removed: new %+v, changed %+v, removed %+v", rep.New, rep.Changed, rep.Removed)
	}
	if _, err := sign.VerifySite(filepath.Join(dir, MirrorDir), sign.Policy{Key: &f.key.PublicKey}); err != nil {
		t.Errorf("the mirror does not verify: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ReadableDir, "briefings/open/index.html")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the removed page is still in the readable copy: %v", err)
	}
	// Nothing of the pull's is left behind.
	for _, name := range []string{nextDir, objectsDir, asideDir} {
		if _, err := os.Lstat(filepath.Join(dir, StateDir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", name, err)
		}
	}
}

// checkFetched checks that the last pull, from the release in old to the
// one in cur, asked for SHA256SUMS, its bundle and each content cur has
// and old had not, and read their bytes, nothing else.
func checkFetched(t testing.TB, srv *server, rep *Report, oldDir, curDir string) {
	t.Helper()
	asked, sent := srv.requests()
	changed, size := changedFiles(t, oldDir, curDir)
	want := append([]string{manifest.Name, manifest.BundleName}, changed...)
	slices.Sort(want)
	slices.Sort(asked)
	size += fileSize(t, curDir, manifest.Name) + fileSize(t, curDir, manifest.BundleName)
	if !slices.Equal(asked, want) {
		t.Errorf("asked for %v, want %v", asked, want)
	}
	if rep.Requests != int64(len(want)) || rep.Bytes != size || sent != size || rep.Fetched != len(changed) {
		t.Errorf("report: %d requests, %d bytes, %d fetched; want %d, %d (server: %d), %d", rep.Requests, rep.Bytes, rep.Fetched, len(want), size, sent, len(changed))
	}
	if rep.Reused+rep.Fetched+rep.Resumed != rep.Files {
		t.Errorf("report: %d reused + %d fetched + %d resumed != %d files", rep.Reused, rep.Fetched, rep.Resumed, rep.Files)
	}
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestPullAttachment: a sealed file linked from alice's passage is new
// for alice, at its own path in her readable copy, and not for bob.
func TestPullAttachment(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f.release(nil))
	alice, bob := filepath.Join(t.TempDir(), "alice"), filepath.Join(t.TempDir(), "bob")
	pullOK(t, srv.options(alice, f.signer(), f.ids["alice"]))
	pullOK(t, srv.options(bob, f.signer(), f.ids["bob"]))

	f.write(map[string]string{
		"content/briefings/x.md":       briefing(boardText, aliceText+"\n\nSee [the report](report.txt)", carolText),
		"content/briefings/report.txt": "ALICE-REPORT\n",
	})
	srv.serve(f.release(nil))
	rep := pullOK(t, srv.options(alice, nil, f.ids["alice"]))
	if rep.Opened.Attachments != 1 || len(rep.New) != 1 || !strings.HasSuffix(rep.New[0].Path, "report.txt") ||
		!slices.Contains(rep.Changed, Change{Path: "briefings/x/index.html", Passages: 2}) {
		t.Errorf("alice: %d attachments; new %+v, changed %+v", rep.Opened.Attachments, rep.New, rep.Changed)
	}
	if len(rep.New) == 1 {
		if got := readFile(t, filepath.Join(alice, ReadableDir, filepath.FromSlash(rep.New[0].Path))); got != "ALICE-REPORT\n" {
			t.Errorf("the attachment in alice's copy: %q", got)
		}
	}
	rep = pullOK(t, srv.options(bob, nil, f.ids["bob"]))
	if rep.Opened.Attachments != 0 || len(rep.New) != 0 || len(rep.Changed) != 0 {
		t.Errorf("bob: %d attachments; new %+v, changed %+v", rep.Opened.Attachments, rep.New, rep.Changed)
	}
}
