package pull

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/sign"
)

// dated builds and signs a release of the fixture's site dated at.
func (f *fixture) dated(at time.Time) string {
	f.t.Helper()
	f.now = at
	defer func() { f.now = time.Time{} }()
	return f.release(nil)
}

// undated is a copy of the release in dir as a site built before releases
// were dated would be: without release.json, its manifest signed again
// with the fixture's key.
func (f *fixture) undated(dir string) string {
	f.t.Helper()
	return f.altered(dir, map[string]string{format.ReleaseFile: ""})
}

// altered is a copy of the release in dir with files replaced (or, given
// "", removed), its manifest listing them and signed again with the
// fixture's key, as the key's holder could.
func (f *fixture) altered(dir string, files map[string]string) string {
	t := f.t
	t.Helper()
	out := filepath.Join(t.TempDir(), "altered")
	if err := os.CopyFS(out, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	var entries []manifest.Entry
	for _, e := range readEntries(t, dir) {
		data, ok := files[e.Path]
		switch {
		case !ok:
		case data == "":
			if err := os.Remove(filepath.Join(out, filepath.FromSlash(e.Path))); err != nil {
				t.Fatal(err)
			}
			continue
		default:
			if err := os.WriteFile(filepath.Join(out, filepath.FromSlash(e.Path)), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			e.Sum = sha256.Sum256([]byte(data))
		}
		entries = append(entries, e)
	}
	m, err := manifest.Build(entries)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, manifest.Name), m, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, manifest.BundleName), signManifest(t, f.key, m), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// remembered is the release time pull.json remembers in dir.
func remembered(t testing.TB, dir string) time.Time {
	t.Helper()
	var st state
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, StateDir, StateFile))), &st); err != nil {
		t.Fatal(err)
	}
	return st.Release
}

// refused pulls from srv into dir, which must fail with a *ReleaseError
// whose message matches want, having asked for nothing but SHA256SUMS, its
// bundle and release.json, and leaving the mirror, the readable copy and
// the release time remembered as they were.
func refused(t *testing.T, srv *server, dir string, want string) *ReleaseError {
	t.Helper()
	mirror, readable := snapshot(t, filepath.Join(dir, MirrorDir)), snapshot(t, filepath.Join(dir, ReadableDir))
	held := remembered(t, dir)
	srv.requests()
	rep, err := Pull(context.Background(), srv.options(dir, nil))
	var re *ReleaseError
	if !errors.As(err, &re) || rep != nil {
		t.Fatalf("pull: report %+v, error %v; want a *ReleaseError", rep, err)
	}
	if !regexp.MustCompile(want).MatchString(err.Error()) {
		t.Errorf("error:\n%v\nwant it to match\n%s", err, want)
	}
	asked, _ := srv.requests()
	for _, p := range asked {
		if p != manifest.Name && p != manifest.BundleName && p != format.ReleaseFile {
			t.Errorf("the refused pull asked for %s", p)
		}
	}
	sameTree(t, "the mirror", mirror, snapshot(t, filepath.Join(dir, MirrorDir)))
	sameTree(t, "the readable copy", readable, snapshot(t, filepath.Join(dir, ReadableDir)))
	if got := remembered(t, dir); !got.Equal(held) {
		t.Errorf("the refused pull changed the release remembered from %v to %v", held, got)
	}
	return re
}

