package pull

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/build"
	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/seal"
	"github.com/conclave-dev/conclave/internal/sign"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// testNet is the network bounds of the tests: short waits, two tries.
var testNet = Net{HeaderTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond, Tries: 2, RetryDelay: 5 * time.Millisecond}

// The test site's words: each passage has one no other holds.
const (
	publicText = "PUBLIC-INTRO"
	boardText  = "BOARD-ALPHA"
	aliceText  = "ALICE-BRAVO"
	carolText  = "CAROL-CHARLIE"
	wholeText  = "WHOLE-DELTA"
)

// briefing is the page briefings/x: a passage for the board (alice and
// bob) holding one for alice alone, and a passage for carol; the words of
// each can be changed.
func briefing(board, alice, carol string) string {
	return "---\ntitle: X\ntlp: amber\n---\n\n" + publicText + ".\n\n" +
		":::: restricted to=board tlp=amber\n" + board + ".\n\n" +
		"::: restricted to=alice tlp=amber\n" + alice + ".\n:::\n\nBoard again.\n::::\n\n" +
		"::: restricted to=carol tlp=amber\n" + carol + ".\n:::\n"
}

// fixture is a site's sources and what makes its releases: the readers'
// keys, the signing key and the seal cache's key (so that an unchanged
// passage keeps its packet from one release to the next, as in CI with the
// cache).
type fixture struct {
	t     testing.TB
	src   string
	key   *ecdsa.PrivateKey
	cache []byte
	ids   map[string]age.Identity
	n     int
	// now dates the next release (release.json); zero: the time it is
	// built.
	now time.Time
}

// newFixture writes the test site for alice, bob and carol.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, src: t.TempDir(), key: newKey(t), cache: make([]byte, seal.KeySize), ids: map[string]age.Identity{}}
	rand.Read(f.cache)
	files := map[string]string{
		"conclave.toml":              "title = \"T\"\n",
		"keys/groups.toml":           "board = [\"alice\", \"bob\"]\n",
		"content/briefings/x.md":     briefing(boardText, aliceText, carolText),
		"content/briefings/whole.md": "---\ntitle: Whole " + wholeText + "\nslug: k3x9q\ntlp: amber\naudience: [carol]\n---\n\n" + wholeText + " body.\n",
		"content/briefings/open.md":  "---\ntitle: Open\ntlp: clear\n---\n\nNothing sealed.\n",
	}
	for _, name := range []string{"alice", "bob", "carol"} {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		f.ids[name] = id
		files["keys/"+name+".pub"] = id.Recipient().String() + "\n"
	}
	testtool.WriteSite(t, f.src, files)
	return f
}

// write changes the site's sources.
func (f *fixture) write(files map[string]string) { testtool.WriteSite(f.t, f.src, files) }

// release builds the site, signs it with key (the fixture's if nil) and
// returns a copy of it in a folder of its own.
func (f *fixture) release(key *ecdsa.PrivateKey) string {
	f.t.Helper()
	if key == nil {
		key = f.key
	}
	out := filepath.Join(f.src, "public")
	if _, err := build.Run(build.Options{Source: f.src, Out: out, CacheKey: f.cache, Now: f.now}); err != nil {
		f.t.Fatalf("building the test site: %v", err)
	}
	if _, err := sign.Site(context.Background(), out, sign.Key{Private: key}); err != nil {
		f.t.Fatalf("signing the test site: %v", err)
	}
	f.n++
	dir := filepath.Join(f.t.TempDir(), "release-"+strconv.Itoa(f.n))
	if err := os.CopyFS(dir, os.DirFS(out)); err != nil {
		f.t.Fatal(err)
	}
	return dir
}

// signer is the fixture's signer.
func (f *fixture) signer() *Signer { return &Signer{Key: &f.key.PublicKey} }

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// server serves a release over HTTPS on the loopback interface, under
// /site/, reading each file as it is asked for, and records what it was
// asked for. A hook may answer a request in its place.
type server struct {
	*httptest.Server
	mu    sync.Mutex
	dir   string
	hook  func(w http.ResponseWriter, r *http.Request, p string) bool
	asked []string // site paths, in the order asked
	sent  int64    // body bytes the files served held
}

const sitePrefix = "/site/"

