package pull

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/sign"
)

// objects lists the digests kept for the next pull.
func objects(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, StateDir, objectsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestPullResumes: a first pull that fails on its last file keeps the
// others, checked, and the next pull asks only for that one; one stopped
// part way asks only for what it had not finished.
func TestPullResumes(t *testing.T) {
	f := newFixture(t)
	v1 := f.release(nil)
	entries := readEntries(t, v1)
	last := entries[len(entries)-1].Path

	t.Run("failed", func(t *testing.T) {
		srv := newServer(t, v1)
		dir := filepath.Join(t.TempDir(), "mirror")
		srv.setHook(func(w http.ResponseWriter, r *http.Request, p string) bool {
			if p != last {
				return false
			}
			http.NotFound(w, r)
			return true
		})
		opt := srv.options(dir, f.signer(), f.ids["alice"])
		opt.Net.Parallel = 1 // in the manifest's order: the last file last
		if _, err := Pull(context.Background(), opt); err == nil || !strings.Contains(err.Error(), "/site/"+last+": 404 Not Found") {
			t.Fatalf("pull: %v", err)
		}
		if got := len(objects(t, dir)); got != len(entries)-1 {
			t.Errorf("%d files kept for the next pull, want %d", got, len(entries)-1)
		}
		if _, err := os.Lstat(filepath.Join(dir, MirrorDir)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a failed first pull made a mirror: %v", err)
		}
		srv.setHook(nil)
		srv.requests()
		rep := pullOK(t, srv.options(dir, f.signer(), f.ids["alice"]))
		asked, _ := srv.requests()
		slices.Sort(asked)
		if want := []string{manifest.Name, manifest.BundleName, last}; !slices.Equal(asked, want) {
			t.Errorf("the resumed pull asked for %v, want %v", asked, want)
		}
		if rep.Resumed != len(entries)-1 || rep.Fetched != 1 || !rep.First {
			t.Errorf("resumed pull: %+v", rep)
		}
		if objs := objects(t, dir); len(objs) != 0 {
			t.Errorf("files kept after a pull that finished: %v", objs)
		}
		if _, err := sign.VerifySite(filepath.Join(dir, MirrorDir), sign.Policy{Key: &f.key.PublicKey}); err != nil {
			t.Error(err)
		}
	})

	t.Run("stopped", func(t *testing.T) {
		srv := newServer(t, v1)
		dir := filepath.Join(t.TempDir(), "mirror")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var served atomic.Int64
		srv.setHook(func(w http.ResponseWriter, r *http.Request, p string) bool {
			if p != manifest.Name && p != manifest.BundleName && served.Add(1) == 5 {
				cancel() // Ctrl-C, while the fifth file is asked for
				<-r.Context().Done()
				return true
			}
			return false
		})
		opt := srv.options(dir, f.signer(), f.ids["alice"])
		opt.Net.Parallel = 1
		_, err := Pull(ctx, opt)
		if err == nil || !strings.Contains(err.Error(), "stopped (context canceled): the files downloaded and checked so far are kept for the next pull") {
			t.Fatalf("stopped pull: %v", err)
		}
		kept := objects(t, dir)
		if len(kept) != 4 {
			t.Errorf("%d files kept, want the 4 served before the stop", len(kept))
		}
		srv.setHook(nil)
		srv.requests()
		rep := pullOK(t, srv.options(dir, f.signer(), f.ids["alice"]))
		asked, _ := srv.requests()
		if len(asked) != len(entries)+2-len(kept) || rep.Resumed != len(kept) {
			t.Errorf("the resumed pull asked for %d files and resumed %d, want %d and %d", len(asked), rep.Resumed, len(entries)+2-len(kept), len(kept))
		}
		for _, p := range asked {
			for _, e := range entries {
				if e.Path == p && slices.Contains(kept, hex.EncodeToString(e.Sum[:])) {
					t.Errorf("%s was asked for again", p)
				}
			}
		}
	})

	t.Run("kept file damaged", func(t *testing.T) {
		srv := newServer(t, v1)
		dir := filepath.Join(t.TempDir(), "mirror")
		srv.setHook(func(w http.ResponseWriter, r *http.Request, p string) bool {
			if p != last {
				return false
			}
			http.NotFound(w, r)
			return true
		})
		opt := srv.options(dir, f.signer(), f.ids["alice"])
		opt.Net.Parallel = 1
		if _, err := Pull(context.Background(), opt); err == nil {
			t.Fatal("pull succeeded")
		}
		// A kept file changed on disk is downloaded again.
		kept := objects(t, dir)
		if err := os.WriteFile(filepath.Join(dir, StateDir, objectsDir, kept[0]), []byte("damaged"), 0o644); err != nil {
			t.Fatal(err)
		}
		srv.setHook(nil)
		srv.requests()
		rep := pullOK(t, srv.options(dir, f.signer(), f.ids["alice"]))
		if asked, _ := srv.requests(); len(asked) != 4 || rep.Resumed != len(entries)-2 {
			t.Errorf("asked for %v, resumed %d; want 4 requests and %d resumed", asked, rep.Resumed, len(entries)-2)
		}
		if _, err := sign.VerifySite(filepath.Join(dir, MirrorDir), sign.Policy{Key: &f.key.PublicKey}); err != nil {
			t.Error(err)
		}
	})
}

// TestPullRepairsMirror: a file of the mirror changed on disk, or replaced
// by a symbolic link, is downloaded again, not taken as it is.
func TestPullRepairsMirror(t *testing.T) {
	f := newFixture(t)
	v1 := f.release(nil)
	srv := newServer(t, v1)
	dir := filepath.Join(t.TempDir(), "mirror")
	pullOK(t, srv.options(dir, f.signer(), f.ids["alice"]))
	site := filepath.Join(dir, MirrorDir)
	if err := os.WriteFile(filepath.Join(site, "index.html"), []byte("edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	css := filepath.Join(site, "css", "conclave.css")
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(css); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, css); err != nil {
		t.Fatal(err)
	}
	srv.requests()
	rep := pullOK(t, srv.options(dir, nil, f.ids["alice"]))
	asked, _ := srv.requests()
	slices.Sort(asked)
	if want := []string{manifest.Name, manifest.BundleName, "css/conclave.css", "index.html"}; !slices.Equal(asked, want) || rep.Fetched != 2 {
		t.Errorf("asked for %v, fetched %d; want %v", asked, rep.Fetched, want)
	}
	if _, err := sign.VerifySite(site, sign.Policy{Key: &f.key.PublicKey}); err != nil {
		t.Error(err)
	}
}

// TestPullDuplicateContent: a content listed at two paths is downloaded
// once.
func TestPullDuplicateContent(t *testing.T) {
	f := newFixture(t)
	v1 := f.release(nil)
	index := []byte(readFile(t, filepath.Join(v1, "index.html")))
	sum := sha256.Sum256(index)
	entries := append(readEntries(t, v1), manifest.Entry{Path: "copy.html", Sum: sum})
	m, err := manifest.Build(entries)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{manifest.Name: m, manifest.BundleName: signManifest(t, f.key, m), "copy.html": index} {
		if err := os.WriteFile(filepath.Join(v1, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := newServer(t, v1)
	dir := filepath.Join(t.TempDir(), "mirror")
	rep := pullOK(t, srv.options(dir, f.signer()))
	asked, _ := srv.requests()
	both := slices.Contains(asked, "copy.html") && slices.Contains(asked, "index.html")
	if both || len(asked) != len(entries)+1 || rep.Fetched != len(entries) {
		t.Errorf("asked for %d files (both copies: %v), fetched %d; want %d, one copy asked for", len(asked), both, rep.Fetched, len(entries)+1)
	}
	if got := readFile(t, filepath.Join(dir, MirrorDir, "copy.html")); got != string(index) {
		t.Errorf("copy.html = %q", got)
	}
}

// TestPullRetries: a 5xx status is tried again, and the pull goes on.
func TestPullRetries(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f.release(nil))
	var failed atomic.Bool
	srv.setHook(func(w http.ResponseWriter, r *http.Request, p string) bool {
		if p == "index.html" && failed.CompareAndSwap(false, true) {
			http.Error(w, "busy", http.StatusBadGateway)
			return true
		}
		return false
	})
	rep := pullOK(t, srv.options(filepath.Join(t.TempDir(), "mirror"), f.signer()))
	asked, _ := srv.requests()
	if n := len(slices.DeleteFunc(asked, func(p string) bool { return p != "index.html" })); n != 2 || rep.Requests != int64(rep.Files+3) {
		t.Errorf("index.html asked for %d times, %d requests in all for %d files; want 2 and %d", n, rep.Requests, rep.Files, rep.Files+3)
	}
}

// A link planted at the pull's objects folder is refused: downloads are
// never written through it (to be linked into the mirror from outside).
func TestPullRefusesLinkedObjects(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f.release(nil))
	dir := filepath.Join(t.TempDir(), "mirror")
	pullOK(t, srv.options(dir, f.signer(), f.ids["alice"]))
	outside := t.TempDir()
	objects := filepath.Join(dir, StateDir, objectsDir)
	os.RemoveAll(objects)
	if err := os.Symlink(outside, objects); err != nil {
		t.Fatal(err)
	}
	_, err := Pull(context.Background(), srv.options(dir, nil, f.ids["alice"]))
	if err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Fatalf("err = %v, want the linked objects folder refused", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) > 0 {
		t.Errorf("the pull wrote %d files through the link", len(entries))
	}
}
