package serve_test

// End-to-end tests of the live preview server: a real site on disk, real
// edits seen through fsnotify, the session rebuilding it, and a client
// reading the pages and the event stream.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/build"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/serve"
	"github.com/conclave-dev/conclave/internal/testtool"
)

// liveSite is a site served by serve.Run while a test edits it.
type liveSite struct {
	dir     string
	url     string
	rebuilt chan serve.Rebuild
}

// startLive serves a small site with a restricted passage for the board,
// with files added or replacing its own, in a new folder.
func startLive(t testing.TB, files map[string]string, preview bool) *liveSite {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]string{
		"conclave.toml":            "title = \"Live\"\nbaseURL = \"https://live.example.org/\"\n",
		"keys/alice.pub":           id.Recipient().String() + "\n",
		"keys/groups.toml":         "board = [\"alice\"]\n",
		"content/briefings/one.md": "---\ntitle: One\ndate: 2026-01-01\ntlp: amber\n---\n\nFIRST-TEXT.\n\n::: restricted to=board tlp=amber\nBOARD-SECRET.\n:::\n",
		"content/briefings/two.md": "---\ntitle: Two\ndate: 2026-01-02\n---\n\nTWO-TEXT.\n",
	}
	for p, body := range files {
		base[p] = body
	}
	return startLiveAt(t, testtool.WriteSite(t, "", base), preview)
}

// startLiveAt serves the site at dir, rebuilding it on changes, until the
// test ends.
func startLiveAt(t testing.TB, dir string, preview bool) *liveSite {
	t.Helper()
	session := build.NewSession(build.Options{Source: dir, Preview: preview})
	rep, first, err := session.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex // the last good build's report, for NextLift
	last := rep
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &liveSite{dir: dir, url: "http://" + ln.Addr().String(), rebuilt: make(chan serve.Rebuild, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve.Run(ctx, serve.Config{
			Root: dir, Watch: []string{"content", "keys", "themes", "conclave.toml"}, Listener: ln,
			Options: serve.ListenOptions("127.0.0.1"), First: first,
			Build: func(changed []string) (*output.Memory, []string, error) {
				rep, files, err := session.Build(changed)
				if err != nil {
					return nil, []string{err.Error()}, err
				}
				mu.Lock()
				last = rep
				mu.Unlock()
				return files, nil, nil
			},
			Rebuilt: func(r serve.Rebuild) { s.rebuilt <- r },
			NextLift: func() (time.Time, bool) {
				mu.Lock()
				defer mu.Unlock()
				return last.NextLift()
			},
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve.Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve.Run did not stop within 10 s of its context's end")
		}
	})
	return s
}

func (s *liveSite) write(t testing.TB, rel, body string) {
	t.Helper()
	testtool.WriteSite(t, s.dir, map[string]string{rel: body})
}

// wait returns the next rebuild.
func (s *liveSite) wait(t testing.TB) serve.Rebuild {
	t.Helper()
	select {
	case r := <-s.rebuilt:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no rebuild within 10 s of the change")
	}
	return serve.Rebuild{}
}

func (s *liveSite) get(t testing.TB, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(s.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// events opens the page's event stream and returns a function that reads
// the next event's name and data.
func (s *liveSite) events(t testing.TB) func() (string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url+serve.LivePrefix+"events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return func() (string, string) {
		t.Helper()
		var name, data string
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatal("the event stream ended")
				}
				switch {
				case strings.HasPrefix(line, "event: "):
					name = line[7:]
				case strings.HasPrefix(line, "data: "):
					data = line[6:]
				case line == "" && name != "":
					return name, data
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no event within 10 s")
			}
		}
	}
}

