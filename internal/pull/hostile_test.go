package pull

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/sign"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// hostileCase is a server that answers the pull of a new release wrongly.
type hostileCase struct {
	name string
	// hook answers requests in the server's place; the release being
	// pulled is in dir. It returns false for requests it lets through.
	hook func(c *hostileRun, w http.ResponseWriter, r *http.Request, p string) bool
	// want is a regular expression the error must match.
	want string
	// asked is how many times the hook answers: once for what is not
	// tried again, Tries for what is.
	asked int
	// forge, if set, is a line the forged manifest adds to the new
	// release's ([forged]).
	forge string
}

// hostileRun is what a hook knows of the run, read before it starts.
type hostileRun struct {
	page    []byte // the new release's page
	bundle1 []byte // the old release's bundle
	// A forged manifest and its bundle, signed with the site's key.
	forgedManifest, forgedBundle []byte
	written                      atomic.Int64 // body bytes the hook wrote
	hits                         atomic.Int64 // requests the hook answered
	once                         atomic.Bool
}

const page = "briefings/x/index.html"

var keyringPath = regexp.MustCompile(`^packets/keyrings/[0-9a-f]{32}\.age$`)

// endless writes a body that never ends, until the client goes away.
func endless(c *hostileRun, w http.ResponseWriter) {
	chunk := make([]byte, 64<<10)
	for {
		n, err := w.Write(chunk)
		c.written.Add(int64(n))
		if err != nil {
			return
		}
	}
}

// forged serves the forged manifest (the new release's with the case's
// line added, signed with the site's key) and its bundle.
func forged(c *hostileRun, w http.ResponseWriter, r *http.Request, p string) bool {
	switch p {
	case manifest.Name:
		w.Write(c.forgedManifest)
	case manifest.BundleName:
		w.Write(c.forgedBundle)
	default:
		return false
	}
	c.hits.Add(1)
	return true
}

