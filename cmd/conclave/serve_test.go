package main

// conclave serve as a real process: what it prints, what it serves, how it
// recovers from a broken site and how it stops on Ctrl-C.

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/conclave-dev/conclave/internal/testtool"
)

// served is a conclave serve process started by a test.
type served struct {
	cmd  *exec.Cmd
	url  string // http://127.0.0.1:PORT
	mu   sync.Mutex
	errb bytes.Buffer // its stderr so far
	done chan error   // its exit
}

// serveSite writes a site with a passage for the board and returns its
// folder.
func serveSite(t *testing.T, page string) string {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	testtool.WriteSite(t, dir, map[string]string{
		"conclave.toml":          "title = \"Served\"\nbaseURL = \"https://served.example.org/\"\n",
		"keys/alice.pub":         id.Recipient().String() + "\n",
		"keys/groups.toml":       "board = [\"alice\"]\n",
		"content/briefings/x.md": page,
	})
	return dir
}

const servePage = "---\ntitle: X\ndate: 2026-01-01\ntlp: amber\n---\n\nPUBLIC-TEXT.\n\n::: restricted to=board tlp=amber\nBOARD-SECRET.\n:::\n"

// startServe runs conclave serve with args and waits for the line that
// gives its address.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	cmd := exec.Command("conclave", append([]string{"serve", "--port", "0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &served{cmd: cmd, done: make(chan error, 1)}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait closes the pipes once the process ends: it is called only
	// when both readers have read to the end, or the last lines (such as
	// "conclave: stopped") could be lost.
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		b := make([]byte, 4096)
		for {
			n, err := stderr.Read(b)
			s.mu.Lock()
			s.errb.Write(b[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
	})
	addr := make(chan string, 1)
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`^conclave: serving on http://(\S+)/ `)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default: // only the first is waited for
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		readers.Wait()
		s.done <- cmd.Wait()
	}()
	select {
	case a := <-addr:
		_, port, err := net.SplitHostPort(a)
		if err != nil {
			t.Fatalf("address %q: %v", a, err)
		}
		s.url = "http://127.0.0.1:" + port
	case err := <-s.done:
		t.Fatalf("conclave serve exited before serving: %v\n%s", err, s.stderr())
	case <-time.After(30 * time.Second):
		t.Fatalf("conclave serve printed no address within 30 s\n%s", s.stderr())
	}
	return s
}

func (s *served) stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errb.String()
}

func (s *served) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(s.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// interrupt sends Ctrl-C's signal and waits for the process to end.
func (s *served) interrupt(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("after Ctrl-C: %v\n%s", err, s.stderr())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("conclave serve did not stop within 10 s of Ctrl-C\n%s", s.stderr())
	}
}

// waitFor polls path until its body holds want.
func (s *served) waitFor(t *testing.T, path, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := s.get(t, path)
		if strings.Contains(body, want) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not show %q within 10 s:\n%s\nstderr:\n%s", path, want, body, s.stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The author's preview on loopback: passages in clear inside their
// banner, nothing written to disk, a rebuild after a save, and a clean
// stop on Ctrl-C, with an open event stream.
func TestServePreviewAndInterrupt(t *testing.T) {
	dir := serveSite(t, servePage)
	s := startServe(t, "--source", dir)
	body := s.waitFor(t, "/briefings/x/", "BOARD-SECRET")
	if !strings.Contains(body, `class="preview-restricted`) || !strings.Contains(body, "/_conclave/live.js") {
		t.Errorf("preview page:\n%s", body)
	}
	// A page's event stream stays open while the server stops.
	resp, err := http.Get(s.url + "/_conclave/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	if err := os.WriteFile(filepath.Join(dir, "content/briefings/x.md"), []byte(strings.Replace(servePage, "PUBLIC-TEXT", "EDITED-TEXT", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "/briefings/x/", "EDITED-TEXT")

	s.interrupt(t)
	if !strings.Contains(s.stderr(), "conclave: stopped") {
		t.Errorf("stderr:\n%s", s.stderr())
	}
	// Nothing was written into the site: no public/, no cache.
	for _, p := range []string{"public", ".conclave"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("serve wrote %s: %v", p, err)
		}
	}
}

// Bound to every interface, serve never shows the preview: it says so and
// serves what build publishes.
func TestServeNonLoopbackSeals(t *testing.T) {
	dir := serveSite(t, servePage)
	s := startServe(t, "--source", dir, "--bind", "0.0.0.0")
	body := s.waitFor(t, "/briefings/x/", "PUBLIC-TEXT")
	if strings.Contains(body, "BOARD-SECRET") || strings.Contains(body, "preview-restricted") || !strings.Contains(body, `class="sealed`) {
		t.Errorf("non-loopback page is not sealed:\n%s", body)
	}
	if !strings.Contains(s.stderr(), "conclave: preview is off: 0.0.0.0 is not a loopback address") {
		t.Errorf("stderr does not say preview is off:\n%s", s.stderr())
	}
	s.interrupt(t)
}

// A site that does not build at first is served as its errors, and the
// server builds it on the next good save.
func TestServeBrokenFirstBuild(t *testing.T) {
	dir := serveSite(t, "---\ntitle: [unclosed\n---\n\nX.\n")
	s := startServe(t, "--source", dir)
	code, body := s.get(t, "/briefings/x/")
	if code != http.StatusNotFound || !strings.Contains(body, "The site did not build") || !strings.Contains(body, "/_conclave/live.js") {
		t.Errorf("before the fix: %d\n%s", code, body)
	}
	if !regexp.MustCompile(`(?m)^conclave: error: content/briefings/x\.md:\d+: front matter`).MatchString(s.stderr()) {
		t.Errorf("stderr does not locate the error:\n%s", s.stderr())
	}
	if err := os.WriteFile(filepath.Join(dir, "content/briefings/x.md"), []byte(servePage), 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "/briefings/x/", "BOARD-SECRET")
	s.interrupt(t)
}

// Without a site, serve does not wait for one: it fails at once.
func TestServeNotASite(t *testing.T) {
	cmd := exec.Command("conclave", "serve", "--port", "0", "--source", t.TempDir())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "conclave.toml not found") {
		t.Errorf("serve outside a site: %v\n%s", err, out)
	}
}
