// Package serve is the author's preview server: it serves a build held in
// memory, with the same security headers a careful host would send.
package serve

import (
	"mime"
	"net"
	"net/http"
	"path"
	"strings"

	"github.com/conclave-dev/conclave/internal/format"
	"github.com/conclave-dev/conclave/internal/output"
	"github.com/conclave-dev/conclave/internal/render"
)

// Options controls which requests the handler answers.
type Options struct {
	// Hosts are the host names or addresses, without a port, that a
	// request's Host header may name besides localhost, 127.0.0.1 and ::1,
	// which are always allowed. Any other host is answered 421 Misdirected
	// Request, so that a web page whose name is pointed at the preview
	// server (DNS rebinding) cannot read the drafts it serves.
	Hosts []string
	// AnyHost answers every Host: for a server deliberately listening on
	// every interface.
	AnyHost bool
	// Network is set for a server reachable beyond this machine: pages
	// then show that a build failed, never its messages, which can quote
	// restricted passages and name recipients.
	Network bool
}

// ListenOptions returns the Options for a server listening on bind: the
// loopback names and bind itself are allowed; an unspecified address
// (0.0.0.0, :: or "", every interface) allows any host.
func ListenOptions(bind string) Options {
	network := !Loopback(bind)
	bind = strings.Trim(bind, "[]")
	if ip := net.ParseIP(bind); bind == "" || ip != nil && ip.IsUnspecified() {
		return Options{AnyHost: true, Network: network}
	}
	return Options{Hosts: []string{bind}, Network: network}
}

// Loopback reports whether bind, a --bind value, is a loopback address
// or localhost: only then may a server show the author's preview, which
// holds restricted passages in clear.
func Loopback(bind string) bool {
	if strings.EqualFold(bind, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(bind, "[]"))
	return ip != nil && ip.IsLoopback()
}

// allows reports whether a request's Host header, port and all, names a
// host the handler answers.
func (o Options) allows(hostport string) bool {
	if o.AnyHost {
		return true
	}
	host := normalHost(hostport)
	if host == "" {
		return false
	}
	for _, h := range o.Hosts {
		if normalHost(h) == host {
			return true
		}
	}
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// normalHost strips the port and brackets from a host, lower-cases a name
// and writes an address in its shortest form.
func normalHost(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	return host
}

// Handler serves the files of a memory build to requests whose Host opt
// allows. Only paths inside the build are served: a request path is
// cleaned first, so "..", encoded dots and the like never reach outside
// it, and there is no file system behind it.
func Handler(files *output.Memory, opt Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", render.CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if !opt.allows(r.Host) {
			http.Error(w, "misdirected request: this preview server does not answer to that host name (see conclave serve --bind)", http.StatusMisdirectedRequest)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		name := strings.TrimPrefix(p, "/")
		if strings.HasSuffix(r.URL.Path, "/") || name == "" {
			name = path.Join(name, "index.html")
		}
		data, ok := files.Get(name)
		if !ok && !strings.HasSuffix(r.URL.Path, "/") {
			if _, dir := files.Get(path.Join(name, "index.html")); dir {
				http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
				return
			}
		}
		status := http.StatusOK
		if !ok {
			status = http.StatusNotFound
			name = "404.html"
			if data, ok = files.Get(name); !ok {
				http.NotFound(w, r)
				return
			}
		}
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		if name == format.Manifest {
			ctype = "text/plain; charset=utf-8"
		}
		h.Set("Content-Type", ctype)
		w.WriteHeader(status)
		if r.Method == http.MethodGet {
			_, _ = w.Write(data)
		}
	})
}
