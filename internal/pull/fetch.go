package pull

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/conclave-dev/conclave/internal/manifest"
	"github.com/conclave-dev/conclave/internal/progress"
)

// Net bounds what a pull does on the network. A zero field takes its
// default.
type Net struct {
	// Parallel is how many files are downloaded at once: 8.
	Parallel int
	// ConnectTimeout bounds connecting, and the TLS handshake: 15 s.
	ConnectTimeout time.Duration
	// HeaderTimeout bounds a request, from its start to the response's
	// headers (connecting included): 30 s.
	HeaderTimeout time.Duration
	// IdleTimeout bounds the wait for more of a response's body: 30 s.
	IdleTimeout time.Duration
	// FileTimeout bounds one try at one file, from the request to the
	// body's end: 10 min.
	FileTimeout time.Duration
	// Tries is how many times a file is tried after a 5xx status or a
	// network error (a timeout, a connection lost, a body cut short): 4.
	// A 4xx status, a file too large and a wrong digest are not tried
	// again.
	Tries int
	// RetryDelay is the wait before the second try, doubled before each
	// next one: 500 ms.
	RetryDelay time.Duration
	// MaxRedirects is how many redirects one request follows, to the same
	// scheme and host only: 5.
	MaxRedirects int
}

func (n Net) withDefaults() Net {
	or := func(v, d time.Duration) time.Duration {
		if v <= 0 {
			return d
		}
		return v
	}
	if n.Parallel <= 0 {
		n.Parallel = 8
	}
	if n.Tries <= 0 {
		n.Tries = 4
	}
	if n.MaxRedirects <= 0 {
		n.MaxRedirects = 5
	}
	n.ConnectTimeout = or(n.ConnectTimeout, 15*time.Second)
	n.HeaderTimeout = or(n.HeaderTimeout, 30*time.Second)
	n.IdleTimeout = or(n.IdleTimeout, 30*time.Second)
	n.FileTimeout = or(n.FileTimeout, 10*time.Minute)
	n.RetryDelay = or(n.RetryDelay, 500*time.Millisecond)
	return n
}

// userAgent names conclave to the site's server.
const userAgent = "conclave-pull/1"

// fetcher gets the files of one site.
type fetcher struct {
	base     *url.URL // the site's root folder
	client   *http.Client
	net      Net
	requests atomic.Int64 // round trips: redirects and retries included
	bytes    atomic.Int64 // response body bytes read
}

func newFetcher(base *url.URL, n Net, roots *x509.CertPool) *fetcher {
	n = n.withDefaults()
	dialer := &net.Dialer{Timeout: n.ConnectTimeout, KeepAlive: 30 * time.Second}
	if base.Scheme == "http" {
		// localhost is a name: whatever it resolves to, plain HTTP goes
		// to this machine only.
		dialer.Control = loopbackOnly
	}
	tr := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    n.ConnectTimeout,
		MaxIdleConns:           2 * n.Parallel,
		MaxIdleConnsPerHost:    n.Parallel,
		IdleConnTimeout:        90 * time.Second,
		ForceAttemptHTTP2:      true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	f := &fetcher{base: base, net: n}
	f.client = &http.Client{Transport: countingTransport{tr, &f.requests}, CheckRedirect: f.checkRedirect}
	return f
}

// close drops the connections kept for reuse.
func (f *fetcher) close() { f.client.CloseIdleConnections() }

// countingTransport counts round trips.
type countingTransport struct {
	rt http.RoundTripper
	n  *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

func (c countingTransport) CloseIdleConnections() {
	if ci, ok := c.rt.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// loopbackOnly refuses a connection to anything but a loopback address.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return &permanent{fmt.Errorf("plain http goes to this machine only, and %s is not a loopback address: refused", host)}
	}
	return nil
}

// checkRedirect follows a few redirects, to the same scheme and host only:
// a site is pulled from one place.
func (f *fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		return &permanent{fmt.Errorf("redirected to %s, another host: refused (a site is pulled from its own host only)", req.URL.Redacted())}
	}
	if len(via) > f.net.MaxRedirects {
		return &permanent{fmt.Errorf("more than %d redirects (a loop?): refused", f.net.MaxRedirects)}
	}
	return nil
}

// transient is an error that another try may not meet: a 5xx status, a
// network error, a timeout.
type transient struct{ err error }

func (e *transient) Error() string { return e.err.Error() }
func (e *transient) Unwrap() error { return e.err }

// permanent is a network error that another try would meet again.
type permanent struct{ err error }

func (e *permanent) Error() string { return e.err.Error() }
func (e *permanent) Unwrap() error { return e.err }

// StatusError is the error for a response other than 200 OK.
type StatusError struct {
	URL  string
	Code int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: %d %s", e.URL, e.Code, http.StatusText(e.Code))
}

// TooLargeError is the error for a body that goes on past the limit of
// the file it is: reading stopped one byte past the limit.
type TooLargeError struct {
	URL   string
	Limit manifest.Limit
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: too large: the body goes on past %s, more than %s ever holds: refused, stopped reading", e.URL, progress.Size(e.Limit.Bytes), e.Limit.What)
}

