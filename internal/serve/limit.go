package serve

import (
	"net"
	"sync"
	"time"
)

// Limits bound what one client, or all of them, can hold open on a server
// reachable from the network, so that nobody on it can exhaust the
// author's file descriptors.
type Limits struct {
	// IdleTimeout closes a keep-alive connection with no request for
	// that long.
	IdleTimeout time.Duration
	// PerHost is how many connections, and how many live-reload streams,
	// one client address may hold open at once; more are closed (a stream
	// is refused with 429). Only for a server with [Options.Network].
	PerHost, PerHostStreams int
}

// DefaultLimits are the limits of conclave serve.
var DefaultLimits = Limits{IdleTimeout: 30 * time.Second, PerHost: 64, PerHostStreams: 16}

// hostLimit is a listener that closes a new connection at once when its
// client address already holds max.
type hostLimit struct {
	net.Listener
	max int

	mu   sync.Mutex
	open map[string]int
}

func limitPerHost(l net.Listener, max int) net.Listener {
	return &hostLimit{Listener: l, max: max, open: map[string]int{}}
}

func (l *hostLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host := remoteHost(c.RemoteAddr().String())
		l.mu.Lock()
		if l.open[host] >= l.max {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.open[host]++
		l.mu.Unlock()
		return &hostConn{Conn: c, release: func() {
			l.mu.Lock()
			if l.open[host]--; l.open[host] <= 0 {
				delete(l.open, host)
			}
			l.mu.Unlock()
		}}, nil
	}
}

// hostConn gives its place back when it is closed.
type hostConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *hostConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// remoteHost is the address part of a remote "host:port".
func remoteHost(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