// A newer release is pulled, and its time reported and remembered; an
// older genuine signed release served in its place (a replay) is refused
// before anything else is downloaded, naming both times, and the mirror
// and readable copy are left as they were; the newer one pulls again.
func TestPullRefusesOlderRelease(t *testing.T) {
	f := newFixture(t)
	t1 := time.Now().UTC().Truncate(time.Second).Add(-30 * 24 * time.Hour)
	t2 := t1.Add(29 * 24 * time.Hour)
	v1 := f.dated(t1)
	f.write(map[string]string{"content/briefings/x.md": briefing(boardText, "ALICE-ECHO", carolText)})
	v2 := f.dated(t2)
	srv := newServer(t, v1)
	dir := filepath.Join(t.TempDir(), "mirror")
	alice := f.ids["alice"]

	rep := pullOK(t, srv.options(dir, f.signer(), alice))
	if !rep.Release.Equal(t1) || !remembered(t, dir).Equal(t1) {
		t.Errorf("first pull: release %v, remembered %v; want %v", rep.Release, remembered(t, dir), t1)
	}
	srv.serve(v2)
	rep = pullOK(t, srv.options(dir, nil, alice))
	if !rep.Release.Equal(t2) || !remembered(t, dir).Equal(t2) {
		t.Errorf("newer release: release %v, remembered %v; want %v", rep.Release, remembered(t, dir), t2)
	}
	// release.json is news for no one.
	if !slices.Equal(rep.Changed, []Change{{Path: "briefings/x/index.html", Passages: 2}}) || len(rep.New)+len(rep.Removed) != 0 {
		t.Errorf("newer release: new %+v, changed %+v, removed %+v", rep.New, rep.Changed, rep.Removed)
	}
	data, err := json.Marshal(rep)
	if err != nil || !strings.Contains(string(data), `"release":"`+t2.Format(time.RFC3339)+`"`) {
		t.Errorf("the JSON report does not give the release's time: %s", data)
	}

	// The old release, replayed.
	srv.serve(v1)
	stamp := func(t time.Time) string { return regexp.QuoteMeta(t.Format(time.RFC3339)) }
	re := refused(t, srv, dir, `^https://127\.0\.0\.1:\d+/site/release\.json: the release is dated `+stamp(t1)+`, older than the release of `+stamp(t2)+
		` pulled into .*mirror before: refused \(a server replaying an old signed release would hide what was published since\)$`)
	if !re.Got.Equal(t1) || !re.Held.Equal(t2) || re.Ahead {
		t.Errorf("ReleaseError %+v", re)
	}
	if _, err := sign.VerifySite(filepath.Join(dir, MirrorDir), sign.Policy{Key: &f.key.PublicKey}); err != nil {
		t.Errorf("the mirror no longer verifies: %v", err)
	}
	if page := readFile(t, filepath.Join(dir, ReadableDir, "briefings/x/index.html")); !strings.Contains(page, "ALICE-ECHO") {
		t.Error("the readable copy went back to the old release")
	}

	// A pull.json that remembers no release time (written by a conclave
	// that did not date releases, or a pull stopped before it could
	// remember): the mirror's own release.json still says which release
	// the folder holds.
	var st map[string]any
	stateFile := filepath.Join(dir, StateDir, StateFile)
	if err := json.Unmarshal([]byte(readFile(t, stateFile)), &st); err != nil {
		t.Fatal(err)
	}
	delete(st, "release")
	old, _ := json.Marshal(st)
	if err := os.WriteFile(stateFile, old, 0o600); err != nil {
		t.Fatal(err)
	}
	refused(t, srv, dir, `: the release is dated `+stamp(t1)+`, older than the release of `+stamp(t2)+` pulled into `)

	// The newer release again, and one of the same time: both go through.
	srv.serve(v2)
	if rep := pullOK(t, srv.options(dir, nil, alice)); !rep.Release.Equal(t2) || !remembered(t, dir).Equal(t2) {
		t.Errorf("pull of the newer release again: release %v, remembered %v", rep.Release, remembered(t, dir))
	}
	f.write(map[string]string{"content/briefings/x.md": briefing(boardText, "ALICE-GOLF", carolText)})
	same := f.dated(t2)
	srv.serve(same)
	if rep := pullOK(t, srv.options(dir, nil, alice)); !rep.Release.Equal(t2) || len(rep.Changed) != 1 {
		t.Errorf("a release of the same time: release %v, changed %+v", rep.Release, rep.Changed)
	}
}

// Once a release was dated, a release without release.json (its signed
// manifest does not list one) is refused: it cannot be told from an old
// one.
func TestPullRefusesUndatedAfterDated(t *testing.T) {
	f := newFixture(t)
	t1 := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	v1 := f.dated(t1)
	f.write(map[string]string{"content/briefings/x.md": briefing(boardText, "ALICE-ECHO", carolText)})
	v2 := f.undated(f.dated(t1.Add(time.Minute)))
	srv := newServer(t, v1)
	dir := filepath.Join(t.TempDir(), "mirror")
	pullOK(t, srv.options(dir, f.signer(), f.ids["alice"]))
	srv.serve(v2)
	re := refused(t, srv, dir, `^https://127\.0\.0\.1:\d+/site/SHA256SUMS: the release lists no release\.json, so it is undated, but the release pulled into .*mirror before is dated `+
		regexp.QuoteMeta(t1.Format(time.RFC3339))+`: refused \(an undated release may be an old one, replayed to hide what was published since\)$`)
	if !re.Got.IsZero() || !re.Held.Equal(t1) {
		t.Errorf("ReleaseError %+v", re)
	}
}

