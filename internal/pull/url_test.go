package pull

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSiteURL(t *testing.T) {
	for _, tt := range []struct{ in, want, dir string }{
		{"https://briefings.example.org", "https://briefings.example.org/", "briefings.example.org"},
		{"https://briefings.example.org/", "https://briefings.example.org/", "briefings.example.org"},
		{"https://acme.github.io/briefings", "https://acme.github.io/briefings/", "briefings"},
		{"https://acme.github.io/briefings/SHA256SUMS", "https://acme.github.io/briefings/", "briefings"},
		{"https://example.org:8443/a%20b/", "https://example.org:8443/a%20b/", "a b"},
		{"http://127.0.0.1:8080/site/", "http://127.0.0.1:8080/site/", "site"},
		{"http://[::1]:8080/", "http://[::1]:8080/", "site"},
		{"http://localhost:1313", "http://localhost:1313/", "localhost"},
		{"https://example.org/..", "https://example.org/../", "site"},
	} {
		u, err := SiteURL(tt.in)
		if err != nil {
			t.Errorf("SiteURL(%q): %v", tt.in, err)
			continue
		}
		if u.String() != tt.want {
			t.Errorf("SiteURL(%q) = %q, want %q", tt.in, u, tt.want)
		}
		if got := DefaultDir(u); got != tt.dir {
			t.Errorf("DefaultDir(%q) = %q, want %q", tt.in, got, tt.dir)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"http://briefings.example.org/", "plain http is refused"},
		{"http://10.0.0.1/", "plain http is refused"},
		{"ftp://example.org/", "a ftp URL: pull fetches sites over https only"},
		{"briefings.example.org", "is not a URL: give the site's https:// URL"},
		{"https:///x", "no host"},
		{"https://user:secret@example.org/", "a user name or password in the URL is not supported"},
		{"https://example.org/?page=1", "no query"},
		{"https://example.org/#top", "no query (?…) or fragment"},
		{"https://exa mple.org/", "site URL"},
	} {
		_, err := SiteURL(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SiteURL(%q) = %v, want an error with %q", tt.in, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("SiteURL(%q): the error shows the password: %v", tt.in, err)
		}
	}
}

// TestLoopbackOnly: plain HTTP connects to loopback addresses only, so
// that "localhost" resolved elsewhere is not followed.
func TestLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:80": true, "127.8.9.10:8080": true, "[::1]:80": true, "10.0.0.1:80": false, "[2001:db8::1]:80": false, "93.184.216.34:80": false} {
		if err := loopbackOnly("tcp", addr, nil); (err == nil) != ok {
			t.Errorf("loopbackOnly(%s) = %v", addr, err)
		}
	}
}

// TestPullPlainHTTP: plain HTTP to this machine works, by address or as
// localhost.
func TestPullPlainHTTP(t *testing.T) {
	f := newFixture(t)
	srv := newPlainServer(t, f.release(nil))
	for _, u := range []string{srv.siteURL(), strings.Replace(srv.siteURL(), "127.0.0.1", "localhost", 1)} {
		opt := srv.options(filepath.Join(t.TempDir(), "mirror"), f.signer(), f.ids["alice"])
		opt.URL = u
		if rep := pullOK(t, opt); rep.Fetched != rep.Files || rep.Readable == "" {
			t.Errorf("%s: %+v", u, rep)
		}
	}
}

// TestPullFolder: a pull writes only into a new or empty folder, or one a
// pull wrote; two pulls never write one folder at once.
func TestPullFolder(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f.release(nil))

	notes := filepath.Join(t.TempDir(), "notes")
	if err := os.MkdirAll(notes, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(notes, "todo.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Pull(context.Background(), srv.options(notes, f.signer()))
	if err == nil || err.Error() != "refusing to pull into "+notes+": it is not empty and was not written by conclave pull (choose a new folder)" {
		t.Errorf("pull into a folder of notes: %v", err)
	}
	if entries, _ := os.ReadDir(notes); len(entries) != 1 {
		t.Errorf("the pull wrote into the folder it refused: %v", entries)
	}

	empty := t.TempDir()
	pullOK(t, srv.options(empty, f.signer()))

	unlock, err := lock(filepath.Join(empty, StateDir, lockFile))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Pull(context.Background(), srv.options(empty, nil))
	unlock()
	if err == nil || !strings.Contains(err.Error(), "another conclave pull is writing this folder") {
		t.Errorf("pull while another runs: %v", err)
	}
	pullOK(t, srv.options(empty, nil))
}

// TestPullWithoutIdentities updates the mirror only, and tells what
// changed among the site's files outside packets/.
func TestPullWithoutIdentities(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f.release(nil))
	dir := filepath.Join(t.TempDir(), "mirror")
	rep := pullOK(t, srv.options(dir, f.signer()))
	if rep.Readable != "" || rep.Opened != nil {
		t.Errorf("report: %+v", rep)
	}
	if _, err := os.Lstat(filepath.Join(dir, ReadableDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a readable copy without identities: %v", err)
	}
	f.write(map[string]string{"content/briefings/x.md": briefing(boardText, aliceText, "CAROL-FOXTROT")})
	srv.serve(f.release(nil))
	rep = pullOK(t, srv.options(dir, nil))
	if !slices.Equal(rep.Changed, []Change{{Path: "briefings/x/index.html"}}) || len(rep.New) != 0 || len(rep.Removed) != 0 {
		t.Errorf("changes: new %+v, changed %+v, removed %+v", rep.New, rep.Changed, rep.Removed)
	}
}

// TestPullUntrustedCertificate: a certificate no trusted authority issued
// is refused at once, not tried again.
func TestPullUntrustedCertificate(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f.release(nil))
	opt := srv.options(filepath.Join(t.TempDir(), "mirror"), f.signer())
	opt.RootCAs = x509.NewCertPool()
	_, err := Pull(context.Background(), opt)
	if err == nil || !strings.Contains(err.Error(), "/site/SHA256SUMS: tls: failed to verify certificate: x509: certificate signed by unknown authority") || strings.Contains(err.Error(), "tries") {
		t.Errorf("untrusted certificate: %v", err)
	}
}

// TestPullProgress: the progress line is rewritten in place, and cleared
// at the end.
func TestPullProgress(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f.release(nil))
	srv.setHook(func(w http.ResponseWriter, r *http.Request, p string) bool {
		if p == "index.html" {
			time.Sleep(250 * time.Millisecond) // a tick of the progress line
		}
		return false
	})
	var progress bytes.Buffer
	opt := srv.options(filepath.Join(t.TempDir(), "mirror"), f.signer())
	opt.Progress = &progress
	pullOK(t, opt)
	out := progress.String()
	if !regexp.MustCompile(`^\rconclave: pulling 127\.0\.0\.1:\d+: \d+ of \d+ files, [0-9.]+ (KiB|bytes)`).MatchString(out) || !strings.HasSuffix(out, " \r") {
		t.Errorf("progress: %q", out)
	}
}