func TestLiveEditServesNewContent(t *testing.T) {
	s := startLive(t, nil, true)
	next := s.events(t)
	if name, _ := next(); name != "hello" {
		t.Fatalf("first event %s", name)
	}
	_, body := s.get(t, "/briefings/two/")
	if !strings.Contains(body, "TWO-TEXT") || !strings.Contains(body, serve.LivePrefix+"live.js") {
		t.Fatalf("page before the edit:\n%s", body)
	}

	// A plain save.
	s.write(t, "content/briefings/two.md", "---\ntitle: Two\ndate: 2026-01-02\n---\n\nTWO-EDITED.\n")
	if r := s.wait(t); r.Err != nil {
		t.Fatal(r.Err)
	}
	if name, _ := next(); name != "reload" {
		t.Errorf("after the edit: %s, want reload", name)
	}
	if _, body := s.get(t, "/briefings/two/"); !strings.Contains(body, "TWO-EDITED") {
		t.Errorf("the edit is not served:\n%s", body)
	}

	// An editor's atomic save: a new file renamed over the old one.
	tmp := filepath.Join(s.dir, "content/briefings/.two.md.tmp")
	if err := os.WriteFile(tmp, []byte("---\ntitle: Two\ndate: 2026-01-02\n---\n\nTWO-RENAMED-SAVE.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, "content/briefings/two.md")); err != nil {
		t.Fatal(err)
	}
	s.wait(t)
	if name, _ := next(); name != "reload" {
		t.Errorf("after the rename-save: %s", name)
	}
	if _, body := s.get(t, "/briefings/two/"); !strings.Contains(body, "TWO-RENAMED-SAVE") {
		t.Errorf("the rename-save is not served:\n%s", body)
	}

	// A new folder and a page in it.
	s.write(t, "content/field-notes/three.md", "---\ntitle: Three\ndate: 2026-01-03\n---\n\nTHREE-NEW.\n")
	for {
		s.wait(t)
		if code, body := s.get(t, "/field-notes/three/"); code == 200 && strings.Contains(body, "THREE-NEW") {
			break
		}
	}
	// Then a second file in the new folder, written after its watch began.
	s.write(t, "content/field-notes/four.md", "---\ntitle: Four\ndate: 2026-01-04\n---\n\nFOUR-NEW.\n")
	s.wait(t)
	if code, body := s.get(t, "/field-notes/four/"); code != 200 || !strings.Contains(body, "FOUR-NEW") {
		t.Errorf("a page in the new folder is not served: %d", code)
	}
}

func TestLiveBrokenEditThenRecovery(t *testing.T) {
	s := startLive(t, nil, true)
	next := s.events(t)
	next() // hello
	s.write(t, "content/briefings/two.md", "---\ntitle: [broken\n---\n\nBROKEN.\n")
	if r := s.wait(t); r.Err == nil {
		t.Fatal("a broken page built")
	}
	name, data := next()
	var msg struct{ Errors []string }
	json.Unmarshal([]byte(data), &msg)
	if name != "failed" || len(msg.Errors) == 0 || !regexp.MustCompile(`^content/briefings/two\.md:\d+: front matter`).MatchString(msg.Errors[0]) {
		t.Fatalf("after the broken edit: %s %s", name, data)
	}
	if _, body := s.get(t, "/briefings/two/"); !strings.Contains(body, "TWO-TEXT") {
		t.Error("the last good build is not served after a failed one")
	}
	// An unknown recipient fails at its line too.
	s.write(t, "content/briefings/two.md", "---\ntitle: Two\ndate: 2026-01-02\ntlp: amber\n---\n\n::: restricted to=bobb tlp=amber\nX.\n:::\n")
	s.wait(t)
	if _, data := next(); !strings.Contains(data, `content/briefings/two.md:7:`) || !strings.Contains(data, "bobb") {
		t.Errorf("unknown recipient: %s", data)
	}
	s.write(t, "content/briefings/two.md", "---\ntitle: Two\ndate: 2026-01-02\n---\n\nTWO-FIXED.\n")
	if r := s.wait(t); r.Err != nil {
		t.Fatal(r.Err)
	}
	if name, _ := next(); name != "reload" {
		t.Errorf("recovery: %s", name)
	}
	if _, body := s.get(t, "/briefings/two/"); !strings.Contains(body, "TWO-FIXED") {
		t.Error("the fixed page is not served")
	}
}

func TestLivePreviewAndSealed(t *testing.T) {
	preview := startLive(t, nil, true)
	_, body := preview.get(t, "/briefings/one/")
	if !strings.Contains(body, "BOARD-SECRET") || !strings.Contains(body, "preview-restricted") {
		t.Errorf("preview does not show the passage in its banner:\n%s", body)
	}
	if code, _ := preview.get(t, "/packets/keyrings.json"); code != 404 {
		t.Errorf("a preview has keyrings (%d)", code)
	}
	sealed := startLive(t, nil, false)
	_, body = sealed.get(t, "/briefings/one/")
	if strings.Contains(body, "BOARD-SECRET") || !strings.Contains(body, `class="sealed`) {
		t.Errorf("--sealed shows the passage:\n%s", body)
	}
	// Preview is for loopback only.
	for bind, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "127.0.0.2": true,
		"0.0.0.0": false, "::": false, "192.168.1.10": false, "briefings.example.org": false, "": false} {
		if got := serve.Loopback(bind); got != want {
			t.Errorf("Loopback(%q) = %t", bind, got)
		}
	}
}

func TestLiveStopsWithOpenPages(t *testing.T) {
	s := startLive(t, nil, true)
	next := s.events(t)
	next()
	// The cleanup cancels Run's context with this stream open: Run must
	// return (startLive's cleanup fails the test after 10 s).
	_ = fmt.Sprint(s.url)
}

// An embargo that lifts while the site is served is published then,
// without an edit: the server rebuilds the site at its time.
func TestLiveLiftsEmbargo(t *testing.T) {
	at := time.Now().Add(2 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	s := startLive(t, map[string]string{
		"content/briefings/one.md": "---\ntitle: One\ndate: 2026-01-01\ntlp: amber\n---\n\nFIRST-TEXT.\n\n" +
			"::: restricted to=board tlp=amber embargo=" + at.Format(time.RFC3339) + "\nLIFTED-AT-ITS-TIME.\n:::\n",
	}, false)
	if _, body := s.get(t, "/briefings/one/"); strings.Contains(body, "LIFTED-AT-ITS-TIME") {
		t.Fatal("the passage is public before its time")
	}
	r := s.wait(t)
	if r.Err != nil || time.Now().Before(at) {
		t.Fatalf("rebuild at %v (due %v): %v", time.Now(), at, r.Err)
	}
	if _, body := s.get(t, "/briefings/one/"); !strings.Contains(body, "LIFTED-AT-ITS-TIME") {
		t.Errorf("the passage is not public after its time")
	}
}