// A release dated more than a day ahead of this machine's clock is
// refused, on a first pull as on a later one: remembered, it would block
// every genuine release until then. Less than a day ahead is a clock a
// little off, and goes through.
func TestPullRefusesReleaseFromTheFuture(t *testing.T) {
	f := newFixture(t)
	now := time.Now().UTC().Truncate(time.Second)
	v1 := f.dated(now.Add(-time.Hour))
	f.write(map[string]string{"content/briefings/x.md": briefing(boardText, "ALICE-ECHO", carolText)})
	ahead := f.dated(now.Add(49 * time.Hour))
	f.write(map[string]string{"content/briefings/x.md": briefing(boardText, "ALICE-GOLF", carolText)})
	soon := f.dated(now.Add(23 * time.Hour))

	srv := newServer(t, ahead)
	first := filepath.Join(t.TempDir(), "first")
	_, err := Pull(context.Background(), srv.options(first, f.signer(), f.ids["alice"]))
	var re *ReleaseError
	if !errors.As(err, &re) || !re.Ahead {
		t.Fatalf("first pull of a release 49 hours ahead: %v", err)
	}
	want := `^https://127\.0\.0\.1:\d+/site/release\.json: the release is dated ` + regexp.QuoteMeta(now.Add(49*time.Hour).Format(time.RFC3339)) +
		`, more than 24 hours after this machine's clock \(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\): refused \(either clock is wrong, the signer's or this one, or the release is hostile: remembered, its date would make every later release look older\)$`
	if !regexp.MustCompile(want).MatchString(err.Error()) {
		t.Errorf("error:\n%v\nwant it to match\n%s", err, want)
	}
	if _, err := os.Stat(filepath.Join(first, MirrorDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused first pull left a mirror: %v", err)
	}

	dir := filepath.Join(t.TempDir(), "mirror")
	srv.serve(v1)
	pullOK(t, srv.options(dir, f.signer(), f.ids["alice"]))
	srv.serve(ahead)
	if re := refused(t, srv, dir, `: the release is dated .*, more than 24 hours after this machine's clock`); !re.Ahead {
		t.Errorf("ReleaseError %+v", re)
	}
	srv.serve(soon)
	if rep := pullOK(t, srv.options(dir, nil, f.ids["alice"])); !rep.Release.Equal(now.Add(23 * time.Hour)) {
		t.Errorf("a release 23 hours ahead: release %v", rep.Release)
	}
}

// A site built before releases were dated has no release.json: its first
// pull and the next go through, with no release time; a dated release
// then goes through, after which an undated one no longer does.
func TestPullUndatedSite(t *testing.T) {
	f := newFixture(t)
	now := time.Now().UTC().Truncate(time.Second)
	v1 := f.undated(f.dated(now.Add(-2 * time.Hour)))
	f.write(map[string]string{"content/briefings/x.md": briefing(boardText, "ALICE-ECHO", carolText)})
	v2 := f.undated(f.dated(now.Add(-time.Hour)))
	f.write(map[string]string{"content/briefings/x.md": briefing(boardText, "ALICE-GOLF", carolText)})
	v3 := f.dated(now)

	srv := newServer(t, v1)
	dir := filepath.Join(t.TempDir(), "mirror")
	rep := pullOK(t, srv.options(dir, f.signer(), f.ids["alice"]))
	if !rep.First || !rep.Release.IsZero() || !remembered(t, dir).IsZero() {
		t.Errorf("first pull of an undated site: release %v, remembered %v", rep.Release, remembered(t, dir))
	}
	if data, _ := json.Marshal(rep); strings.Contains(string(data), `"release"`) {
		t.Errorf("the JSON report of an undated release gives a release time: %s", data)
	}
	if state := readFile(t, filepath.Join(dir, StateDir, StateFile)); strings.Contains(state, `"release"`) {
		t.Errorf("pull.json remembers a release time for an undated release:\n%s", state)
	}
	srv.serve(v2)
	if rep := pullOK(t, srv.options(dir, nil, f.ids["alice"])); len(rep.Changed) != 1 {
		t.Errorf("second undated release: changed %+v", rep.Changed)
	}
	srv.serve(v3)
	if rep := pullOK(t, srv.options(dir, nil, f.ids["alice"])); !rep.Release.Equal(now) || !remembered(t, dir).Equal(now) {
		t.Errorf("first dated release: release %v, remembered %v", rep.Release, remembered(t, dir))
	}
	srv.serve(v2)
	refused(t, srv, dir, `: the release lists no release\.json, so it is undated`)
}

// A signed release.json that is not a release's is refused, and so is
// one the server alters on the way.
func TestPullBadReleaseFile(t *testing.T) {
	f := newFixture(t)
	v1 := f.dated(time.Now().UTC().Add(-time.Hour))
	srv := newServer(t, v1)
	dir := filepath.Join(t.TempDir(), "mirror")
	pullOK(t, srv.options(dir, f.signer()))

	f.write(map[string]string{"content/briefings/x.md": briefing(boardText, "ALICE-ECHO", carolText)})
	v2 := f.dated(time.Now().UTC())
	// Altered on the way: its digest is not the one signed.
	srv.serve(v2)
	future := format.Release{Time: time.Now().Add(time.Hour)}.Marshal()
	srv.setHook(func(w http.ResponseWriter, r *http.Request, p string) bool {
		if p != format.ReleaseFile {
			return false
		}
		w.Write(future)
		return true
	})
	if _, err := Pull(context.Background(), srv.options(dir, nil)); err == nil || !strings.Contains(err.Error(), "/site/release.json: "+manifest.ReasonChanged) {
		t.Errorf("release.json altered: %v", err)
	}
	srv.setHook(nil)

	// Signed, but not a release's.
	srv.serve(f.altered(v2, map[string]string{format.ReleaseFile: `{"format":"conclave-release v1","time":"2026-12-06T16:58:04+01:00"}`}))
	_, err := Pull(context.Background(), srv.options(dir, nil))
	if err == nil || !regexp.MustCompile(`/site/release\.json: time "2026-12-06T16:58:04\+01:00": not in UTC \(ending in Z\), such as 2026-12-06T15:58:04Z: refused$`).MatchString(err.Error()) {
		t.Errorf("release.json not a release's: %v", err)
	}
}
