package serve

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conclave-dev/conclave/internal/output"
)

// runLimited serves a one-page build with opt and limits until the test
// ends, and returns its address.
func runLimited(t *testing.T, opt Options, limits Limits) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "content"), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Root: dir, Watch: []string{"content"}, Listener: ln, Options: opt, Limits: limits,
			First: memory(t, map[string]string{"index.html": page}),
			Build: func([]string) (*output.Memory, []string, error) { return nil, nil, fmt.Errorf("no rebuilds") }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not stop")
		}
	})
	return ln.Addr().String()
}

// request sends one keep-alive request on c and reads the response.
func request(t *testing.T, c net.Conn, r *bufio.Reader, path string) (*http.Response, error) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, "events") {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, nil
}

// An idle keep-alive connection is closed by the server.
func TestIdleConnectionsClose(t *testing.T) {
	addr := runLimited(t, ListenOptions("127.0.0.1"), Limits{IdleTimeout: 200 * time.Millisecond, PerHost: 4, PerHostStreams: 2})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if resp, err := request(t, c, r, "/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v %v", resp, err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: read %v, want EOF", err)
	}
	if waited := time.Since(start); waited > 4*time.Second {
		t.Errorf("closed after %s", waited)
	}
}

// On a server reachable from the network, one client address holds at most
// PerHost connections and PerHostStreams live-reload streams; others are
// served as before.
func TestNetworkLimitsPerHost(t *testing.T) {
	opt := Options{Network: true, AnyHost: true}
	addr := runLimited(t, opt, Limits{IdleTimeout: time.Minute, PerHost: 4, PerHostStreams: 2})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		return c, bufio.NewReader(c)
	}
	// Two streams are allowed, the third is refused.
	for i := range 3 {
		c, r := dial()
		resp, err := request(t, c, r, LivePrefix+"events")
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		want := http.StatusOK
		if i == 2 {
			want = http.StatusTooManyRequests
		}
		if resp.StatusCode != want {
			t.Errorf("stream %d: status %d, want %d", i, resp.StatusCode, want)
		}
	}
	// Four connections in all: the fourth (idle) is taken, the fifth is
	// closed at once.
	dial()
	c, r := dial()
	if _, err := request(t, c, r, "/"); err == nil {
		t.Error("a fifth connection from one address was served")
	}
	// Closing one gives its place back.
	conns[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, r := dial()
		resp, err := request(t, c, r, "/")
		if err == nil && resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no place after a connection closed: %v", err)
		}
		c.Close()
		time.Sleep(50 * time.Millisecond)
	}
}