var hostileCases = []hostileCase{
	{
		name: "wrong digest",
		hook: func(c *hostileRun, w http.ResponseWriter, r *http.Request, p string) bool {
			if p != page {
				return false
			}
			c.hits.Add(1)
			w.Write([]byte("<h1>defaced</h1>"))
			return true
		},
		want:  `^https://127\.0\.0\.1:\d+/site/briefings/x/index\.html: content does not match its SHA-256 digest in SHA256SUMS: refused`,
		asked: 1,
	},
	{
		name: "truncated body",
		hook: func(c *hostileRun, w http.ResponseWriter, r *http.Request, p string) bool {
			if p != page {
				return false
			}
			c.hits.Add(1)
			data := c.page
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // cut the connection
		},
		want:  `^https://127\.0\.0\.1:\d+/site/briefings/x/index\.html: body cut short after \d+ of \d+ bytes \(gave up after 2 tries\)$`,
		asked: 2,
	},
	{
		name: "endless keyring",
		hook: func(c *hostileRun, w http.ResponseWriter, r *http.Request, p string) bool {
			if !keyringPath.MatchString(p) || !c.once.CompareAndSwap(false, true) {
				return false
			}
			c.hits.Add(1)
			endless(c, w)
			return true
		},
		want:  `/site/packets/keyrings/[0-9a-f]{32}\.age: too large: the body goes on past 16\.0 MiB, more than a keyring ever holds: refused, stopped reading$`,
		asked: 1,
	},
	{
		name: "endless bundle",
		hook: func(c *hostileRun, w http.ResponseWriter, r *http.Request, p string) bool {
			if p != manifest.BundleName {
				return false
			}
			c.hits.Add(1)
			endless(c, w)
			return true
		},
		want:  `/site/SHA256SUMS\.sigstore\.json: too large: the body goes on past 1\.0 MiB, more than a bundle ever holds: refused, stopped reading$`,
		asked: 1,
	},
	{
		name: "5 GB for a page",
		hook: func(c *hostileRun, w http.ResponseWriter, r *http.Request, p string) bool {
			if p != page {
				return false
			}
			c.hits.Add(1)
			w.Header().Set("Content-Length", "5000000000")
			w.WriteHeader(http.StatusOK)
			endless(c, w)
			return true
		},
		want:  `/site/briefings/x/index\.html: too large: 5000000000 bytes \(4\.7 GiB\), more than a file of a site ever holds \(256 MiB at most\): refused$`,
		asked: 1,
	},
	{
		name:  "dot-dot path in the manifest",
		hook:  forged,
		forge: strings.Repeat("ab", 32) + "  ../evil.html\n",
		want:  `^https://127\.0\.0\.1:\d+/site/SHA256SUMS:\d+: unsafe output path "\.\./evil\.html"$`,
		asked: 2,
	},
	{
		name:  "absolute path in the manifest",
		hook:  forged,
		forge: strings.Repeat("ab", 32) + "  /etc/passwd\n",
		want:  `^https://127\.0\.0\.1:\d+/site/SHA256SUMS:\d+: unsafe output path "/etc/passwd"$`,
		asked: 2,
	},
	{
		name: "bundle of another release",
		hook: func(c *hostileRun, w http.ResponseWriter, r *http.Request, p string) bool {
			if p != manifest.BundleName {
				return false
			}
			c.hits.Add(1)
			w.Write(c.bundle1)
			return true
		},
		want:  `^https://127\.0\.0\.1:\d+/site/SHA256SUMS: does not match the digest its signature covers: .*pull again in a minute\)$`,
		asked: 1,
	},
	{
		name: "slow response",
		hook: func(c *hostileRun, w http.ResponseWriter, r *http.Request, p string) bool {
			if p != page {
				return false
			}
			c.hits.Add(1)
			<-r.Context().Done()
			// Never an answer, not even the empty one the server would
			// send when the handler returns: the request is dropped.
			panic(http.ErrAbortHandler)
		},
		want:  `/site/briefings/x/index\.html: no response within 300ms \(gave up after 2 tries\)$`,
		asked: 2,
	},
	{
		name: "stalled body",
		hook: func(c *hostileRun, w http.ResponseWriter, r *http.Request, p string) bool {
			if p != page {
				return false
			}
			c.hits.Add(1)
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte("<html>"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return true
		},
		want:  `/site/briefings/x/index\.html: stalled: no data for 300ms \(after 6 bytes\) \(gave up after 2 tries\)$`,
		asked: 2,
	},
	{
		name: "redirect loop",
		hook: func(c *hostileRun, w http.ResponseWriter, r *http.Request, p string) bool {
			if p != manifest.Name {
				return false
			}
			c.hits.Add(1)
			http.Redirect(w, r, sitePrefix+manifest.Name, http.StatusFound)
			return true
		},
		want:  `^https://127\.0\.0\.1:\d+/site/SHA256SUMS: more than 5 redirects \(a loop\?\): refused$`,
		asked: 6,
	},
	{
		name: "redirect to another host",
		hook: func(c *hostileRun, w http.ResponseWriter, r *http.Request, p string) bool {
			if p != page {
				return false
			}
			c.hits.Add(1)
			http.Redirect(w, r, "https://mirror.example.com/x/index.html", http.StatusMovedPermanently)
			return true
		},
		want:  `/site/briefings/x/index\.html: redirected to https://mirror\.example\.com/x/index\.html, another host: refused`,
		asked: 1,
	},
	{
		name: "not found",
		hook: func(c *hostileRun, w http.ResponseWriter, r *http.Request, p string) bool {
			if p != page {
				return false
			}
			c.hits.Add(1)
			http.NotFound(w, r)
			return true
		},
		want:  `^https://127\.0\.0\.1:\d+/site/briefings/x/index\.html: 404 Not Found$`,
		asked: 1,
	},
	{
		name: "server error",
		hook: func(c *hostileRun, w http.ResponseWriter, r *http.Request, p string) bool {
			if p != page {
				return false
			}
			c.hits.Add(1)
			http.Error(w, "\x1b[2Joops", http.StatusServiceUnavailable)
			return true
		},
		want:  `^https://127\.0\.0\.1:\d+/site/briefings/x/index\.html: 503 Service Unavailable \(gave up after 2 tries\)$`,
		asked: 2,
	},
}

// TestPullHostile pulls a site, then a new release of it from a server
// that answers wrongly: each pull fails with an error naming what failed,
// stops reading where it must, and leaves the mirror and the readable copy
// as they were.
func TestPullHostile(t *testing.T) {
	f := newFixture(t)
	v1 := f.release(nil)
	f.write(map[string]string{"content/briefings/x.md": briefing(boardText, "ALICE-ECHO", carolText)})
	v2 := f.release(nil)
	for _, tc := range hostileCases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, v1)
			dir := filepath.Join(t.TempDir(), "mirror")
			pullOK(t, srv.options(dir, f.signer(), f.ids["alice"]))
			mirror, readable := snapshot(t, filepath.Join(dir, MirrorDir)), snapshot(t, filepath.Join(dir, ReadableDir))

			c := &hostileRun{
				page:    []byte(readFile(t, filepath.Join(v2, page))),
				bundle1: []byte(readFile(t, filepath.Join(v1, manifest.BundleName))),
			}
			if tc.forge != "" {
				c.forgedManifest = []byte(readFile(t, filepath.Join(v2, manifest.Name)) + tc.forge)
				c.forgedBundle = signManifest(t, f.key, c.forgedManifest)
			}
			srv.serve(v2)
			srv.setHook(func(w http.ResponseWriter, r *http.Request, p string) bool { return tc.hook(c, w, r, p) })
			srv.requests()
			var err error
			testtool.NoHang(t, func() { _, err = Pull(context.Background(), srv.options(dir, nil, f.ids["alice"])) })
			if err == nil {
				t.Fatal("the pull succeeded")
			}
			if !regexp.MustCompile(tc.want).MatchString(err.Error()) {
				t.Errorf("error:\n%v\nwant it to match\n%s", err, tc.want)
			}
			if tc.asked > 0 && c.hits.Load() != int64(tc.asked) {
				t.Errorf("the hostile answer was asked for %d times, want %d", c.hits.Load(), tc.asked)
			}
			// A body past its limit is not read much further: what the
			// server could write before the connection closed, into the
			// sockets' buffers.
			if w := c.written.Load(); w > 16<<20+16<<20 {
				t.Errorf("the server wrote %d bytes of an endless body", w)
			}
			sameTree(t, "the mirror", mirror, snapshot(t, filepath.Join(dir, MirrorDir)))
			sameTree(t, "the readable copy", readable, snapshot(t, filepath.Join(dir, ReadableDir)))
			if _, err := sign.VerifySite(filepath.Join(dir, MirrorDir), sign.Policy{Key: &f.key.PublicKey}); err != nil {
				t.Errorf("the mirror no longer verifies: %v", err)
			}
			// Nothing the server sent that was not checked is kept.
			objects, _ := os.ReadDir(filepath.Join(dir, StateDir, objectsDir))
			for _, e := range objects {
				if _, err := hex.DecodeString(e.Name()); err != nil || len(e.Name()) != 2*sha256.Size {
					t.Errorf("left in objects/: %s", e.Name())
				}
			}
			// The server, healthy again, is pulled from.
			srv.setHook(nil)
			rep := pullOK(t, srv.options(dir, nil, f.ids["alice"]))
			if len(rep.Changed) != 1 {
				t.Errorf("pull after the failure: changed %+v", rep.Changed)
			}
		})
	}
}