// fileURL returns the URL of the file at the slash path p of the site.
func (f *fetcher) fileURL(p string) string {
	u := *f.base
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u.Path = f.base.Path + p
	u.RawPath = f.base.EscapedPath() + strings.Join(segs, "/")
	return u.String()
}

// get fetches the file at the slash path p of the site and gives its body
// to use, which must read it to its end: at most limit.Bytes bytes of it
// (reading past that is an error). use is called again on each new try,
// and must then start afresh; an error it returns that is not the body's
// ends the fetch. fresh asks caches on the way for the current version
// (for SHA256SUMS and its bundle, which change in place).
func (f *fetcher) get(ctx context.Context, p string, limit manifest.Limit, fresh bool, use func(io.Reader) error) error {
	u := f.fileURL(p)
	delay := f.net.RetryDelay
	for try := 1; ; try++ {
		err := f.try(ctx, u, limit, fresh, use)
		var t *transient
		if err == nil || !errors.As(err, &t) || ctx.Err() != nil {
			return err
		}
		if try >= f.net.Tries {
			return fmt.Errorf("%w (gave up after %d tries)", err, try)
		}
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%s: %w", u, context.Cause(ctx))
		}
		delay *= 2
	}
}

// try makes one request for the file at u.
func (f *fetcher) try(parent context.Context, u string, limit manifest.Limit, fresh bool, use func(io.Reader) error) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	whole := time.AfterFunc(f.net.FileTimeout, func() {
		cancel(fmt.Errorf("took longer than %v: stopped", f.net.FileTimeout))
	})
	defer whole.Stop()
	wait := time.AfterFunc(f.net.HeaderTimeout, func() {
		cancel(fmt.Errorf("no response within %v", f.net.HeaderTimeout))
	})
	defer wait.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	req.Header.Set("User-Agent", userAgent)
	if fresh {
		req.Header.Set("Cache-Control", "no-cache")
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return requestError(parent, ctx, u, err)
	}
	defer resp.Body.Close()
	wait.Stop()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode >= 500:
		return &transient{&StatusError{URL: u, Code: resp.StatusCode}}
	default:
		return &StatusError{URL: u, Code: resp.StatusCode}
	}
	if resp.ContentLength > limit.Bytes {
		return fmt.Errorf("%s: %w", u, &manifest.TooLargeError{Size: resp.ContentLength, Limit: limit})
	}
	b := &body{r: resp.Body, url: u, limit: limit, length: resp.ContentLength, ctx: ctx, parent: parent, count: &f.bytes, idleFor: f.net.IdleTimeout}
	b.idle = time.AfterFunc(f.net.IdleTimeout, func() {
		cancel(fmt.Errorf("stalled: no data for %v", f.net.IdleTimeout))
	})
	defer b.idle.Stop()
	err = use(b)
	if b.err != nil {
		return b.err
	}
	return err
}

// requestError says why a request failed: one of try's timers, a redirect
// refused, the pull stopped, or the network.
func requestError(parent, ctx context.Context, u string, err error) error {
	if parent.Err() != nil {
		return fmt.Errorf("%s: %w", u, context.Cause(parent))
	}
	if ctx.Err() != nil {
		return &transient{fmt.Errorf("%s: %v", u, context.Cause(ctx))}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var p *permanent
	var cv *tls.CertificateVerificationError
	var ha x509.HostnameError
	var ua x509.UnknownAuthorityError
	if errors.As(err, &p) || errors.As(err, &cv) || errors.As(err, &ha) || errors.As(err, &ua) {
		return fmt.Errorf("%s: %w", u, err)
	}
	return &transient{fmt.Errorf("%s: %w", u, err)}
}

// body is a response's body read within the file's limit, counting its
// bytes and restarting the idle timer as they come.
type body struct {
	r       io.Reader
	url     string
	limit   manifest.Limit
	length  int64 // Content-Length, or -1
	n       int64
	ctx     context.Context
	parent  context.Context
	count   *atomic.Int64
	idle    *time.Timer
	idleFor time.Duration
	err     error // the first error other than io.EOF
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	// One byte past the limit at most: enough to tell a file too large.
	if left := b.limit.Bytes + 1 - b.n; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	b.count.Add(int64(n))
	if n > 0 {
		b.idle.Reset(b.idleFor)
	}
	if b.n > b.limit.Bytes {
		b.err = &TooLargeError{URL: b.url, Limit: b.limit}
		return n, b.err
	}
	if err != nil && err != io.EOF {
		b.err = b.failed(err)
		return n, b.err
	}
	return n, err
}

// failed says why reading the body failed.
func (b *body) failed(err error) error {
	switch {
	case b.parent.Err() != nil:
		return fmt.Errorf("%s: %w", b.url, context.Cause(b.parent))
	case b.ctx.Err() != nil:
		return &transient{fmt.Errorf("%s: %v (after %d bytes)", b.url, context.Cause(b.ctx), b.n)}
	case errors.Is(err, io.ErrUnexpectedEOF) && b.length >= 0:
		return &transient{fmt.Errorf("%s: body cut short after %d of %d bytes", b.url, b.n, b.length)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &transient{fmt.Errorf("%s: body cut short after %d bytes", b.url, b.n)}
	}
	return &transient{fmt.Errorf("%s: %w (after %d bytes)", b.url, err, b.n)}
}
