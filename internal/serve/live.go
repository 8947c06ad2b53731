package serve

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/conclave-dev/conclave/internal/output"
)

// LivePrefix is where the live server answers its own requests: the
// reload event stream and its script. Site paths under it are shadowed.
const LivePrefix = "/_conclave/"

//go:embed live.js
var liveJS []byte

//go:embed live.css
var liveCSS []byte

// Live serves the current build of a site while it is rebuilt: each good
// build replaces the files served and tells open pages to reload, over
// server-sent events; a failed build keeps the last good files and shows
// the errors over every open page until a build succeeds again.
type Live struct {
	opt    Options
	limits Limits // set before the handler serves

	mu      sync.Mutex
	files   *output.Memory
	version int      // of the current state: a build, good or failed
	errs    []string // the failed build's messages, nil after a good one
	clients map[chan event]bool
	streams map[string]int // open event streams by client address
	closed  bool
}

type event struct {
	name string // "hello", "reload" or "failed"
	data string
}

// NewLive returns a live server for the first good build. files may be
// nil when the site has not built yet: every page is then a placeholder
// that shows the errors given to [Live.Fail] and reloads once a build
// succeeds.
func NewLive(files *output.Memory, opt Options) *Live {
	return &Live{opt: opt, limits: DefaultLimits, files: files, version: 1, clients: map[chan event]bool{}, streams: map[string]int{}}
}

// noBuildPage stands for every page while the site has never built. It
// names itself with a meta tag, for the live script's overlay.
const noBuildPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="conclave-no-build" content="1"><title>The site did not build</title></head>
<body><main><h1>The site did not build</h1>
<p>conclave serve lists the errors below and in the terminal, each with its file and line.
Fix the source and save: this page reloads by itself once the site builds.</p></main></body></html>
`

// Publish serves files, a new good build, and reloads every open page.
func (l *Live) Publish(files *output.Memory) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.files, l.errs = files, nil
	l.version++
	l.broadcast(event{"reload", strconv.Itoa(l.version)})
}

// NetworkFailure is all that pages served beyond loopback say of a
// failed build.
const NetworkFailure = "the site did not build: the errors are shown in the terminal that runs conclave serve"

// Fail keeps the last good build and shows messages (one "file:line:
// message" each) over every open page.
func (l *Live) Fail(messages []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append([]string(nil), messages...)
	if l.opt.Network {
		// Build errors quote sources: link targets inside restricted
		// passages, recipient names. Only the author's terminal sees them.
		l.errs = []string{NetworkFailure}
	}
	l.version++
	l.broadcast(l.errorEvent())
}

func (l *Live) errorEvent() event {
	b, _ := json.Marshal(map[string]any{"version": l.version, "errors": l.errs})
	return event{"failed", string(b)}
}

// broadcast sends e to every client; a client too slow to take it is
// dropped (its page reconnects). l.mu is held.
func (l *Live) broadcast(e event) {
	for c := range l.clients {
		select {
		case c <- e:
		default:
			delete(l.clients, c)
			close(c)
		}
	}
}

// Close ends every event stream, so that the HTTP server can shut down.
func (l *Live) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for c := range l.clients {
		delete(l.clients, c)
		close(c)
	}
}

// Clients is the number of open event streams.
func (l *Live) Clients() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// Handler serves the current build, its pages with the live script, and
// the live server's own paths.
func (l *Live) Handler() http.Handler {
	// Before the first good build, every path is the 404 page.
	noBuild := output.NewMemory()
	_ = noBuild.WriteFile("404.html", []byte(noBuildPage))
	files := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		f, version := l.files, l.version
		l.mu.Unlock()
		if f == nil {
			f = noBuild
		}
		Handler(f, l.opt).ServeHTTP(&injector{ResponseWriter: w, version: version}, r)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, LivePrefix) {
			files.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		if !l.opt.allows(r.Host) {
			http.Error(w, "misdirected request", http.StatusMisdirectedRequest)
			return
		}
		switch r.URL.Path {
		case LivePrefix + "live.js":
			h.Set("Content-Type", "text/javascript; charset=utf-8")
			w.Write(liveJS)
		case LivePrefix + "live.css":
			h.Set("Content-Type", "text/css; charset=utf-8")
			w.Write(liveCSS)
		case LivePrefix + "events":
			l.events(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}

// events streams the server's events to one page: first the current
// state, then each change, with a comment every 15 s to keep the
// connection open.
func (l *Live) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	c := make(chan event, 8)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	host := remoteHost(r.RemoteAddr)
	if l.opt.Network && l.streams[host] >= l.limits.PerHostStreams {
		l.mu.Unlock()
		http.Error(w, "too many open pages from this address", http.StatusTooManyRequests)
		return
	}
	l.streams[host]++
	l.clients[c] = true
	first := event{"hello", strconv.Itoa(l.version)}
	if l.errs != nil {
		first = l.errorEvent()
	}
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		if l.streams[host]--; l.streams[host] <= 0 {
			delete(l.streams, host)
		}
		if l.clients[c] {
			delete(l.clients, c)
			close(c)
		}
		l.mu.Unlock()
	}()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	send := func(e event) {
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.name, e.data)
		flusher.Flush()
	}
	send(first)
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-c:
			if !ok {
				return
			}
			send(e)
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			flusher.Flush()
		case <-r.Context().Done():
			return
		}
	}
}

// injector adds the live script to HTML pages as they are written: a
// <script> tag, allowed by the pages' Content-Security-Policy as it is
// the site's own, and the version of the build the page comes from, so
// that a page loaded just before a rebuild reloads too.
type injector struct {
	http.ResponseWriter
	version int
	html    bool
}

func (i *injector) WriteHeader(status int) {
	h := i.Header()
	if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		i.html = true
		h.Del("Content-Length")
	}
	i.ResponseWriter.WriteHeader(status)
}

func (i *injector) Write(b []byte) (int, error) {
	if !i.html {
		return i.ResponseWriter.Write(b)
	}
	tag := fmt.Sprintf(`<script type="module" src="%slive.js" data-version="%d"></script>`, LivePrefix, i.version)
	out := b
	if at := bytes.Index(b, []byte("</head>")); at >= 0 {
		out = make([]byte, 0, len(b)+len(tag)+1)
		out = append(append(append(out, b[:at]...), tag...), b[at:]...)
	}
	if _, err := i.ResponseWriter.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}
