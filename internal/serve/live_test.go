package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/output"
)

func memory(t *testing.T, files map[string]string) *output.Memory {
	t.Helper()
	m := output.NewMemory()
	for p, body := range files {
		if err := m.WriteFile(p, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

const page = "<!doctype html><html><head><title>A</title></head><body>A</body></html>"

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// stream reads server-sent events: name and data of each.
type stream struct {
	resp *http.Response
	r    *bufio.Reader
}

func openStream(t *testing.T, url string) *stream {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url+"/_conclave/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events: Content-Type %q", ct)
	}
	return &stream{resp, bufio.NewReader(resp.Body)}
}

func (s *stream) next(t *testing.T) (name, data string) {
	t.Helper()
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading events: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		case line == "" && name != "":
			return name, data
		}
	}
}

func TestLiveReloadAndErrors(t *testing.T) {
	l := NewLive(memory(t, map[string]string{"index.html": page, "css/a.css": "body{}"}), Options{})
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()

	// Pages get the live script, with the build's version; other files
	// are served as they are.
	_, body := get(t, srv.URL+"/")
	if !strings.Contains(body, `<script type="module" src="/_conclave/live.js" data-version="1"></script></head>`) {
		t.Errorf("page without the live script:\n%s", body)
	}
	if _, css := get(t, srv.URL+"/css/a.css"); css != "body{}" {
		t.Errorf("css = %q", css)
	}
	resp, js := get(t, srv.URL+"/_conclave/live.js")
	if !strings.Contains(js, "EventSource") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("live.js: %s %q", resp.Header.Get("Content-Type"), js)
	}

	s := openStream(t, srv.URL)
	if name, data := s.next(t); name != "hello" || data != "1" {
		t.Fatalf("first event %s %s", name, data)
	}
	l.Publish(memory(t, map[string]string{"index.html": strings.Replace(page, ">A<", ">B<", 1)}))
	if name, data := s.next(t); name != "reload" || data != "2" {
		t.Fatalf("after Publish: %s %s", name, data)
	}
	if _, body := get(t, srv.URL+"/"); !strings.Contains(body, ">B<") || !strings.Contains(body, `data-version="2"`) {
		t.Errorf("the new build is not served:\n%s", body)
	}

	l.Fail([]string{"content/a.md:3: unknown recipient \"junper\""})
	name, data := s.next(t)
	var msg struct {
		Version int
		Errors  []string
	}
	if err := json.Unmarshal([]byte(data), &msg); name != "failed" || err != nil || msg.Errors[0] != `content/a.md:3: unknown recipient "junper"` {
		t.Fatalf("after Fail: %s %s", name, data)
	}
	// The last good build is still served, and a page opened now hears of
	// the failure at once.
	if _, body := get(t, srv.URL+"/"); !strings.Contains(body, ">B<") {
		t.Error("a failed build replaced the last good one")
	}
	late := openStream(t, srv.URL)
	if name, _ := late.next(t); name != "failed" {
		t.Errorf("a page opened after the failure first hears %s", name)
	}
	l.Publish(memory(t, map[string]string{"index.html": page}))
	if name, _ := s.next(t); name != "reload" {
		t.Errorf("recovery: %s", name)
	}

	// Close ends every stream, so that the server can shut down.
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, s.resp.Body)
		close(done)
	}()
	l.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("an event stream outlived Close")
	}
}

func TestLiveRefusesOtherHosts(t *testing.T) {
	l := NewLive(memory(t, map[string]string{"index.html": page}), Options{})
	for _, p := range []string{"/_conclave/events", "/_conclave/live.js", "/"} {
		req := httptest.NewRequest("GET", p, nil)
		req.Host = "evil.example"
		rec := httptest.NewRecorder()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		l.Handler().ServeHTTP(rec, req.WithContext(ctx))
		cancel()
		if rec.Code != http.StatusMisdirectedRequest {
			t.Errorf("%s for host evil.example: %d", p, rec.Code)
		}
	}
}

// Before the site has ever built, every page is a placeholder with the
// live script, the first event is the failure, and the first good build
// reloads the page.
func TestLiveBeforeFirstBuild(t *testing.T) {
	l := NewLive(nil, Options{})
	l.Fail([]string{"content/a.md:2: front matter: bad"})
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	defer l.Close() // ends the event stream, which srv.Close waits for
	for _, p := range []string{"/", "/briefings/a/", "/css/a.css"} {
		resp, body := get(t, srv.URL+p)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `<meta name="conclave-no-build"`) || !strings.Contains(body, "/_conclave/live.js") {
			t.Errorf("%s: %d\n%s", p, resp.StatusCode, body)
		}
		if resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: no Content-Security-Policy", p)
		}
	}
	s := openStream(t, srv.URL)
	if name, data := s.next(t); name != "failed" || !strings.Contains(data, "content/a.md:2:") {
		t.Fatalf("first event %s %s", name, data)
	}
	l.Publish(memory(t, map[string]string{"index.html": page}))
	if name, _ := s.next(t); name != "reload" {
		t.Fatalf("after the first good build: %s", name)
	}
	if resp, body := get(t, srv.URL+"/"); resp.StatusCode != 200 || !strings.Contains(body, "<title>A</title>") {
		t.Errorf("the first good build is not served: %d\n%s", resp.StatusCode, body)
	}
}

// A server reachable beyond loopback never sends a build's messages to
// pages: they can quote link targets inside restricted passages and name
// recipients. Only the terminal shows them.
func TestNetworkPagesHideBuildErrors(t *testing.T) {
	page := `<!doctype html><html><head></head><body>A</body></html>`
	for _, bind := range []string{"0.0.0.0", "192.0.2.7", "::", "example.org"} {
		opt := ListenOptions(bind)
		if !opt.Network {
			t.Fatalf("ListenOptions(%q) is not marked as reachable from the network", bind)
		}
		l := NewLive(memory(t, map[string]string{"index.html": page}), opt)
		srv := httptest.NewServer(l.Handler())
		s := openStream(t, srv.URL)
		s.next(t) // hello
		secret := `content/a.md:3: restricted text links to content/b/embargoed-poc.tar.gz; unknown recipient "junper"`
		l.Fail([]string{secret})
		_, data := s.next(t)
		if strings.Contains(data, "embargoed") || strings.Contains(data, "junper") || !strings.Contains(data, NetworkFailure) {
			t.Errorf("bind %s: a page heard %s", bind, data)
		}
		late := openStream(t, srv.URL)
		if _, data := late.next(t); strings.Contains(data, "junper") {
			t.Errorf("bind %s: a page opened after the failure heard %s", bind, data)
		}
		l.Close()
		srv.Close()
	}
	for _, bind := range []string{"127.0.0.1", "localhost", "::1", "[::1]"} {
		if ListenOptions(bind).Network {
			t.Errorf("ListenOptions(%q) is marked as reachable from the network", bind)
		}
	}
}
