package serve

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/render"
)

func TestHandler(t *testing.T) {
	m := output.NewMemory()
	for p, body := range map[string]string{
		"index.html":             "home",
		"briefings/a/index.html": "page a",
		"css/conclave.css":       "body{}",
		"404.html":               "not found page",
		"SHA256SUMS":             "sums",
	} {
		if err := m.WriteFile(p, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	h := Handler(m, Options{})
	tests := []struct {
		method, path string
		status       int
		body, ctype  string
		location     string
	}{
		{"GET", "/", 200, "home", "text/html; charset=utf-8", ""},
		{"GET", "/briefings/a/", 200, "page a", "text/html; charset=utf-8", ""},
		{"GET", "/briefings/a", 301, "", "", "/briefings/a/"},
		{"GET", "/css/conclave.css", 200, "body{}", "text/css; charset=utf-8", ""},
		{"GET", "/SHA256SUMS", 200, "sums", "text/plain; charset=utf-8", ""},
		{"GET", "/nope/", 404, "not found page", "text/html; charset=utf-8", ""},
		{"GET", "/../../etc/passwd", 404, "not found page", "", ""},
		{"GET", "/%2e%2e/%2e%2e/etc/passwd", 404, "not found page", "", ""},
		// Encoded dots are decoded and cleaned: this names the home page, still inside the build.
		{"GET", "/briefings/a/..%2f..%2findex.html", 200, "home", "", ""},
		{"POST", "/", 405, "", "", ""},
		{"HEAD", "/", 200, "", "", ""},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, "http://127.0.0.1"+tt.path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		if res.StatusCode != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, res.StatusCode, tt.status)
		}
		if tt.body != "" && rec.Body.String() != tt.body {
			t.Errorf("%s %s: body %q, want %q", tt.method, tt.path, rec.Body.String(), tt.body)
		}
		if tt.ctype != "" && res.Header.Get("Content-Type") != tt.ctype {
			t.Errorf("%s %s: Content-Type %q", tt.method, tt.path, res.Header.Get("Content-Type"))
		}
		if tt.location != "" && res.Header.Get("Location") != tt.location {
			t.Errorf("%s %s: Location %q", tt.method, tt.path, res.Header.Get("Location"))
		}
		if got := res.Header.Get("Content-Security-Policy"); got != render.CSP {
			t.Errorf("%s %s: CSP %q", tt.method, tt.path, got)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s %s: missing security headers %v", tt.method, tt.path, res.Header)
		}
		if tt.method == "HEAD" && rec.Body.Len() != 0 {
			t.Errorf("HEAD returned a body")
		}
	}
}

func TestHostCheck(t *testing.T) {
	m := output.NewMemory()
	if err := m.WriteFile("index.html", []byte("home")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		bind, host string
		status     int
	}{
		{"127.0.0.1", "127.0.0.1:1313", 200},
		{"127.0.0.1", "localhost:1313", 200},
		{"127.0.0.1", "LocalHost", 200},
		{"127.0.0.1", "[::1]:1313", 200},
		{"127.0.0.1", "[0:0::1]:1313", 200},
		{"127.0.0.1", "evil.example:1313", 421},
		{"127.0.0.1", "evil.example", 421},
		{"127.0.0.1", "127.0.0.1.evil.example", 421},
		{"127.0.0.1", "192.168.1.5:1313", 421},
		{"127.0.0.1", "", 421},
		{"192.168.1.5", "192.168.1.5:1313", 200},
		{"192.168.1.5", "localhost:1313", 200},
		{"192.168.1.5", "192.168.1.6:1313", 421},
		{"preview.lan", "Preview.LAN:8080", 200},
		{"preview.lan", "evil.example", 421},
		{"::1", "[::1]:1313", 200},
		{"0.0.0.0", "evil.example:1313", 200},
		{"::", "anything.example", 200},
	}
	for _, tt := range tests {
		h := Handler(m, ListenOptions(tt.bind))
		req := httptest.NewRequest("GET", "/", nil)
		req.Host = tt.host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.status {
			t.Errorf("bind %s, Host %q: status %d, want %d", tt.bind, tt.host, rec.Code, tt.status)
		}
		if tt.status == 421 && strings.Contains(rec.Body.String(), "home") {
			t.Errorf("bind %s, Host %q: served the page with a refusal", tt.bind, tt.host)
		}
	}
	// The zero Options answer the loopback names only.
	req := httptest.NewRequest("GET", "http://evil.example/", nil)
	rec := httptest.NewRecorder()
	Handler(m, Options{}).ServeHTTP(rec, req)
	if rec.Code != http.StatusMisdirectedRequest {
		t.Errorf("zero Options served Host evil.example: %d", rec.Code)
	}
}