func newServer(t testing.TB, dir string) *server {
	s := &server{dir: dir}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.handle))
	// Pulls that give up close connections mid-handshake: not news.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// newPlainServer is newServer over plain HTTP.
func newPlainServer(t testing.TB, dir string) *server {
	s := &server{dir: dir}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

func (s *server) handle(w http.ResponseWriter, r *http.Request) {
	p, ok := strings.CutPrefix(r.URL.Path, sitePrefix)
	s.mu.Lock()
	s.asked = append(s.asked, p)
	hook, dir := s.hook, s.dir
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if hook != nil && hook(w, r, p) {
		return
	}
	if !filepath.IsLocal(filepath.FromSlash(p)) {
		http.NotFound(w, r)
		return
	}
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
	s.mu.Lock()
	s.sent += int64(len(data))
	s.mu.Unlock()
}

// serve serves another release, with no hook.
func (s *server) serve(dir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dir, s.hook = dir, nil
}

func (s *server) setHook(h func(w http.ResponseWriter, r *http.Request, p string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = h
}

// requests returns what was asked for since the last call, and the bytes
// of the files served.
func (s *server) requests() ([]string, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	asked, sent := s.asked, s.sent
	s.asked, s.sent = nil, 0
	return asked, sent
}

// siteURL is the URL of the site served.
func (s *server) siteURL() string { return s.URL + sitePrefix }

// options are the options of a pull from s into dir, trusting s's
// certificate, with the fixture's signer.
func (s *server) options(dir string, signer *Signer, ids ...age.Identity) Options {
	pool := x509.NewCertPool()
	if s.Certificate() != nil {
		pool.AddCert(s.Certificate())
	}
	return Options{URL: s.siteURL(), Dir: dir, Signer: signer, Identities: ids, RootCAs: pool, Net: testNet}
}

// pullOK pulls and ends the test on an error.
func pullOK(t testing.TB, opt Options) *Report {
	t.Helper()
	rep, err := Pull(context.Background(), opt)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	return rep
}

// readEntries reads the manifest of a release.
func readEntries(t testing.TB, dir string) []manifest.Entry {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, manifest.Name))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := manifest.Parse(manifest.Name, data)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// changedFiles lists the paths of cur whose content old does not hold
// anywhere: what a pull from old to cur must download, one path for each
// content. It returns them sorted, with their total size.
func changedFiles(t testing.TB, oldDir, curDir string) ([]string, int64) {
	t.Helper()
	held := map[[sha256.Size]byte]bool{}
	for _, e := range readEntries(t, oldDir) {
		held[e.Sum] = true
	}
	var paths []string
	var size int64
	for _, e := range readEntries(t, curDir) {
		if held[e.Sum] {
			continue
		}
		held[e.Sum] = true
		paths = append(paths, e.Path)
		info, err := os.Stat(filepath.Join(curDir, filepath.FromSlash(e.Path)))
		if err != nil {
			t.Fatal(err)
		}
		size += info.Size()
	}
	slices.Sort(paths)
	return paths, size
}

// fileSize is the size of the file at the slash path p of dir.
func fileSize(t testing.TB, dir, p string) int64 {
	t.Helper()
	info, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// snapshot is a folder's files, to check that a failed pull left them as
// they were.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for p, data := range testtool.Tree(t, dir) {
		out[p] = string(data)
	}
	return out
}

func sameTree(t testing.TB, name string, before, after map[string]string) {
	t.Helper()
	if !maps.Equal(before, after) {
		var diff []string
		for p := range before {
			if after[p] != before[p] {
				diff = append(diff, p)
			}
		}
		for p := range after {
			if _, ok := before[p]; !ok {
				diff = append(diff, p+" (new)")
			}
		}
		slices.Sort(diff)
		t.Errorf("%s changed: %v", name, diff)
	}
}

// signManifest makes a bundle for the manifest m with key, whatever m
// lists, as a publisher holding the key could: sign.Site refuses to sign
// a manifest that its own checks refuse, and hostile tests need one.
func signManifest(t testing.TB, key *ecdsa.PrivateKey, m []byte) []byte {
	t.Helper()
	data, err := sign.Bundle(context.Background(), sign.Key{Private: key}, m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
